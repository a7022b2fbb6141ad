//! Materialising strided views: [`gather_contiguous`] reads any layout into a
//! row-major vector, [`copy_into_strided`] writes values into a strided
//! destination.
//!
//! A gather first merges the layout's dims ([`Layout::coalesced`]), then walks
//! output rows: a memcpy per row where the source rows are contiguous, a
//! reversed copy where they run backwards, and cache-blocked tiles when the
//! source walks fastest along another dim (a transpose). Large gathers split
//! their output along dim 0 across rayon's threads, which also spreads the
//! page faults of the fresh output buffer.

use super::transpose::{Block, TILE};
use super::{for_each_offset_pair, fresh_vec, PARALLEL_THRESHOLD};
use crate::{contiguous_strides, Element, Layout};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Reads the elements of `layout` over `src` into a new row-major vector.
///
/// ```
/// use ferrograd_storage::{cpu::gather_contiguous, Layout};
/// let data = [0, 1, 2, 3, 4, 5];
/// let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
/// assert_eq!(gather_contiguous(&data, &t), vec![0, 3, 1, 4, 2, 5]);
/// let flipped = Layout::contiguous(&[2, 3]).flip(&[1]);
/// assert_eq!(gather_contiguous(&data, &flipped), vec![2, 1, 0, 5, 4, 3]);
/// ```
///
/// # Panics
/// If `layout` reaches past the end of `src` (a [`Layout`] built for another storage).
pub fn gather_contiguous<T: Element>(src: &[T], layout: &Layout) -> Vec<T> {
    let numel = layout.numel();
    match layout.contiguous_offset() {
        _ if numel == 0 => return Vec::new(),
        Some(start) if numel < PARALLEL_THRESHOLD => return src[start..start + numel].to_vec(),
        _ => {}
    }
    let (_, end) = layout.span();
    assert!(
        end <= src.len(),
        "layout {layout:?} reaches element {end} of a storage of {} elements",
        src.len()
    );
    let (shape, strides) = layout.coalesced();
    let strided = Strided {
        shape: &shape,
        strides: &strides,
        offset: layout.offset(),
    };
    let mut out = fresh_vec(numel);
    let slots = &mut out.spare_capacity_mut()[..numel];
    if numel >= PARALLEL_THRESHOLD {
        strided.gather_parallel(src, slots);
    } else {
        strided.gather_into(src, slots);
    }
    // SAFETY: every gather path writes each of the `numel` slots.
    unsafe { out.set_len(numel) };
    out
}

/// A coalesced strided source: element `i` (row-major over `shape`) is at
/// `offset + Σ i[d] * strides[d]`.
struct Strided<'a> {
    shape: &'a [usize],
    strides: &'a [isize],
    offset: usize,
}

impl Strided<'_> {
    /// Splits the output along dim 0 into chunks for rayon's threads; each
    /// gathers its rows (whole tiles where dim 0 is tiled) into its part.
    fn gather_parallel<T: Element>(&self, src: &[T], dst: &mut [MaybeUninit<T>]) {
        let rows = self.shape[0];
        let row_len = dst.len() / rows;
        let mut per_chunk = rows.div_ceil(4 * rayon::current_num_threads()).max(1);
        if self.tiled_dim() == Some(0) {
            per_chunk = per_chunk.next_multiple_of(TILE);
        }
        dst.par_chunks_mut(per_chunk * row_len)
            .enumerate()
            .for_each(|(i, chunk)| {
                let mut shape = self.shape.to_vec();
                shape[0] = chunk.len() / row_len;
                let first = i * per_chunk;
                let part = Strided {
                    shape: &shape,
                    strides: self.strides,
                    offset: (self.offset as isize + first as isize * self.strides[0]) as usize,
                };
                part.gather_into(src, chunk);
            });
    }

    /// The dim tiled against the last one, when the source rows are not
    /// adjacent elements: the dim (other than the last) the source walks
    /// fastest along, if faster than along the last. Broadcast dims (stride 0)
    /// never count.
    fn tiled_dim(&self) -> Option<usize> {
        let last = self.shape.len().checked_sub(1)?;
        let along_row = self.strides[last].unsigned_abs();
        if along_row <= 1 {
            return None;
        }
        (0..last)
            .filter(|&d| self.strides[d] != 0)
            .min_by_key(|&d| self.strides[d].unsigned_abs())
            .filter(|&d| self.strides[d].unsigned_abs() < along_row)
    }

    /// Writes every element, row-major, into `dst` (`dst.len()` is the element count).
    fn gather_into<T: Element>(&self, src: &[T], dst: &mut [MaybeUninit<T>]) {
        let Some(last) = self.shape.len().checked_sub(1) else {
            dst[0].write(src[self.offset]);
            return;
        };
        let dst_strides = contiguous_strides(self.shape);
        let (n, stride) = (self.shape[last], self.strides[last]);
        match self.tiled_dim() {
            Some(k) => {
                let outer: Vec<usize> = (0..last).filter(|&d| d != k).collect();
                let pick = |v: &[isize]| outer.iter().map(|&d| v[d]).collect::<Vec<_>>();
                let outer_shape: Vec<usize> = outer.iter().map(|&d| self.shape[d]).collect();
                let block = Block {
                    rows: self.shape[k],
                    cols: n,
                    src_strides: (self.strides[k], stride),
                    dst_row_stride: dst_strides[k] as usize,
                };
                for_each_offset_pair(
                    &outer_shape,
                    (&pick(self.strides), self.offset),
                    (&pick(&dst_strides), 0),
                    |s, d| block.copy(src, s, dst, d),
                );
            }
            None => for_each_offset_pair(
                &self.shape[..last],
                (&self.strides[..last], self.offset),
                (&dst_strides[..last], 0),
                |s, d| copy_row(src, s, stride, &mut dst[d..d + n]),
            ),
        }
    }
}

/// Copies `dst.len()` elements of `src` starting at `start`, `stride` apart.
#[inline]
fn copy_row<T: Element>(src: &[T], start: usize, stride: isize, dst: &mut [MaybeUninit<T>]) {
    let n = dst.len();
    match stride {
        1 => {
            for (d, &s) in dst.iter_mut().zip(&src[start..start + n]) {
                d.write(s);
            }
        }
        -1 => {
            for (d, &s) in dst.iter_mut().zip(src[start + 1 - n..=start].iter().rev()) {
                d.write(s);
            }
        }
        _ => {
            for (k, d) in dst.iter_mut().enumerate() {
                d.write(src[(start as isize + k as isize * stride) as usize]);
            }
        }
    }
}

/// Writes `values` (row-major, `dst_layout.numel()` of them, or one value to
/// broadcast when `values_layout` has stride 0) into `dst` at `dst_layout`.
///
/// ```
/// use ferrograd_storage::{cpu::copy_into_strided, Layout};
/// let mut dst = [0; 6];
/// let by_column = Layout::contiguous(&[2, 3]).transpose(0, 1);
/// copy_into_strided(&mut dst, &by_column, &[1, 2, 3, 4, 5, 6], &Layout::contiguous(&[3, 2]));
/// assert_eq!(dst, [1, 3, 5, 2, 4, 6]);
/// let one = Layout::contiguous(&[1]).broadcast_to(&[2, 3])?; // one value, stride 0
/// copy_into_strided(&mut dst, &Layout::contiguous(&[2, 3]), &[9], &one);
/// assert_eq!(dst, [9; 6]);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn copy_into_strided<T: Element>(
    dst: &mut [T],
    dst_layout: &Layout,
    values: &[T],
    values_layout: &Layout,
) {
    if let (Some(d), Some(s)) = (
        dst_layout.contiguous_offset(),
        values_layout.contiguous_offset(),
    ) {
        let n = dst_layout.numel();
        dst[d..d + n].copy_from_slice(&values[s..s + n]);
        return;
    }
    for_each_offset_pair(
        dst_layout.shape(),
        (dst_layout.strides(), dst_layout.offset()),
        (values_layout.strides(), values_layout.offset()),
        |d, s| dst[d] = values[s],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The elements of `layout`, row-major, by explicit stride arithmetic.
    fn naive<T: Copy>(data: &[T], layout: &Layout) -> Vec<T> {
        (0..layout.numel())
            .map(|mut flat| {
                let mut at = layout.offset() as isize;
                for d in (0..layout.ndim()).rev() {
                    at += (flat % layout.shape()[d]) as isize * layout.strides()[d];
                    flat /= layout.shape()[d];
                }
                data[at as usize]
            })
            .collect()
    }

    fn check(layouts: &[Layout]) {
        for l in layouts {
            let data: Vec<i32> = (0..l.span().1 as i32).collect();
            assert_eq!(gather_contiguous(&data, l), naive(&data, l), "{l:?}");
        }
    }

    #[test]
    fn gathers_every_layout_kind() {
        let base = Layout::contiguous(&[2, 3, 4]);
        check(&[
            base.permute(&[2, 0, 1]).unwrap(),
            base.flip(&[1]),
            base.slice(2, None, None, -2).unwrap(),
            base.transpose(1, 2),
            base.select(1, 1).unwrap(),
            Layout::contiguous(&[70, 45]).transpose(0, 1),
            Layout::contiguous(&[0, 5]).transpose(0, 1),
        ]);
    }

    #[test]
    fn tiles_transposes_with_any_stride_signs() {
        let m = Layout::contiguous(&[45, 70]);
        check(&[
            m.transpose(0, 1).flip(&[0]),
            m.transpose(0, 1).flip(&[1]),
            m.transpose(0, 1).flip(&[0, 1]),
            m.flip(&[1]),
            m.flip(&[0]),
        ]);
        let cube = Layout::contiguous(&[40, 30, 50]);
        check(&[
            cube.permute(&[2, 1, 0]).unwrap(),
            cube.permute(&[0, 2, 1]).unwrap().flip(&[0, 2]),
            cube.permute(&[1, 2, 0])
                .unwrap()
                .slice(2, None, None, -3)
                .unwrap(),
        ]);
        let nchw = Layout::contiguous(&[6, 7, 8, 9]);
        check(&[
            nchw.permute(&[0, 2, 3, 1]).unwrap(),
            nchw.permute(&[3, 1, 2, 0]).unwrap().flip(&[1]),
        ]);
    }

    #[test]
    fn large_gathers_split_across_threads_correctly() {
        const _: () = assert!(300 * 257 >= PARALLEL_THRESHOLD);
        let m = Layout::contiguous(&[257, 300]);
        let t = m.transpose(0, 1);
        check(&[
            t.clone(),
            t.flip(&[0]),
            t.flip(&[1]),
            m.flip(&[0, 1]),
            m.flip(&[1]),
            m.slice(1, Some(1), None, 3).unwrap(),
            Layout::contiguous(&[16, 40, 30, 20])
                .permute(&[0, 2, 3, 1])
                .unwrap(),
            Layout::contiguous(&[3, 20000]).transpose(0, 1),
            m.clone(),
            m.narrow(0, 1, 200).unwrap(),
        ]);
    }

    #[test]
    fn repeats_broadcast_elements() {
        let row = Layout::contiguous(&[1, 500])
            .broadcast_to(&[300, 500])
            .unwrap();
        let column = Layout::contiguous(&[300, 1])
            .broadcast_to(&[300, 500])
            .unwrap();
        check(&[row, column.clone(), column.transpose(0, 1)]);
    }

    #[test]
    #[should_panic(expected = "reaches element 6 of a storage of 5 elements")]
    fn refuses_a_layout_past_the_storage() {
        gather_contiguous(&[0u8; 5], &Layout::contiguous(&[2, 3]).transpose(0, 1));
    }

    #[test]
    fn copies_into_a_strided_destination() {
        let mut dst = vec![0; 6];
        let dl = Layout::contiguous(&[2, 3]).transpose(0, 1);
        copy_into_strided(
            &mut dst,
            &dl,
            &[1, 2, 3, 4, 5, 6],
            &Layout::contiguous(&[3, 2]),
        );
        assert_eq!(dst, vec![1, 3, 5, 2, 4, 6]);
    }
}
