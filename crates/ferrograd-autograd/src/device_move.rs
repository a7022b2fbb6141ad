//! Moving tensors between devices: [`Tensor::to_device`], [`Tensor::cpu`],
//! [`Tensor::cuda`]. A move to the device a tensor is already on returns the
//! tensor itself (as PyTorch does). Without the `cuda` feature only the CPU
//! exists and a move to CUDA is an [`Error::CudaNotAvailable`](crate::Error::CudaNotAvailable) naming the
//! reason, never a panic; with it, a move copies the data (contiguously) and
//! records a `ToCopyBackward0` node that moves the gradient back.

use crate::Tensor;
use ferrograd_storage::{Device, Result};

impl Tensor {
    /// This tensor on `device` (`tensor.to(device)`). On the device it is
    /// already on, the very same tensor — same storage, same place in the
    /// graph, so gradients flow through it unchanged. A device this build
    /// can't use is an [`Error::CudaNotAvailable`](crate::Error::CudaNotAvailable), checked before anything
    /// is copied.
    ///
    /// ```
    /// use ferrograd_autograd::{Device, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    /// let y = x.to_device(Device::Cpu)?;
    /// assert!(y.same_tensor(&x));
    /// (&y * 3.0).sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![3.0, 3.0]);
    ///
    /// if !Device::is_cuda_available() {
    ///     let e = x.to_device(Device::Cuda(0)).unwrap_err();
    ///     assert!(e.to_string().starts_with("CUDA is not available: "));
    /// }
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        device.check_available()?;
        #[cfg(feature = "cuda")]
        if self.device() != device {
            let from = self.device();
            let out = crate::cuda::copy_to(self, device)?;
            return Ok(out.with_grad_fn("ToCopyBackward0", &[self], &[], move |g| {
                Ok(vec![Some(g.to_device(from)?)])
            }));
        }
        // Every tensor that exists lives on an available device; with only
        // the CPU available, `device` is the tensor's own.
        debug_assert_eq!(self.device(), device);
        Ok(self.clone())
    }

    /// `to_device(Device::Cpu)`: a host tensor, ready for `numpy()`. A
    /// CPU tensor is returned as it is.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1i64, 2, 3], &[3])?;
    /// assert!(t.cpu()?.same_tensor(&t));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn cpu(&self) -> Result<Tensor> {
        self.to_device(Device::Cpu)
    }

    /// `to_device(Device::Cuda(0))`. Without the `cuda` feature, or without
    /// a driver and a GPU, it returns
    /// [`Error::CudaNotAvailable`](crate::Error::CudaNotAvailable); write
    /// `t.to_device(Device::cuda_if_available(0))` for code that should use
    /// a GPU when there is one and the CPU otherwise.
    ///
    /// ```
    /// use ferrograd_autograd::{Device, Tensor};
    /// let t = Tensor::from_vec(vec![1.0f32], &[1])?;
    /// match t.cuda() {
    ///     Ok(g) => assert_eq!(g.cpu()?.to_vec::<f32>()?, vec![1.0]),
    ///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
    /// }
    /// if !cfg!(feature = "cuda") {
    ///     assert_eq!(
    ///         t.cuda().unwrap_err().to_string(),
    ///         "CUDA is not available: ferrograd was built without the `cuda` feature. \
    ///          Use Device::cuda_if_available(0) to fall back to the CPU."
    ///     );
    /// }
    /// let moved = t.to_device(Device::cuda_if_available(0))?;
    /// assert_eq!(moved.device().is_cuda(), Device::is_cuda_available());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn cuda(&self) -> Result<Tensor> {
        self.to_device(Device::Cuda(0))
    }
}
