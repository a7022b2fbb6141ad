//! Runtime CPU-feature dispatch for hot loops: [`simd_loop!`](crate::simd_loop)
//! defines a function whose body is compiled for the crate's baseline target,
//! for AVX2 + FMA and, when built with Rust 1.89 or later, for AVX-512, and
//! runs the widest copy the CPU has. Kernels stay plain scalar Rust; the
//! compiler vectorises each copy for the features it was compiled with.

use std::sync::atomic::{AtomicU8, Ordering};

/// The instruction sets a `simd_loop!` copy can be compiled for, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The crate's baseline target (SSE2 on x86-64).
    Baseline = 0,
    /// AVX2 with FMA.
    Avx2 = 1,
    /// AVX-512 (F, VL, BW, DQ) with AVX2 and FMA.
    Avx512 = 2,
}

/// The level kernels run now: the CPU's best within [`cap_level`]'s cap,
/// kept in one byte so that a kernel's dispatch is one load (`UNKNOWN`
/// until first asked or capped).
static EFFECTIVE: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = u8::MAX;

/// Lets kernels use copies up to `level` only (`None`: the widest the CPU
/// has), for comparing copies in tests and benchmarks. Every copy computes
/// the same IEEE results, so changing it while other threads run kernels
/// changes their speed, never their values.
///
/// ```
/// use ferrograd_storage::cpu::simd::{cap_level, level, Level};
/// cap_level(Some(Level::Baseline));
/// assert_eq!(level(), Level::Baseline);
/// cap_level(None);
/// assert!(level() >= Level::Baseline);
/// ```
pub fn cap_level(level: Option<Level>) {
    let cap = level.map_or(u8::MAX, |l| l as u8);
    EFFECTIVE.store((best_level() as u8).min(cap), Ordering::Relaxed);
}

/// The copy `simd_loop!` kernels run now: the widest the CPU has (and this
/// build compiled), within [`cap_level`]'s cap.
pub fn level() -> Level {
    match effective() {
        0 => Level::Baseline,
        1 => Level::Avx2,
        _ => Level::Avx512,
    }
}

/// [`level`] as its byte.
#[inline]
fn effective() -> u8 {
    let e = EFFECTIVE.load(Ordering::Relaxed);
    if e != UNKNOWN {
        return e;
    }
    // First use: the CPU's best, unless a cap landed meanwhile.
    let best = best_level() as u8;
    match EFFECTIVE.compare_exchange(UNKNOWN, best, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => best,
        Err(capped) => capped,
    }
}

/// The widest level the CPU and this build support (`std` caches the
/// feature checks).
fn best_level() -> Level {
    #[cfg(all(target_arch = "x86_64", ferrograd_avx512))]
    if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512dq")
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        return Level::Avx512;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        return Level::Avx2;
    }
    Level::Baseline
}

/// True when kernels run their AVX2 + FMA copy: the CPU has both and no
/// [`cap_level`] below AVX2 is set.
#[cfg(target_arch = "x86_64")]
#[doc(hidden)]
#[inline]
pub fn has_avx2_fma() -> bool {
    effective() >= Level::Avx2 as u8
}

/// True when kernels run their AVX-512 copy: the CPU has the subsets it is
/// built for (and AVX2 + FMA) and no [`cap_level`] below AVX-512 is set.
#[cfg(all(target_arch = "x86_64", ferrograd_avx512))]
#[doc(hidden)]
#[inline]
pub fn has_avx512() -> bool {
    effective() >= Level::Avx512 as u8
}

/// The AVX-512 copy of a `simd_loop!` kernel and its dispatch (nothing when
/// the compiler predates stable AVX-512 target features).
#[cfg(all(target_arch = "x86_64", ferrograd_avx512))]
#[doc(hidden)]
#[macro_export]
macro_rules! __simd_loop_avx512 {
    ([] $($skipped:tt)*) => {};
    ([avx512] ($($g:ident),*) ($($arg:ident: $ty:ty),*) ($($ret:ty)?) ($($bound:ty: $trait:path),*)) => {
        #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
        unsafe fn avx512<$($g),*>($($arg: $ty),*) $(-> $ret)? where $($bound: $trait),* {
            body($($arg),*)
        }
        if $crate::cpu::simd::has_avx512() {
            // SAFETY: the CPU has the features `avx512` is compiled for.
            return unsafe { avx512($($arg),*) };
        }
    };
}

/// See the other definition: this build has no AVX-512 copies.
#[cfg(not(all(target_arch = "x86_64", ferrograd_avx512)))]
#[doc(hidden)]
#[macro_export]
macro_rules! __simd_loop_avx512 {
    ($($anything:tt)*) => {};
}

/// Defines `$name`, a loop written once as `$body`, which runs a copy
/// compiled for AVX-512 (built with Rust 1.89 or later) or AVX2 + FMA when
/// the CPU has them (see [`level`](crate::cpu::simd::level)). Closures passed
/// in are inlined into each copy, so their arithmetic is vectorised for the
/// features of the copy that runs; every copy computes the same IEEE results
/// (Rust never contracts `a * b + c` into a fused multiply-add). Only code
/// inlined into the copy gets its features: use plain loops, since a
/// closure handed to an iterator adaptor may stay out of line. Each bound in
/// the `where` list names one trait (`T: Copy, T: Default`). A kernel that
/// starts with `avx2_at_most:` gets no AVX-512 copy (for loops that measured
/// slower with one).
///
/// ```
/// ferrograd_storage::simd_loop! {
///     /// The sum of `xs` in eight independent lanes.
///     fn lane_total(xs: &[f32]) -> f32 where {
///         let mut acc = [0.0f32; 8];
///         for chunk in xs.chunks(8) {
///             for (a, &x) in acc.iter_mut().zip(chunk) {
///                 *a += x;
///             }
///         }
///         acc.iter().sum()
///     }
/// }
/// assert_eq!(lane_total(&[1.0; 20]), 20.0);
/// ```
#[macro_export]
macro_rules! simd_loop {
    (avx2_at_most: $($kernel:tt)*) => {
        $crate::simd_loop!(@copies [] $($kernel)*);
    };
    (@copies [$($wide:tt)*] $(#[$doc:meta])* $vis:vis fn $name:ident$(<$($g:ident),*>)?($($arg:ident: $ty:ty),*) $(-> $ret:ty)?
        where $($bound:ty: $trait:path),* $body:block) => {
        $(#[$doc])*
        #[inline]
        $vis fn $name$(<$($g),*>)?($($arg: $ty),*) $(-> $ret)? where $($bound: $trait),* {
            #[inline(always)]
            fn body$(<$($g),*>)?($($arg: $ty),*) $(-> $ret)? where $($bound: $trait),* $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2$(<$($g),*>)?($($arg: $ty),*) $(-> $ret)? where $($bound: $trait),* {
                body($($arg),*)
            }

            $crate::__simd_loop_avx512!([$($wide)*] ($($($g),*)?) ($($arg: $ty),*) ($($ret)?) ($($bound: $trait),*));

            #[cfg(target_arch = "x86_64")]
            if $crate::cpu::simd::has_avx2_fma() {
                // SAFETY: the CPU has the features `avx2` is compiled for.
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
    ($($kernel:tt)*) => {
        $crate::simd_loop!(@copies [avx512] $($kernel)*);
    };
}
