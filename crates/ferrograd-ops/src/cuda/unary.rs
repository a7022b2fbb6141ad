//! The elementwise functions and activations on a GPU: the forward is one
//! kernel; the backward is written with GPU ops (products, sums and the
//! functions here), so it can be differentiated again. Float functions of
//! integer tensors compute in `f32`, and `abs`/`relu` keep the dtype, as on
//! the CPU.

use crate::unary::kernel::{float_input, record_unary, Save};
use crate::unary::GeluApproximate;
use ferrograd_autograd::cuda::{copy_inplace, unary_forward, unary_forward_with};
use ferrograd_autograd::Tensor;
use ferrograd_cuda::UnaryOp;
use ferrograd_storage::{DType, Error, Result};
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, PI};

/// `op(x)` with `x` converted to a float dtype first.
fn float_fn(x: &Tensor, op: UnaryOp) -> Result<Tensor> {
    unary_forward(op, &*float_input(x)?)
}

/// `op(x)` as a constant: no graph, for the coefficients of gradients.
fn constant(x: &Tensor, op: UnaryOp, p: f64) -> Result<Tensor> {
    unary_forward_with(op, &x.detach(), p)
}

/// `e^x`.
pub(crate) fn exp(x: &Tensor) -> Result<Tensor> {
    let out = float_fn(x, UnaryOp::Exp)?;
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
    let out = float_fn(x, UnaryOp::Log)?;
    Ok(record_unary(x, out, "LogBackward0", Save::Input, |g, x| {
        g.try_div(x)
    }))
}

/// Square root.
pub(crate) fn sqrt(x: &Tensor) -> Result<Tensor> {
    let out = float_fn(x, UnaryOp::Sqrt)?;
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
    let out = float_fn(x, UnaryOp::Rsqrt)?;
    Ok(record_unary(
        x,
        out,
        "RsqrtBackward0",
        Save::Output,
        |g, y| g.try_mul(&y.try_mul(y)?.try_mul(y)?)?.try_mul(-0.5),
    ))
}

/// Sine.
pub(crate) fn sin(x: &Tensor) -> Result<Tensor> {
    let out = float_fn(x, UnaryOp::Sin)?;
    Ok(record_unary(x, out, "SinBackward0", Save::Input, |g, x| {
        g.try_mul(&cos(x)?)
    }))
}

/// Cosine.
pub(crate) fn cos(x: &Tensor) -> Result<Tensor> {
    let out = float_fn(x, UnaryOp::Cos)?;
    Ok(record_unary(x, out, "CosBackward0", Save::Input, |g, x| {
        g.try_mul(&sin(x)?)?.try_neg()
    }))
}

/// Hyperbolic tangent; backward `g · (1 - y²)`.
pub(crate) fn tanh(x: &Tensor) -> Result<Tensor> {
    let out = float_fn(x, UnaryOp::Tanh)?;
    Ok(record_unary(
        x,
        out,
        "TanhBackward0",
        Save::Output,
        |g, y| g.try_mul(&y.try_mul(y)?.try_neg()?.try_add(1.0)?),
    ))
}

/// The logistic function; backward `g · y · (1 - y)`.
pub(crate) fn sigmoid(x: &Tensor) -> Result<Tensor> {
    let out = float_fn(x, UnaryOp::Sigmoid)?;
    Ok(record_unary(
        x,
        out,
        "SigmoidBackward0",
        Save::Output,
        |g, y| g.try_mul(&y.try_mul(&y.try_neg()?.try_add(1.0)?)?),
    ))
}

/// The error function; backward `g · 2/√π · e^(-x²)`.
pub(crate) fn erf(x: &Tensor) -> Result<Tensor> {
    let out = float_fn(x, UnaryOp::Erf)?;
    Ok(record_unary(x, out, "ErfBackward0", Save::Input, |g, x| {
        let bell = exp(&x.try_mul(x)?.try_neg()?)?;
        g.try_mul(&bell.try_mul(FRAC_2_SQRT_PI)?)
    }))
}

/// PyTorch's refusal of a bool tensor for an op that keeps the dtype.
fn bool_refused(op: &'static str) -> Error {
    Error::UnsupportedDType {
        op,
        dtype: DType::Bool,
        hint: format!(
            "\"{op}_cuda\" is not implemented for 'Bool'; convert with .long() or .float() first."
        ),
    }
}

/// `|x|`, keeping the dtype; backward `g · sign(x)`.
pub(crate) fn abs(x: &Tensor) -> Result<Tensor> {
    if x.dtype() == DType::Bool {
        return Err(bool_refused("abs"));
    }
    let out = unary_forward(UnaryOp::Abs, x)?;
    Ok(record_unary(x, out, "AbsBackward0", Save::Input, |g, x| {
        g.try_mul(&constant(x, UnaryOp::Sign, 0.0)?)
    }))
}

/// `max(x, 0)`, keeping the dtype; backward `g · [y > 0]`.
pub(crate) fn relu(x: &Tensor) -> Result<Tensor> {
    if x.dtype() == DType::Bool {
        return Err(bool_refused("relu"));
    }
    let out = unary_forward(UnaryOp::Relu, x)?;
    Ok(record_unary(
        x,
        out,
        "ReluBackward0",
        Save::Output,
        |g, y| g.try_mul(&constant(y, UnaryOp::Step, 0.0)?),
    ))
}

/// `relu` written into `x`'s memory, under the in-place rules.
pub(crate) fn relu_(x: &Tensor) -> Result<Tensor> {
    x.check_inplace()?;
    if x.dtype() == DType::Bool {
        return Err(bool_refused("relu"));
    }
    let out = unary_forward(UnaryOp::Relu, &x.detach())?;
    copy_inplace(x, &out, out.layout())?;
    let mask = if Tensor::needs_grad(&[x]) {
        Some(constant(&out, UnaryOp::Step, 0.0)?.to_dtype(x.dtype())?)
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

/// `x` where `x > 0`, else `slope · x` (floating tensors only).
pub(crate) fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    crate::conv::require_float("leaky_relu", x)?;
    let out = unary_forward_with(UnaryOp::LeakyRelu, x, slope)?;
    Ok(record_unary(
        x,
        out,
        "LeakyReluBackward0",
        Save::Input,
        move |g, x| g.try_mul(&constant(x, UnaryOp::LeakyReluGrad, slope)?),
    ))
}

/// `x · σ(x)`; backward `g · σ(x) (1 + x (1 - σ(x)))`.
pub(crate) fn silu(x: &Tensor) -> Result<Tensor> {
    crate::conv::require_float("silu", x)?;
    let out = unary_forward(UnaryOp::Silu, x)?;
    Ok(record_unary(
        x,
        out,
        "SiluBackward0",
        Save::Input,
        |g, x| {
            let s = sigmoid(x)?;
            let inner = x.try_mul(&s.try_neg()?.try_add(1.0)?)?.try_add(1.0)?;
            g.try_mul(&s.try_mul(&inner)?)
        },
    ))
}

/// GELU, exact or tanh-approximated (floating tensors only).
pub(crate) fn gelu(x: &Tensor, approximate: GeluApproximate) -> Result<Tensor> {
    crate::conv::require_float("gelu", x)?;
    let op = match approximate {
        GeluApproximate::None => UnaryOp::Gelu,
        GeluApproximate::Tanh => UnaryOp::GeluTanh,
    };
    let out = unary_forward(op, x)?;
    Ok(record_unary(
        x,
        out,
        "GeluBackward0",
        Save::Input,
        move |g, x| g.try_mul(&gelu_derivative(x, approximate)?),
    ))
}

/// `d gelu / dx`, written with differentiable GPU ops.
fn gelu_derivative(x: &Tensor, approximate: GeluApproximate) -> Result<Tensor> {
    match approximate {
        GeluApproximate::None => {
            let cdf = erf(&x.try_mul(FRAC_1_SQRT_2)?)?
                .try_mul(0.5)?
                .try_add(0.5)?;
            let pdf = exp(&x.try_mul(x)?.try_mul(-0.5)?)?.try_mul(1.0 / (2.0 * PI).sqrt())?;
            cdf.try_add(&x.try_mul(&pdf)?)
        }
        GeluApproximate::Tanh => {
            const BETA: f64 = 0.797_884_560_802_865_4; // √(2/π)
            const KAPPA: f64 = 0.044715;
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

/// `x^p` for a floating `x` and a scalar exponent; backward `g · p · x^(p-1)`.
pub(crate) fn pow_scalar(x: &Tensor, p: f64) -> Result<Tensor> {
    crate::conv::require_float("pow", x)?;
    let out = unary_forward_with(UnaryOp::Pow, x, p)?;
    Ok(record_unary(
        x,
        out,
        "PowBackward0",
        Save::Input,
        move |g, x| g.try_mul(&pow_scalar(x, p - 1.0)?.try_mul(p)?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrograd_autograd::Device;
    use ferrograd_storage::{CpuBuffer, DeviceBuffer, Layout, Storage};
    use std::sync::Arc;

    /// Device memory the kernels don't know: ops reach it only after their
    /// own checks, so a check's error shows without a GPU.
    #[derive(Debug)]
    struct Elsewhere(CpuBuffer);

    impl DeviceBuffer for Elsewhere {
        fn device(&self) -> Device {
            Device::Cuda(0)
        }
        fn dtype(&self) -> DType {
            self.0.dtype()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn to_host(&self) -> Result<CpuBuffer> {
            Ok(self.0.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    fn on_device(buffer: CpuBuffer, shape: &[usize]) -> Tensor {
        let storage = Storage::from_device(Arc::new(Elsewhere(buffer)));
        Tensor::from_parts(storage, Layout::contiguous(shape)).unwrap()
    }

    #[test]
    fn dtype_refusals_come_before_any_device_work() {
        let b = on_device(CpuBuffer::Bool(vec![true, false]), &[2]);
        for e in [abs(&b).unwrap_err(), relu(&b).unwrap_err()] {
            assert!(
                matches!(
                    e,
                    Error::UnsupportedDType {
                        dtype: DType::Bool,
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(e.to_string().contains("not implemented for 'Bool'"), "{e}");
        }
        let i = on_device(CpuBuffer::I64(vec![1, 2]), &[2]);
        for e in [
            leaky_relu(&i, 0.1).unwrap_err(),
            gelu(&i, GeluApproximate::None).unwrap_err(),
            pow_scalar(&i, 2.0).unwrap_err(),
        ] {
            assert!(
                e.to_string().contains("convert its tensors with .float()"),
                "{e}"
            );
        }
    }

    #[test]
    fn memory_of_another_backend_is_an_error_not_a_panic() {
        let x = on_device(CpuBuffer::F32(vec![1.0, 2.0]), &[2]);
        let e = exp(&x).unwrap_err();
        assert!(
            e.to_string().contains("not ferrograd-cuda device memory"),
            "{e}"
        );
        // Integers go through the cast to f32 first, on the device too.
        let i = on_device(CpuBuffer::I32(vec![1, 2]), &[2]);
        assert!(tanh(&i).is_err());
    }
}
