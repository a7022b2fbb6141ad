//! The [`Module`] trait that every layer and model implements — forward,
//! parameters and buffers under PyTorch's dotted names, train/eval, zero_grad,
//! children, `repr` — plus the per-module [`ModuleState`] (training flag,
//! dotted name, forward hooks), [`ForwardHook`]s with their [`HookHandle`]s,
//! and [`capture_activations`], which reads named intermediate outputs.

use crate::checkpoint::{IncompatibleKeys, LoadOptions};
use ferrograd_autograd::{no_grad, Error, Result, Tensor};
use parking_lot::{Mutex, RwLock};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// The function a [`ForwardHook`] wraps: `(input, output)`.
type HookFn = dyn Fn(&Tensor, &Tensor) -> Result<()> + Send + Sync;

/// A function run after a module's forward with its input and output
/// (`register_forward_hook` in PyTorch). By default both tensors are
/// detached from the graph; [`keep_graph`](Self::keep_graph) passes them as
/// they are, so a hook can build a loss term on an activation.
///
/// ```
/// use ferrograd_nn::module::{ForwardHook, Module};
/// use ferrograd_nn::layers::ReLU;
/// use ferrograd_autograd::Tensor;
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let relu = ReLU::new();
/// let sink = seen.clone();
/// relu.register_forward_hook(ForwardHook::new(move |_input, output| {
///     sink.lock().unwrap().push(output.shape().to_vec());
///     Ok(())
/// }));
/// relu.forward(&Tensor::from_vec(vec![-1.0f32, 2.0], &[2])?)?;
/// assert_eq!(*seen.lock().unwrap(), vec![vec![2]]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone)]
pub struct ForwardHook {
    f: Arc<HookFn>,
    detach: bool,
}

impl ForwardHook {
    /// A hook receiving detached `(input, output)`; an `Err` it returns
    /// becomes the error of the module's `forward`.
    ///
    /// ```
    /// use ferrograd_nn::module::{ForwardHook, Module};
    /// use ferrograd_nn::layers::ReLU;
    /// use ferrograd_autograd::{DType, Error, Tensor};
    /// let relu = ReLU::new();
    /// relu.register_forward_hook(ForwardHook::new(|_, _| Err(Error::invalid("hook", "stop"))));
    /// let e = relu.forward(&Tensor::zeros(&[1], DType::F32)?).unwrap_err().to_string();
    /// assert!(e.contains("stop"), "{e}");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(f: impl Fn(&Tensor, &Tensor) -> Result<()> + Send + Sync + 'static) -> Self {
        ForwardHook {
            f: Arc::new(f),
            detach: true,
        }
    }

    /// Passes the input and output with their autograd history.
    ///
    /// ```
    /// use ferrograd_nn::module::{ForwardHook, Module};
    /// use ferrograd_nn::layers::Linear;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let fc = Linear::new(3, 2)?;
    /// fc.register_forward_hook(ForwardHook::new(|_, out| {
    ///     assert!(out.requires_grad());
    ///     Ok(())
    /// }).keep_graph());
    /// fc.forward(&Tensor::ones(&[1, 3], DType::F32)?)?;
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn keep_graph(mut self) -> Self {
        self.detach = false;
        self
    }

    fn call(&self, input: &Tensor, output: &Tensor) -> Result<()> {
        if self.detach {
            (self.f)(&input.detach(), &output.detach())
        } else {
            (self.f)(input, output)
        }
    }
}

type HookList = Mutex<Vec<(u64, ForwardHook)>>;

/// Removes the hook it was returned for (`handle.remove()` in PyTorch).
/// Dropping the handle leaves the hook in place.
///
/// ```
/// use ferrograd_nn::module::{ForwardHook, Module};
/// use ferrograd_nn::layers::Tanh;
/// use ferrograd_autograd::{DType, Tensor};
/// let tanh = Tanh::new();
/// let handle = tanh.register_forward_hook(ForwardHook::new(|_, _| {
///     Err(ferrograd_autograd::Error::invalid("hook", "should not run"))
/// }));
/// assert!(tanh.forward(&Tensor::zeros(&[1], DType::F32)?).is_err());
/// assert!(handle.remove());
/// assert!(tanh.forward(&Tensor::zeros(&[1], DType::F32)?).is_ok());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Debug)]
pub struct HookHandle {
    id: u64,
    list: Weak<HookList>,
}

impl HookHandle {
    /// Unregisters the hook; false if the module is gone.
    ///
    /// ```
    /// use ferrograd_nn::module::{ForwardHook, Module};
    /// use ferrograd_nn::layers::ReLU;
    /// let relu = ReLU::new();
    /// let handle = relu.register_forward_hook(ForwardHook::new(|_, _| Ok(())));
    /// drop(relu);
    /// assert!(!handle.remove());
    /// ```
    pub fn remove(self) -> bool {
        let Some(list) = self.list.upgrade() else {
            return false;
        };
        let mut hooks = list.lock();
        let before = hooks.len();
        hooks.retain(|(id, _)| *id != self.id);
        hooks.len() < before
    }
}

/// What every module carries besides its tensors: the training flag, its
/// dotted name inside the model (for error messages) and its forward hooks.
/// Modules start in training mode, as in PyTorch.
///
/// ```
/// use ferrograd_nn::module::ModuleState;
/// let s = ModuleState::new();
/// assert!(s.is_training());
/// assert_eq!(s.path(), "");
/// ```
pub struct ModuleState {
    training: AtomicBool,
    path: RwLock<String>,
    named: AtomicBool,
    hooks: Arc<HookList>,
}

impl Default for ModuleState {
    fn default() -> Self {
        ModuleState {
            training: AtomicBool::new(true),
            path: RwLock::new(String::new()),
            named: AtomicBool::new(false),
            hooks: Arc::default(),
        }
    }
}

impl std::fmt::Debug for ModuleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleState")
            .field("training", &self.is_training())
            .field("path", &self.path())
            .field("hooks", &self.hooks.lock().len())
            .finish()
    }
}

impl ModuleState {
    /// A state in training mode, with no name and no hooks.
    ///
    /// ```
    /// use ferrograd_nn::module::ModuleState;
    /// let s = ModuleState::new();
    /// assert!(s.is_training() && s.path().is_empty());
    /// assert!(format!("{s:?}").contains("hooks: 0"));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// True in training mode.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::ReLU;
    /// let relu = ReLU::new();
    /// relu.eval();
    /// assert!(!relu.state().is_training());
    /// ```
    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }

    /// The module's dotted name in the model that holds it (`features.0`),
    /// empty for a model's root or a module on its own.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{ReLU, Sequential};
    /// let model = Sequential::new().add_module("act", ReLU::new())?;
    /// assert_eq!(model.state().path(), "");
    /// assert_eq!(model.get(0).unwrap().state().path(), "act");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn path(&self) -> String {
        self.path.read().clone()
    }

    fn add_hook(&self, hook: ForwardHook) -> HookHandle {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.hooks.lock().push((id, hook));
        HookHandle {
            id,
            list: Arc::downgrade(&self.hooks),
        }
    }

    /// Runs the hooks on a snapshot of the list, so a hook may add or
    /// remove hooks.
    fn run_hooks(&self, input: &Tensor, output: &Tensor) -> Result<()> {
        let hooks: Vec<ForwardHook> = {
            let list = self.hooks.lock();
            if list.is_empty() {
                return Ok(());
            }
            list.iter().map(|(_, h)| h.clone()).collect()
        };
        hooks.iter().try_for_each(|h| h.call(input, output))
    }
}

/// `prefix.name`, or `name` at the root.
pub(crate) fn join(prefix: &str, name: &str) -> String {
    match (prefix.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}.{name}"),
    }
}

/// `&self` as a `&dyn Module`, implemented for every sized module so that
/// the provided methods of [`Module`] can hand out the module itself.
///
/// ```
/// use ferrograd_nn::module::{AsModule, Module};
/// use ferrograd_nn::layers::{Linear, ReLU};
/// let (fc, relu) = (Linear::new(2, 3)?, ReLU::new());
/// let layers: Vec<&dyn Module> = vec![fc.as_module(), relu.as_module()];
/// assert_eq!(layers[0].parameters().len(), 2);
/// assert_eq!(layers[1].type_name(), "ReLU");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait AsModule {
    /// This module as a trait object.
    ///
    /// ```
    /// use ferrograd_nn::module::{AsModule, Module};
    /// use ferrograd_nn::layers::ReLU;
    /// assert_eq!(ReLU::new().as_module().type_name(), "ReLU");
    /// ```
    fn as_module(&self) -> &dyn Module;
}

impl<M: Module> AsModule for M {
    fn as_module(&self) -> &dyn Module {
        self
    }
}

/// A layer or a model: `torch.nn.Module`.
///
/// An implementation provides [`forward_impl`](Self::forward_impl) (the
/// computation) and [`state`](Self::state), and, where it has them, its
/// [`children`](Self::children), its own parameters and buffers, and an
/// [`extra_repr`](Self::extra_repr); [`type_name`](Self::type_name) defaults
/// to the struct's name. Callers
/// use [`forward`](Self::forward), which also runs the forward hooks, and the
/// provided methods for names, modes, hooks and checkpoints.
///
/// ```
/// use ferrograd_nn::module::{Module, ModuleState};
/// use ferrograd_nn::layers::{Linear, ReLU};
/// use ferrograd_autograd::{DType, Result, Tensor};
///
/// struct Mlp { state: ModuleState, fc1: Linear, act: ReLU, fc2: Linear }
///
/// impl Module for Mlp {
///     fn forward_impl(&self, x: &Tensor) -> Result<Tensor> {
///         self.fc2.forward(&self.act.forward(&self.fc1.forward(x)?)?)
///     }
///     fn state(&self) -> &ModuleState { &self.state }
///     fn children(&self) -> Vec<(String, &dyn Module)> {
///         vec![("fc1".into(), &self.fc1), ("act".into(), &self.act), ("fc2".into(), &self.fc2)]
///     }
/// }
///
/// let mlp = Mlp { state: ModuleState::new(), fc1: Linear::new(4, 8)?, act: ReLU::new(), fc2: Linear::new(8, 2)? };
/// let names: Vec<String> = mlp.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
/// assert_eq!(mlp.forward(&Tensor::ones(&[3, 4], DType::F32)?)?.shape(), &[3, 2]);
/// let e = mlp.forward(&Tensor::ones(&[3, 5], DType::F32)?).unwrap_err().to_string();
/// assert!(e.starts_with("Linear: fc1 (Linear(in_features=4, out_features=8, bias=True))"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait Module: AsModule + Send + Sync {
    /// The module's computation, without hooks. Call [`forward`](Self::forward).
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor>;

    /// The module's training flag, name and hooks.
    fn state(&self) -> &ModuleState;

    /// The class name PyTorch prints (`Conv2d`): by default the Rust type's
    /// name without its path and generic arguments.
    fn type_name(&self) -> &'static str {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base)
    }

    /// The constructor arguments shown by [`repr`](Self::repr)
    /// (`in_features=3, out_features=2, bias=True`).
    fn extra_repr(&self) -> String {
        String::new()
    }

    /// The direct submodules with their names, in registration order.
    fn children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// This module's own parameters (not its children's), e.g. `weight`, `bias`.
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// This module's own buffers: state saved with the model but not
    /// trained, e.g. BatchNorm's `running_mean`.
    fn local_buffers(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// Runs the module on `input`, then its forward hooks.
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let state = self.state();
        if !state.named.load(Ordering::Relaxed) {
            self.name_submodules();
        }
        let output = self.forward_impl(input)?;
        state.run_hooks(input, &output)?;
        Ok(output)
    }

    /// Gives every submodule its dotted name under this module's name, so
    /// their errors say where they are. Containers call it when a child is
    /// added, and `forward` calls it on first use.
    fn name_submodules(&self) {
        let base = self.state().path();
        for (name, child) in self.children() {
            child.set_path(&join(&base, &name));
        }
        self.state().named.store(true, Ordering::Relaxed);
    }

    /// Sets this module's dotted name and renames its submodules under it.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{ReLU, Sequential};
    /// let seq = Sequential::new().append(ReLU::new());
    /// seq.set_path("body");
    /// assert_eq!(seq.children()[0].1.state().path(), "body.0");
    /// ```
    fn set_path(&self, path: &str) {
        *self.state().path.write() = path.to_string();
        self.name_submodules();
    }

    /// This module and every submodule, depth first, with dotted names
    /// (`""` for this module).
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{ReLU, Sequential, Tanh};
    /// let model = Sequential::new().append(Sequential::new().append(ReLU::new())).append(Tanh::new());
    /// let names: Vec<String> = model.named_modules().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["", "0", "0.0", "1"]);
    /// ```
    fn named_modules(&self) -> Vec<(String, &dyn Module)> {
        let mut out = vec![(String::new(), self.as_module())];
        for (name, child) in self.children() {
            for (sub, module) in child.named_modules() {
                out.push((join(&name, &sub), module));
            }
        }
        out
    }

    /// Every parameter with its dotted name (`features.0.weight`), in
    /// PyTorch's order; a tensor shared by two modules is listed once.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{Linear, ReLU, Sequential};
    /// let model = Sequential::new().append(Linear::new(2, 3)?).append(ReLU::new()).append(Linear::new(3, 1)?);
    /// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = Vec::new();
        for (name, t) in collect_named(self.as_module(), |m| m.local_parameters()) {
            if !out.iter().any(|(_, seen)| seen.same_tensor(&t)) {
                out.push((name, t));
            }
        }
        out
    }

    /// The parameters, as handles on the same tensors (for an optimizer).
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::Linear;
    /// let fc = Linear::new(4, 2)?;
    /// let params = fc.parameters();
    /// assert_eq!(params.len(), 2);
    /// assert!(params[0].same_tensor(&fc.weight) && params[0].requires_grad());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Every buffer with its dotted name, in PyTorch's order.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::BatchNorm2d;
    /// let bn = BatchNorm2d::new(3)?;
    /// let names: Vec<String> = bn.named_buffers().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        collect_named(self.as_module(), |m| m.local_buffers())
    }

    /// The buffers, as handles on the same tensors.
    fn buffers(&self) -> Vec<Tensor> {
        self.named_buffers().into_iter().map(|(_, t)| t).collect()
    }

    /// Parameters and buffers under their dotted names, detached, in
    /// PyTorch's `state_dict()` order (each module's parameters, then its
    /// buffers, then its children's). The tensors share memory with the
    /// model, as PyTorch's do.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{BatchNorm2d, Conv2d, Sequential};
    /// let model = Sequential::new().append(Conv2d::new(1, 2, 3)?).append(BatchNorm2d::new(2)?);
    /// let keys: Vec<String> = model.state_dict().into_iter().map(|(k, _)| k).collect();
    /// assert_eq!(keys, ["0.weight", "0.bias", "1.weight", "1.bias",
    ///                   "1.running_mean", "1.running_var", "1.num_batches_tracked"]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (prefix, m) in self.named_modules() {
            for (name, t) in m.local_parameters().into_iter().chain(m.local_buffers()) {
                out.push((join(&prefix, &name), t.detach()));
            }
        }
        out
    }

    /// Copies `state` into this module's parameters and buffers, strictly:
    /// the keys must be exactly this module's and the shapes must match
    /// (see [`checkpoint::load_state_dict`](crate::checkpoint::load_state_dict)).
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::Linear;
    /// let (a, b) = (Linear::new(3, 2)?, Linear::new(3, 2)?);
    /// b.load_state_dict(&a.state_dict())?;
    /// assert_eq!(b.weight.to_vec::<f32>()?, a.weight.to_vec::<f32>()?);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn load_state_dict(&self, state: &[(String, Tensor)]) -> Result<IncompatibleKeys> {
        self.load_state_dict_with(state, LoadOptions::default())
    }

    /// [`load_state_dict`](Self::load_state_dict) with options, e.g.
    /// `LoadOptions::new().strict(false)` to load the keys both sides have.
    ///
    /// ```
    /// use ferrograd_nn::checkpoint::LoadOptions;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::Linear;
    /// let fc = Linear::new(3, 2)?;
    /// let mut state = Linear::new(3, 2)?.state_dict();
    /// state.push(("scale".to_string(), ferrograd_autograd::Tensor::scalar(2.0f32)));
    /// let keys = fc.load_state_dict_with(&state, LoadOptions::new().strict(false))?;
    /// assert_eq!(keys.unexpected_keys, ["scale"]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn load_state_dict_with(
        &self,
        state: &[(String, Tensor)],
        opts: LoadOptions,
    ) -> Result<IncompatibleKeys> {
        crate::checkpoint::load_state_dict(self.as_module(), state, opts)
    }

    /// Sets training (`true`) or evaluation mode on this module and every
    /// submodule (`model.train(mode)`).
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{Dropout, Sequential};
    /// let model = Sequential::new().append(Dropout::new(0.5)?);
    /// model.train(false);
    /// assert!(!model.children()[0].1.is_training());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn train(&self, mode: bool) {
        for (_, m) in self.named_modules() {
            m.state().training.store(mode, Ordering::Relaxed);
        }
    }

    /// Evaluation mode for this module and every submodule (`model.eval()`).
    fn eval(&self) {
        self.train(false);
    }

    /// True in training mode.
    fn is_training(&self) -> bool {
        self.state().is_training()
    }

    /// Clears every parameter's `.grad` (PyTorch's default, `set_to_none=True`).
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::Linear;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let fc = Linear::new(2, 1)?;
    /// fc.forward(&Tensor::ones(&[1, 2], DType::F32)?)?.sum()?.backward()?;
    /// assert!(fc.weight.grad().is_some());
    /// fc.zero_grad();
    /// assert!(fc.weight.grad().is_none());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// Sets `requires_grad` on every parameter (freezes with `false`).
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::Linear;
    /// let fc = Linear::new(2, 1)?;
    /// fc.requires_grad_(false)?;
    /// assert!(fc.parameters().iter().all(|p| !p.requires_grad()));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn requires_grad_(&self, requires_grad: bool) -> Result<()> {
        self.parameters()
            .iter()
            .try_for_each(|p| p.requires_grad_(requires_grad).map(|_| ()))
    }

    /// Registers `hook` to run after every forward of this module; see
    /// [`ForwardHook`]. The handle removes it.
    fn register_forward_hook(&self, hook: ForwardHook) -> HookHandle {
        self.state().add_hook(hook)
    }

    /// The submodule at a dotted path (`features.3`); `""` is this module.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{ReLU, Sequential, Tanh};
    /// let model = Sequential::new().append(Sequential::new().append(ReLU::new()).append(Tanh::new()));
    /// assert_eq!(model.get_submodule("0.1")?.type_name(), "Tanh");
    /// let e = model.get_submodule("0.7").unwrap_err().to_string();
    /// assert!(e.contains("Sequential '0' has no submodule '7'"), "{e}");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn get_submodule(&self, target: &str) -> Result<&dyn Module> {
        let mut module = self.as_module();
        if target.is_empty() {
            return Ok(module);
        }
        let mut walked = String::new();
        for part in target.split('.') {
            let children = module.children();
            let Some(&(_, child)) = children.iter().find(|(name, _)| name == part) else {
                let names: Vec<String> = children.into_iter().map(|(n, _)| n).collect();
                let which = match walked.is_empty() {
                    true => module.type_name().to_string(),
                    false => format!("{} '{walked}'", module.type_name()),
                };
                return Err(Error::invalid(
                    "get_submodule",
                    format!(
                        "{which} has no submodule '{part}' (looking up '{target}'); its submodules are [{}]",
                        names.join(", ")
                    ),
                ));
            };
            module = child;
            walked = join(&walked, part);
        }
        Ok(module)
    }

    /// The module printed as PyTorch prints it.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{Linear, ReLU, Sequential};
    /// let model = Sequential::new().append(Linear::new(2, 3)?).append(ReLU::new());
    /// assert_eq!(model.repr(), "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn repr(&self) -> String {
        let extra = self.extra_repr();
        let extra_lines: Vec<&str> = match extra.is_empty() {
            true => Vec::new(),
            false => extra.split('\n').collect(),
        };
        let children = self.children();
        if children.is_empty() && extra_lines.len() <= 1 {
            return format!("{}({extra})", self.type_name());
        }
        let mut lines: Vec<String> = extra_lines.iter().map(|l| l.to_string()).collect();
        for (name, child) in children {
            lines.push(format!("({name}): {}", child.repr().replace('\n', "\n  ")));
        }
        format!("{}(\n  {}\n)", self.type_name(), lines.join("\n  "))
    }

    /// The error for an input this layer cannot take: names the layer (its
    /// dotted name when inside a model, and its repr), the shape it expects
    /// and the shape it got.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::ReLU;
    /// let e = ReLU::new().input_error("(N, 3)", &[2, 4]).to_string();
    /// assert_eq!(e, "ReLU: ReLU() expected input of shape (N, 3), but got input of shape [2, 4]");
    /// ```
    fn input_error(&self, expected: &str, got: &[usize]) -> Error {
        self.layer_error(&format!(
            "expected input of shape {expected}, but got input of shape {got:?}"
        ))
    }

    /// An error from this layer: `Type: <dotted name> (<repr>) <what>`, or
    /// `Type: <repr> <what>` for a layer on its own.
    ///
    /// ```
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_nn::layers::{Embedding, Sequential};
    /// let model = Sequential::new().append(Embedding::new(10, 4)?);
    /// let e = model.children()[0].1.layer_error("got index 12").to_string();
    /// assert_eq!(e, "Embedding: 0 (Embedding(10, 4)) got index 12");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn layer_error(&self, what: &str) -> Error {
        let line = format!("{}({})", self.type_name(), self.extra_repr());
        let path = self.state().path();
        let who = match path.is_empty() {
            true => line,
            false => format!("{path} ({line})"),
        };
        Error::invalid(self.type_name(), format!("{who} {what}"))
    }
}

/// Prints the module's [`repr`](Module::repr).
///
/// ```
/// use ferrograd_nn::module::Module;
/// use ferrograd_nn::layers::{ReLU, Sequential};
/// let model = Sequential::new().append(ReLU::new());
/// assert_eq!(format!("{:?}", model.get(0).unwrap()), "ReLU()");
/// ```
impl std::fmt::Debug for dyn Module + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repr())
    }
}

/// `(dotted name, tensor)` of `local` over every module, depth first.
fn collect_named(
    root: &dyn Module,
    local: impl Fn(&dyn Module) -> Vec<(String, Tensor)>,
) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    for (prefix, m) in root.named_modules() {
        for (name, t) in local(m) {
            out.push((join(&prefix, &name), t));
        }
    }
    out
}

/// Runs `model` once on `input` (under `no_grad`) and returns the outputs of
/// the submodules named in `names` (dotted paths, `""` for the model's own
/// output), in that order, detached. The hooks it uses are removed before it
/// returns.
///
/// ```
/// use ferrograd_nn::module::capture_activations;
/// use ferrograd_nn::layers::{Conv2d, Flatten, ReLU, Sequential};
/// use ferrograd_autograd::{DType, Tensor};
/// let model = Sequential::new().append(Conv2d::new(1, 4, 3)?).append(ReLU::new()).append(Flatten::new());
/// let x = Tensor::ones(&[2, 1, 5, 5], DType::F32)?;
/// let acts = capture_activations(&model, &x, &["0", "2"])?;
/// assert_eq!(acts[0].0, "0");
/// assert_eq!(acts[0].1.shape(), &[2, 4, 3, 3]);
/// assert_eq!(acts[1].1.shape(), &[2, 36]);
/// let e = capture_activations(&model, &x, &["5"]).unwrap_err().to_string();
/// assert!(e.contains("Sequential has no submodule '5'"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn capture_activations<M: Module + ?Sized>(
    model: &M,
    input: &Tensor,
    names: &[&str],
) -> Result<Vec<(String, Tensor)>> {
    let targets = names
        .iter()
        .map(|n| model.get_submodule(n))
        .collect::<Result<Vec<_>>>()?;
    let slots: Vec<Arc<Mutex<Option<Tensor>>>> = names.iter().map(|_| Arc::default()).collect();
    let handles: Vec<HookHandle> = targets
        .iter()
        .zip(&slots)
        .map(|(m, slot)| {
            let slot = slot.clone();
            m.register_forward_hook(ForwardHook::new(move |_, out| {
                *slot.lock() = Some(out.clone());
                Ok(())
            }))
        })
        .collect();
    let result = {
        let _guard = no_grad();
        model.forward(input)
    };
    for h in handles {
        h.remove();
    }
    result?;
    names
        .iter()
        .zip(slots)
        .map(|(name, slot)| {
            let t = slot.lock().take().ok_or_else(|| {
                Error::invalid(
                    "capture_activations",
                    format!("submodule '{name}' did not run during the forward pass, so it has no output to capture"),
                )
            })?;
            Ok((name.to_string(), t))
        })
        .collect()
}
