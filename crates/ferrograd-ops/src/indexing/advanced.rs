//! Advanced indexing, NumPy's and PyTorch's `x[i0, i1]` with index tensors:
//! [`index_tensors`] (read), [`index_put`] / [`index_put_`] (write), and
//! [`index_with`], which mixes them with basic `s!`-style entries.
//!
//! The rules, as in PyTorch: `bool`/`u8` masks stand for the index tensors
//! of their `nonzero()` (a mask over `k` dims consumes `k` dims, and its
//! shape must match them exactly); the index tensors broadcast together to
//! one index shape `B`; if the indexed dims are adjacent, `B` replaces them
//! in the result, otherwise `B` comes first and the other dims follow in
//! order. Integer entries of [`index_with`] select before anything else, as
//! in PyTorch (`x[0, :, idx]` of a `[2, 3, 4]` tensor is `[3, len(idx)]`).

use super::blocks::{put_copy, put_inplace, take_tensor, Blocks};
use super::checks::{checked_index, index_values};
use super::mask::nonzero;
use super::select::to_isize;
use super::Indexer;
use ferrograd_autograd::{InputMeta, SavedTensor, Tensor, TensorIndex};
use ferrograd_storage::{broadcast_shapes, DType, Error, Layout, Result};

fn too_many_indices(ndim: usize, got: usize) -> Error {
    Error::invalid(
        "index",
        format!("too many indices for tensor of dimension {ndim} (got {got}); index at most {ndim} dims, with None (or ..) for those kept whole"),
    )
}

/// True for the dtypes that index as masks.
fn is_mask(t: &Tensor) -> bool {
    matches!(t.dtype(), DType::Bool | DType::U8)
}

/// The dims of the indexed tensor an index entry consumes.
fn dims_consumed(t: &Tensor) -> usize {
    if is_mask(t) {
        t.dim()
    } else {
        1
    }
}

/// A mask as `bool`, outside the graph.
fn as_bool_mask(t: &Tensor) -> Result<Tensor> {
    t.detach().to_dtype(DType::Bool)
}

/// Turns user index entries into one `i64` index (or `None`) per leading dim
/// of `base` — `x`, with a size-1 dim inserted where a 0-d mask stands.
fn expand(x: &Tensor, indices: &[Option<&Tensor>]) -> Result<(Tensor, Vec<Option<Tensor>>)> {
    let mut base = x.clone();
    let mut out: Vec<Option<Tensor>> = Vec::with_capacity(indices.len());
    for entry in indices {
        let Some(t) = entry else {
            out.push(None);
            continue;
        };
        match t.dtype() {
            DType::I64 | DType::I32 => out.push(Some(t.detach().to_dtype(DType::I64)?)),
            DType::Bool | DType::U8 => {
                let mut mask = as_bool_mask(t)?;
                if mask.dim() == 0 {
                    base = base.unsqueeze(out.len() as isize)?;
                    mask = mask.reshape(&[1])?;
                }
                let p = out.len();
                if p + mask.dim() > base.dim() {
                    return Err(too_many_indices(x.dim(), p + mask.dim()));
                }
                for (j, &m) in mask.shape().iter().enumerate() {
                    if m != base.shape()[p + j] {
                        return Err(Error::invalid(
                            "index",
                            format!(
                                "The shape of the mask {:?} at index {j} does not match the shape of the indexed tensor {:?} at index {}",
                                mask.shape(),
                                base.shape(),
                                p + j
                            ),
                        ));
                    }
                }
                let coords = nonzero(&mask)?;
                for j in 0..mask.dim() {
                    out.push(Some(coords.select(1, j as isize)?));
                }
            }
            got => {
                return Err(Error::invalid(
                    "index",
                    format!("tensors used as indices must be long, int, byte or bool tensors (got {got}). Convert the index with .long(), or build a mask with a comparison."),
                ))
            }
        }
    }
    if out.len() > base.dim() {
        return Err(too_many_indices(x.dim(), out.len()));
    }
    Ok((base, out))
}

/// Where the `i64` index tensors of an advanced index sit and what they
/// broadcast to.
struct Advanced<'a> {
    /// `(dim, index)` for every indexed dim, in dim order.
    indexed: Vec<(usize, &'a Tensor)>,
    /// The shape the index tensors broadcast to.
    index_shape: Vec<usize>,
    /// Whether the indexed dims are adjacent (`B` then replaces them in place).
    adjacent: bool,
}

impl<'a> Advanced<'a> {
    fn new(indices: &'a [Option<Tensor>]) -> Result<Self> {
        let indexed: Vec<(usize, &Tensor)> = indices
            .iter()
            .enumerate()
            .filter_map(|(d, t)| t.as_ref().map(|t| (d, t)))
            .collect();
        let mut index_shape: Vec<usize> =
            indexed.first().map_or(vec![], |(_, t)| t.shape().to_vec());
        for (_, t) in &indexed {
            index_shape = broadcast_shapes("index", &index_shape, t.shape()).map_err(|_| {
                let shapes: Vec<String> = indexed.iter().map(|(_, t)| format!("{:?}", t.shape())).collect();
                Error::invalid(
                    "index",
                    format!("shape mismatch: indexing tensors could not be broadcast together with shapes {}", shapes.join(", ")),
                )
            })?;
        }
        let adjacent = !indexed.is_empty() && indexed.windows(2).all(|w| w[1].0 == w[0].0 + 1);
        Ok(Advanced {
            indexed,
            index_shape,
            adjacent,
        })
    }

    /// Dims before the index dims in the result, and dims after them.
    fn outer_inner(&self, ndim: usize) -> (Vec<usize>, Vec<usize>) {
        if self.adjacent {
            let (first, last) = (self.indexed[0].0, self.indexed[self.indexed.len() - 1].0);
            ((0..first).collect(), (last + 1..ndim).collect())
        } else {
            let rest = (0..ndim)
                .filter(|d| !self.indexed.iter().any(|(i, _)| i == d))
                .collect();
            (vec![], rest)
        }
    }

    /// The shape of `x[indices]` for `x` of `shape`.
    fn result_shape(&self, shape: &[usize]) -> Vec<usize> {
        let (outer, inner) = self.outer_inner(shape.len());
        let mut out: Vec<usize> = outer.iter().map(|&d| shape[d]).collect();
        out.extend(&self.index_shape);
        out.extend(inner.iter().map(|&d| shape[d]));
        out
    }

    /// The blocks the index selects in a tensor of `layout`, bounds checked
    /// (negative indices count from the end).
    fn blocks(&self, layout: &Layout) -> Result<Blocks> {
        let n: usize = self.index_shape.iter().product();
        let mut picks = vec![0isize; n];
        for &(d, t) in &self.indexed {
            let (size, stride) = (layout.shape()[d], layout.strides()[d]);
            for (p, v) in picks.iter_mut().zip(index_values(t, &self.index_shape)?) {
                *p += checked_index(v, d, size, true)? as isize * stride;
            }
        }
        let (outer, inner) = self.outer_inner(layout.ndim());
        Ok(Blocks::new(layout, &outer, picks, &inner))
    }
}

/// Saves the index tensors for a backward rule.
fn save_indices(indices: &[Option<Tensor>]) -> Vec<Option<SavedTensor>> {
    indices
        .iter()
        .map(|t| t.as_ref().map(SavedTensor::input))
        .collect()
}

fn unpack_indices(saved: &[Option<SavedTensor>]) -> Result<Vec<Option<Tensor>>> {
    saved
        .iter()
        .map(|s| s.as_ref().map(|s| s.unpack()).transpose())
        .collect()
}

/// `x[indices]` with `i64` indices aligned to `x`'s leading dims.
fn index_long(x: &Tensor, indices: &[Option<Tensor>]) -> Result<Tensor> {
    let adv = Advanced::new(indices)?;
    let out = take_tensor(x, &adv.blocks(x.layout())?, &adv.result_shape(x.shape()))?;
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let saved = save_indices(indices);
    let refs: Vec<&SavedTensor> = saved.iter().flatten().collect();
    let shape = x.shape().to_vec();
    Ok(out.with_grad_fn("IndexBackward0", &[x], &refs, {
        let saved = saved.clone();
        move |g| {
            let zeros = Tensor::zeros(&shape, g.dtype())?;
            Ok(vec![Some(index_put_long(
                &zeros,
                &unpack_indices(&saved)?,
                g,
                true,
            )?)])
        }
    }))
}

/// `values` broadcast to the result shape of an index put, checked.
fn put_values(x: &Tensor, result_shape: &[usize], values: &Tensor) -> Result<Tensor> {
    if values.dtype() != x.dtype() {
        return Err(Error::invalid(
            "index_put",
            format!(
                "Index put requires the source and destination dtypes match, got {} for the destination and {} for the source. Convert the values with .to_dtype(DType::{:?}).",
                x.dtype().legacy_name(),
                values.dtype().legacy_name(),
                x.dtype()
            ),
        ));
    }
    values.detach().broadcast_to(result_shape).map_err(|_| {
        Error::invalid(
            "index_put",
            format!(
                "shape mismatch: value tensor of shape {:?} cannot be broadcast to indexing result of shape {result_shape:?}",
                values.shape()
            ),
        )
    })
}

/// The gradients of an index put into `x`-shaped memory: `x`'s (the
/// gradient, minus what the put overwrote) and `values`'.
fn index_put_grads(
    g: &Tensor,
    indices: &[Option<Tensor>],
    accumulate: bool,
    values: &InputMeta,
) -> Result<(Tensor, Option<Tensor>)> {
    let gx = if accumulate {
        g.clone()
    } else {
        index_put_long(g, indices, &Tensor::zeros(&[], g.dtype())?, false)?
    };
    let gv = values.grad(|| index_long(g, indices)?.sum_to_size(&values.shape))?;
    Ok((gx, gv))
}

/// A copy of `x` with `values` written (or added) at `x[indices]`.
fn index_put_long(
    x: &Tensor,
    indices: &[Option<Tensor>],
    values: &Tensor,
    accumulate: bool,
) -> Result<Tensor> {
    let adv = Advanced::new(indices)?;
    let broadcast = put_values(x, &adv.result_shape(x.shape()), values)?;
    let blocks = adv.blocks(&Layout::contiguous(x.shape()))?;
    let out = put_copy(x, &blocks, &broadcast, accumulate)?;
    if !Tensor::needs_grad(&[x, values]) {
        return Ok(out);
    }
    let saved = save_indices(indices);
    let refs: Vec<&SavedTensor> = saved.iter().flatten().collect();
    let mv = InputMeta::of(values);
    Ok(out.with_grad_fn("IndexPutBackward0", &[x, values], &refs, {
        let saved = saved.clone();
        move |g| {
            let (gx, gv) = index_put_grads(g, &unpack_indices(&saved)?, accumulate, &mv)?;
            Ok(vec![Some(gx), gv])
        }
    }))
}

/// `x[indices]`; see the module docs for the rules.
pub(crate) fn index_tensors(x: &Tensor, indices: &[Option<&Tensor>]) -> Result<Tensor> {
    let (base, idx) = expand(x, indices)?;
    index_long(&base, &idx)
}

/// A copy of `x` with `x[indices] = values` (or `+=` when `accumulate`).
pub(crate) fn index_put(
    x: &Tensor,
    indices: &[Option<&Tensor>],
    values: &Tensor,
    accumulate: bool,
) -> Result<Tensor> {
    let (base, idx) = expand(x, indices)?;
    index_put_long(&base, &idx, values, accumulate)?.reshape(&to_isize(x.shape()))
}

/// `x[indices] = values` (or `+=`) in `x`'s own memory.
pub(crate) fn index_put_(
    x: &Tensor,
    indices: &[Option<&Tensor>],
    values: &Tensor,
    accumulate: bool,
) -> Result<Tensor> {
    x.check_inplace()?;
    let (base, idx) = expand(x, indices)?;
    let adv = Advanced::new(&idx)?;
    let broadcast = put_values(&base, &adv.result_shape(base.shape()), values)?;
    put_inplace(x, &adv.blocks(base.layout())?, &broadcast, accumulate)?;
    let saved = save_indices(&idx);
    let refs: Vec<&SavedTensor> = saved.iter().flatten().collect();
    let (base_shape, x_shape) = (to_isize(base.shape()), to_isize(x.shape()));
    let mv = InputMeta::of(values);
    x.record_inplace("IndexPutBackward0", &[values], &refs, {
        let saved = saved.clone();
        move |g| {
            let g = g.reshape(&base_shape)?;
            let (gx, gv) = index_put_grads(&g, &unpack_indices(&saved)?, accumulate, &mv)?;
            Ok(vec![Some(gx.reshape(&x_shape)?), gv])
        }
    });
    Ok(x.clone())
}

/// `x[entries]` mixing basic entries and index tensors.
pub(crate) fn index_with(x: &Tensor, entries: &[Indexer<'_>]) -> Result<Tensor> {
    let ndim = x.dim();
    let consumed: usize = entries
        .iter()
        .map(|e| match e {
            Indexer::Basic(
                TensorIndex::Index(_) | TensorIndex::Slice { .. } | TensorIndex::Full,
            ) => 1,
            Indexer::Basic(_) => 0,
            Indexer::Tensor(t) => dims_consumed(t),
        })
        .sum();
    if consumed > ndim {
        return Err(too_many_indices(ndim, consumed));
    }
    // Basic entries become a view; each tensor entry keeps its dims whole
    // there and is placed at the dim of the view it lands on.
    let mut basic = Vec::with_capacity(entries.len());
    let mut placed: Vec<(usize, Tensor)> = Vec::new();
    let mut at = 0usize;
    for entry in entries {
        match entry {
            Indexer::Basic(b) => {
                basic.push(*b);
                at += match b {
                    TensorIndex::Index(_) => 0,
                    TensorIndex::Ellipsis => ndim - consumed,
                    _ => 1,
                };
            }
            Indexer::Tensor(t) if is_mask(t) && t.dim() == 0 => {
                basic.push(TensorIndex::NewAxis);
                placed.push((at, as_bool_mask(t)?.reshape(&[1])?));
                at += 1;
            }
            Indexer::Tensor(t) => {
                let k = dims_consumed(t);
                basic.extend(std::iter::repeat_n(TensorIndex::Full, k));
                placed.push((at, (*t).clone()));
                at += k;
            }
        }
    }
    let view = x.index(&basic)?;
    if placed.is_empty() {
        return Ok(view);
    }
    let mut list: Vec<Option<&Tensor>> = Vec::with_capacity(view.dim());
    let mut dim = 0;
    for (pos, t) in &placed {
        while dim < *pos {
            list.push(None);
            dim += 1;
        }
        list.push(Some(t));
        dim += dims_consumed(t);
    }
    index_tensors(&view, &list)
}
