//! Tensors as `ndarray` arrays and back, with PyTorch's `numpy()` rules.
//!
//! [`TensorNumpyExt`] adds to [`Tensor`]:
//! - [`numpy`](TensorNumpyExt::numpy): a zero-copy, read-only [`NumpyView`]
//!   of the tensor's memory with its real strides (negative ones included),
//!   in O(1);
//! - [`numpy_mut`](TensorNumpyExt::numpy_mut): a zero-copy [`NumpyViewMut`]
//!   whose writes bump the version counter, so a backward that saved the
//!   tensor fails instead of using the new values;
//! - [`to_ndarray`](TensorNumpyExt::to_ndarray) /
//!   [`numpy_force`](TensorNumpyExt::numpy_force): an owned copy that skips
//!   the rules (PyTorch's `numpy(force=True)`);
//! - [`to_vec2`](TensorNumpyExt::to_vec2) / [`to_vec3`](TensorNumpyExt::to_vec3):
//!   nested vectors.
//!
//! [`TensorFromNdarray`] builds tensors from arrays: `from_ndarray` takes the
//! array's buffer without copying, `from_ndarray_view` copies.
//!
//! # Which calls share memory
//!
//! | call | memory |
//! | --- | --- |
//! | `t.numpy()`, `t.numpy_mut()` | shared with `t` (and every view of `t`) |
//! | `t.to_ndarray()`, `t.numpy_force()`, `t.to_vec2()` | copied |
//! | `Tensor::from_ndarray(array)` | the array's buffer becomes the tensor's storage |
//! | `Tensor::from_ndarray_view(view)` | copied |
//!
//! PyTorch shares *live*: a NumPy array and its tensor may both be written at
//! any time. Here the memory is shared but access is serialized: a view
//! holds a borrow of the storage (shared for [`NumpyView`], exclusive for
//! [`NumpyViewMut`]). While a `NumpyView` lives, in-place ops on the tensor
//! (`add_`) fail with [`Error::StorageBorrowed`]; while a `NumpyViewMut`
//! lives, every op that reads the tensor fails the same way, and so does a
//! second view. Nothing blocks and nothing races. So `t.add_(1.0)` shows in
//! the next view of `t`, while `&t + 1.0` never does (it makes new storage).
//!
//! # The version counter and `numpy_mut`
//!
//! Dropping a [`NumpyViewMut`] bumps the tensor's version counter once,
//! whether or not anything was written. The drop is the moment the new
//! values become visible: no op can read the storage while the view lives,
//! so bumping at the drop invalidates every tensor saved for backward up to
//! that moment — including any saved while the view was alive, which a bump
//! at creation would miss.

use ferrograd_autograd::{is_grad_enabled, Element, Error, Layout, Result, Storage, Tensor};
use ferrograd_storage::{Device, OwnedReadGuard, OwnedWriteGuard};
use ndarray::{
    Array, ArrayD, ArrayView, ArrayViewD, ArrayViewMut, ArrayViewMutD, Axis, Dimension, IxDyn,
    ShapeBuilder, StrideShape,
};

/// A zero-copy, read-only `ndarray` view of a tensor's memory, from
/// [`TensorNumpyExt::numpy`]. It keeps the storage alive and holds a shared
/// borrow of it: in-place ops on the tensor fail until it is dropped.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::TensorNumpyExt;
/// let t = Tensor::from_vec(vec![1i64, 2, 3, 4, 5, 6], &[2, 3])?;
/// let a = t.slice(1, None, None, -1)?.numpy::<i64>()?; // t[:, ::-1]
/// assert_eq!(a.view().strides(), &[3, -1]);
/// assert_eq!(a.view(), ndarray::array![[3i64, 2, 1], [6, 5, 4]].into_dyn());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct NumpyView<T: Element> {
    // Declared before the guard so it is dropped first; it points into the
    // guarded buffer and is only handed out borrowed from `self`.
    array: ArrayViewD<'static, T>,
    _guard: OwnedReadGuard,
}

impl<T: Element> NumpyView<T> {
    /// The array, borrowed from this view.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let a = t.t()?.numpy::<f64>()?;
    /// assert_eq!((a.view().shape(), a.view()[[0, 1]]), (&[2, 2][..], 3.0));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn view(&self) -> ArrayViewD<'_, T> {
        self.array.view()
    }
}

impl<T: Element> std::fmt::Debug for NumpyView<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("NumpyView").field(&self.array).finish()
    }
}

/// A zero-copy, writable `ndarray` view of a tensor's memory, from
/// [`TensorNumpyExt::numpy_mut`]. It holds an exclusive borrow of the storage
/// (every other access to it fails until the view is dropped) and bumps the
/// version counter when dropped.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::TensorNumpyExt;
/// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
/// let v0 = t.version();
/// {
///     let mut a = t.numpy_mut::<f32>()?;
///     a.view_mut()[[1]] = 20.0;
///     assert!(t.to_vec::<f32>().is_err()); // borrowed while the view lives
/// }
/// assert_eq!(t.to_vec::<f32>()?, vec![1.0, 20.0, 3.0]);
/// assert_eq!(t.version(), v0 + 1);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct NumpyViewMut<T: Element> {
    // Dropped before the guard; only handed out borrowed from `self`.
    array: ArrayViewMutD<'static, T>,
    storage: Storage,
    _guard: OwnedWriteGuard,
}

impl<T: Element> NumpyViewMut<T> {
    /// The array for reading, borrowed from this view.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let t = Tensor::from_vec(vec![1u8, 2, 3], &[3])?;
    /// let a = t.numpy_mut::<u8>()?;
    /// assert_eq!(a.view().sum(), 6);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn view(&self) -> ArrayViewD<'_, T> {
        self.array.view()
    }

    /// The array for writing, borrowed from this view.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let t = Tensor::from_vec(vec![1i64, 2, 3, 4], &[2, 2])?;
    /// t.numpy_mut::<i64>()?.view_mut().index_axis_mut(ndarray::Axis(0), 1).fill(0);
    /// assert_eq!(t.to_vec::<i64>()?, vec![1, 2, 0, 0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        self.array.view_mut()
    }
}

impl<T: Element> Drop for NumpyViewMut<T> {
    fn drop(&mut self) {
        // Before the guard unlocks: no reader sees new values at the old version.
        self.storage.bump_version();
    }
}

impl<T: Element> std::fmt::Debug for NumpyViewMut<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("NumpyViewMut").field(&self.array).finish()
    }
}

/// NumPy conversions on [`Tensor`]. `use ferrograd::prelude::*` brings it in.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::TensorNumpyExt;
/// let t = Tensor::from_vec(vec![1i32, 2, 3, 4, 5, 6], &[2, 3])?;
/// assert_eq!(t.numpy::<i32>()?.view(), ndarray::array![[1, 2, 3], [4, 5, 6]].into_dyn());
/// assert_eq!(t.to_vec2::<i32>()?, vec![vec![1, 2, 3], vec![4, 5, 6]]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait TensorNumpyExt {
    /// A zero-copy read-only view (`tensor.numpy()`), checked in PyTorch's
    /// order: the tensor is on the CPU; it does not require grad while grad
    /// mode is on (allowed under `no_grad`); `T` is its element type.
    ///
    /// ```
    /// use ferrograd_autograd::{no_grad, Tensor};
    /// use ferrograd_interop::TensorNumpyExt;
    /// let w = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let e = w.numpy::<f32>().unwrap_err();
    /// assert_eq!(e.to_string(), "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
    /// assert_eq!(w.detach().numpy::<f32>()?.view().sum(), 3.0);
    /// let _g = no_grad();
    /// assert!(w.numpy::<f32>().is_ok());
    /// assert!(w.numpy::<f64>().unwrap_err().to_string().contains("expected dtype float64 but got float32"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn numpy<T: Element>(&self) -> Result<NumpyView<T>>;

    /// A zero-copy writable view. The rules of [`numpy`](Self::numpy), plus
    /// those of in-place ops, and no two elements may share memory (an
    /// expanded tensor is refused). Refused while any other view of the
    /// storage lives; dropping it bumps the version counter.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let t = Tensor::from_vec(vec![1i32, 2], &[2])?;
    /// let r = t.numpy::<i32>()?;
    /// assert!(t.numpy_mut::<i32>().is_err()); // a shared view is alive
    /// drop(r);
    /// t.numpy_mut::<i32>()?.view_mut().fill(7);
    /// assert_eq!(t.to_vec::<i32>()?, vec![7, 7]);
    /// assert!(t.expand(&[3, 2])?.numpy_mut::<i32>().is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn numpy_mut<T: Element>(&self) -> Result<NumpyViewMut<T>>;

    /// An owned row-major copy, whatever the tensor's device, grad or
    /// layout; `T` must still be its element type.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let t = Tensor::from_vec(vec![1u8, 2, 3, 4], &[2, 2])?;
    /// let a = t.t()?.to_ndarray::<u8>()?;
    /// assert_eq!(a, ndarray::array![[1u8, 3], [2, 4]].into_dyn());
    /// assert!(a.is_standard_layout());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>>;

    /// PyTorch's `numpy(force=True)`: detaches and copies, skipping the
    /// device and grad rules. The same as [`to_ndarray`](Self::to_ndarray).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let w = Tensor::from_vec(vec![0.5f64], &[1])?.requires_grad_(true)?;
    /// assert_eq!(w.numpy_force::<f64>()?[[0]], 0.5);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn numpy_force<T: Element>(&self) -> Result<ArrayD<T>> {
        self.to_ndarray()
    }

    /// The rows of a 2-D tensor.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let t = Tensor::from_vec(vec![1i64, 2, 3, 4, 5, 6], &[2, 3])?;
    /// assert_eq!(t.to_vec2::<i64>()?, vec![vec![1, 2, 3], vec![4, 5, 6]]);
    /// assert!(t.to_vec3::<i64>().is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn to_vec2<T: Element>(&self) -> Result<Vec<Vec<T>>>;

    /// The nested rows of a 3-D tensor.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorNumpyExt;
    /// let t = Tensor::from_vec(vec![1i32, 2, 3, 4], &[2, 1, 2])?;
    /// assert_eq!(t.to_vec3::<i32>()?, vec![vec![vec![1, 2]], vec![vec![3, 4]]]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn to_vec3<T: Element>(&self) -> Result<Vec<Vec<Vec<T>>>>;
}

/// The error for converting a tensor on `device` without a copy; `None` on the CPU.
#[inline]
pub(crate) fn device_error(device: Device) -> Option<Error> {
    device.is_cuda().then_some(Error::NumpyOnDevice { device })
}

/// PyTorch's rules for `numpy()`, in its order.
#[inline]
fn check_numpy_rules<T: Element>(t: &Tensor) -> Result<()> {
    if let Some(e) = device_error(t.device()) {
        return Err(e);
    }
    if is_grad_enabled() && t.requires_grad() {
        return Err(Error::Autograd(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
                .into(),
        ));
    }
    if t.dtype() != T::DTYPE {
        return Err(t.dtype_error::<T>("numpy"));
    }
    Ok(())
}

/// True if two different indices of `layout` may reach one storage element.
/// Sufficient test: sorted by stride, each stride exceeds the reach of all
/// smaller ones.
fn may_overlap(layout: &Layout) -> bool {
    let mut dims: Vec<(usize, usize)> = layout
        .shape()
        .iter()
        .zip(layout.strides())
        .filter(|(&n, _)| n > 1)
        .map(|(&n, &s)| (s.unsigned_abs(), n))
        .collect();
    dims.sort_unstable();
    let mut reach = 0usize;
    for (stride, n) in dims {
        if stride <= reach {
            return true;
        }
        reach += stride * (n - 1);
    }
    false
}

/// Flips the axes that have negative strides in `layout`.
fn restore_signs<S: ndarray::RawData>(a: &mut ndarray::ArrayBase<S, IxDyn>, layout: &Layout) {
    for (d, &s) in layout.strides().iter().enumerate() {
        if s < 0 {
            a.invert_axis(Axis(d));
        }
    }
}

fn out_of_bounds(layout: &Layout, len: usize) -> Error {
    Error::invalid(
        "numpy",
        format!(
            "layout {:?} with strides {:?} at offset {} reaches past the {len} elements of its storage",
            layout.shape(),
            layout.strides(),
            layout.offset()
        ),
    )
}

/// `layout` in the form ndarray's constructors take: shape with absolute
/// strides, starting from the lowest-addressed element, whose storage index
/// is returned too. Axes with negative strides are inverted afterwards by
/// [`restore_signs`]. Errors if the layout reaches past `len` elements.
fn ndarray_form(layout: &Layout, len: usize) -> Result<(StrideShape<IxDyn>, usize)> {
    const INLINE: usize = 8;
    let (shape, strides) = (layout.shape(), layout.strides());
    let (mut inline, mut heap) = ([0usize; INLINE], Vec::new());
    let abs = if shape.len() <= INLINE {
        &mut inline[..shape.len()]
    } else {
        heap.resize(shape.len(), 0);
        &mut heap[..]
    };
    // One pass: absolute strides, and the lowest and highest index reached.
    let (mut low, mut high) = (layout.offset() as isize, layout.offset() as isize);
    let mut empty = false;
    for ((a, &n), &s) in abs.iter_mut().zip(shape).zip(strides) {
        empty |= n == 0;
        *a = s.unsigned_abs();
        let reach = (n as isize - 1) * s;
        if reach < 0 {
            low += reach;
        } else {
            high += reach;
        }
    }
    if empty {
        abs.fill(0);
        return Ok((IxDyn(shape).strides(IxDyn(abs)), 0));
    }
    if high as usize >= len {
        return Err(out_of_bounds(layout, len));
    }
    Ok((IxDyn(shape).strides(IxDyn(abs)), low as usize))
}

fn rank_error(op: &'static str, want: usize, t: &Tensor) -> Error {
    Error::invalid(
        op,
        format!(
            "expected a {want}-D tensor but got a {}-D tensor of shape {:?}; reshape it first, or use to_vec() for any rank",
            t.dim(),
            t.shape()
        ),
    )
}

/// Splits `flat` into `rows` vectors of `cols` elements.
fn split_rows<T: Clone>(flat: &[T], rows: usize, cols: usize) -> Vec<Vec<T>> {
    (0..rows)
        .map(|r| flat[r * cols..(r + 1) * cols].to_vec())
        .collect()
}

impl TensorNumpyExt for Tensor {
    fn numpy<T: Element>(&self) -> Result<NumpyView<T>> {
        check_numpy_rules::<T>(self)?;
        let guard = self.storage().read_owned()?;
        let data = guard
            .as_slice::<T>()
            .ok_or_else(|| self.dtype_error::<T>("numpy"))?;
        let (shape, low) = ndarray_form(self.layout(), data.len())?;
        // SAFETY: `low` and the strides stay inside `data`. The view lives in
        // the returned struct beside the guard, which keeps the buffer alive,
        // unmoved and free of writers; it is only lent out borrowed.
        let mut array = unsafe { ArrayView::from_shape_ptr(shape, data.as_ptr().add(low)) };
        restore_signs(&mut array, self.layout());
        Ok(NumpyView {
            array,
            _guard: guard,
        })
    }

    fn numpy_mut<T: Element>(&self) -> Result<NumpyViewMut<T>> {
        check_numpy_rules::<T>(self)?;
        self.check_inplace()?;
        if may_overlap(self.layout()) {
            return Err(Error::invalid(
                "numpy_mut",
                format!(
                    "shape {:?} with strides {:?} makes elements share memory, so a writable view would alias itself. Write to a .contiguous() copy instead.",
                    self.shape(),
                    self.strides()
                ),
            ));
        }
        let mut guard = self.storage().write_owned()?;
        let data = guard
            .as_mut_slice::<T>()
            .ok_or_else(|| self.dtype_error::<T>("numpy_mut"))?;
        let (shape, low) = ndarray_form(self.layout(), data.len())?;
        // SAFETY: as in `numpy`; the guard is exclusive, and the layout's
        // elements are distinct, so the view never aliases.
        let mut array = unsafe { ArrayViewMut::from_shape_ptr(shape, data.as_mut_ptr().add(low)) };
        restore_signs(&mut array, self.layout());
        Ok(NumpyViewMut {
            array,
            storage: self.storage().clone(),
            _guard: guard,
        })
    }

    fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        let data = self.detach().to_vec::<T>()?;
        ArrayD::from_shape_vec(IxDyn(self.shape()), data)
            .map_err(|e| Error::invalid("to_ndarray", format!("ndarray refused the shape: {e}")))
    }

    fn to_vec2<T: Element>(&self) -> Result<Vec<Vec<T>>> {
        let &[rows, cols] = self.shape() else {
            return Err(rank_error("to_vec2", 2, self));
        };
        Ok(split_rows(&self.to_vec::<T>()?, rows, cols))
    }

    fn to_vec3<T: Element>(&self) -> Result<Vec<Vec<Vec<T>>>> {
        let &[planes, rows, cols] = self.shape() else {
            return Err(rank_error("to_vec3", 3, self));
        };
        let flat = self.to_vec::<T>()?;
        Ok((0..planes)
            .map(|p| split_rows(&flat[p * rows * cols..(p + 1) * rows * cols], rows, cols))
            .collect())
    }
}

/// Tensors from `ndarray` arrays. `use ferrograd::prelude::*` brings it in.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::{TensorFromNdarray, TensorNumpyExt};
/// let a = ndarray::Array::from_shape_vec((2, 2), vec![1.5f32, 2.5, 3.5, 4.5]).unwrap();
/// let t = Tensor::from_ndarray(a.clone())?;
/// assert_eq!((t.shape(), t.to_ndarray::<f32>()?), (&[2, 2][..], a.into_dyn()));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait TensorFromNdarray: Sized {
    /// Takes ownership of the array's buffer without copying, keeping its
    /// layout (any strides, negative ones too) and its dtype.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorFromNdarray;
    /// use ndarray::{array, s};
    /// let a = array![[1i64, 2, 3], [4, 5, 6]].slice_move(s![.., ..;-1]);
    /// let t = Tensor::from_ndarray(a)?;
    /// assert_eq!(t.strides(), &[3, -1]);
    /// assert_eq!(t.to_vec::<i64>()?, vec![3, 2, 1, 6, 5, 4]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn from_ndarray<T: Element, D: Dimension>(array: Array<T, D>) -> Result<Self>;

    /// Copies a borrowed array into a new row-major tensor of the same dtype.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::TensorFromNdarray;
    /// let a = ndarray::array![[1.0f32, 2.0], [3.0, 4.0]];
    /// let t = Tensor::from_ndarray_view(a.t())?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
    /// assert!(t.is_contiguous());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn from_ndarray_view<T: Element, D: Dimension>(array: ArrayView<'_, T, D>) -> Result<Self>;
}

impl TensorFromNdarray for Tensor {
    fn from_ndarray<T: Element, D: Dimension>(array: Array<T, D>) -> Result<Tensor> {
        let shape = array.shape().to_vec();
        let strides = array.strides().to_vec();
        let (data, offset) = array.into_raw_vec_and_offset();
        let layout = Layout::new(shape, strides, offset.unwrap_or(0));
        Tensor::from_parts(Storage::from_vec(data), layout)
    }

    fn from_ndarray_view<T: Element, D: Dimension>(array: ArrayView<'_, T, D>) -> Result<Tensor> {
        let data = match array.as_slice() {
            Some(s) => s.to_vec(),
            None => array.iter().copied().collect(),
        };
        Tensor::from_vec(data, array.shape())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_tensors_are_refused_with_pytorchs_message() {
        assert!(device_error(Device::Cpu).is_none());
        let e = device_error(Device::Cuda(0)).unwrap();
        assert_eq!(
            e.to_string(),
            "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first."
        );
    }

    #[test]
    fn overlap_test_matches_a_naive_count() {
        let cases = [
            (vec![3, 3], vec![3, 1], false),
            (vec![3, 3], vec![1, 1], true),
            (vec![2, 3], vec![0, 1], true),
            (vec![2, 3], vec![-3, -1], false),
            (vec![4, 1], vec![0, 0], true),
            (vec![1, 5], vec![0, 2], false),
            (vec![2, 2], vec![2, 3], false),
        ];
        for (shape, strides, want) in cases {
            let l = Layout::new(shape.clone(), strides.clone(), 10);
            let mut seen = std::collections::HashSet::new();
            let mut dup = false;
            l.for_each_offset(|o| dup |= !seen.insert(o));
            assert_eq!(dup, want, "{shape:?} {strides:?}");
            assert_eq!(may_overlap(&l), want, "{shape:?} {strides:?}");
        }
    }
}
