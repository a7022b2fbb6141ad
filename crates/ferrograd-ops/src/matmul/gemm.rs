//! The matrix-product kernels every op of this crate multiplies with.
//!
//! [`Gemm`] maps an element type to its kernel: the gemm crate's for `f32` /
//! `f64` (which take any strides, negative and zero included, so transposed
//! and flipped operands are never copied), and a plain loop for the integer
//! types. [`gemm`] and [`gemm_new`] are the bounds-checked
//! entry points for one product. A product big enough to share
//! ([`self_threaded`]) runs on rayon's threads through [`SharedOut::gemm`]:
//! a square-ish one split by the gemm crate itself, a skinny one split into
//! one block of output columns (or rows) per thread, each block a
//! single-threaded kernel call. [`batched`] runs one product per
//! batch entry, across rayon's threads when the products are too small to
//! split themselves.

use ferrograd_storage::NumElement;
use rayon::prelude::*;

/// Where a matrix lives in a slice: the index of element `(0, 0)` and the
/// signed row and column strides, in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MatView {
    pub offset: usize,
    pub rs: isize,
    pub cs: isize,
}

impl MatView {
    /// A row-major `rows × cols` matrix starting at `offset`.
    pub fn row_major(offset: usize, cols: usize) -> Self {
        MatView {
            offset,
            rs: cols as isize,
            cs: 1,
        }
    }

    /// The same memory read as the transposed matrix.
    pub fn t(self) -> Self {
        MatView {
            offset: self.offset,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// True when every element of a `rows × cols` matrix lies in `0..len`.
    fn fits(&self, rows: usize, cols: usize, len: usize) -> bool {
        if rows == 0 || cols == 0 {
            return true;
        }
        let (mut lo, mut hi) = (self.offset as isize, self.offset as isize);
        for (n, s) in [(rows, self.rs), (cols, self.cs)] {
            let reach = (n as isize - 1) * s;
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        lo >= 0 && (hi as usize) < len
    }
}

/// The sizes of one product: `(m × k) · (k × n)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dims {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

/// Multiply-adds from which [`SharedOut::gemm`] splits one product across
/// rayon's threads (below it, the split's fork and join cost more than the
/// halves save).
const SPLIT_FLOPS: usize = 1 << 19;

/// Output blocks of a split product are multiples of this many columns (or
/// rows): a multiple of the kernels' f32 register tile widths, so no block
/// ends in a partial tile that another block also pays for.
const SPLIT_ALIGN: usize = 16;

/// A threaded product whose rows and columns both reach this is handed to
/// the kernel whole, to split across threads itself (the gemm crate shares
/// its packed operands between threads: 256² 177–205 GFLOP/s either way
/// here, 512² 215 against 200 with one block per thread); a skinnier one
/// (a linear layer's 64 rows) is split into blocks, which is faster there
/// (64×3136×128: 169–180 against 144–165 GFLOP/s).
const KERNEL_SPLITS_FROM: usize = 128;

/// Multiply-adds below which a batch stays on the calling thread.
const PARALLEL_FLOPS: usize = 1 << 16;

/// An element type with a matrix-product kernel.
pub(crate) trait Gemm: NumElement {
    /// True when [`SharedOut::gemm`] splits large products across threads.
    const THREADED: bool;

    /// `c ← a·b + beta·c`. With `beta == 0`, `c` is only written, never read.
    /// `threads > 1` lets the kernel split the product across that many of
    /// rayon's threads itself (kernels that cannot ignore it).
    ///
    /// # Safety
    /// The three views must lie inside the allocations their pointers point
    /// into for the sizes in `d`, and no two elements of `c` may share memory
    /// with each other or with `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        d: Dims,
        a: *const Self,
        va: MatView,
        b: *const Self,
        vb: MatView,
        beta: Self,
        c: *mut Self,
        vc: MatView,
        threads: usize,
    );
}

macro_rules! float_gemm {
    ($t:ty) => {
        impl Gemm for $t {
            const THREADED: bool = true;
            unsafe fn gemm_raw(
                d: Dims,
                a: *const $t,
                va: MatView,
                b: *const $t,
                vb: MatView,
                beta: $t,
                c: *mut $t,
                vc: MatView,
                threads: usize,
            ) {
                let parallelism = if threads > 1 {
                    gemm::Parallelism::Rayon(threads)
                } else {
                    gemm::Parallelism::None
                };
                // The gemm crate computes `dst ← alpha·dst + beta·lhs·rhs`
                // (its beta is our 1, its alpha our beta) and takes each
                // stride column first; `read_dst = false` never reads C.
                // SAFETY: the caller guarantees the views are in bounds and C does not alias.
                unsafe {
                    gemm::gemm(
                        d.m,
                        d.n,
                        d.k,
                        c.add(vc.offset),
                        vc.cs,
                        vc.rs,
                        beta != 0.0,
                        a.add(va.offset),
                        va.cs,
                        va.rs,
                        b.add(vb.offset),
                        vb.cs,
                        vb.rs,
                        beta,
                        1.0,
                        false,
                        false,
                        false,
                        parallelism,
                    )
                }
            }
        }
    };
}

float_gemm!(f32);
float_gemm!(f64);

macro_rules! int_gemm {
    ($($t:ty),*) => {$(
        impl Gemm for $t {
            const THREADED: bool = false;
            unsafe fn gemm_raw(d: Dims, a: *const $t, va: MatView, b: *const $t, vb: MatView, beta: $t, c: *mut $t, vc: MatView, _threads: usize) {
                // SAFETY: forwarded from the caller.
                unsafe { loop_gemm(d, a, va, b, vb, beta, c, vc) }
            }
        }
    )*};
}

int_gemm!(i64, i32, u8);

/// The integer kernel: row `i` of C accumulates `a[i][p] · b[p][..]` over `p`
/// (wrapping, as PyTorch's integer arithmetic does).
///
/// # Safety
/// As [`Gemm::gemm_raw`].
#[allow(clippy::too_many_arguments)]
unsafe fn loop_gemm<T: NumElement>(
    d: Dims,
    a: *const T,
    va: MatView,
    b: *const T,
    vb: MatView,
    beta: T,
    c: *mut T,
    vc: MatView,
) {
    let at = |p: *const T, v: MatView, i: usize, j: usize| {
        // SAFETY: indices stay below the view's sizes, which the caller keeps in bounds.
        unsafe { *p.offset(v.offset as isize + i as isize * v.rs + j as isize * v.cs) }
    };
    for i in 0..d.m {
        let c_row = |j: usize| {
            // SAFETY: as above, for C.
            unsafe { c.offset(vc.offset as isize + i as isize * vc.rs + j as isize * vc.cs) }
        };
        for j in 0..d.n {
            // SAFETY: in bounds; beta == 0 means C may be uninitialised, so it is not read.
            unsafe {
                let old = if beta == T::zero() {
                    T::zero()
                } else {
                    (*c_row(j)).mul_wrap(beta)
                };
                c_row(j).write(old);
            }
        }
        for p in 0..d.k {
            let x = at(a, va, i, p);
            for j in 0..d.n {
                // SAFETY: in bounds and initialised by the loop above.
                unsafe { *c_row(j) = (*c_row(j)).add_wrap(x.mul_wrap(at(b, vb, p, j))) };
            }
        }
    }
}

/// `c ← a·b + beta·c` on slices, with every view checked to be in bounds.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: Gemm>(
    d: Dims,
    a: &[T],
    va: MatView,
    b: &[T],
    vb: MatView,
    beta: T,
    c: &mut [T],
    vc: MatView,
) {
    // SAFETY: `c` is borrowed exclusively, so no other task touches it.
    unsafe { SharedOut::new(c).gemm(d, a, va, b, vb, beta, vc) }
}

/// `a·b` as a new row-major `m × n` vector.
#[cfg(test)]
pub(crate) fn gemm_new<T: Gemm>(d: Dims, a: &[T], va: MatView, b: &[T], vb: MatView) -> Vec<T> {
    batched(d, a, va, b, vb, &[(va.offset, vb.offset)])
}

/// True when [`SharedOut::gemm`] splits this product across rayon's
/// threads itself, so callers should not also run it beside others.
pub(crate) fn self_threaded<T: Gemm>(d: Dims) -> bool {
    T::THREADED
        && d.m * d.k * d.n >= SPLIT_FLOPS
        && d.m.max(d.n) >= 2 * SPLIT_ALIGN
        && rayon::current_num_threads() > 1
}

/// One product per `(a_offset, b_offset)` pair, with the strides of `va` and
/// `vb` (their offsets are ignored), stacked into a row-major
/// `pairs.len() × m × n` vector.
pub(crate) fn batched<T: Gemm>(
    d: Dims,
    a: &[T],
    va: MatView,
    b: &[T],
    vb: MatView,
    pairs: &[(usize, usize)],
) -> Vec<T> {
    let views: Vec<(MatView, MatView)> = pairs
        .iter()
        .map(|&(oa, ob)| (MatView { offset: oa, ..va }, MatView { offset: ob, ..vb }))
        .collect();
    let per = d.m * d.n;
    let len = per * views.len();
    let mut out: Vec<T> = Vec::with_capacity(len);
    // SAFETY: the capacity holds `len` elements; tasks write disjoint rows
    // with beta zero (written, never read), and all are written before set_len.
    let dst = unsafe { SharedOut::from_raw(out.spare_capacity_mut().as_mut_ptr() as *mut T, len) };
    let run = |idx: usize, rows: std::ops::Range<usize>| {
        let (xa, xb) = views[idx];
        let sub = Dims { m: rows.len(), ..d };
        let xa = MatView {
            offset: (xa.offset as isize + rows.start as isize * xa.rs) as usize,
            ..xa
        };
        let vc = MatView::row_major(idx * per + rows.start * d.n, d.n);
        // SAFETY: each task writes its own rows of the output.
        unsafe { dst.gemm(sub, a, xa, b, xb, T::zero(), vc) }
    };
    let work = d.m * d.n * d.k * views.len();
    if work < PARALLEL_FLOPS || self_threaded::<T>(d) || len == 0 {
        (0..views.len()).for_each(|i| run(i, 0..d.m));
    } else if views.len() > 1 {
        (0..views.len())
            .into_par_iter()
            .for_each(|i| run(i, 0..d.m));
    } else {
        let block = d.m.div_ceil(2 * rayon::current_num_threads()).max(1);
        (0..d.m.div_ceil(block))
            .into_par_iter()
            .for_each(|r| run(0, r * block..((r + 1) * block).min(d.m)));
    }
    // SAFETY: every row of every product was written above.
    unsafe { out.set_len(len) };
    out
}

/// An output buffer that parallel tasks write disjoint parts of.
pub(crate) struct SharedOut<'a, T> {
    ptr: *mut T,
    len: usize,
    _buf: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: tasks only write disjoint elements through it (see its methods).
unsafe impl<T: Send> Send for SharedOut<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedOut<'_, T> {}

impl<'a, T: Gemm> SharedOut<'a, T> {
    /// Shares `buf` for the lifetime of the borrow.
    pub fn new(buf: &'a mut [T]) -> Self {
        SharedOut {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            _buf: std::marker::PhantomData,
        }
    }

    /// Shares the spare capacity of `buf` (`len` elements of it), for
    /// writers that fill every element; the caller then sets the length.
    ///
    /// # Safety
    /// `buf` must have capacity for `len` elements and must not be touched
    /// otherwise while this lives.
    pub unsafe fn spare(buf: &'a mut Vec<T>, len: usize) -> Self {
        assert!(buf.capacity() >= len);
        // SAFETY: forwarded from the caller.
        unsafe { Self::from_raw(buf.spare_capacity_mut().as_mut_ptr() as *mut T, len) }
    }

    /// # Safety
    /// `ptr` must be valid for writes of `len` elements while this lives.
    unsafe fn from_raw(ptr: *mut T, len: usize) -> Self {
        SharedOut {
            ptr,
            len,
            _buf: std::marker::PhantomData,
        }
    }

    /// `view ← a·b + beta·view` in the shared buffer (bounds checked), split
    /// into one block of output columns (or rows, whichever dimension is
    /// longer) per rayon thread when [`self_threaded`].
    ///
    /// # Safety
    /// No other task may touch the elements of `vc` meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gemm(
        &self,
        d: Dims,
        a: &[T],
        va: MatView,
        b: &[T],
        vb: MatView,
        beta: T,
        vc: MatView,
    ) {
        if !self_threaded::<T>(d) {
            // SAFETY: forwarded from the caller.
            return unsafe { self.gemm_local(d, a, va, b, vb, beta, vc) };
        }
        if d.m >= KERNEL_SPLITS_FROM && d.n >= KERNEL_SPLITS_FROM {
            self.check_bounds(d, (va, a.len()), (vb, b.len()), vc);
            let (a, b, threads) = (a.as_ptr(), b.as_ptr(), rayon::current_num_threads());
            // SAFETY: bounds checked; exclusivity of `vc` is the caller's promise.
            return unsafe { T::gemm_raw(d, a, va, b, vb, beta, self.ptr, vc, threads) };
        }
        let along_n = d.n >= d.m;
        let len = if along_n { d.n } else { d.m };
        let block = len
            .div_ceil(rayon::current_num_threads())
            .next_multiple_of(SPLIT_ALIGN);
        let shift = |v: MatView, start: usize, stride: isize| MatView {
            offset: (v.offset as isize + start as isize * stride) as usize,
            ..v
        };
        (0..len.div_ceil(block)).into_par_iter().for_each(|i| {
            let (start, end) = (i * block, ((i + 1) * block).min(len));
            let (d, va, vb, vc) = if along_n {
                let d = Dims {
                    n: end - start,
                    ..d
                };
                (d, va, shift(vb, start, vb.cs), shift(vc, start, vc.cs))
            } else {
                let d = Dims {
                    m: end - start,
                    ..d
                };
                (d, shift(va, start, va.rs), vb, shift(vc, start, vc.rs))
            };
            // SAFETY: each block is a part of the checked product and
            // writes its own columns (rows) of `vc`.
            unsafe { self.gemm_local(d, a, va, b, vb, beta, vc) }
        });
    }

    /// [`Self::gemm`] on the calling thread only, for callers that already
    /// run in parallel tasks (bounds checked).
    ///
    /// # Safety
    /// As [`Self::gemm`].
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gemm_local(
        &self,
        d: Dims,
        a: &[T],
        va: MatView,
        b: &[T],
        vb: MatView,
        beta: T,
        vc: MatView,
    ) {
        self.check_bounds(d, (va, a.len()), (vb, b.len()), vc);
        let (a, b) = (a.as_ptr(), b.as_ptr());
        // SAFETY: bounds checked; exclusivity of `vc` is the caller's promise.
        unsafe { T::gemm_raw(d, a, va, b, vb, beta, self.ptr, vc, 1) }
    }

    /// Panics unless both operands (view, length of their slice) and the
    /// output view lie in bounds for the sizes in `d`.
    fn check_bounds(&self, d: Dims, a: (MatView, usize), b: (MatView, usize), vc: MatView) {
        assert!(a.0.fits(d.m, d.k, a.1) && b.0.fits(d.k, d.n, b.1));
        assert!(vc.fits(d.m, d.n, self.len) && vc.rs != 0 && vc.cs != 0);
    }

    /// Writes `value` to the elements `range` of the buffer.
    ///
    /// # Safety
    /// No other task may touch these elements meanwhile.
    pub unsafe fn fill(&self, range: std::ops::Range<usize>, value: T) {
        assert!(range.start <= range.end && range.end <= self.len);
        for i in range {
            // SAFETY: in bounds; exclusivity is the caller's promise.
            unsafe { self.ptr.add(i).write(value) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(d: Dims, a: &[i64], va: MatView, b: &[i64], vb: MatView) -> Vec<i64> {
        let at = |s: &[i64], v: MatView, i: usize, j: usize| {
            s[(v.offset as isize + i as isize * v.rs + j as isize * v.cs) as usize]
        };
        let mut out = vec![];
        for i in 0..d.m {
            for j in 0..d.n {
                out.push((0..d.k).map(|p| at(a, va, i, p) * at(b, vb, p, j)).sum());
            }
        }
        out
    }

    #[test]
    fn float_and_integer_kernels_agree_with_a_naive_loop_on_any_strides() {
        let a: Vec<i64> = (0..24).map(|x| x % 7 - 3).collect();
        let b: Vec<i64> = (0..24).map(|x| x % 5 - 2).collect();
        let d = Dims { m: 3, k: 4, n: 5 };
        let cases = [
            (MatView::row_major(0, 4), MatView::row_major(0, 5)),
            (
                MatView::row_major(0, 3).t(),
                MatView {
                    offset: 23,
                    rs: -5,
                    cs: -1,
                },
            ),
            (
                MatView {
                    offset: 2,
                    rs: 0,
                    cs: 1,
                },
                MatView {
                    offset: 4,
                    rs: 5,
                    cs: 0,
                },
            ),
        ];
        for (va, vb) in cases {
            let want = naive(d, &a, va, &b, vb);
            assert_eq!(gemm_new(d, &a, va, &b, vb), want);
            let (af, bf): (Vec<f64>, Vec<f64>) = (
                a.iter().map(|&x| x as f64).collect(),
                b.iter().map(|&x| x as f64).collect(),
            );
            let got = gemm_new(d, &af, va, &bf, vb);
            assert_eq!(got, want.iter().map(|&x| x as f64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn split_products_equal_the_product_on_one_thread_however_they_are_split() {
        // Three threads, so blocks are uneven and the last one is partial.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for d in [
            Dims {
                m: 50,
                k: 300,
                n: 170,
            },
            Dims {
                m: 170,
                k: 300,
                n: 50,
            },
            // Both sides long enough for the kernel to split it itself.
            Dims {
                m: 130,
                k: 40,
                n: 140,
            },
        ] {
            assert!(pool.install(|| self_threaded::<f64>(d)));
            let a: Vec<f64> = (0..d.m * d.k).map(|x| (x % 11) as f64 - 5.0).collect();
            let b: Vec<f64> = (0..d.k * d.n).map(|x| (x % 13) as f64 - 6.0).collect();
            // A transposed left operand and a row-flipped right one.
            let va = MatView::row_major(0, d.m).t();
            let vb = MatView {
                offset: (d.k - 1) * d.n,
                rs: -(d.n as isize),
                cs: 1,
            };
            let vc = MatView::row_major(0, d.n);
            let mut want = vec![1.0; d.m * d.n];
            // SAFETY: `want` is borrowed exclusively.
            unsafe { SharedOut::new(&mut want).gemm_local(d, &a, va, &b, vb, 1.0, vc) };
            let mut c = vec![1.0; d.m * d.n];
            // SAFETY: as above.
            pool.install(|| unsafe { SharedOut::new(&mut c).gemm(d, &a, va, &b, vb, 1.0, vc) });
            assert_eq!(c, want);
            let naive_first = naive(
                Dims { m: 1, ..d },
                &a.iter().map(|&x| x as i64).collect::<Vec<_>>(),
                va,
                &b.iter().map(|&x| x as i64).collect::<Vec<_>>(),
                vb,
            );
            let first: Vec<f64> = naive_first.iter().map(|&x| x as f64 + 1.0).collect();
            assert_eq!(&c[..d.n], &first[..]);
        }
    }

    #[test]
    fn accumulates_with_beta_and_splits_big_integer_products() {
        let d = Dims {
            m: 70,
            k: 40,
            n: 30,
        };
        let a: Vec<i32> = (0..d.m * d.k).map(|x| (x % 11) as i32 - 5).collect();
        let b: Vec<i32> = (0..d.k * d.n).map(|x| (x % 13) as i32 - 6).collect();
        let (va, vb) = (MatView::row_major(0, d.k), MatView::row_major(0, d.n));
        let once = gemm_new(d, &a, va, &b, vb);
        let mut c = once.clone();
        gemm(d, &a, va, &b, vb, 1, &mut c, MatView::row_major(0, d.n));
        assert_eq!(c, once.iter().map(|x| 2 * x).collect::<Vec<_>>());
        let a64: Vec<i64> = a.iter().map(|&x| x as i64).collect();
        let b64: Vec<i64> = b.iter().map(|&x| x as i64).collect();
        let want: Vec<i32> = naive(d, &a64, va, &b64, vb)
            .iter()
            .map(|&x| x as i32)
            .collect();
        assert_eq!(once, want);
    }
}
