//! Dim arguments and data arrangement shared by the reductions: checking
//! and sorting dim lists, the shape a reduction leaves, and handing a kernel
//! the input as contiguous rows (reduced dims innermost) or as lines along
//! one dim.

use ferrograd_autograd::Tensor;
use ferrograd_storage::cpu::{gather_contiguous, PARALLEL_THRESHOLD};
use ferrograd_storage::{normalize_dim, DType, Element, Error, Result};
use rayon::prelude::*;

/// Sorted, unique dims from possibly negative ones; empty means every dim.
pub(crate) fn reduction_dims(op: &'static str, dims: &[isize], ndim: usize) -> Result<Vec<usize>> {
    if dims.is_empty() {
        return Ok((0..ndim).collect());
    }
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = normalize_dim(d, ndim)?;
        if out.contains(&d) {
            return Err(Error::invalid(
                op,
                format!("dim {d} appears multiple times in the list of dims"),
            ));
        }
        out.push(d);
    }
    out.sort_unstable();
    // A 0-d tensor accepts dim 0 / -1, but has no dim to reduce.
    out.retain(|&d| d < ndim);
    Ok(out)
}

/// The shape after reducing `dims` of `shape`.
pub(crate) fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    (0..shape.len())
        .filter_map(|d| match (dims.contains(&d), keepdim) {
            (false, _) => Some(shape[d]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// `shape` with `dims` set to 1: where a reduced result broadcasts back.
pub(crate) fn kept_shape(shape: &[usize], dims: &[usize]) -> Vec<usize> {
    reduced_shape(shape, dims, true)
}

/// The number of elements each output of a reduction over `dims` folds.
pub(crate) fn reduced_len(shape: &[usize], dims: &[usize]) -> usize {
    dims.iter().map(|&d| shape[d]).product()
}

/// `t` reshaped to `shape`, the size-1 reduced dims restored (for backward
/// rules of reductions without keepdim).
pub(crate) fn restore_dims(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if t.shape() == shape {
        return Ok(t.clone());
    }
    t.reshape(&shape.iter().map(|&s| s as isize).collect::<Vec<_>>())
}

/// A tensor's elements as `outer` rows of `inner` elements each.
pub(crate) struct Rows<'a, T> {
    /// `outer * inner` elements, row-major.
    pub data: &'a [T],
    /// The number of rows (the product of the kept dims).
    pub outer: usize,
    /// The length of each row (the product of the reduced dims).
    pub inner: usize,
}

impl<T: Element> Rows<'_, T> {
    /// `f` of every row, in order (rows in parallel when large; empty rows
    /// when the reduced dims have size 0).
    pub fn map<U: Send>(&self, f: impl Fn(&[T]) -> U + Sync + Send) -> Vec<U> {
        if self.inner == 0 {
            return (0..self.outer).map(|_| f(&[])).collect();
        }
        if self.data.len() >= PARALLEL_THRESHOLD && self.outer > 1 {
            self.data.par_chunks(self.inner).map(f).collect()
        } else {
            self.data.chunks(self.inner).map(f).collect()
        }
    }
}

/// Runs `f` on the elements of `x` as rows: row-major over the kept dims,
/// the reduced `dims` innermost. Borrows the storage when it already has
/// that arrangement, gathers otherwise.
pub(crate) fn with_rows<T: Element, R>(
    x: &Tensor,
    dims: &[usize],
    f: impl FnOnce(Rows<'_, T>) -> R,
) -> Result<R> {
    let inner = reduced_len(x.shape(), dims);
    let outer = (0..x.dim())
        .filter(|d| !dims.contains(d))
        .map(|d| x.shape()[d])
        .product();
    let order: Vec<usize> = (0..x.dim())
        .filter(|d| !dims.contains(d))
        .chain(dims.iter().copied())
        .collect();
    let permuted = x.layout().permute(&order)?;
    x.with_data(|src: &[T], _| {
        let rows = |data| Rows { data, outer, inner };
        match permuted.contiguous_offset() {
            Some(start) => f(rows(&src[start..start + permuted.numel()])),
            None => f(rows(&gather_contiguous(src, &permuted))),
        }
    })
}

/// A contiguous tensor seen as `[outer, n, inner]` around one dim.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lines {
    /// Product of the dims before `dim`.
    pub outer: usize,
    /// The size of `dim`.
    pub n: usize,
    /// Product of the dims after `dim` (the stride of `dim`).
    pub inner: usize,
}

impl Lines {
    /// The `[outer, n, inner]` split of `shape` around `dim`.
    pub fn around(shape: &[usize], dim: usize) -> Lines {
        if shape.is_empty() {
            return Lines {
                outer: 1,
                n: 1,
                inner: 1,
            };
        }
        Lines {
            outer: shape[..dim].iter().product(),
            n: shape[dim],
            inner: shape[dim + 1..].iter().product(),
        }
    }
}

/// Runs `f(data, lines)` on the elements of `x` in row-major order (gathered
/// if `x` is not contiguous), split as `[outer, n, inner]` around `dim`.
pub(crate) fn with_lines<T: Element, R>(
    x: &Tensor,
    dim: usize,
    f: impl FnOnce(&[T], Lines) -> R,
) -> Result<R> {
    let lines = Lines::around(x.shape(), dim);
    x.with_data(|src: &[T], layout| match layout.contiguous_offset() {
        Some(start) => f(&src[start..start + layout.numel()], lines),
        None => f(&gather_contiguous(src, layout), lines),
    })
}

/// Runs `$body` with `$T` bound to `f32` or `f64` for a floating dtype, and
/// `$other` (an `Err`, typically) for any other dtype bound to `$d`.
macro_rules! with_float {
    ($dtype:expr, $T:ident => $body:expr, $d:ident => $other:expr) => {
        match $dtype {
            ferrograd_storage::DType::F32 => {
                type $T = f32;
                $body
            }
            ferrograd_storage::DType::F64 => {
                type $T = f64;
                $body
            }
            $d => $other,
        }
    };
}
pub(crate) use with_float;

/// The error for a float-only op given another dtype.
pub(crate) fn not_float(op: &'static str, dtype: DType) -> Error {
    Error::UnsupportedDType {
        op,
        dtype,
        hint: "It is defined for floating tensors only; convert the input with .float() or .double() first.".into(),
    }
}
