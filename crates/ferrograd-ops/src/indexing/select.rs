//! `index_select` (whole slices picked along one dim by a vector of
//! indices) and its adjoint `index_add`; each is the other's backward.

use super::blocks::{put_copy, take_tensor, Blocks};
use super::checks::{checked_index, index_values, long_index};
use ferrograd_autograd::{InputMeta, SavedTensor, Tensor};
use ferrograd_storage::{normalize_dim, Error, Layout, Result};

/// The picks of `index` (an `i64` vector or scalar) along `dim` of `layout`,
/// checked against the dim's size.
fn picks_along(layout: &Layout, dim: usize, index: &Tensor) -> Result<Vec<isize>> {
    let (size, stride) = (layout.shape()[dim], layout.strides()[dim]);
    index_values(index, &[index.numel()])?
        .into_iter()
        .map(|i| Ok(checked_index(i, dim, size, false)? as isize * stride))
        .collect()
}

/// Blocks of `layout` picked along `dim`: dims before are outer, after inner.
fn blocks_along(layout: &Layout, dim: usize, index: &Tensor) -> Result<Blocks> {
    let outer: Vec<usize> = (0..dim).collect();
    let inner: Vec<usize> = (dim + 1..layout.ndim()).collect();
    Ok(Blocks::new(
        layout,
        &outer,
        picks_along(layout, dim, index)?,
        &inner,
    ))
}

/// `index` as an `i64` vector (0-d allowed), or `op`'s error.
fn vector_index(op: &'static str, expected: &str, index: &Tensor) -> Result<Tensor> {
    let idx = long_index(op, expected, index)?;
    if idx.dim() > 1 {
        return Err(Error::invalid(
            op,
            format!(
                "Index is supposed to be a vector, but got an index of shape {:?}. Flatten it (.flatten(0, -1)) or use index_tensors for multi-dimensional indices.",
                idx.shape()
            ),
        ));
    }
    Ok(idx)
}

/// `x.index_select(dim, index)`.
pub(crate) fn index_select(x: &Tensor, dim: isize, index: &Tensor) -> Result<Tensor> {
    let d = normalize_dim(dim, x.dim())?;
    let idx = vector_index("index_select()", "int32 or int64", index)?;
    if x.dim() == 0 {
        let picked = index_select(&x.reshape(&[1])?, 0, &idx)?;
        return picked.reshape(&[]);
    }
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        return crate::cuda::indexing::index_select(x, d, &idx);
    }
    let blocks = blocks_along(x.layout(), d, &idx)?;
    let mut shape = x.shape().to_vec();
    shape[d] = idx.numel();
    let out = take_tensor(x, &blocks, &shape)?;
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let saved = SavedTensor::input(&idx);
    let input_shape = x.shape().to_vec();
    Ok(out.with_grad_fn("IndexSelectBackward0", &[x], &[&saved], {
        let saved = saved.clone();
        move |g| {
            let zeros = Tensor::zeros(&input_shape, g.dtype())?;
            Ok(vec![Some(index_add(
                &zeros,
                d as isize,
                &saved.unpack()?,
                g,
            )?)])
        }
    }))
}

/// Checks `source` against `x` for `index_add` along `d` with `k` indices.
fn check_index_add(x: &Tensor, d: usize, k: usize, source: &Tensor) -> Result<()> {
    if source.dtype() != x.dtype() {
        return Err(Error::invalid(
            "index_add_()",
            format!(
                "self ({}) and source ({}) must have the same scalar type. Convert source with .to_dtype(DType::{:?}).",
                x.dtype().legacy_name(),
                source.dtype().legacy_name(),
                x.dtype()
            ),
        ));
    }
    let mut want = x.shape().to_vec();
    want[d] = k;
    if source.shape() != want.as_slice() {
        let got = source.shape().get(d).copied().unwrap_or(0);
        return Err(Error::ShapeMismatch {
            op: "index_add_()",
            lhs: x.shape().to_vec(),
            rhs: source.shape().to_vec(),
            msg: format!(
                "Number of indices ({k}) should be equal to source.size(dim): ({got}), for dim: {d}, and source must have self's shape apart from dimension {d}"
            ),
        });
    }
    Ok(())
}

/// `x.index_add(dim, index, source)`: a copy of `x` with slice `j` of
/// `source` along `dim` added to slice `index[j]`.
pub(crate) fn index_add(x: &Tensor, dim: isize, index: &Tensor, source: &Tensor) -> Result<Tensor> {
    let d = normalize_dim(dim, x.dim())?;
    let idx = vector_index("index_add_()", "int32/int64", index)?;
    if x.dim() == 0 {
        let added = index_add(&x.reshape(&[1])?, 0, &idx, &source.reshape(&[-1])?)?;
        return added.reshape(&[]);
    }
    check_index_add(x, d, idx.numel(), source)?;
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        return crate::cuda::indexing::index_add(x, d, &idx, source);
    }
    let blocks = blocks_along(&Layout::contiguous(x.shape()), d, &idx)?;
    let out = put_copy(x, &blocks, source, true)?;
    if !Tensor::needs_grad(&[x, source]) {
        return Ok(out);
    }
    let saved = SavedTensor::input(&idx);
    let ms = InputMeta::of(source);
    Ok(
        out.with_grad_fn("IndexAddBackward0", &[x, source], &[&saved], {
            let saved = saved.clone();
            move |g| {
                Ok(vec![
                    Some(g.clone()),
                    ms.grad(|| {
                        index_select(g, d as isize, &saved.unpack()?)?.reshape(&to_isize(&ms.shape))
                    })?,
                ])
            }
        }),
    )
}

/// A shape as the `isize` list `reshape` takes.
pub(crate) fn to_isize(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&s| s as isize).collect()
}
