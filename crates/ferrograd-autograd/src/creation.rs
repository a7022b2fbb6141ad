//! Creating tensors from nothing: `zeros`, `ones`, `full`, `arange` and the
//! `*_like` forms.

use crate::scalar::Scalar;
use crate::Tensor;
use ferrograd_storage::{with_dtype, CpuBuffer, DType, DTypeCategory, Element, Error, Result};

impl Tensor {
    /// A tensor of `shape` filled with zeros.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let z = Tensor::zeros(&[2, 3], DType::F32)?;
    /// assert_eq!(z.to_vec::<f32>()?, vec![0.0; 6]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        let n = checked_numel(shape)?;
        Tensor::from_buffer(CpuBuffer::zeros(dtype, n), shape)
    }

    /// A tensor of `shape` filled with ones.
    pub fn ones(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, 1, dtype)
    }

    /// A tensor of `shape` filled with `value` converted to `dtype`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// assert_eq!(Tensor::full(&[2], 7, DType::I32)?.to_vec::<i32>()?, vec![7, 7]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn full(shape: &[usize], value: impl Into<Scalar>, dtype: DType) -> Result<Tensor> {
        let n = checked_numel(shape)?;
        let value = value.into();
        with_dtype!(dtype, T => {
            let v: T = match value {
                Scalar::Float(x) => T::from_f64(x),
                Scalar::Int(x) => T::from_i64(x),
                Scalar::Bool(x) => T::from_i64(x as i64),
            };
            Tensor::from_vec(vec![v; n], shape)
        })
    }

    /// Zeros with the shape and dtype of `other`.
    pub fn zeros_like(other: &Tensor) -> Result<Tensor> {
        Tensor::zeros(other.shape(), other.dtype())
    }

    /// Ones with the shape and dtype of `other`.
    pub fn ones_like(other: &Tensor) -> Result<Tensor> {
        Tensor::ones(other.shape(), other.dtype())
    }

    /// `value` with the shape and dtype of `other`.
    pub fn full_like(other: &Tensor, value: impl Into<Scalar>) -> Result<Tensor> {
        Tensor::full(other.shape(), value, other.dtype())
    }

    /// `start, start + 1, ...` below `end`. Integer bounds give `i64`, float bounds `f32`, like `torch.arange`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::arange(0, 4)?;
    /// assert_eq!((t.dtype(), t.to_vec::<i64>()?), (DType::I64, vec![0, 1, 2, 3]));
    /// assert_eq!(Tensor::arange(0.0, 1.0)?.dtype(), DType::F32);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn arange(start: impl Into<Scalar>, end: impl Into<Scalar>) -> Result<Tensor> {
        Tensor::arange_step(start, end, 1)
    }

    /// `start, start + step, ...` up to (not including) `end`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// assert_eq!(Tensor::arange_step(10, 0, -3)?.to_vec::<i64>()?, vec![10, 7, 4, 1]);
    /// assert_eq!(Tensor::arange_step(0.0, 1.0, 0.25)?.to_vec::<f32>()?, vec![0.0, 0.25, 0.5, 0.75]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn arange_step(
        start: impl Into<Scalar>,
        end: impl Into<Scalar>,
        step: impl Into<Scalar>,
    ) -> Result<Tensor> {
        let (start, end, step) = (start.into(), end.into(), step.into());
        let float = [start, end, step].iter().any(|s| s.category() == DTypeCategory::Float);
        let dtype = if float { DType::F32 } else { DType::I64 };
        Tensor::arange_dtype(start.to_f64(), end.to_f64(), step.to_f64(), dtype)
    }

    /// `arange` producing `dtype`.
    pub fn arange_dtype(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::invalid("arange", format!("step must be nonzero and the bounds finite (got start={start}, end={end}, step={step})")));
        }
        if (end - start) * step.signum() < 0.0 {
            return Err(Error::invalid("arange", format!("upper bound and larger bound inconsistent with step sign (start={start}, end={end}, step={step})")));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        with_dtype!(dtype, T => {
            let data: Vec<T> = (0..n).map(|i| T::from_f64(start + i as f64 * step)).collect();
            Tensor::from_vec(data, &[n])
        })
    }
}

/// The element count of `shape`, or an error if it overflows.
pub(crate) fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .ok_or_else(|| Error::invalid("create", format!("shape {shape:?} has more elements than memory can address")))
}

