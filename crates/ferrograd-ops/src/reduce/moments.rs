//! `var` and `std` over dims with a correction (1: unbiased, Bessel's; 0:
//! the population statistic). Rows are reduced in two passes in `f64` (the
//! mean, then the squared deviations), so large offsets lose no precision.

use super::dims::{
    kept_shape, not_float, reduced_len, reduced_shape, restore_dims, with_float, with_rows, Rows,
};
use crate::compare::{where_, CompareOps};
use ferrograd_autograd::{SavedTensor, Tensor};
use ferrograd_storage::{Element, Error, Result};

/// Which statistic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Moment {
    Var,
    Std,
}

/// `(mean, Σ (x - mean)²)` of a row, in `f64`.
pub(crate) fn mean_and_m2<T: Element>(row: &[T]) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = row.iter().map(|v| v.to_f64()).sum::<f64>() / n;
    let m2 = row
        .iter()
        .map(|v| {
            let d = v.to_f64() - mean;
            d * d
        })
        .sum();
    (mean, m2)
}

fn check_float(x: &Tensor) -> Result<()> {
    if x.dtype().is_floating_point() {
        return Ok(());
    }
    Err(Error::UnsupportedDType {
        op: "var",
        dtype: x.dtype(),
        hint: "std and var only support floating point and complex dtypes; convert the input with .float() first.".into(),
    })
}

/// `var` / `std` over `dims` (sorted), dividing by `max(0, N - correction)`.
pub(crate) fn moment(
    x: &Tensor,
    dims: &[usize],
    correction: f64,
    keepdim: bool,
    which: Moment,
) -> Result<Tensor> {
    check_float(x)?;
    let shape = reduced_shape(x.shape(), dims, keepdim);
    let divisor = (reduced_len(x.shape(), dims) as f64 - correction).max(0.0);
    let out = with_float!(x.dtype(), T => {
        let v = with_rows(x, dims, |r: Rows<'_, T>| r.map(|row| {
            let var = mean_and_m2(row).1 / divisor;
            T::from_f64(if which == Moment::Std { var.sqrt() } else { var })
        }))?;
        Tensor::from_vec(v, &shape)?
    }, d => return Err(not_float("var", d)));
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let dims = dims.to_vec();
    let (sx, so) = (SavedTensor::input(x), SavedTensor::output(&out));
    let node = match which {
        Moment::Var => "VarBackward0",
        Moment::Std => "StdBackward0",
    };
    Ok(out.with_grad_fn(node, &[x], &[&sx, &so], {
        let (sx, so) = (sx.clone(), so.clone());
        move |g| {
            let (x, out) = (sx.unpack()?, so.unpack()?);
            let shape = kept_shape(x.shape(), &dims);
            let mut g = restore_dims(g, &shape)?;
            if which == Moment::Std {
                // d std = d var / (2 std), taken as 0 where std is 0.
                let std = restore_dims(&out, &shape)?;
                g = where_(&std.eq(0.0)?, 0.0, &g.try_div(&std.try_mul(2.0)?)?)?;
            }
            Ok(vec![Some(var_backward(&g, &x, &dims, divisor)?)])
        }
    }))
}

/// `g · 2 (x - mean) / divisor`, written with differentiable ops.
fn var_backward(g: &Tensor, x: &Tensor, dims: &[usize], divisor: f64) -> Result<Tensor> {
    let dims: Vec<isize> = dims.iter().map(|&d| d as isize).collect();
    let centered = x.try_sub(&x.mean_dims(&dims, true)?)?;
    g.try_mul(&centered)?.try_mul(2.0 / divisor)
}
