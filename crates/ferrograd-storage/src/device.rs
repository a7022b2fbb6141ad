//! Where a tensor's memory lives: [`Device`], and whether a device can be
//! used in this build ([`Device::is_cuda_available`],
//! [`Device::cuda_if_available`], [`Device::check_available`]).

use std::fmt;

/// A compute device. Without the `cuda` feature only [`Device::Cpu`] holds
/// data and asking for [`Device::Cuda`] returns
/// [`crate::Error::CudaNotAvailable`]; with it, `Cuda(n)` works where a
/// driver and a GPU are present.
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
#[cfg(not(feature = "cuda"))]
const NO_CUDA_REASON: &str = "ferrograd was built without the `cuda` feature";

impl Device {
    /// True for [`Device::Cuda`].
    ///
    /// ```
    /// use ferrograd_storage::Device;
    /// assert!(Device::Cuda(1).is_cuda());
    /// assert!(!Device::Cpu.is_cuda());
    /// assert!(!Device::default().is_cuda()); // the default device is the CPU
    /// ```
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// Whether CUDA tensors can be made (`torch.cuda.is_available()`).
    /// Always `false` without the `cuda` feature; with it, `true` when the
    /// driver library loads and sees at least one GPU (probed once).
    ///
    /// ```
    /// use ferrograd_storage::Device;
    /// if !cfg!(feature = "cuda") {
    ///     assert!(!Device::is_cuda_available());
    /// }
    /// ```
    pub fn is_cuda_available() -> bool {
        Device::Cuda(0).check_available().is_ok()
    }

    /// `Device::Cuda(ordinal)` when that GPU can be used, else [`Device::Cpu`]:
    /// the portable way to write `"cuda" if torch.cuda.is_available() else "cpu"`.
    ///
    /// ```
    /// use ferrograd_storage::Device;
    /// let device = Device::cuda_if_available(0);
    /// assert_eq!(device.is_cuda(), Device::is_cuda_available());
    /// ```
    pub fn cuda_if_available(ordinal: usize) -> Device {
        if Device::Cuda(ordinal).check_available().is_ok() {
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
    /// if !Device::is_cuda_available() {
    ///     let e = Device::Cuda(0).check_available().unwrap_err();
    ///     assert!(e.to_string().starts_with("CUDA is not available: "));
    /// }
    /// ```
    pub fn check_available(self) -> crate::Result<()> {
        match self {
            Device::Cpu => Ok(()),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => Err(crate::Error::CudaNotAvailable {
                reason: NO_CUDA_REASON.into(),
            }),
            #[cfg(feature = "cuda")]
            Device::Cuda(ordinal) => match crate::cuda_probe::device_count() {
                Ok(n) if ordinal < n => Ok(()),
                Ok(n) => Err(crate::Error::CudaNotAvailable {
                    reason: format!(
                        "cuda:{ordinal} was asked for but only {n} CUDA device(s) are visible"
                    ),
                }),
                Err(reason) => Err(crate::Error::CudaNotAvailable { reason }),
            },
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
