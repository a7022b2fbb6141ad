//! `nll_loss`: the negative log-likelihood of log-probabilities at class
//! indices, `-w_t · input[t]`, with ignore_index and class weights. The
//! gradient routes `-w_t` (scaled by the reduction) to each target element.

use super::softmax::{not_float_kernel, Kind};
use super::targets::{class_dim, class_targets, ClassTargets};
use super::Reduction;
use crate::reduce::{kept_shape, with_float, with_lines};
use ferrograd_autograd::Tensor;
use ferrograd_storage::{Element, FloatElement, Result};
use std::sync::Arc;

/// Options of [`nll_loss`], with PyTorch's defaults.
///
/// ```
/// use ferrograd_ops::loss::NllLossOptions;
/// assert_eq!(NllLossOptions::default().ignore_index, -100);
/// ```
#[derive(Clone, Debug)]
pub struct NllLossOptions {
    /// A weight per class (shape `[C]`), or `None` for 1 each.
    pub weight: Option<Tensor>,
    /// Samples whose target is this index add nothing.
    pub ignore_index: i64,
    /// How per-sample losses are combined.
    pub reduction: Reduction,
}

impl Default for NllLossOptions {
    fn default() -> Self {
        NllLossOptions {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
        }
    }
}

/// The negative log-likelihood of `input` (log-probabilities, `[C]`,
/// `[N, C]` or `[N, C, d1, ...]`) at the class indices `target` — `F.nll_loss`.
///
/// ```
/// use ferrograd_ops::loss::{nll_loss, NllLossOptions, Reduction};
/// use ferrograd_autograd::Tensor;
/// let logp = Tensor::from_vec(vec![-0.5f32, -1.0, -2.0, -0.1], &[2, 2])?;
/// let target = Tensor::from_vec(vec![1i64, 0], &[2])?;
/// let opts = NllLossOptions { reduction: Reduction::None, ..Default::default() };
/// assert_eq!(nll_loss(&logp, &target, opts)?.to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn nll_loss(input: &Tensor, target: &Tensor, opts: NllLossOptions) -> Result<Tensor> {
    let ct = Arc::new(class_targets(
        "nll_loss",
        input,
        target,
        opts.weight.as_ref(),
        opts.ignore_index,
    )?);
    let reduction = opts.reduction;
    #[cfg(feature = "cuda")]
    if input.device().is_cuda() {
        if !input.dtype().is_floating_point() {
            return Err(not_float_kernel(Kind::LogSoftmax, input.dtype()));
        }
        let w = opts.weight.as_ref();
        return crate::cuda::loss::class_index_loss(input, target, &ct, w, reduction, 0.0);
    }
    let out = with_float!(input.dtype(), T => nll_forward::<T>(input, &ct, reduction)?,
        d => return Err(not_float_kernel(Kind::LogSoftmax, d)));
    let denom = ct.weight_sum();
    let dtype = input.dtype();
    let shape = input.shape().to_vec();
    let kept: Vec<isize> = kept_shape(&shape, &[class_dim(input)])
        .iter()
        .map(|&s| s as isize)
        .collect();
    Ok(
        out.with_grad_fn("NllLossBackward0", &[input], &[], move |g| {
            let unit = if reduction == Reduction::Mean {
                1.0 / denom
            } else {
                1.0
            };
            let routes = with_float!(dtype, T => target_routes::<T>(&ct, &shape, unit)?,
            d => return Err(not_float_kernel(Kind::LogSoftmax, d)));
            let g = match reduction {
                Reduction::None => g.reshape(&kept)?,
                _ => g.clone(),
            };
            Ok(vec![Some(routes.try_mul(&g)?)])
        }),
    )
}

fn nll_forward<T: FloatElement>(
    input: &Tensor,
    ct: &ClassTargets,
    reduction: Reduction,
) -> Result<Tensor> {
    let l = ct.lines;
    let losses: Vec<f64> = with_lines(input, class_dim(input), |x: &[T], _| {
        (0..ct.targets.len())
            .map(|s| {
                let t = ct.targets[s];
                if t == ct.ignore_index {
                    return 0.0;
                }
                let (o, i) = ct.position(s);
                -ct.weight[t as usize] * Element::to_f64(x[(o * l.n + t as usize) * l.inner + i])
            })
            .collect()
    })?;
    let total: f64 = losses.iter().sum();
    match reduction {
        Reduction::None => {
            Tensor::from_vec(losses.into_iter().map(T::from_f64).collect(), &ct.shape)
        }
        Reduction::Sum => Ok(Tensor::scalar(T::from_f64(total))),
        Reduction::Mean => Ok(Tensor::scalar(T::from_f64(total / ct.weight_sum()))),
    }
}

/// `-w_t · unit` at each sample's target element, 0 elsewhere: the gradient
/// of the loss per unit of the output's gradient.
fn target_routes<T: FloatElement>(ct: &ClassTargets, shape: &[usize], unit: f64) -> Result<Tensor> {
    let l = ct.lines;
    let mut v = vec![T::zero(); l.outer * l.n * l.inner];
    for s in 0..ct.targets.len() {
        let t = ct.targets[s];
        if t != ct.ignore_index {
            let (o, i) = ct.position(s);
            v[(o * l.n + t as usize) * l.inner + i] = T::from_f64(-ct.weight[t as usize] * unit);
        }
    }
    Tensor::from_vec(v, shape)
}
