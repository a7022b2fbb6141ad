//! `prod` over every element or along one dim: floats multiply in `f64`,
//! integers and bools in `i64` (wrapping). The gradient is `g · out / x`
//! when no input is zero (differentiable again), and otherwise the product
//! of the other elements, computed directly (first order in `x`).

use super::dims::{
    kept_shape, not_float, reduced_shape, restore_dims, with_float, with_lines, with_rows, Lines,
    Rows,
};
use ferrograd_autograd::{SavedTensor, Tensor};
use ferrograd_storage::{with_dtype, Element, FloatElement, Result};

/// The product of a run, in the accumulator of its dtype.
fn row_prod<T: Element>(row: &[T]) -> f64 {
    row.iter().fold(1.0, |a, &v| a * v.to_f64())
}

fn row_prod_int<T: Element>(row: &[T]) -> i64 {
    row.iter().fold(1i64, |a, &v| a.wrapping_mul(v.to_i64()))
}

/// Forward only: products over `dims` (sorted).
fn prod_forward(x: &Tensor, dims: &[usize], keepdim: bool) -> Result<Tensor> {
    let shape = reduced_shape(x.shape(), dims, keepdim);
    with_dtype!(x.dtype(), T => {
        if T::DTYPE.is_floating_point() {
            let v = with_rows(x, dims, |r: Rows<'_, T>| r.map(|row| T::from_f64(row_prod(row))))?;
            Tensor::from_vec(v, &shape)
        } else {
            let v = with_rows(x, dims, |r: Rows<'_, T>| r.map(row_prod_int))?;
            Tensor::from_vec(v, &shape)
        }
    })
}

/// For every element, the product of the other elements of its line.
fn prod_of_others<T: FloatElement>(data: &[T], l: Lines) -> Vec<T> {
    let mut out = vec![T::one(); data.len()];
    for o in 0..l.outer {
        for i in 0..l.inner {
            let at = |j: usize| (o * l.n + j) * l.inner + i;
            let mut before = T::one();
            for j in 0..l.n {
                out[at(j)] = before;
                before = before * data[at(j)];
            }
            let mut after = T::one();
            for j in (0..l.n).rev() {
                out[at(j)] = out[at(j)] * after;
                after = after * data[at(j)];
            }
        }
    }
    out
}

/// The gradient of a product over `dim` (`None`: every element).
fn prod_backward(g: &Tensor, x: &Tensor, out: &Tensor, dim: Option<usize>) -> Result<Tensor> {
    let dims: Vec<usize> = match dim {
        Some(d) => vec![d],
        None => (0..x.dim()).collect(),
    };
    let shape = kept_shape(x.shape(), &dims);
    let g = restore_dims(g, &shape)?;
    let has_zero = with_dtype!(x.dtype(), T => x.with_data(|d: &[T], l| {
        let mut zero = false;
        l.for_each_offset(|o| zero |= d[o] == T::from_f64(0.0));
        zero
    })?);
    if !has_zero {
        return g.try_mul(&restore_dims(out, &shape)?)?.try_div(x);
    }
    let flat = match dim {
        Some(_) => x.detach(),
        None => x.detach().reshape(&[-1])?,
    };
    let others = with_float!(x.dtype(), T => {
        let v = with_lines(&flat, dim.unwrap_or(0), |d: &[T], l| prod_of_others(d, l))?;
        Tensor::from_vec(v, x.shape())?
    }, d => return Err(not_float("prod backward", d)));
    g.try_mul(&others)
}

/// `prod()` (`dim = None`) or `prod(dim, keepdim)`.
pub(crate) fn prod(x: &Tensor, dim: Option<usize>, keepdim: bool) -> Result<Tensor> {
    let dims: Vec<usize> = match dim {
        Some(d) if x.dim() > 0 => vec![d],
        Some(_) => vec![],
        None => (0..x.dim()).collect(),
    };
    let out = prod_forward(x, &dims, keepdim && dim.is_some())?;
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let node = if dim.is_some() {
        "ProdBackward1"
    } else {
        "ProdBackward0"
    };
    let dim = dims.first().copied().filter(|_| dim.is_some());
    let (sx, so) = (SavedTensor::input(x), SavedTensor::output(&out));
    Ok(out.with_grad_fn(node, &[x], &[&sx, &so], {
        let (sx, so) = (sx.clone(), so.clone());
        move |g| {
            Ok(vec![Some(prod_backward(
                g,
                &sx.unpack()?,
                &so.unpack()?,
                dim,
            )?)])
        }
    }))
}
