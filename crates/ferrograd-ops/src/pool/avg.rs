//! Average pooling kernels over contiguous planes, for `avg_pool2d` and
//! `adaptive_avg_pool2d` alike (they differ only in their windows):
//! [`forward`] averages each window, [`backward`] spreads each output's
//! gradient evenly over its window. Each is the other's transpose.

use super::each_plane;
use super::windows::Windows;
use ferrograd_storage::FloatElement;

/// Window means, `planes × oh × ow`.
pub(crate) fn forward<T: FloatElement>(win: &Windows, x: &[T]) -> Vec<T> {
    let (hw, per) = (win.h * win.w, win.oh() * win.ow());
    let mut out = vec![T::zero(); win.planes * per];
    each_plane(&mut out, per, x.len(), |p, out| {
        let plane = &x[p * hw..(p + 1) * hw];
        let mut slots = out.iter_mut();
        for (r, rs) in win.rows.iter().enumerate() {
            for (c, cs) in win.cols.iter().enumerate() {
                let mut sum = T::zero();
                for ih in rs.start..rs.start + rs.len {
                    let row = &plane[ih * win.w + cs.start..][..cs.len];
                    sum = row.iter().fold(sum, |a, &v| a + v);
                }
                let slot = slots.next().expect("one slot per window");
                *slot = if rs.len == 0 || cs.len == 0 {
                    T::zero()
                } else {
                    sum / T::from_f64(win.divisor(r, c) as f64)
                };
            }
        }
    });
    out
}

/// `grad_input`: each output's gradient divided over its window, `planes × h × w`.
pub(crate) fn backward<T: FloatElement>(win: &Windows, g: &[T]) -> Vec<T> {
    let (hw, per) = (win.h * win.w, win.oh() * win.ow());
    let mut gi = vec![T::zero(); win.planes * hw];
    each_plane(&mut gi, hw, g.len(), |p, plane| {
        let mut grads = g[p * per..(p + 1) * per].iter();
        for (r, rs) in win.rows.iter().enumerate() {
            for (c, cs) in win.cols.iter().enumerate() {
                let v = *grads.next().expect("one gradient per window");
                if rs.len == 0 || cs.len == 0 {
                    continue;
                }
                let share = v / T::from_f64(win.divisor(r, c) as f64);
                for ih in rs.start..rs.start + rs.len {
                    let row = &mut plane[ih * win.w + cs.start..][..cs.len];
                    row.iter_mut().for_each(|x| *x = *x + share);
                }
            }
        }
    });
    gi
}
