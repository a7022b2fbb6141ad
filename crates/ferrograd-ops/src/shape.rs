//! Shape ops that move data: the free functions [`cat`] and [`stack`]
//! (inputs promote to one dtype, as in PyTorch), and [`ShapeOps`] —
//! `split`/`split_with_sizes`/`chunk`/`unbind` (views), `repeat`, `roll`
//! and `pad` (with [`PadMode`]). All differentiable. (Pure view ops —
//! reshape, permute, narrow, flip... — live on [`Tensor`] itself.)

mod cat;
mod pad;
mod repeat;
mod split;

use ferrograd_autograd::Tensor;
use ferrograd_storage::Result;
use std::borrow::Borrow;

pub use pad::PadMode;

/// `torch.cat(tensors, dim)`: the tensors joined along an existing `dim`.
/// Takes `&[Tensor]` or `&[&Tensor]`. Shapes must match except in `dim`;
/// dtypes promote (`i32` with `f32` gives `f32`); 1-d empty tensors are
/// skipped, as in PyTorch. The gradient splits back to each input.
///
/// ```
/// use ferrograd_ops::shape::cat;
/// use ferrograd_autograd::{DType, Tensor};
/// let a = Tensor::from_vec(vec![1i32, 2, 3, 4], &[2, 2])?;
/// let b = Tensor::from_vec(vec![0.5f32, 0.25], &[2, 1])?;
/// let c = cat(&[&a, &b], 1)?;
/// assert_eq!((c.shape(), c.dtype()), (&[2, 3][..], DType::F32));
/// assert_eq!(c.to_vec::<f32>()?, vec![1.0, 2.0, 0.5, 3.0, 4.0, 0.25]);
/// let e = cat(&[&a, &b], 0).unwrap_err();
/// assert!(e.to_string().contains(
///     "Sizes of tensors must match except in dimension 0. Expected size 2 but got size 1 for tensor number 1 in the list."));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn cat<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Result<Tensor> {
    cat::cat(tensors, dim)
}

/// `torch.stack(tensors, dim)`: equal-shaped tensors joined along a new
/// dim `dim` (`0..=ndim`, negative counts from the end). Dtypes promote.
///
/// ```
/// use ferrograd_ops::shape::stack;
/// use ferrograd_autograd::Tensor;
/// let a = Tensor::from_vec(vec![1i64, 2], &[2])?;
/// let b = Tensor::from_vec(vec![3i64, 4], &[2])?;
/// assert_eq!(stack(&[a.clone(), b.clone()], 0)?.to_vec::<i64>()?, vec![1, 2, 3, 4]);
/// assert_eq!(stack(&[a, b], -1)?.to_vec::<i64>()?, vec![1, 3, 2, 4]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn stack<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Result<Tensor> {
    cat::stack(tensors, dim)
}

/// Shape ops on [`Tensor`] that split, tile, shift or pad its data.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::arange(0, 6)?;
/// let parts = x.chunk(3, 0)?;
/// assert_eq!(parts[1].to_vec::<i64>()?, vec![2, 3]);
/// assert_eq!(x.roll(&[2], &[0])?.to_vec::<i64>()?, vec![4, 5, 0, 1, 2, 3]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait ShapeOps {
    /// Pieces of `split_size` along `dim` (the last may be shorter), as
    /// views (`torch.split` with an int).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::arange(0, 5)?;
    /// let parts = x.split(2, 0)?;
    /// assert_eq!(parts.len(), 3);
    /// assert_eq!(parts[2].to_vec::<i64>()?, vec![4]);
    /// assert!(parts[0].shares_storage(&x));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn split(&self, split_size: usize, dim: isize) -> Result<Vec<Tensor>>;

    /// Pieces of exactly `sizes` along `dim`, which must add up to its size
    /// (`torch.split` with a list).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::arange(0, 6)?.reshape(&[2, 3])?;
    /// let parts = x.split_with_sizes(&[1, 2], 1)?;
    /// assert_eq!(parts[1].to_vec::<i64>()?, vec![1, 2, 4, 5]);
    /// assert!(x.split_with_sizes(&[1, 1], 1).unwrap_err().to_string()
    ///     .contains("split_with_sizes expects split_sizes to sum exactly to 3"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn split_with_sizes(&self, sizes: &[usize], dim: isize) -> Result<Vec<Tensor>>;

    /// At most `chunks` views of `ceil(size / chunks)` along `dim`
    /// (`torch.chunk`; fewer when the size divides unevenly).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let sizes: Vec<usize> = Tensor::arange(0, 6)?.chunk(4, 0)?.iter().map(|c| c.numel()).collect();
    /// assert_eq!(sizes, vec![2, 2, 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn chunk(&self, chunks: usize, dim: isize) -> Result<Vec<Tensor>>;

    /// Every slice along `dim`, with the dim removed (`torch.unbind`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let rows = Tensor::arange(0, 6)?.reshape(&[3, 2])?.unbind(0)?;
    /// assert_eq!(rows.len(), 3);
    /// assert_eq!(rows[2].to_vec::<i64>()?, vec![4, 5]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn unbind(&self, dim: isize) -> Result<Vec<Tensor>>;

    /// The tensor tiled `repeats[i]` times along dim `i` (`Tensor.repeat`);
    /// more repeats than dims add leading dims. Always a copy.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1i64, 2], &[2])?;
    /// let r = x.repeat(&[2, 2])?;
    /// assert_eq!(r.shape(), &[2, 4]);
    /// assert_eq!(r.to_vec::<i64>()?, vec![1, 2, 1, 2, 1, 2, 1, 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn repeat(&self, repeats: &[usize]) -> Result<Tensor>;

    /// Circular shift: element `i` of dim `dims[k]` moves to `i + shifts[k]`
    /// (`torch.roll`). With no dims, the flattened tensor rolls by `shifts[0]`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::arange(0, 6)?.reshape(&[2, 3])?;
    /// assert_eq!(x.roll(&[1], &[])?.to_vec::<i64>()?, vec![5, 0, 1, 2, 3, 4]);
    /// assert_eq!(x.roll(&[-1], &[1])?.to_vec::<i64>()?, vec![1, 2, 0, 4, 5, 3]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn roll(&self, shifts: &[isize], dims: &[isize]) -> Result<Tensor>;

    /// `torch.nn.functional.pad`: `pad` lists `(before, after)` pairs for
    /// the last dims, last dim first (`[left, right, top, bottom]` pads the
    /// last two dims of an image). Constant mode pads any number of dims and
    /// negative pads crop; reflect, replicate and circular pad the last 1-3
    /// dims of a 2-5 dim input, as in PyTorch.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_ops::shape::PadMode;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f32, 1.0, 2.0], &[1, 3])?;
    /// assert_eq!(x.pad(&[1, 2], PadMode::constant(9.0))?.to_vec::<f32>()?, vec![9., 0., 1., 2., 9., 9.]);
    /// assert_eq!(x.pad(&[2, 1], PadMode::Reflect)?.to_vec::<f32>()?, vec![2., 1., 0., 1., 2., 1.]);
    /// assert_eq!(x.pad(&[1, 1], PadMode::Replicate)?.to_vec::<f32>()?, vec![0., 0., 1., 2., 2.]);
    /// assert_eq!(x.pad(&[1, 1], PadMode::Circular)?.to_vec::<f32>()?, vec![2., 0., 1., 2., 0.]);
    /// assert_eq!(x.pad(&[0, 0, 1, 0], PadMode::default())?.shape(), &[2, 3]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn pad(&self, pad: &[isize], mode: PadMode) -> Result<Tensor>;
}

impl ShapeOps for Tensor {
    fn split(&self, split_size: usize, dim: isize) -> Result<Vec<Tensor>> {
        split::split(self, split_size, dim)
    }
    fn split_with_sizes(&self, sizes: &[usize], dim: isize) -> Result<Vec<Tensor>> {
        split::split_with_sizes(self, sizes, dim)
    }
    fn chunk(&self, chunks: usize, dim: isize) -> Result<Vec<Tensor>> {
        split::chunk(self, chunks, dim)
    }
    fn unbind(&self, dim: isize) -> Result<Vec<Tensor>> {
        split::unbind(self, dim)
    }
    fn repeat(&self, repeats: &[usize]) -> Result<Tensor> {
        repeat::repeat(self, repeats)
    }
    fn roll(&self, shifts: &[isize], dims: &[isize]) -> Result<Tensor> {
        repeat::roll(self, shifts, dims)
    }
    fn pad(&self, pad: &[isize], mode: PadMode) -> Result<Tensor> {
        pad::pad(self, pad, mode)
    }
}
