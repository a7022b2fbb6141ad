//! Bounding values: `clamp` (and `clamp_min`, `clamp_max`, in-place
//! `clamp_`) against scalar bounds, and the elementwise `maximum` /
//! `minimum` of two broadcast tensors. NaN propagates, as in PyTorch; on
//! ties `maximum`/`minimum` split the gradient evenly between the inputs.

use super::kernel::{c, cast_for_kernel, float_map, float_zip, map_typed, scale_grad, zip_typed};
use ferrograd_autograd::{check_same_device, reduce_grad, InputMeta, SavedTensor, Scalar, Tensor};
use ferrograd_storage::cpu::unary_map_inplace;
use ferrograd_storage::{with_num_dtype, DType, Element, Error, NumElement, Result};
use num_traits::{One, Zero};

/// The bounds of a clamp, checked and converted.
struct Bounds {
    min: Option<Scalar>,
    max: Option<Scalar>,
    /// The dtype of the result: the input's, promoted by the bounds.
    dtype: DType,
}

impl Bounds {
    fn new(
        op: &'static str,
        x: &Tensor,
        min: Option<Scalar>,
        max: Option<Scalar>,
    ) -> Result<Bounds> {
        if min.is_none() && max.is_none() {
            return Err(Error::invalid(
                op,
                "At least one of 'min' or 'max' must not be None; pass a bound, e.g. clamp(Some(0.0.into()), None).",
            ));
        }
        let dtype = [min, max].iter().flatten().fold(x.dtype(), |d, s| {
            DType::promote_with_scalar(d, s.category())
        });
        if dtype == DType::Bool {
            return Err(Error::UnsupportedDType {
                op,
                dtype,
                hint: "Clamping a bool tensor with bool bounds is not supported; convert with .long() first.".into(),
            });
        }
        Ok(Bounds { min, max, dtype })
    }

    fn typed<T: Element>(&self) -> (Option<T>, Option<T>) {
        let to = |s: Scalar| match s {
            Scalar::Int(v) => T::from_i64(v),
            other => T::from_f64(other.to_f64()),
        };
        (self.min.map(to), self.max.map(to))
    }

    /// The open interval where the gradient passes (as PyTorch 2's rule:
    /// zero at the bounds themselves).
    fn open_interval(&self) -> (f64, f64) {
        (
            self.min.map_or(f64::NEG_INFINITY, Scalar::to_f64),
            self.max.map_or(f64::INFINITY, Scalar::to_f64),
        )
    }

    /// `g · [min < x < max]` (a constant coefficient: differentiable in `g`).
    fn grad(&self, g: &Tensor, x: &Tensor) -> Result<Tensor> {
        let (lo, hi) = self.open_interval();
        scale_grad!(
            "clamp_backward",
            g,
            x,
            T,
            |v| if v > c::<T>(lo) && v < c::<T>(hi) {
                T::one()
            } else {
                T::zero()
            }
        )
    }
}

/// `v` limited to `[lo, hi]`; NaN stays NaN, and `lo > hi` gives `hi`.
#[inline(always)]
fn clamp_value<T: PartialOrd + Copy>(v: T, lo: Option<T>, hi: Option<T>) -> T {
    let v = match lo {
        Some(lo) if v < lo => lo,
        _ => v,
    };
    match hi {
        Some(hi) if v > hi => hi,
        _ => v,
    }
}

/// The clamp kernel with the bound checks hoisted out of the loop.
fn clamp_kernel<T: NumElement>(x: &Tensor, lo: Option<T>, hi: Option<T>) -> Result<Tensor> {
    match (lo, hi) {
        (Some(_), Some(_)) => map_typed(x, move |v: T| clamp_value(v, lo, hi)),
        (Some(_), None) => map_typed(x, move |v: T| clamp_value(v, lo, None)),
        _ => map_typed(x, move |v: T| clamp_value(v, None, hi)),
    }
}

/// `x` limited to `[min, max]` (either may be absent); `name` is the
/// backward node's name.
pub(crate) fn clamp(
    x: &Tensor,
    min: Option<Scalar>,
    max: Option<Scalar>,
    name: &'static str,
) -> Result<Tensor> {
    let bounds = Bounds::new("clamp", x, min, max)?;
    let base = cast_for_kernel(x, bounds.dtype)?;
    let out = with_num_dtype!(bounds.dtype, T => {
        let (lo, hi) = bounds.typed::<T>();
        clamp_kernel(&base, lo, hi)?
    }, bool => unreachable_bool()?);
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let saved = SavedTensor::input(x);
    let kept = saved.clone();
    Ok(out.with_grad_fn(name, &[x], &[&saved], move |g| {
        Ok(vec![Some(bounds.grad(g, &kept.unpack()?)?)])
    }))
}

/// `clamp` written into `x`'s memory; the result dtype must fit `x`'s.
pub(crate) fn clamp_(x: &Tensor, min: Option<Scalar>, max: Option<Scalar>) -> Result<Tensor> {
    x.check_inplace()?;
    let bounds = Bounds::new("clamp_", x, min, max)?;
    if bounds.dtype != x.dtype() {
        return Err(Error::DTypeMismatch {
            op: "clamp_",
            expected: x.dtype(),
            got: bounds.dtype,
            hint: format!(
                "result type {} can't be cast to the desired output type {}; use the out-of-place clamp, or convert the tensor first.",
                bounds.dtype.legacy_name(),
                x.dtype().legacy_name()
            ),
        });
    }
    // The gradient mask depends on the values before they are overwritten.
    let mask = if Tensor::needs_grad(&[x]) {
        let (lo, hi) = bounds.open_interval();
        Some(float_map!(
            &x.detach(),
            T,
            |v| if v > c::<T>(lo) && v < c::<T>(hi) {
                T::one()
            } else {
                T::zero()
            }
        )?)
    } else {
        None
    };
    {
        let mut guard = x.storage().write()?;
        with_num_dtype!(x.dtype(), T => {
            let (lo, hi) = bounds.typed::<T>();
            let data = guard.as_mut_slice::<T>().ok_or_else(|| x.dtype_error::<T>("clamp_"))?;
            unary_map_inplace(data, x.layout(), move |v| clamp_value(v, lo, hi));
        }, bool => {
            unreachable_bool()?;
        });
    }
    x.record_inplace("ClampBackward1", &[], &[], move |g| {
        Ok(vec![Some(match &mask {
            Some(m) => g.try_mul(m)?,
            None => g.clone(),
        })])
    });
    Ok(x.clone())
}

/// `Bounds::new` refuses bool results; this keeps the dispatch total.
fn unreachable_bool() -> Result<Tensor> {
    Err(Error::UnsupportedDType {
        op: "clamp",
        dtype: DType::Bool,
        hint: "convert with .long() first.".into(),
    })
}

/// True for NaN (and never for integers or bools).
#[inline(always)]
#[allow(clippy::eq_op)]
fn is_nan<T: PartialOrd + Copy>(v: T) -> bool {
    v != v
}

/// Which of the two elementwise extremes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extreme {
    Maximum,
    Minimum,
}

impl Extreme {
    fn name(self) -> &'static str {
        match self {
            Extreme::Maximum => "maximum",
            Extreme::Minimum => "minimum",
        }
    }
}

/// The larger (or smaller) of `a` and `b` elementwise, broadcast and promoted.
pub(crate) fn extreme(a: &Tensor, b: &Tensor, which: Extreme) -> Result<Tensor> {
    check_same_device(a, b)?;
    let dtype = DType::promote(a.dtype(), b.dtype());
    let (x, y) = (cast_for_kernel(a, dtype)?, cast_for_kernel(b, dtype)?);
    let out = with_num_dtype!(dtype, T => match which {
        Extreme::Maximum => zip_typed("maximum", &x, &y, |p: T, q: T| {
            if is_nan(p) || p > q { p } else { q }
        })?,
        Extreme::Minimum => zip_typed("minimum", &x, &y, |p: T, q: T| {
            if is_nan(p) || p < q { p } else { q }
        })?,
    }, bool => match which {
        Extreme::Maximum => zip_typed("maximum", &x, &y, |p: bool, q: bool| p | q)?,
        Extreme::Minimum => zip_typed("minimum", &x, &y, |p: bool, q: bool| p & q)?,
    });
    if !Tensor::needs_grad(&[a, b]) {
        return Ok(out);
    }
    let (sa, sb) = (SavedTensor::input(a), SavedTensor::input(b));
    let (ma, mb) = (InputMeta::of(a), InputMeta::of(b));
    let (ka, kb) = (sa.clone(), sb.clone());
    let node = match which {
        Extreme::Maximum => "MaximumBackward0",
        Extreme::Minimum => "MinimumBackward0",
    };
    Ok(out.with_grad_fn(node, &[a, b], &[&sa, &sb], move |g| {
        let x = cast_for_kernel(&ka.unpack()?, dtype)?;
        let y = cast_for_kernel(&kb.unpack()?, dtype)?;
        let ga = ma.grad(|| reduce_grad(&g.try_mul(&extreme_share(&x, &y, which)?)?, &ma))?;
        let gb = mb.grad(|| reduce_grad(&g.try_mul(&extreme_share(&y, &x, which)?)?, &mb))?;
        Ok(vec![ga, gb])
    }))
}

/// The share of the gradient `p` gets in `maximum(p, q)` / `minimum(p, q)`:
/// 1 where it won (or either is NaN), 0 where it lost, ½ on ties.
fn extreme_share(p: &Tensor, q: &Tensor, which: Extreme) -> Result<Tensor> {
    let op = which.name();
    match which {
        Extreme::Maximum => float_zip!(op, p, q, T, |p, q| if p == q {
            c::<T>(0.5)
        } else if p < q {
            T::zero()
        } else {
            T::one()
        }),
        Extreme::Minimum => float_zip!(op, p, q, T, |p, q| if p == q {
            c::<T>(0.5)
        } else if p > q {
            T::zero()
        } else {
            T::one()
        }),
    }
}
