//! Runtime CPU-feature dispatch for hot loops: [`simd_loop!`](crate::simd_loop)
//! defines a function whose body is compiled twice, once for the crate's
//! baseline target and once for AVX2 + FMA, and runs the second copy when the
//! CPU has those features. Kernels stay plain scalar Rust; the compiler
//! vectorises each copy for the features it was compiled with.

/// True when the CPU runs AVX2 and FMA instructions (`std` caches the check).
#[cfg(target_arch = "x86_64")]
#[doc(hidden)]
#[inline]
pub fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// Defines `$name`, a loop written once as `$body`, which runs a copy
/// compiled for AVX2 + FMA when the CPU has them. Closures passed in are
/// inlined into each copy, so their arithmetic is vectorised for the features
/// of the copy that runs; both copies compute the same IEEE results (Rust
/// never contracts `a * b + c` into a fused multiply-add). Each bound in the
/// `where` list names one trait (`T: Copy, T: Default`).
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
    ($(#[$doc:meta])* $vis:vis fn $name:ident$(<$($g:ident),*>)?($($arg:ident: $ty:ty),*) $(-> $ret:ty)?
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

            #[cfg(target_arch = "x86_64")]
            if $crate::cpu::simd::has_avx2_fma() {
                // SAFETY: the CPU has the features `avx2` is compiled for.
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}
