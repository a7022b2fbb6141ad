//! `cumsum` along a dim: running sums accumulated in `f64` for floats (as
//! PyTorch's CPU kernel does) and `i64` for integers and bools, which give
//! `i64`. The gradient is the reversed cumulative sum of the gradient.

use super::dims::{with_lines, Lines};
use ferrograd_autograd::Tensor;
use ferrograd_storage::{with_dtype, Element, NumElement, Result};

/// Running sums along the lines of `l` over `data`, accumulating in `A`.
fn running_sums<T: Element, A: NumElement, U: Element>(
    data: &[T],
    l: Lines,
    cast: impl Fn(T) -> A,
    finish: impl Fn(A) -> U,
) -> Vec<U> {
    let mut out = Vec::with_capacity(data.len());
    if data.is_empty() {
        return out;
    }
    let mut acc = vec![A::default(); l.inner];
    for block in data.chunks(l.n * l.inner) {
        acc.iter_mut().for_each(|a| *a = A::default());
        for line in block.chunks(l.inner) {
            for (a, &v) in acc.iter_mut().zip(line) {
                *a = a.add_wrap(cast(v));
                out.push(finish(*a));
            }
        }
    }
    out
}

/// `cumsum(dim)`.
pub(crate) fn cumsum(x: &Tensor, dim: usize) -> Result<Tensor> {
    let out = with_dtype!(x.dtype(), T => {
        if T::DTYPE.is_floating_point() {
            let v = with_lines(x, dim, |d: &[T], l| running_sums(d, l, |v| v.to_f64(), T::from_f64))?;
            Tensor::from_vec(v, x.shape())?
        } else {
            let v = with_lines(x, dim, |d: &[T], l| running_sums(d, l, |v| v.to_i64(), |a: i64| a))?;
            Tensor::from_vec(v, x.shape())?
        }
    });
    let d = dim as isize;
    Ok(out.with_grad_fn("CumsumBackward0", &[x], &[], move |g| {
        let reversed = if g.dim() == 0 {
            g.clone()
        } else {
            g.flip(&[d])?
        };
        let summed = cumsum(&reversed, dim)?;
        Ok(vec![Some(if g.dim() == 0 {
            summed
        } else {
            summed.flip(&[d])?
        })])
    }))
}
