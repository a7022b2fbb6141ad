//! The elementary functions the elementwise kernels call, per float type.
//! For `f32`, `exp`, `tanh`, `sigmoid` and `erf` are branch-free polynomial
//! forms that compile to SIMD inside the kernels' loops (std's `expf` is one
//! libm call per element, several times slower than PyTorch's vectorised
//! SLEEF); for `f64`, std's functions and an `erf_f64`. The tests bound their
//! error in ulps against `f64` references.
//!
//! The `f32` functions are public so that code calling
//! [`Tensor::map_elements`](ferrograd_autograd::Tensor::map_elements) or the
//! storage kernels directly computes exactly what the ops compute.

use super::erf::erf_f64;
use ferrograd_storage::FloatElement;

/// The functions whose fastest form differs between `f32` and `f64`.
pub(crate) trait FloatMath: FloatElement {
    /// `e^x`.
    fn exp_k(self) -> Self;
    /// `e^x` with fused multiply-adds (`f32`: [`exp_f32_fused`]): only for
    /// `simd_loop!` kernels, whose AVX2 copy has FMA; anywhere else each
    /// fused multiply-add is a libm call.
    fn exp_fused_k(self) -> Self;
    /// `tanh(x)`.
    fn tanh_k(self) -> Self;
    /// `1 / (1 + e^-x)`.
    fn sigmoid_k(self) -> Self;
    /// The error function.
    fn erf_k(self) -> Self;
}

impl FloatMath for f32 {
    #[inline(always)]
    fn exp_k(self) -> f32 {
        exp_f32(self)
    }
    #[inline(always)]
    fn exp_fused_k(self) -> f32 {
        exp_f32_fused(self)
    }
    #[inline(always)]
    fn tanh_k(self) -> f32 {
        tanh_f32(self)
    }
    #[inline(always)]
    fn sigmoid_k(self) -> f32 {
        1.0 / (1.0 + exp_f32(-self))
    }
    #[inline(always)]
    fn erf_k(self) -> f32 {
        erf_f32(self)
    }
}

impl FloatMath for f64 {
    #[inline]
    fn exp_k(self) -> f64 {
        self.exp()
    }
    #[inline]
    fn exp_fused_k(self) -> f64 {
        self.exp()
    }
    #[inline]
    fn tanh_k(self) -> f64 {
        self.tanh()
    }
    #[inline]
    fn sigmoid_k(self) -> f64 {
        1.0 / (1.0 + (-self).exp())
    }
    #[inline]
    fn erf_k(self) -> f64 {
        erf_f64(self)
    }
}

/// `1.5 * 2^23`: adding it rounds an `f32` below `2^22` to an integer, which
/// then sits in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split so that `n * LN2_HI` is exact for `|n| < 2^9`.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;

/// How the polynomials below evaluate `a · b + c`.
trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// A multiply and an add, two roundings: what the public functions compute,
/// fast in any code.
struct Separate;

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// One fused multiply-add, one rounding: fewer instructions and a shorter
/// dependency chain, but a libm call per use outside code compiled with FMA.
struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// `x = n ln2 + r` with `|r| <= ln2 / 2`: returns `(n, r)`, `n` as an integer.
/// `x` must lie in `[-2^21, 2^21]`.
#[inline(always)]
fn reduce_ln2<M: MulAdd>(x: f32) -> (i32, f32) {
    let shifted = M::mul_add(x, LOG2_E, ROUND_MAGIC);
    let n = shifted - ROUND_MAGIC;
    let n_int = shifted.to_bits() as i32 - ROUND_MAGIC.to_bits() as i32;
    // `x - n·hi - n·lo` (negating `n` is exact).
    (n_int, M::mul_add(-n, LN2_LO, M::mul_add(-n, LN2_HI, x)))
}

/// `2^n` for `n` in `[-126, 127]`.
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// `e^r - 1` for `|r| <= ln2 / 2` (Taylor to degree 7: error below 0.1 ulp).
#[inline(always)]
fn expm1_reduced<M: MulAdd>(r: f32) -> f32 {
    let p = 1.0 / 5040.0;
    let p = M::mul_add(p, r, 1.0 / 720.0);
    let p = M::mul_add(p, r, 1.0 / 120.0);
    let p = M::mul_add(p, r, 1.0 / 24.0);
    let p = M::mul_add(p, r, 1.0 / 6.0);
    let p = M::mul_add(p, r, 0.5);
    M::mul_add(r * r, p, r)
}

/// `e^x` in `f32`, at most 2 ulp from the exact value, branch-free (NaN in,
/// NaN out; overflow gives `inf`, underflow gradual denormals then 0).
///
/// ```
/// use ferrograd_ops::unary::fast_math::exp_f32;
/// use std::f32::consts::E;
/// let ulp = 2.0 * f32::EPSILON; // the spacing of f32 values in [2, 4)
/// assert!((exp_f32(1.0) - E).abs() <= 2.0 * ulp);
/// assert_eq!(exp_f32(-200.0), 0.0);
/// assert!(exp_f32(f32::NAN).is_nan());
/// ```
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_with::<Separate>(x)
}

/// [`exp_f32`] with fused multiply-adds: the same polynomial, within the
/// same bounds (often the last bit differs). What softmax, log-softmax,
/// log-sum-exp and cross-entropy compute, in kernels built with
/// `simd_loop!`, whose AVX2 copy has FMA; anywhere else (the copy for CPUs
/// without it, plain code) each fused multiply-add is a libm call, correct
/// but several times slower.
///
/// ```
/// use ferrograd_ops::unary::fast_math::{exp_f32, exp_f32_fused};
/// assert!((exp_f32_fused(1.0) - exp_f32(1.0)).abs() <= 4.0 * f32::EPSILON);
/// assert_eq!(exp_f32_fused(-200.0), 0.0);
/// assert!(exp_f32_fused(f32::NAN).is_nan());
/// ```
#[inline(always)]
pub fn exp_f32_fused(x: f32) -> f32 {
    exp_with::<Fused>(x)
}

#[inline(always)]
fn exp_with<M: MulAdd>(x: f32) -> f32 {
    // Past these bounds the result is already inf / 0; clamping keeps 2^n
    // representable. Comparisons (not f32::max) so NaN passes through.
    let x = if x < -104.0 { -104.0 } else { x };
    let x = if x > 89.0 { 89.0 } else { x };
    let (n, r) = reduce_ln2::<M>(x);
    let p = 1.0 + expm1_reduced::<M>(r);
    // 2^n in two factors, each a normal float, so denormal results round once.
    let half = n >> 1;
    p * pow2(half) * pow2(n - half)
}

/// `e^x - 1` in `f32` for `x` in `[0, 19]`.
#[inline(always)]
fn expm1_nonneg_f32(x: f32) -> f32 {
    let (n, r) = reduce_ln2::<Separate>(x);
    let scale = pow2(n);
    scale * expm1_reduced::<Separate>(r) + (scale - 1.0)
}

/// `tanh(x)` in `f32` as `E / (E + 2)` with `E = e^(2|x|) - 1`, which has no
/// cancellation anywhere; the sign is copied back. Branch-free: what the
/// `tanh` op computes for `f32`.
///
/// ```
/// use ferrograd_ops::unary::fast_math::tanh_f32;
/// assert!((tanh_f32(0.5) - 0.5f32.tanh()).abs() < 1e-6);
/// assert_eq!((tanh_f32(20.0), tanh_f32(-20.0)), (1.0, -1.0));
/// ```
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    // tanh(9.1) rounds to 1 in f32; the bound keeps E finite.
    let a = if a > 9.1 { 9.1 } else { a };
    let e = expm1_nonneg_f32(a + a);
    let t = e / (e + 2.0);
    f32::from_bits(t.to_bits() | (x.to_bits() & 0x8000_0000))
}

/// Where `erf_f32` switches from the odd polynomial to the erfc form.
const ERF_SPLIT: f32 = 0.85;
/// `erf(a) / a = P(a²)` on `[0, ERF_SPLIT]`: a least-squares fit (weighted
/// for relative error, 4000 Chebyshev nodes, double-precision erf) whose
/// error, 1.4e-10, is far below an f32 ulp. Lowest degree first.
const ERF_SMALL: [f32; 7] = [
    std::f32::consts::FRAC_2_SQRT_PI,
    -0.376_126_38,
    0.112_837_46,
    -0.026_862_456,
    0.005_209_229_4,
    -0.000_824_344_17,
    8.832_364e-5,
];
/// `erfc(a) · e^(a²) = Q(1 / (1 + a/2))` on `[ERF_SPLIT, 4]`, fitted the
/// same way (error 3.4e-10). Lowest degree first.
const ERF_LARGE: [f32; 9] = [
    -0.000_135_531_97,
    0.284_592_63,
    0.262_066_8,
    0.337_785_54,
    -0.077_504_18,
    0.520_151_2,
    -0.427_14,
    0.093_880_73,
    0.006_375_983_4,
];

/// `c[0] + c[1] x + c[2] x² + ...` by Horner's rule.
#[inline(always)]
fn polynomial(c: &[f32], x: f32) -> f32 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// The error function in `f32`, within 2.5 ulp, branch-free: `a · P(a²)`
/// below 0.85, `1 - e^(-a²) · Q(1/(1 + a/2))` above (saturating at 4, where
/// erf rounds to 1), sign copied back.
///
/// ```
/// use ferrograd_ops::unary::fast_math::erf_f32;
/// assert!((erf_f32(0.5) - 0.520_499_9).abs() < 1e-6);
/// assert_eq!(erf_f32(-5.0), -1.0);
/// ```
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let a = x.abs();
    let u = a * a;
    let small = a * ERF_SMALL[0] + a * u * polynomial(&ERF_SMALL[1..], u);
    let b = if a > 4.0 { 4.0 } else { a };
    let q = polynomial(&ERF_LARGE, 1.0 / (1.0 + 0.5 * b));
    let large = 1.0 - exp_f32(-(b * b)) * q;
    let v = if a < ERF_SPLIT { small } else { large };
    // NaN fails `a < ERF_SPLIT` and would give 1: pass it through.
    let v = if a.is_nan() { x } else { v };
    f32::from_bits(v.to_bits() | (x.to_bits() & 0x8000_0000))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between an `f32` and the exact value (as `f64`).
    fn ulps(got: f32, exact: f64) -> f64 {
        if got as f64 == exact || (got.is_nan() && exact.is_nan()) {
            return 0.0;
        }
        let rounded = exact as f32;
        // The spacing of f32 values around the exact result (denormals included).
        let spacing = (f32::from_bits(rounded.abs().to_bits() + 1) - rounded.abs()) as f64;
        (got as f64 - exact).abs() / spacing
    }

    fn max_ulps(f: impl Fn(f32) -> f32, exact: impl Fn(f64) -> f64, lo: f32, hi: f32) -> f64 {
        let steps = 200_000;
        (0..=steps)
            .map(|i| lo + (hi - lo) * (i as f32 / steps as f32))
            .map(|x| ulps(f(x), exact(x as f64)))
            .fold(0.0, f64::max)
    }

    #[test]
    fn exp_is_within_two_ulps_over_its_whole_range() {
        assert!(max_ulps(exp_f32, f64::exp, -87.0, 88.7) <= 2.0);
        assert!(max_ulps(exp_f32, f64::exp, -1.0, 1.0) <= 2.0);
        // Denormal results: within one denormal step.
        assert!(max_ulps(exp_f32, f64::exp, -103.0, -87.5) <= 1.0);
    }

    #[test]
    fn fused_exp_is_within_two_ulps_and_keeps_the_special_values() {
        assert!(max_ulps(exp_f32_fused, f64::exp, -87.0, 88.7) <= 2.0);
        assert!(max_ulps(exp_f32_fused, f64::exp, -1.0, 1.0) <= 2.0);
        assert!(max_ulps(exp_f32_fused, f64::exp, -103.0, -87.5) <= 1.0);
        assert_eq!(exp_f32_fused(0.0), 1.0);
        assert_eq!(exp_f32_fused(89.0), f32::INFINITY);
        assert_eq!(exp_f32_fused(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32_fused(f32::NAN).is_nan());
    }

    #[test]
    fn exp_handles_the_special_values() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(-110.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(1.0), std::f32::consts::E);
    }

    #[test]
    fn tanh_and_sigmoid_are_within_three_ulps() {
        assert!(max_ulps(tanh_f32, f64::tanh, -10.0, 10.0) <= 3.0);
        assert!(max_ulps(tanh_f32, f64::tanh, -1e-3, 1e-3) <= 3.0);
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        assert!(max_ulps(f32::sigmoid_k, sigmoid, -80.0, 20.0) <= 3.0);
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(f32::sigmoid_k(-200.0), 0.0);
        assert_eq!(f32::sigmoid_k(200.0), 1.0);
    }

    #[test]
    fn erf_is_within_two_and_a_half_ulps() {
        let exact = |x: f64| erf_f64(x);
        assert!(max_ulps(erf_f32, exact, -5.0, 5.0) <= 2.5);
        assert!(max_ulps(erf_f32, exact, -1e-3, 1e-3) <= 2.5);
        assert_eq!(erf_f32(0.0).to_bits(), 0);
        assert_eq!(erf_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(erf_f32(f32::INFINITY), 1.0);
        assert_eq!(erf_f32(f32::NEG_INFINITY), -1.0);
        assert!(erf_f32(f32::NAN).is_nan());
    }
}
