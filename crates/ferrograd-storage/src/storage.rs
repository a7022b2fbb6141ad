//! [`Storage`]: the reference-counted buffer every view of a tensor shares,
//! with the version counter those views share, and the borrow rules that keep
//! zero-copy views sound (many readers or one writer, checked at runtime).

use crate::{CpuBuffer, DType, Device, Element, Error, Result};
use parking_lot::lock_api::RawRwLock as _;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct StorageInner {
    buffer: RwLock<CpuBuffer>,
    version: AtomicU64,
    device: Device,
    dtype: DType,
    /// Fixed at creation: writers change values, never the length.
    len: usize,
    /// The device memory of a non-CPU storage (whose `buffer` is then empty).
    #[cfg(feature = "cuda")]
    on_device: Option<Arc<dyn crate::DeviceBuffer>>,
}

impl Drop for StorageInner {
    /// A large buffer goes to the allocator's cache for the next output of
    /// its size (see `cpu::allocator`).
    fn drop(&mut self) {
        let buffer = std::mem::replace(self.buffer.get_mut(), CpuBuffer::F32(Vec::new()));
        crate::with_buffer!(buffer, v, T => crate::cpu::recycle_vec(v));
    }
}

/// A shared, typed buffer plus the version counter of everything viewing it.
/// Cloning a `Storage` clones the handle, not the data.
///
/// ```
/// use ferrograd_storage::{CpuBuffer, Storage};
/// let s = Storage::new(CpuBuffer::F32(vec![1.0, 2.0]));
/// let alias = s.clone();
/// assert!(s.same_as(&alias));
/// alias.bump_version();
/// assert_eq!(s.version(), 1);
/// ```
#[derive(Clone)]
pub struct Storage {
    inner: Arc<StorageInner>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("dtype", &self.dtype())
            .field("len", &self.len())
            .field("version", &self.version())
            .finish()
    }
}

/// A shared borrow of a storage's buffer.
pub type ReadGuard<'a> = RwLockReadGuard<'a, CpuBuffer>;
/// An exclusive borrow of a storage's buffer.
pub type WriteGuard<'a> = RwLockWriteGuard<'a, CpuBuffer>;

fn busy(state: &'static str) -> Error {
    Error::StorageBorrowed {
        state,
        hint: "a view from numpy_mut() (or another thread writing in place) holds it; drop that view first, or work on a .clone() of the tensor".into(),
    }
}

impl Storage {
    /// Wraps a host buffer.
    pub fn new(buffer: CpuBuffer) -> Self {
        crate::cpu::keep_freed_memory();
        Storage {
            inner: Arc::new(StorageInner {
                dtype: buffer.dtype(),
                len: buffer.len(),
                buffer: RwLock::new(buffer),
                version: AtomicU64::new(0),
                device: Device::Cpu,
                #[cfg(feature = "cuda")]
                on_device: None,
            }),
        }
    }

    #[cfg(feature = "cuda")]
    pub(crate) fn with_device_buffer(buffer: Arc<dyn crate::DeviceBuffer>) -> Self {
        Storage {
            inner: Arc::new(StorageInner {
                dtype: buffer.dtype(),
                len: buffer.len(),
                buffer: RwLock::new(CpuBuffer::zeros(buffer.dtype(), 0)),
                version: AtomicU64::new(0),
                device: buffer.device(),
                on_device: Some(buffer),
            }),
        }
    }

    /// The device memory of a storage that is not on the CPU.
    #[cfg(feature = "cuda")]
    pub fn device_buffer(&self) -> Option<&Arc<dyn crate::DeviceBuffer>> {
        self.inner.on_device.as_ref()
    }

    /// `Err(NotOnHost)` for device memory, which has no host buffer to borrow.
    #[inline]
    fn check_host(&self) -> Result<()> {
        #[cfg(feature = "cuda")]
        if self.inner.device != Device::Cpu {
            return Err(crate::device_buffer::not_on_host(self.inner.device));
        }
        Ok(())
    }

    /// Wraps a typed vector.
    pub fn from_vec<T: Element>(data: Vec<T>) -> Self {
        Self::new(T::into_buffer(data))
    }

    /// The device holding the data.
    pub fn device(&self) -> Device {
        self.inner.device
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.inner.dtype
    }

    /// The number of elements in the whole buffer.
    pub fn len(&self) -> usize {
        self.inner.len
    }

    /// True for an empty buffer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when both handles share one buffer.
    pub fn same_as(&self, other: &Storage) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The version counter: how many in-place writes the buffer has seen.
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// Records one in-place write.
    pub fn bump_version(&self) {
        self.inner.version.fetch_add(1, Ordering::AcqRel);
    }

    /// Borrows the buffer for reading; fails instead of blocking if a writer holds it.
    pub fn read(&self) -> Result<ReadGuard<'_>> {
        self.check_host()?;
        self.inner
            .buffer
            .try_read()
            .ok_or_else(|| busy("mutably borrowed"))
    }

    /// Borrows the buffer for writing; fails instead of blocking if anyone else holds it.
    /// Does not bump the version: callers that change values do.
    pub fn write(&self) -> Result<WriteGuard<'_>> {
        self.check_host()?;
        self.inner
            .buffer
            .try_write()
            .ok_or_else(|| busy("borrowed"))
    }

    /// A read borrow that owns a handle to the storage, so it can outlive the
    /// tensor it came from (zero-copy array views hold one).
    pub fn read_owned(&self) -> Result<OwnedReadGuard> {
        self.check_host()?;
        // SAFETY: the raw lock is released in OwnedReadGuard::drop.
        if unsafe { self.inner.buffer.raw() }.try_lock_shared() {
            Ok(OwnedReadGuard {
                inner: self.inner.clone(),
            })
        } else {
            Err(busy("mutably borrowed"))
        }
    }

    /// An exclusive borrow that owns a handle to the storage.
    pub fn write_owned(&self) -> Result<OwnedWriteGuard> {
        self.check_host()?;
        // SAFETY: the raw lock is released in OwnedWriteGuard::drop.
        if unsafe { self.inner.buffer.raw() }.try_lock_exclusive() {
            Ok(OwnedWriteGuard {
                inner: self.inner.clone(),
            })
        } else {
            Err(busy("borrowed"))
        }
    }

    /// Takes the buffer out if this is the only handle and nobody borrows it.
    pub fn try_unwrap(self) -> std::result::Result<CpuBuffer, Storage> {
        if self.check_host().is_err() {
            return Err(self);
        }
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => Ok(std::mem::replace(
                inner.buffer.get_mut(),
                CpuBuffer::F32(Vec::new()),
            )),
            Err(inner) => Err(Storage { inner }),
        }
    }

    /// Number of handles (tensors, views, array views) sharing this buffer.
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }
}

/// A shared borrow that keeps its storage alive.
pub struct OwnedReadGuard {
    inner: Arc<StorageInner>,
}

impl Deref for OwnedReadGuard {
    type Target = CpuBuffer;
    fn deref(&self) -> &CpuBuffer {
        // SAFETY: a shared lock is held for the guard's lifetime.
        unsafe { &*self.inner.buffer.data_ptr() }
    }
}

impl Drop for OwnedReadGuard {
    fn drop(&mut self) {
        // SAFETY: acquired in Storage::read_owned.
        unsafe { self.inner.buffer.raw().unlock_shared() }
    }
}

/// An exclusive borrow that keeps its storage alive.
pub struct OwnedWriteGuard {
    inner: Arc<StorageInner>,
}

impl Deref for OwnedWriteGuard {
    type Target = CpuBuffer;
    fn deref(&self) -> &CpuBuffer {
        // SAFETY: an exclusive lock is held for the guard's lifetime.
        unsafe { &*self.inner.buffer.data_ptr() }
    }
}

impl DerefMut for OwnedWriteGuard {
    fn deref_mut(&mut self) -> &mut CpuBuffer {
        // SAFETY: an exclusive lock is held for the guard's lifetime.
        unsafe { &mut *self.inner.buffer.data_ptr() }
    }
}

impl Drop for OwnedWriteGuard {
    fn drop(&mut self) {
        // SAFETY: acquired in Storage::write_owned.
        unsafe { self.inner.buffer.raw().unlock_exclusive() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_excludes_readers_without_blocking() {
        let s = Storage::from_vec(vec![1.0f32, 2.0]);
        let w = s.write_owned().unwrap();
        assert!(s.read().is_err());
        assert!(s.read_owned().is_err());
        drop(w);
        let r1 = s.read_owned().unwrap();
        let r2 = s.read().unwrap();
        assert!(s.write().is_err());
        assert_eq!(r1.as_slice::<f32>(), r2.as_slice::<f32>());
    }

    #[test]
    fn owned_guards_outlive_the_handle() {
        let s = Storage::from_vec(vec![7i64]);
        let r = s.read_owned().unwrap();
        drop(s);
        assert_eq!(r.as_slice::<i64>(), Some(&[7i64][..]));
    }
}
