//! `sort` (stable), `argsort` and `topk` along one dim. NaN sorts above every
//! number, as in PyTorch: last ascending, first descending, and the largest
//! for `topk`. The values' gradient scatters back to where they came from.

use super::scatter::scatter;
use ferrograd_autograd::{no_grad, SavedTensor, Tensor};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{normalize_dim, with_dtype, DType, Element, Error, Result};
use rayon::prelude::*;

/// An element's position in `sort`'s order as an unsigned integer: NaN
/// above everything (all NaNs equal), `-0.0` equal to `0.0`. Sorting
/// `(key, index)` pairs then gives a stable sort with plain integer compares.
trait SortKey: Element {
    /// The key type; `!key` reverses the order.
    type Key: Ord + Copy + Send + std::ops::Not<Output = Self::Key>;
    /// The element's key.
    fn key(self) -> Self::Key;
}

macro_rules! float_key {
    ($t:ty, $k:ty) => {
        impl SortKey for $t {
            type Key = $k;
            #[inline]
            fn key(self) -> $k {
                if self.is_nan() {
                    return <$k>::MAX;
                }
                let bits = (self + 0.0).to_bits(); // -0.0 + 0.0 is 0.0
                let sign = 1 << (<$k>::BITS - 1);
                if bits & sign != 0 {
                    !bits
                } else {
                    bits | sign
                }
            }
        }
    };
}

macro_rules! signed_key {
    ($t:ty, $k:ty) => {
        impl SortKey for $t {
            type Key = $k;
            #[inline]
            fn key(self) -> $k {
                (self as $k) ^ (1 << (<$k>::BITS - 1))
            }
        }
    };
}

float_key!(f32, u32);
float_key!(f64, u64);
signed_key!(i32, u32);
signed_key!(i64, u64);

impl SortKey for u8 {
    type Key = u8;
    #[inline]
    fn key(self) -> u8 {
        self
    }
}

impl SortKey for bool {
    type Key = u8;
    #[inline]
    fn key(self) -> u8 {
        self as u8
    }
}

/// How one row is ordered and cut.
#[derive(Clone, Copy)]
struct RowOrder {
    descending: bool,
    /// How many leading elements to keep (all, for a sort).
    keep: usize,
}

impl RowOrder {
    /// The `(key, index)` pairs of `row`, ordered, the first `keep` kept:
    /// a full sort, or a selection then a sort of the kept part. Indices
    /// break ties, so equal elements keep their order.
    fn order<T: SortKey>(&self, row: &[T]) -> Vec<(T::Key, usize)> {
        let mut pairs: Vec<(T::Key, usize)> = match self.descending {
            true => row
                .iter()
                .enumerate()
                .map(|(i, &v)| (!v.key(), i))
                .collect(),
            false => row.iter().enumerate().map(|(i, &v)| (v.key(), i)).collect(),
        };
        if self.keep > 0 && self.keep < pairs.len() {
            pairs.select_nth_unstable(self.keep - 1);
        }
        pairs.truncate(self.keep);
        pairs.sort_unstable();
        pairs
    }
}

/// Orders each row of `n` elements of row-major `data`, keeping `order.keep`
/// per row: the kept values and their indices within the row.
fn order_rows<T: SortKey>(data: &[T], n: usize, order: RowOrder) -> (Vec<T>, Vec<i64>) {
    let rows = data.len().checked_div(n).unwrap_or(0);
    let k = order.keep;
    let (mut values, mut indices) = (vec![T::default(); rows * k], vec![0i64; rows * k]);
    if k == 0 {
        return (values, indices);
    }
    let one_row = |(row, (vs, is)): (&[T], (&mut [T], &mut [i64]))| {
        for ((v, i), (_, at)) in vs.iter_mut().zip(is.iter_mut()).zip(order.order(row)) {
            *v = row[at];
            *i = at as i64;
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
