//! Fused softmax and log-softmax along a dim, forward and backward. A line
//! (the elements along the dim) is shifted by its max before `exp`, so large
//! logits neither overflow nor give NaN. When the dim is innermost, each line
//! is a contiguous row; otherwise lines are walked as columns, vectorised
//! across the dims after it.

use crate::reduce::{with_float, with_lines, Lines};
use crate::unary::fast_math::FloatMath;
use crate::unary::UnaryOps;
use ferrograd_autograd::{is_grad_enabled, SavedTensor, Tensor};
use ferrograd_storage::cpu::fresh_vec;
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{Element, Error, FloatElement, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Softmax or its logarithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Softmax,
    LogSoftmax,
}

/// `e^v` in the kernels: the vectorisable polynomial for `f32`, with fused
/// multiply-adds. Call it only inside `simd_loop!` kernels, with plain
/// loops around it (a closure handed to an iterator adaptor may stay out of
/// line, compiled without FMA): elsewhere each fused multiply-add is a libm
/// call.
#[inline(always)]
pub(crate) fn exp<T: FloatMath>(v: T) -> T {
    v.exp_fused_k()
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

/// Elements whose exponentials a row log-sum-exp adds in `T` (in
/// [`LANES`] accumulators) before carrying the sum on in `f64`: a long
/// `f32` row then loses no more than a short one.
const LSE_BLOCK: usize = 4096;

ferrograd_storage::simd_loop! {
    /// `log Σ e^v` over a row as `torch.logsumexp` computes it, compiled for
    /// AVX2 when the CPU has it: shifted by the row's max, or by 0 when that
    /// max is infinite, so a row of `-inf` (or an empty one) gives `-inf`,
    /// one holding `+inf` gives `+inf`, and a NaN gives NaN.
    pub(crate) fn row_logsumexp_keeping_infs<T>(row: &[T]) -> T where T: FloatMath {
        let m = row_max(row);
        let shift = if m.is_infinite() { T::zero() } else { m };
        // A plain loop, not `.map(..).sum()`: `Iterator::fold` was not
        // inlined here, so the exponentials ran in a copy of the loop
        // compiled without AVX2 (90% of a cross-entropy forward).
        let mut s = 0.0f64;
        for block in row.chunks(LSE_BLOCK) {
            s += Element::to_f64(lane_sum_by(block, |v| exp(v - shift)));
        }
        shift + T::from_f64(s).ln()
    }
}

/// `log Σ e^v` over a row as log-softmax shifts it: that of
/// [`row_logsumexp_keeping_infs`], but NaN when a non-empty row's max is
/// infinite (`e^(v - m)` is NaN there), as PyTorch's `log_softmax` and so
/// `cross_entropy` give. The two differ only then: a finite max gives a
/// finite sum.
#[inline]
pub(crate) fn row_logsumexp<T: FloatMath>(row: &[T]) -> T {
    let lse = row_logsumexp_keeping_infs(row);
    if lse.is_infinite() && !row.is_empty() {
        T::nan()
    } else {
        lse
    }
}

ferrograd_storage::simd_loop! {
    /// Softmax / log-softmax of one contiguous row into `out` (which holds
    /// the shifted exponentials first: its old contents are never read),
    /// compiled for AVX2 when the CPU has it.
    fn row_forward<T>(row: &[T], out: &mut [MaybeUninit<T>], kind: Kind) where T: FloatMath {
        assert_eq!(out.len(), row.len(), "softmax row: output length");
        let m = row_max(row);
        for (o, &v) in out.iter_mut().zip(row) {
            o.write(exp(v - m));
        }
        // SAFETY: the loop above wrote every element (the lengths match).
        let out = unsafe { assume_init(out) };
        let s = lane_sum_by(out, |v| v);
        match kind {
            Kind::Softmax => {
                let inv = T::one() / s;
                for o in out.iter_mut() {
                    *o = *o * inv;
                }
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

ferrograd_storage::simd_loop! {
    /// Softmax / log-softmax of one `[n, inner]` block along its first dim
    /// into `out` (its old contents are never read), compiled for AVX2 when
    /// the CPU has it.
    fn column_forward<T>(block: &[T], out: &mut [MaybeUninit<T>], inner: usize, kind: Kind) where T: FloatMath {
        assert_eq!(out.len(), block.len(), "softmax block: output length");
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
                o.write(e);
                *s = *s + e;
            }
        }
        // SAFETY: the loop above wrote every element: `block` and `out` hold
        // the same whole number of lines of `inner`.
        let out = unsafe { assume_init(out) };
        match kind {
            Kind::Softmax => {
                let inv: Vec<T> = s.iter().map(|&s| T::one() / s).collect();
                for o in out.chunks_exact_mut(inner) {
                    for (o, &i) in o.iter_mut().zip(&inv) {
                        *o = *o * i;
                    }
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
}

/// Runs `f(input block, output block)` over the `[n, inner]` blocks of
/// `data`, in parallel when large; `f` must write every element of its
/// output block, whose memory is not zeroed first.
pub(crate) fn for_blocks<T: FloatMath>(
    data: &[T],
    l: Lines,
    f: impl Fn(&[T], &mut [MaybeUninit<T>]) + Sync + Send,
) -> Vec<T> {
    let n = data.len();
    let mut out = fresh_vec(n);
    let size = l.n * l.inner;
    if size == 0 {
        return out;
    }
    let slots = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_THRESHOLD && l.outer > 1 {
        slots
            .par_chunks_mut(size)
            .zip(data.par_chunks(size))
            .for_each(|(o, d)| f(d, o));
    } else {
        slots
            .chunks_mut(size)
            .zip(data.chunks(size))
            .for_each(|(o, d)| f(d, o));
    }
    // SAFETY: `f` writes every slot of every block (its contract), and the
    // blocks cover all `n` slots (`data` is `outer` blocks of `size`).
    unsafe { out.set_len(n) };
    out
}

/// `slots` as initialised values.
///
/// # Safety
/// Every element of `slots` has been written.
#[inline(always)]
unsafe fn assume_init<T>(slots: &mut [MaybeUninit<T>]) -> &mut [T] {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and the caller guarantees
    // every element is initialised.
    unsafe { &mut *(slots as *mut [MaybeUninit<T>] as *mut [T]) }
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

ferrograd_storage::simd_loop! {
    /// The input gradient from the output `y` and its gradient `g`, one block:
    /// softmax: `y (g - Σ g y)`; log-softmax: `g - e^y Σ g`. Compiled for
    /// AVX2 when the CPU has it.
    fn block_backward<T>(y: &[T], g: &[T], out: &mut [T], inner: usize, kind: Kind) where T: FloatMath {
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
}

ferrograd_storage::simd_loop! {
    /// [`block_backward`] for a contiguous row (the dim innermost), compiled
    /// for AVX2 when the CPU has it.
    fn row_backward<T>(y: &[T], g: &[T], out: &mut [T], kind: Kind) where T: FloatMath {
        // Plain loops (not `fold`, which may stay out of line, compiled
        // without AVX2); the dot products add in order, as before.
        match kind {
            Kind::Softmax => {
                let mut d = T::zero();
                for (&y, &g) in y.iter().zip(g) {
                    d = d + g * y;
                }
                for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
                    *o = y * (g - d);
                }
            }
            Kind::LogSoftmax => {
                let mut d = T::zero();
                for &g in g {
                    d = d + g;
                }
                for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
                    *o = g - exp(y) * d;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 40 elements: two full blocks of lanes and a tail of 8.
    fn row_with(at: usize, v: f32) -> Vec<f32> {
        let mut row: Vec<f32> = (0..40).map(|i| (i as f32 * 0.7).sin() * 30.0).collect();
        row[at] = v;
        row
    }

    /// Softmax along the first dim of a row-major `[n, inner]` block, in f64.
    fn reference(block: &[f32], n: usize, inner: usize, kind: Kind) -> Vec<f64> {
        let mut out = vec![0.0; block.len()];
        for i in 0..inner {
            let col: Vec<f64> = (0..n).map(|c| block[c * inner + i] as f64).collect();
            let m = col.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = col.iter().map(|v| (v - m).exp()).sum();
            for (c, v) in col.iter().enumerate() {
                out[c * inner + i] = match kind {
                    Kind::Softmax => (v - m).exp() / s,
                    Kind::LogSoftmax => v - m - s.ln(),
                };
            }
        }
        out
    }

    #[test]
    fn forward_kernels_write_every_element_of_memory_they_never_read() {
        // Outputs come from `fresh_vec`, possibly a recycled buffer: stale
        // NaNs left in any slot would show.
        for kind in [Kind::Softmax, Kind::LogSoftmax] {
            for (n, inner) in [(40, 1), (7, 1), (5, 3), (1, 9), (12, 17)] {
                let block: Vec<f32> = (0..n * inner)
                    .map(|i| (i as f32 * 0.37).sin() * 20.0)
                    .collect();
                let mut out = vec![MaybeUninit::new(f32::NAN); block.len()];
                if inner == 1 {
                    row_forward(&block, &mut out, kind);
                } else {
                    column_forward(&block, &mut out, inner, kind);
                }
                let want = reference(&block, n, inner, kind);
                for (o, w) in out.iter().zip(&want) {
                    // SAFETY: initialised above (and overwritten by the kernel).
                    let o = unsafe { o.assume_init() } as f64;
                    assert!(
                        (o - w).abs() <= 1e-5 * w.abs().max(1.0),
                        "{kind:?} {n}x{inner}: {o} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn logsumexp_of_a_row_treats_infinities_and_nan_as_pytorch() {
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        let lse = row_logsumexp_keeping_infs::<f32>;
        assert_eq!(lse(&[-inf; 40]), -inf);
        assert_eq!(lse(&[]), -inf);
        assert_eq!(
            row_logsumexp_keeping_infs(&[f64::NEG_INFINITY; 3]),
            f64::NEG_INFINITY
        );
        for at in [5, 35] {
            assert_eq!(lse(&row_with(at, inf)), inf);
            assert!(lse(&row_with(at, nan)).is_nan());
            let mut both = row_with(at, nan);
            both[at ^ 1] = inf;
            assert!(lse(&both).is_nan());
            let finite = row_with(at, -inf);
            let want = finite.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
            assert!((lse(&finite) as f64 - want).abs() < 1e-5 * want.abs());
        }
        assert!(lse(&[-inf, nan]).is_nan());
    }

    #[test]
    fn a_long_f32_row_is_as_accurate_as_a_short_one() {
        let mut state = 12_345u64;
        let row: Vec<f32> = (0..4_000_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 40) as f32 / (1u64 << 24) as f32 * 6.0 - 3.0
            })
            .collect();
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v)) as f64;
        let want = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        let got = row_logsumexp_keeping_infs(&row) as f64;
        // Within two f32 ulps, as the f64 sum of the old reduce kernel was;
        // one f32 sum of all 4M terms (LANES accumulators) misses by more.
        assert!((got - want).abs() <= 2.0 * f32::EPSILON as f64 * want);
    }

    #[test]
    fn log_softmax_shift_gives_nan_where_the_max_is_infinite() {
        let inf = f32::INFINITY;
        assert!(row_logsumexp(&[-inf; 40]).is_nan());
        assert!(row_logsumexp(&row_with(35, inf)).is_nan());
        assert_eq!(row_logsumexp::<f32>(&[]), -inf);
        for row in [row_with(5, -inf), row_with(35, 80.0)] {
            let (a, b) = (row_logsumexp(&row), row_logsumexp_keeping_infs(&row));
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}
