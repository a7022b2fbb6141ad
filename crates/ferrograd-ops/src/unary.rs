//! Elementwise math on tensors: [`UnaryOps`] — the elementary functions
//! (`exp`, `log`, `sqrt`, `tanh`, `sigmoid`...), the activations (`relu`,
//! `gelu`, `silu`, `softplus`...), `pow`, `clamp` and the elementwise
//! `maximum`/`minimum` — each differentiable, with PyTorch's dtype rules:
//! float functions of integer tensors give `f32`, while `abs`, `relu`,
//! `clamp` and `maximum` keep the dtype. (`+ - * /` and negation live on
//! [`Tensor`] itself.)
//!
//! Kernels are written once over the element type (`kernel`), with
//! vectorisable `f32` forms of exp, tanh and sigmoid (`fast_math`).

mod activation;
mod clamp;
mod erf;
pub mod fast_math;
pub(crate) mod kernel;
mod math;
mod pow;

use clamp::Extreme;
use ferrograd_autograd::{Operand, Scalar, Tensor};
use ferrograd_storage::Result;

pub use activation::GeluApproximate;

/// Elementwise math on [`Tensor`], PyTorch's names and semantics.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::{DType, Tensor};
/// let x = Tensor::from_vec(vec![0.0f64, 1.0], &[2])?.requires_grad_(true)?;
/// let y = x.exp()?.sum()?;
/// y.backward()?;
/// assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![1.0, 1f64.exp()]);
/// let i = Tensor::from_vec(vec![1i64, 4], &[2])?;
/// assert_eq!(i.sqrt()?.dtype(), DType::F32); // float function of ints: f32
/// assert_eq!(i.abs()?.dtype(), DType::I64); // abs keeps the dtype
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait UnaryOps {
    /// `|x|`, keeping the dtype (bool is refused, as in PyTorch).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-2i32, 3], &[2])?;
    /// assert_eq!(x.abs()?.to_vec::<i32>()?, vec![2, 3]);
    /// assert!(Tensor::from_vec(vec![true], &[1])?.abs().is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn abs(&self) -> Result<Tensor>;
    /// `e^x` (integer inputs give `f32`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0i64, 1], &[2])?;
    /// assert_eq!(x.exp()?.to_vec::<f32>()?, vec![1.0, std::f32::consts::E]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn exp(&self) -> Result<Tensor>;
    /// Natural logarithm (`-inf` at 0, NaN below).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 0.0], &[2])?;
    /// assert_eq!(x.log()?.to_vec::<f32>()?, vec![0.0, f32::NEG_INFINITY]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn log(&self) -> Result<Tensor>;
    /// Square root.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![4.0f64, 9.0], &[2])?;
    /// assert_eq!(x.sqrt()?.to_vec::<f64>()?, vec![2.0, 3.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn sqrt(&self) -> Result<Tensor>;
    /// `1 / sqrt(x)`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![4.0f32, 0.25], &[2])?;
    /// assert_eq!(x.rsqrt()?.to_vec::<f32>()?, vec![0.5, 2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn rsqrt(&self) -> Result<Tensor>;
    /// Sine (radians).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, std::f64::consts::FRAC_PI_2], &[2])?;
    /// assert_eq!(x.sin()?.to_vec::<f64>()?, vec![0.0, 1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn sin(&self) -> Result<Tensor>;
    /// Cosine (radians).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, std::f64::consts::PI], &[2])?;
    /// assert_eq!(x.cos()?.to_vec::<f64>()?, vec![1.0, -1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn cos(&self) -> Result<Tensor>;
    /// Hyperbolic tangent.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f32, 20.0, -20.0], &[3])?;
    /// assert_eq!(x.tanh()?.to_vec::<f32>()?, vec![0.0, 1.0, -1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn tanh(&self) -> Result<Tensor>;
    /// The logistic function `1 / (1 + e^-x)`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f32, 100.0], &[2])?;
    /// assert_eq!(x.sigmoid()?.to_vec::<f32>()?, vec![0.5, 1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn sigmoid(&self) -> Result<Tensor>;
    /// The error function `2/√π ∫₀ˣ e^(-t²) dt`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, 10.0, -10.0], &[3])?;
    /// assert_eq!(x.erf()?.to_vec::<f64>()?, vec![0.0, 1.0, -1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn erf(&self) -> Result<Tensor>;

    /// `max(x, 0)`, keeping the dtype.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-1i64, 2], &[2])?;
    /// assert_eq!(x.relu()?.to_vec::<i64>()?, vec![0, 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn relu(&self) -> Result<Tensor>;
    /// `relu` in place; returns a handle to `self`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f32, 2.0], &[2])?;
    /// x.relu_()?;
    /// assert_eq!(x.to_vec::<f32>()?, vec![0.0, 2.0]);
    /// let leaf = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// assert!(leaf.relu_().unwrap_err().to_string().contains("leaf Variable"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn relu_(&self) -> Result<Tensor>;
    /// `x` where `x > 0`, else `negative_slope · x` (floats only; PyTorch's
    /// default slope is 0.01).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-2.0f32, 3.0], &[2])?;
    /// assert_eq!(x.leaky_relu(0.5)?.to_vec::<f32>()?, vec![-1.0, 3.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn leaky_relu(&self, negative_slope: f64) -> Result<Tensor>;
    /// GELU, `x · Φ(x)` with the exact normal CDF (floats only).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, 1.0], &[2])?;
    /// let y = x.gelu()?.to_vec::<f64>()?;
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.841_344_746_068_542_9).abs() < 1e-15);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn gelu(&self) -> Result<Tensor>;
    /// GELU with PyTorch's `approximate=` choice (`"none"` or `"tanh"`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_ops::unary::GeluApproximate;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64], &[1])?;
    /// let exact = x.gelu()?.item::<f64>()?;
    /// let approx = x.gelu_with("tanh".parse()?)?.item::<f64>()?;
    /// assert!((exact - approx).abs() < 1e-3);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn gelu_with(&self, approximate: GeluApproximate) -> Result<Tensor>;
    /// SiLU (swish), `x · sigmoid(x)` (floats only).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f32, 100.0], &[2])?;
    /// assert_eq!(x.silu()?.to_vec::<f32>()?, vec![0.0, 100.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn silu(&self) -> Result<Tensor>;
    /// Softplus with PyTorch's defaults, `beta = 1`, `threshold = 20`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, 30.0], &[2])?;
    /// assert_eq!(x.softplus()?.to_vec::<f64>()?, vec![2f64.ln(), 30.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn softplus(&self) -> Result<Tensor>;
    /// `log(1 + e^(βx)) / β`, or `x` itself where `βx > threshold` (floats only).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, 3.0], &[2])?;
    /// assert_eq!(x.softplus_with(2.0, 5.0)?.to_vec::<f64>()?, vec![2f64.ln() / 2.0, 3.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn softplus_with(&self, beta: f64, threshold: f64) -> Result<Tensor>;

    /// `self ** exponent`, the exponent a Rust scalar or a tensor (broadcast).
    /// Integer bases with integer exponents stay integers.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::from_vec(vec![2i64, 3], &[2])?;
    /// assert_eq!(x.pow(2)?.to_vec::<i64>()?, vec![4, 9]);
    /// assert_eq!(x.pow(0.5)?.dtype(), DType::F32);
    /// let e = Tensor::from_vec(vec![3.0f32, 0.0], &[2])?;
    /// assert_eq!(x.pow(&e)?.to_vec::<f32>()?, vec![8.0, 1.0]);
    /// assert!(x.pow(-1).unwrap_err().to_string().contains("negative integer powers"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn pow<'a>(&self, exponent: impl Into<Operand<'a>>) -> Result<Tensor>;
    /// Limits values to `[min, max]`; either bound may be `None`, not both.
    /// The dtype promotes with the bounds (an integer tensor clamped with a
    /// float bound is `f32`); `min > max` sets every element to `max`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f32, 0.5, 2.0], &[3])?;
    /// let y = x.clamp(Some(0.0.into()), Some(1.0.into()))?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 0.5, 1.0]);
    /// assert!(x.clamp(None, None).unwrap_err().to_string().contains("At least one of 'min' or 'max'"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn clamp(&self, min: Option<Scalar>, max: Option<Scalar>) -> Result<Tensor>;
    /// `clamp(Some(min), None)`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-1i64, 5], &[2])?;
    /// assert_eq!(x.clamp_min(0)?.to_vec::<i64>()?, vec![0, 5]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn clamp_min(&self, min: impl Into<Scalar>) -> Result<Tensor>;
    /// `clamp(None, Some(max))`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-1i64, 5], &[2])?;
    /// assert_eq!(x.clamp_max(2.5)?.to_vec::<f32>()?, vec![-1.0, 2.5]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn clamp_max(&self, max: impl Into<Scalar>) -> Result<Tensor>;
    /// `clamp` in place; the promoted dtype must be `self`'s.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![-3i64, 7], &[2])?;
    /// x.clamp_(Some(0.into()), Some(5.into()))?;
    /// assert_eq!(x.to_vec::<i64>()?, vec![0, 5]);
    /// let e = x.clamp_(Some(0.5.into()), None).unwrap_err();
    /// assert!(e.to_string().contains("result type Float can't be cast to the desired output type Long"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn clamp_(&self, min: Option<Scalar>, max: Option<Scalar>) -> Result<Tensor>;
    /// The larger element of `self` and `other` (broadcast, promoted); NaN
    /// wins, and ties split the gradient evenly.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 5.0, f32::NAN], &[3])?;
    /// let b = Tensor::from_vec(vec![3.0f32, 2.0, 0.0], &[3])?;
    /// let m = a.maximum(&b)?.to_vec::<f32>()?;
    /// assert_eq!(&m[..2], &[3.0, 5.0]);
    /// assert!(m[2].is_nan());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn maximum(&self, other: &Tensor) -> Result<Tensor>;
    /// The smaller element of `self` and `other` (broadcast, promoted).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1i64, 5], &[2])?;
    /// let b = Tensor::from_vec(vec![3i64], &[1])?;
    /// assert_eq!(a.minimum(&b)?.to_vec::<i64>()?, vec![1, 3]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn minimum(&self, other: &Tensor) -> Result<Tensor>;
}

/// Returns the GPU twin's result when the tensor is on a GPU.
macro_rules! on_gpu {
    ($x:expr, $gpu:expr) => {
        #[cfg(feature = "cuda")]
        if $x.device().is_cuda() {
            return $gpu;
        }
    };
}

impl UnaryOps for Tensor {
    fn abs(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::abs(self));
        math::abs(self)
    }
    fn exp(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::exp(self));
        math::exp(self)
    }
    fn log(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::log(self));
        math::log(self)
    }
    fn sqrt(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::sqrt(self));
        math::sqrt(self)
    }
    fn rsqrt(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::rsqrt(self));
        math::rsqrt(self)
    }
    fn sin(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::sin(self));
        math::sin(self)
    }
    fn cos(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::cos(self));
        math::cos(self)
    }
    fn tanh(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::tanh(self));
        math::tanh(self)
    }
    fn sigmoid(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::sigmoid(self));
        math::sigmoid(self)
    }
    fn erf(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::erf(self));
        math::erf(self)
    }
    fn relu(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::relu(self));
        activation::relu(self)
    }
    fn relu_(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::relu_(self));
        activation::relu_(self)
    }
    fn leaky_relu(&self, negative_slope: f64) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::leaky_relu(self, negative_slope));
        activation::leaky_relu(self, negative_slope)
    }
    fn gelu(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::gelu(self, GeluApproximate::None));
        activation::gelu(self, GeluApproximate::None)
    }
    fn gelu_with(&self, approximate: GeluApproximate) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::gelu(self, approximate));
        activation::gelu(self, approximate)
    }
    fn silu(&self) -> Result<Tensor> {
        on_gpu!(self, crate::cuda::unary::silu(self));
        activation::silu(self)
    }
    fn softplus(&self) -> Result<Tensor> {
        activation::softplus(self, 1.0, 20.0)
    }
    fn softplus_with(&self, beta: f64, threshold: f64) -> Result<Tensor> {
        activation::softplus(self, beta, threshold)
    }
    fn pow<'a>(&self, exponent: impl Into<Operand<'a>>) -> Result<Tensor> {
        let exponent = exponent.into();
        #[cfg(feature = "cuda")]
        if let (true, Operand::Scalar(p)) = (self.device().is_cuda(), &exponent) {
            return crate::cuda::unary::pow_scalar(self, p.to_element::<f64>());
        }
        pow::pow(self, exponent)
    }
    fn clamp(&self, min: Option<Scalar>, max: Option<Scalar>) -> Result<Tensor> {
        clamp::clamp(self, min, max, "ClampBackward1")
    }
    fn clamp_min(&self, min: impl Into<Scalar>) -> Result<Tensor> {
        clamp::clamp(self, Some(min.into()), None, "ClampMinBackward0")
    }
    fn clamp_max(&self, max: impl Into<Scalar>) -> Result<Tensor> {
        clamp::clamp(self, None, Some(max.into()), "ClampMaxBackward0")
    }
    fn clamp_(&self, min: Option<Scalar>, max: Option<Scalar>) -> Result<Tensor> {
        clamp::clamp_(self, min, max)
    }
    fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        clamp::extreme(self, other, Extreme::Maximum)
    }
    fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        clamp::extreme(self, other, Extreme::Minimum)
    }
}
