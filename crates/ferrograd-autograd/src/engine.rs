//! The backward engine: walks the graph from the outputs in dependency
//! order (iteratively, so chains of any length work), sums the gradients
//! reaching each node, runs hooks, calls each node's backward, and
//! accumulates into leaves' `.grad` — or, for [`grad`], returns them.

use crate::grad_mode::set_grad_enabled;
use crate::graph::{Node, NodeKind};
use crate::tensor::Tensor;
use ferrograd_storage::{Error, Result};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Options of [`Tensor::backward_with_options`] (PyTorch's keyword arguments).
///
/// ```
/// use ferrograd_autograd::{BackwardOptions, Tensor};
/// let x = Tensor::from_vec(vec![3.0f32], &[1])?.requires_grad_(true)?;
/// let y = (&x * &x).sum()?;
/// y.backward_with_options(BackwardOptions { retain_graph: true, ..Default::default() })?;
/// y.backward()?; // the graph was kept, and gradients accumulate: 6 + 6
/// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![12.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct BackwardOptions {
    /// Gradient of the output; `None` means 1 for a one-element output.
    pub gradient: Option<Tensor>,
    /// Keep the saved tensors so backward can run through the graph again.
    pub retain_graph: bool,
    /// Record the backward computation itself, for higher-order gradients
    /// (implies `retain_graph`).
    pub create_graph: bool,
}

/// Options of [`grad`].
///
/// ```
/// use ferrograd_autograd::{grad, GradOptions, Tensor};
/// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2])?.requires_grad_(true)?;
/// let unused = Tensor::from_vec(vec![0.0f64], &[1])?.requires_grad_(true)?;
/// let y = (&x * 3.0).sum()?;
/// let g = grad(&[y], &[x, unused], GradOptions { allow_unused: true, ..Default::default() })?;
/// assert_eq!(g[0].as_ref().unwrap().to_vec::<f64>()?, vec![3.0, 3.0]);
/// assert!(g[1].is_none());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct GradOptions {
    /// Gradients of the outputs, one per output; `None` means 1 for one-element outputs.
    pub grad_outputs: Option<Vec<Tensor>>,
    /// Keep the saved tensors (defaults to `create_graph`).
    pub retain_graph: Option<bool>,
    /// Record the backward computation, for higher-order gradients.
    pub create_graph: bool,
    /// Return `None` for inputs the outputs do not depend on, instead of an error.
    pub allow_unused: bool,
}

type NodeKey = *const Node;

/// Hashes node addresses: they are unique and well spread, so one multiply
/// is enough (SipHash would dominate small graphs).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the engine tracks per node: how many edges still have to deliver
/// a gradient, and the sum of those delivered so far.
struct Slot {
    node: Arc<Node>,
    pending: usize,
    grad: Option<Tensor>,
}

type Slots = HashMap<NodeKey, Slot, BuildHasherDefault<AddressHasher>>;

fn key(node: &Arc<Node>) -> NodeKey {
    Arc::as_ptr(node)
}

fn add_grad(slot: &mut Option<Tensor>, g: Tensor) -> Result<()> {
    *slot = Some(match slot.take() {
        Some(old) => old.try_add(&g)?,
        None => g,
    });
    Ok(())
}

fn root_gradient(output: &Tensor, given: Option<&Tensor>, index: usize) -> Result<Tensor> {
    match given {
        Some(g) => {
            if g.shape() != output.shape() {
                return Err(Error::Autograd(format!(
                    "Mismatch in shape: grad_output[{index}] has a shape of {:?} and output[{index}] has a shape of {:?}.",
                    g.shape(),
                    output.shape()
                )));
            }
            Ok(g.clone())
        }
        None if output.numel() == 1 => Tensor::ones_like(output),
        None => Err(Error::Autograd(format!(
            "grad can be implicitly created only for scalar outputs (output {index} has shape {:?}). Pass the gradient with backward_with(gradient) or backward_with_options.",
            output.shape()
        ))),
    }
}

/// Every node reachable from `roots`, each with the count of edges reaching it.
fn discover(roots: &[(Arc<Node>, Tensor)]) -> Slots {
    let mut slots = Slots::with_capacity_and_hasher(64, Default::default());
    let mut stack: Vec<Arc<Node>> = Vec::new();
    for (node, _) in roots {
        slots.entry(key(node)).or_insert_with(|| {
            stack.push(node.clone());
            Slot {
                node: node.clone(),
                pending: 0,
                grad: None,
            }
        });
    }
    while let Some(node) = stack.pop() {
        for next in node.next.iter().flatten() {
            slots
                .entry(key(next))
                .or_insert_with(|| {
                    stack.push(next.clone());
                    Slot {
                        node: next.clone(),
                        pending: 0,
                        grad: None,
                    }
                })
                .pending += 1;
        }
    }
    slots
}

/// Runs backward from `roots`. With `capture`, returns the gradients flowing
/// into those nodes instead of accumulating into leaves.
fn execute(
    roots: Vec<(Arc<Node>, Tensor)>,
    capture: Option<&[Arc<Node>]>,
    retain_graph: bool,
    create_graph: bool,
) -> Result<Vec<Option<Tensor>>> {
    let mut slots = discover(&roots);
    let _mode = set_grad_enabled(create_graph);
    let mut ready: Vec<Arc<Node>> = Vec::new();
    for (node, g) in roots {
        let slot = slots.get_mut(&key(&node)).expect("roots were discovered");
        if slot.grad.is_none() && slot.pending == 0 {
            ready.push(node.clone());
        }
        add_grad(&mut slot.grad, g)?;
    }

    let mut captured: Vec<Option<Tensor>> = vec![None; capture.map_or(0, |c| c.len())];
    let result = (|| -> Result<()> {
        while let Some(node) = ready.pop() {
            let incoming = slots.get_mut(&key(&node)).and_then(|s| s.grad.take());
            let Some(mut grad) = incoming else {
                // Nothing flowed here; its inputs still stop waiting on it.
                release_dependencies(&node, &mut slots, &mut ready);
                continue;
            };
            let hooks = node.pre_hooks.lock().clone();
            for hook in hooks {
                if let Some(replaced) = hook(&grad) {
                    grad = replaced;
                }
            }
            if let Some(targets) = capture {
                for (i, t) in targets.iter().enumerate() {
                    if Arc::ptr_eq(t, &node) {
                        captured[i] = Some(grad.clone());
                    }
                }
            }
            let input_grads = match &node.kind {
                NodeKind::AccumulateGrad(leaf) => {
                    if capture.is_none() {
                        if let Some(leaf) = leaf.upgrade() {
                            accumulate(Tensor::from_impl(leaf), grad, create_graph)?;
                        }
                    }
                    continue;
                }
                NodeKind::Function(f) => f(&grad)?,
            };
            for (next, g) in node.next.iter().zip(input_grads) {
                if let (Some(next), Some(g)) = (next, g) {
                    let slot = slots.get_mut(&key(next)).expect("edge was discovered");
                    add_grad(&mut slot.grad, g)?;
                }
            }
            release_dependencies(&node, &mut slots, &mut ready);
        }
        Ok(())
    })();
    if !retain_graph {
        for slot in slots.values() {
            slot.node.release();
        }
    }
    result?;
    Ok(captured)
}

/// Marks one edge from `node` to each of its inputs as done, queueing the
/// inputs nothing else waits on.
fn release_dependencies(node: &Arc<Node>, slots: &mut Slots, ready: &mut Vec<Arc<Node>>) {
    for next in node.next.iter().flatten() {
        let slot = slots.get_mut(&key(next)).expect("edge was discovered");
        slot.pending -= 1;
        if slot.pending == 0 {
            ready.push(next.clone());
        }
    }
}

/// Adds `grad` into a leaf's `.grad`, after the leaf's hooks.
fn accumulate(leaf: Tensor, mut grad: Tensor, create_graph: bool) -> Result<()> {
    for hook in Tensor::leaf_hooks(&leaf.inner) {
        if let Some(replaced) = hook(&grad) {
            grad = replaced;
        }
    }
    let old = leaf.grad();
    let new = match old {
        Some(old) => old.try_add(&grad)?,
        // The incoming gradient may alias other gradients or views: keep a
        // private copy unless it is already the sole owner of its memory.
        None if !create_graph && grad.storage().handle_count() == 1 && grad.is_contiguous() => grad,
        None if !create_graph => grad.contiguous_owned()?,
        None => grad,
    };
    leaf.inner.mark_meta_used();
    leaf.inner.meta.lock().grad = Some(if create_graph { new } else { new.detach() });
    Ok(())
}

impl Tensor {
    /// Computes the gradient of this one-element tensor with respect to every
    /// leaf that requires grad, adding it into their `.grad`
    /// (`loss.backward()`).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let y = (&x * &x).sum()?;
    /// y.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![2.0, 4.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn backward(&self) -> Result<()> {
        self.backward_with_options(BackwardOptions::default())
    }

    /// Backward from a non-scalar output with an explicit output gradient.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let y = &x * 2.0;
    /// assert!(y.backward().is_err()); // not one element: needs a gradient
    /// y.backward_with(&Tensor::from_vec(vec![1.0f32, 10.0], &[2])?)?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![2.0, 20.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn backward_with(&self, gradient: &Tensor) -> Result<()> {
        self.backward_with_options(BackwardOptions {
            gradient: Some(gradient.clone()),
            ..Default::default()
        })
    }

    /// Backward with PyTorch's options (`gradient`, `retain_graph`, `create_graph`).
    ///
    /// ```
    /// use ferrograd_autograd::{BackwardOptions, Tensor};
    /// let x = Tensor::from_vec(vec![3.0f32], &[1])?.requires_grad_(true)?;
    /// let y = (&x * &x).sum()?;
    /// let opts = BackwardOptions { gradient: Some(Tensor::scalar(0.5f32)), ..Default::default() };
    /// y.backward_with_options(opts)?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![3.0]); // 0.5 * 2x
    /// assert!(y.backward().is_err()); // no retain_graph: the saved tensors were freed
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn backward_with_options(&self, options: BackwardOptions) -> Result<()> {
        let root = self.gradient_edge().ok_or_else(|| {
            Error::Autograd(
                "element 0 of tensors does not require grad and does not have a grad_fn. Mark an input with requires_grad_(true) before computing this tensor, outside no_grad().".into(),
            )
        })?;
        let g = root_gradient(self, options.gradient.as_ref(), 0)?;
        execute(
            vec![(root, g)],
            None,
            options.retain_graph || options.create_graph,
            options.create_graph,
        )?;
        Ok(())
    }
}

/// Gradients of `outputs` with respect to `inputs`, returned instead of
/// accumulated into `.grad` (`torch.autograd.grad`).
///
/// ```
/// use ferrograd_autograd::{grad, GradOptions, Tensor};
/// let x = Tensor::from_vec(vec![2.0f64], &[1])?.requires_grad_(true)?;
/// let y = (&(&x * &x) * &x).sum()?; // x³
/// let opts = GradOptions { create_graph: true, ..Default::default() };
/// let dy = grad(&[y], &[x.clone()], opts)?[0].clone().unwrap(); // 3x² = 12
/// let d2y = grad(&[dy.sum()?], &[x.clone()], GradOptions::default())?[0].clone().unwrap(); // 6x = 12
/// assert_eq!(d2y.to_vec::<f64>()?, vec![12.0]);
/// assert!(x.grad().is_none());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn grad(
    outputs: &[Tensor],
    inputs: &[Tensor],
    options: GradOptions,
) -> Result<Vec<Option<Tensor>>> {
    let mut roots = Vec::with_capacity(outputs.len());
    for (i, out) in outputs.iter().enumerate() {
        let given = options.grad_outputs.as_ref().and_then(|g| g.get(i));
        let Some(node) = out.gradient_edge() else {
            return Err(Error::Autograd(format!(
                "element {i} of tensors does not require grad and does not have a grad_fn"
            )));
        };
        roots.push((node, root_gradient(out, given, i)?));
    }
    let mut targets = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        targets.push(t.gradient_edge().ok_or_else(|| {
            Error::Autograd(format!(
                "One of the differentiated Tensors (input {i}) does not require grad"
            ))
        })?);
    }
    let retain = options.retain_graph.unwrap_or(options.create_graph);
    let grads = execute(roots, Some(&targets), retain, options.create_graph)?;
    if !options.allow_unused {
        if let Some(i) = grads.iter().position(|g| g.is_none()) {
            return Err(Error::Autograd(format!(
                "One of the differentiated Tensors (input {i}) appears to not have been used in the graph. Set allow_unused=true in GradOptions if this is the desired behavior."
            )));
        }
    }
    Ok(grads
        .into_iter()
        .map(|g| g.map(|g| if options.create_graph { g } else { g.detach() }))
        .collect())
}
