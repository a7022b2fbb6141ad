//! Softmax, log-softmax and the class-index losses (`cross_entropy`,
//! `nll_loss`) on a GPU, written with GPU kernels: a line is shifted by its
//! max (so large logits neither overflow nor give NaN), and a loss is the
//! log-probabilities times a coefficient tensor built on the device from
//! the targets — `w_c ((1 - ε) [c = t] + ε/C)` for each sample that is not
//! ignored — summed over the classes.

use super::reduce::{extreme, one_hot};
use super::unary::{exp, log};
use crate::loss::softmax::{not_float_kernel, Kind};
use crate::loss::targets::{class_dim, ClassTargets};
use crate::loss::Reduction;
use ferrograd_autograd::{check_same_device, SavedTensor, Tensor};
use ferrograd_storage::Result;

/// The functions softmax is made of, so that its formulas can be checked
/// with the CPU's.
struct Parts {
    /// The max of `x` along `dim`, kept as size 1; no graph.
    max: fn(&Tensor, usize) -> Result<Tensor>,
    exp: fn(&Tensor) -> Result<Tensor>,
    log: fn(&Tensor) -> Result<Tensor>,
}

const GPU: Parts = Parts {
    max: |x, dim| Ok(extreme(x, &[dim], true, true)?.0),
    exp,
    log,
};

/// Softmax / log-softmax of the GPU tensor `x` along `dim` (normalised).
pub(crate) fn softmax(x: &Tensor, dim: usize, kind: Kind) -> Result<Tensor> {
    softmax_with(&GPU, x, dim, kind)
}

fn softmax_with(parts: &'static Parts, x: &Tensor, dim: usize, kind: Kind) -> Result<Tensor> {
    if !x.dtype().is_floating_point() {
        return Err(not_float_kernel(kind, x.dtype()));
    }
    let out = forward(parts, &x.detach(), dim, kind)?;
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
        move |g| Ok(vec![Some(backward(parts, &so.unpack()?, g, dim, kind)?)])
    }))
}

/// The dims a softmax along `dim` reduces: none for a 0-d tensor.
fn along(x: &Tensor, dim: usize) -> Vec<isize> {
    if x.dim() == 0 {
        vec![]
    } else {
        vec![dim as isize]
    }
}

/// The forward, no graph: `e / Σe` or `z - log Σe` with `z = x - max`.
fn forward(parts: &Parts, x: &Tensor, dim: usize, kind: Kind) -> Result<Tensor> {
    if x.numel() == 0 {
        return x.try_mul(1.0);
    }
    let shifted = if x.dim() == 0 {
        x.try_sub(x)?
    } else {
        x.try_sub(&(parts.max)(x, dim)?)?
    };
    let e = (parts.exp)(&shifted)?;
    let total = e.sum_dims(&along(x, dim), true)?;
    match kind {
        Kind::Softmax => e.try_div(&total),
        Kind::LogSoftmax => shifted.try_sub(&(parts.log)(&total)?),
    }
}

/// The input's gradient from the output `y`, written with differentiable
/// ops.
fn backward(parts: &Parts, y: &Tensor, g: &Tensor, dim: usize, kind: Kind) -> Result<Tensor> {
    let d = along(y, dim);
    match kind {
        Kind::Softmax => y.try_mul(&g.try_sub(&g.try_mul(y)?.sum_dims(&d, true)?)?),
        Kind::LogSoftmax => g.try_sub(&(parts.exp)(y)?.try_mul(&g.sum_dims(&d, true)?)?),
    }
}

/// A class-index loss of the log-probabilities `logp` (a GPU tensor) at
/// `target` (checked into `ct`): per sample `-Σ_c b_c · logp_c` with
/// `b_c = w_c ((1 - ε) [c = t] + ε/C)` (0 for an ignored sample), then
/// reduced (`mean` divides by the targets' total weight). With `ε = 0` this
/// is `nll_loss`; of `log_softmax(logits)` it is `cross_entropy`.
pub(crate) fn class_index_loss(
    logp: &Tensor,
    target: &Tensor,
    ct: &ClassTargets,
    weight: Option<&Tensor>,
    reduction: Reduction,
    label_smoothing: f64,
) -> Result<Tensor> {
    check_same_device(logp, target)?;
    let hot = one_hot(
        target,
        ct.lines,
        logp.dtype(),
        ct.ignore_index,
        logp.shape(),
    )?;
    loss_from_one_hot(logp, &hot, ct, weight, reduction, label_smoothing)
}

/// The loss from the targets' one-hot `hot` (the shape of `logp`, zero for
/// ignored samples).
fn loss_from_one_hot(
    logp: &Tensor,
    hot: &Tensor,
    ct: &ClassTargets,
    weight: Option<&Tensor>,
    reduction: Reduction,
    label_smoothing: f64,
) -> Result<Tensor> {
    let cd = class_dim(logp);
    let classes = ct.lines.n;
    let mut coef = if label_smoothing > 0.0 {
        // Each sample's row of `hot` sums to 1, or 0 when ignored.
        let kept = hot.sum_dims(&[cd as isize], true)?;
        hot.try_mul(1.0 - label_smoothing)?
            .try_add(&kept.try_mul(label_smoothing / classes as f64)?)?
    } else {
        hot.clone()
    };
    if let Some(w) = weight {
        let mut shape = vec![1isize; logp.dim()];
        shape[cd] = classes as isize;
        let w = w
            .detach()
            .to_dtype(logp.dtype())?
            .to_device(logp.device())?;
        coef = coef.try_mul(&w.reshape(&shape)?)?;
    }
    let per_sample = logp
        .try_mul(&coef)?
        .sum_dims(&[cd as isize], false)?
        .try_neg()?;
    match reduction {
        Reduction::None => Ok(per_sample),
        Reduction::Sum => per_sample.sum(),
        Reduction::Mean => per_sample.sum()?.try_div(ct.weight_sum()),
    }
}

#[cfg(test)]
mod tests {
    //! The compositions on CPU tensors — softmax with the CPU's max, exp
    //! and log; the losses with the one-hot built by a naive loop — against
    //! the CPU ops.
    use super::*;
    use crate::loss::targets::class_targets;
    use crate::loss::{cross_entropy, nll_loss, CrossEntropyOptions, NllLossOptions, SoftmaxOps};
    use ferrograd_autograd::manual_seed;
    use ferrograd_storage::DType;

    /// `[n, c, d]` one-hot of `targets` (`[n, d]`), zero rows where ignored.
    fn naive_one_hot(targets: &[i64], n: usize, c: usize, d: usize, ignore: i64) -> Result<Tensor> {
        let mut out = vec![0.0f64; n * c * d];
        for o in 0..n {
            for i in 0..d {
                let t = targets[o * d + i];
                if t != ignore {
                    out[(o * c + t as usize) * d + i] = 1.0;
                }
            }
        }
        Tensor::from_vec(out, &[n, c, d])
    }

    #[test]
    fn the_one_hot_composition_matches_the_cpu_losses_and_gradients() -> Result<()> {
        manual_seed(0);
        let x = Tensor::randn(&[4, 5, 3], DType::F64)?.requires_grad_(true)?;
        let targets = vec![0i64, 4, -100, 2, 2, 1, 3, -100, 0, 4, 4, 1];
        let target = Tensor::from_vec(targets.clone(), &[4, 3])?;
        let weight = Tensor::rand(&[5], DType::F64)?;
        let hot = naive_one_hot(&targets, 4, 5, 3, -100)?;
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            for (w, ls) in [(None, 0.0), (Some(&weight), 0.0), (Some(&weight), 0.3)] {
                let opts = CrossEntropyOptions {
                    weight: w.cloned(),
                    reduction,
                    label_smoothing: ls,
                    ..Default::default()
                };
                let want = cross_entropy(&x, &target, opts)?;
                let ct = class_targets("cross_entropy", &x, &target, w, -100)?;
                let got = loss_from_one_hot(&x.log_softmax(1)?, &hot, &ct, w, reduction, ls)?;
                let grads = |loss: &Tensor| -> Result<Vec<f64>> {
                    x.zero_grad();
                    loss.sum()?.backward()?;
                    x.grad().unwrap().to_vec::<f64>()
                };
                let (a, b) = (want.to_vec::<f64>()?, got.to_vec::<f64>()?);
                let (ga, gb) = (grads(&want)?, grads(&got)?);
                for (p, q) in a.iter().zip(&b).chain(ga.iter().zip(&gb)) {
                    assert!(
                        (p - q).abs() <= 1e-12 * (1.0 + p.abs()),
                        "{reduction:?} {ls}: {p} vs {q}"
                    );
                }
                if ls == 0.0 {
                    let logp = x.log_softmax(1)?;
                    let opts = NllLossOptions {
                        weight: w.cloned(),
                        reduction,
                        ..Default::default()
                    };
                    let want = nll_loss(&logp, &target, opts)?.to_vec::<f64>()?;
                    let got = loss_from_one_hot(&logp, &hot, &ct, w, reduction, 0.0)?;
                    for (p, q) in want.iter().zip(&got.to_vec::<f64>()?) {
                        assert!(
                            (p - q).abs() <= 1e-12 * (1.0 + p.abs()),
                            "nll {reduction:?}"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn softmax_formulas_match_the_cpu_values_and_gradients() -> Result<()> {
        use crate::loss::SoftmaxOps;
        use crate::reduce::ReduceOps;
        use crate::unary::UnaryOps;
        use ferrograd_storage::DType;
        const CPU: Parts = Parts {
            max: |x, dim| x.amax(&[dim as isize], true),
            exp: |x| x.exp(),
            log: |x| x.log(),
        };
        ferrograd_autograd::manual_seed(1);
        let big = Tensor::from_vec(vec![1e4f64, 0.0, -1e4, 3.0, 3.0, 3.0], &[2, 3])?;
        for x in [
            Tensor::randn(&[3, 4, 2], DType::F64)?,
            big,
            Tensor::scalar(2.5f64),
        ] {
            let x = x.requires_grad_(true)?;
            let weights = Tensor::randn(x.shape(), DType::F64)?;
            for dim in 0..x.dim().max(1) {
                for kind in [Kind::Softmax, Kind::LogSoftmax] {
                    let want = match kind {
                        Kind::Softmax => x.softmax(dim as isize)?,
                        Kind::LogSoftmax => x.log_softmax(dim as isize)?,
                    };
                    let got = softmax_with(&CPU, &x, dim, kind)?;
                    let grad = |y: &Tensor| -> Result<Vec<f64>> {
                        x.zero_grad();
                        y.try_mul(&weights)?.sum()?.backward()?;
                        x.grad().unwrap().to_vec::<f64>()
                    };
                    let (a, b) = (want.to_vec::<f64>()?, got.to_vec::<f64>()?);
                    let (ga, gb) = (grad(&want)?, grad(&got)?);
                    for (p, q) in a.iter().zip(&b).chain(ga.iter().zip(&gb)) {
                        assert!(
                            (p - q).abs() <= 1e-12 * (1.0 + p.abs()),
                            "{kind:?} {dim}: {p} vs {q}"
                        );
                    }
                }
            }
        }
        Ok(())
    }
}
