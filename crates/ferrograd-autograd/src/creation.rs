//! Creating tensors from nothing: `zeros`, `ones`, `full`, `empty`,
//! `arange`, `linspace`, `eye` and the `*_like` forms. (Random tensors live in
//! `random.rs`, tensors from literals in the `tensor!` macro.)

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
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::ones(&[2, 2], DType::I64)?;
    /// assert_eq!((t.shape(), t.dtype()), (&[2, 2][..], DType::I64));
    /// assert_eq!(t.to_vec::<i64>()?, vec![1; 4]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
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
            Tensor::from_vec(vec![value.to_element::<T>(); n], shape)
        })
    }

    /// Zeros with the shape, dtype and device of `other`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let z = Tensor::zeros_like(&Tensor::ones(&[2, 3], DType::F64)?)?;
    /// assert_eq!((z.shape(), z.dtype()), (&[2, 3][..], DType::F64));
    /// assert_eq!(z.to_vec::<f64>()?, vec![0.0; 6]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn zeros_like(other: &Tensor) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if other.device().is_cuda() {
            return Tensor::full_like(other, 0);
        }
        Tensor::zeros(other.shape(), other.dtype())
    }

    /// Ones with the shape, dtype and device of `other`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::ones_like(&Tensor::from_vec(vec![5i32, 6], &[2])?)?;
    /// assert_eq!(t.dtype(), DType::I32);
    /// assert_eq!(t.to_vec::<i32>()?, vec![1, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn ones_like(other: &Tensor) -> Result<Tensor> {
        Tensor::full_like(other, 1)
    }

    /// `value` with the shape, dtype and device of `other`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::full_like(&Tensor::zeros(&[3], DType::F32)?, 2.5)?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![2.5; 3]);
    /// let i = Tensor::full_like(&Tensor::zeros(&[2], DType::I64)?, 7)?;
    /// assert_eq!(i.to_vec::<i64>()?, vec![7, 7]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn full_like(other: &Tensor, value: impl Into<Scalar>) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if other.device().is_cuda() {
            let value = value.into();
            return crate::cuda::full(other.shape(), value, other.dtype(), other.device());
        }
        Tensor::full(other.shape(), value, other.dtype())
    }

    /// A tensor of `shape` whose values are unspecified, like `torch.empty`.
    ///
    /// ferrograd fills it with zeros taken from the allocator's zeroed pages,
    /// which the OS maps lazily, so it costs no more than an uninitialised
    /// buffer; code should still not rely on the values.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::empty(&[2, 3], DType::F64)?;
    /// assert_eq!((t.shape(), t.dtype()), (&[2, 3][..], DType::F64));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn empty(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::zeros(shape, dtype)
    }

    /// An [`empty`](Self::empty) tensor with the shape and dtype of `other`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::empty_like(&Tensor::ones(&[4], DType::I32)?)?;
    /// assert_eq!((t.shape(), t.dtype()), (&[4][..], DType::I32));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn empty_like(other: &Tensor) -> Result<Tensor> {
        Tensor::empty(other.shape(), other.dtype())
    }

    /// `steps` evenly spaced `f32` values from `start` to `end`, both included
    /// (`torch.linspace`). `steps` must be non-negative; one step gives `[start]`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// assert_eq!(Tensor::linspace(0, 1, 5)?.to_vec::<f32>()?, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// assert_eq!(Tensor::linspace(3.0, 10.0, 1)?.to_vec::<f32>()?, vec![3.0]);
    /// let e = Tensor::linspace(0, 1, -1).unwrap_err();
    /// assert_eq!(e.to_string(), "linspace: number of steps must be non-negative (got -1)");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn linspace(
        start: impl Into<Scalar>,
        end: impl Into<Scalar>,
        steps: i64,
    ) -> Result<Tensor> {
        Tensor::linspace_dtype(start, end, steps, DType::F32)
    }

    /// [`linspace`](Self::linspace) producing `dtype` (any but `bool`, as in
    /// PyTorch). Values are computed in `f64` — from `start` for the first half
    /// and from `end` for the second, as PyTorch does, so both ends are exact —
    /// then converted (integers truncate toward zero).
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::linspace_dtype(-1, 1, 3, DType::F64)?;
    /// assert_eq!(t.to_vec::<f64>()?, vec![-1.0, 0.0, 1.0]);
    /// assert_eq!(Tensor::linspace_dtype(0, 10, 4, DType::I64)?.to_vec::<i64>()?, vec![0, 3, 6, 10]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn linspace_dtype(
        start: impl Into<Scalar>,
        end: impl Into<Scalar>,
        steps: i64,
        dtype: DType,
    ) -> Result<Tensor> {
        let steps = usize::try_from(steps).map_err(|_| {
            Error::invalid(
                "linspace",
                format!("number of steps must be non-negative (got {steps})"),
            )
        })?;
        if dtype == DType::Bool {
            return Err(Error::UnsupportedDType {
                op: "linspace",
                dtype,
                hint: "Create it as a float or integer tensor, then convert it with .bool()."
                    .into(),
            });
        }
        let (start, end) = (start.into().to_f64(), end.into().to_f64());
        let step = if steps > 1 {
            (end - start) / (steps - 1) as f64
        } else {
            0.0
        };
        let value = |i: usize| {
            if i < steps / 2 || steps == 1 {
                start + step * i as f64
            } else {
                end - step * (steps - 1 - i) as f64
            }
        };
        with_dtype!(dtype, T => Tensor::from_vec((0..steps).map(|i| T::from_f64(value(i))).collect::<Vec<T>>(), &[steps]))
    }

    /// The `n × n` identity matrix in `f32` (`torch.eye(n)`).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// assert_eq!(Tensor::eye(2)?.to_vec::<f32>()?, vec![1.0, 0.0, 0.0, 1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn eye(n: usize) -> Result<Tensor> {
        Tensor::eye_dtype(n, n, DType::F32)
    }

    /// The `n × m` matrix in `f32` with ones on the main diagonal (`torch.eye(n, m)`).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::eye_m(2, 3)?;
    /// assert_eq!(t.shape(), &[2, 3]);
    /// assert_eq!(t.to_vec::<f32>()?, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn eye_m(n: usize, m: usize) -> Result<Tensor> {
        Tensor::eye_dtype(n, m, DType::F32)
    }

    /// The `n × m` matrix of `dtype` with ones on the main diagonal.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::eye_dtype(3, 2, DType::Bool)?;
    /// assert_eq!(t.to_vec::<bool>()?, vec![true, false, false, true, false, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn eye_dtype(n: usize, m: usize, dtype: DType) -> Result<Tensor> {
        let numel = checked_numel(&[n, m])?;
        with_dtype!(dtype, T => {
            let mut data = vec![T::default(); numel];
            for i in 0..n.min(m) {
                data[i * m + i] = T::from_i64(1);
            }
            Tensor::from_vec(data, &[n, m])
        })
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
        let float = [start, end, step]
            .iter()
            .any(|s| s.category() == DTypeCategory::Float);
        let dtype = if float { DType::F32 } else { DType::I64 };
        Tensor::arange_dtype(start.to_f64(), end.to_f64(), step.to_f64(), dtype)
    }

    /// `arange` producing `dtype`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::arange_dtype(0.0, 2.0, 0.5, DType::F64)?;
    /// assert_eq!(t.to_vec::<f64>()?, vec![0.0, 0.5, 1.0, 1.5]);
    /// assert_eq!(Tensor::arange_dtype(0.0, 3.0, 1.0, DType::I32)?.to_vec::<i32>()?, vec![0, 1, 2]);
    /// assert!(Tensor::arange_dtype(0.0, 1.0, 0.0, DType::F32).is_err()); // zero step
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
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
        .ok_or_else(|| {
            Error::invalid(
                "create",
                format!("shape {shape:?} has more elements than memory can address"),
            )
        })
}
