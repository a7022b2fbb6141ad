//! Materialising strided views: [`gather_contiguous`] reads any layout into a
//! row-major vector (memcpy rows where possible, cache-blocked tiles for
//! transposes), [`copy_into_strided`] writes values into a strided destination.

use super::for_each_offset_pair;
use crate::{Element, Layout};

const TILE: usize = 32;

/// Reads the elements of `layout` over `src` into a new row-major vector.
///
/// ```
/// use ferrograd_storage::{cpu::gather_contiguous, Layout};
/// let data = [0, 1, 2, 3, 4, 5];
/// let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
/// assert_eq!(gather_contiguous(&data, &t), vec![0, 3, 1, 4, 2, 5]);
/// ```
pub fn gather_contiguous<T: Element>(src: &[T], layout: &Layout) -> Vec<T> {
    let numel = layout.numel();
    if let Some(start) = layout.contiguous_offset() {
        return src[start..start + numel].to_vec();
    }
    let (shape, strides) = layout.coalesced();
    let mut out = Vec::with_capacity(numel);
    let base = layout.offset() as isize;
    match (shape.len(), strides.last()) {
        (_, Some(&1)) => {
            // Rows are contiguous: copy row by row.
            let row = *shape.last().unwrap();
            let outer = Layout::new(
                shape[..shape.len() - 1].to_vec(),
                strides[..strides.len() - 1].to_vec(),
                base as usize,
            );
            outer.for_each_offset(|o| out.extend_from_slice(&src[o..o + row]));
        }
        (2, _) => {
            let (rows, cols) = (shape[0], shape[1]);
            let (rs, cs) = (strides[0], strides[1]);
            // SAFETY: every element in 0..rows*cols is written below before use.
            let dst = out.spare_capacity_mut();
            for r0 in (0..rows).step_by(TILE) {
                for c0 in (0..cols).step_by(TILE) {
                    for r in r0..(r0 + TILE).min(rows) {
                        let row_base = base + r as isize * rs;
                        for c in c0..(c0 + TILE).min(cols) {
                            dst[r * cols + c].write(src[(row_base + c as isize * cs) as usize]);
                        }
                    }
                }
            }
            // SAFETY: the tiles above cover every index below rows * cols.
            unsafe { out.set_len(rows * cols) };
        }
        _ => {
            let l = Layout::new(shape, strides, layout.offset());
            l.for_each_offset(|o| out.push(src[o]));
        }
    }
    out
}

/// Writes `values` (row-major, `dst_layout.numel()` of them, or one value to
/// broadcast when `values_layout` has stride 0) into `dst` at `dst_layout`.
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

    #[test]
    fn gathers_every_layout_kind() {
        let data: Vec<i32> = (0..24).collect();
        let base = Layout::contiguous(&[2, 3, 4]);
        let cases = [
            base.permute(&[2, 0, 1]).unwrap(),
            base.flip(&[1]),
            base.slice(2, None, None, -2).unwrap(),
            base.transpose(1, 2),
            base.select(1, 1).unwrap(),
        ];
        for l in cases {
            let mut want = vec![];
            l.for_each_offset(|o| want.push(data[o]));
            assert_eq!(gather_contiguous(&data, &l), want, "{l:?}");
        }
        let big = Layout::contiguous(&[70, 45]).transpose(0, 1);
        let data: Vec<i32> = (0..70 * 45).collect();
        let mut want = vec![];
        big.for_each_offset(|o| want.push(data[o]));
        assert_eq!(gather_contiguous(&data, &big), want);
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
