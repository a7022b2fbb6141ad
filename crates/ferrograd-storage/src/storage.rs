//! [`Storage`]: the reference-counted buffer every view of a tensor shares,
//! with the version counter those views share, and the borrow rules that keep
//! zero-copy views sound (many readers or one writer, checked at runtime).

use crate::borrow::BorrowCell;
use crate::{CpuBuffer, DType, Device, Element, Error, Result};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct StorageInner {
    buffer: BorrowCell<CpuBuffer>,
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
    /// Never downgraded to a `Weak` (the field is private and this module
    /// does not): [`Storage::reuse_unique`] relies on it.
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
///
/// ```
/// use ferrograd_storage::{ReadGuard, Storage};
/// let s = Storage::from_vec(vec![1i64, 2, 3]);
/// let r: ReadGuard<'_> = s.read()?;
/// assert_eq!(r.as_slice::<i64>(), Some(&[1i64, 2, 3][..]));
/// assert!(s.write().is_err()); // a reader excludes writers
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub struct ReadGuard<'a> {
    inner: &'a StorageInner,
}

/// An exclusive borrow of a storage's buffer.
///
/// ```
/// use ferrograd_storage::{Storage, WriteGuard};
/// let s = Storage::from_vec(vec![1.0f32, 2.0]);
/// let mut w: WriteGuard<'_> = s.write()?;
/// w.as_mut_slice::<f32>().unwrap()[0] = 5.0;
/// assert!(s.read().is_err()); // a writer excludes readers
/// drop(w);
/// assert_eq!(s.read()?.as_slice::<f32>(), Some(&[5.0f32, 2.0][..]));
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub struct WriteGuard<'a> {
    inner: &'a StorageInner,
}

fn busy(state: &'static str) -> Error {
    Error::StorageBorrowed {
        state,
        hint: "a view from numpy_mut() (or another thread writing in place) holds it; drop that view first, or work on a .clone() of the tensor".into(),
    }
}

impl Storage {
    /// Wraps a host buffer.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, DType, Device, Storage};
    /// let s = Storage::new(CpuBuffer::I32(vec![1, 2, 3]));
    /// assert_eq!((s.dtype(), s.len(), s.device()), (DType::I32, 3, Device::Cpu));
    /// assert_eq!(s.version(), 0);
    /// ```
    pub fn new(buffer: CpuBuffer) -> Self {
        crate::cpu::keep_freed_memory();
        Storage {
            inner: Arc::new(StorageInner {
                dtype: buffer.dtype(),
                len: buffer.len(),
                buffer: BorrowCell::new(buffer),
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
                buffer: BorrowCell::new(CpuBuffer::zeros(buffer.dtype(), 0)),
                version: AtomicU64::new(0),
                device: buffer.device(),
                on_device: Some(buffer),
            }),
        }
    }

    /// The device memory of a storage that is not on the CPU.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// assert!(Storage::from_vec(vec![1.0f32]).device_buffer().is_none()); // host memory
    /// ```
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
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, DType, Storage};
    /// let s = Storage::from_vec(vec![true, false]);
    /// assert_eq!(s.dtype(), DType::Bool);
    /// assert_eq!(*s.read()?, CpuBuffer::Bool(vec![true, false]));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn from_vec<T: Element>(data: Vec<T>) -> Self {
        Self::new(T::into_buffer(data))
    }

    /// The device holding the data.
    ///
    /// ```
    /// use ferrograd_storage::{Device, Storage};
    /// assert_eq!(Storage::from_vec(vec![0u8]).device(), Device::Cpu);
    /// ```
    #[inline]
    pub fn device(&self) -> Device {
        self.inner.device
    }

    /// The element type.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, DType, Storage};
    /// assert_eq!(Storage::from_vec(vec![1.0f64]).dtype(), DType::F64);
    /// assert_eq!(Storage::new(CpuBuffer::zeros(DType::U8, 4)).dtype(), DType::U8);
    /// ```
    #[inline]
    pub fn dtype(&self) -> DType {
        self.inner.dtype
    }

    /// The number of elements in the whole buffer.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// assert_eq!(Storage::from_vec(vec![0i64; 5]).len(), 5);
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.inner.len
    }

    /// True for an empty buffer.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// assert!(Storage::from_vec(Vec::<f32>::new()).is_empty());
    /// assert!(!Storage::from_vec(vec![1.0f32]).is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no other handle (strong or weak) shares this storage's
    /// buffer — two plain loads, no read-modify-write.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![1u8]);
    /// let alias = s.clone();
    /// assert!(!s.is_unique());
    /// drop(alias);
    /// assert!(s.is_unique());
    /// ```
    #[inline]
    pub fn is_unique(&self) -> bool {
        // `inner` never has a `Weak` handle (see the field).
        Arc::strong_count(&self.inner) == 1
    }

    /// The buffer of a CPU storage that no other handle shares, with the
    /// version counter reset to 0: for reusing a dropped tensor's memory as
    /// a fresh output. `None` when another handle (a view, a saved tensor)
    /// still shares it or it lives on a device.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let mut s = Storage::from_vec(vec![1.0f32, 2.0]);
    /// s.bump_version();
    /// let alias = s.clone();
    /// assert!(s.reuse_unique().is_none()); // `alias` still sees it
    /// drop(alias);
    /// s.reuse_unique().unwrap().as_mut_slice::<f32>().unwrap()[0] = 5.0;
    /// assert_eq!(s.version(), 0);
    /// assert_eq!(s.read()?.as_slice::<f32>().unwrap(), &[5.0, 2.0]);
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    #[inline]
    pub fn reuse_unique(&mut self) -> Option<&mut CpuBuffer> {
        // `Arc::get_mut` without its compare-and-swap (a visible cost per
        // small op): the swap guards against a `Weak` being upgraded
        // meanwhile, and `inner` never has one.
        if Arc::strong_count(&self.inner) != 1 {
            return None;
        }
        // Pairs with the release decrement of every handle dropped before,
        // so their reads of the buffer happen before the caller's writes.
        std::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: one strong handle, no weak ones (see the field), and it is
        // borrowed mutably here: nothing else can reach `StorageInner`.
        // `Arc::as_ptr` keeps the allocation's write permission.
        let inner = unsafe { &mut *Arc::as_ptr(&self.inner).cast_mut() };
        if inner.device != Device::Cpu {
            return None;
        }
        *inner.version.get_mut() = 0;
        Some(inner.buffer.get_mut())
    }

    /// True when both handles share one buffer.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let a = Storage::from_vec(vec![1.0f32]);
    /// let b = Storage::from_vec(vec![1.0f32]);
    /// assert!(a.same_as(&a.clone()));
    /// assert!(!a.same_as(&b)); // equal contents, different buffers
    /// ```
    #[inline]
    pub fn same_as(&self, other: &Storage) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The version counter: how many in-place writes the buffer has seen.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![1i32, 2]);
    /// s.write()?.as_mut_slice::<i32>().unwrap()[0] = 7;
    /// assert_eq!(s.version(), 0); // write() leaves the counting to its caller
    /// s.bump_version();
    /// assert_eq!(s.version(), 1);
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    #[inline]
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// Records one in-place write.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![1i32]);
    /// let view = s.clone();
    /// view.bump_version();
    /// view.bump_version();
    /// assert_eq!((s.version(), view.version()), (2, 2)); // shared by every handle
    /// ```
    #[inline]
    pub fn bump_version(&self) {
        self.inner.version.fetch_add(1, Ordering::AcqRel);
    }

    /// Borrows the buffer for reading; fails instead of blocking if a writer holds it.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![1.0f32, 2.0]);
    /// assert_eq!(s.read()?.as_slice::<f32>(), Some(&[1.0f32, 2.0][..]));
    /// let w = s.write()?;
    /// let e = s.read().unwrap_err();
    /// assert!(e.to_string().starts_with("the tensor's storage is mutably borrowed"));
    /// drop(w);
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    #[inline]
    pub fn read(&self) -> Result<ReadGuard<'_>> {
        self.check_host()?;
        if self.inner.buffer.try_share() {
            Ok(ReadGuard { inner: &self.inner })
        } else {
            Err(busy("mutably borrowed"))
        }
    }

    /// Borrows the buffer for writing; fails instead of blocking if anyone else holds it.
    /// Does not bump the version: callers that change values do.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![1u8, 2]);
    /// let r = s.read()?;
    /// assert!(s.write().is_err()); // fails instead of blocking
    /// drop(r);
    /// s.write()?.as_mut_slice::<u8>().unwrap()[1] = 9;
    /// assert_eq!(s.read()?.as_slice::<u8>(), Some(&[1u8, 9][..]));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn write(&self) -> Result<WriteGuard<'_>> {
        self.check_host()?;
        if self.inner.buffer.try_exclusive() {
            Ok(WriteGuard { inner: &self.inner })
        } else {
            Err(busy("borrowed"))
        }
    }

    /// A read borrow that owns a handle to the storage, so it can outlive the
    /// tensor it came from (zero-copy array views hold one).
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![7i64]);
    /// let r = s.read_owned()?;
    /// drop(s); // the guard keeps the buffer alive
    /// assert_eq!(r.as_slice::<i64>(), Some(&[7i64][..]));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn read_owned(&self) -> Result<OwnedReadGuard> {
        self.check_host()?;
        // The borrow is given back in OwnedReadGuard::drop.
        if self.inner.buffer.try_share() {
            Ok(OwnedReadGuard {
                inner: self.inner.clone(),
            })
        } else {
            Err(busy("mutably borrowed"))
        }
    }

    /// An exclusive borrow that owns a handle to the storage.
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![1.0f64, 2.0]);
    /// let mut w = s.write_owned()?;
    /// w.as_mut_slice::<f64>().unwrap()[0] = -1.0;
    /// assert!(s.read().is_err() && s.read_owned().is_err());
    /// drop(w);
    /// assert_eq!(s.read()?.as_slice::<f64>(), Some(&[-1.0f64, 2.0][..]));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn write_owned(&self) -> Result<OwnedWriteGuard> {
        self.check_host()?;
        // The borrow is given back in OwnedWriteGuard::drop.
        if self.inner.buffer.try_exclusive() {
            Ok(OwnedWriteGuard {
                inner: self.inner.clone(),
            })
        } else {
            Err(busy("borrowed"))
        }
    }

    /// Takes the buffer out if this is the only handle and nobody borrows it.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, Storage};
    /// let s = Storage::from_vec(vec![1i32, 2]);
    /// let alias = s.clone();
    /// let s = s.try_unwrap().unwrap_err(); // another handle exists: the storage comes back
    /// drop(alias);
    /// assert_eq!(s.try_unwrap().unwrap(), CpuBuffer::I32(vec![1, 2]));
    /// ```
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
    ///
    /// ```
    /// use ferrograd_storage::Storage;
    /// let s = Storage::from_vec(vec![0.0f32; 4]);
    /// assert_eq!(s.handle_count(), 1);
    /// let view = s.clone();
    /// let guard = s.read_owned()?;
    /// assert_eq!(view.handle_count(), 3);
    /// drop(guard);
    /// assert_eq!(s.handle_count(), 2);
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }
}

/// A shared borrow that keeps its storage alive.
///
/// ```
/// use ferrograd_storage::{OwnedReadGuard, Storage};
/// let s = Storage::from_vec(vec![1u8, 2]);
/// let r: OwnedReadGuard = s.read_owned()?;
/// assert_eq!(r.len(), 2); // derefs to the CpuBuffer
/// assert!(s.write().is_err()); // held until the guard drops
/// drop(r);
/// assert!(s.write().is_ok());
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub struct OwnedReadGuard {
    inner: Arc<StorageInner>,
}

impl Deref for OwnedReadGuard {
    type Target = CpuBuffer;
    fn deref(&self) -> &CpuBuffer {
        // SAFETY: a shared borrow is held for the guard's lifetime.
        unsafe { &*self.inner.buffer.as_ptr() }
    }
}

impl Drop for OwnedReadGuard {
    fn drop(&mut self) {
        // SAFETY: taken in Storage::read_owned; the guard goes with it.
        unsafe { self.inner.buffer.unshare() }
    }
}

/// An exclusive borrow that keeps its storage alive.
///
/// ```
/// use ferrograd_storage::{OwnedWriteGuard, Storage};
/// // the guard holds the storage alive after the last handle is gone
/// let mut w: OwnedWriteGuard = Storage::from_vec(vec![1u8, 2]).write_owned()?;
/// w.as_mut_slice::<u8>().unwrap().reverse(); // derefs mutably to the CpuBuffer
/// assert_eq!(w.as_slice::<u8>(), Some(&[2u8, 1][..]));
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub struct OwnedWriteGuard {
    inner: Arc<StorageInner>,
}

impl Deref for OwnedWriteGuard {
    type Target = CpuBuffer;
    fn deref(&self) -> &CpuBuffer {
        // SAFETY: the exclusive borrow is held for the guard's lifetime.
        unsafe { &*self.inner.buffer.as_ptr() }
    }
}

impl DerefMut for OwnedWriteGuard {
    fn deref_mut(&mut self) -> &mut CpuBuffer {
        // SAFETY: the exclusive borrow is held for the guard's lifetime, and
        // `&mut self` makes this the only reference made through it.
        unsafe { &mut *self.inner.buffer.as_ptr() }
    }
}

impl Drop for OwnedWriteGuard {
    fn drop(&mut self) {
        // SAFETY: taken in Storage::write_owned; the guard goes with it.
        unsafe { self.inner.buffer.unexclusive() }
    }
}

impl std::fmt::Debug for ReadGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReadGuard").field(&**self).finish()
    }
}

impl std::fmt::Debug for WriteGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WriteGuard").field(&**self).finish()
    }
}

impl Deref for ReadGuard<'_> {
    type Target = CpuBuffer;
    #[inline]
    fn deref(&self) -> &CpuBuffer {
        // SAFETY: a shared borrow is held for the guard's lifetime.
        unsafe { &*self.inner.buffer.as_ptr() }
    }
}

impl Drop for ReadGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: taken in Storage::read; the guard goes with it.
        unsafe { self.inner.buffer.unshare() }
    }
}

impl Deref for WriteGuard<'_> {
    type Target = CpuBuffer;
    fn deref(&self) -> &CpuBuffer {
        // SAFETY: the exclusive borrow is held for the guard's lifetime.
        unsafe { &*self.inner.buffer.as_ptr() }
    }
}

impl DerefMut for WriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut CpuBuffer {
        // SAFETY: the exclusive borrow is held for the guard's lifetime, and
        // `&mut self` makes this the only reference made through it.
        unsafe { &mut *self.inner.buffer.as_ptr() }
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: taken in Storage::write; the guard goes with it.
        unsafe { self.inner.buffer.unexclusive() }
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
