//! The block kernels behind `index_select`, `index_add` and advanced
//! indexing. An indexed read visits every position of the dims before the
//! indexed ones ("outer") and every index ("pick"), and copies one block of
//! the dims after them ("inner") — a memcpy when that block is contiguous.
//! An indexed write does the reverse, folding values into a destination.

use ferrograd_autograd::Tensor;
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{with_dtype, Element, Layout, NumElement, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Where one block's elements lie relative to the block's first element.
pub(crate) enum Inner {
    /// `n` adjacent elements.
    Run(usize),
    /// The offset of each element.
    Strided(Vec<isize>),
}

impl Inner {
    /// The block of the dims `shape` with `strides`.
    pub(crate) fn of(shape: &[usize], strides: &[isize]) -> Inner {
        let numel: usize = shape.iter().product();
        if numel <= 1 {
            return Inner::Run(numel);
        }
        let layout = Layout::new(shape.to_vec(), strides.to_vec(), 0);
        let (dims, steps) = layout.coalesced();
        if dims.len() == 1 && steps[0] == 1 {
            return Inner::Run(numel);
        }
        // Shift the walk so that negative strides stay at non-negative offsets.
        let lowest: isize = shape
            .iter()
            .zip(strides)
            .map(|(&n, &s)| (n as isize - 1) * s.min(0))
            .sum();
        let shifted = Layout::new(shape.to_vec(), strides.to_vec(), (-lowest) as usize);
        let mut offsets = Vec::with_capacity(numel);
        shifted.for_each_offset(|o| offsets.push(o as isize + lowest));
        Inner::Strided(offsets)
    }

    /// Elements per block.
    pub(crate) fn len(&self) -> usize {
        match self {
            Inner::Run(n) => *n,
            Inner::Strided(offsets) => offsets.len(),
        }
    }
}

/// The blocks an indexed read or write touches in one strided tensor.
pub(crate) struct Blocks {
    /// Storage offset of each position of the outer dims, row-major.
    pub(crate) outer: Vec<usize>,
    /// Offset of each picked block relative to an outer position, row-major
    /// over the index shape.
    pub(crate) picks: Vec<isize>,
    /// The elements of one block.
    pub(crate) inner: Inner,
}

impl Blocks {
    /// Blocks of `layout` with `outer` and `inner` dims given by position;
    /// `picks` are already relative offsets.
    pub(crate) fn new(
        layout: &Layout,
        outer: &[usize],
        picks: Vec<isize>,
        inner: &[usize],
    ) -> Self {
        let pick = |dims: &[usize]| -> (Vec<usize>, Vec<isize>) {
            dims.iter()
                .map(|&d| (layout.shape()[d], layout.strides()[d]))
                .unzip()
        };
        let (outer_shape, outer_strides) = pick(outer);
        let mut offsets = Vec::new();
        Layout::new(outer_shape, outer_strides, layout.offset())
            .for_each_offset(|o| offsets.push(o));
        let (inner_shape, inner_strides) = pick(inner);
        Blocks {
            outer: offsets,
            picks,
            inner: Inner::of(&inner_shape, &inner_strides),
        }
    }

    /// Elements an indexed read produces.
    pub(crate) fn numel(&self) -> usize {
        self.outer.len() * self.picks.len() * self.inner.len()
    }

    /// The elements of every block, row-major over (outer, pick, inner).
    pub(crate) fn take<T: Element>(&self, src: &[T]) -> Vec<T> {
        let n = self.numel();
        let mut out = Vec::with_capacity(n);
        if n == 0 {
            return out;
        }
        let len = self.inner.len();
        let units = n / len;
        let slots = &mut out.spare_capacity_mut()[..n];
        if n >= PARALLEL_THRESHOLD && units > 1 {
            let per = units.div_ceil(4 * rayon::current_num_threads()).max(1);
            slots
                .par_chunks_mut(per * len)
                .enumerate()
                .for_each(|(c, chunk)| self.take_units(src, c * per, chunk));
        } else {
            self.take_units(src, 0, slots);
        }
        // SAFETY: take_units writes every slot of the chunks it is given.
        unsafe { out.set_len(n) };
        out
    }

    /// Copies blocks `first..` (counted over outer × pick) into `dst`.
    fn take_units<T: Element>(&self, src: &[T], first: usize, dst: &mut [MaybeUninit<T>]) {
        let per_outer = self.picks.len();
        let (mut o, mut p) = (first / per_outer, first % per_outer);
        let len = self.inner.len();
        for block in dst.chunks_exact_mut(len) {
            let start = (self.outer[o] as isize + self.picks[p]) as usize;
            match &self.inner {
                Inner::Run(1) => {
                    block[0].write(src[start]);
                }
                Inner::Run(_) => {
                    for (d, &s) in block.iter_mut().zip(&src[start..start + len]) {
                        d.write(s);
                    }
                }
                Inner::Strided(offsets) => {
                    for (d, &r) in block.iter_mut().zip(offsets) {
                        d.write(src[(start as isize + r) as usize]);
                    }
                }
            }
            p += 1;
            if p == per_outer {
                p = 0;
                o += 1;
            }
        }
    }

    /// `dst[block] = f(dst[block], value)` for every block, with `values`
    /// row-major over (outer, pick, inner). Later picks of one position see
    /// the writes of earlier ones (so duplicates accumulate).
    pub(crate) fn put<T: Element>(&self, dst: &mut [T], values: &[T], f: impl Fn(T, T) -> T) {
        let len = self.inner.len();
        if len == 0 {
            return;
        }
        let mut blocks = values.chunks_exact(len);
        for &o in &self.outer {
            for &p in &self.picks {
                let Some(v) = blocks.next() else { return };
                let start = (o as isize + p) as usize;
                match &self.inner {
                    Inner::Run(_) => {
                        for (d, &s) in dst[start..start + len].iter_mut().zip(v) {
                            *d = f(*d, s);
                        }
                    }
                    Inner::Strided(offsets) => {
                        for (&r, &s) in offsets.iter().zip(v) {
                            let at = (start as isize + r) as usize;
                            dst[at] = f(dst[at], s);
                        }
                    }
                }
            }
        }
    }
}

/// How an indexed write combines an existing element with a new value when
/// accumulating: wrapping addition, or logical or for `bool`.
pub(crate) trait Accumulate: Element {
    /// `self + value`.
    fn accumulate(self, value: Self) -> Self;
}

macro_rules! accumulate_by_adding {
    ($($t:ty),*) => {$(
        impl Accumulate for $t {
            #[inline]
            fn accumulate(self, value: Self) -> Self {
                NumElement::add_wrap(self, value)
            }
        }
    )*};
}

accumulate_by_adding!(f32, f64, i64, i32, u8);

impl Accumulate for bool {
    #[inline]
    fn accumulate(self, value: Self) -> Self {
        self | value
    }
}

/// The blocks of `x` (whose layout `blocks` was built for), as a new
/// row-major tensor of `shape`.
pub(crate) fn take_tensor(x: &Tensor, blocks: &Blocks, shape: &[usize]) -> Result<Tensor> {
    with_dtype!(x.dtype(), T => {
        let data = x.with_data(|src: &[T], _| blocks.take(src))?;
        Tensor::from_vec(data, shape)
    })
}

/// Writes `values` (row-major over the blocks) into `dst`, adding to what is
/// there when `accumulate`.
fn put_values<T: Accumulate>(dst: &mut [T], blocks: &Blocks, values: &[T], accumulate: bool) {
    if accumulate {
        blocks.put(dst, values, T::accumulate);
    } else {
        blocks.put(dst, values, |_, v| v);
    }
}

/// A row-major copy of `x` with `values` (of `x`'s dtype, one per block
/// element, row-major) written at `blocks`, which were built for a
/// row-major layout of `x`'s shape.
pub(crate) fn put_copy(
    x: &Tensor,
    blocks: &Blocks,
    values: &Tensor,
    accumulate: bool,
) -> Result<Tensor> {
    with_dtype!(x.dtype(), T => {
        let mut out = x.to_vec::<T>()?;
        put_values(&mut out, blocks, &values.to_vec::<T>()?, accumulate);
        Tensor::from_vec(out, x.shape())
    })
}

/// Writes `values` into `x`'s own memory at `blocks` (built for `x`'s
/// layout). The values are read before the write lock is taken, so they may
/// alias `x`.
pub(crate) fn put_inplace(
    x: &Tensor,
    blocks: &Blocks,
    values: &Tensor,
    accumulate: bool,
) -> Result<()> {
    with_dtype!(x.dtype(), T => {
        let vals = values.to_vec::<T>()?;
        let mut guard = x.storage().write()?;
        let dst = guard
            .as_mut_slice::<T>()
            .ok_or_else(|| x.dtype_error::<T>("index_put_"))?;
        put_values(dst, blocks, &vals, accumulate);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_rows_of_a_transposed_matrix() {
        // [[0, 1, 2], [3, 4, 5]] transposed is [[0, 3], [1, 4], [2, 5]]; pick rows 2, 0.
        let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
        let picks = vec![2 * t.strides()[0], 0];
        let blocks = Blocks::new(&t, &[], picks, &[1]);
        assert_eq!(blocks.take(&[0, 1, 2, 3, 4, 5]), vec![2, 5, 0, 3]);
    }

    #[test]
    fn puts_accumulate_duplicates() {
        let l = Layout::contiguous(&[3]);
        let blocks = Blocks::new(&l, &[], vec![1, 1, 2], &[]);
        let mut dst = vec![0, 0, 0];
        blocks.put(&mut dst, &[5, 6, 7], |a, b| a + b);
        assert_eq!(dst, vec![0, 11, 7]);
    }

    #[test]
    fn inner_blocks_with_negative_strides() {
        let l = Layout::contiguous(&[2, 3]).flip(&[1]);
        match Inner::of(l.shape(), l.strides()) {
            Inner::Strided(offsets) => assert_eq!(offsets, vec![0, -1, -2, 3, 2, 1]),
            Inner::Run(_) => panic!("a flipped block is not a run"),
        }
    }
}
