//! The [`Tensor`] handle: a storage, a layout over it, and the autograd
//! metadata (requires_grad, grad_fn, .grad, hooks) that the graph enforces.
//! Cloning a `Tensor` clones the handle — both names see the same tensor,
//! like two Python variables bound to one `torch.Tensor`.

use crate::grad_mode::is_grad_enabled;
use crate::graph::{BackwardFn, GradHook, Node, NodeKind, SavedTensor};
use ferrograd_storage::cpu::{unary_map, unary_map_into};
use ferrograd_storage::{CpuBuffer, DType, Device, Element, Error, Layout, Result, Storage};
use parking_lot::Mutex;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// An n-dimensional array with PyTorch's semantics: strided views that share
/// storage, a dtype and device, and a place in the autograd graph.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.strides(), &[3, 1]);
/// let tt = t.transpose(0, 1)?;
/// assert!(tt.shares_storage(&t));
/// assert!(!tt.is_contiguous());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    /// Taken out only in `Drop`, which hands it to the small-tensor pool.
    pub(crate) inner: ManuallyDrop<Arc<TensorImpl>>,
}

impl Drop for Tensor {
    fn drop(&mut self) {
        // SAFETY: `inner` is not touched again: the handle is being dropped.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        crate::small_outputs::offer(inner);
    }
}

pub(crate) struct TensorImpl {
    pub(crate) storage: Storage,
    pub(crate) layout: Layout,
    pub(crate) dtype: DType,
    pub(crate) meta: Mutex<AutogradMeta>,
    /// `meta.requires_grad || meta.grad_fn.is_some()`, kept beside the lock
    /// so that asking (every op does, for each input) takes no lock.
    pub(crate) requires_grad_cached: AtomicBool,
    /// Set before this tensor's first `Weak` handle is made (see
    /// [`TensorImpl::downgrade`]); while it is clear, one strong handle
    /// means no other handle at all (`small_outputs::sole_owner`).
    pub(crate) downgraded: AtomicBool,
    /// Set (and never cleared) before a `.grad`, a hook or `retain_grad` is
    /// written into `meta`, so that the small-tensor pool can tell a tensor
    /// whose `meta` never held more than `requires_grad`/`grad_fn` from one
    /// flag instead of reading each field (`TensorImpl::mark_meta_used`).
    pub(crate) meta_used: AtomicBool,
    /// For views: the tensor whose storage they view (never itself a view).
    /// Fixed at creation, so reading it takes no lock.
    pub(crate) view_base: Option<Tensor>,
}

impl TensorImpl {
    /// The only way this crate makes a `Weak` handle on a tensor: marks it
    /// first, so that [`small_outputs`](crate::small_outputs) may skip
    /// `Arc::get_mut`'s compare-and-swap on tensors never marked.
    pub(crate) fn downgrade(this: &Arc<TensorImpl>) -> Weak<TensorImpl> {
        this.downgraded.store(true, Ordering::Relaxed);
        Arc::downgrade(this)
    }

    /// Marks `meta` as holding (or about to hold) a grad, a hook or
    /// `retains_grad`. Every path that stores one calls it first
    /// (`retain_grad`'s call also covers the grads its hook stores later).
    pub(crate) fn mark_meta_used(&self) {
        self.meta_used.store(true, Ordering::Relaxed);
    }
}

#[derive(Default)]
pub(crate) struct AutogradMeta {
    /// Only meaningful on leaves; a non-leaf requires grad through its grad_fn.
    pub(crate) requires_grad: bool,
    pub(crate) grad_fn: Option<Arc<Node>>,
    pub(crate) grad: Option<Tensor>,
    pub(crate) accumulator: Weak<Node>,
    pub(crate) hooks: Vec<GradHook>,
    pub(crate) retains_grad: bool,
}

impl Tensor {
    /// A tensor over `storage` with `layout`; the layout must stay inside the storage.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, Storage, Layout};
    /// let s = Storage::from_vec(vec![1i64, 2, 3, 4]);
    /// let t = Tensor::from_parts(s, Layout::new(vec![2], vec![-2], 3))?;
    /// assert_eq!(t.to_vec::<i64>()?, vec![4, 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn from_parts(storage: Storage, layout: Layout) -> Result<Tensor> {
        let (lo, hi) = layout.span();
        if layout.numel() > 0 && (hi > storage.len() || lo > hi) {
            return Err(Error::invalid(
                "from_parts",
                format!(
                    "layout {:?} with strides {:?} at offset {} reaches element {} of a storage of {} elements",
                    layout.shape(),
                    layout.strides(),
                    layout.offset(),
                    hi - 1,
                    storage.len()
                ),
            ));
        }
        Ok(Self::from_parts_unchecked(storage, layout))
    }

    pub(crate) fn from_parts_unchecked(storage: Storage, layout: Layout) -> Tensor {
        Self::new_impl(storage, layout, None)
    }

    fn new_impl(storage: Storage, layout: Layout, view_base: Option<Tensor>) -> Tensor {
        Tensor::from_impl(Arc::new(TensorImpl {
            dtype: storage.dtype(),
            storage,
            layout,
            meta: Mutex::new(AutogradMeta::default()),
            requires_grad_cached: AtomicBool::new(false),
            downgraded: AtomicBool::new(false),
            meta_used: AtomicBool::new(false),
            view_base,
        }))
    }

    /// A tensor of `shape` taking ownership of `data` (row-major) without copying.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1, 2, 3, 4, 5, 6i64], &[2, 3])?;
    /// assert_eq!(t.numel(), 6);
    /// assert!(Tensor::from_vec(vec![1.0f32; 5], &[2, 3]).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        Self::from_buffer(T::into_buffer(data), shape)
    }

    /// A tensor of `shape` copying `data` (row-major).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let data = [1.0f32, 2.0, 3.0, 4.0];
    /// let t = Tensor::from_slice(&data, &[2, 2])?;
    /// assert_eq!(t.to_vec::<f32>()?, data.to_vec());
    /// assert!(Tensor::from_slice(&data, &[3]).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        Self::from_vec(data.to_vec(), shape)
    }

    /// A tensor of `shape` over a whole buffer (row-major).
    ///
    /// ```
    /// use ferrograd_autograd::{CpuBuffer, DType, Tensor};
    /// let t = Tensor::from_buffer(CpuBuffer::I32(vec![1, 2, 3, 4, 5, 6]), &[3, 2])?;
    /// assert_eq!((t.dtype(), t.shape()), (DType::I32, &[3, 2][..]));
    /// let e = Tensor::from_buffer(CpuBuffer::zeros(DType::F32, 5), &[2, 3]).unwrap_err();
    /// assert_eq!(e.to_string(), "shape '[2, 3]' is invalid for input of size 5");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn from_buffer(buffer: CpuBuffer, shape: &[usize]) -> Result<Tensor> {
        let numel: usize = shape.iter().product();
        if numel != buffer.len() {
            return Err(Error::InvalidShape {
                shape: shape.iter().map(|&s| s as isize).collect(),
                numel: buffer.len(),
            });
        }
        Ok(Self::from_parts_unchecked(
            Storage::new(buffer),
            Layout::contiguous(shape),
        ))
    }

    /// Wraps a kernel's row-major output; the caller guarantees `data.len()` matches.
    pub(crate) fn from_kernel<T: Element>(data: Vec<T>, shape: &[usize]) -> Tensor {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Self::from_parts_unchecked(Storage::from_vec(data), Layout::contiguous(shape))
    }

    /// A 0-dimensional tensor holding `value`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::scalar(2.5f64);
    /// assert_eq!(t.dim(), 0);
    /// assert_eq!(t.item::<f64>()?, 2.5);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Self::from_kernel(vec![value], &[])
    }

    /// Another handle on the same storage with a new layout (a view), linked
    /// to the same base for the in-place rules.
    pub(crate) fn view_with_layout(&self, layout: Layout) -> Tensor {
        let base = self.inner.view_base.as_ref().unwrap_or(self).clone();
        Self::new_impl(self.inner.storage.clone(), layout, Some(base))
    }

    /// Sizes of each dimension (`t.shape` in PyTorch).
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// assert_eq!(Tensor::zeros(&[2, 3, 4], DType::F32)?.shape(), &[2, 3, 4]);
    /// assert!(Tensor::scalar(1.0f32).shape().is_empty());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn shape(&self) -> &[usize] {
        self.inner.layout.shape()
    }

    /// The size of one dim (negative counts from the end).
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::zeros(&[2, 3, 4], DType::F32)?;
    /// assert_eq!((t.size(0)?, t.size(-1)?), (2, 4));
    /// assert!(t.size(3).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn size(&self, dim: isize) -> Result<usize> {
        Ok(self.shape()[self.inner.layout.dim(dim)?])
    }

    /// Number of dimensions.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// assert_eq!(Tensor::zeros(&[2, 3], DType::F32)?.dim(), 2);
    /// assert_eq!(Tensor::scalar(1i64).dim(), 0);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn dim(&self) -> usize {
        self.inner.layout.ndim()
    }

    /// Number of elements.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// assert_eq!(Tensor::zeros(&[2, 3, 4], DType::F32)?.numel(), 24);
    /// assert_eq!(Tensor::zeros(&[2, 0], DType::F32)?.numel(), 0);
    /// assert_eq!(Tensor::scalar(1i64).numel(), 1);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn numel(&self) -> usize {
        self.inner.layout.numel()
    }

    /// The element type.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// assert_eq!(Tensor::from_vec(vec![1u8, 2], &[2])?.dtype(), DType::U8);
    /// assert_eq!(Tensor::arange(0.0, 2.0)?.dtype(), DType::F32);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn dtype(&self) -> DType {
        self.inner.dtype
    }

    /// Where the data lives.
    ///
    /// ```
    /// use ferrograd_autograd::{Device, Tensor};
    /// let t = Tensor::from_vec(vec![1.0f32], &[1])?;
    /// assert_eq!(t.device(), Device::Cpu);
    /// assert!(!t.device().is_cuda());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn device(&self) -> Device {
        self.inner.storage.device()
    }

    /// Strides in elements, signed (a flipped dim has a negative stride).
    ///
    /// ```
    /// use ferrograd_autograd::{s, DType, Tensor};
    /// let t = Tensor::zeros(&[2, 3, 4], DType::F32)?;
    /// assert_eq!(t.strides(), &[12, 4, 1]);
    /// assert_eq!(t.permute(&[2, 0, 1])?.strides(), &[1, 12, 4]);
    /// assert_eq!(Tensor::arange(0, 3)?.index(s![..;-1])?.strides(), &[-1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn strides(&self) -> &[isize] {
        self.inner.layout.strides()
    }

    /// The stride of one dim.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::zeros(&[2, 3], DType::F32)?;
    /// assert_eq!((t.stride(0)?, t.stride(1)?), (3, 1));
    /// assert_eq!(t.t()?.stride(-1)?, 3);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn stride(&self, dim: isize) -> Result<isize> {
        Ok(self.strides()[self.inner.layout.dim(dim)?])
    }

    /// Index into the storage of the first logical element.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 10)?;
    /// assert_eq!(t.storage_offset(), 0);
    /// assert_eq!(t.narrow(0, 3, 4)?.storage_offset(), 3);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn storage_offset(&self) -> usize {
        self.inner.layout.offset()
    }

    /// True when elements are row-major with no gaps.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::zeros(&[2, 3], DType::F32)?;
    /// assert!(t.is_contiguous());
    /// assert!(!t.t()?.is_contiguous());
    /// assert!(t.t()?.contiguous()?.is_contiguous());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.inner.layout.is_contiguous()
    }

    /// Shape, strides and offset.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 6)?.reshape(&[2, 3])?.t()?;
    /// let l = t.layout();
    /// assert_eq!((l.shape(), l.strides(), l.offset()), (&[3, 2][..], &[1, 3][..], 0));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    /// The shared buffer under this tensor.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let v = Tensor::arange(0, 6)?.narrow(0, 2, 2)?;
    /// assert_eq!(v.storage().len(), 6); // the whole buffer, not just the view
    /// assert_eq!(v.storage().dtype(), DType::I64);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// True when both tensors view one storage (PyTorch users compare
    /// `untyped_storage().data_ptr()` for this).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 4)?;
    /// assert!(t.reshape(&[2, 2])?.shares_storage(&t));
    /// assert!(!t.deep_clone()?.shares_storage(&t));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        self.inner.storage.same_as(&other.inner.storage)
    }

    /// True when both handles name the very same tensor.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 4)?;
    /// assert!(t.clone().same_tensor(&t)); // a second handle
    /// let v = t.view(&[2, 2])?;
    /// assert!(v.shares_storage(&t) && !v.same_tensor(&t));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn same_tensor(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The version counter shared by every view of the storage: in-place ops bump it.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::zeros(&[2], DType::F32)?;
    /// let view = t.narrow(0, 0, 1)?;
    /// let v0 = t.version();
    /// view.fill_(1.0)?;
    /// assert_eq!((t.version(), view.version()), (v0 + 1, v0 + 1));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn version(&self) -> u64 {
        self.inner.storage.version()
    }

    /// True if gradients flow to this tensor: a leaf marked with
    /// [`requires_grad_`](Self::requires_grad_), or a result of ops on one.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?;
    /// assert!(!x.requires_grad());
    /// x.requires_grad_(true)?;
    /// assert!(x.requires_grad() && (&x * 2.0).requires_grad());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn requires_grad(&self) -> bool {
        self.inner.requires_grad_cached.load(Ordering::Acquire)
    }

    /// Updates the cached [`requires_grad`](Self::requires_grad) after a
    /// change of `meta` (call with the lock held).
    fn cache_requires_grad(&self, meta: &AutogradMeta) {
        let value = meta.requires_grad || meta.grad_fn.is_some();
        self.inner
            .requires_grad_cached
            .store(value, Ordering::Release);
    }

    /// Marks a leaf as requiring grad (or not) and returns a handle to it, so
    /// it also works as a builder: `Tensor::randn(&[3])?.requires_grad_(true)?`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![0.5f32], &[1])?.requires_grad_(true)?;
    /// assert!(w.requires_grad() && w.is_leaf());
    /// let e = Tensor::from_vec(vec![1i64], &[1])?.requires_grad_(true).unwrap_err();
    /// assert!(e.to_string().contains("only Tensors of floating point dtype can require gradients"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn requires_grad_(&self, requires_grad: bool) -> Result<Tensor> {
        if requires_grad && !self.dtype().is_floating_point() {
            return Err(Error::Autograd(format!(
                "only Tensors of floating point dtype can require gradients (this one is {}). Convert it first with .float() or .double().",
                self.dtype()
            )));
        }
        let mut meta = self.inner.meta.lock();
        if meta.grad_fn.is_some() {
            if !requires_grad {
                return Err(Error::Autograd(
                    "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().".into(),
                ));
            }
        } else {
            meta.requires_grad = requires_grad;
            self.cache_requires_grad(&meta);
        }
        drop(meta);
        Ok(self.clone())
    }

    /// True for tensors not produced by a recorded op (user-created tensors,
    /// and results computed under `no_grad` or from tensors not requiring grad).
    ///
    /// ```
    /// use ferrograd_autograd::{with_no_grad, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// assert!(x.is_leaf());
    /// assert!(!(&x * 2.0).is_leaf());
    /// assert!(with_no_grad(|| &x * 2.0).is_leaf());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn is_leaf(&self) -> bool {
        self.inner.meta.lock().grad_fn.is_none()
    }

    /// The node that produced this tensor, if it was recorded.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// assert!(x.grad_fn().is_none());
    /// assert_eq!((&x * 2.0).grad_fn().unwrap().name(), "MulBackward0");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn grad_fn(&self) -> Option<Arc<Node>> {
        self.inner.meta.lock().grad_fn.clone()
    }

    /// The accumulated gradient. Filled by backward for leaves that require
    /// grad; a non-leaf's stays `None` unless [`retain_grad`](Self::retain_grad)
    /// was called, because its gradient is only passed through, not kept.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let y = &x * 3.0;
    /// y.sum()?.backward()?;
    /// (&x * 3.0).sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![6.0, 6.0]); // accumulated
    /// assert!(y.grad().is_none()); // a non-leaf keeps none
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn grad(&self) -> Option<Tensor> {
        self.inner.meta.lock().grad.clone()
    }

    /// Replaces `.grad` (`None` clears it, as `zero_grad(set_to_none=True)` does).
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::zeros(&[2], DType::F32)?.requires_grad_(true)?;
    /// x.set_grad(Some(Tensor::ones(&[2], DType::F32)?))?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![1.0, 1.0]);
    /// assert!(x.set_grad(Some(Tensor::ones(&[3], DType::F32)?)).is_err());
    /// x.set_grad(None)?;
    /// assert!(x.grad().is_none());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.shape() != self.shape() {
                return Err(Error::ShapeMismatch {
                    op: "set_grad",
                    lhs: g.shape().to_vec(),
                    rhs: self.shape().to_vec(),
                    msg: "assigned grad has data of a different size than the tensor".into(),
                });
            }
        }
        if grad.is_some() {
            self.inner.mark_meta_used();
        }
        self.inner.meta.lock().grad = grad;
        Ok(())
    }

    /// Clears `.grad`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// (&x * 2.0).sum()?.backward()?;
    /// assert!(x.grad().is_some());
    /// x.zero_grad();
    /// assert!(x.grad().is_none());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn zero_grad(&self) {
        self.inner.meta.lock().grad = None;
    }

    /// A tensor sharing this one's storage and version counter, cut from the
    /// graph: no grad_fn, does not require grad.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let d = (&w * 2.0).detach();
    /// assert!(!d.requires_grad() && d.is_leaf());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn detach(&self) -> Tensor {
        Self::from_parts_unchecked(self.inner.storage.clone(), self.inner.layout.clone())
    }

    /// Cuts this tensor from the graph in place.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let y = &x * 2.0;
    /// assert!(y.requires_grad());
    /// y.detach_();
    /// assert!(!y.requires_grad() && y.is_leaf());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn detach_(&self) -> Tensor {
        let mut meta = self.inner.meta.lock();
        meta.grad_fn = None;
        meta.requires_grad = false;
        self.cache_requires_grad(&meta);
        drop(meta);
        self.clone()
    }

    /// Keeps the gradient of a non-leaf in `.grad` during backward.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let y = &x * 2.0;
    /// y.retain_grad()?;
    /// (&y * &y).sum()?.backward()?;
    /// assert_eq!(y.grad().unwrap().to_vec::<f32>()?, vec![4.0, 8.0]); // 2y
    /// assert!(Tensor::zeros(&[1], DType::F32)?.retain_grad().is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn retain_grad(&self) -> Result<()> {
        let mut meta = self.inner.meta.lock();
        let Some(node) = meta.grad_fn.clone() else {
            if meta.requires_grad {
                return Ok(()); // leaves keep their grad anyway
            }
            return Err(Error::Autograd(
                "can't retain_grad on Tensor that has requires_grad=False".into(),
            ));
        };
        if meta.retains_grad {
            return Ok(());
        }
        self.inner.mark_meta_used(); // also covers the grads the hook below stores
        meta.retains_grad = true;
        drop(meta);
        let weak = TensorImpl::downgrade(&self.inner);
        node.pre_hooks.lock().push(Arc::new(move |g: &Tensor| {
            if let Some(t) = weak.upgrade() {
                let mut meta = t.meta.lock();
                meta.grad = Some(match meta.grad.take() {
                    Some(old) => crate::grad_mode::with_no_grad(|| old.try_add(g)).ok()?,
                    None => g.detach().contiguous_owned().ok()?,
                });
            }
            None
        }));
        Ok(())
    }

    /// True once [`retain_grad`](Self::retain_grad) was called on this non-leaf.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let y = &x * 2.0;
    /// assert!(!y.retains_grad());
    /// y.retain_grad()?;
    /// x.retain_grad()?; // a leaf keeps its grad anyway: no flag
    /// assert!(y.retains_grad() && !x.retains_grad());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn retains_grad(&self) -> bool {
        self.inner.meta.lock().retains_grad
    }

    /// Calls `hook` with this tensor's gradient each time backward computes
    /// it; a returned tensor replaces the gradient.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2])?.requires_grad_(true)?;
    /// x.register_hook(|g| Some(g * 10.0))?;
    /// (&x * 3.0).sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![30.0, 30.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn register_hook(
        &self,
        hook: impl Fn(&Tensor) -> Option<Tensor> + Send + Sync + 'static,
    ) -> Result<()> {
        let mut meta = self.inner.meta.lock();
        match meta.grad_fn.clone() {
            Some(node) => node.pre_hooks.lock().push(Arc::new(hook)),
            None if meta.requires_grad => {
                self.inner.mark_meta_used();
                meta.hooks.push(Arc::new(hook));
            }
            None => {
                return Err(Error::Autograd(
                    "cannot register a hook on a tensor that doesn't require gradient".into(),
                ))
            }
        }
        Ok(())
    }

    /// The leaf's gradient accumulator node, created on first use.
    pub(crate) fn grad_accumulator(&self) -> Arc<Node> {
        let mut meta = self.inner.meta.lock();
        if let Some(node) = meta.accumulator.upgrade() {
            return node;
        }
        let node = Node::new(
            "AccumulateGrad",
            NodeKind::AccumulateGrad(TensorImpl::downgrade(&self.inner)),
            Default::default(),
            Default::default(),
        );
        meta.accumulator = Arc::downgrade(&node);
        node
    }

    /// The node gradients for this tensor should flow into, if any.
    pub(crate) fn gradient_edge(&self) -> Option<Arc<Node>> {
        let meta = self.inner.meta.lock();
        if let Some(f) = &meta.grad_fn {
            return Some(f.clone());
        }
        let wants = meta.requires_grad;
        drop(meta);
        wants.then(|| self.grad_accumulator())
    }

    /// A handle on the same data whose grad_fn is `node` (unpacking a saved output).
    pub(crate) fn with_history(&self, node: Arc<Node>) -> Tensor {
        let t = Self::from_parts_unchecked(self.inner.storage.clone(), self.inner.layout.clone());
        let mut meta = t.inner.meta.lock();
        meta.grad_fn = Some(node);
        t.cache_requires_grad(&meta);
        drop(meta);
        t
    }

    /// True when an op on `inputs` must be recorded: grad mode is on and at
    /// least one input requires grad.
    ///
    /// ```
    /// use ferrograd_autograd::{with_no_grad, Tensor};
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let c = Tensor::from_vec(vec![2.0f32], &[1])?;
    /// assert!(Tensor::needs_grad(&[&c, &w]));
    /// assert!(!Tensor::needs_grad(&[&c]));
    /// assert!(!with_no_grad(|| Tensor::needs_grad(&[&w])));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn needs_grad(inputs: &[&Tensor]) -> bool {
        is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
    }

    /// Records this op result in the graph, if [`needs_grad`](Self::needs_grad):
    /// a node named `name` whose `backward` maps the output's gradient to one
    /// gradient per entry of `inputs`. `saved` lists the tensors `backward`
    /// unpacks, so the graph can free them after backward. Returns `self`.
    ///
    /// This is how every differentiable op is written:
    /// ```
    /// use ferrograd_autograd::{SavedTensor, Tensor};
    /// fn square(x: &Tensor) -> ferrograd_autograd::Result<Tensor> {
    ///     let out = x.try_mul(x)?.detach();
    ///     if !Tensor::needs_grad(&[x]) {
    ///         return Ok(out);
    ///     }
    ///     let sx = SavedTensor::input(x);
    ///     Ok(out.with_grad_fn("SquareBackward0", &[x], &[&sx], {
    ///         let sx = sx.clone();
    ///         move |g| Ok(vec![Some(g.try_mul(&(&sx.unpack()? * 2.0))?)])
    ///     }))
    /// }
    /// let x = Tensor::from_vec(vec![3.0f64], &[1])?.requires_grad_(true)?;
    /// square(&x)?.sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![6.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn with_grad_fn(
        self,
        name: &'static str,
        inputs: &[&Tensor],
        saved: &[&SavedTensor],
        backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Tensor {
        // Inlined, so that when nothing is recorded the closure and its
        // captures are never built.
        if !Self::needs_grad(inputs) {
            return self;
        }
        self.attach_grad_fn(name, inputs, saved, Box::new(backward))
    }

    /// The recording half of [`with_grad_fn`](Self::with_grad_fn).
    fn attach_grad_fn(
        self,
        name: &'static str,
        inputs: &[&Tensor],
        saved: &[&SavedTensor],
        backward: Box<BackwardFn>,
    ) -> Tensor {
        let next = inputs.iter().map(|t| t.gradient_edge()).collect();
        let saved = saved.iter().map(|s| (*s).clone()).collect();
        let node = Node::new(name, NodeKind::Function(backward), next, saved);
        let mut meta = self.inner.meta.lock();
        meta.grad_fn = Some(node);
        self.cache_requires_grad(&meta);
        drop(meta);
        self
    }

    /// Checks the rules for writing into this tensor in place: not a leaf
    /// that requires grad (nor a view of one) while grad mode is on, and no two
    /// elements sharing memory.
    ///
    /// ```
    /// use ferrograd_autograd::{with_no_grad, DType, Tensor};
    /// let w = Tensor::zeros(&[2], DType::F32)?.requires_grad_(true)?;
    /// assert!(w.check_inplace().is_err()); // a leaf that requires grad
    /// assert!(with_no_grad(|| w.check_inplace()).is_ok());
    /// let e = Tensor::zeros(&[1], DType::F32)?.expand(&[3])?;
    /// assert!(e.check_inplace().is_err()); // three elements, one memory location
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn check_inplace(&self) -> Result<()> {
        let meta = self.inner.meta.lock();
        if is_grad_enabled() {
            if meta.grad_fn.is_none() && meta.requires_grad {
                return Err(Error::Autograd(
                    "a leaf Variable that requires grad is being used in an in-place operation. Wrap the update in no_grad() (optimizers do), or apply it to a .detach()ed tensor.".into(),
                ));
            }
            if let Some(base) = &self.inner.view_base {
                if base.is_leaf() && base.requires_grad() {
                    return Err(Error::Autograd(
                        "a view of a leaf Variable that requires grad is being used in an in-place operation. Wrap the update in no_grad(), or clone() the view first.".into(),
                    ));
                }
                if base.requires_grad() {
                    return Err(Error::Autograd(
                        "in-place operations on a view of a tensor that requires grad are not supported: ferrograd does not rewrite the base's history. Use the out-of-place op, or clone() the view first.".into(),
                    ));
                }
            }
        }
        drop(meta);
        let layout = self.layout();
        if layout
            .shape()
            .iter()
            .zip(layout.strides())
            .any(|(&n, &s)| n > 1 && s == 0)
        {
            return Err(Error::invalid(
                "in-place operation",
                "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.",
            ));
        }
        Ok(())
    }

    /// After an in-place write: bumps the version counter and, if the write
    /// must be recorded, makes a new node (edges: this tensor's old history,
    /// then `others`) this tensor's grad_fn.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let y = &x * 1.0; // a non-leaf, which may be written in place
    /// let v0 = y.version();
    /// y.record_inplace("TimesFiveBackward", &[], &[], |g| Ok(vec![Some(g * 5.0)]));
    /// assert_eq!((y.version(), y.grad_fn().unwrap().name()), (v0 + 1, "TimesFiveBackward"));
    /// y.sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![5.0, 5.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn record_inplace(
        &self,
        name: &'static str,
        others: &[&Tensor],
        saved: &[&SavedTensor],
        backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) {
        self.inner.storage.bump_version();
        let mut inputs = vec![self];
        inputs.extend_from_slice(others);
        if !Self::needs_grad(&inputs) {
            return;
        }
        let next = inputs.iter().map(|t| t.gradient_edge()).collect();
        let saved = saved.iter().map(|s| (*s).clone()).collect();
        let node = Node::new(name, NodeKind::Function(Box::new(backward)), next, saved);
        let mut meta = self.inner.meta.lock();
        meta.grad_fn = Some(node);
        meta.requires_grad = false;
        self.cache_requires_grad(&meta);
    }

    /// A copy as a fresh row-major tensor, detached, even if already contiguous.
    pub(crate) fn contiguous_owned(&self) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() {
            return crate::cuda::cast(self, self.dtype());
        }
        let guard = self.inner.storage.read()?;
        let buf = ferrograd_storage::with_buffer!(&*guard, v, T => {
            T::into_buffer(ferrograd_storage::cpu::gather_contiguous(v, self.layout()))
        });
        Ok(Self::from_parts_unchecked(
            Storage::new(buf),
            Layout::contiguous(self.shape()),
        ))
    }

    /// Leaf hooks registered on this tensor (run before accumulation).
    pub(crate) fn leaf_hooks(inner: &TensorImpl) -> Vec<GradHook> {
        inner.meta.lock().hooks.clone()
    }

    pub(crate) fn from_impl(inner: Arc<TensorImpl>) -> Tensor {
        Tensor {
            inner: ManuallyDrop::new(inner),
        }
    }

    /// A new contiguous tensor of `f` applied to every element (of type `T`)
    /// of this one, outside the graph: the building block of elementwise
    /// ops. A small output reuses the memory of a dropped small tensor of
    /// the same dtype and size when this thread has one (see
    /// `small_outputs.rs`), so loops over small tensors do not allocate.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 4.0, 9.0, 16.0], &[2, 2])?;
    /// let roots = t.t()?.map_elements(|v: f32| v.sqrt())?;
    /// assert_eq!(roots.to_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
    /// assert!(roots.is_contiguous() && roots.grad_fn().is_none());
    /// assert!(t.map_elements(|v: i64| v).is_err()); // the elements are f32
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    #[inline]
    pub fn map_elements<T: Element, U: Element>(
        &self,
        f: impl Fn(T) -> U + Sync,
    ) -> Result<Tensor> {
        let guard = self.inner.storage.read()?;
        let src = guard
            .as_slice::<T>()
            .ok_or_else(|| self.dtype_error::<T>("map_elements"))?;
        let (numel, layout) = (self.numel(), self.layout());
        if numel <= crate::small_outputs::MAX_ELEMENTS {
            let pooled = crate::small_outputs::take_filled(U::DTYPE, numel, self.shape(), |b| {
                let out = b.as_mut_slice::<U>().expect("pooled by dtype");
                unary_map_into(src, layout, &f, out);
            });
            if let Some(out) = pooled {
                return Ok(Tensor::from_impl(out));
            }
        }
        let data = unary_map(src, layout, f);
        drop(guard);
        Ok(Tensor::from_kernel(data, self.shape()))
    }

    /// Borrows the storage for reading and hands the typed data of `T` to `f`
    /// together with the layout. Errors name both dtypes on a mismatch.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    /// assert_eq!(t.with_data(|d: &[f32], _layout| d.iter().sum::<f32>())?, 6.0);
    /// assert!(t.with_data(|_: &[i64], _| ()).is_err()); // wrong element type
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn with_data<T: Element, R>(&self, f: impl FnOnce(&[T], &Layout) -> R) -> Result<R> {
        let guard = self.inner.storage.read()?;
        let data = guard
            .as_slice::<T>()
            .ok_or_else(|| self.dtype_error::<T>("with_data"))?;
        Ok(f(data, self.layout()))
    }

    /// The error for asking for elements of type `T` from this tensor.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let e = Tensor::from_vec(vec![1i32], &[1])?.dtype_error::<f32>("my_op");
    /// assert!(e.to_string().starts_with("my_op: expected dtype float32 but got int32."));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn dtype_error<T: Element>(&self, op: &'static str) -> Error {
        Error::DTypeMismatch {
            op,
            expected: T::DTYPE,
            got: self.dtype(),
            hint: format!(
                "Convert the tensor first with .to_dtype(DType::{:?}), or ask for the element type that matches {}.",
                T::DTYPE,
                self.dtype()
            ),
        }
    }

    /// The elements in row-major order.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1i64, 2, 3, 4], &[2, 2])?;
    /// assert_eq!(t.transpose(0, 1)?.to_vec::<i64>()?, vec![1, 3, 2, 4]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() {
            let host = crate::cuda::download(self)?;
            return T::slice(&host)
                .map(<[T]>::to_vec)
                .ok_or_else(|| self.dtype_error::<T>("to_vec"));
        }
        self.with_data(|d: &[T], l| ferrograd_storage::cpu::gather_contiguous(d, l))
    }

    /// The value of a one-element tensor of any rank.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// assert_eq!(Tensor::from_vec(vec![7i64], &[1, 1])?.item::<i64>()?, 7);
    /// let e = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?.item::<f32>().unwrap_err();
    /// assert_eq!(e.to_string(), "a Tensor with 3 elements cannot be converted to Scalar");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn item<T: Element>(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(Error::NotAScalar {
                numel: self.numel(),
            });
        }
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() {
            return Ok(self.to_vec::<T>()?[0]);
        }
        self.with_data(|d: &[T], l| d[l.offset()])
    }
}

// SAFETY-free compile-time check that the handle can cross threads.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tensor>();
};
