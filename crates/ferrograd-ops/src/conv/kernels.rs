//! The convolution kernels, on contiguous NCHW slices: [`forward`],
//! [`backward_input`] (gemm + col2im), [`backward_weight`] (im2col + gemm)
//! and [`backward_bias`].
//!
//! Each product is `W_g (m × k) · cols (k × positions)` for one group `g`.
//! Two schedules, chosen by the size of one image's product:
//! - small products (matrixmultiply would run them on one thread): rayon
//!   over images (or blocks of output rows when there are few images), each
//!   task building its columns in a buffer that stays in cache and
//!   multiplying straight into the output;
//! - large products: the columns of a chunk of images side by side, one
//!   product over all of them on matrixmultiply's threads, and a parallel
//!   copy between the `(m × images·positions)` product and the NCHW planes.

use super::geometry::Geometry;
use super::im2col::{col2im_segment, im2col_segment};
use crate::matmul::{self_threaded, Dims, Gemm, MatView, SharedOut};
use num_traits::Float;
use rayon::prelude::*;
use std::ops::{AddAssign, Range};

/// Elements of column buffer one chunk of the large-product schedule may use.
const CHUNK_BUDGET: usize = 1 << 23;

/// The element types convolutions compute in (`f32`, `f64`).
pub(crate) trait ConvElement: Gemm + Float + AddAssign {}
impl ConvElement for f32 {}
impl ConvElement for f64 {}

/// How a pass is split between threads (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// Rayon over images, one small product each.
    PerImage,
    /// Chunks of this many images, one large product per chunk and group.
    Chunked(usize),
}

impl Schedule {
    /// The schedule for a pass whose per-image product has sizes `d`.
    fn for_product<T: Gemm>(g: &Geometry, d: Dims) -> Self {
        if self_threaded::<T>(d) {
            Schedule::Chunked((CHUNK_BUDGET / (g.k() * g.l()).max(1)).clamp(1, g.n.max(1)))
        } else {
            Schedule::PerImage
        }
    }
}

/// The tap `(c, i, j)` of row `r` of a group's column matrix.
fn tap(g: &Geometry, r: usize) -> (usize, (usize, usize)) {
    (r / (g.kh * g.kw), ((r / g.kw) % g.kh, r % g.kw))
}

/// Writes the columns of image `img`, group `grp`, output rows `rows` into
/// `cols` (`k × rows.len()·ow`).
fn im2col_image<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    img: usize,
    grp: usize,
    rows: Range<usize>,
    cols: &mut [T],
) {
    let nb = rows.len() * g.ow;
    for (r, dst) in cols.chunks_exact_mut(nb).enumerate().take(g.k()) {
        let (c, ij) = tap(g, r);
        let plane = &x[(img * g.c_in + grp * g.cg() + c) * g.hw()..][..g.hw()];
        im2col_segment(g, plane, ij, rows.clone(), dst);
    }
}

/// Writes the columns of images `imgs`, group `grp`, side by side into `cols`
/// (`k × imgs.len()·l`), in parallel.
fn im2col_chunk<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    imgs: Range<usize>,
    grp: usize,
    cols: &mut [T],
) {
    let nc = imgs.len();
    cols[..g.k() * nc * g.l()]
        .par_chunks_mut(g.l())
        .enumerate()
        .for_each(|(q, dst)| {
            let (c, ij) = tap(g, q / nc);
            let img = imgs.start + q % nc;
            let plane = &x[(img * g.c_in + grp * g.cg() + c) * g.hw()..][..g.hw()];
            im2col_segment(g, plane, ij, 0..g.oh, dst);
        });
}

/// Copies the rows of group `grp` of images `imgs` out of NCHW `src` into
/// `dst` laid out `(m × imgs.len()·l)`, in parallel.
fn gather_rows<T: ConvElement>(
    g: &Geometry,
    src: &[T],
    imgs: Range<usize>,
    grp: usize,
    dst: &mut [T],
) {
    let nc = imgs.len();
    dst[..g.m() * nc * g.l()]
        .par_chunks_mut(g.l())
        .enumerate()
        .for_each(|(q, row)| {
            let (mm, img) = (q / nc, imgs.start + q % nc);
            row.copy_from_slice(&src[(img * g.c_out + grp * g.m() + mm) * g.l()..][..g.l()]);
        });
}

/// Calls `f(img, c, plane)` in parallel for each `plane`-sized chunk of
/// `buf` (the NCHW planes of a chunk of images, `channels` per image) whose
/// channel is in group `grp` (`per_group` channels each); `img` counts from
/// the chunk's first image and `c` within the group.
fn each_group_plane<T: Send>(
    buf: &mut [T],
    plane: usize,
    channels: usize,
    per_group: usize,
    grp: usize,
    f: impl Fn(usize, usize, &mut [T]) + Sync + Send,
) {
    buf.par_chunks_mut(plane).enumerate().for_each(|(q, p)| {
        let (img, ch) = (q / channels, q % channels);
        if ch / per_group == grp {
            f(img, ch % per_group, p);
        }
    });
}

/// The forward convolution: `(n, c_out, oh, ow)` values.
pub(crate) fn forward<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    forward_with(
        g,
        x,
        w,
        bias,
        Schedule::for_product::<T>(
            g,
            Dims {
                m: g.m(),
                k: g.k(),
                n: g.l(),
            },
        ),
    )
}

pub(crate) fn forward_with<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    s: Schedule,
) -> Vec<T> {
    let mut out = vec![T::zero(); g.n * g.c_out * g.l()];
    match s {
        Schedule::Chunked(chunk) => forward_chunked(g, x, w, bias, &mut out, chunk),
        Schedule::PerImage => forward_per_image(g, x, w, bias, &mut out),
    }
    out
}

/// Group `grp`'s rows of the weight, `m × k`.
fn weight_view(g: &Geometry, grp: usize) -> MatView {
    MatView::row_major(grp * g.m() * g.k(), g.k())
}

fn forward_per_image<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let threads = 2 * rayon::current_num_threads();
    let blocks = if g.n >= threads {
        1
    } else {
        threads.div_ceil(g.n.max(1)).min(g.oh.max(1))
    };
    let rows_per = g.oh.div_ceil(blocks).max(1);
    let tasks: Vec<(usize, Range<usize>)> = (0..g.n)
        .flat_map(|img| {
            (0..g.oh)
                .step_by(rows_per)
                .map(move |r0| (img, r0..(r0 + rows_per).min(g.oh)))
        })
        .collect();
    let shared = SharedOut::new(out);
    tasks
        .into_par_iter()
        .for_each_init(Vec::new, |cols, (img, rows)| {
            let nb = rows.len() * g.ow;
            cols.resize(g.k() * nb, T::zero());
            for grp in 0..g.groups {
                im2col_image(g, x, img, grp, rows.clone(), cols);
                let first = (img * g.c_out + grp * g.m()) * g.l() + rows.start * g.ow;
                let beta = match bias {
                    Some(b) => {
                        for mm in 0..g.m() {
                            let at = first + mm * g.l();
                            // SAFETY: this task alone writes these output positions.
                            unsafe { shared.slice(at..at + nb) }.fill(b[grp * g.m() + mm]);
                        }
                        T::one()
                    }
                    None => T::zero(),
                };
                let vc = MatView {
                    offset: first,
                    rs: g.l() as isize,
                    cs: 1,
                };
                let d = Dims {
                    m: g.m(),
                    k: g.k(),
                    n: nb,
                };
                // SAFETY: this task alone writes these output positions.
                unsafe {
                    shared.gemm(
                        d,
                        w,
                        weight_view(g, grp),
                        cols,
                        MatView::row_major(0, nb),
                        beta,
                        vc,
                    )
                };
            }
        });
}

fn forward_chunked<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
    chunk: usize,
) {
    let mut cols = vec![T::zero(); g.k() * chunk * g.l()];
    let mut prod = vec![T::zero(); if chunk > 1 { g.m() * chunk * g.l() } else { 0 }];
    for n0 in (0..g.n).step_by(chunk) {
        let imgs = n0..(n0 + chunk).min(g.n);
        let ncols = imgs.len() * g.l();
        for grp in 0..g.groups {
            im2col_chunk(g, x, imgs.clone(), grp, &mut cols);
            let d = Dims {
                m: g.m(),
                k: g.k(),
                n: ncols,
            };
            let vb = MatView::row_major(0, ncols);
            if imgs.len() == 1 {
                let first = (n0 * g.c_out + grp * g.m()) * g.l();
                let vc = MatView::row_major(first, g.l());
                crate::matmul::gemm(d, w, weight_view(g, grp), &cols, vb, T::zero(), out, vc);
                add_bias(g, &mut out[first..first + g.m() * g.l()], bias, grp);
                continue;
            }
            crate::matmul::gemm(
                d,
                w,
                weight_view(g, grp),
                &cols,
                vb,
                T::zero(),
                &mut prod,
                MatView::row_major(0, ncols),
            );
            let planes = &mut out[n0 * g.c_out * g.l()..imgs.end * g.c_out * g.l()];
            each_group_plane(planes, g.l(), g.c_out, g.m(), grp, |img, mm, plane| {
                let src = &prod[mm * ncols + img * g.l()..][..g.l()];
                let b = bias.map_or(T::zero(), |b| b[grp * g.m() + mm]);
                for (o, &s) in plane.iter_mut().zip(src) {
                    *o = s + b;
                }
            });
        }
    }
}

/// Adds group `grp`'s biases to its `m` output planes of one image.
fn add_bias<T: ConvElement>(g: &Geometry, planes: &mut [T], bias: Option<&[T]>, grp: usize) {
    if let Some(b) = bias {
        for (mm, plane) in planes.chunks_exact_mut(g.l()).enumerate() {
            let v = b[grp * g.m() + mm];
            plane.iter_mut().for_each(|o| *o += v);
        }
    }
}

/// The gradient of the input, `(n, c_in, h, w)`, from the output's gradient.
pub(crate) fn backward_input<T: ConvElement>(g: &Geometry, grad: &[T], w: &[T]) -> Vec<T> {
    backward_input_with(
        g,
        grad,
        w,
        Schedule::for_product::<T>(
            g,
            Dims {
                m: g.k(),
                k: g.m(),
                n: g.l(),
            },
        ),
    )
}

pub(crate) fn backward_input_with<T: ConvElement>(
    g: &Geometry,
    grad: &[T],
    w: &[T],
    s: Schedule,
) -> Vec<T> {
    let mut gi = vec![T::zero(); g.n * g.c_in * g.hw()];
    // Group `grp`'s weight read transposed: `k × m`.
    let wt = |grp: usize| weight_view(g, grp).t();
    let Schedule::Chunked(chunk) = s else {
        gi.par_chunks_mut(g.c_in * g.hw())
            .enumerate()
            .for_each_init(Vec::new, |gcols, (img, planes)| {
                gcols.resize(g.k() * g.l(), T::zero());
                for grp in 0..g.groups {
                    let vg = MatView::row_major((img * g.c_out + grp * g.m()) * g.l(), g.l());
                    let d = Dims {
                        m: g.k(),
                        k: g.m(),
                        n: g.l(),
                    };
                    crate::matmul::gemm(
                        d,
                        w,
                        wt(grp),
                        grad,
                        vg,
                        T::zero(),
                        gcols,
                        MatView::row_major(0, g.l()),
                    );
                    for (r, src) in gcols.chunks_exact(g.l()).enumerate() {
                        let (c, ij) = tap(g, r);
                        col2im_segment(
                            g,
                            &mut planes[(grp * g.cg() + c) * g.hw()..][..g.hw()],
                            ij,
                            src,
                        );
                    }
                }
            });
        return gi;
    };
    let mut rows = vec![T::zero(); g.m() * chunk * g.l()];
    let mut gcols = vec![T::zero(); g.k() * chunk * g.l()];
    for n0 in (0..g.n).step_by(chunk) {
        let imgs = n0..(n0 + chunk).min(g.n);
        let ncols = imgs.len() * g.l();
        for grp in 0..g.groups {
            gather_rows(g, grad, imgs.clone(), grp, &mut rows);
            let d = Dims {
                m: g.k(),
                k: g.m(),
                n: ncols,
            };
            let vr = MatView::row_major(0, ncols);
            crate::matmul::gemm(
                d,
                w,
                wt(grp),
                &rows,
                vr,
                T::zero(),
                &mut gcols,
                MatView::row_major(0, ncols),
            );
            let planes = &mut gi[n0 * g.c_in * g.hw()..imgs.end * g.c_in * g.hw()];
            each_group_plane(planes, g.hw(), g.c_in, g.cg(), grp, |img, c, plane| {
                for t in 0..g.kh * g.kw {
                    let r = c * g.kh * g.kw + t;
                    let src = &gcols[r * ncols + img * g.l()..][..g.l()];
                    col2im_segment(g, plane, (t / g.kw, t % g.kw), src);
                }
            });
        }
    }
    gi
}

/// The gradient of the weight, `(c_out, c_in / groups, kh, kw)`.
pub(crate) fn backward_weight<T: ConvElement>(g: &Geometry, x: &[T], grad: &[T]) -> Vec<T> {
    backward_weight_with(
        g,
        x,
        grad,
        Schedule::for_product::<T>(
            g,
            Dims {
                m: g.m(),
                k: g.l(),
                n: g.k(),
            },
        ),
    )
}

pub(crate) fn backward_weight_with<T: ConvElement>(
    g: &Geometry,
    x: &[T],
    grad: &[T],
    s: Schedule,
) -> Vec<T> {
    let len = g.c_out * g.k();
    let Schedule::Chunked(chunk) = s else {
        let zero = || vec![T::zero(); len];
        return (0..g.n)
            .into_par_iter()
            .fold(
                || (zero(), Vec::new()),
                |(mut acc, mut cols), img| {
                    cols.resize(g.k() * g.l(), T::zero());
                    for grp in 0..g.groups {
                        im2col_image(g, x, img, grp, 0..g.oh, &mut cols);
                        let vg = MatView::row_major((img * g.c_out + grp * g.m()) * g.l(), g.l());
                        let d = Dims {
                            m: g.m(),
                            k: g.l(),
                            n: g.k(),
                        };
                        let vcols = MatView::row_major(0, g.l()).t();
                        crate::matmul::gemm(
                            d,
                            grad,
                            vg,
                            &cols,
                            vcols,
                            T::one(),
                            &mut acc,
                            weight_view(g, grp),
                        );
                    }
                    (acc, cols)
                },
            )
            .map(|(acc, _)| acc)
            .reduce(zero, |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, &y)| *x += y);
                a
            });
    };
    let mut gw = vec![T::zero(); len];
    let mut rows = vec![T::zero(); g.m() * chunk * g.l()];
    let mut cols = vec![T::zero(); g.k() * chunk * g.l()];
    for n0 in (0..g.n).step_by(chunk) {
        let imgs = n0..(n0 + chunk).min(g.n);
        let ncols = imgs.len() * g.l();
        for grp in 0..g.groups {
            im2col_chunk(g, x, imgs.clone(), grp, &mut cols);
            gather_rows(g, grad, imgs.clone(), grp, &mut rows);
            let d = Dims {
                m: g.m(),
                k: ncols,
                n: g.k(),
            };
            let vcols = MatView::row_major(0, ncols).t();
            let beta = if n0 == 0 { T::zero() } else { T::one() };
            crate::matmul::gemm(
                d,
                &rows,
                MatView::row_major(0, ncols),
                &cols,
                vcols,
                beta,
                &mut gw,
                weight_view(g, grp),
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
pub(crate) fn sum<T: Float>(xs: &[T]) -> T {
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
    fn both_schedules_agree_including_several_chunks() {
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
        for chunk in [1, 2, 5] {
            let chunked = Schedule::Chunked(chunk);
            close(
                &forward_with(&g, &x, &w, Some(&b), chunked),
                &forward_with(&g, &x, &w, Some(&b), Schedule::PerImage),
            );
            close(
                &forward_with(&g, &x, &w, None, chunked),
                &forward_with(&g, &x, &w, None, Schedule::PerImage),
            );
            close(
                &backward_input_with(&g, &grad, &w, chunked),
                &backward_input_with(&g, &grad, &w, Schedule::PerImage),
            );
            close(
                &backward_weight_with(&g, &x, &grad, chunked),
                &backward_weight_with(&g, &x, &grad, Schedule::PerImage),
            );
        }
    }
}
