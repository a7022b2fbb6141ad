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
