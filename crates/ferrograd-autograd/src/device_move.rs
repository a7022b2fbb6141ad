//! Moving tensors between devices: [`Tensor::to_device`], [`Tensor::cpu`],
//! [`Tensor::cuda`]. This build has only the CPU, so a move to the CPU
//! returns the tensor itself (as PyTorch does for a tensor already there)
//! and a move to CUDA is an [`Error::CudaNotAvailable`](crate::Error::CudaNotAvailable) naming the reason,
//! never a panic.

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
    /// let e = x.to_device(Device::Cuda(0)).unwrap_err();
    /// assert!(e.to_string().starts_with("CUDA is not available: "));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        device.check_available()?;
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

    /// `to_device(Device::Cuda(0))`. In this build it returns
    /// [`Error::CudaNotAvailable`](crate::Error::CudaNotAvailable); write
    /// `t.to_device(Device::cuda_if_available(0))` for code that should use
    /// a GPU when there is one and the CPU otherwise.
    ///
    /// ```
    /// use ferrograd_autograd::{Device, Tensor};
    /// let t = Tensor::from_vec(vec![1.0f32], &[1])?;
    /// assert_eq!(
    ///     t.cuda().unwrap_err().to_string(),
    ///     "CUDA is not available: ferrograd was built without the `cuda` feature. \
    ///      Use Device::cuda_if_available(0) to fall back to the CPU."
    /// );
    /// let moved = t.to_device(Device::cuda_if_available(0))?;
    /// assert_eq!(moved.device(), Device::Cpu);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn cuda(&self) -> Result<Tensor> {
        self.to_device(Device::Cuda(0))
    }
}
