//! [`CudaBuffer`]: device memory as a [`Storage`] holds it, and the copies
//! between host and device ([`upload`], [`download`]). The bytes are untyped
//! on the device; the kernels read them as the storage's dtype.

use crate::backend::{backend, cuda_error, Backend};
use crate::kernels::cast;
use cudarc::driver::CudaSlice;
use ferrograd_storage::cpu::gather_contiguous;
use ferrograd_storage::{
    with_buffer, with_dtype, CpuBuffer, DType, Device, DeviceBuffer, Element, Error, Layout,
    Result, Storage,
};
use std::sync::Arc;

/// A typed block of memory on one GPU, freed when the last storage holding
/// it is dropped.
///
/// ```
/// use ferrograd_cuda::{upload, CudaBuffer};
/// use ferrograd_storage::{CpuBuffer, DType, DeviceBuffer};
/// match upload(&CpuBuffer::F32(vec![1.0, 2.0]), 0) {
///     Ok(s) => {
///         let buf = CudaBuffer::of(&s)?;
///         assert_eq!((buf.dtype(), buf.len()), (DType::F32, 2));
///         assert_eq!(format!("{buf:?}"), "CudaBuffer(cuda:0, float32, 2 elements)");
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub struct CudaBuffer {
    bytes: CudaSlice<u8>,
    dtype: DType,
    len: usize,
    backend: Arc<Backend>,
}

impl std::fmt::Debug for CudaBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaBuffer(cuda:{}, {}, {} elements)",
            self.backend.ordinal(),
            self.dtype,
            self.len
        )
    }
}

impl CudaBuffer {
    /// `len` zeroed elements of `dtype` on `backend`'s GPU.
    pub(crate) fn zeros(backend: &Arc<Backend>, dtype: DType, len: usize) -> Result<Self> {
        // A zero-byte allocation is an error for the driver.
        let nbytes = (len * dtype.size_in_bytes()).max(1);
        let bytes = backend
            .stream()
            .alloc_zeros::<u8>(nbytes)
            .map_err(|e| cuda_error(format!("allocating {nbytes} bytes"), e))?;
        Ok(CudaBuffer {
            bytes,
            dtype,
            len,
            backend: backend.clone(),
        })
    }

    /// The device memory of `storage`; an error for host memory or for
    /// device memory of another backend.
    ///
    /// ```
    /// use ferrograd_cuda::CudaBuffer;
    /// use ferrograd_storage::{CpuBuffer, Storage};
    /// let host = Storage::new(CpuBuffer::F32(vec![1.0]));
    /// let e = CudaBuffer::of(&host).unwrap_err().to_string();
    /// assert!(e.contains("is not ferrograd-cuda device memory"), "{e}");
    /// ```
    pub fn of(storage: &Storage) -> Result<&CudaBuffer> {
        storage
            .device_buffer()
            .and_then(|b| b.as_any().downcast_ref::<CudaBuffer>())
            .ok_or_else(|| {
                Error::invalid(
                    "cuda kernel",
                    format!(
                        "the tensor's memory ({}) is not ferrograd-cuda device memory; move it with .to_device(...) first",
                        storage.device()
                    ),
                )
            })
    }

    /// The untyped device memory.
    ///
    /// ```
    /// use ferrograd_cuda::{upload, CudaBuffer};
    /// use ferrograd_storage::CpuBuffer;
    /// match upload(&CpuBuffer::I64(vec![1, 2, 3]), 0) {
    ///     Ok(s) => assert_eq!(CudaBuffer::of(&s)?.bytes().len(), 3 * 8),
    ///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
    /// }
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn bytes(&self) -> &CudaSlice<u8> {
        &self.bytes
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut CudaSlice<u8> {
        &mut self.bytes
    }

    /// The backend of the GPU holding the memory.
    ///
    /// ```
    /// use ferrograd_cuda::{upload, CudaBuffer};
    /// use ferrograd_storage::CpuBuffer;
    /// match upload(&CpuBuffer::U8(vec![7]), 0) {
    ///     Ok(s) => assert_eq!(CudaBuffer::of(&s)?.backend().ordinal(), 0),
    ///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
    /// }
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }

    /// Wraps the buffer in a storage.
    ///
    /// Only this crate creates `CudaBuffer`s, and it hands them out already
    /// wrapped (by [`upload`] and every kernel), so there is no example:
    /// outside code reaches a buffer through [`CudaBuffer::of`], by reference.
    pub fn into_storage(self) -> Storage {
        Storage::from_device(Arc::new(self))
    }
}

impl DeviceBuffer for CudaBuffer {
    fn device(&self) -> Device {
        Device::Cuda(self.backend.ordinal())
    }

    fn dtype(&self) -> DType {
        self.dtype
    }

    fn len(&self) -> usize {
        self.len
    }

    fn to_host(&self) -> Result<CpuBuffer> {
        let len = self.len;
        with_dtype!(self.dtype, T => {
            let mut host = vec![T::default(); len];
            // SAFETY: `host` owns len * size_of::<T>() initialised bytes; the
            // device bytes were written by ferrograd as valid values of T
            // (bools as 0 or 1).
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(host.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(host.as_slice()))
            };
            if !bytes.is_empty() {
                self.backend
                    .stream()
                    .memcpy_dtoh(&self.bytes.slice(..bytes.len()), bytes)
                    .map_err(|e| cuda_error("copying to host", e))?;
            }
            Ok(T::into_buffer(host))
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Copies a whole host buffer to GPU `ordinal`.
///
/// ```
/// use ferrograd_storage::{CpuBuffer, Layout};
/// let host = CpuBuffer::I64(vec![1, 2, 3]);
/// match ferrograd_cuda::upload(&host, 0) {
///     Ok(s) => assert_eq!(ferrograd_cuda::download(&s, &Layout::contiguous(&[3]))?, host),
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn upload(host: &CpuBuffer, ordinal: usize) -> Result<Storage> {
    let backend = backend(ordinal)?;
    let mut buf = CudaBuffer::zeros(&backend, host.dtype(), host.len())?;
    with_buffer!(host, v, T => {
        // SAFETY: plain-old-data elements viewed as their bytes.
        let bytes = unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v.as_slice())) };
        if !bytes.is_empty() {
            backend
                .stream()
                .memcpy_htod(bytes, &mut buf.bytes.slice_mut(..bytes.len()))
                .map_err(|e| cuda_error("copying to the device", e))?;
        }
    });
    Ok(buf.into_storage())
}

/// The elements of the view `layout` of a device `storage`, row-major, on
/// the host (a strided view is first made contiguous on the device).
///
/// ```
/// use ferrograd_cuda::{download, upload};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// match upload(&CpuBuffer::I32(vec![1, 2, 3, 4, 5, 6]), 0) {
///     // The transpose of a [2, 3] buffer, read row-major.
///     Ok(s) => {
///         let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
///         assert_eq!(download(&s, &t)?, CpuBuffer::I32(vec![1, 4, 2, 5, 3, 6]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn download(storage: &Storage, layout: &Layout) -> Result<CpuBuffer> {
    if is_dense(layout, storage.len()) {
        return storage.to_host();
    }
    if CudaBuffer::of(storage).is_ok() {
        return cast((storage, layout), storage.dtype())?.to_host();
    }
    // Another backend's device memory: copy it whole, then gather on the host.
    let host = storage.to_host()?;
    Ok(with_buffer!(&host, v, T => T::into_buffer(gather_contiguous(v, layout))))
}

/// An error unless the view is the whole buffer, row-major, of `len`
/// elements: what kernels indexing raw NCHW-style buffers need.
pub(crate) fn require_dense(
    op: &'static str,
    (s, l): (&Storage, &Layout),
    len: usize,
) -> Result<()> {
    if !is_dense(l, s.len()) || l.numel() != len {
        return Err(Error::invalid(
            op,
            format!("expected a dense buffer of {len} elements, got the view {:?} of {} elements; make it contiguous first", l.shape(), s.len()),
        ));
    }
    Ok(())
}

/// True when the view is the whole buffer in row-major order.
pub(crate) fn is_dense(layout: &Layout, len: usize) -> bool {
    layout.is_contiguous() && layout.offset() == 0 && layout.numel() == len
}
