//! `split`, `split_with_sizes`, `chunk` and `unbind`: views (narrow or
//! select) of consecutive pieces along one dim, each differentiable.

use ferrograd_autograd::Tensor;
use ferrograd_storage::{normalize_dim, Error, Result};

/// The size of `dim` of `x`, or the dim error.
fn dim_size(x: &Tensor, dim: isize) -> Result<(usize, usize)> {
    if x.dim() == 0 {
        return Err(Error::invalid(
            "split",
            "split expects at least a 1-dimensional tensor; reshape it to [1] first",
        ));
    }
    let d = normalize_dim(dim, x.dim())?;
    Ok((d, x.shape()[d]))
}

/// Consecutive narrows of `dim` with the given sizes.
fn narrows(x: &Tensor, d: usize, sizes: impl IntoIterator<Item = usize>) -> Result<Vec<Tensor>> {
    let mut start = 0;
    sizes
        .into_iter()
        .map(|len| {
            let piece = x.narrow(d as isize, start as isize, len);
            start += len;
            piece
        })
        .collect()
}

/// `x.split(split_size, dim)`: pieces of `split_size` (the last may be smaller).
pub(crate) fn split(x: &Tensor, split_size: usize, dim: isize) -> Result<Vec<Tensor>> {
    let (d, n) = dim_size(x, dim)?;
    if split_size == 0 {
        if n != 0 {
            return Err(Error::invalid(
                "split",
                format!("split_size can only be 0 if dimension size is 0, but got dimension size of {n}"),
            ));
        }
        return narrows(x, d, [0]);
    }
    let pieces = n.div_ceil(split_size).max(1);
    narrows(
        x,
        d,
        (0..pieces).map(|i| split_size.min(n - i * split_size)),
    )
}

/// `x.split_with_sizes(sizes, dim)`: pieces of exactly these sizes.
pub(crate) fn split_with_sizes(x: &Tensor, sizes: &[usize], dim: isize) -> Result<Vec<Tensor>> {
    let (d, n) = dim_size(x, dim)?;
    if sizes.iter().sum::<usize>() != n {
        return Err(Error::invalid(
            "split_with_sizes",
            format!("split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension {d}), but got split_sizes={sizes:?}"),
        ));
    }
    narrows(x, d, sizes.iter().copied())
}

/// `x.chunk(chunks, dim)`: at most `chunks` pieces of `ceil(n / chunks)`.
pub(crate) fn chunk(x: &Tensor, chunks: usize, dim: isize) -> Result<Vec<Tensor>> {
    if chunks == 0 {
        return Err(Error::invalid(
            "chunk",
            "chunk expects `chunks` to be greater than 0, got: 0",
        ));
    }
    let (d, n) = dim_size(x, dim)?;
    if n == 0 {
        return narrows(x, d, std::iter::repeat_n(0, chunks));
    }
    split(x, n.div_ceil(chunks), dim)
}

/// `x.unbind(dim)`: every slice along `dim`, the dim removed.
pub(crate) fn unbind(x: &Tensor, dim: isize) -> Result<Vec<Tensor>> {
    let (d, n) = dim_size(x, dim)?;
    (0..n).map(|i| x.select(d as isize, i as isize)).collect()
}
