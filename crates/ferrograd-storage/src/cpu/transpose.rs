//! The inner loop of a transposing gather: a 2-D block whose source walks
//! along its rows and whose destination walks along its columns. Elements of
//! 4 bytes whose source rows are adjacent (stride ±1) go through 8×8 tiles
//! transposed in AVX2 registers, 16 columns at a time, so that every cache
//! line read and written is used whole; other blocks are copied tile by tile
//! with scalar loads.

use crate::Element;
use std::mem::MaybeUninit;

/// Side of the square tiles the scalar path copies at a time.
pub(super) const TILE: usize = 32;
/// Rows of the destination one pass of the vector path covers, so that the
/// pages it writes stay in the TLB while it moves across the columns.
#[cfg(target_arch = "x86_64")]
const ROW_BAND: usize = 32;

/// A 2-D transposing copy: destination element `(r, c)` (row-major, columns
/// adjacent) is source element `r * src_strides.0 + c * src_strides.1`.
pub(super) struct Block {
    pub rows: usize,
    pub cols: usize,
    /// Source strides of a row step and a column step.
    pub src_strides: (isize, isize),
    /// Destination distance between rows (columns are adjacent).
    pub dst_row_stride: usize,
}

impl Block {
    /// Copies the block from `src` (element `(0, 0)` at `src_at`) into `dst`
    /// (element `(0, 0)` at `dst_at`).
    ///
    /// # Panics
    /// If the block reaches outside `src` or `dst`.
    pub fn copy<T: Element>(
        &self,
        src: &[T],
        src_at: usize,
        dst: &mut [MaybeUninit<T>],
        dst_at: usize,
    ) {
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::mem::size_of::<T>() == 4
            && self.src_strides.0.unsigned_abs() == 1
            && self.rows >= 8
            && self.cols >= 8
            && std::is_x86_feature_detected!("avx2")
        {
            self.check_bounds(src.len(), src_at, dst.len(), dst_at);
            // SAFETY: the bounds were checked just above; `T` is a plain
            // 4-byte value (every `Element` is `Copy` with no padding), so
            // its bits move unchanged through `f32` lanes; the CPU has AVX2.
            unsafe {
                self.copy_avx2(
                    src.as_ptr().add(src_at).cast(),
                    dst.as_mut_ptr().add(dst_at).cast(),
                )
            };
            return;
        }
        self.copy_scalar(src, src_at, dst, dst_at);
    }

    /// Panics unless every element the block reads lies in `0..src_len`
    /// (counting from `src_at`) and every one it writes in `0..dst_len`.
    fn check_bounds(&self, src_len: usize, src_at: usize, dst_len: usize, dst_at: usize) {
        let (rs, cs) = self.src_strides;
        let reach = |n: usize, s: isize| (n as isize - 1) * s;
        let (r, c) = (reach(self.rows, rs), reach(self.cols, cs));
        let lo = src_at as isize + r.min(0) + c.min(0);
        let hi = src_at as isize + r.max(0) + c.max(0);
        assert!(
            lo >= 0 && (hi as usize) < src_len,
            "block reads outside its source"
        );
        let last = dst_at + (self.rows - 1) * self.dst_row_stride + self.cols - 1;
        assert!(last < dst_len, "block writes outside its destination");
    }

    fn copy_scalar<T: Element>(
        &self,
        src: &[T],
        src_at: usize,
        dst: &mut [MaybeUninit<T>],
        dst_at: usize,
    ) {
        let (rs, cs) = self.src_strides;
        for r0 in (0..self.rows).step_by(TILE) {
            for c0 in (0..self.cols).step_by(TILE) {
                let c1 = (c0 + TILE).min(self.cols);
                for r in r0..(r0 + TILE).min(self.rows) {
                    let s = src_at as isize + r as isize * rs;
                    let d = dst_at + r * self.dst_row_stride;
                    for (c, slot) in (c0..c1).zip(&mut dst[d + c0..d + c1]) {
                        slot.write(src[(s + c as isize * cs) as usize]);
                    }
                }
            }
        }
    }

    /// The vector path over 32-bit lanes: bands of `ROW_BAND` rows, each
    /// crossed 16 columns (two 8×8 tiles, one full cache line per
    /// destination row) at a time; leftover rows and columns go element by
    /// element.
    ///
    /// # Safety
    /// The CPU has AVX2, `|src_strides.0| == 1`, and the block lies inside
    /// the memory `src` and `dst` point into.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn copy_avx2(&self, src: *const f32, dst: *mut f32) {
        let (rs, cs) = self.src_strides;
        let ds = self.dst_row_stride;
        let full_rows = self.rows / 8 * 8;
        let full_cols = self.cols / 8 * 8;
        let at_src = |r: usize, c: usize| src.offset(r as isize * rs + c as isize * cs);
        let at_dst = |r: usize, c: usize| dst.add(r * ds + c);
        for band in (0..full_rows).step_by(ROW_BAND) {
            let band_end = (band + ROW_BAND).min(full_rows);
            let mut c = 0;
            while c + 16 <= full_cols {
                for r in (band..band_end).step_by(8) {
                    tile8x8(at_src(r, c), cs, rs < 0, at_dst(r, c), ds);
                    tile8x8(at_src(r, c + 8), cs, rs < 0, at_dst(r, c + 8), ds);
                }
                c += 16;
            }
            if c < full_cols {
                for r in (band..band_end).step_by(8) {
                    tile8x8(at_src(r, c), cs, rs < 0, at_dst(r, c), ds);
                }
            }
        }
        let copy_one = |r: usize, c: usize| at_dst(r, c).write(at_src(r, c).read());
        for r in 0..full_rows {
            (full_cols..self.cols).for_each(|c| copy_one(r, c));
        }
        for r in full_rows..self.rows {
            (0..self.cols).for_each(|c| copy_one(r, c));
        }
    }
}

/// Transposes one 8×8 tile of 32-bit values: destination row `i` (8 adjacent
/// values at `dst + i * dst_stride`) receives source column `i`, where source
/// row `j` holds 8 values at `src + j * src_stride`, adjacent and ascending
/// (or descending, ending at the pointer, when `reversed`).
///
/// # Safety
/// The CPU has AVX2 and all 64 source and destination values are in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn tile8x8(
    src: *const f32,
    src_stride: isize,
    reversed: bool,
    dst: *mut f32,
    dst_stride: usize,
) {
    use std::arch::x86_64::*;
    let reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    let mut rows = [_mm256_setzero_ps(); 8];
    for (j, row) in rows.iter_mut().enumerate() {
        let p = src.offset(j as isize * src_stride);
        *row = if reversed {
            _mm256_permutevar8x32_ps(_mm256_loadu_ps(p.sub(7)), reverse)
        } else {
            _mm256_loadu_ps(p)
        };
    }
    let [r0, r1, r2, r3, r4, r5, r6, r7] = rows;
    let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
    let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
    let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
    let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    let out = [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ];
    for (i, v) in out.into_iter().enumerate() {
        _mm256_storeu_ps(dst.add(i * dst_stride), v);
    }
}
