//! [`Sequential`]: modules run one after the other, as `torch.nn.Sequential`.

use crate::module::{join, Module, ModuleState};
use ferrograd_autograd::{Error, Result, Tensor};

/// A chain of modules, each fed the previous one's output. Children are
/// named by position (`"0"`, `"1"`, ...) with [`append`](Self::append), or by
/// name with [`add_module`](Self::add_module) (as an `OrderedDict` does in
/// PyTorch); their parameters appear under those names (`features.0.weight`).
///
/// ```
/// use ferrograd_nn::layers::{Linear, ReLU, Sequential};
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::{DType, Tensor};
/// let model = Sequential::new()
///     .add_module("hidden", Sequential::new().append(Linear::new(4, 8)?).append(ReLU::new()))?
///     .add_module("out", Linear::new(8, 2)?)?;
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["hidden.0.weight", "hidden.0.bias", "out.weight", "out.bias"]);
/// let e = model.forward(&Tensor::zeros(&[1, 5], DType::F32)?).unwrap_err().to_string();
/// assert!(e.starts_with("Linear: hidden.0 (Linear(in_features=4, out_features=8, bias=True)) expected input of shape (*, 4)"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Default)]
pub struct Sequential {
    modules: Vec<(String, Box<dyn Module>)>,
    state: ModuleState,
}

impl Sequential {
    /// An empty chain (its forward returns the input).
    ///
    /// ```
    /// use ferrograd_nn::layers::Sequential;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, -2.0], &[2])?;
    /// assert_eq!(Sequential::new().forward(&x)?.to_vec::<f32>()?, vec![1.0, -2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `module` under the name of its position.
    ///
    /// ```
    /// use ferrograd_nn::layers::{ReLU, Sequential, Tanh};
    /// let seq = Sequential::new().append(ReLU::new()).append(Tanh::new());
    /// let names: Vec<&str> = seq.iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["0", "1"]);
    /// ```
    pub fn append(mut self, module: impl Module + 'static) -> Self {
        self.push(module);
        self
    }

    /// Appends `module` under `name`; a name already used replaces that
    /// child in place, as PyTorch's `add_module` does. Names must be non-empty and
    /// free of dots.
    ///
    /// ```
    /// use ferrograd_nn::layers::{ReLU, Sequential};
    /// let e = Sequential::new().add_module("a.b", ReLU::new()).err().unwrap();
    /// assert!(e.to_string().contains("module name can't contain \".\", got: a.b"));
    /// ```
    pub fn add_module(mut self, name: &str, module: impl Module + 'static) -> Result<Self> {
        self.push_named(name, module)?;
        Ok(self)
    }

    /// Appends `module` under the name of its position, in place.
    ///
    /// ```
    /// use ferrograd_nn::layers::{ReLU, Sequential};
    /// use ferrograd_nn::module::Module;
    /// let mut seq = Sequential::new();
    /// seq.push(ReLU::new());
    /// assert_eq!(seq.len(), 1);
    /// assert_eq!(seq.get(0).unwrap().type_name(), "ReLU");
    /// ```
    pub fn push(&mut self, module: impl Module + 'static) {
        let name = self.modules.len().to_string();
        self.insert(name, Box::new(module));
    }

    /// Appends a boxed module under the name of its position.
    ///
    /// ```
    /// use ferrograd_nn::layers::{ReLU, Sequential, Tanh};
    /// use ferrograd_nn::module::Module;
    /// let mut seq = Sequential::new();
    /// let act: Box<dyn Module> = if true { Box::new(ReLU::new()) } else { Box::new(Tanh::new()) };
    /// seq.push_boxed(act);
    /// assert_eq!(seq.get(0).unwrap().type_name(), "ReLU");
    /// ```
    pub fn push_boxed(&mut self, module: Box<dyn Module>) {
        let name = self.modules.len().to_string();
        self.insert(name, module);
    }

    /// Appends (or replaces) `module` under `name`, in place.
    ///
    /// ```
    /// use ferrograd_nn::layers::{ReLU, Sequential, Tanh};
    /// use ferrograd_nn::module::Module;
    /// let mut seq = Sequential::new();
    /// seq.push_named("act", ReLU::new())?;
    /// seq.push_named("act", Tanh::new())?;
    /// assert_eq!((seq.len(), seq.get(0).unwrap().type_name()), (1, "Tanh"));
    /// assert!(seq.push_named("", ReLU::new()).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn push_named(&mut self, name: &str, module: impl Module + 'static) -> Result<()> {
        check_name(name)?;
        self.insert(name.to_string(), Box::new(module));
        Ok(())
    }

    fn insert(&mut self, name: String, module: Box<dyn Module>) {
        module.set_path(&join(&self.state.path(), &name));
        match self.modules.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = module,
            None => self.modules.push((name, module)),
        }
    }

    /// The number of children.
    ///
    /// ```
    /// use ferrograd_nn::layers::{ReLU, Sequential};
    /// let seq = Sequential::new().append(ReLU::new()).append(ReLU::new());
    /// assert_eq!(seq.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// True without children.
    ///
    /// ```
    /// use ferrograd_nn::layers::{ReLU, Sequential};
    /// assert!(Sequential::new().is_empty());
    /// assert!(!Sequential::new().append(ReLU::new()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    /// The child at `index`.
    ///
    /// ```
    /// use ferrograd_nn::layers::{Linear, ReLU, Sequential};
    /// let seq = Sequential::new().append(Linear::new(2, 3)?).append(ReLU::new());
    /// assert_eq!(seq.get(1).map(|m| m.type_name()), Some("ReLU"));
    /// assert!(seq.get(2).is_none());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<&dyn Module> {
        self.modules.get(index).map(|(_, m)| m.as_ref())
    }

    /// The children in order, with their names.
    ///
    /// ```
    /// use ferrograd_nn::layers::{Flatten, Linear, Sequential};
    /// let seq = Sequential::new().add_module("flat", Flatten::new())?.add_module("fc", Linear::new(4, 2)?)?;
    /// let got: Vec<(&str, &str)> = seq.iter().map(|(n, m)| (n, m.type_name())).collect();
    /// assert_eq!(got, [("flat", "Flatten"), ("fc", "Linear")]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &dyn Module)> {
        self.modules.iter().map(|(n, m)| (n.as_str(), m.as_ref()))
    }
}

/// PyTorch's rules for module names.
fn check_name(name: &str) -> Result<()> {
    let msg = if name.is_empty() {
        "module name can't be empty string \"\"".to_string()
    } else if name.contains('.') {
        format!("module name can't contain \".\", got: {name}")
    } else {
        return Ok(());
    };
    Err(Error::invalid("Sequential", msg))
}

impl Module for Sequential {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        let mut x = input.clone();
        for (_, m) in &self.modules {
            x = m.forward(&x)?;
        }
        Ok(x)
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.modules
            .iter()
            .map(|(n, m)| (n.clone(), m.as_ref()))
            .collect()
    }
}
