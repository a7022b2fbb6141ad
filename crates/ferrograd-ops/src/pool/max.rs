//! Max pooling kernels over contiguous planes: [`forward`] finds each
//! window's maximum and its flat index in the plane (`ih · w + iw`, PyTorch's
//! `indices`); [`scatter`] sends gradients back to those indices and
//! [`gather`] reads values at them — each other's transpose, so the backward
//! is differentiable in both directions. NaN wins, as in PyTorch.

use super::each_plane;
use super::windows::{Span, Windows};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::FloatElement;
use rayon::prelude::*;

/// The positions `start, start + step, …` of a span.
fn taps(s: &Span) -> impl Iterator<Item = usize> + '_ {
    (0..s.len).map(move |t| s.start + t * s.step)
}

/// Keeps `(v, at)` in `(best, idx)` if `v` is larger (or NaN, which wins).
#[inline(always)]
fn keep<T: FloatElement, I: TryFrom<usize> + Default>(best: &mut T, idx: &mut I, v: T, at: usize) {
    if v > *best || v.is_nan() {
        *best = v;
        *idx = I::try_from(at).unwrap_or_default();
    }
}

/// One plane's maxima and indices: row by row, window row by window row,
/// comparing in PyTorch's order (window rows, then columns) so ties keep the
/// first maximum. Whole, evenly spaced windows are swept one tap column at
/// a time across the row; windows cut by the padding go one by one.
fn plane_max<T: FloatElement>(win: &Windows, plane: &[T], out: &mut [T], idx: &mut [i64]) {
    let (c0, c1, taps_w) = win.interior_cols();
    let edges: Vec<usize> = (0..c0).chain(c1..win.ow()).collect();
    let rows = out
        .chunks_exact_mut(win.ow())
        .zip(idx.chunks_exact_mut(win.ow()));
    for (rs, (best, at)) in win.rows.iter().zip(rows) {
        best.fill(T::neg_infinity());
        at.fill(-1);
        for ih in taps(rs) {
            let row = &plane[ih * win.w..(ih + 1) * win.w];
            let base = ih * win.w;
            for &c in &edges {
                for iw in taps(&win.cols[c]) {
                    keep(&mut best[c], &mut at[c], row[iw], base + iw);
                }
            }
            if c1 == c0 {
                continue;
            }
            let (s, first) = (win.col_stride, win.cols[c0].start);
            for j in 0..taps_w {
                let start = first + j * win.cols[c0].step;
                let values = row[start..].iter().step_by(s);
                let slots = best[c0..c1].iter_mut().zip(&mut at[c0..c1]);
                for (k, ((b, a), &v)) in slots.zip(values).enumerate() {
                    keep(b, a, v, base + start + k * s);
                }
            }
        }
    }
}

/// True when the windows tile the plane in 2×2 squares from the corner
/// (`kernel_size=2`, stride 2, no padding or dilation): the common case,
/// with its own loop.
fn is_2x2_tiling(win: &Windows) -> bool {
    let tiles = |spans: &[Span]| {
        (spans.iter().enumerate()).all(|(o, s)| (s.start, s.step, s.len) == (2 * o, 1, 2))
    };
    tiles(&win.rows) && tiles(&win.cols)
}

/// [`plane_max`] for 2×2 tiles: each output compares the two values of
/// each of its two rows, in PyTorch's order.
fn plane_max_2x2<T: FloatElement>(win: &Windows, plane: &[T], out: &mut [T], idx: &mut [i64]) {
    let (w, ow) = (win.w, win.ow());
    let rows = out.chunks_exact_mut(ow).zip(idx.chunks_exact_mut(ow));
    for (r, (best, at)) in rows.enumerate() {
        let top = &plane[2 * r * w..][..2 * ow];
        let bottom = &plane[(2 * r + 1) * w..][..2 * ow];
        let pairs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
        let first_of_row = (2 * r * w) as i64;
        let (w, mut first) = (w as i64, first_of_row);
        for ((t, b), (o, i)) in pairs.zip(best.iter_mut().zip(at.iter_mut())) {
            let (v, a) = select_max((t[0], first), (t[1], first + 1));
            let (v, a) = select_max((v, a), (b[0], first + w));
            (*o, *i) = select_max((v, a), (b[1], first + w + 1));
            first += 2;
        }
    }
}

/// The larger of two `(value, index)` pairs, the first on ties, NaN winning:
/// written without branches, since random data would mispredict them.
#[inline(always)]
fn select_max<T: FloatElement>(best: (T, i64), candidate: (T, i64)) -> (T, i64) {
    let take = (candidate.0 > best.0) | candidate.0.is_nan();
    let index = [best.1, candidate.1][take as usize];
    (if take { candidate.0 } else { best.0 }, index)
}

/// Each window's maximum and its index in the plane, `planes × oh × ow` of each.
pub(crate) fn forward<T: FloatElement>(win: &Windows, x: &[T]) -> (Vec<T>, Vec<i64>) {
    let (hw, per) = (win.h * win.w, win.oh() * win.ow());
    let mut out = vec![T::zero(); win.planes * per];
    let mut idx = vec![0i64; win.planes * per];
    if per > 0 {
        let planes = x
            .par_chunks(hw)
            .zip(out.par_chunks_mut(per).zip(idx.par_chunks_mut(per)));
        let min_len = if x.len() < PARALLEL_THRESHOLD {
            win.planes
        } else {
            1
        };
        let kernel = if is_2x2_tiling(win) {
            plane_max_2x2
        } else {
            plane_max
        };
        planes
            .with_min_len(min_len)
            .for_each(|(plane, (o, i))| kernel(win, plane, o, i));
    }
    (out, idx)
}

/// `grad_input`: each output's gradient added at its index (`planes × h × w`).
pub(crate) fn scatter<T: FloatElement>(win: &Windows, g: &[T], idx: &[i64]) -> Vec<T> {
    let (hw, per) = (win.h * win.w, win.oh() * win.ow());
    let mut gi = vec![T::zero(); win.planes * hw];
    each_plane(&mut gi, hw, g.len(), |p, plane| {
        let range = p * per..(p + 1) * per;
        for (&i, &v) in idx[range.clone()].iter().zip(&g[range]) {
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| plane.get_mut(i)) {
                *slot = *slot + v;
            }
        }
    });
    gi
}

/// The values of `x` (`planes × h × w`) at the indices (`planes × oh × ow`).
pub(crate) fn gather<T: FloatElement>(win: &Windows, x: &[T], idx: &[i64]) -> Vec<T> {
    let (hw, per) = (win.h * win.w, win.oh() * win.ow());
    let mut out = vec![T::zero(); win.planes * per];
    each_plane(&mut out, per, x.len(), |p, out| {
        let plane = &x[p * hw..(p + 1) * hw];
        for (o, &i) in out.iter_mut().zip(&idx[p * per..(p + 1) * per]) {
            *o = usize::try_from(i)
                .ok()
                .and_then(|i| plane.get(i))
                .copied()
                .unwrap_or(T::zero());
        }
    });
    out
}
