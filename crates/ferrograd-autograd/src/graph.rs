//! The recorded graph: a [`Node`] per op result (its `grad_fn`) holding the
//! backward closure, the edges to the nodes of its inputs, and the
//! [`SavedTensor`]s backward needs. Leaves get an `AccumulateGrad` node.
//!
//! Ownership runs one way — a tensor owns its grad_fn, a node owns the nodes
//! of its inputs — so the graph has no reference cycles: saved outputs and
//! leaves are held weakly. Dropping a long chain is iterative, not recursive.

use crate::tensor::{Tensor, TensorImpl};
use ferrograd_storage::{Error, Result};
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

static LIVE_NODES: AtomicUsize = AtomicUsize::new(0);

/// How many graph nodes exist right now, in every thread. Returns to its
/// previous value once the tensors of a graph are dropped (no leaks).
///
/// ```
/// use ferrograd_autograd::{live_node_count, Tensor};
/// let before = live_node_count();
/// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
/// let y = &(&x * 2.0) + 1.0; // AccumulateGrad, MulBackward0, AddBackward0
/// assert_eq!(live_node_count(), before + 3);
/// drop(y);
/// assert_eq!(live_node_count(), before);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn live_node_count() -> usize {
    LIVE_NODES.load(Ordering::Relaxed)
}

/// A gradient hook: sees the gradient and may return a replacement.
///
/// ```
/// use ferrograd_autograd::{DType, GradHook, Tensor};
/// let double: GradHook = std::sync::Arc::new(|g: &Tensor| Some(g * 2.0));
/// let g = double(&Tensor::ones(&[2], DType::F32)?).unwrap();
/// assert_eq!(g.to_vec::<f32>()?, vec![2.0, 2.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub type GradHook = Arc<dyn Fn(&Tensor) -> Option<Tensor> + Send + Sync>;

/// The backward closure of an op: maps the gradient of its output to one
/// optional gradient per input, in the order the inputs were recorded.
pub type BackwardFn = dyn Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync;

/// Edges to the nodes of an op's inputs (most ops have one or two).
pub(crate) type Edges = SmallVec<[Option<Arc<Node>>; 2]>;
/// The tensors a node saved (most save at most two).
pub(crate) type SavedList = SmallVec<[SavedTensor; 2]>;

pub(crate) enum NodeKind {
    Function(Box<BackwardFn>),
    AccumulateGrad(Weak<TensorImpl>),
}

/// One recorded op (or a leaf's gradient accumulator) in the graph.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
/// let node = (&(&x * 2.0) + 1.0).grad_fn().unwrap();
/// assert_eq!(format!("{node:?}"), "<AddBackward0>");
/// assert_eq!(node.next_functions()[0].as_ref().unwrap().name(), "MulBackward0");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct Node {
    name: &'static str,
    pub(crate) kind: NodeKind,
    pub(crate) next: Edges,
    saved: SavedList,
    pub(crate) pre_hooks: Mutex<Vec<GradHook>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.name)
    }
}

impl Node {
    pub(crate) fn new(
        name: &'static str,
        kind: NodeKind,
        next: Edges,
        saved: SavedList,
    ) -> Arc<Node> {
        LIVE_NODES.fetch_add(1, Ordering::Relaxed);
        let node = Arc::new(Node {
            name,
            kind,
            next,
            saved,
            pre_hooks: Mutex::new(Vec::new()),
        });
        for s in &node.saved {
            s.attach_producer(&node);
        }
        node
    }

    /// PyTorch's name for the node: `MulBackward0`, `AccumulateGrad`...
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// assert_eq!((&x * &x).grad_fn().unwrap().name(), "MulBackward0");
    /// assert_eq!(x.sum()?.grad_fn().unwrap().name(), "SumBackward0");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The nodes this one sends gradients to (`None` for inputs that need none).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let c = Tensor::from_vec(vec![2.0f32], &[1])?; // needs no gradient
    /// let node = (&x * &c).grad_fn().unwrap();
    /// let names: Vec<_> = node.next_functions().iter().map(|n| n.as_ref().map(|n| n.name())).collect();
    /// assert_eq!(names, vec![Some("AccumulateGrad"), None]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn next_functions(&self) -> &[Option<Arc<Node>>] {
        &self.next
    }

    /// Frees the saved tensors (after a backward without `retain_graph`).
    pub(crate) fn release(&self) {
        for s in &self.saved {
            s.release();
        }
    }
}

thread_local! {
    static DROPPING: Cell<bool> = const { Cell::new(false) };
    static PENDING: RefCell<Vec<Arc<Node>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Node {
    fn drop(&mut self) {
        LIVE_NODES.fetch_sub(1, Ordering::Relaxed);
        // Dropping a chain recursively would overflow the stack on long graphs:
        // hand the edges to a thread-local queue drained by the outermost drop.
        let edges: Vec<Arc<Node>> = std::mem::take(&mut self.next)
            .into_iter()
            .flatten()
            .collect();
        PENDING.with(|p| p.borrow_mut().extend(edges));
        if DROPPING.with(|d| d.replace(true)) {
            return;
        }
        self.saved.clear();
        if let NodeKind::Function(f) =
            std::mem::replace(&mut self.kind, NodeKind::AccumulateGrad(Weak::new()))
        {
            drop(f);
        }
        while let Some(node) = PENDING.with(|p| p.borrow_mut().pop()) {
            drop(node);
        }
        DROPPING.with(|d| d.set(false));
    }
}

struct SavedData {
    tensor: Option<Tensor>,
    producer: Weak<Node>,
}

struct SavedSlot {
    data: Mutex<SavedData>,
    saved_version: u64,
    is_output: bool,
    /// The name of the node that produced the tensor, for messages.
    origin: Option<&'static str>,
}

/// A tensor kept by a node for its backward, with the version it had when
/// saved. Unpacking fails if it was modified in place since, or if the graph
/// was already freed by a backward without `retain_graph`.
///
/// ```
/// use ferrograd_autograd::{SavedTensor, Tensor};
/// let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
/// let saved = SavedTensor::input(&t);
/// assert!(saved.unpack()?.same_tensor(&t));
/// t.add_(1.0)?; // modified after it was saved
/// assert!(saved.unpack().unwrap_err().to_string().contains("modified by an inplace operation"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone)]
pub struct SavedTensor(Arc<SavedSlot>);

impl SavedTensor {
    /// Saves an input of the op (held strongly, graph history included).
    ///
    /// ```
    /// use ferrograd_autograd::{SavedTensor, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let s = SavedTensor::input(&(&x * 2.0));
    /// assert_eq!(s.unpack()?.grad_fn().unwrap().name(), "MulBackward0"); // history kept
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn input(t: &Tensor) -> Self {
        Self::make(t, false)
    }

    /// Saves the op's own output. Held without its grad_fn, which is
    /// re-attached on unpack, so the output and its node form no cycle.
    ///
    /// ```
    /// use ferrograd_autograd::{SavedTensor, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let out = (&x * 2.0).detach();
    /// let s = SavedTensor::output(&out);
    /// let y = out.with_grad_fn("MyBackward", &[&x], &[&s], |g| Ok(vec![Some(g * 2.0)]));
    /// let u = s.unpack()?; // the node that saved it is re-attached
    /// assert!(u.shares_storage(&y) && u.grad_fn().unwrap().name() == "MyBackward");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn output(t: &Tensor) -> Self {
        Self::make(t, true)
    }

    fn make(t: &Tensor, is_output: bool) -> Self {
        let stored = if is_output { t.detach() } else { t.clone() };
        SavedTensor(Arc::new(SavedSlot {
            data: Mutex::new(SavedData {
                tensor: Some(stored),
                producer: Weak::new(),
            }),
            saved_version: t.version(),
            is_output,
            origin: if is_output {
                None
            } else {
                t.grad_fn().map(|n| n.name())
            },
        }))
    }

    fn attach_producer(&self, node: &Arc<Node>) {
        if self.0.is_output {
            self.0.data.lock().producer = Arc::downgrade(node);
        }
    }

    fn release(&self) {
        self.0.data.lock().tensor = None;
    }

    /// The saved tensor, checked against in-place modification.
    ///
    /// ```
    /// use ferrograd_autograd::{SavedTensor, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let s = SavedTensor::input(&x);
    /// let y = (&x * 2.0).detach().with_grad_fn("MyBackward", &[&x], &[&s], |g| Ok(vec![Some(g * 2.0)]));
    /// assert_eq!(s.unpack()?.to_vec::<f32>()?, vec![1.0]);
    /// y.sum()?.backward()?; // frees what the graph saved
    /// assert!(s.unpack().unwrap_err().to_string().starts_with("Trying to backward through the graph a second time"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn unpack(&self) -> Result<Tensor> {
        let slot = &self.0;
        let data = slot.data.lock();
        let Some(t) = data.tensor.as_ref() else {
            return Err(Error::Autograd(
                "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd::grad(). Specify retain_graph=true (Tensor::backward_with_options) if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.".into(),
            ));
        };
        let version = t.version();
        if version != slot.saved_version {
            let origin = if slot.is_output {
                data.producer.upgrade().map(|n| n.name())
            } else {
                slot.origin
            };
            let which = match origin {
                Some(name) => format!(", which is output 0 of {name},"),
                None => String::new(),
            };
            return Err(Error::Autograd(format!(
                "one of the variables needed for gradient computation has been modified by an inplace operation: [{} {:?}]{which} is at version {version}; expected version {} instead. Hint: use the out-of-place form of the in-place op (e.g. `&x + 1.0` instead of `x.add_(1.0)`), or .clone() the tensor before modifying it.",
                t.dtype().legacy_name(),
                t.shape(),
                slot.saved_version
            )));
        }
        if slot.is_output {
            if let Some(node) = data.producer.upgrade() {
                return Ok(t.with_history(node));
            }
        }
        Ok(t.clone())
    }
}
