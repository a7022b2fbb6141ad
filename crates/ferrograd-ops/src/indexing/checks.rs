//! The checks every indexing op shares: index dtypes, index ranges, and
//! reading an index tensor as `i64`, with PyTorch's messages.

use ferrograd_autograd::Tensor;
use ferrograd_storage::cpu::gather_contiguous;
use ferrograd_storage::{DType, Error, Layout, Result};

/// `index` as an `i64` tensor outside the graph (`int32` is converted), or
/// `op`'s dtype error; `expected` names the dtypes as PyTorch does for `op`.
pub(crate) fn long_index(op: &'static str, expected: &str, index: &Tensor) -> Result<Tensor> {
    match index.dtype() {
        DType::I64 => Ok(index.detach()),
        DType::I32 => index.detach().to_dtype(DType::I64),
        got => Err(Error::invalid(
            op,
            format!("Expected dtype {expected} for index, but got {got}. Convert the index with .long()."),
        )),
    }
}

/// `index` wrapped into `0..size` when `wrap` allows negatives, else checked.
#[inline]
pub(crate) fn checked_index(index: i64, dim: usize, size: usize, wrap: bool) -> Result<usize> {
    let i = if wrap && index < 0 {
        index + size as i64
    } else {
        index
    };
    if i < 0 || i >= size as i64 {
        return Err(Error::IndexOutOfBounds {
            index: index as isize,
            dim,
            size,
        });
    }
    Ok(i as usize)
}

/// The values of an `i64` tensor broadcast to `shape`, row-major.
pub(crate) fn index_values(index: &Tensor, shape: &[usize]) -> Result<Vec<i64>> {
    let layout = index.layout().broadcast_to(shape)?;
    index.with_data(|d: &[i64], _| gather_contiguous(d, &layout))
}

/// Fails with the first index of `layout` over `data` outside `0..size`.
pub(crate) fn check_range(data: &[i64], layout: &Layout, dim: usize, size: usize) -> Result<()> {
    let mut bad = None;
    layout.for_each_offset(|o| {
        let i = data[o];
        if (i < 0 || i >= size as i64) && bad.is_none() {
            bad = Some(i);
        }
    });
    match bad {
        Some(i) => checked_index(i, dim, size, false).map(|_| ()),
        None => Ok(()),
    }
}

/// Errors unless `mask` is a bool tensor; `what` is PyTorch's sentence.
pub(crate) fn require_bool_mask(op: &'static str, mask: &Tensor, what: &str) -> Result<()> {
    if mask.dtype() == DType::Bool {
        return Ok(());
    }
    Err(Error::invalid(
        op,
        format!(
            "{what}, but got mask with dtype {}. Build masks with comparisons (x.gt(0.5)?) or convert with .bool().",
            mask.dtype()
        ),
    ))
}
