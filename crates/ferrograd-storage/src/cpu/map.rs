//! Elementwise kernels: map one strided input, or zip two inputs of one
//! (already broadcast) shape, into a fresh row-major vector; in-place forms
//! write back through a strided destination. Contiguous loops run in
//! parallel chunks and, on x86-64 CPUs with AVX2 and FMA, are compiled for
//! them (`simd_loop!`), so kernels written as plain scalar closures use
//! 256-bit vectors without the crate being built for a newer CPU.

use super::{for_each_offset_pair, PARALLEL_THRESHOLD};
use crate::{with_buffer, with_dtype, CpuBuffer, DType, Element, Layout};
use rayon::prelude::*;
use std::mem::MaybeUninit;

const CHUNK: usize = 1 << 13;

/// True when the CPU runs AVX2 and FMA instructions (checked once, cached).
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// Defines `$name`, a loop over slices written once as `$body`, which runs a
/// copy compiled for AVX2 + FMA when the CPU has them. The element closure
/// is inlined into each copy, so its arithmetic is vectorised for the
/// features of the copy that runs; both copies compute the same IEEE results
/// (Rust never contracts `a * b + c` into a fused multiply-add).
macro_rules! simd_loop {
    ($(#[$doc:meta])* fn $name:ident<$($g:ident),*>($($arg:ident: $ty:ty),*)
        where $($bound:ty: $trait:path),* $body:block) => {
        $(#[$doc])*
        #[inline]
        fn $name<$($g),*>($($arg: $ty),*) where $($bound: $trait),* {
            #[inline(always)]
            fn body<$($g),*>($($arg: $ty),*) where $($bound: $trait),* $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<$($g),*>($($arg: $ty),*) where $($bound: $trait),* {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if has_avx2_fma() {
                // SAFETY: the CPU has the features `avx2` is compiled for.
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

simd_loop! {
    /// `out[i] = f(x[i])`.
    fn fill_unary<T, U, F>(out: &mut [MaybeUninit<U>], x: &[T], f: &F)
    where T: Copy, F: Fn(T) -> U {
        for (o, &x) in out.iter_mut().zip(x) {
            o.write(f(x));
        }
    }
}

simd_loop! {
    /// `out[i] = f(x[i], y[i])`.
    fn fill_binary<A, B, U, F>(out: &mut [MaybeUninit<U>], x: &[A], y: &[B], f: &F)
    where A: Copy, B: Copy, F: Fn(A, B) -> U {
        for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
            o.write(f(x, y));
        }
    }
}

simd_loop! {
    /// `out[i] = f(x[i], y)`.
    fn fill_scalar_rhs<A, B, U, F>(out: &mut [MaybeUninit<U>], x: &[A], y: B, f: &F)
    where A: Copy, B: Copy, F: Fn(A, B) -> U {
        for (o, &x) in out.iter_mut().zip(x) {
            o.write(f(x, y));
        }
    }
}

simd_loop! {
    /// `out[i] = f(x, y[i])`.
    fn fill_scalar_lhs<A, B, U, F>(out: &mut [MaybeUninit<U>], x: A, y: &[B], f: &F)
    where A: Copy, B: Copy, F: Fn(A, B) -> U {
        for (o, &y) in out.iter_mut().zip(y) {
            o.write(f(x, y));
        }
    }
}

simd_loop! {
    /// `dst[i] = f(dst[i])`.
    fn update_unary<T, F>(dst: &mut [T], f: &F)
    where T: Copy, F: Fn(T) -> T {
        for d in dst.iter_mut() {
            *d = f(*d);
        }
    }
}

simd_loop! {
    /// `dst[i] = f(dst[i], src[i])`.
    fn update_binary<T, B, F>(dst: &mut [T], src: &[B], f: &F)
    where T: Copy, B: Copy, F: Fn(T, B) -> T {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f(*d, s);
        }
    }
}

/// Outputs from this size up ask for huge pages.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// An empty vector with room for `n` elements. A large one asks Linux to
/// back it with 2 MiB pages: faulting a fresh output in 4 KiB at a time costs
/// more than the arithmetic that fills it (10M `f32` additions run about
/// twice as fast). `copy.rs` has the same helper for its gathers; the two
/// should become one `pub(super)` function.
pub(super) fn fresh_vec<T>(n: usize) -> Vec<T> {
    let out = Vec::with_capacity(n);
    let bytes = n * std::mem::size_of::<T>();
    #[cfg(target_os = "linux")]
    if bytes >= HUGE_PAGE_MIN_BYTES {
        extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
        }
        const MADV_HUGEPAGE: i32 = 14;
        let start = (out.as_ptr() as usize).next_multiple_of(4096);
        let end = (out.as_ptr() as usize + bytes) / 4096 * 4096;
        if end > start {
            // SAFETY: the range lies inside the allocation just made, not yet
            // handed out; the advice changes how the kernel backs the pages,
            // never their contents, and a failure leaves them as they were.
            unsafe { madvise(start as *mut std::ffi::c_void, end - start, MADV_HUGEPAGE) };
        }
    }
    out
}

/// Fills a new vector of `n` elements by handing each chunk's uninitialised
/// slots and their start index to `fill`, in parallel when `n` is large.
fn build_vec<U: Element>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync) -> Vec<U> {
    let mut out = fresh_vec(n);
    let slots = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_THRESHOLD {
        slots
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| fill(i * CHUNK, chunk));
    } else {
        fill(0, slots);
    }
    // SAFETY: `fill` writes every slot of every chunk.
    unsafe { out.set_len(n) };
    out
}

/// `f` applied to every element of `layout` over `src`, row-major.
///
/// ```
/// use ferrograd_storage::{cpu::unary_map, Layout};
/// let out = unary_map(&[1.0f32, 4.0, 9.0], &Layout::contiguous(&[3]), |x| x.sqrt());
/// assert_eq!(out, vec![1.0, 2.0, 3.0]);
/// ```
pub fn unary_map<T: Element, U: Element>(
    src: &[T],
    layout: &Layout,
    f: impl Fn(T) -> U + Sync,
) -> Vec<U> {
    let n = layout.numel();
    if let Some(start) = layout.contiguous_offset() {
        let src = &src[start..start + n];
        return build_vec(n, |at, out| fill_unary(out, &src[at..], &f));
    }
    let mut out = fresh_vec(n);
    layout.for_each_offset(|o| out.push(f(src[o])));
    out
}

/// `f(a, b)` over two inputs whose layouts have the same shape (broadcast
/// beforehand, stride 0 allowed), row-major.
///
/// ```
/// use ferrograd_storage::{cpu::binary_map, Layout};
/// let row = Layout::contiguous(&[2]).broadcast_to(&[2, 2]).unwrap();
/// let out = binary_map(&[1, 2, 3, 4], &Layout::contiguous(&[2, 2]), &[10, 20], &row, |a, b| a + b);
/// assert_eq!(out, vec![11, 22, 13, 24]);
/// ```
pub fn binary_map<A: Element, B: Element, U: Element>(
    a: &[A],
    la: &Layout,
    b: &[B],
    lb: &Layout,
    f: impl Fn(A, B) -> U + Sync,
) -> Vec<U> {
    debug_assert_eq!(la.shape(), lb.shape());
    let n = la.numel();
    let b_is_scalar = lb.strides().iter().all(|&s| s == 0);
    let a_is_scalar = la.strides().iter().all(|&s| s == 0);
    match (la.contiguous_offset(), lb.contiguous_offset()) {
        (Some(sa), Some(sb)) => {
            let (a, b) = (&a[sa..sa + n], &b[sb..sb + n]);
            build_vec(n, |at, out| fill_binary(out, &a[at..], &b[at..], &f))
        }
        (Some(sa), _) if b_is_scalar && n > 0 => {
            let (a, y) = (&a[sa..sa + n], b[lb.offset()]);
            build_vec(n, |at, out| fill_scalar_rhs(out, &a[at..], y, &f))
        }
        (_, Some(sb)) if a_is_scalar && n > 0 => {
            let (x, b) = (a[la.offset()], &b[sb..sb + n]);
            build_vec(n, |at, out| fill_scalar_lhs(out, x, &b[at..], &f))
        }
        _ => {
            let mut out = fresh_vec(n);
            for_each_offset_pair(
                la.shape(),
                (la.strides(), la.offset()),
                (lb.strides(), lb.offset()),
                |oa, ob| out.push(f(a[oa], b[ob])),
            );
            out
        }
    }
}

/// Replaces every element of `layout` in `dst` with `f(element)`.
pub fn unary_map_inplace<T: Element>(
    dst: &mut [T],
    layout: &Layout,
    f: impl Fn(T) -> T + Sync + Send,
) {
    if let Some(start) = layout.contiguous_offset() {
        let dst = &mut dst[start..start + layout.numel()];
        if dst.len() >= PARALLEL_THRESHOLD {
            dst.par_chunks_mut(CHUNK).for_each(|c| update_unary(c, &f));
        } else {
            update_unary(dst, &f);
        }
        return;
    }
    layout.for_each_offset(|o| dst[o] = f(dst[o]));
}

/// Replaces every element `d` of `dst` at `dl` with `f(d, s)`, `s` read from
/// `src` at `sl` (same shape as `dl`; stride 0 allowed). `src` must not alias `dst`.
pub fn binary_map_inplace<T: Element, B: Element>(
    dst: &mut [T],
    dl: &Layout,
    src: &[B],
    sl: &Layout,
    f: impl Fn(T, B) -> T + Sync + Send,
) {
    debug_assert_eq!(dl.shape(), sl.shape());
    if let (Some(d0), Some(s0)) = (dl.contiguous_offset(), sl.contiguous_offset()) {
        let n = dl.numel();
        let (dst, src) = (&mut dst[d0..d0 + n], &src[s0..s0 + n]);
        if n >= PARALLEL_THRESHOLD {
            dst.par_chunks_mut(CHUNK)
                .zip(src.par_chunks(CHUNK))
                .for_each(|(d, s)| update_binary(d, s, &f));
        } else {
            update_binary(dst, src, &f);
        }
        return;
    }
    for_each_offset_pair(
        dl.shape(),
        (dl.strides(), dl.offset()),
        (sl.strides(), sl.offset()),
        |d, s| dst[d] = f(dst[d], src[s]),
    );
}

/// The elements of `layout` over `buffer`, converted to `dtype`, row-major.
pub fn cast_buffer(buffer: &CpuBuffer, layout: &Layout, dtype: DType) -> CpuBuffer {
    with_buffer!(buffer, src, S => {
        with_dtype!(dtype, D => D::into_buffer(unary_map(src, layout, |x: S| x.cast::<D>())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_contiguous_maps_match_sequential() {
        let n = PARALLEL_THRESHOLD * 3 + 17;
        let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let l = Layout::contiguous(&[n]);
        let out = binary_map(&a, &l, &a, &l, |x, y| x + 2.0 * y);
        assert!(out.iter().enumerate().all(|(i, &v)| v == 3.0 * i as f32));
        let mut d = a.clone();
        unary_map_inplace(&mut d, &l, |x| -x);
        assert_eq!(d[n - 1], -((n - 1) as f32));
    }

    #[test]
    fn strided_inputs_are_read_in_logical_order() {
        let a = [1, 2, 3, 4, 5, 6];
        let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
        let f = Layout::contiguous(&[3, 2]).flip(&[0]);
        let out = binary_map(&a, &t, &a, &f, |x, y| x * 10 + y);
        assert_eq!(out, vec![15, 46, 23, 54, 31, 62]);
        let c = cast_buffer(
            &CpuBuffer::F64(vec![1.5, -2.5]),
            &Layout::contiguous(&[2]),
            DType::I64,
        );
        assert_eq!(c, CpuBuffer::I64(vec![1, -2]));
    }
}
