//! Boolean masks: `masked_select` (the selected elements as a vector),
//! `masked_fill` / `masked_fill_`, and `nonzero` (the coordinates of the
//! non-zero elements). Masks broadcast against the tensor as in PyTorch.

use super::advanced::index_put;
use super::checks::require_bool_mask;
use ferrograd_autograd::{InputMeta, Operand, SavedTensor, Tensor};
use ferrograd_storage::cpu::{binary_map, binary_map_inplace};
use ferrograd_storage::{broadcast_shapes, with_dtype, DType, Element, Error, Layout, Result};

/// `t` broadcast to `shape` as a row-major tensor outside the graph (no copy
/// when it already is one).
fn row_major(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    t.detach().broadcast_to(shape)?.contiguous()
}

/// The elements of `values` where `keep` is true, in order. Branch-free: every
/// element is written at the next free slot, which only advances on a keep.
fn compact<T: Element>(values: &[T], keep: &[bool]) -> Vec<T> {
    let count = keep.iter().filter(|&&k| k).count();
    let mut out = Vec::with_capacity(count + 1);
    let slots = &mut out.spare_capacity_mut()[..count + 1];
    let mut at = 0;
    for (&v, &k) in values.iter().zip(keep) {
        slots[at].write(v);
        at += k as usize;
    }
    // SAFETY: slot `i < count` holds the `i`-th kept element.
    unsafe { out.set_len(count) };
    out
}

/// `x.masked_select(mask)`.
pub(crate) fn masked_select(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    require_bool_mask("masked_select", mask, "expected BoolTensor for mask")?;
    let shape = broadcast_shapes("masked_select", x.shape(), mask.shape())?;
    let (xs, ms) = (row_major(x, &shape)?, row_major(mask, &shape)?);
    let out = with_dtype!(x.dtype(), T => {
        let data = xs.with_data(|v: &[T], l| {
            ms.with_data(|m: &[bool], lm| {
                let (a, b) = (l.offset(), lm.offset());
                compact(&v[a..a + l.numel()], &m[b..b + lm.numel()])
            })
        })??;
        let n = data.len();
        Tensor::from_vec(data, &[n])?
    });
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let saved = SavedTensor::input(&mask.detach().broadcast_to(&shape)?);
    let input_shape = x.shape().to_vec();
    Ok(out.with_grad_fn("MaskedSelectBackward0", &[x], &[&saved], {
        let saved = saved.clone();
        move |g| {
            let zeros = Tensor::zeros(&shape, g.dtype())?;
            let mask = saved.unpack()?;
            let spread = index_put(&zeros, &[Some(&mask)], g, false)?;
            Ok(vec![Some(spread.sum_to_size(&input_shape)?)])
        }
    }))
}

/// The fill value of `masked_fill` as a 0-d tensor of `dtype`, and the value
/// tensor itself when it was given as one (for its gradient).
fn fill_value(value: Operand<'_>, dtype: DType) -> Result<(Tensor, Option<Tensor>)> {
    match value {
        Operand::Scalar(s) => Ok((s.to_tensor(dtype), None)),
        Operand::Tensor(v) if v.dim() == 0 => Ok((v.detach().to_dtype(dtype)?, Some(v.clone()))),
        Operand::Tensor(v) => Err(Error::invalid(
            "masked_fill_",
            format!(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {} dimension(s). Pass a scalar, or use where_(mask, value, x) for a tensor of values.",
                v.dim()
            ),
        )),
    }
}

/// The gradients of a masked fill: the input's (zero where filled, summed to
/// its shape) and the value tensor's (the sum of the filled positions').
fn masked_fill_grads(
    g: &Tensor,
    mask: &Tensor,
    input: &[usize],
    value: &Option<InputMeta>,
) -> Result<Vec<Option<Tensor>>> {
    let gx = masked_fill(g, mask, 0.0.into())?.sum_to_size(input)?;
    let mut grads = vec![Some(gx)];
    if let Some(m) = value {
        grads.push(m.grad(|| masked_select(g, mask)?.sum()?.to_dtype(m.dtype))?);
    }
    Ok(grads)
}

/// `x.masked_fill(mask, value)`.
pub(crate) fn masked_fill(x: &Tensor, mask: &Tensor, value: Operand<'_>) -> Result<Tensor> {
    require_bool_mask(
        "masked_fill_",
        mask,
        "masked_fill_ only supports boolean masks",
    )?;
    let (fill, value_tensor) = fill_value(value, x.dtype())?;
    let shape = broadcast_shapes("masked_fill", x.shape(), mask.shape())?;
    let (lx, lm) = (
        x.layout().broadcast_to(&shape)?,
        mask.layout().broadcast_to(&shape)?,
    );
    let out = with_dtype!(x.dtype(), T => {
        let v = fill.item::<T>()?;
        let data = x.with_data(|xs: &[T], _| {
            mask.with_data(|ms: &[bool], _| binary_map(xs, &lx, ms, &lm, |a, m| if m { v } else { a }))
        })??;
        Tensor::from_vec(data, &shape)?
    });
    let mut inputs = vec![x];
    inputs.extend(value_tensor.as_ref());
    if !Tensor::needs_grad(&inputs) {
        return Ok(out);
    }
    let saved = SavedTensor::input(&mask.detach());
    let input_shape = x.shape().to_vec();
    let value_meta = value_tensor.as_ref().map(InputMeta::of);
    Ok(
        out.with_grad_fn("MaskedFillBackward0", &inputs, &[&saved], {
            let saved = saved.clone();
            move |g| masked_fill_grads(g, &saved.unpack()?, &input_shape, &value_meta)
        }),
    )
}

/// `x.masked_fill_(mask, value)`: fills in `x`'s own memory.
pub(crate) fn masked_fill_(x: &Tensor, mask: &Tensor, value: Operand<'_>) -> Result<Tensor> {
    x.check_inplace()?;
    require_bool_mask(
        "masked_fill_",
        mask,
        "masked_fill_ only supports boolean masks",
    )?;
    let (fill, value_tensor) = fill_value(value, x.dtype())?;
    let shape = broadcast_shapes("masked_fill_", x.shape(), mask.shape())?;
    if shape != x.shape() {
        return Err(Error::ShapeMismatch {
            op: "masked_fill_",
            lhs: x.shape().to_vec(),
            rhs: mask.shape().to_vec(),
            msg: format!(
                "output with shape {:?} doesn't match the broadcast shape {shape:?}; use the out-of-place masked_fill to get the broadcast result",
                x.shape()
            ),
        });
    }
    // A mask viewing x's own memory is copied first, so the fill cannot change it.
    let mask = if mask.shares_storage(x) {
        mask.detach().deep_clone()?
    } else {
        mask.detach()
    };
    let lm: Layout = mask.layout().broadcast_to(&shape)?;
    with_dtype!(x.dtype(), T => {
        let v = fill.item::<T>()?;
        let mg = mask.storage().read()?;
        let ms = mg.as_slice::<bool>().ok_or_else(|| mask.dtype_error::<bool>("masked_fill_"))?;
        let mut xg = x.storage().write()?;
        let xs = xg.as_mut_slice::<T>().ok_or_else(|| x.dtype_error::<T>("masked_fill_"))?;
        binary_map_inplace(xs, x.layout(), ms, &lm, |a, m| if m { v } else { a });
    });
    let saved = SavedTensor::input(&mask);
    let input_shape = x.shape().to_vec();
    let value_meta = value_tensor.as_ref().map(InputMeta::of);
    let others: Vec<&Tensor> = value_tensor.iter().collect();
    x.record_inplace("MaskedFillBackward0", &others, &[&saved], {
        let saved = saved.clone();
        move |g| masked_fill_grads(g, &saved.unpack()?, &input_shape, &value_meta)
    });
    Ok(x.clone())
}

/// `x.nonzero()`: an `i64` tensor `[n, ndim]` of the coordinates of the
/// non-zero elements, in row-major order.
pub(crate) fn nonzero(x: &Tensor) -> Result<Tensor> {
    let ndim = x.dim();
    let xs = x.detach().contiguous()?;
    let (coords, n) = with_dtype!(x.dtype(), T => {
        xs.with_data(|d: &[T], l| {
            let values = &d[l.offset()..l.offset() + l.numel()];
            nonzero_coords(values, x.shape(), |v| v != T::default())
        })?
    });
    Tensor::from_vec(coords, &[n, ndim])
}

/// Coordinates of the elements of row-major `values` of `shape` for which
/// `hit` holds, flattened, and how many there are. Branch-free: every
/// element writes its coordinates at the next free place, which only
/// advances on a hit.
fn nonzero_coords<T: Copy>(
    values: &[T],
    shape: &[usize],
    hit: impl Fn(T) -> bool,
) -> (Vec<i64>, usize) {
    let count = values.iter().filter(|&&v| hit(v)).count();
    let width = shape.len();
    let Some((&inner, outer_shape)) = shape.split_last() else {
        return (vec![], count);
    };
    let mut out = Vec::with_capacity((count + 1) * width);
    if inner == 0 {
        return (out, 0);
    }
    let slots = &mut out.spare_capacity_mut()[..(count + 1) * width];
    let mut row_coords = vec![0i64; outer_shape.len()];
    let mut at = 0;
    for row in values.chunks_exact(inner) {
        for (j, &v) in row.iter().enumerate() {
            let place = &mut slots[at..at + width];
            for (slot, &c) in place.iter_mut().zip(&row_coords) {
                slot.write(c);
            }
            place[width - 1].write(j as i64);
            at += width * usize::from(hit(v));
        }
        for (c, &size) in row_coords.iter_mut().zip(outer_shape).rev() {
            *c += 1;
            if (*c as usize) < size {
                break;
            }
            *c = 0;
        }
    }
    // SAFETY: hit `i` wrote all `width` coordinates at `i * width`.
    unsafe { out.set_len(count * width) };
    (out, count)
}
