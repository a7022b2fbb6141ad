//! The forward convolution kernel: per block of output rows (or chunk of
//! images), im2col and one product `outᵀ = colsᵀ · Wᵀ` per group, written
//! straight into the NCHW output (see [`kernels`](super::kernels) for the
//! schedules).

use super::geometry::Geometry;
use super::kernels::{
    chunks, dims, each_group_plane, im2col_chunk, im2col_image, output_rows, row_blocks,
    ConvElement, Schedule,
};
use super::scratch::Scratch;
use crate::matmul::{gemm, MatView, SharedOut};
use rayon::prelude::*;

/// The forward convolution: `(n, c_out, oh, ow)` values.
pub(crate) fn forward<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    let s = Schedule::pick::<T>(g, |positions| dims(positions, g.k(), g.m()));
    forward_with(g, x, w, bias, s)
}

pub(crate) fn forward_with<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    s: Schedule,
) -> Vec<T> {
    let len = g.n * g.c_out * g.l();
    let wt = transposed_weight(g, w);
    match s {
        Schedule::Blocks(rows) => {
            let mut out = Vec::with_capacity(len);
            // SAFETY: the blocks write every output element before set_len.
            forward_blocks(
                g,
                x,
                &wt,
                bias,
                unsafe { &SharedOut::spare(&mut out, len) },
                rows,
            );
            // SAFETY: as above.
            unsafe { out.set_len(len) };
            out
        }
        Schedule::Chunked(chunk) => {
            let mut out = vec![T::zero(); len];
            forward_chunked(g, x, &wt, bias, &mut out, chunk);
            out
        }
    }
}

/// Each group's weight transposed to `k × m`, the groups one after another.
fn transposed_weight<T: ConvElement>(g: &Geometry, w: &[T]) -> Scratch<T> {
    let (m, k) = (g.m(), g.k());
    let mut wt = Scratch::new(g.groups * k * m);
    for (dst, src) in wt.chunks_exact_mut(k * m).zip(w.chunks_exact(m * k)) {
        for (mm, row) in src.chunks_exact(k).enumerate() {
            for (d, &v) in dst[mm..].iter_mut().step_by(m).zip(row) {
                *d = v;
            }
        }
    }
    wt
}

/// Group `grp`'s transposed weight, `k × m`.
fn wt_view(g: &Geometry, grp: usize) -> MatView {
    MatView::row_major(grp * g.k() * g.m(), g.m())
}

/// Writes group `grp`'s biases into the `m` rows of `nb` positions at
/// `first` (row stride `l`); returns the `beta` the product then adds with.
fn fill_bias<T: ConvElement>(
    g: &Geometry,
    out: &SharedOut<'_, T>,
    (first, nb): (usize, usize),
    bias: Option<&[T]>,
    grp: usize,
) -> T {
    let Some(b) = bias else {
        return T::zero();
    };
    for mm in 0..g.m() {
        let at = first + mm * g.l();
        // SAFETY: the calling task alone writes these output positions.
        unsafe { out.fill(at..at + nb, b[grp * g.m() + mm]) };
    }
    T::one()
}

fn forward_blocks<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    wt: &[T],
    bias: Option<&[T]>,
    shared: &SharedOut<'_, T>,
    rows: usize,
) {
    row_blocks(g, rows).into_par_iter().for_each(|(img, rows)| {
        let nb = rows.len() * g.ow;
        let mut cols = Scratch::new(g.k() * nb);
        for grp in 0..g.groups {
            im2col_image(g, x, (img, grp), rows.clone(), &mut cols);
            let vc = output_rows(g, (img, grp), rows.start);
            let beta = fill_bias(g, shared, (vc.offset, nb), bias, grp);
            let (d, vcols) = (dims(nb, g.k(), g.m()), MatView::row_major(0, nb).t());
            // SAFETY: this task alone writes these output positions.
            unsafe { shared.gemm_local(d, &cols, vcols, wt, wt_view(g, grp), beta, vc.t()) };
        }
    });
}

/// Per chunk and group: the product into a `(m × positions)` buffer (or,
/// for one image, straight into the output), then copied into the planes
/// with the bias added.
fn forward_chunked<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    wt: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
    chunk: usize,
) {
    let mut cols = Scratch::new(g.k() * chunk * g.l());
    let mut prod = Scratch::new(if chunk > 1 { g.m() * chunk * g.l() } else { 0 });
    for imgs in chunks(g.n, chunk) {
        let npos = imgs.len() * g.l();
        for grp in 0..g.groups {
            im2col_chunk(g, x, &imgs, grp, &mut cols);
            let (d, vt) = (dims(npos, g.k(), g.m()), MatView::row_major(0, npos).t());
            if imgs.len() == 1 {
                let vc = output_rows(g, (imgs.start, grp), 0);
                let beta = fill_bias(g, &SharedOut::new(out), (vc.offset, g.l()), bias, grp);
                gemm(d, &cols, vt, wt, wt_view(g, grp), beta, out, vc.t());
                continue;
            }
            gemm(d, &cols, vt, wt, wt_view(g, grp), T::zero(), &mut prod, vt);
            let planes = &mut out[imgs.start * g.c_out * g.l()..imgs.end * g.c_out * g.l()];
            each_group_plane(planes, g.l(), (g.c_out, g.m(), grp), |img, mm, plane| {
                let src = &prod[mm * npos + img * g.l()..][..g.l()];
                let b = bias.map_or(T::zero(), |b| b[grp * g.m() + mm]);
                for (o, &s) in plane.iter_mut().zip(src) {
                    *o = s + b;
                }
            });
        }
    }
}
