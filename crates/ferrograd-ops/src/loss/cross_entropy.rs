//! `cross_entropy` with class indices — one fused pass computing each
//! sample's log-sum-exp and loss, and a fused backward `softmax - onehot`
//! (with label smoothing and class weights folded in, scaled by the
//! reduction) — and with class probabilities, written with `log_softmax`.

use super::softmax::{exp, not_float_kernel, row_logsumexp, softmax, Kind};
use super::targets::{check_input_rank, class_dim, class_targets, ClassTargets};
use super::{reduce_loss, Reduction};
use crate::reduce::{kept_shape, with_float, with_lines, Lines};
use crate::unary::fast_math::FloatMath;
use ferrograd_autograd::{is_grad_enabled, SavedTensor, Tensor};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{DType, Element, Error, Result};
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::Arc;

/// Options of [`cross_entropy`], with PyTorch's defaults.
///
/// ```
/// use ferrograd_ops::loss::{CrossEntropyOptions, Reduction};
/// let o = CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() };
/// assert_eq!(o.ignore_index, -100);
/// assert_eq!(o.reduction, Reduction::Mean);
/// ```
#[derive(Clone, Debug)]
pub struct CrossEntropyOptions {
    /// A weight per class (shape `[C]`), or `None` for 1 each.
    pub weight: Option<Tensor>,
    /// Samples whose target is this index add nothing (class-index targets only).
    pub ignore_index: i64,
    /// How per-sample losses are combined.
    pub reduction: Reduction,
    /// In `[0, 1]`: the share of the target mass spread uniformly over the classes.
    pub label_smoothing: f64,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
        }
    }
}

/// The cross-entropy between the logits `input` (`[C]`, `[N, C]` or
/// `[N, C, d1, ...]`) and `target`: class indices (`int64`, the input's shape
/// without the class dim) or class probabilities (floating, the input's
/// shape) — `F.cross_entropy`.
///
/// ```
/// use ferrograd_ops::loss::{cross_entropy, CrossEntropyOptions};
/// use ferrograd_autograd::Tensor;
/// let logits = Tensor::from_vec(vec![2.0f64, 0.0, 0.0, 0.0, 0.0, 2.0], &[2, 3])?.requires_grad_(true)?;
/// let target = Tensor::from_vec(vec![0i64, 2], &[2])?;
/// let loss = cross_entropy(&logits, &target, CrossEntropyOptions::default())?;
/// let expected = (1.0 + 2.0 * (-2f64).exp()).ln();
/// assert!((loss.item::<f64>()? - expected).abs() < 1e-12);
/// loss.backward()?;
/// let bad = Tensor::from_vec(vec![0i64, 12], &[2])?;
/// let e = cross_entropy(&logits, &bad, CrossEntropyOptions::default()).unwrap_err();
/// assert!(e.to_string().contains("Target 12 is out of bounds."));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn cross_entropy(input: &Tensor, target: &Tensor, opts: CrossEntropyOptions) -> Result<Tensor> {
    let ls = opts.label_smoothing;
    if !(0.0..=1.0).contains(&ls) {
        return Err(Error::invalid(
            "cross_entropy",
            format!("label_smoothing must be between 0.0 and 1.0. Got: {ls}"),
        ));
    }
    check_input_rank("cross_entropy", input)?;
    if target.dtype().is_floating_point() && target.shape() == input.shape() {
        return probability_cross_entropy(input, target, &opts);
    }
    let ct = Arc::new(class_targets(
        "cross_entropy",
        input,
        target,
        opts.weight.as_ref(),
        opts.ignore_index,
    )?);
    #[cfg(feature = "cuda")]
    if input.device().is_cuda() {
        ferrograd_autograd::check_same_device(input, target)?;
        let logp = softmax(input, class_dim(input), Kind::LogSoftmax)?;
        let w = opts.weight.as_ref();
        return crate::cuda::loss::class_index_loss(&logp, target, &ct, w, opts.reduction, ls);
    }
    with_float!(input.dtype(), T => index_cross_entropy::<T>(input, ct, opts.reduction, ls),
        d => Err(not_float_kernel(Kind::LogSoftmax, d)))
}

/// The elements of sample `(o, i)` along the class dim.
fn column<T: Element>(x: &[T], l: Lines, o: usize, i: usize) -> Cow<'_, [T]> {
    let start = o * l.n * l.inner + i;
    if l.inner == 1 {
        Cow::Borrowed(&x[start..start + l.n])
    } else {
        Cow::Owned(
            x[start..]
                .iter()
                .step_by(l.inner)
                .take(l.n)
                .copied()
                .collect(),
        )
    }
}

/// `(loss, lse)` of one sample: `lse = log Σ exp(x)`, and the loss
/// `(1 - ε) w_t (lse - x_t) + ε/C Σ_c w_c (lse - x_c)` (0 if ignored).
fn sample_loss<T: FloatMath>(col: &[T], ct: &ClassTargets, s: usize, ls: f64) -> (f64, T) {
    let lse = row_logsumexp(col);
    let t = ct.targets[s];
    if t == ct.ignore_index {
        return (0.0, lse);
    }
    let lse64 = Element::to_f64(lse);
    let mut loss = (1.0 - ls) * ct.weight[t as usize] * (lse64 - Element::to_f64(col[t as usize]));
    if ls > 0.0 {
        let smooth: f64 = col
            .iter()
            .zip(&ct.weight)
            .map(|(&v, &w)| w * (lse64 - Element::to_f64(v)))
            .sum();
        loss += ls / col.len() as f64 * smooth;
    }
    (loss, lse)
}

/// The coefficients of sample `s`'s gradient `a · softmax_c - b_c`, per
/// unit of scale: `a = (1-ε) w_t + ε/C Σw`, `b_c = (1-ε) w_t [c = t] + ε/C w_c`.
struct Coefficients<'a> {
    ct: &'a ClassTargets,
    ls: f64,
    weight_total: f64,
}

impl Coefficients<'_> {
    fn a(&self, s: usize) -> f64 {
        if self.ct.targets[s] == self.ct.ignore_index {
            return 0.0;
        }
        let n = self.ct.lines.n as f64;
        (1.0 - self.ls) * self.ct.sample_weight(s) + self.ls / n * self.weight_total
    }

    fn b(&self, s: usize, c: usize) -> f64 {
        let t = self.ct.targets[s];
        if t == self.ct.ignore_index {
            return 0.0;
        }
        let hot = if t as usize == c {
            self.ct.sample_weight(s)
        } else {
            0.0
        };
        (1.0 - self.ls) * hot + self.ls / self.ct.lines.n as f64 * self.ct.weight[c]
    }
}

fn index_cross_entropy<T: FloatMath>(
    input: &Tensor,
    ct: Arc<ClassTargets>,
    reduction: Reduction,
    ls: f64,
) -> Result<Tensor> {
    let cd = class_dim(input);
    let samples = ct.targets.len();
    let (losses, lse): (Vec<f64>, Vec<T>) = with_lines(input, cd, |x: &[T], l| {
        let one = |s: usize| {
            let (o, i) = ct.position(s);
            sample_loss(&column(x, l, o, i), &ct, s, ls)
        };
        if x.len() >= PARALLEL_THRESHOLD {
            (0..samples).into_par_iter().map(one).unzip()
        } else {
            (0..samples).map(one).unzip()
        }
    })?;
    let per_sample = Tensor::from_vec(losses.iter().map(|&v| T::from_f64(v)).collect(), &ct.shape)?;
    let denom = ct.weight_sum();
    let out = match reduction {
        Reduction::None => per_sample,
        Reduction::Sum => Tensor::scalar(T::from_f64(losses.iter().sum::<f64>())),
        Reduction::Mean => Tensor::scalar(T::from_f64(losses.iter().sum::<f64>() / denom)),
    };
    if !Tensor::needs_grad(&[input]) {
        return Ok(out);
    }
    let sx = SavedTensor::input(input);
    let lse = Arc::new(lse);
    Ok(out.with_grad_fn("NllLossBackward0", &[input], &[&sx], {
        let sx = sx.clone();
        move |g| {
            let x = sx.unpack()?;
            let unit = if reduction == Reduction::Mean {
                1.0 / denom
            } else {
                1.0
            };
            let grad = if is_grad_enabled() {
                composite_backward::<T>(&x, g, &ct, ls, unit, reduction)?
            } else {
                fused_backward::<T>(&x, g, &ct, &lse, ls, unit, reduction)?
            };
            Ok(vec![Some(grad)])
        }
    }))
}

ferrograd_storage::simd_loop! {
    /// `out[c] = e^(x[c] - lse) · a` over one row, compiled for AVX2 when the
    /// CPU has it.
    fn scaled_softmax_row<T>(x: &[T], lse: T, a: T, out: &mut [T]) where T: FloatMath {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = exp(v - lse) * a;
        }
    }
}

ferrograd_storage::simd_loop! {
    /// `out[c, i] = e^(x[c, i] - lse[i])` over a row-major `[n, inner]`
    /// block (`lse` holds `inner` values), compiled for AVX2 when the CPU
    /// has it.
    fn shifted_exp_block<T>(x: &[T], lse: &[T], out: &mut [T]) where T: FloatMath {
        let inner = lse.len();
        for (xl, ol) in x.chunks_exact(inner).zip(out.chunks_exact_mut(inner)) {
            for ((o, &v), &l) in ol.iter_mut().zip(xl).zip(lse) {
                *o = exp(v - l);
            }
        }
    }
}

/// `a · softmax - b` per sample, scaled by the gradient, in one pass.
fn fused_backward<T: FloatMath>(
    x: &Tensor,
    g: &Tensor,
    ct: &ClassTargets,
    lse: &[T],
    ls: f64,
    unit: f64,
    reduction: Reduction,
) -> Result<Tensor> {
    let gv = g.detach().to_dtype(DType::F64)?.to_vec::<f64>()?;
    let coef = Coefficients {
        ct,
        ls,
        weight_total: ct.weight.iter().sum(),
    };
    let scale = |s: usize| {
        unit * if reduction == Reduction::None {
            gv[s]
        } else {
            gv[0]
        }
    };
    let l = ct.lines;
    // ε/C · w_c, the smoothing part of every b_c (a row's b_c for c ≠ t is
    // this times its scale).
    let smoothing: Vec<f64> = ct.weight.iter().map(|w| ls / l.n as f64 * w).collect();
    let v = with_lines(x, class_dim(x), |xd: &[T], _| {
        let mut out = vec![T::zero(); xd.len()];
        let block = |(o, (ob, xb)): (usize, (&mut [T], &[T]))| {
            if l.inner == 1 {
                // One contiguous row of class scores: the vectorised exp loop
                // first, then the smoothing terms, then the target class.
                let k = scale(o);
                let (a, t) = (T::from_f64(coef.a(o) * k), ct.targets[o]);
                scaled_softmax_row(xb, lse[o], a, ob);
                if t == ct.ignore_index {
                    return;
                }
                if ls != 0.0 {
                    for (ob, s) in ob.iter_mut().zip(&smoothing) {
                        *ob = *ob - T::from_f64(s * k);
                    }
                }
                let t = t as usize;
                ob[t] = exp(xb[t] - lse[o]) * a - T::from_f64(coef.b(o, t) * k);
                return;
            }
            // Class scores along a strided dim: the exponentials in one
            // vectorised pass over the block, then the per-class terms.
            shifted_exp_block(xb, &lse[o * l.inner..(o + 1) * l.inner], ob);
            for i in 0..l.inner {
                let s = o * l.inner + i;
                let k = scale(s);
                let a = T::from_f64(coef.a(s) * k);
                for c in 0..l.n {
                    let at = c * l.inner + i;
                    ob[at] = ob[at] * a - T::from_f64(coef.b(s, c) * k);
                }
            }
        };
        let size = l.n * l.inner;
        if size == 0 {
        } else if xd.len() >= PARALLEL_THRESHOLD {
            out.par_chunks_mut(size)
                .zip(xd.par_chunks(size))
                .enumerate()
                .for_each(block);
        } else {
            out.chunks_mut(size)
                .zip(xd.chunks(size))
                .enumerate()
                .for_each(block);
        }
        out
    })?;
    Tensor::from_vec(v, x.shape())
}

/// The same gradient with differentiable ops (`softmax(x) · A - B`, times
/// the gradient), for `create_graph`.
fn composite_backward<T: FloatMath>(
    x: &Tensor,
    g: &Tensor,
    ct: &ClassTargets,
    ls: f64,
    unit: f64,
    reduction: Reduction,
) -> Result<Tensor> {
    let cd = class_dim(x);
    let coef = Coefficients {
        ct,
        ls,
        weight_total: ct.weight.iter().sum(),
    };
    let l = ct.lines;
    let samples = ct.targets.len();
    let a: Vec<T> = (0..samples)
        .map(|s| T::from_f64(coef.a(s) * unit))
        .collect();
    let mut b = Vec::with_capacity(x.numel());
    for o in 0..l.outer {
        for c in 0..l.n {
            b.extend((0..l.inner).map(|i| T::from_f64(coef.b(o * l.inner + i, c) * unit)));
        }
    }
    let kept = kept_shape(x.shape(), &[cd]);
    let a = Tensor::from_vec(a, &kept)?;
    let b = Tensor::from_vec(b, x.shape())?;
    let g = match reduction {
        Reduction::None => g.reshape(&kept.iter().map(|&s| s as isize).collect::<Vec<_>>())?,
        _ => g.clone(),
    };
    softmax(x, cd, Kind::Softmax)?
        .try_mul(&a)?
        .try_sub(&b)?
        .try_mul(&g)
}

/// Cross-entropy against class probabilities (`target` of the input's shape).
fn probability_cross_entropy(
    input: &Tensor,
    target: &Tensor,
    opts: &CrossEntropyOptions,
) -> Result<Tensor> {
    let cd = class_dim(input);
    let classes = input.shape()[cd];
    let logp = softmax(input, cd, Kind::LogSoftmax)?;
    let ls = opts.label_smoothing;
    let target = if ls > 0.0 {
        target.try_mul(1.0 - ls)?.try_add(ls / classes as f64)?
    } else {
        target.clone()
    };
    let mut prod = logp.try_mul(&target)?;
    if let Some(w) = &opts.weight {
        if w.numel() != classes || w.dim() != 1 {
            return Err(Error::ShapeMismatch {
                op: "cross_entropy",
                lhs: w.shape().to_vec(),
                rhs: vec![classes],
                msg: format!("weight tensor should be defined either for all {classes} classes or no classes but got weight tensor of shape: {:?}", w.shape()),
            });
        }
        let mut shape = vec![1isize; input.dim()];
        shape[cd] = classes as isize;
        prod = prod.try_mul(&w.reshape(&shape)?)?;
    }
    match opts.reduction {
        Reduction::None => prod.sum_dims(&[cd as isize], false)?.try_neg(),
        Reduction::Sum => prod.sum()?.try_neg(),
        Reduction::Mean => {
            let samples = (input.numel() / classes.max(1)) as f64;
            reduce_loss(&prod, Reduction::Sum)?.try_div(-samples)
        }
    }
}
