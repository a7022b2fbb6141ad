//! How freed tensor memory goes back to the allocator. Training allocates
//! the same large buffers (activations, gradients) every step; with glibc's
//! defaults each one above 128 KiB is a fresh `mmap` that the kernel faults
//! in 4 KiB at a time and unmaps on free, which cost a fifth of a CNN
//! training step here. [`keep_freed_memory`] asks glibc to serve buffers up
//! to 32 MiB from its heap and to keep up to 1 GiB of freed heap memory for
//! reuse, so later steps reuse pages that are already mapped. Peak memory is
//! unchanged; memory freed after the peak is returned later, not at once.
//!
//! It runs once, when the first storage is made. Set the environment
//! variable `FERROGRAD_MALLOC_DEFAULTS=1` to keep glibc's settings.
//!
//! Buffers of 4 MiB and more ask Linux for 2 MiB pages ([`fresh_vec`],
//! [`advise_huge_pages`]): faulting a fresh output in 4 KiB at a time can
//! cost more than the arithmetic that fills it (10M `f32` additions run about
//! twice as fast), and reading a large tensor through 4 KiB pages spends a
//! sizeable part of a memory-bound kernel on TLB misses.

use std::sync::Once;

/// Raises glibc's mmap and trim thresholds once per process (Linux/glibc;
/// elsewhere nothing). See the module doc.
///
/// ```
/// ferrograd_storage::cpu::keep_freed_memory(); // idempotent
/// ```
pub fn keep_freed_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("FERROGRAD_MALLOC_DEFAULTS").is_none() {
            raise_thresholds();
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn raise_thresholds() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only changes allocator parameters; glibc rejects
    // values out of range (the return value says so, and then nothing changed).
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn raise_thresholds() {}

/// Buffers from this size up ask for huge pages.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// An empty vector with room for `n` elements; a large one asks for huge
/// pages before anything touches it.
pub(crate) fn fresh_vec<T>(n: usize) -> Vec<T> {
    let out = Vec::with_capacity(n);
    advise_huge_pages(out.as_ptr() as usize, n * std::mem::size_of::<T>());
    out
}

/// Asks Linux to back the whole pages of `[start, start + len)` with huge
/// pages when the range is large (elsewhere, or when small, nothing). The
/// range must lie inside one live allocation of the caller's.
#[cfg(target_os = "linux")]
pub(crate) fn advise_huge_pages(start: usize, len: usize) {
    extern "C" {
        fn madvise(
            addr: *mut std::ffi::c_void,
            len: usize,
            advice: std::ffi::c_int,
        ) -> std::ffi::c_int;
    }
    const MADV_HUGEPAGE: std::ffi::c_int = 14;
    const PAGE: usize = 4096;
    if len < HUGE_PAGE_MIN_BYTES {
        return;
    }
    let (first, end) = (start.next_multiple_of(PAGE), (start + len) / PAGE * PAGE);
    if end > first {
        // SAFETY: the pages lie inside an allocation the caller owns;
        // MADV_HUGEPAGE changes only how the kernel backs them, never their
        // contents, and a failure leaves them as they were.
        unsafe { madvise(first as *mut std::ffi::c_void, end - first, MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn advise_huge_pages(_start: usize, _len: usize) {}
