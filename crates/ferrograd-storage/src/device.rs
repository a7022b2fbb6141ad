//! Where a tensor's memory lives: [`Device`], and whether a device can be
//! used in this build ([`Device::is_cuda_available`],
//! [`Device::cuda_if_available`], [`Device::check_available`]).

use std::fmt;

/// A compute device. Only [`Device::Cpu`] holds data in this build; asking for
/// [`Device::Cuda`] returns [`crate::Error::CudaNotAvailable`].
///
/// ```
/// use ferrograd_storage::Device;
/// assert_eq!(Device::Cpu.to_string(), "cpu");
/// assert_eq!(Device::Cuda(0).to_string(), "cuda:0");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// Host memory.
    #[default]
    Cpu,
    /// The CUDA device with this ordinal.
    Cuda(usize),
}

/// Why CUDA can't be used, for [`crate::Error::CudaNotAvailable`].
const NO_CUDA_REASON: &str = "ferrograd was built without the `cuda` feature";

impl Device {
    /// True for [`Device::Cuda`].
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// Whether CUDA tensors can be made (`torch.cuda.is_available()`).
    /// Always `false` in this build: ferrograd has no CUDA backend yet.
    ///
    /// ```
    /// use ferrograd_storage::Device;
    /// assert!(!Device::is_cuda_available());
    /// ```
    pub fn is_cuda_available() -> bool {
        false
    }

    /// `Device::Cuda(ordinal)` when CUDA is available, else [`Device::Cpu`]:
    /// the portable way to write `"cuda" if torch.cuda.is_available() else "cpu"`.
    ///
    /// ```
    /// use ferrograd_storage::Device;
    /// let device = Device::cuda_if_available(0);
    /// assert_eq!(device.is_cuda(), Device::is_cuda_available());
    /// ```
    pub fn cuda_if_available(ordinal: usize) -> Device {
        if Self::is_cuda_available() {
            Device::Cuda(ordinal)
        } else {
            Device::Cpu
        }
    }

    /// `Ok` when tensors can live on this device, else
    /// [`Error::CudaNotAvailable`](crate::Error::CudaNotAvailable) saying why.
    ///
    /// ```
    /// use ferrograd_storage::Device;
    /// assert!(Device::Cpu.check_available().is_ok());
    /// let e = Device::Cuda(0).check_available().unwrap_err();
    /// assert!(e.to_string().starts_with("CUDA is not available: "));
    /// ```
    pub fn check_available(self) -> crate::Result<()> {
        match self {
            Device::Cpu => Ok(()),
            Device::Cuda(_) => Err(crate::Error::CudaNotAvailable {
                reason: NO_CUDA_REASON.into(),
            }),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}
