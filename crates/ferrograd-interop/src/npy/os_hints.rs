//! Hints to the OS that let file I/O run at NumPy's speed on Linux, where
//! NumPy gives the same ones: preallocating a file's blocks before writing
//! it (`fallocate`, as `ndarray.tofile` does) and backing large read buffers
//! with transparent huge pages (`madvise`, as NumPy's allocator does). Both
//! are no-ops elsewhere and when the OS declines.

use std::fs::File;
use std::io;

/// Buffers below this get no huge-page advice (NumPy's threshold too).
#[cfg(target_os = "linux")]
const HUGE_PAGE_MIN_BYTES: usize = 1 << 22;

/// Reserves `len` bytes of disk for `file` without changing its size, so
/// writing it needs no block allocation on the way. Only running out of
/// space is an error (early, before any data is written).
pub(crate) fn preallocate(file: &File, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{fallocate, FallocateFlags};
        match fallocate(file, FallocateFlags::KEEP_SIZE, 0, len) {
            Err(e) if e == rustix::io::Errno::NOSPC => return Err(e.into()),
            _ => {}
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, len);
    Ok(())
}

/// Asks for transparent huge pages behind `buffer` (untouched memory fresh
/// from the allocator), so filling it takes a few hundred page faults
/// instead of tens of thousands.
pub(crate) fn advise_huge_pages(buffer: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        if buffer.len() < HUGE_PAGE_MIN_BYTES {
            return;
        }
        let start = (buffer.as_mut_ptr() as usize).next_multiple_of(PAGE);
        let end = (buffer.as_mut_ptr() as usize + buffer.len()) / PAGE * PAGE;
        // SAFETY: the range lies inside `buffer`, which we borrow mutably, and
        // MADV_HUGEPAGE changes how pages are backed, never their contents.
        let _ = unsafe {
            rustix::mm::madvise(
                start as *mut std::ffi::c_void,
                end - start,
                rustix::mm::Advice::LinuxHugepage,
            )
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buffer;
}
