//! `binary_cross_entropy` on probabilities (logs clamped at -100, as in
//! PyTorch) and `binary_cross_entropy_with_logits` on logits (the stable
//! `log(1 + e^-|x|)` form, optional `pos_weight`). Each computes its
//! elementwise loss in one node whose backward uses PyTorch's formulas,
//! written with differentiable ops, then reduces.

use super::{reduce_loss, Reduction};
use crate::reduce::with_float;
use crate::unary::UnaryOps;
use ferrograd_autograd::{with_no_grad, InputMeta, SavedTensor, Tensor};
use ferrograd_storage::cpu::unary_map;
use ferrograd_storage::{Element, Error, FloatElement, Result};

/// Options of [`binary_cross_entropy`].
///
/// ```
/// use ferrograd_ops::loss::{BceOptions, Reduction};
/// assert_eq!(BceOptions::default().reduction, Reduction::Mean);
/// ```
#[derive(Clone, Debug, Default)]
pub struct BceOptions {
    /// A weight per element, broadcast to the input's shape.
    pub weight: Option<Tensor>,
    /// How the elementwise losses are combined.
    pub reduction: Reduction,
}

/// Options of [`binary_cross_entropy_with_logits`].
///
/// ```
/// use ferrograd_ops::loss::BceWithLogitsOptions;
/// assert!(BceWithLogitsOptions::default().pos_weight.is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct BceWithLogitsOptions {
    /// A weight per element, broadcast to the input's shape.
    pub weight: Option<Tensor>,
    /// A weight on the positive term, broadcast along the last dim (one per class).
    pub pos_weight: Option<Tensor>,
    /// How the elementwise losses are combined.
    pub reduction: Reduction,
}

fn check_float_target(op: &'static str, input: &Tensor, target: &Tensor) -> Result<()> {
    if target.dtype().is_floating_point() {
        return Ok(());
    }
    Err(Error::DTypeMismatch {
        op,
        expected: input.dtype(),
        got: target.dtype(),
        hint: format!(
            "Found dtype {} but expected {}: the target holds probabilities; convert it with .to_dtype(input.dtype()).",
            target.dtype().legacy_name(),
            input.dtype().legacy_name()
        ),
    })
}

fn times(t: Tensor, weight: Option<&Tensor>) -> Result<Tensor> {
    match weight {
        Some(w) => t.try_mul(w),
        None => Ok(t),
    }
}

/// `1 - v`.
fn one_minus(v: &Tensor) -> Result<Tensor> {
    v.try_neg()?.try_add(1.0)
}

/// Records the elementwise `loss` of `input` against `target`: the gradient
/// of each input that wants one is `g · d(x, t) · weight`, with its
/// derivative `d` written with differentiable ops.
fn record_elementwise(
    loss: Tensor,
    name: &'static str,
    [input, target]: [&Tensor; 2],
    weight: Option<Tensor>,
    dx: impl Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
    dt: impl Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Tensor {
    let (sx, st) = (SavedTensor::input(input), SavedTensor::input(target));
    let (mx, mt) = (InputMeta::of(input), InputMeta::of(target));
    loss.with_grad_fn(name, &[input, target], &[&sx, &st], {
        let (sx, st) = (sx.clone(), st.clone());
        move |g| {
            let (x, t) = (sx.unpack()?, st.unpack()?);
            let scaled = |d: Tensor| times(g.try_mul(&d)?, weight.as_ref());
            Ok(vec![
                mx.grad(|| scaled(dx(&x, &t)?))?,
                mt.grad(|| scaled(dt(&x, &t)?))?,
            ])
        }
    })
}

/// `max(log(v), -100)` elementwise.
fn clamped_log(v: &Tensor) -> Result<Tensor> {
    v.log()?.clamp_min(-100.0)
}

/// The binary cross-entropy between probabilities `input` and `target` of
/// the same shape — `F.binary_cross_entropy`.
///
/// ```
/// use ferrograd_ops::loss::{binary_cross_entropy, BceOptions};
/// use ferrograd_autograd::Tensor;
/// let p = Tensor::from_vec(vec![0.5f64, 0.9], &[2])?;
/// let t = Tensor::from_vec(vec![1.0f64, 0.0], &[2])?;
/// let l = binary_cross_entropy(&p, &t, BceOptions::default())?.item::<f64>()?;
/// assert!((l - (2f64.ln() - 0.1f64.ln()) / 2.0).abs() < 1e-12);
/// let e = binary_cross_entropy(&t.try_add(0.5)?, &t, BceOptions::default()).unwrap_err();
/// assert!(e.to_string().contains("all elements of input should be between 0 and 1"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn binary_cross_entropy(input: &Tensor, target: &Tensor, opts: BceOptions) -> Result<Tensor> {
    const OP: &str = "binary_cross_entropy";
    check_float_target(OP, input, target)?;
    if input.shape() != target.shape() {
        return Err(Error::ShapeMismatch {
            op: OP,
            lhs: input.shape().to_vec(),
            rhs: target.shape().to_vec(),
            msg: format!("Using a target size ({:?}) that is different to the input size ({:?}) is deprecated. Please ensure they have the same size.", target.shape(), input.shape()),
        });
    }
    let in_range = with_float!(input.dtype(), T => input.with_data(|d: &[T], l| {
        let mut ok = true;
        l.for_each_offset(|o| ok &= (0.0..=1.0).contains(&Element::to_f64(d[o])));
        ok
    })?, d => return Err(crate::reduce::not_float(OP, d)));
    if !in_range {
        return Err(Error::invalid(
            OP,
            "all elements of input should be between 0 and 1",
        ));
    }
    let w = opts.weight.as_ref();
    let loss = with_no_grad(|| {
        let pos = target.try_mul(&clamped_log(input)?)?;
        let neg = one_minus(target)?.try_mul(&clamped_log(&one_minus(input)?)?)?;
        times(pos.try_add(&neg)?.try_neg()?, w)
    })?;
    let loss = record_elementwise(
        loss,
        "BinaryCrossEntropyBackward0",
        [input, target],
        opts.weight.clone(),
        |x, t| {
            let denom = one_minus(x)?.try_mul(x)?.clamp_min(1e-12)?;
            x.try_sub(t)?.try_div(&denom)
        },
        |x, _| clamped_log(&one_minus(x)?)?.try_sub(&clamped_log(x)?),
    );
    reduce_loss(&loss, opts.reduction)
}

/// `log(1 + e^-x)` computed stably, a constant (no graph).
fn softplus_neg(x: &Tensor) -> Result<Tensor> {
    fn kernel<T: FloatElement>(v: T) -> T {
        (-v.abs()).exp().ln_1p() + (-v).max(T::zero())
    }
    with_float!(x.dtype(), T => {
        let v = x.with_data(|d: &[T], l| unary_map(d, l, kernel::<T>))?;
        Tensor::from_vec(v, x.shape())
    }, d => Err(crate::reduce::not_float("binary_cross_entropy_with_logits", d)))
}

/// The weight of the log-sigmoid term, `1 + (pos_weight - 1) · target`.
fn log_weight(pos_weight: Option<&Tensor>, target: &Tensor) -> Result<Option<Tensor>> {
    pos_weight
        .map(|p| p.try_sub(1.0)?.try_mul(target)?.try_add(1.0))
        .transpose()
}

/// The binary cross-entropy between `sigmoid(input)` and `target`, computed
/// from the logits without overflow — `F.binary_cross_entropy_with_logits`.
///
/// ```
/// use ferrograd_ops::loss::{binary_cross_entropy_with_logits, BceWithLogitsOptions};
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![0.0f64, 1000.0], &[2])?;
/// let t = Tensor::from_vec(vec![1.0f64, 1.0], &[2])?;
/// let l = binary_cross_entropy_with_logits(&x, &t, BceWithLogitsOptions::default())?;
/// assert!((l.item::<f64>()? - 2f64.ln() / 2.0).abs() < 1e-12);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn binary_cross_entropy_with_logits(
    input: &Tensor,
    target: &Tensor,
    opts: BceWithLogitsOptions,
) -> Result<Tensor> {
    const OP: &str = "binary_cross_entropy_with_logits";
    check_float_target(OP, input, target)?;
    if input.shape() != target.shape() {
        return Err(Error::ShapeMismatch {
            op: OP,
            lhs: input.shape().to_vec(),
            rhs: target.shape().to_vec(),
            msg: format!(
                "Target size ({:?}) must be the same as input size ({:?})",
                target.shape(),
                input.shape()
            ),
        });
    }
    let pw = opts.pos_weight.clone();
    let loss = with_no_grad(|| {
        let sp = softplus_neg(input)?;
        let sp = match log_weight(pw.as_ref(), target)? {
            Some(lw) => sp.try_mul(&lw)?,
            None => sp,
        };
        let linear = one_minus(target)?.try_mul(input)?;
        times(linear.try_add(&sp)?, opts.weight.as_ref())
    })?;
    let pw_t = opts.pos_weight.clone();
    let loss = record_elementwise(
        loss,
        "BinaryCrossEntropyWithLogitsBackward0",
        [input, target],
        opts.weight.clone(),
        // d/dx = lw · sigmoid(x) - pos_weight · t
        move |x, t| match (&pw, log_weight(pw.as_ref(), t)?) {
            (Some(p), Some(lw)) => x.sigmoid()?.try_mul(&lw)?.try_sub(&p.try_mul(t)?),
            _ => x.sigmoid()?.try_sub(t),
        },
        // d/dt = (pos_weight - 1) · log(1 + e^-x) - x
        move |x, _| match &pw_t {
            Some(p) => p
                .try_sub(1.0)?
                .try_mul(&x.try_neg()?.softplus()?)?
                .try_sub(x),
            None => x.try_neg(),
        },
    );
    reduce_loss(&loss, opts.reduction)
}
