//! Moving between image planes and column matrices: [`im2col_segment`]
//! writes, for one kernel tap `(i, j)`, the input values every output
//! position of a block of output rows reads; [`col2im_segment`] adds such a
//! segment back into an input plane (the transpose). Out-of-image positions
//! (padding) are zeros going in and are dropped coming back. The valid span of
//! each row is computed once, so the inner loops are plain slice copies with
//! no per-element bounds checks.

use super::geometry::{valid_range, Geometry};
use num_traits::Zero;
use std::ops::Range;

/// The input row read by output row `oh` at tap row `i`, if inside the image.
fn input_row(g: &Geometry, oh: usize, i: usize) -> Option<usize> {
    let ih = (oh * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0] as isize;
    (ih >= 0 && (ih as usize) < g.h).then_some(ih as usize)
}

/// For tap column `j`: the valid output columns and the input column offset
/// (`iw = ow·stride + offset`).
fn column_span(g: &Geometry, j: usize) -> (usize, usize, isize) {
    let offset = (j * g.dilation[1]) as isize - g.padding[1] as isize;
    let (lo, hi) = valid_range(g.ow, g.stride[1], offset, g.w);
    (lo, hi, offset)
}

/// Fills `dst` (`rows.len() · ow` values) with what tap `(i, j)` reads from
/// `plane` (one `h × w` input channel) for output rows `rows`.
pub(crate) fn im2col_segment<T: Copy + Zero>(
    g: &Geometry,
    plane: &[T],
    (i, j): (usize, usize),
    rows: Range<usize>,
    dst: &mut [T],
) {
    if g.stride == [1, 1] && g.ow == g.w {
        return im2col_same_width(g, plane, (i, j), rows, dst);
    }
    let (lo, hi, offset) = column_span(g, j);
    let sw = g.stride[1];
    for (oh, out) in rows.zip(dst.chunks_exact_mut(g.ow)) {
        let Some(ih) = input_row(g, oh, i) else {
            out.fill(T::zero());
            continue;
        };
        out[..lo].fill(T::zero());
        out[hi..].fill(T::zero());
        if lo == hi {
            continue;
        }
        let first = ih * g.w + (lo as isize * sw as isize + offset) as usize;
        let src = &plane[first..];
        if sw == 1 {
            out[lo..hi].copy_from_slice(&src[..hi - lo]);
        } else {
            for (o, &x) in out[lo..hi].iter_mut().zip(src.iter().step_by(sw)) {
                *o = x;
            }
        }
    }
}

/// [`im2col_segment`] when output rows are as long as input rows and both
/// strides are 1: consecutive output rows then read consecutive input rows
/// at the same offset, so the in-image rows are one contiguous copy; the
/// columns that fall in the padding are zeroed after it.
fn im2col_same_width<T: Copy + Zero>(
    g: &Geometry,
    plane: &[T],
    (i, j): (usize, usize),
    rows: Range<usize>,
    dst: &mut [T],
) {
    let (lo, hi, offset) = column_span(g, j);
    let mut inside = rows.clone().filter(|&oh| input_row(g, oh, i).is_some());
    let (Some(first), true) = (inside.next(), lo < hi) else {
        return dst.fill(T::zero());
    };
    let last = inside.next_back().unwrap_or(first);
    let (t0, t1) = (first - rows.start, last + 1 - rows.start);
    let ow = g.ow;
    dst[..t0 * ow].fill(T::zero());
    dst[t1 * ow..].fill(T::zero());
    let ih0 = input_row(g, first, i).expect("in the image");
    let src = (ih0 * g.w) as isize + lo as isize + offset;
    let len = (t1 - t0 - 1) * ow + (hi - lo);
    let start = t0 * ow + lo;
    dst[start..start + len].copy_from_slice(&plane[src as usize..src as usize + len]);
    // Column by column (strided), as these are one or two columns wide.
    let body = &mut dst[t0 * ow..t1 * ow];
    for c in (0..lo).chain(hi..ow) {
        for x in body[c..].iter_mut().step_by(ow) {
            *x = T::zero();
        }
    }
}

/// Adds `src` (`oh · ow` values of tap `(i, j)`, one per output position)
/// into `plane` at the input positions they were read from.
pub(crate) fn col2im_segment<T: Copy + std::ops::AddAssign>(
    g: &Geometry,
    plane: &mut [T],
    (i, j): (usize, usize),
    src: &[T],
) {
    let (lo, hi, offset) = column_span(g, j);
    if lo == hi {
        return;
    }
    let sw = g.stride[1];
    for (oh, row) in src.chunks_exact(g.ow).enumerate() {
        let Some(ih) = input_row(g, oh, i) else {
            continue;
        };
        let first = ih * g.w + (lo as isize * sw as isize + offset) as usize;
        let dst = &mut plane[first..];
        if sw == 1 {
            for (d, &x) in dst[..hi - lo].iter_mut().zip(&row[lo..hi]) {
                *d += x;
            }
        } else {
            for (d, &x) in dst.iter_mut().step_by(sw).zip(&row[lo..hi]) {
                *d += x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::Conv2dOptions;

    fn geometry(h: usize, w: usize, k: usize, opts: Conv2dOptions) -> Geometry {
        Geometry::new(&[1, 1, h, w], &[1, 1, k, k], &opts).unwrap()
    }

    #[test]
    fn segments_read_what_a_naive_index_reads_and_col2im_is_its_transpose() {
        let opts = [
            Conv2dOptions::new(),
            Conv2dOptions::new().padding(1),
            Conv2dOptions::new().padding([2, 1]).dilation([2, 1]),
            Conv2dOptions::new().padding(2).stride([2, 3]),
            Conv2dOptions::new()
                .padding([1, 3])
                .dilation([2, 1])
                .stride(2),
        ];
        for o in opts {
            let g = geometry(5, 7, 3, o);
            let plane: Vec<f64> = (0..35).map(|x| x as f64 + 1.0).collect();
            let (mut hand, mut back) = (vec![0.0; 35], vec![0.0; 35]);
            for i in 0..3 {
                for j in 0..3 {
                    let mut seg = vec![-1.0; g.l()];
                    im2col_segment(&g, &plane, (i, j), 0..g.oh, &mut seg);
                    for oh in 0..g.oh {
                        for ow in 0..g.ow {
                            let ih = (oh * o.stride[0] + i * o.dilation[0]) as isize
                                - o.padding[0] as isize;
                            let iw = (ow * o.stride[1] + j * o.dilation[1]) as isize
                                - o.padding[1] as isize;
                            let inside = (0..5).contains(&ih) && (0..7).contains(&iw);
                            let want = if inside {
                                plane[(ih * 7 + iw) as usize]
                            } else {
                                0.0
                            };
                            assert_eq!(seg[oh * g.ow + ow], want, "{o:?} tap {i},{j} at {oh},{ow}");
                            if inside {
                                hand[(ih * 7 + iw) as usize] += 1.0;
                            }
                        }
                    }
                    let ones = vec![1.0; g.l()];
                    col2im_segment(&g, &mut back, (i, j), &ones);
                    let rows = 1..g.oh - 1;
                    let mut part = vec![-1.0; rows.len() * g.ow];
                    im2col_segment(&g, &plane, (i, j), rows.clone(), &mut part);
                    assert_eq!(
                        part,
                        seg[rows.start * g.ow..rows.end * g.ow],
                        "{o:?} rows {rows:?}"
                    );
                }
            }
            assert_eq!(back, hand, "{o:?}");
        }
    }
}
