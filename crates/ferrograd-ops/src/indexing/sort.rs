//! `sort` (stable), `argsort` and `topk` along one dim. NaN sorts above every
//! number, as in PyTorch: last ascending, first descending, and the largest
//! for `topk`. The values' gradient scatters back to where they came from.

use super::scatter::scatter;
use ferrograd_autograd::{no_grad, SavedTensor, Tensor};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{normalize_dim, with_dtype, DType, Element, Error, Result};
use rayon::prelude::*;
use std::cmp::Ordering;

/// Total order with NaN above everything (NaNs equal to each other).
#[inline]
#[allow(clippy::eq_op)]
fn nan_last<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    // `x != x` only for NaN.
    a.partial_cmp(b).unwrap_or_else(|| (a != a).cmp(&(b != b)))
}

/// How one row is ordered and cut.
#[derive(Clone, Copy)]
struct RowOrder {
    descending: bool,
    /// How many leading elements to keep (all, for a sort).
    keep: usize,
}

impl RowOrder {
    /// Sorts `(value, index)` pairs of one row and keeps the first `keep`:
    /// a stable full sort, or a selection then a sort of the kept part.
    fn apply<T: Element>(&self, pairs: &mut Vec<(T, i64)>) {
        let desc = self.descending;
        let by_value = |a: &(T, i64), b: &(T, i64)| {
            let o = nan_last(&a.0, &b.0);
            if desc {
                o.reverse()
            } else {
                o
            }
        };
        if self.keep < pairs.len() && self.keep > 0 {
            let by_value_then_index =
                |a: &(T, i64), b: &(T, i64)| by_value(a, b).then(a.1.cmp(&b.1));
            pairs.select_nth_unstable_by(self.keep - 1, by_value_then_index);
            pairs.truncate(self.keep);
            pairs.sort_unstable_by(by_value_then_index);
        } else {
            pairs.truncate(self.keep);
            pairs.sort_by(by_value);
        }
    }
}

/// Orders each row of `n` elements of row-major `data`, keeping `order.keep`
/// per row: the kept values and their indices within the row.
fn order_rows<T: Element>(data: &[T], n: usize, order: RowOrder) -> (Vec<T>, Vec<i64>) {
    let rows = data.len().checked_div(n).unwrap_or(0);
    let k = order.keep;
    let (mut values, mut indices) = (vec![T::default(); rows * k], vec![0i64; rows * k]);
    if k == 0 {
        return (values, indices);
    }
    let one_row = |(row, (vs, is)): (&[T], (&mut [T], &mut [i64]))| {
        let mut pairs: Vec<(T, i64)> = row.iter().copied().zip(0..).collect();
        order.apply(&mut pairs);
        for ((v, i), (pv, pi)) in vs.iter_mut().zip(is.iter_mut()).zip(pairs) {
            *v = pv;
            *i = pi;
        }
    };
    if data.len() >= PARALLEL_THRESHOLD && rows > 1 {
        data.par_chunks(n)
            .zip(values.par_chunks_mut(k).zip(indices.par_chunks_mut(k)))
            .for_each(one_row);
    } else {
        data.chunks(n)
            .zip(values.chunks_mut(k).zip(indices.chunks_mut(k)))
            .for_each(one_row);
    }
    (values, indices)
}

/// Values and `i64` indices of `x` ordered along `dim`, `keep` per row.
/// Rows run along the last dim: other dims are moved there and back.
fn ordered(x: &Tensor, dim: usize, order: RowOrder) -> Result<(Tensor, Tensor)> {
    let _guard = no_grad();
    let last = x.dim().saturating_sub(1) as isize;
    let moved = x.detach().transpose(dim as isize, last)?.contiguous()?;
    let n = moved.shape().last().copied().unwrap_or(1);
    let mut shape = moved.shape().to_vec();
    if let Some(s) = shape.last_mut() {
        *s = order.keep;
    }
    let (values, indices) = with_dtype!(x.dtype(), T => {
        let (v, i) = moved.with_data(|d: &[T], l| order_rows(&d[l.offset()..l.offset() + l.numel()], n, order))?;
        (Tensor::from_vec(v, &shape)?, Tensor::from_vec(i, &shape)?)
    });
    let back = |t: Tensor| t.transpose(dim as isize, last)?.contiguous();
    Ok((back(values)?.detach(), back(indices)?.detach()))
}

/// Records the values' gradient: scattered back to the positions `indices` name.
fn record_values(
    x: &Tensor,
    values: Tensor,
    indices: &Tensor,
    dim: usize,
    name: &'static str,
) -> Tensor {
    if !Tensor::needs_grad(&[x]) {
        return values;
    }
    let saved = SavedTensor::input(indices);
    let shape = x.shape().to_vec();
    values.with_grad_fn(name, &[x], &[&saved], {
        let saved = saved.clone();
        move |g| {
            let zeros = Tensor::zeros(&shape, g.dtype())?;
            Ok(vec![Some(scatter(
                &zeros,
                dim as isize,
                &saved.unpack()?,
                g.into(),
            )?)])
        }
    })
}

/// `x.sort(dim, descending)`: stable; equal elements keep their order.
pub(crate) fn sort(x: &Tensor, dim: isize, descending: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, x.dim())?;
    let n = x.shape().get(d).copied().unwrap_or(1);
    let (values, indices) = ordered(
        x,
        d,
        RowOrder {
            descending,
            keep: n,
        },
    )?;
    Ok((
        record_values(x, values, &indices, d, "SortBackward0"),
        indices,
    ))
}

/// `x.topk(k, dim, largest, sorted)`; the result is always sorted.
pub(crate) fn topk(x: &Tensor, k: usize, dim: isize, largest: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, x.dim())?;
    if x.dtype() == DType::Bool {
        return Err(Error::UnsupportedDType {
            op: "topk",
            dtype: DType::Bool,
            hint: "topk does not support bool dtypes; convert with .long() first.".into(),
        });
    }
    let n = x.shape().get(d).copied().unwrap_or(1);
    if k > n {
        return Err(Error::invalid(
            "topk",
            format!("selected index k out of range: k = {k} but dimension {d} has only {n} elements (input shape {:?})", x.shape()),
        ));
    }
    let order = RowOrder {
        descending: largest,
        keep: k,
    };
    let (values, indices) = ordered(x, d, order)?;
    Ok((
        record_values(x, values, &indices, d, "TopkBackward0"),
        indices,
    ))
}
