//! [`DeviceBuffer`]: memory that lives on an accelerator, as a [`Storage`]
//! holds it (only with the `cuda` feature). The trait is defined here and
//! implemented by a backend crate (`ferrograd-cuda`), so the storage layer
//! never depends on a backend. A device storage has no host buffer: every
//! CPU path that borrows one gets [`Error::NotOnHost`] instead of a panic.

use crate::{CpuBuffer, DType, Device, Error, Result, Storage};
use std::any::Any;
use std::sync::Arc;

/// A typed block of device memory owned by a backend.
///
/// ```
/// use ferrograd_storage::{CpuBuffer, DType, Device, DeviceBuffer, Error, Storage};
/// use std::sync::Arc;
///
/// // A stand-in "device" that keeps its data on the host, to show the contract.
/// #[derive(Debug)]
/// struct Mock(CpuBuffer);
/// impl DeviceBuffer for Mock {
///     fn device(&self) -> Device { Device::Cuda(0) }
///     fn dtype(&self) -> DType { self.0.dtype() }
///     fn len(&self) -> usize { self.0.len() }
///     fn to_host(&self) -> ferrograd_storage::Result<CpuBuffer> { Ok(self.0.clone()) }
///     fn as_any(&self) -> &dyn std::any::Any { self }
/// }
///
/// let s = Storage::from_device(Arc::new(Mock(CpuBuffer::F32(vec![1.0, 2.0]))));
/// assert_eq!((s.device(), s.len()), (Device::Cuda(0), 2));
/// assert!(matches!(s.read().unwrap_err(), Error::NotOnHost { .. }));
/// assert_eq!(s.to_host()?, CpuBuffer::F32(vec![1.0, 2.0]));
/// # Ok::<(), Error>(())
/// ```
pub trait DeviceBuffer: Send + Sync + std::fmt::Debug + 'static {
    /// The device holding the memory (never [`Device::Cpu`]).
    fn device(&self) -> Device;
    /// The element type.
    fn dtype(&self) -> DType;
    /// The number of elements.
    fn len(&self) -> usize;
    /// True when no element is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A host copy of all elements (blocks until the device is done).
    fn to_host(&self) -> Result<CpuBuffer>;
    /// For the backend to get its own type back.
    fn as_any(&self) -> &dyn Any;
}

impl Storage {
    /// A storage over device memory. It has no host buffer: borrowing one
    /// ([`Storage::read`], [`Storage::write`]...) returns [`Error::NotOnHost`].
    ///
    /// ```
    /// # use ferrograd_storage::{CpuBuffer, DType, Device, DeviceBuffer};
    /// # #[derive(Debug)]
    /// # struct Mock(CpuBuffer);
    /// # impl DeviceBuffer for Mock {
    /// #     fn device(&self) -> Device { Device::Cuda(0) }
    /// #     fn dtype(&self) -> DType { self.0.dtype() }
    /// #     fn len(&self) -> usize { self.0.len() }
    /// #     fn to_host(&self) -> ferrograd_storage::Result<CpuBuffer> { Ok(self.0.clone()) }
    /// #     fn as_any(&self) -> &dyn std::any::Any { self }
    /// # }
    /// use ferrograd_storage::{Error, Storage};
    /// use std::sync::Arc;
    /// // `Mock` keeps its data on the host, as in the `DeviceBuffer` example
    /// let s = Storage::from_device(Arc::new(Mock(CpuBuffer::I64(vec![3, 4]))));
    /// assert_eq!((s.device(), s.dtype(), s.len()), (Device::Cuda(0), DType::I64, 2));
    /// assert!(matches!(s.write().unwrap_err(), Error::NotOnHost { .. }));
    /// assert!(s.device_buffer().is_some());
    /// ```
    pub fn from_device(buffer: Arc<dyn DeviceBuffer>) -> Storage {
        Storage::with_device_buffer(buffer)
    }

    /// A host copy of the whole buffer, wherever it lives.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, Storage};
    /// let s = Storage::from_vec(vec![1.5f32, 2.5]);
    /// assert_eq!(s.to_host()?, CpuBuffer::F32(vec![1.5, 2.5]));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn to_host(&self) -> Result<CpuBuffer> {
        match self.device_buffer() {
            Some(b) => b.to_host(),
            None => Ok(self.read()?.clone()),
        }
    }
}

/// The error for borrowing host memory of a storage that lives on `device`.
pub(crate) fn not_on_host(device: Device) -> Error {
    Error::NotOnHost { device }
}
