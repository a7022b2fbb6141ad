//! Elementwise kernels: map one strided input, or zip two inputs of one
//! (already broadcast) shape, into a fresh row-major vector; in-place forms
//! write back through a strided destination. Contiguous loops run in
//! parallel chunks and, on x86-64 CPUs with AVX2 and FMA, are compiled for
//! them (`simd_loop!`), so kernels written as plain scalar closures use
//! 256-bit vectors without the crate being built for a newer CPU.

use super::{for_each_offset_pair, fresh_vec, PARALLEL_THRESHOLD};
use crate::simd_loop;
use crate::{with_buffer, with_dtype, CpuBuffer, DType, Element, Layout};
use rayon::prelude::*;
use std::mem::MaybeUninit;

const CHUNK: usize = 1 << 13;

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

/// Hands each chunk of `slots` and its start index to `fill`, in parallel
/// when there are many.
fn fill_chunks<U: Send>(
    slots: &mut [MaybeUninit<U>],
    fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync,
) {
    if slots.len() >= PARALLEL_THRESHOLD {
        slots
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| fill(i * CHUNK, chunk));
    } else {
        fill(0, slots);
    }
}

/// Fills a new vector of `n` elements by handing each chunk's uninitialised
/// slots and their start index to `fill`, in parallel when `n` is large.
fn build_vec<U: Element>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync) -> Vec<U> {
    let mut out = fresh_vec(n);
    fill_chunks(&mut out.spare_capacity_mut()[..n], fill);
    // SAFETY: `fill` writes every slot of every chunk.
    unsafe { out.set_len(n) };
    out
}

/// Writes `f` of every element of `layout` over `src`, row-major, into
/// `slots` (exactly `layout.numel()` of them): contiguous inputs in
/// parallel chunks when large, strided ones walked once.
fn map_into_slots<T: Element, U: Element>(
    src: &[T],
    layout: &Layout,
    f: &(impl Fn(T) -> U + Sync),
    slots: &mut [MaybeUninit<U>],
) {
    assert_eq!(slots.len(), layout.numel(), "unary map: output size");
    if let Some(start) = layout.contiguous_offset() {
        let src = &src[start..start + slots.len()];
        return fill_chunks(slots, |at, out| fill_unary(out, &src[at..], f));
    }
    let mut next = slots.iter_mut();
    layout.for_each_offset(|o| {
        if let Some(slot) = next.next() {
            slot.write(f(src[o]));
        }
    });
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
    let mut out = fresh_vec(n);
    map_into_slots(src, layout, &f, &mut out.spare_capacity_mut()[..n]);
    // SAFETY: `map_into_slots` wrote all `n` slots (one per element of the layout).
    unsafe { out.set_len(n) };
    out
}

/// [`unary_map`] into an existing buffer of `layout.numel()` elements (for
/// outputs whose buffer is reused).
///
/// ```
/// use ferrograd_storage::{cpu::unary_map_into, Layout};
/// let mut out = [0.0f32; 3];
/// unary_map_into(&[1.0f32, 4.0, 9.0, 16.0], &Layout::contiguous(&[3]), |x| x.sqrt(), &mut out);
/// assert_eq!(out, [1.0, 2.0, 3.0]);
/// ```
///
/// # Panics
/// If `out` does not hold exactly `layout.numel()` elements.
pub fn unary_map_into<T: Element, U: Element>(
    src: &[T],
    layout: &Layout,
    f: impl Fn(T) -> U + Sync,
    out: &mut [U],
) {
    // SAFETY: `MaybeUninit<U>` has `U`'s layout, and only initialised values
    // are written through it, so `out` stays initialised.
    let slots = unsafe { &mut *(out as *mut [U] as *mut [MaybeUninit<U>]) };
    map_into_slots(src, layout, &f, slots);
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
///
/// ```
/// use ferrograd_storage::{cpu::unary_map_inplace, Layout};
/// let mut data = [1, 2, 3, 4, 5, 6];
/// let first_col = Layout::contiguous(&[2, 3]).select(1, 0)?; // offsets 0 and 3
/// unary_map_inplace(&mut data, &first_col, |x| -x);
/// assert_eq!(data, [-1, 2, 3, -4, 5, 6]);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
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
///
/// ```
/// use ferrograd_storage::{cpu::binary_map_inplace, Layout};
/// let mut dst = [1.0f32, 2.0, 3.0, 4.0];
/// let row = Layout::contiguous(&[2]).broadcast_to(&[2, 2])?; // [10, 20] on each row
/// binary_map_inplace(&mut dst, &Layout::contiguous(&[2, 2]), &[10.0f32, 20.0], &row, |d, s| d * s);
/// assert_eq!(dst, [10.0, 40.0, 30.0, 80.0]);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
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
///
/// ```
/// use ferrograd_storage::{cpu::cast_buffer, CpuBuffer, DType, Layout};
/// let b = CpuBuffer::F64(vec![1.5, -2.5, 0.0]);
/// let reversed = Layout::contiguous(&[3]).flip(&[0]);
/// assert_eq!(cast_buffer(&b, &reversed, DType::I64), CpuBuffer::I64(vec![0, -2, 1]));
/// assert_eq!(cast_buffer(&b, &reversed, DType::Bool), CpuBuffer::Bool(vec![false, true, true]));
/// ```
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
