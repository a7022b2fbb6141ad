//! `pow`: a tensor raised to a scalar or to a tensor (broadcast), with
//! PyTorch's dtype rules (integer powers stay integers; a float exponent
//! makes an integer base `f32`) and both backward rules (`PowBackward0`
//! for a scalar exponent, `PowBackward1` for a tensor one).

use super::kernel::{c, cast_for_kernel, float_map, map_typed, zip_typed};
use super::math::log;
use crate::compare::{where_, CompareOps};
use ferrograd_autograd::{
    check_same_device, reduce_grad, InputMeta, Operand, SavedTensor, Scalar, Tensor,
};
use ferrograd_storage::{with_num_dtype, DType, Element, Error, NumElement, Result};
use num_traits::One;

fn pow_of_bool() -> Error {
    Error::UnsupportedDType {
        op: "pow",
        dtype: DType::Bool,
        hint: "\"pow\" is not implemented for 'Bool'; convert the base with .long() or .float() first.".into(),
    }
}

/// `x ** exponent`.
pub(crate) fn pow(x: &Tensor, exponent: Operand<'_>) -> Result<Tensor> {
    match exponent {
        Operand::Scalar(e) => pow_scalar(x, e),
        Operand::Tensor(e) => pow_tensor(x, e),
    }
}

/// `base^e` for an integer `e >= 0`, by squaring, wrapping on overflow.
fn int_pow<T: NumElement>(mut base: T, mut e: u64) -> T {
    let mut acc = T::one();
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.mul_wrap(base);
        }
        base = base.mul_wrap(base);
        e >>= 1;
    }
    acc
}

/// `base^e` for integers of any sign: a negative power is 0 unless the base is ±1.
fn int_pow_signed<T: NumElement>(base: T, e: T) -> T {
    let e = e.to_i64();
    if e >= 0 {
        return int_pow(base, e as u64);
    }
    match base.to_i64() {
        1 => T::one(),
        -1 if e % 2 == 0 => T::one(),
        -1 => base,
        _ => T::zero(),
    }
}

/// `v^e` for floats, with the exact forms PyTorch uses for common exponents.
fn float_pow_scalar(base: &Tensor, e: f64) -> Result<Tensor> {
    match e {
        0.5 => float_map!(base, T, |v| v.sqrt()),
        1.0 => float_map!(base, T, |v| v),
        2.0 => float_map!(base, T, |v| v * v),
        3.0 => float_map!(base, T, |v| v * v * v),
        -0.5 => float_map!(base, T, |v| T::one() / v.sqrt()),
        -1.0 => float_map!(base, T, |v| T::one() / v),
        -2.0 => float_map!(base, T, |v| T::one() / (v * v)),
        _ => float_map!(base, T, |v| v.powf(c::<T>(e))),
    }
}

fn pow_scalar(x: &Tensor, e: Scalar) -> Result<Tensor> {
    let dtype = DType::promote_with_scalar(x.dtype(), e.category());
    let base = cast_for_kernel(x, dtype)?;
    let out = if dtype.is_floating_point() {
        float_pow_scalar(&base, e.to_f64())?
    } else {
        let e = match e {
            Scalar::Int(n) if n < 0 => {
                return Err(Error::invalid(
                    "pow",
                    "Integers to negative integer powers are not allowed. Use a float exponent, or convert the base with .float() first.",
                ))
            }
            other => other.to_f64() as u64,
        };
        with_num_dtype!(dtype, T => map_typed(&base, move |v: T| int_pow(v, e))?, bool => return Err(pow_of_bool()))
    };
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let saved = SavedTensor::input(x);
    let kept = saved.clone();
    Ok(out.with_grad_fn("PowBackward0", &[x], &[&saved], move |g| {
        if e.to_f64() == 0.0 {
            return Ok(vec![Some(Tensor::zeros_like(g)?)]);
        }
        let x = kept.unpack()?;
        let slope = pow_scalar(&x, Scalar::Float(e.to_f64() - 1.0))?.try_mul(e)?;
        Ok(vec![Some(g.try_mul(&slope)?)])
    }))
}

fn pow_tensor(x: &Tensor, e: &Tensor) -> Result<Tensor> {
    check_same_device(x, e)?;
    let dtype = DType::promote(x.dtype(), e.dtype());
    let (base, exponent) = (cast_for_kernel(x, dtype)?, cast_for_kernel(e, dtype)?);
    let out = with_num_dtype!(dtype, T => {
        if dtype.is_floating_point() {
            zip_typed("pow", &base, &exponent, |v: T, p: T| v.to_f64().powf(p.to_f64()).cast::<T>())?
        } else {
            zip_typed("pow", &base, &exponent, int_pow_signed::<T>)?
        }
    }, bool => return Err(pow_of_bool()));
    if !Tensor::needs_grad(&[x, e]) {
        return Ok(out);
    }
    let (sx, se, so) = (
        SavedTensor::input(x),
        SavedTensor::input(e),
        SavedTensor::output(&out),
    );
    let (mx, me) = (InputMeta::of(x), InputMeta::of(e));
    let (kx, ke, ko) = (sx.clone(), se.clone(), so.clone());
    Ok(
        out.with_grad_fn("PowBackward1", &[x, e], &[&sx, &se, &so], move |g| {
            let (x, e) = (kx.unpack()?, ke.unpack()?);
            let gx = mx.grad(|| {
                // e · x^(e-1), and 0 where e == 0 (where x^(e-1) may be inf).
                let slope = pow_tensor(&x, &e.try_sub(1.0)?)?.try_mul(&e)?;
                reduce_grad(&where_(&e.eq(0.0)?, 0.0, &g.try_mul(&slope)?)?, &mx)
            })?;
            let ge = me.grad(|| {
                // x^e · log(x), and 0 where x == 0 and e >= 0 (where log(x) = -inf).
                let slope = ko.unpack()?.try_mul(&log(&x)?)?;
                let at_zero = x.eq(0.0)?.logical_and(&e.ge(0.0)?)?;
                reduce_grad(&where_(&at_zero, 0.0, &g.try_mul(&slope)?)?, &me)
            })?;
            Ok(vec![gx, ge])
        }),
    )
}
