//! The convolution's gradient kernels: [`backward_input`] (for stride 1 a
//! convolution of the gradient with the flipped weight; otherwise `Wᵀ ·
//! grad`, then col2im), [`backward_weight`] (`grad · colsᵀ`, summed over
//! images) and [`backward_bias`] (see [`kernels`](super::kernels) for the
//! schedules).

use super::forward::forward;
use super::geometry::Geometry;
use super::im2col::col2im_segment;
use super::kernels::{
    chunks, dims, each_group_plane, gather_rows, im2col_chunk, im2col_image, output_rows,
    row_blocks, tap, weight_view, ConvElement, Schedule,
};
use super::scratch::Scratch;
use super::Conv2dOptions;
use crate::matmul::{gemm, MatView, SharedOut};
use num_traits::Float;
use rayon::prelude::*;
use std::ops::Range;

/// The gradient of the input, `(n, c_in, h, w)`, from the output's gradient.
pub(crate) fn backward_input<T: ConvElement>(g: &Geometry, grad: &[T], w: &[T]) -> Vec<T> {
    if let Some((tg, wt)) = transposed_conv(g, w) {
        return forward(&tg, grad, &wt, None);
    }
    // col2im of one image's blocks overlaps, so a task takes a whole image.
    let s = match Schedule::pick::<T>(g, |_| dims(g.k(), g.m(), g.l())) {
        Schedule::Blocks(_) => Schedule::Blocks(g.oh),
        chunked => chunked,
    };
    backward_input_with(g, grad, w, s)
}

/// For stride 1 the input gradient is itself a convolution: of the output
/// gradient with the weight flipped in space and its channel dims swapped,
/// padded by `dilation·(k − 1) − padding`. That has a long reduction
/// (`m·kh·kw`) and no col2im. Its geometry and weight, when it applies.
fn transposed_conv<T: ConvElement>(g: &Geometry, w: &[T]) -> Option<(Geometry, Vec<T>)> {
    if g.stride != [1, 1] {
        return None;
    }
    let pad = |a: usize| (g.dilation[a] * ([g.kh, g.kw][a] - 1)).checked_sub(g.padding[a]);
    let opts = Conv2dOptions::new()
        .padding([pad(0)?, pad(1)?])
        .dilation(g.dilation)
        .groups(g.groups);
    let input = [g.n, g.c_out, g.oh, g.ow];
    let tg = Geometry::new(&input, &[g.c_in, g.m(), g.kh, g.kw], &opts).ok()?;
    let mut wt = Vec::with_capacity(w.len());
    for (grp, c, mm) in (0..g.groups)
        .flat_map(|grp| (0..g.cg()).flat_map(move |c| (0..g.m()).map(move |mm| (grp, c, mm))))
    {
        let taps = &w[((grp * g.m() + mm) * g.cg() + c) * g.kh * g.kw..][..g.kh * g.kw];
        wt.extend(taps.iter().rev());
    }
    Some((tg, wt))
}

pub(crate) fn backward_input_with<T: ConvElement>(
    g: &Geometry,
    grad: &[T],
    w: &[T],
    s: Schedule,
) -> Vec<T> {
    let mut gi = vec![T::zero(); g.n * g.c_in * g.hw()];
    let Schedule::Chunked(chunk) = s else {
        let per_image = gi.par_chunks_mut(g.c_in * g.hw()).enumerate();
        per_image.for_each(|(img, planes)| {
            let mut gcols = Scratch::new(g.k() * g.l());
            for grp in 0..g.groups {
                // gcols (k × l) = Wᵀ (k × m) · grad (m × l)
                let (d, vcols) = (dims(g.k(), g.m(), g.l()), MatView::row_major(0, g.l()));
                let vg = output_rows(g, (img, grp), 0);
                let (vw, zero) = (weight_view(g, grp).t(), T::zero());
                // SAFETY: `gcols` is this task's own buffer.
                unsafe { SharedOut::new(&mut gcols).gemm_local(d, w, vw, grad, vg, zero, vcols) };
                for (r, src) in gcols.chunks_exact(g.l()).enumerate() {
                    let (c, ij) = tap(g, r);
                    let plane = &mut planes[(grp * g.cg() + c) * g.hw()..][..g.hw()];
                    col2im_segment(g, plane, ij, src);
                }
            }
        });
        return gi;
    };
    let mut rows = Scratch::new(g.m() * chunk * g.l());
    let mut gcols = Scratch::new(g.k() * chunk * g.l());
    for imgs in chunks(g.n, chunk) {
        let npos = imgs.len() * g.l();
        for grp in 0..g.groups {
            gather_rows(g, grad, &imgs, grp, &mut rows);
            // gcolsᵀ = rowsᵀ · W, both stored position-major along their rows.
            let d = dims(npos, g.m(), g.k());
            let vt = MatView::row_major(0, npos).t();
            gemm(
                d,
                &rows,
                vt,
                w,
                weight_view(g, grp),
                T::zero(),
                &mut gcols,
                vt,
            );
            let planes = &mut gi[imgs.start * g.c_in * g.hw()..imgs.end * g.c_in * g.hw()];
            each_group_plane(planes, g.hw(), (g.c_in, g.cg(), grp), |img, c, plane| {
                for t in 0..g.kh * g.kw {
                    let r = c * g.kh * g.kw + t;
                    let src = &gcols[r * npos + img * g.l()..][..g.l()];
                    col2im_segment(g, plane, (t / g.kw, t % g.kw), src);
                }
            });
        }
    }
    gi
}

/// Groups the weight gradient's row blocks are summed in (a constant, so
/// the result does not depend on the thread count): enough to keep a few
/// threads busy, each group holding one weight-sized partial sum.
const WEIGHT_GROUPS: usize = 8;

/// The gradient of the weight, `(c_out, c_in / groups, kh, kw)`.
pub(crate) fn backward_weight<T: ConvElement>(g: &Geometry, x: &[T], grad: &[T]) -> Vec<T> {
    let s = Schedule::pick::<T>(g, |positions| dims(g.m(), positions, g.k()));
    backward_weight_with(g, x, grad, s)
}

pub(crate) fn backward_weight_with<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    grad: &[T],
    s: Schedule,
) -> Vec<T> {
    let len = g.c_out * g.k();
    match s {
        Schedule::Blocks(rows) => {
            // A fixed grouping of the blocks, each group summed in order and
            // the groups added in order: the same floating-point result on
            // every run and thread count (rayon's own fold/reduce groups
            // blocks by which thread stole what, so a seeded training run
            // drifted between runs).
            let blocks = row_blocks(g, rows);
            let per_group = blocks.len().div_ceil(WEIGHT_GROUPS).max(1);
            let partials: Vec<Vec<T>> = blocks
                .par_chunks(per_group)
                .map(|group| {
                    group.iter().fold(vec![T::zero(); len], |acc, (img, rows)| {
                        weight_block(g, x, grad, (*img, rows.clone()), acc)
                    })
                })
                .collect();
            partials
                .into_iter()
                .reduce(|mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, &y)| *x += y);
                    a
                })
                .unwrap_or_else(|| vec![T::zero(); len])
        }
        Schedule::Chunked(chunk) => weight_chunked(g, x, grad, chunk),
    }
}

/// Adds one block's share, `grad_blk (m × nb) · colsᵀ (nb × k)` per group,
/// to `acc`. Both operands are read through strides (the gemm kernel packs
/// them element by element, from a block that stays in cache).
fn weight_block<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    grad: &[T],
    (img, rows): (usize, Range<usize>),
    mut acc: Vec<T>,
) -> Vec<T> {
    let nb = rows.len() * g.ow;
    let mut cols = Scratch::new(g.k() * nb);
    for grp in 0..g.groups {
        im2col_image(g, x, (img, grp), rows.clone(), &mut cols);
        let (d, vcols) = (dims(g.m(), nb, g.k()), MatView::row_major(0, nb).t());
        let vg = output_rows(g, (img, grp), rows.start);
        let (out, vw) = (SharedOut::new(&mut acc), weight_view(g, grp));
        // SAFETY: `acc` is this task's own accumulator.
        unsafe { out.gemm_local(d, grad, vg, &cols, vcols, T::one(), vw) };
    }
    acc
}

/// Per chunk and group: `Wᵀ (k × m) = cols · rowsᵀ`, accumulated over chunks.
fn weight_chunked<T: ConvElement>(g: &Geometry, x: &[T], grad: &[T], chunk: usize) -> Vec<T> {
    let mut gw = vec![T::zero(); g.c_out * g.k()];
    let mut cols = Scratch::new(g.k() * chunk * g.l());
    let mut rows = Scratch::new(g.m() * chunk * g.l());
    for imgs in chunks(g.n, chunk) {
        let npos = imgs.len() * g.l();
        for grp in 0..g.groups {
            im2col_chunk(g, x, &imgs, grp, &mut cols);
            gather_rows(g, grad, &imgs, grp, &mut rows);
            let d = dims(g.k(), npos, g.m());
            let (vcols, vrows) = (MatView::row_major(0, npos), MatView::row_major(0, npos).t());
            let beta = if imgs.start == 0 { T::zero() } else { T::one() };
            gemm(
                d,
                &cols,
                vcols,
                &rows,
                vrows,
                beta,
                &mut gw,
                weight_view(g, grp).t(),
            );
        }
    }
    gw
}

/// The gradient of the bias: the output gradient summed per channel.
pub(crate) fn backward_bias<T: ConvElement>(g: &Geometry, grad: &[T]) -> Vec<T> {
    (0..g.c_out)
        .into_par_iter()
        .map(|co| {
            (0..g.n)
                .map(|img| sum(&grad[(img * g.c_out + co) * g.l()..][..g.l()]))
                .fold(T::zero(), |a, b| a + b)
        })
        .collect()
}

/// A sum with eight independent accumulators, so it vectorises.
fn sum<T: Float>(xs: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = *a + x;
        }
    }
    let head = acc.iter().fold(T::zero(), |a, &b| a + b);
    tail.iter().fold(head, |a, &b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transposed_convolution_gives_the_col2im_input_gradient() {
        let opts = Conv2dOptions::new()
            .padding([2, 1])
            .dilation([2, 1])
            .groups(2);
        let g = Geometry::new(&[3, 4, 8, 7], &[6, 2, 3, 3], &opts).unwrap();
        let w: Vec<f64> = (0..g.c_out * g.k()).map(|i| (i % 7) as f64 - 3.0).collect();
        let grad: Vec<f64> = (0..g.n * g.c_out * g.l())
            .map(|i| (i % 5) as f64 - 2.0)
            .collect();
        assert!(transposed_conv(&g, &w).is_some());
        let col2im = backward_input_with(&g, &grad, &w, Schedule::Blocks(g.oh));
        assert_eq!(backward_input(&g, &grad, &w), col2im);
    }

    #[test]
    fn the_weight_gradient_is_the_same_bits_on_any_thread_count() {
        let g = Geometry::new(
            &[16, 3, 9, 9],
            &[5, 3, 3, 3],
            &Conv2dOptions::new().padding([1, 1]),
        )
        .unwrap();
        // Values whose sums round differently in different orders.
        let x: Vec<f32> = (0..g.n * g.c_in * g.hw())
            .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 + 0.37)
            .collect();
        let grad: Vec<f32> = (0..g.n * g.c_out * g.l())
            .map(|i| ((i * 104729) % 997) as f32 * 3e-2 - 11.0)
            .collect();
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| backward_weight_with(&g, &x, &grad, Schedule::Blocks(2)))
        };
        let once = on(1);
        for threads in [2, 3, 4, 1, 4] {
            for _ in 0..3 {
                assert_eq!(on(threads), once, "{threads} threads");
            }
        }
    }
}
