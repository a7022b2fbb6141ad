//! Vector norms over dims (`torch.linalg.vector_norm`, and `Tensor.norm`
//! with a number or `'fro'`): `p = 2` by default, any real `p`, `±inf`
//! (largest / smallest magnitude) and `0` (count of non-zeros), accumulated
//! in `f64`, with PyTorch's gradients (zero where the norm is zero, split
//! evenly among ties for `±inf`).

use super::dims::{
    kept_shape, not_float, reduced_len, reduced_shape, restore_dims, with_float, with_rows, Rows,
};
use super::extreme::evenly_backward;
use crate::compare::{where_, CompareOps};
use crate::unary::UnaryOps;
use ferrograd_autograd::{SavedTensor, Tensor};
use ferrograd_storage::{Element, Error, Result};

/// The order of a vector norm: a real `p` (`f64::INFINITY` for the max
/// norm) or `Fro`, the Frobenius norm (`p = 2` over the given dims).
///
/// ```
/// use ferrograd_ops::reduce::NormOrd;
/// assert_eq!(NormOrd::from(1).p(), 1.0);
/// assert_eq!(NormOrd::Fro.p(), 2.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormOrd {
    /// `(Σ |x|^p)^(1/p)`; `±inf` and `0` have their limit meanings.
    P(f64),
    /// The Frobenius norm, `sqrt(Σ x²)`.
    Fro,
}

impl NormOrd {
    /// The exponent `p` (`2` for `Fro`).
    ///
    /// ```
    /// use ferrograd_ops::reduce::NormOrd;
    /// assert_eq!(NormOrd::P(f64::INFINITY).p(), f64::INFINITY);
    /// assert_eq!(NormOrd::from(0.5).p(), 0.5);
    /// assert_eq!(NormOrd::Fro.p(), 2.0);
    /// ```
    pub fn p(self) -> f64 {
        match self {
            NormOrd::P(p) => p,
            NormOrd::Fro => 2.0,
        }
    }
}

impl From<f64> for NormOrd {
    fn from(p: f64) -> Self {
        NormOrd::P(p)
    }
}

impl From<i32> for NormOrd {
    fn from(p: i32) -> Self {
        NormOrd::P(p as f64)
    }
}

/// The `p`-norm of a row, in `f64`.
fn row_norm<T: Element>(row: &[T], p: f64) -> f64 {
    let abs = row.iter().map(|v| v.to_f64().abs());
    if p == 2.0 {
        row.iter()
            .map(|v| v.to_f64() * v.to_f64())
            .sum::<f64>()
            .sqrt()
    } else if p == 1.0 {
        abs.sum()
    } else if p == f64::INFINITY {
        abs.fold(0.0, |a, v| if v > a || v.is_nan() { v } else { a })
    } else if p == f64::NEG_INFINITY {
        abs.fold(
            f64::INFINITY,
            |a, v| if v < a || v.is_nan() { v } else { a },
        )
    } else if p == 0.0 {
        abs.filter(|&v| v != 0.0).count() as f64
    } else {
        abs.map(|v| v.powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

/// The norm of `x` over `dims` (sorted).
pub(crate) fn vector_norm(
    x: &Tensor,
    ord: NormOrd,
    dims: &[usize],
    keepdim: bool,
) -> Result<Tensor> {
    let p = ord.p();
    if !x.dtype().is_floating_point() {
        return Err(Error::UnsupportedDType {
            op: "linalg.vector_norm",
            dtype: x.dtype(),
            hint: format!("linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}. Convert the input with .float() first.", x.dtype().legacy_name()),
        });
    }
    if p.is_infinite() && reduced_len(x.shape(), dims) == 0 {
        return Err(Error::invalid(
            "linalg.vector_norm",
            format!("linalg.vector_norm cannot compute the {p} norm on an empty tensor because the operation does not have an identity"),
        ));
    }
    let shape = reduced_shape(x.shape(), dims, keepdim);
    let out = with_float!(x.dtype(), T => {
        let v = with_rows(x, dims, |r: Rows<'_, T>| r.map(|row| T::from_f64(row_norm(row, p))))?;
        Tensor::from_vec(v, &shape)?
    }, d => return Err(not_float("linalg.vector_norm", d)));
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let dims = dims.to_vec();
    let (sx, so) = (SavedTensor::input(x), SavedTensor::output(&out));
    Ok(
        out.with_grad_fn("LinalgVectorNormBackward0", &[x], &[&sx, &so], {
            let (sx, so) = (sx.clone(), so.clone());
            move |g| {
                Ok(vec![Some(norm_backward(
                    g,
                    &sx.unpack()?,
                    &so.unpack()?,
                    p,
                    &dims,
                )?)])
            }
        }),
    )
}

/// The sign of each element (0 at 0), a constant.
fn sign(x: &Tensor) -> Result<Tensor> {
    let x = x.detach();
    let positive = x.gt(0.0)?.to_dtype(x.dtype())?;
    positive.try_sub(&x.lt(0.0)?.to_dtype(x.dtype())?)
}

/// PyTorch's `linalg_vector_norm_backward`.
fn norm_backward(g: &Tensor, x: &Tensor, norm: &Tensor, p: f64, dims: &[usize]) -> Result<Tensor> {
    let shape = kept_shape(x.shape(), dims);
    let (g, norm) = (restore_dims(g, &shape)?, restore_dims(norm, &shape)?);
    if p == 0.0 {
        return Tensor::zeros_like(x);
    }
    if p == 1.0 {
        return g.try_mul(&sign(x)?);
    }
    if p.is_infinite() {
        return evenly_backward(&g, &x.detach().abs()?, &norm, dims)?.try_mul(&sign(x)?);
    }
    let zero_norm = norm.eq(0.0)?;
    if p == 2.0 {
        return x.try_mul(&where_(&zero_norm, 0.0, &g.try_div(&norm)?)?);
    }
    // g · sign(x) |x|^(p-1) / norm^(p-1), zero where x or the norm is zero.
    let scaled = x.abs()?.pow(p - 1.0)?.try_mul(&sign(x)?)?;
    let scaled = where_(&x.eq(0.0)?, 0.0, &scaled)?;
    let coef = where_(&zero_norm, 0.0, &g.try_div(&norm.pow(p - 1.0)?)?)?;
    scaled.try_mul(&coef)
}
