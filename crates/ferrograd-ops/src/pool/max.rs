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

/// Each window's maximum and its index in the plane, `planes × oh × ow` of each.
pub(crate) fn forward<T: FloatElement>(win: &Windows, x: &[T]) -> (Vec<T>, Vec<i64>) {
    let (hw, per) = (win.h * win.w, win.oh() * win.ow());
    let mut out = vec![T::zero(); win.planes * per];
    let mut idx = vec![0i64; win.planes * per];
    let plane_max = |p: usize, out: &mut [T], idx: &mut [i64]| {
        let plane = &x[p * hw..(p + 1) * hw];
        let mut slots = out.iter_mut().zip(idx.iter_mut());
        for rs in &win.rows {
            for cs in &win.cols {
                let (mut best, mut at) = (T::neg_infinity(), -1i64);
                for ih in taps(rs) {
                    let row = &plane[ih * win.w..(ih + 1) * win.w];
                    let values = row[cs.start.min(win.w)..]
                        .iter()
                        .step_by(cs.step)
                        .take(cs.len);
                    for (iw, &v) in taps(cs).zip(values) {
                        if v > best || v.is_nan() {
                            best = v;
                            at = (ih * win.w + iw) as i64;
                        }
                    }
                }
                let (o, i) = slots.next().expect("one slot per window");
                *o = best;
                *i = at;
            }
        }
    };
    if per > 0 {
        let tasks = out
            .par_chunks_mut(per)
            .zip(idx.par_chunks_mut(per))
            .enumerate();
        if x.len() < PARALLEL_THRESHOLD {
            tasks
                .with_min_len(win.planes)
                .for_each(|(p, (o, i))| plane_max(p, o, i));
        } else {
            tasks.for_each(|(p, (o, i))| plane_max(p, o, i));
        }
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
