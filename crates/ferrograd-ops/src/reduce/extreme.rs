//! max / min / amax / amin / argmax / argmin: the kernels (NaN wins, the
//! first of equal extremes gives the index, as in PyTorch's CPU kernels) and
//! the backward rules — to the index for `max(dim)`, split evenly among ties
//! for `max()` and `amax`.

use super::dims::{kept_shape, reduced_shape, restore_dims, with_rows, Lines, Rows};
use crate::compare::CompareOps;
use ferrograd_autograd::{SavedTensor, Tensor};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{with_dtype, DType, Element, Error, Result};
use rayon::prelude::*;

/// Which extreme a reduction looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extreme {
    Max,
    Min,
}

impl Extreme {
    fn name(self) -> &'static str {
        match self {
            Extreme::Max => "max",
            Extreme::Min => "min",
        }
    }
}

/// Independent running extremes in a row: vectorisable compare-and-select.
const LANES: usize = 16;
/// Elements per task when one long row is split across threads.
const SPLIT: usize = 1 << 16;

#[inline(always)]
fn is_nan<T: PartialOrd>(v: T) -> bool {
    v.partial_cmp(&v).is_none()
}

/// True when `v` replaces `best`: it is further out, or NaN.
#[inline(always)]
fn beats<T: PartialOrd + Copy, const MAX: bool>(v: T, best: T) -> bool {
    (if MAX { v > best } else { v < best }) || is_nan(v)
}

/// The extreme of a non-empty run (inlined into the dispatching copies below).
#[inline(always)]
fn run_extreme<T: Element, const MAX: bool>(run: &[T]) -> T {
    let mut lanes = [run[0]; LANES];
    let chunks = run.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in lanes.iter_mut().zip(chunk) {
            if beats::<T, MAX>(v, *a) {
                *a = v;
            }
        }
    }
    let best = tail
        .iter()
        .fold(lanes[0], |a, &v| if beats::<T, MAX>(v, a) { v } else { a });
    lanes
        .iter()
        .fold(best, |a, &v| if beats::<T, MAX>(v, a) { v } else { a })
}

ferrograd_storage::simd_loop! {
    /// The maximum of a non-empty run, compiled for AVX2 when the CPU has it.
    fn run_max<T>(run: &[T]) -> T where T: Element {
        run_extreme::<T, true>(run)
    }
}

ferrograd_storage::simd_loop! {
    /// The minimum of a non-empty run, compiled for AVX2 when the CPU has it.
    fn run_min<T>(run: &[T]) -> T where T: Element {
        run_extreme::<T, false>(run)
    }
}

/// The extreme of a non-empty run through the dispatching copies.
fn run_extreme_dispatched<T: Element, const MAX: bool>(run: &[T]) -> T {
    if MAX {
        run_max(run)
    } else {
        run_min(run)
    }
}

/// The extreme of a non-empty row, split across threads when long.
fn row_extreme<T: Element, const MAX: bool>(row: &[T]) -> T {
    if row.len() < PARALLEL_THRESHOLD {
        return run_extreme_dispatched::<T, MAX>(row);
    }
    let parts: Vec<T> = row
        .par_chunks(SPLIT)
        .map(run_extreme_dispatched::<T, MAX>)
        .collect();
    run_extreme_dispatched::<T, MAX>(&parts)
}

/// The index of the first element equal to `value` (the first NaN if NaN).
fn first_index<T: Element>(row: &[T], value: T) -> i64 {
    let nan = is_nan(value);
    row.iter()
        .position(|&v| v == value || (nan && is_nan(v)))
        .unwrap_or(0) as i64
}

fn extreme_values<T: Element>(rows: Rows<'_, T>, which: Extreme) -> Vec<T> {
    match which {
        Extreme::Max => rows.map(row_extreme::<T, true>),
        Extreme::Min => rows.map(row_extreme::<T, false>),
    }
}

/// The extreme of each (non-empty) row and the index of its first occurrence.
fn extreme_indices<T: Element>(rows: Rows<'_, T>, which: Extreme) -> (Vec<T>, Vec<i64>) {
    rows.map(|row| {
        let v = match which {
            Extreme::Max => row_extreme::<T, true>(row),
            Extreme::Min => row_extreme::<T, false>(row),
        };
        (v, first_index(row, v))
    })
    .into_iter()
    .unzip()
}

/// PyTorch's error for reducing an empty tensor over every dim.
fn empty_all(op: &str) -> Error {
    Error::invalid(
        "reduction",
        format!("{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument."),
    )
}

/// Errors if any of `dims` has size 0 (an extreme of nothing is undefined).
fn check_nonempty(op: &str, x: &Tensor, dims: &[usize]) -> Result<()> {
    if let Some(&d) = dims.iter().find(|&&d| x.shape()[d] == 0) {
        return Err(Error::invalid(
            "reduction",
            format!("{op}(): Expected reduction dim {d} to have non-zero size."),
        ));
    }
    Ok(())
}

/// Extreme values over `dims` (sorted), with `keepdim`, no graph.
fn values_forward(x: &Tensor, dims: &[usize], keepdim: bool, which: Extreme) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        return Ok(crate::cuda::reduce::extreme(x, dims, keepdim, which == Extreme::Max)?.0);
    }
    let shape = reduced_shape(x.shape(), dims, keepdim);
    with_dtype!(x.dtype(), T => {
        let v = with_rows(x, dims, |r: Rows<'_, T>| extreme_values(r, which))?;
        Tensor::from_vec(v, &shape)
    })
}

/// `g` spread evenly over the elements of `x` equal to `out` (the reduced
/// result) along `dims`: the gradient of `max()`, `amax` and the inf-norms.
pub(crate) fn evenly_backward(
    g: &Tensor,
    x: &Tensor,
    out: &Tensor,
    dims: &[usize],
) -> Result<Tensor> {
    let shape = kept_shape(x.shape(), dims);
    let out = restore_dims(&out.detach(), &shape)?;
    let mask = equal_mask(&x.detach(), &out)?;
    let count = mask.sum_dims(&dims.iter().map(|&d| d as isize).collect::<Vec<_>>(), true)?;
    restore_dims(g, &shape)?.try_mul(&mask.try_div(&count)?)
}

/// 1 where `x` equals `out` (broadcast), else 0, in `x`'s dtype.
fn equal_mask(x: &Tensor, out: &Tensor) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        return crate::cuda::reduce::eq_mask(x, out);
    }
    x.eq(out)?.to_dtype(x.dtype())
}

/// `max()` / `min()`, and `amax` / `amin` over `dims`.
pub(crate) fn extreme_reduce(
    x: &Tensor,
    dims: &[usize],
    keepdim: bool,
    which: Extreme,
    all: bool,
) -> Result<Tensor> {
    let op = match (which, all) {
        (_, true) => which.name(),
        (Extreme::Max, false) => "amax",
        (Extreme::Min, false) => "amin",
    };
    if x.numel() == 0 && (all || dims.len() == x.dim()) {
        return Err(empty_all(op));
    }
    check_nonempty(op, x, dims)?;
    let out = values_forward(x, dims, keepdim, which)?;
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let node = match (which, all) {
        (Extreme::Max, true) => "MaxBackward1",
        (Extreme::Min, true) => "MinBackward1",
        (Extreme::Max, false) => "AmaxBackward0",
        (Extreme::Min, false) => "AminBackward0",
    };
    let (sx, so) = (SavedTensor::input(x), SavedTensor::output(&out));
    let dims = dims.to_vec();
    Ok(out.with_grad_fn(node, &[x], &[&sx, &so], {
        let (sx, so) = (sx.clone(), so.clone());
        move |g| {
            Ok(vec![Some(evenly_backward(
                g,
                &sx.unpack()?,
                &so.unpack()?,
                &dims,
            )?)])
        }
    }))
}

/// `(values, indices)` of the extremes over `dims` (no graph), shaped `shape`.
fn indexed_forward(
    x: &Tensor,
    dims: &[usize],
    shape: &[usize],
    which: Extreme,
) -> Result<(Tensor, Tensor)> {
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        let (v, i) = crate::cuda::reduce::extreme(x, dims, true, which == Extreme::Max)?;
        return Ok((restore_dims(&v, shape)?, restore_dims(&i, shape)?));
    }
    Ok(with_dtype!(x.dtype(), T => {
        let (v, i) = with_rows(x, dims, |r: Rows<'_, T>| extreme_indices(r, which))?;
        (Tensor::from_vec(v, shape)?, Tensor::from_vec(i, shape)?)
    }))
}

/// `(values, indices)` of the extreme along `dim`.
pub(crate) fn extreme_dim(
    x: &Tensor,
    dim: usize,
    keepdim: bool,
    which: Extreme,
) -> Result<(Tensor, Tensor)> {
    let dims = [dim];
    if x.dim() > 0 {
        check_nonempty(which.name(), x, &dims)?;
    }
    let dims: &[usize] = if x.dim() == 0 { &[] } else { &dims };
    let shape = reduced_shape(x.shape(), dims, keepdim);
    let (values, indices) = indexed_forward(x, dims, &shape, which)?;
    if !Tensor::needs_grad(&[x]) {
        return Ok((values, indices));
    }
    let node = match which {
        Extreme::Max => "MaxBackward0",
        Extreme::Min => "MinBackward0",
    };
    let input_shape = x.shape().to_vec();
    let (idx, dtype) = (indices.clone(), x.dtype());
    let values = values.with_grad_fn(node, &[x], &[], move |g| {
        let kept = if input_shape.is_empty() {
            vec![]
        } else {
            kept_shape(&input_shape, &[dim])
        };
        let hot = one_hot_along(&restore_dims(&idx, &kept)?, &input_shape, dim, dtype)?;
        Ok(vec![Some(restore_dims(g, &kept)?.try_mul(&hot)?)])
    });
    Ok((values, indices))
}

/// A tensor of `shape` and `dtype` holding 1 where the position along `dim`
/// equals `indices` (shaped like `shape` with `dim` of size 1), else 0: the
/// constant that routes a gradient to the selected elements.
pub(crate) fn one_hot_along(
    indices: &Tensor,
    shape: &[usize],
    dim: usize,
    dtype: DType,
) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if indices.device().is_cuda() {
        return crate::cuda::reduce::one_hot_along(indices, shape, dim, dtype);
    }
    let lines = Lines::around(shape, dim);
    let idx = indices.contiguous()?.to_vec::<i64>()?;
    with_dtype!(dtype, T => {
        let (one, zero) = (T::from_f64(1.0), T::from_f64(0.0));
        let mut out = Vec::with_capacity(lines.outer * lines.n * lines.inner);
        for o in 0..lines.outer {
            let row = &idx[o * lines.inner..(o + 1) * lines.inner];
            for j in 0..lines.n as i64 {
                out.extend(row.iter().map(|&i| if i == j { one } else { zero }));
            }
        }
        Tensor::from_vec(out, shape)
    })
}

/// `argmax` / `argmin` along `dim`, or over the flattened tensor.
pub(crate) fn arg_extreme(
    x: &Tensor,
    dim: Option<usize>,
    keepdim: bool,
    which: Extreme,
) -> Result<Tensor> {
    let op = match which {
        Extreme::Max => "argmax",
        Extreme::Min => "argmin",
    };
    let (dims, shape): (Vec<usize>, Vec<usize>) = match dim {
        Some(d) if x.dim() > 0 => (vec![d], reduced_shape(x.shape(), &[d], keepdim)),
        Some(_) => (vec![], vec![]),
        None => {
            if x.numel() == 0 {
                return Err(empty_all(op));
            }
            let all: Vec<usize> = (0..x.dim()).collect();
            (all.clone(), reduced_shape(x.shape(), &all, keepdim))
        }
    };
    if dim.is_some() {
        check_nonempty(op, x, &dims)?;
    }
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        return Ok(indexed_forward(x, &dims, &shape, which)?.1);
    }
    let indices = with_dtype!(x.dtype(), T => {
        with_rows(x, &dims, |r: Rows<'_, T>| extreme_indices(r, which).1)?
    });
    Tensor::from_vec(indices, &shape)
}
