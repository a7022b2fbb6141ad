//! Activation functions — `relu` (and in-place `relu_`), `leaky_relu`,
//! `gelu` (exact and tanh-approximated), `silu`, `softplus` — with PyTorch's
//! formulas, dtype rules and backward rules. First-order backward passes are
//! one fused kernel; when a graph of the backward is recorded
//! (`create_graph`), they are written with differentiable ops instead.

use super::fast_math::FloatMath;
use super::kernel::{c, float_map, float_zip, num_map, record_unary, scale_grad, Save};
use super::math::{erf, exp, sigmoid, tanh};
use crate::compare::{where_, CompareOps};
use crate::conv::require_float;
use ferrograd_autograd::Tensor;
use ferrograd_storage::cpu::unary_map_inplace;
use ferrograd_storage::{with_num_dtype, DType, Error, Result};
use num_traits::{One, Zero};
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, PI};
use std::str::FromStr;

fn relu_of_bool() -> Error {
    Error::UnsupportedDType {
        op: "relu",
        dtype: DType::Bool,
        hint: "Boolean inputs not supported for relu; convert with .long() or .float() first."
            .into(),
    }
}

/// `max(x, 0)`, keeping the dtype; NaN stays NaN.
pub(crate) fn relu(x: &Tensor) -> Result<Tensor> {
    let out =
        num_map!(x, T, |v| if v < T::zero() { T::zero() } else { v }, bool => Err(relu_of_bool()))?;
    Ok(record_unary(
        x,
        out,
        "ReluBackward0",
        Save::Output,
        |g, y| {
            scale_grad!("threshold_backward", g, y, T, |v| if v > T::zero() {
                T::one()
            } else {
                T::zero()
            })
        },
    ))
}

/// `relu` written into `x`'s memory; follows the in-place rules.
pub(crate) fn relu_(x: &Tensor) -> Result<Tensor> {
    x.check_inplace()?;
    {
        let mut guard = x.storage().write()?;
        with_num_dtype!(x.dtype(), T => {
            let data = guard.as_mut_slice::<T>().ok_or_else(|| x.dtype_error::<T>("relu_"))?;
            unary_map_inplace(data, x.layout(), |v| if v < T::zero() { T::zero() } else { v });
        }, bool => return Err(relu_of_bool()));
    }
    // The gradient mask is read from the result, as PyTorch's rule does.
    let mask = if Tensor::needs_grad(&[x]) {
        Some(float_map!(&x.detach(), T, |v| if v > T::zero() {
            T::one()
        } else {
            T::zero()
        })?)
    } else {
        None
    };
    x.record_inplace("ReluBackward0", &[], &[], move |g| {
        Ok(vec![Some(match &mask {
            Some(m) => g.try_mul(m)?,
            None => g.clone(),
        })])
    });
    Ok(x.clone())
}

/// `x` where `x > 0`, else `negative_slope · x`.
pub(crate) fn leaky_relu(x: &Tensor, negative_slope: f64) -> Result<Tensor> {
    require_float("leaky_relu", x)?;
    let out = float_map!(x, T, |v| if v > T::zero() {
        v
    } else {
        v * c::<T>(negative_slope)
    })?;
    Ok(record_unary(
        x,
        out,
        "LeakyReluBackward0",
        Save::Input,
        move |g, x| {
            scale_grad!("leaky_relu_backward", g, x, T, |v| if v > T::zero() {
                T::one()
            } else {
                c::<T>(negative_slope)
            })
        },
    ))
}

/// Which formula [`gelu_with`](super::UnaryOps::gelu_with) uses
/// (PyTorch's `approximate=` argument).
///
/// ```
/// use ferrograd_ops::unary::GeluApproximate;
/// assert_eq!("tanh".parse::<GeluApproximate>()?, GeluApproximate::Tanh);
/// let e = "fast".parse::<GeluApproximate>().unwrap_err();
/// assert!(e.to_string().contains("approximate argument must be either none or tanh"));
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GeluApproximate {
    /// `x · Φ(x)` with the exact normal CDF (`approximate="none"`).
    #[default]
    None,
    /// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))` (`approximate="tanh"`).
    Tanh,
}

impl FromStr for GeluApproximate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(GeluApproximate::None),
            "tanh" => Ok(GeluApproximate::Tanh),
            other => Err(Error::invalid(
                "gelu",
                format!("approximate argument must be either none or tanh (got {other:?})."),
            )),
        }
    }
}

const KAPPA: f64 = 0.044715;
/// `√(2/π)`.
const BETA: f64 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2;

/// GELU, exact or tanh-approximated.
pub(crate) fn gelu(x: &Tensor, approximate: GeluApproximate) -> Result<Tensor> {
    require_float("gelu", x)?;
    let out = match approximate {
        GeluApproximate::None => float_map!(x, T, |v| v
            * c::<T>(0.5)
            * (T::one() + (v * c::<T>(FRAC_1_SQRT_2)).erf_k()))?,
        GeluApproximate::Tanh => float_map!(x, T, |v| {
            let inner = c::<T>(BETA) * (v + c::<T>(KAPPA) * v * v * v);
            c::<T>(0.5) * v * (T::one() + inner.tanh_k())
        })?,
    };
    Ok(record_unary(
        x,
        out,
        "GeluBackward0",
        Save::Input,
        move |g, x| {
            if Tensor::needs_grad(&[g, x]) {
                return g.try_mul(&gelu_derivative_graph(x, approximate)?);
            }
            match approximate {
                GeluApproximate::None => float_zip!("gelu_backward", g, x, T, |g, v| {
                    let cdf = c::<T>(0.5) * (T::one() + (v * c::<T>(FRAC_1_SQRT_2)).erf_k());
                    let pdf = (v * v * c::<T>(-0.5)).exp_k() * c::<T>(1.0 / (2.0 * PI).sqrt());
                    g * (cdf + v * pdf)
                }),
                GeluApproximate::Tanh => float_zip!("gelu_backward", g, x, T, |g, v| {
                    let t = (c::<T>(BETA) * (v + c::<T>(KAPPA) * v * v * v)).tanh_k();
                    let inner_d = c::<T>(BETA) * (T::one() + c::<T>(3.0 * KAPPA) * v * v);
                    let half = c::<T>(0.5);
                    g * (half * (T::one() + t) + half * v * (T::one() - t * t) * inner_d)
                }),
            }
        },
    ))
}

/// GELU's derivative built from differentiable ops (for higher-order grads).
fn gelu_derivative_graph(x: &Tensor, approximate: GeluApproximate) -> Result<Tensor> {
    match approximate {
        GeluApproximate::None => {
            let cdf = erf(&x.try_mul(FRAC_1_SQRT_2)?)?
                .try_mul(0.5)?
                .try_add(0.5)?;
            let pdf = exp(&x.try_mul(x)?.try_mul(-0.5)?)?.try_mul(1.0 / (2.0 * PI).sqrt())?;
            cdf.try_add(&x.try_mul(&pdf)?)
        }
        GeluApproximate::Tanh => {
            let x2 = x.try_mul(x)?;
            let t = tanh(
                &x.try_mul(&x2.try_mul(KAPPA)?.try_add(1.0)?)?
                    .try_mul(BETA)?,
            )?;
            let inner_d = x2.try_mul(3.0 * KAPPA * BETA)?.try_add(BETA)?;
            let slope = t.try_mul(&t)?.try_neg()?.try_add(1.0)?;
            let left = t.try_add(1.0)?.try_mul(0.5)?;
            left.try_add(&x.try_mul(&slope)?.try_mul(&inner_d)?.try_mul(0.5)?)
        }
    }
}

/// `x · sigmoid(x)`.
pub(crate) fn silu(x: &Tensor) -> Result<Tensor> {
    require_float("silu", x)?;
    let out = float_map!(x, T, |v| v * v.sigmoid_k())?;
    Ok(record_unary(
        x,
        out,
        "SiluBackward0",
        Save::Input,
        |g, x| {
            if Tensor::needs_grad(&[g, x]) {
                let s = sigmoid(x)?;
                let inner = x.try_mul(&s.try_neg()?.try_add(1.0)?)?.try_add(1.0)?;
                return g.try_mul(&s.try_mul(&inner)?);
            }
            float_zip!("silu_backward", g, x, T, |g, v| {
                let s = v.sigmoid_k();
                g * s * (T::one() + v * (T::one() - s))
            })
        },
    ))
}

/// `log(1 + e^(βx)) / β`, or `x` where `βx > threshold`.
pub(crate) fn softplus(x: &Tensor, beta: f64, threshold: f64) -> Result<Tensor> {
    require_float("softplus", x)?;
    let out = float_map!(x, T, |v| {
        let z = v * c::<T>(beta);
        if z > c::<T>(threshold) {
            v
        } else {
            z.exp_k().ln_1p() / c::<T>(beta)
        }
    })?;
    Ok(record_unary(
        x,
        out,
        "SoftplusBackward0",
        Save::Input,
        move |g, x| {
            if Tensor::needs_grad(&[g, x]) {
                let z = x.try_mul(beta)?;
                return where_(&z.gt(threshold)?, g, &g.try_mul(&sigmoid(&z)?)?);
            }
            float_zip!("softplus_backward", g, x, T, |g, v| {
                let z = v * c::<T>(beta);
                if z > c::<T>(threshold) {
                    g
                } else {
                    g * z.sigmoid_k()
                }
            })
        },
    ))
}
