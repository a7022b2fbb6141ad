//! `index_select` and `index_add` on a GPU: the indices are checked on the
//! host (PyTorch's out-of-range error) and uploaded; slices are picked by a
//! gather kernel, and summed back by its adjoint — each recorded as the
//! other's backward, so gradients can be differentiated again.

use super::wrap;
use crate::indexing::checked_index;
use ferrograd_autograd::Tensor;
use ferrograd_cuda::{self as gpu, Picks};
use ferrograd_storage::{Device, Result};

/// The extents of picking `picks` slices along `d` of `shape`.
fn extents(shape: &[usize], d: usize, picks: usize) -> Picks {
    Picks {
        outer: shape[..d].iter().product(),
        rows: shape[d],
        picks,
        inner: shape[d + 1..].iter().product(),
    }
}

/// The indices checked against a dim of `size`, as an `int64` vector on `device`.
fn checked_on(index: &Tensor, d: usize, size: usize, device: Device) -> Result<Tensor> {
    let values = index
        .to_vec::<i64>()?
        .into_iter()
        .map(|i| Ok(checked_index(i, d, size, false)? as i64))
        .collect::<Result<Vec<_>>>()?;
    let n = values.len();
    Tensor::from_vec(values, &[n])?.to_device(device)
}

/// `x.index_select(d, index)` for a GPU `x` of at least one dim and an
/// `int64` vector `index`.
pub(crate) fn index_select(x: &Tensor, d: usize, index: &Tensor) -> Result<Tensor> {
    let idx = checked_on(index, d, x.shape()[d], x.device())?;
    take(x, d, &idx)
}

/// `x.index_add(d, index, source)` for a GPU `x` (the shapes checked).
pub(crate) fn index_add(x: &Tensor, d: usize, index: &Tensor, source: &Tensor) -> Result<Tensor> {
    let idx = checked_on(index, d, x.shape()[d], x.device())?;
    x.try_add(&put_sum(source, d, &idx, x.shape()[d])?)
}

/// Slices `idx` (checked, on the device) of `x` along `d`; backward [`put_sum`].
fn take(x: &Tensor, d: usize, idx: &Tensor) -> Result<Tensor> {
    let p = extents(x.shape(), d, idx.numel());
    let xc = x.detach().contiguous()?;
    let out = gpu::take(
        (xc.storage(), xc.layout()),
        (idx.storage(), idx.layout()),
        p,
    )?;
    let mut shape = x.shape().to_vec();
    shape[d] = p.picks;
    let out = wrap(out, &shape)?;
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let (idx, rows) = (idx.clone(), p.rows);
    Ok(
        out.with_grad_fn("IndexSelectBackward0", &[x], &[], move |g| {
            Ok(vec![Some(put_sum(g, d, &idx, rows)?)])
        }),
    )
}

/// Slice `j` of `g` along `d` summed onto row `idx[j]` of `rows` zero
/// rows; backward [`take`].
fn put_sum(g: &Tensor, d: usize, idx: &Tensor, rows: usize) -> Result<Tensor> {
    let mut shape = g.shape().to_vec();
    let p = Picks {
        rows,
        ..extents(&shape, d, shape[d])
    };
    let gc = g.detach().contiguous()?;
    let out = gpu::put_sum(
        (gc.storage(), gc.layout()),
        (idx.storage(), idx.layout()),
        p,
    )?;
    shape[d] = rows;
    let out = wrap(out, &shape)?;
    if !Tensor::needs_grad(&[g]) {
        return Ok(out);
    }
    let idx = idx.clone();
    Ok(out.with_grad_fn("IndexAddBackward0", &[g], &[], move |gg| {
        Ok(vec![Some(take(gg, d, &idx)?)])
    }))
}
