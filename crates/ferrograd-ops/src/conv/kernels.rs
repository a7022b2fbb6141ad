//! What the convolution kernels ([`forward`](super::forward) and
//! [`backward`](super::backward)) share: the element types, the thread
//! schedule, and the index arithmetic between NCHW tensors and column
//! matrices.
//!
//! Each product pairs the weight of one group `g` (`m × k`) with a column
//! matrix (`k × positions`). Two schedules:
//! - [`Schedule::Blocks`], when there are enough output rows (over all
//!   images) to keep every thread busy: rayon over `(image, block of output
//!   rows)` tasks, each product on the task's own thread (`gemm_local`), with
//!   its columns in a buffer that stays in cache;
//! - [`Schedule::Chunked`], when so few output rows make big products: the
//!   columns of a chunk of images (sized to stay in L2) side by side and one
//!   product over all of them, split across threads by `SharedOut::gemm`.
//!
//! Blocks win even for one image when it has a few rows per thread: batch-1
//! convolutions (1,3,28,28)→64, (1,32,14,14)→64 and (1,3,224,224)→64 ran
//! 1.1–1.8× faster forward and 1.15–1.6× faster forward+backward in blocks
//! than chunked.
//!
//! Operands are laid out so the gemm kernel's packing copies whole vectors:
//! the left operand with unit row stride, the right with unit column stride.

use super::geometry::Geometry;
use super::im2col::im2col_segment;
use super::scratch::PoolElement;
use crate::matmul::{self_threaded, Dims, Gemm, MatView};
use num_traits::Float;
use rayon::prelude::*;
use std::ops::{AddAssign, Range};

/// Elements of column buffer one chunk of the large-product schedule may
/// use: about a core's L2 cache, so packing reads it from there.
const CHUNK_BUDGET: usize = 1 << 18;

/// The element types convolutions compute in (`f32`, `f64`).
pub(crate) trait ConvElement: Gemm + Float + AddAssign + PoolElement {}
impl ConvElement for f32 {}
impl ConvElement for f64 {}

/// How a pass is split between threads (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// Tasks of this many output rows of one image.
    Blocks(usize),
    /// Chunks of this many images, one large product per chunk and group.
    Chunked(usize),
}

impl Schedule {
    /// Chunks if there are fewer output rows (over all images) than tasks
    /// wanted and one image's product (`dims_of(positions)`) is big enough
    /// to be split across threads; otherwise blocks of whole images' output
    /// rows, fewer rows if that would leave threads idle.
    pub fn pick<T: Gemm>(g: &Geometry, dims_of: impl Fn(usize) -> Dims) -> Self {
        let tasks_wanted = 2 * rayon::current_num_threads();
        if g.n * g.oh < tasks_wanted && self_threaded::<T>(dims_of(g.l())) {
            let chunk = (CHUNK_BUDGET / (g.k() * g.l()).max(1)).clamp(1, g.n.max(1));
            return Schedule::Chunked(chunk);
        }
        let rows = g.oh.max(1);
        let blocks_wanted = tasks_wanted.div_ceil(g.n.max(1));
        Schedule::Blocks(rows.min(g.oh.div_ceil(blocks_wanted)).max(1))
    }
}

pub(crate) fn dims(m: usize, k: usize, n: usize) -> Dims {
    Dims { m, k, n }
}

/// The images of each chunk.
pub(crate) fn chunks(n: usize, chunk: usize) -> impl Iterator<Item = Range<usize>> {
    (0..n).step_by(chunk).map(move |n0| n0..(n0 + chunk).min(n))
}

/// Every `(image, output rows)` task of blocks of `rows` output rows.
pub(crate) fn row_blocks(g: &Geometry, rows: usize) -> Vec<(usize, Range<usize>)> {
    (0..g.n)
        .flat_map(|img| {
            (0..g.oh)
                .step_by(rows)
                .map(move |r0| (img, r0..(r0 + rows).min(g.oh)))
        })
        .collect()
}

/// The tap `(c, i, j)` of row `r` of a group's column matrix.
pub(crate) fn tap(g: &Geometry, r: usize) -> (usize, (usize, usize)) {
    (r / (g.kh * g.kw), ((r / g.kw) % g.kh, r % g.kw))
}

/// Input plane `c` of group `grp` of image `img`.
pub(crate) fn input_plane<'a, T>(
    g: &Geometry,
    x: &'a [T],
    (img, grp): (usize, usize),
    c: usize,
) -> &'a [T] {
    &x[(img * g.c_in + grp * g.cg() + c) * g.hw()..][..g.hw()]
}

/// Group `grp`'s rows of the weight, `m × k`.
pub(crate) fn weight_view(g: &Geometry, grp: usize) -> MatView {
    MatView::row_major(grp * g.m() * g.k(), g.k())
}

/// Rows `grp·m..` of image `img` of an output-shaped tensor, `m × l`,
/// starting at output row `r0`.
pub(crate) fn output_rows(g: &Geometry, (img, grp): (usize, usize), r0: usize) -> MatView {
    MatView::row_major((img * g.c_out + grp * g.m()) * g.l() + r0 * g.ow, g.l())
}

/// Writes the columns of image `img`, group `grp`, output rows `rows` into
/// `cols` (`k × rows.len()·ow`).
pub(crate) fn im2col_image<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    at: (usize, usize),
    rows: Range<usize>,
    cols: &mut [T],
) {
    let nb = rows.len() * g.ow;
    for (r, dst) in cols.chunks_exact_mut(nb).enumerate().take(g.k()) {
        let (c, ij) = tap(g, r);
        im2col_segment(g, input_plane(g, x, at, c), ij, rows.clone(), dst);
    }
}

/// Writes the columns of images `imgs`, group `grp`, side by side into
/// `cols` (`k × imgs.len()·l`), in parallel.
pub(crate) fn im2col_chunk<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    imgs: &Range<usize>,
    grp: usize,
    cols: &mut [T],
) {
    let nc = imgs.len();
    cols[..g.k() * nc * g.l()]
        .par_chunks_mut(g.l())
        .enumerate()
        .for_each(|(q, dst)| {
            let (c, ij) = tap(g, q / nc);
            let plane = input_plane(g, x, (imgs.start + q % nc, grp), c);
            im2col_segment(g, plane, ij, 0..g.oh, dst);
        });
}

/// Copies the rows of group `grp` of images `imgs` out of NCHW `src` into
/// `dst` laid out `(m × imgs.len()·l)`, in parallel.
pub(crate) fn gather_rows<T: ConvElement>(
    g: &Geometry,
    src: &[T],
    imgs: &Range<usize>,
    grp: usize,
    dst: &mut [T],
) {
    let nc = imgs.len();
    dst[..g.m() * nc * g.l()]
        .par_chunks_mut(g.l())
        .enumerate()
        .for_each(|(q, row)| {
            let (mm, img) = (q / nc, imgs.start + q % nc);
            let first = output_rows(g, (img, grp), 0).offset + mm * g.l();
            row.copy_from_slice(&src[first..first + g.l()]);
        });
}

/// Calls `f(img, c, plane)` in parallel for each `plane`-sized chunk of
/// `buf` (the NCHW planes of a chunk of images, `channels` per image) whose
/// channel is in group `grp` (`per_group` channels each); `img` counts from
/// the chunk's first image and `c` within the group.
pub(crate) fn each_group_plane<T: Send>(
    buf: &mut [T],
    plane: usize,
    (channels, per_group, grp): (usize, usize, usize),
    f: impl Fn(usize, usize, &mut [T]) + Sync + Send,
) {
    buf.par_chunks_mut(plane).enumerate().for_each(|(q, p)| {
        let (img, ch) = (q / channels, q % channels);
        if ch / per_group == grp {
            f(img, ch % per_group, p);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::backward::{backward_input_with, backward_weight_with};
    use super::super::forward::forward_with;
    use super::*;
    use crate::conv::Conv2dOptions;

    fn data(n: usize, seed: u64) -> Vec<f64> {
        (0..n)
            .map(|i| (((i as u64 * 7919 + seed * 104_729) % 1000) as f64 - 500.0) / 250.0)
            .collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-9 * (1.0 + y.abs()), "[{i}] {x} vs {y}");
        }
    }

    #[test]
    fn every_schedule_gives_the_same_values() {
        let opts = Conv2dOptions::new()
            .padding([1, 2])
            .stride([2, 1])
            .dilation([1, 2])
            .groups(2);
        let g = Geometry::new(&[5, 4, 9, 8], &[6, 2, 3, 3], &opts).unwrap();
        let x = data(5 * 4 * 9 * 8, 1);
        let w = data(6 * 2 * 9, 2);
        let b = data(6, 3);
        let grad = data(5 * 6 * g.l(), 4);
        let reference = Schedule::Blocks(g.oh);
        let others = [
            Schedule::Blocks(1),
            Schedule::Blocks(2),
            Schedule::Chunked(1),
            Schedule::Chunked(2),
            Schedule::Chunked(5),
        ];
        for s in others {
            for bias in [Some(&b[..]), None] {
                let want = forward_with(&g, &x, &w, bias, reference);
                close(&forward_with(&g, &x, &w, bias, s), &want);
            }
            let want = backward_weight_with(&g, &x, &grad, reference);
            close(&backward_weight_with(&g, &x, &grad, s), &want);
            if let Schedule::Chunked(_) = s {
                let want = backward_input_with(&g, &grad, &w, reference);
                close(&backward_input_with(&g, &grad, &w, s), &want);
            }
        }
    }
}
