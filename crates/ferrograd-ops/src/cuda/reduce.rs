//! Max / min reductions on a GPU (values, and the index of the first
//! extreme), and the constant masks their backward rules multiply by: where
//! an input equals its reduced extreme, and one-hot routes to an index.

use super::wrap;
use crate::reduce::{reduced_shape, Lines};
use ferrograd_autograd::Tensor;
use ferrograd_cuda::{self as gpu, BinaryOp, OneHotDims};
use ferrograd_storage::{DType, Result};

/// `(values, indices)` of the maxima (`max`) or minima of `x` over `dims`
/// (sorted, none of size 0), shaped with `keepdim`; no graph. The indices
/// are flat over the reduced dims.
pub(crate) fn extreme(
    x: &Tensor,
    dims: &[usize],
    keepdim: bool,
    max: bool,
) -> Result<(Tensor, Tensor)> {
    let (values, indices) = gpu::extreme_dims((x.storage(), x.layout()), dims, max)?;
    let shape = reduced_shape(x.shape(), dims, keepdim);
    Ok((wrap(values, &shape)?, wrap(indices, &shape)?))
}

/// 1 where `a` equals `b` (broadcast to `a`'s shape), else 0, in `a`'s
/// dtype; a constant (no graph).
pub(crate) fn eq_mask(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let b = b.detach().to_dtype(a.dtype())?;
    let lb = b.layout().broadcast_to(a.shape())?;
    let out = gpu::binary(BinaryOp::Eq, (a.storage(), a.layout()), (b.storage(), &lb))?;
    wrap(out, a.shape())
}

/// A tensor of `shape` and `dtype` holding 1 where the position along `dim`
/// equals `indices` (shaped like `shape` with `dim` of size 1), else 0.
pub(crate) fn one_hot_along(
    indices: &Tensor,
    shape: &[usize],
    dim: usize,
    dtype: DType,
) -> Result<Tensor> {
    let l = Lines::around(shape, dim);
    one_hot(indices, l, dtype, i64::MIN, shape)
}

/// The one-hot of `indices` (`[outer, inner]` in row-major order) as
/// `[outer, n, inner]`, reshaped to `shape`; `ignore` gives a zero row.
pub(crate) fn one_hot(
    indices: &Tensor,
    l: Lines,
    dtype: DType,
    ignore: i64,
    shape: &[usize],
) -> Result<Tensor> {
    let dims = OneHotDims {
        outer: l.outer,
        classes: l.n,
        inner: l.inner,
    };
    let out = gpu::one_hot((indices.storage(), indices.layout()), dims, dtype, ignore)?;
    wrap(out, shape)
}
