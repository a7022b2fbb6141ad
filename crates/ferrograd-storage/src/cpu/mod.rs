//! CPU kernels over strided layouts, written once as generic functions over
//! the element type. Outputs are fresh row-major vectors, filled without
//! zeroing first; large contiguous work is split across rayon's threads.

mod allocator;
mod copy;
mod fixed_workers;
mod map;
mod reduce;
#[doc(hidden)]
pub mod simd;
mod transpose;

pub(crate) use allocator::recycle_vec;
pub use allocator::{
    advise_huge_pages, cached_bytes, fresh_vec, keep_freed_memory, CACHE_MAX_BLOCKS,
    CACHE_MAX_BYTES, CACHE_MIN_BYTES,
};
pub use copy::{copy_into_strided, gather_contiguous};
pub use fixed_workers::on_fixed_workers;
pub use map::{
    binary_map, binary_map_inplace, cast_buffer, unary_map, unary_map_inplace, unary_map_into,
};
pub use reduce::reduce_dims;

/// Elements below which a kernel stays on the calling thread.
///
/// ```
/// use ferrograd_storage::{cpu::{unary_map, PARALLEL_THRESHOLD}, Layout};
/// let n = PARALLEL_THRESHOLD + 1; // enough to be split across threads
/// let src: Vec<i64> = (0..n as i64).collect();
/// let out = unary_map(&src, &Layout::contiguous(&[n]), |x| 2 * x);
/// assert!(out.iter().enumerate().all(|(i, &y)| y == 2 * i as i64));
/// ```
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Calls `f(a_offset, b_offset)` for every element of `shape`, walking two
/// strided layouts in lockstep in row-major order.
///
/// ```
/// use ferrograd_storage::{cpu::for_each_offset_pair, Layout};
/// let a = Layout::contiguous(&[2, 3]);
/// let b = Layout::contiguous(&[3, 2]).transpose(0, 1); // strides [1, 2]
/// let mut pairs = vec![];
/// let (sa, sb) = ((a.strides(), a.offset()), (b.strides(), b.offset()));
/// for_each_offset_pair(a.shape(), sa, sb, |x, y| pairs.push((x, y)));
/// assert_eq!(pairs, vec![(0, 0), (1, 2), (2, 4), (3, 1), (4, 3), (5, 5)]);
/// ```
pub fn for_each_offset_pair(
    shape: &[usize],
    (a_strides, a_offset): (&[isize], usize),
    (b_strides, b_offset): (&[isize], usize),
    mut f: impl FnMut(usize, usize),
) {
    if shape.iter().product::<usize>() == 0 {
        return;
    }
    if shape.is_empty() {
        f(a_offset, b_offset);
        return;
    }
    let last = shape.len() - 1;
    let (n, sa, sb) = (shape[last], a_strides[last], b_strides[last]);
    let mut index = vec![0usize; last];
    let (mut ra, mut rb) = (a_offset as isize, b_offset as isize);
    loop {
        let (mut oa, mut ob) = (ra, rb);
        for _ in 0..n {
            f(oa as usize, ob as usize);
            oa += sa;
            ob += sb;
        }
        let mut d = last;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            ra += a_strides[d];
            rb += b_strides[d];
            if index[d] < shape[d] {
                break;
            }
            ra -= a_strides[d] * shape[d] as isize;
            rb -= b_strides[d] * shape[d] as isize;
            index[d] = 0;
        }
    }
}
