//! Dtype conversion (`to_dtype`, `float()`, `double()`, `long()`, `int()`,
//! `bool()`) and materialisation (`contiguous()`). Converting to the dtype a
//! tensor already has returns the same tensor, like PyTorch; a cast is
//! differentiable between floating dtypes.

use crate::Tensor;
use ferrograd_storage::cpu::cast_buffer;
use ferrograd_storage::{DType, Layout, Result, Storage};

impl Tensor {
    /// Forward-only cast used inside kernels: the same tensor if already `dtype`.
    pub(crate) fn cast_forward(&self, dtype: DType) -> Result<Tensor> {
        if self.dtype() == dtype {
            return Ok(self.clone());
        }
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() {
            return crate::cuda::cast(self, dtype);
        }
        let buf = self.with_read(|b, l| cast_buffer(b, l, dtype))?;
        Ok(Tensor::from_parts_unchecked(
            Storage::new(buf),
            Layout::contiguous(self.shape()),
        ))
    }

    /// This tensor converted to `dtype` (`tensor.to(dtype)`). The same tensor
    /// — same storage — when it already has that dtype.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::from_vec(vec![1.7f32, -2.2], &[2])?;
    /// assert_eq!(t.to_dtype(DType::I64)?.to_vec::<i64>()?, vec![1, -2]);
    /// assert!(t.to_dtype(DType::F32)?.shares_storage(&t));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if self.dtype() == dtype {
            return Ok(self.clone());
        }
        let out = self.cast_forward(dtype)?;
        if !dtype.is_floating_point() {
            return Ok(out);
        }
        let from = self.dtype();
        Ok(out.with_grad_fn("ToCopyBackward0", &[self], &[], move |g| {
            Ok(vec![Some(g.to_dtype(from)?)])
        }))
    }

    /// `to_dtype(DType::F32)`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::from_vec(vec![1i64, 2], &[2])?.float()?;
    /// assert_eq!(t.dtype(), DType::F32);
    /// assert_eq!(t.to_vec::<f32>()?, vec![1.0, 2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn float(&self) -> Result<Tensor> {
        self.to_dtype(DType::F32)
    }

    /// `to_dtype(DType::F64)`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::from_vec(vec![1.5f32], &[1])?.requires_grad_(true)?;
    /// let d = x.double()?;
    /// assert_eq!(d.dtype(), DType::F64);
    /// (&d * 2.0).sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![2.0]); // back in f32
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn double(&self) -> Result<Tensor> {
        self.to_dtype(DType::F64)
    }

    /// `to_dtype(DType::I64)`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![2.9f32, -2.9], &[2])?;
    /// assert_eq!(t.long()?.to_vec::<i64>()?, vec![2, -2]); // truncates toward zero
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn long(&self) -> Result<Tensor> {
        self.to_dtype(DType::I64)
    }

    /// `to_dtype(DType::I32)`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::from_vec(vec![true, false], &[2])?.int()?;
    /// assert_eq!((t.dtype(), t.to_vec::<i32>()?), (DType::I32, vec![1, 0]));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn int(&self) -> Result<Tensor> {
        self.to_dtype(DType::I32)
    }

    /// `to_dtype(DType::Bool)`: non-zero becomes `true`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![0.0f32, -0.5, 3.0], &[3])?;
    /// assert_eq!(t.bool()?.to_vec::<bool>()?, vec![false, true, true]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn bool(&self) -> Result<Tensor> {
        self.to_dtype(DType::Bool)
    }

    /// `to_dtype(DType::U8)`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::from_vec(vec![7i64, 255], &[2])?.byte()?;
    /// assert_eq!((t.dtype(), t.to_vec::<u8>()?), (DType::U8, vec![7, 255]));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn byte(&self) -> Result<Tensor> {
        self.to_dtype(DType::U8)
    }

    /// A row-major tensor with the same values: this very tensor if it is
    /// already contiguous, otherwise a copy (differentiable).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1, 2, 3, 4i64], &[2, 2])?;
    /// assert!(t.contiguous()?.shares_storage(&t));
    /// let c = t.t()?.contiguous()?;
    /// assert!(!c.shares_storage(&t) && c.is_contiguous());
    /// assert_eq!(c.to_vec::<i64>()?, vec![1, 3, 2, 4]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let out = self.contiguous_owned()?;
        Ok(out.with_grad_fn("CloneBackward0", &[self], &[], |g| {
            Ok(vec![Some(g.clone())])
        }))
    }

    /// A copy with its own storage, differentiable (`tensor.clone()` in PyTorch).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let c = x.deep_clone()?;
    /// assert!(!c.shares_storage(&x));
    /// assert_eq!(c.grad_fn().unwrap().name(), "CloneBackward0");
    /// c.sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![1.0, 1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn deep_clone(&self) -> Result<Tensor> {
        let out = self.contiguous_owned()?;
        Ok(out.with_grad_fn("CloneBackward0", &[self], &[], |g| {
            Ok(vec![Some(g.clone())])
        }))
    }
}
