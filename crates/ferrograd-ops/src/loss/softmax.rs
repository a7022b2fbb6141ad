//! Fused softmax and log-softmax along a dim, forward and backward. A line
//! (the elements along the dim) is shifted by its max before `exp`, so large
//! logits neither overflow nor give NaN. When the dim is innermost, each line
//! is a contiguous row; otherwise lines are walked as columns, vectorised
//! across the dims after it.

use crate::reduce::{with_float, with_lines, Lines};
use crate::unary::fast_math::FloatMath;
use crate::unary::UnaryOps;
use ferrograd_autograd::{is_grad_enabled, SavedTensor, Tensor};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{Error, FloatElement, Result};
use rayon::prelude::*;

/// Softmax or its logarithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Softmax,
    LogSoftmax,
}

/// `e^v` in the kernels: the vectorisable polynomial for `f32`.
#[inline(always)]
pub(crate) fn exp<T: FloatMath>(v: T) -> T {
    v.exp_k()
}

/// Independent accumulators in the row loops: vectorisable max and sum.
const LANES: usize = 16;

/// The max of a row (NaN-free rows; a NaN propagates through `exp` anyway),
/// `-inf` for an empty one.
#[inline(always)]
pub(crate) fn row_max<T: FloatElement>(row: &[T]) -> T {
    let mut lanes = [T::neg_infinity(); LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in lanes.iter_mut().zip(chunk) {
            if v > *a {
                *a = v;
            }
        }
    }
    lanes
        .iter()
        .chain(tail)
        .fold(T::neg_infinity(), |a, &v| if v > a { v } else { a })
}

/// `Σ f(v)` over a row in `LANES` independent accumulators (the lanes
/// added in order, then the tail).
#[inline(always)]
fn lane_sum_by<T: FloatElement>(row: &[T], f: impl Fn(T) -> T) -> T {
    let mut lanes = [T::zero(); LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in lanes.iter_mut().zip(chunk) {
            *a = *a + f(v);
        }
    }
    let s = lanes.iter().fold(T::zero(), |s, &v| s + v);
    tail.iter().fold(s, |s, &v| s + f(v))
}

ferrograd_storage::simd_loop! {
    /// `log Σ e^v` over a row, shifted by its max, compiled for AVX2 when
    /// the CPU has it.
    pub(crate) fn row_logsumexp<T>(row: &[T]) -> T where T: FloatMath {
        let m = row_max(row);
        m + lane_sum_by(row, |v| exp(v - m)).ln()
    }
}

ferrograd_storage::simd_loop! {
    /// Softmax / log-softmax of one contiguous row into `out` (which holds
    /// the shifted exponentials first), compiled for AVX2 when the CPU has it.
    fn row_forward<T>(row: &[T], out: &mut [T], kind: Kind) where T: FloatMath {
        let m = row_max(row);
        for (o, &v) in out.iter_mut().zip(row) {
            *o = exp(v - m);
        }
        let s = lane_sum_by(out, |v| v);
        match kind {
            Kind::Softmax => {
                let inv = T::one() / s;
                out.iter_mut().for_each(|o| *o = *o * inv);
            }
            Kind::LogSoftmax => {
                let lse = m + s.ln();
                for (o, &v) in out.iter_mut().zip(row) {
                    *o = v - lse;
                }
            }
        }
    }
}

/// Softmax / log-softmax of one `[n, inner]` block along its first dim.
fn column_forward<T: FloatMath>(block: &[T], out: &mut [T], inner: usize, kind: Kind) {
    let mut m = vec![T::neg_infinity(); inner];
    for line in block.chunks_exact(inner) {
        for (a, &v) in m.iter_mut().zip(line) {
            if v > *a {
                *a = v;
            }
        }
    }
    let mut s = vec![T::zero(); inner];
    for (line, o) in block.chunks_exact(inner).zip(out.chunks_exact_mut(inner)) {
        for (((o, &v), s), &m) in o.iter_mut().zip(line).zip(&mut s).zip(&m) {
            let e = exp(v - m);
            *o = e;
            *s = *s + e;
        }
    }
    match kind {
        Kind::Softmax => {
            let inv: Vec<T> = s.iter().map(|&s| T::one() / s).collect();
            for o in out.chunks_exact_mut(inner) {
                o.iter_mut().zip(&inv).for_each(|(o, &i)| *o = *o * i);
            }
        }
        Kind::LogSoftmax => {
            let lse: Vec<T> = m.iter().zip(&s).map(|(&m, &s)| m + s.ln()).collect();
            for (line, o) in block.chunks_exact(inner).zip(out.chunks_exact_mut(inner)) {
                for ((o, &v), &l) in o.iter_mut().zip(line).zip(&lse) {
                    *o = v - l;
                }
            }
        }
    }
}

/// Runs `f(input block, output block)` over the `[n, inner]` blocks of
/// `data`, in parallel when large.
pub(crate) fn for_blocks<T: FloatMath>(
    data: &[T],
    l: Lines,
    f: impl Fn(&[T], &mut [T]) + Sync + Send,
) -> Vec<T> {
    let mut out = vec![T::zero(); data.len()];
    let size = l.n * l.inner;
    if size == 0 {
        return out;
    }
    if data.len() >= PARALLEL_THRESHOLD && l.outer > 1 {
        out.par_chunks_mut(size)
            .zip(data.par_chunks(size))
            .for_each(|(o, d)| f(d, o));
    } else {
        out.chunks_mut(size)
            .zip(data.chunks(size))
            .for_each(|(o, d)| f(d, o));
    }
    out
}

/// Softmax / log-softmax of contiguous `data` split as `l`.
pub(crate) fn forward_kernel<T: FloatMath>(data: &[T], l: Lines, kind: Kind) -> Vec<T> {
    for_blocks(data, l, |block, out| {
        if l.inner == 1 {
            row_forward(block, out, kind);
        } else {
            column_forward(block, out, l.inner, kind);
        }
    })
}

/// The input gradient from the output `y` and its gradient `g`, one block:
/// softmax: `y (g - Σ g y)`; log-softmax: `g - e^y Σ g`.
fn block_backward<T: FloatMath>(y: &[T], g: &[T], out: &mut [T], inner: usize, kind: Kind) {
    let mut dot = vec![T::zero(); inner];
    for (yl, gl) in y.chunks_exact(inner).zip(g.chunks_exact(inner)) {
        for ((d, &y), &g) in dot.iter_mut().zip(yl).zip(gl) {
            *d = *d
                + match kind {
                    Kind::Softmax => g * y,
                    Kind::LogSoftmax => g,
                };
        }
    }
    for ((yl, gl), ol) in y
        .chunks_exact(inner)
        .zip(g.chunks_exact(inner))
        .zip(out.chunks_exact_mut(inner))
    {
        for (((o, &y), &g), &d) in ol.iter_mut().zip(yl).zip(gl).zip(&dot) {
            *o = match kind {
                Kind::Softmax => y * (g - d),
                Kind::LogSoftmax => g - exp(y) * d,
            };
        }
    }
}

/// [`block_backward`] for a contiguous row (the dim innermost).
fn row_backward<T: FloatMath>(y: &[T], g: &[T], out: &mut [T], kind: Kind) {
    match kind {
        Kind::Softmax => {
            let d = y.iter().zip(g).fold(T::zero(), |d, (&y, &g)| d + g * y);
            for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
                *o = y * (g - d);
            }
        }
        Kind::LogSoftmax => {
            let d = g.iter().fold(T::zero(), |d, &g| d + g);
            for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
                *o = g - exp(y) * d;
            }
        }
    }
}

/// The fused first-order backward over whole tensors.
fn backward_kernel(y: &Tensor, g: &Tensor, dim: usize, kind: Kind) -> Result<Tensor> {
    with_float!(y.dtype(), T => {
        let gv = g.to_dtype(y.dtype())?.contiguous()?.to_vec::<T>()?;
        let v = with_lines(y, dim, |yd: &[T], l| {
            let size = l.n * l.inner;
            let mut out = vec![T::default(); yd.len()];
            let run = |((o, y), g): ((&mut [T], &[T]), &[T])| {
                if l.inner == 1 {
                    row_backward(y, g, o, kind)
                } else {
                    block_backward(y, g, o, l.inner, kind)
                }
            };
            if size == 0 {
            } else if yd.len() >= PARALLEL_THRESHOLD {
                out.par_chunks_mut(size).zip(yd.par_chunks(size)).zip(gv.par_chunks(size)).for_each(run);
            } else {
                out.chunks_mut(size).zip(yd.chunks(size)).zip(gv.chunks(size)).for_each(run);
            }
            out
        })?;
        Tensor::from_vec(v, y.shape())
    }, d => Err(not_float_kernel(kind, d)))
}

/// The same gradient written with differentiable ops, for `create_graph`.
fn backward_composite(y: &Tensor, g: &Tensor, dim: usize, kind: Kind) -> Result<Tensor> {
    let d = [dim as isize];
    match kind {
        Kind::Softmax => y.try_mul(&g.try_sub(&g.try_mul(y)?.sum_dims(&d, true)?)?),
        Kind::LogSoftmax => g.try_sub(&y.exp()?.try_mul(&g.sum_dims(&d, true)?)?),
    }
}

/// PyTorch's error for softmax of a non-floating tensor.
pub(crate) fn not_float_kernel(kind: Kind, dtype: ferrograd_storage::DType) -> Error {
    let name = match kind {
        Kind::Softmax => "softmax",
        Kind::LogSoftmax => "log_softmax",
    };
    Error::UnsupportedDType {
        op: name,
        dtype,
        hint: format!(
            "\"{name}_lastdim_kernel_impl\" not implemented for '{}'. Convert the input with .float() first.",
            dtype.legacy_name()
        ),
    }
}

/// Softmax / log-softmax of `x` along `dim` (already normalised).
pub(crate) fn softmax(x: &Tensor, dim: usize, kind: Kind) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        return crate::cuda::loss::softmax(x, dim, kind);
    }
    let out = with_float!(x.dtype(), T => {
        let v = with_lines(x, dim, |d: &[T], l| forward_kernel(d, l, kind))?;
        Tensor::from_vec(v, x.shape())?
    }, d => return Err(not_float_kernel(kind, d)));
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let node = match kind {
        Kind::Softmax => "SoftmaxBackward0",
        Kind::LogSoftmax => "LogSoftmaxBackward0",
    };
    let so = SavedTensor::output(&out);
    Ok(out.with_grad_fn(node, &[x], &[&so], {
        let so = so.clone();
        move |g| {
            let y = so.unpack()?;
            Ok(vec![Some(if is_grad_enabled() {
                backward_composite(&y, g, dim, kind)?
            } else {
                backward_kernel(&y, g, dim, kind)?
            })])
        }
    }))
}
