//! `batch_norm` over the channel dim 1 of `(N, C)` or `(N, C, ...)` inputs.
//! Training normalises with the batch's statistics (one fused pass for the
//! per-channel mean and variance, one for the output; a fused backward) and
//! updates the running statistics in place — `momentum`, unbiased variance —
//! as PyTorch does; evaluation uses the running statistics.

use super::affine::{check_param, record_affine, AffineGrads, NormSpec};
use crate::reduce::{with_float, with_lines, Lines};
use crate::unary::UnaryOps;
use ferrograd_autograd::{no_grad, Tensor};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{Element, Error, FloatElement, Result};
use rayon::prelude::*;

/// Options of [`batch_norm`], with PyTorch's defaults (`F.batch_norm`
/// evaluates unless `training` is set).
///
/// ```
/// use ferrograd_ops::norm::BatchNormOptions;
/// let o = BatchNormOptions { training: true, ..Default::default() };
/// assert_eq!((o.momentum, o.eps), (0.1, 1e-5));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BatchNormOptions {
    /// Normalise with the batch's statistics (and update the running ones).
    pub training: bool,
    /// The weight of the new batch in the running statistics' update.
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub eps: f64,
}

impl Default for BatchNormOptions {
    fn default() -> Self {
        BatchNormOptions {
            training: false,
            momentum: 0.1,
            eps: 1e-5,
        }
    }
}

/// Batch normalisation — `F.batch_norm(input, running_mean, running_var,
/// weight, bias, training, momentum, eps)`. `running_mean`/`running_var` are
/// updated in place when training (they may be `None` then).
///
/// ```
/// use ferrograd_ops::norm::{batch_norm, BatchNormOptions};
/// use ferrograd_autograd::{DType, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 10.0, 3.0, 30.0], &[2, 2])?;
/// let (rm, rv) = (Tensor::zeros(&[2], DType::F32)?, Tensor::ones(&[2], DType::F32)?);
/// let opts = BatchNormOptions { training: true, eps: 0.0, ..Default::default() };
/// let y = batch_norm(&x, Some(&rm), Some(&rv), None, None, opts)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-1.0, -1.0, 1.0, 1.0]);
/// assert_eq!(rm.to_vec::<f32>()?, vec![0.2, 2.0]); // 0.9·0 + 0.1·mean
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn batch_norm(
    input: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    opts: BatchNormOptions,
) -> Result<Tensor> {
    const OP: &str = "batch_norm";
    if input.dim() < 2 {
        return Err(Error::invalid(
            OP,
            format!(
                "expected an input of shape (N, C) or (N, C, ...), but got shape {:?}",
                input.shape()
            ),
        ));
    }
    let channels = input.shape()[1];
    check_param(OP, "running_mean", running_mean, channels)?;
    check_param(OP, "running_var", running_var, channels)?;
    check_param(OP, "weight", weight, channels)?;
    check_param(OP, "bias", bias, channels)?;
    if !opts.training {
        let (Some(rm), Some(rv)) = (running_mean, running_var) else {
            return Err(Error::invalid(
                OP,
                "running_mean must be defined in evaluation mode: pass the running statistics, or set training: true",
            ));
        };
        return evaluate(input, rm, rv, weight, bias, opts.eps);
    }
    let per_channel = input.numel() / channels.max(1);
    if per_channel <= 1 {
        return Err(Error::invalid(
            OP,
            format!(
                "Expected more than 1 value per channel when training, got input size {:?}",
                input.shape()
            ),
        ));
    }
    with_float!(input.dtype(), T => train::<T>(input, running_mean, running_var, weight, bias, opts),
        d => Err(crate::reduce::not_float(OP, d)))
}

/// `x · scale + shift` per channel with the running statistics, written with
/// differentiable ops.
fn evaluate(
    x: &Tensor,
    rm: &Tensor,
    rv: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let mut view = vec![1isize; x.dim()];
    view[1] = x.shape()[1] as isize;
    let invstd = rv.detach().try_add(eps)?.rsqrt()?;
    let scale = match weight {
        Some(w) => w.try_mul(&invstd)?,
        None => invstd,
    };
    let shift = rm.detach().try_mul(&scale)?.try_neg()?;
    let shift = match bias {
        Some(b) => shift.try_add(b)?,
        None => shift,
    };
    x.try_mul(&scale.reshape(&view)?)?
        .try_add(&shift.reshape(&view)?)
}

/// `(mean, biased variance)` of every channel of `x` split as `l`
/// (`[N, C, HW]`), in `f64`.
fn channel_stats<T: FloatElement>(x: &[T], l: Lines) -> Vec<(f64, f64)> {
    let count = (l.outer * l.inner) as f64;
    let blocks = |c: usize| (0..l.outer).map(move |o| &x[(o * l.n + c) * l.inner..][..l.inner]);
    let stats = |c: usize| {
        let sum: f64 = blocks(c)
            .flat_map(|b| b.iter().map(|v| Element::to_f64(*v)))
            .sum();
        let mean = sum / count;
        let m2: f64 = blocks(c)
            .flat_map(|b| b.iter().map(|v| (Element::to_f64(*v) - mean).powi(2)))
            .sum();
        (mean, m2 / count)
    };
    if x.len() >= PARALLEL_THRESHOLD {
        (0..l.n).into_par_iter().map(stats).collect()
    } else {
        (0..l.n).map(stats).collect()
    }
}

/// `out = x · scale[c] + shift[c]` over `[N, C, HW]`.
fn scale_shift<T: FloatElement>(x: &[T], l: Lines, scale: &[f64], shift: &[f64]) -> Vec<T> {
    let mut out = vec![T::default(); x.len()];
    let sample = |(o, x): (&mut [T], &[T])| {
        for (c, (o, x)) in o.chunks_mut(l.inner).zip(x.chunks(l.inner)).enumerate() {
            let (a, b) = (T::from_f64(scale[c]), T::from_f64(shift[c]));
            o.iter_mut().zip(x).for_each(|(o, &x)| *o = x * a + b);
        }
    };
    let size = l.n * l.inner;
    if x.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(size)
            .zip(x.par_chunks(size))
            .for_each(sample);
    } else {
        out.chunks_mut(size).zip(x.chunks(size)).for_each(sample);
    }
    out
}

/// Per-channel values of an optional parameter (`default` when absent).
fn param_values(p: Option<&Tensor>, channels: usize, default: f64) -> Result<Vec<f64>> {
    match p {
        Some(p) => p.detach().double()?.contiguous()?.to_vec::<f64>(),
        None => Ok(vec![default; channels]),
    }
}

/// The saved statistics of a training forward.
struct Saved {
    mean: Vec<f64>,
    invstd: Vec<f64>,
    weight: Vec<f64>,
}

fn train<T: FloatElement>(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    opts: BatchNormOptions,
) -> Result<Tensor> {
    let channels = x.shape()[1];
    let w = param_values(weight, channels, 1.0)?;
    let b = param_values(bias, channels, 0.0)?;
    let (stats, y) = with_lines(x, 1, |d: &[T], l| {
        let stats = channel_stats(d, l);
        let invstd: Vec<f64> = stats
            .iter()
            .map(|s| 1.0 / (s.1 + opts.eps).sqrt())
            .collect();
        let scale: Vec<f64> = invstd.iter().zip(&w).map(|(i, w)| i * w).collect();
        let shift: Vec<f64> = stats
            .iter()
            .zip(&scale)
            .zip(&b)
            .map(|((s, a), b)| b - s.0 * a)
            .collect();
        (stats, scale_shift(d, l, &scale, &shift))
    })?;
    update_running(x, running_mean, running_var, &stats, opts.momentum)?;
    let out = Tensor::from_vec(y, x.shape())?;
    let saved = Saved {
        mean: stats.iter().map(|s| s.0).collect(),
        invstd: stats
            .iter()
            .map(|s| 1.0 / (s.1 + opts.eps).sqrt())
            .collect(),
        weight: w,
    };
    let mut all: Vec<isize> = (0..x.dim() as isize).collect();
    all.remove(1);
    let mut view = vec![1isize; x.dim()];
    view[1] = channels as isize;
    let spec = NormSpec {
        stat_dims: all.clone(),
        param_dims: all,
        param_view: view,
        param_shape: vec![channels as isize],
    };
    let fused = move |g: &Tensor, x: &Tensor| {
        with_float!(x.dtype(), U => fused_backward::<U>(g, x, &saved),
            d => Err(crate::reduce::not_float("batch_norm", d)))
    };
    let params = [Some(x), weight, bias];
    Ok(record_affine(
        out,
        "NativeBatchNormBackward0",
        params,
        opts.eps,
        spec,
        fused,
    ))
}

/// `running ← (1 - momentum) · running + momentum · batch` (variance unbiased), outside the graph.
fn update_running(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    stats: &[(f64, f64)],
    momentum: f64,
) -> Result<()> {
    let _guard = no_grad();
    let count = (x.numel() / x.shape()[1]) as f64;
    let update = |running: &Tensor, batch: Vec<f64>| -> Result<()> {
        let batch = Tensor::from_vec(batch, &[stats.len()])?.to_dtype(running.dtype())?;
        running.mul_(1.0 - momentum)?;
        running.add_(&batch.try_mul(momentum)?)?;
        Ok(())
    };
    if let Some(rm) = running_mean {
        update(rm, stats.iter().map(|s| s.0).collect())?;
    }
    if let Some(rv) = running_var {
        update(
            rv,
            stats.iter().map(|s| s.1 * count / (count - 1.0)).collect(),
        )?;
    }
    Ok(())
}

/// The first-order gradients `(x, weight, bias)` in two passes:
/// `dx = w·invstd · (dy - mean(dy) - x̂ · mean(dy · x̂))` per channel.
fn fused_backward<T: FloatElement>(g: &Tensor, x: &Tensor, s: &Saved) -> Result<AffineGrads> {
    let gv = g.to_dtype(T::DTYPE)?.contiguous()?.to_vec::<T>()?;
    let (sums, gx) = with_lines(x, 1, |xd: &[T], l| {
        let count = (l.outer * l.inner) as f64;
        let xhat = |c: usize, v: T| (Element::to_f64(v) - s.mean[c]) * s.invstd[c];
        let channel = |c: usize| {
            let (mut sum_dy, mut sum_dy_xhat) = (0.0, 0.0);
            for o in 0..l.outer {
                let at = (o * l.n + c) * l.inner;
                for (&dy, &v) in gv[at..at + l.inner].iter().zip(&xd[at..at + l.inner]) {
                    let dy = Element::to_f64(dy);
                    sum_dy += dy;
                    sum_dy_xhat += dy * xhat(c, v);
                }
            }
            (sum_dy, sum_dy_xhat)
        };
        let sums: Vec<(f64, f64)> = if xd.len() >= PARALLEL_THRESHOLD {
            (0..l.n).into_par_iter().map(channel).collect()
        } else {
            (0..l.n).map(channel).collect()
        };
        let mut gx = vec![T::default(); xd.len()];
        let sample = |((o, x), dy): ((&mut [T], &[T]), &[T])| {
            for (c, ((o, x), dy)) in o
                .chunks_mut(l.inner)
                .zip(x.chunks(l.inner))
                .zip(dy.chunks(l.inner))
                .enumerate()
            {
                let k = s.weight[c] * s.invstd[c];
                let (mean_dy, mean_dy_xhat) = (sums[c].0 / count, sums[c].1 / count);
                for ((o, &x), &dy) in o.iter_mut().zip(x).zip(dy) {
                    *o = T::from_f64(
                        k * (Element::to_f64(dy) - mean_dy - xhat(c, x) * mean_dy_xhat),
                    );
                }
            }
        };
        let size = l.n * l.inner;
        if xd.len() >= PARALLEL_THRESHOLD {
            gx.par_chunks_mut(size)
                .zip(xd.par_chunks(size))
                .zip(gv.par_chunks(size))
                .for_each(sample);
        } else {
            gx.chunks_mut(size)
                .zip(xd.chunks(size))
                .zip(gv.chunks(size))
                .for_each(sample);
        }
        (sums, gx)
    })?;
    let channels = sums.len();
    let gw: Vec<T> = sums.iter().map(|s| T::from_f64(s.1)).collect();
    let gb: Vec<T> = sums.iter().map(|s| T::from_f64(s.0)).collect();
    Ok((
        Tensor::from_vec(gx, x.shape())?,
        Some(Tensor::from_vec(gw, &[channels])?),
        Tensor::from_vec(gb, &[channels])?,
    ))
}
