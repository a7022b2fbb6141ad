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
//! glibc cannot keep buffers above 32 MiB that way (that is the highest mmap
//! threshold it accepts), so storage keeps a few of them itself: when a
//! storage of 32 MiB or more is dropped, and outputs have asked for its size
//! at least twice lately, its memory goes into a small cache (one block per
//! size, at most [`CACHE_MAX_BLOCKS`] blocks and [`CACHE_MAX_BYTES`] in all, the
//! oldest given back first), and the next output of exactly that size and
//! alignment reuses it, pages already mapped, instead of faulting in a fresh
//! one: `contiguous()` of a 64 MiB transpose costs the copy, not the copy
//! plus 64 MiB of page faults. `FERROGRAD_MALLOC_DEFAULTS=1` turns the
//! cache off too.
//!
//! Buffers of 4 MiB and more ask Linux for 2 MiB pages ([`fresh_vec`],
//! [`advise_huge_pages`]): faulting a fresh output in 4 KiB at a time can
//! cost more than the arithmetic that fills it (10M `f32` additions run about
//! twice as fast), and reading a large tensor through 4 KiB pages spends a
//! sizeable part of a memory-bound kernel on TLB misses.

use std::sync::{Mutex, Once, OnceLock};

/// Raises glibc's mmap and trim thresholds once per process (Linux/glibc;
/// elsewhere nothing). See the module doc.
///
/// ```
/// ferrograd_storage::cpu::keep_freed_memory(); // idempotent
/// ```
pub fn keep_freed_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if !malloc_defaults() {
            raise_thresholds();
        }
    });
}

/// True when the user asked for the allocator's own behaviour
/// (`FERROGRAD_MALLOC_DEFAULTS` set), read once.
fn malloc_defaults() -> bool {
    static DEFAULTS: OnceLock<bool> = OnceLock::new();
    *DEFAULTS.get_or_init(|| std::env::var_os("FERROGRAD_MALLOC_DEFAULTS").is_some())
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

/// An empty vector with room for exactly `n` elements, for a caller that
/// writes all of them (through `spare_capacity_mut`, then `set_len`): a
/// cached block of that size when there is one (its old contents are still
/// there), else a new allocation, which asks for huge pages before anything
/// touches it when large. Kernels outside this crate use it so that their
/// outputs skip zero-filling and reuse freed buffers as the built-in ones do.
///
/// ```
/// use ferrograd_storage::cpu::fresh_vec;
/// let mut v: Vec<f32> = fresh_vec(3);
/// assert!(v.is_empty() && v.capacity() >= 3);
/// for (i, slot) in v.spare_capacity_mut().iter_mut().enumerate() {
///     slot.write(i as f32);
/// }
/// // SAFETY: all three slots were written.
/// unsafe { v.set_len(3) };
/// assert_eq!(v, [0.0, 1.0, 2.0]);
/// ```
pub fn fresh_vec<T>(n: usize) -> Vec<T> {
    let bytes = n * std::mem::size_of::<T>();
    if let Some(addr) = take_cached(bytes, std::mem::align_of::<T>()) {
        // SAFETY: `addr` is the allocation of a vector whose capacity was
        // `bytes` bytes with alignment `align_of::<T>()`, made by the global
        // allocator and not freed since (the cache owned it): the layout a
        // `Vec<T>` of capacity `n` frees with. Length 0: nothing is read.
        return unsafe { Vec::from_raw_parts(addr as *mut T, 0, n) };
    }
    let out = Vec::with_capacity(n);
    advise_huge_pages(out.as_ptr() as usize, bytes);
    out
}

/// Buffers from this size up are kept for reuse when freed — those whose
/// size outputs have asked for at least twice lately, so a buffer made once
/// (a dataset, a loaded file) goes back to the OS when dropped.
///
/// ```
/// use ferrograd_storage::{cpu::{cached_bytes, CACHE_MIN_BYTES}, Storage};
/// let before = cached_bytes();
/// drop(Storage::from_vec(vec![0u8; CACHE_MIN_BYTES - 1])); // too small: freed at once
/// drop(Storage::from_vec(vec![0u8; CACHE_MIN_BYTES])); // no output asked for this size: freed
/// assert_eq!(cached_bytes(), before);
/// ```
pub const CACHE_MIN_BYTES: usize = 32 << 20;
/// The most memory the cache of freed buffers holds.
///
/// ```
/// use ferrograd_storage::cpu::{cached_bytes, CACHE_MAX_BYTES};
/// assert!(cached_bytes() <= CACHE_MAX_BYTES);
/// ```
pub const CACHE_MAX_BYTES: usize = 256 << 20;
/// The most buffers the cache holds.
///
/// ```
/// use ferrograd_storage::cpu::{CACHE_MAX_BLOCKS, CACHE_MAX_BYTES, CACHE_MIN_BYTES};
/// assert!(CACHE_MAX_BLOCKS * CACHE_MIN_BYTES <= CACHE_MAX_BYTES);
/// ```
pub const CACHE_MAX_BLOCKS: usize = 4;
/// How many recently asked-for large sizes the cache remembers.
const ASKED_SIZES: usize = 8;

/// A freed allocation the cache owns: address, size in bytes, alignment.
struct Block {
    addr: usize,
    bytes: usize,
    align: usize,
}

/// The freed large buffers (oldest first) and the large sizes outputs asked
/// for lately, with how often.
struct Cache {
    blocks: Vec<Block>,
    asked: Vec<(usize, u32)>,
}

impl Cache {
    /// Counts a request for `bytes`, forgetting the oldest size when full.
    fn note_request(&mut self, bytes: usize) {
        match self.asked.iter_mut().find(|(b, _)| *b == bytes) {
            Some((_, count)) => *count = count.saturating_add(1),
            None => {
                if self.asked.len() == ASKED_SIZES {
                    self.asked.remove(0);
                }
                self.asked.push((bytes, 1));
            }
        }
    }

    /// True when outputs asked for `bytes` at least twice lately.
    fn recurs(&self, bytes: usize) -> bool {
        self.asked
            .iter()
            .any(|&(b, count)| b == bytes && count >= 2)
    }
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    blocks: Vec::new(),
    asked: Vec::new(),
});

fn lock_cache() -> std::sync::MutexGuard<'static, Cache> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Notes a request for `bytes` and removes and returns a cached block of
/// exactly `bytes` and `align`, if any.
fn take_cached(bytes: usize, align: usize) -> Option<usize> {
    if bytes < CACHE_MIN_BYTES || malloc_defaults() {
        return None;
    }
    let mut cache = lock_cache();
    cache.note_request(bytes);
    let i = cache
        .blocks
        .iter()
        .position(|b| b.bytes == bytes && b.align == align)?;
    Some(cache.blocks.remove(i).addr)
}

/// Gives `v`'s memory to the cache when it is large, of a recurring size,
/// not held already (one block per size), and fits (evicting the oldest
/// blocks to make room); otherwise frees it.
pub(crate) fn recycle_vec<T>(v: Vec<T>) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if !(CACHE_MIN_BYTES..=CACHE_MAX_BYTES).contains(&bytes) || malloc_defaults() {
        return;
    }
    let align = std::mem::align_of::<T>();
    let mut cache = lock_cache();
    let held = cache
        .blocks
        .iter()
        .any(|b| b.bytes == bytes && b.align == align);
    if held || !cache.recurs(bytes) {
        return;
    }
    let mut v = std::mem::ManuallyDrop::new(v);
    let block = Block {
        addr: v.as_mut_ptr() as usize,
        bytes,
        align,
    };
    let mut evicted = Vec::new();
    while !cache.blocks.is_empty()
        && (cache.blocks.len() >= CACHE_MAX_BLOCKS
            || cache.blocks.iter().map(|b| b.bytes).sum::<usize>() + bytes > CACHE_MAX_BYTES)
    {
        evicted.push(cache.blocks.remove(0));
    }
    cache.blocks.push(block);
    drop(cache);
    for b in evicted {
        // SAFETY: the block came from a vector's allocation with exactly this
        // size and alignment and the cache owned it alone.
        unsafe {
            std::alloc::dealloc(
                b.addr as *mut u8,
                std::alloc::Layout::from_size_align_unchecked(b.bytes, b.align),
            )
        };
    }
}

/// The bytes the cache of freed buffers holds now.
///
/// ```
/// use ferrograd_storage::cpu::{cached_bytes, CACHE_MAX_BYTES};
/// assert!(cached_bytes() <= CACHE_MAX_BYTES);
/// ```
pub fn cached_bytes() -> usize {
    lock_cache().blocks.iter().map(|b| b.bytes).sum()
}

/// Asks Linux to back the whole pages of `[start, start + len)` with
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`) when the range is 4 MiB
/// or more; elsewhere, or when smaller, nothing. Best done before the memory
/// is first touched, so filling it takes a few hundred page faults instead of
/// tens of thousands. The range should lie inside one live allocation of the
/// caller's; the advice never changes the memory's contents, and a refusal
/// by the OS is ignored.
///
/// ```
/// use ferrograd_storage::cpu::advise_huge_pages;
/// let mut buffer = vec![0u8; 8 << 20];
/// advise_huge_pages(buffer.as_ptr() as usize, buffer.len());
/// buffer[0] = 1; // contents unchanged, still usable as before
/// assert_eq!(buffer.iter().map(|&b| b as usize).sum::<usize>(), 1);
/// ```
#[cfg(target_os = "linux")]
pub fn advise_huge_pages(start: usize, len: usize) {
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

/// Asks Linux for huge pages behind a large range; nothing on this OS.
///
/// ```
/// let buffer = vec![0u8; 8 << 20];
/// ferrograd_storage::cpu::advise_huge_pages(buffer.as_ptr() as usize, buffer.len());
/// ```
#[cfg(not(target_os = "linux"))]
pub fn advise_huge_pages(_start: usize, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A size no other test allocates, so parallel tests don't take its block.
    const N: usize = (CACHE_MIN_BYTES + 12_288) / 4;
    /// The two tests read the shared cache's totals: one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn a_freed_large_buffer_is_reused_for_the_next_one_of_its_size() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        // Asked for once: a one-off size is freed, not kept.
        let once: Vec<f32> = fresh_vec(N);
        let before = cached_bytes();
        recycle_vec(once);
        assert_eq!(cached_bytes(), before);
        // Asked for again: now it recurs, and its buffer is kept.
        let mut v: Vec<f32> = fresh_vec(N);
        v.resize(N, 1.5);
        let addr = v.as_ptr() as usize;
        recycle_vec(v);
        assert!(cached_bytes() >= N * 4 || malloc_defaults());
        // One block per size: a second one of the same size is freed.
        let held = cached_bytes();
        recycle_vec(Vec::<f32>::with_capacity(N));
        assert_eq!(cached_bytes(), held);
        // Another size or alignment does not get it.
        let other: Vec<f64> = fresh_vec(N / 2);
        assert_ne!(other.as_ptr() as usize, addr);
        let again: Vec<f32> = fresh_vec(N);
        assert_eq!(again.capacity(), N);
        if !malloc_defaults() {
            assert_eq!(again.as_ptr() as usize, addr);
        }
        assert!(cached_bytes() <= CACHE_MAX_BYTES);
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let n = (CACHE_MIN_BYTES + 20_480) / 8;
        for _ in 0..CACHE_MAX_BLOCKS + 2 {
            let blocks: Vec<Vec<f64>> = (0..3).map(|_| fresh_vec(n)).collect();
            blocks.into_iter().for_each(recycle_vec);
            assert!(cached_bytes() <= CACHE_MAX_BYTES);
            assert!(lock_cache().blocks.len() <= CACHE_MAX_BLOCKS);
        }
        // Small buffers are never cached.
        let before = cached_bytes();
        recycle_vec(vec![0u8; 1024]);
        assert_eq!(cached_bytes(), before);
    }
}
