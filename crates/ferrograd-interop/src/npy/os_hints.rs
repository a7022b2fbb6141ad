//! A hint to the OS that lets file writes run at NumPy's speed on Linux,
//! where NumPy gives the same one: preallocating a file's blocks before
//! writing it (`fallocate`, as `ndarray.tofile` does). A no-op elsewhere and
//! when the OS declines. (Large read buffers get transparent huge pages, as
//! NumPy's allocator gives them, from storage's
//! `ferrograd_storage::cpu::advise_huge_pages`.)

use std::fs::File;
use std::io;

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
