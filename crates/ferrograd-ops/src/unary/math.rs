//! The elementary functions of one tensor — `abs`, `exp`, `log`, `sqrt`,
//! `rsqrt`, `sin`, `cos`, `tanh`, `sigmoid`, `erf` — with their backward
//! rules. Float functions of integer tensors compute in `f32`, like PyTorch.

use super::fast_math::FloatMath;
use super::kernel::{float_input, float_map, float_zip, num_map, record_unary, scale_grad, Save};
use ferrograd_autograd::Tensor;
use ferrograd_storage::{DType, Error, NumElement, Result};
use num_traits::{Float, One};
use std::f64::consts::FRAC_2_SQRT_PI;

/// `e^x`.
pub(crate) fn exp(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.exp_k())?;
    Ok(record_unary(
        x,
        out,
        "ExpBackward0",
        Save::Output,
        |g, y| g.try_mul(y),
    ))
}

/// Natural logarithm.
pub(crate) fn log(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.ln())?;
    Ok(record_unary(x, out, "LogBackward0", Save::Input, |g, x| {
        g.try_div(x)
    }))
}

/// Square root.
pub(crate) fn sqrt(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.sqrt())?;
    Ok(record_unary(
        x,
        out,
        "SqrtBackward0",
        Save::Output,
        |g, y| g.try_div(&y.try_mul(2.0)?),
    ))
}

/// `1 / sqrt(x)`.
pub(crate) fn rsqrt(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| T::one() / v.sqrt())?;
    Ok(record_unary(
        x,
        out,
        "RsqrtBackward0",
        Save::Output,
        |g, y| {
            // d/dx x^(-1/2) = -1/2 · y³
            g.try_mul(&y.try_mul(y)?.try_mul(y)?)?.try_mul(-0.5)
        },
    ))
}

/// Sine.
pub(crate) fn sin(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.sin())?;
    Ok(record_unary(x, out, "SinBackward0", Save::Input, |g, x| {
        g.try_mul(&cos(x)?)
    }))
}

/// Cosine.
pub(crate) fn cos(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.cos())?;
    Ok(record_unary(x, out, "CosBackward0", Save::Input, |g, x| {
        g.try_mul(&sin(x)?)?.try_neg()
    }))
}

/// Hyperbolic tangent; its backward `g · (1 - y²)` is one fused pass unless
/// a graph of the backward is being recorded.
pub(crate) fn tanh(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.tanh_k())?;
    Ok(record_unary(
        x,
        out,
        "TanhBackward0",
        Save::Output,
        |g, y| {
            if Tensor::needs_grad(&[g, y]) {
                g.try_mul(&y.try_mul(y)?.try_neg()?.try_add(1.0)?)
            } else {
                float_zip!("tanh_backward", g, y, T, |g, y| g * (T::one() - y * y))
            }
        },
    ))
}

/// The logistic function; backward `g · y · (1 - y)`, fused like `tanh`'s.
pub(crate) fn sigmoid(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.sigmoid_k())?;
    Ok(record_unary(
        x,
        out,
        "SigmoidBackward0",
        Save::Output,
        |g, y| {
            if Tensor::needs_grad(&[g, y]) {
                g.try_mul(&y.try_mul(&y.try_neg()?.try_add(1.0)?)?)
            } else {
                float_zip!("sigmoid_backward", g, y, T, |g, y| g * y * (T::one() - y))
            }
        },
    ))
}

/// The error function; backward `g · 2/√π · e^(-x²)`.
pub(crate) fn erf(x: &Tensor) -> Result<Tensor> {
    let out = float_map!(&*float_input(x)?, T, |v| v.erf_k())?;
    Ok(record_unary(x, out, "ErfBackward0", Save::Input, |g, x| {
        let bell = exp(&x.try_mul(x)?.try_neg()?)?;
        g.try_mul(&bell.try_mul(FRAC_2_SQRT_PI)?)
    }))
}

/// `|x|`, keeping the dtype (`u8` unchanged; bool refused, like PyTorch).
pub(crate) fn abs(x: &Tensor) -> Result<Tensor> {
    let out = num_map!(x, T, |v| abs_value(v), bool => Err(Error::UnsupportedDType {
        op: "abs",
        dtype: DType::Bool,
        hint: "\"abs_cpu\" is not implemented for 'Bool'; convert with .long() or .float() first.".into(),
    }))?;
    Ok(record_unary(x, out, "AbsBackward0", Save::Input, |g, x| {
        scale_grad!("abs_backward", g, x, T, |v| sign(v))
    }))
}

/// `|v|` for any numeric type (wrapping for the most negative integer).
fn abs_value<T: NumElement>(v: T) -> T {
    if v < T::zero() {
        T::zero().sub_wrap(v)
    } else {
        v
    }
}

/// -1, 0 or 1 (0 for NaN), as `torch.sgn` gives for real numbers.
fn sign<T: Float>(v: T) -> T {
    if v > T::zero() {
        T::one()
    } else if v < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}
