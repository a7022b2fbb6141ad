//! `cat` and `stack`: inputs promote to one dtype, and the output is written
//! row by row — for each position of the dims before `dim`, one contiguous
//! block from each input (a memcpy when the input is row-major already).

use ferrograd_autograd::Tensor;
use ferrograd_storage::cpu::{unary_map, PARALLEL_THRESHOLD};
use ferrograd_storage::{
    normalize_dim, with_buffer, with_dtype, DType, Element, Error, Layout, Result,
};
use rayon::prelude::*;
use std::borrow::{Borrow, Cow};
use std::mem::MaybeUninit;

/// Copies `src` into `dst`, in parallel chunks when long.
fn copy_block<T: Element>(dst: &mut [MaybeUninit<T>], src: &[T]) {
    const CHUNK: usize = 1 << 14;
    let copy = |(d, s): (&mut [MaybeUninit<T>], &[T])| {
        for (d, &s) in d.iter_mut().zip(s) {
            d.write(s);
        }
    };
    if src.len() >= PARALLEL_THRESHOLD {
        dst.par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(copy);
    } else {
        copy((dst, src));
    }
}

/// The row-major elements of `layout` over `t`'s storage as `T`: borrowed
/// when they already are, converted or gathered otherwise.
fn row_major<'g, T: Element>(
    buffer: &'g ferrograd_storage::CpuBuffer,
    layout: &Layout,
) -> Cow<'g, [T]> {
    match (buffer.as_slice::<T>(), layout.contiguous_offset()) {
        (Some(d), Some(start)) => Cow::Borrowed(&d[start..start + layout.numel()]),
        _ => Cow::Owned(with_buffer!(buffer, v, S => unary_map(v, layout, |x: S| x.cast::<T>()))),
    }
}

/// Concatenates `parts` (each a tensor read through a layout of its own,
/// all of rank `shape.len()`) along `dim` into a row-major vector of `T`.
fn concat<T: Element>(parts: &[(&Tensor, Layout)], dim: usize, shape: &[usize]) -> Result<Vec<T>> {
    let guards = parts
        .iter()
        .map(|(t, _)| t.storage().read())
        .collect::<Result<Vec<_>>>()?;
    let data: Vec<Cow<'_, [T]>> = parts
        .iter()
        .zip(&guards)
        .map(|((_, l), g)| row_major(g, l))
        .collect();
    let outer: usize = shape[..dim].iter().product();
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return Ok(out);
    }
    let blocks: Vec<usize> = data.iter().map(|d| d.len() / outer).collect();
    let row = n / outer;
    let fill_row = |o: usize, dst: &mut [MaybeUninit<T>]| {
        let mut at = 0;
        for (d, &b) in data.iter().zip(&blocks) {
            copy_block(&mut dst[at..at + b], &d[o * b..(o + 1) * b]);
            at += b;
        }
    };
    let slots = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_THRESHOLD && row < PARALLEL_THRESHOLD {
        slots
            .par_chunks_mut(row)
            .enumerate()
            .for_each(|(o, d)| fill_row(o, d));
    } else {
        slots
            .chunks_mut(row)
            .enumerate()
            .for_each(|(o, d)| fill_row(o, d));
    }
    // SAFETY: every row was filled block by block, and the blocks sum to the row.
    unsafe { out.set_len(n) };
    Ok(out)
}

/// The dtype every input promotes to (`torch.result_type` over a list).
fn promoted<T: Borrow<Tensor>>(tensors: &[T]) -> DType {
    tensors
        .iter()
        .map(|t| t.borrow().dtype())
        .reduce(DType::promote)
        .unwrap_or(DType::F32)
}

/// The concatenation of `parts` along `dim` as a tensor of `dtype`.
fn concat_tensor(
    parts: &[(&Tensor, Layout)],
    dim: usize,
    shape: &[usize],
    dtype: DType,
) -> Result<Tensor> {
    with_dtype!(dtype, T => Tensor::from_vec(concat::<T>(parts, dim, shape)?, shape))
}

/// The gradient of an input that wants one: `g`'s part, back in the
/// input's dtype.
fn grad_for(
    wanted: bool,
    part: impl FnOnce() -> Result<Tensor>,
    dtype: DType,
) -> Result<Option<Tensor>> {
    if !wanted {
        return Ok(None);
    }
    Ok(Some(part()?.to_dtype(dtype)?))
}

/// PyTorch skips 1-d empty tensors in `cat`, whatever the other shapes.
fn is_legacy_empty(t: &Tensor) -> bool {
    t.shape() == [0]
}

/// The shape of `cat(tensors, dim)`, checked as PyTorch checks it.
fn cat_shape(tensors: &[&Tensor], dim: isize) -> Result<(usize, Vec<usize>)> {
    let Some(first) = tensors.iter().find(|t| !is_legacy_empty(t)) else {
        return Ok((0, vec![0]));
    };
    if let Some(i) = tensors.iter().position(|t| t.dim() == 0) {
        return Err(Error::invalid(
            "cat",
            format!("zero-dimensional tensor (at position {i}) cannot be concatenated; unsqueeze it first, or use stack"),
        ));
    }
    let d = normalize_dim(dim, first.dim())?;
    let mut shape = first.shape().to_vec();
    shape[d] = 0;
    for (i, t) in tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| !is_legacy_empty(t))
    {
        if t.dim() != shape.len() {
            return Err(Error::ShapeMismatch {
                op: "cat",
                lhs: first.shape().to_vec(),
                rhs: t.shape().to_vec(),
                msg: format!(
                    "Tensors must have same number of dimensions: got {} and {}",
                    shape.len(),
                    t.dim()
                ),
            });
        }
        if let Some(k) = (0..shape.len()).find(|&k| k != d && t.shape()[k] != first.shape()[k]) {
            return Err(Error::ShapeMismatch {
                op: "cat",
                lhs: first.shape().to_vec(),
                rhs: t.shape().to_vec(),
                msg: format!(
                    "Sizes of tensors must match except in dimension {d}. Expected size {} but got size {} for tensor number {i} in the list.",
                    first.shape()[k],
                    t.shape()[k]
                ),
            });
        }
        shape[d] += t.shape()[d];
    }
    Ok((d, shape))
}

/// `torch.cat(tensors, dim)`.
pub(crate) fn cat<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Result<Tensor> {
    let inputs: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
    if inputs.is_empty() {
        return Err(Error::invalid(
            "cat",
            "torch.cat(): expected a non-empty list of Tensors",
        ));
    }
    let dtype = promoted(&inputs);
    let (d, shape) = cat_shape(&inputs, dim)?;
    let parts: Vec<(&Tensor, Layout)> = inputs
        .iter()
        .filter(|t| !is_legacy_empty(t) || shape == [0])
        .map(|t| (*t, t.layout().clone()))
        .collect();
    let out = concat_tensor(&parts, d, &shape, dtype)?;
    if !Tensor::needs_grad(&inputs) {
        return Ok(out);
    }
    // Per input: where its part starts along `d`, its length, its dtype,
    // whether it wants a gradient, and whether cat skipped it.
    let mut start = 0;
    let metas: Vec<(usize, usize, DType, bool, bool)> = inputs
        .iter()
        .map(|t| {
            let skipped = is_legacy_empty(t) && shape != [0];
            let len = if skipped { 0 } else { t.shape()[d] };
            start += len;
            (start - len, len, t.dtype(), t.requires_grad(), skipped)
        })
        .collect();
    Ok(out.with_grad_fn("CatBackward0", &inputs, &[], move |g| {
        metas
            .iter()
            .map(|&(start, len, dtype, wanted, skipped)| {
                grad_for(
                    wanted,
                    || match skipped {
                        true => Tensor::zeros(&[0], dtype),
                        false => g.narrow(d as isize, start as isize, len),
                    },
                    dtype,
                )
            })
            .collect()
    }))
}

/// `torch.stack(tensors, dim)`.
pub(crate) fn stack<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Result<Tensor> {
    let inputs: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
    let Some(first) = inputs.first() else {
        return Err(Error::invalid(
            "stack",
            "stack expects a non-empty TensorList",
        ));
    };
    if let Some(i) = inputs.iter().position(|t| t.shape() != first.shape()) {
        return Err(Error::ShapeMismatch {
            op: "stack",
            lhs: first.shape().to_vec(),
            rhs: inputs[i].shape().to_vec(),
            msg: format!(
                "stack expects each tensor to be equal size, but got {:?} at entry 0 and {:?} at entry {i}",
                first.shape(),
                inputs[i].shape()
            ),
        });
    }
    let d = normalize_dim(dim, first.dim() + 1)?;
    let mut shape = first.shape().to_vec();
    shape.insert(d, inputs.len());
    let parts: Vec<(&Tensor, Layout)> = inputs
        .iter()
        .map(|t| (*t, t.layout().unsqueeze(d)))
        .collect();
    let out = concat_tensor(&parts, d, &shape, promoted(&inputs))?;
    if !Tensor::needs_grad(&inputs) {
        return Ok(out);
    }
    let metas: Vec<(DType, bool)> = inputs
        .iter()
        .map(|t| (t.dtype(), t.requires_grad()))
        .collect();
    Ok(out.with_grad_fn("StackBackward0", &inputs, &[], move |g| {
        metas
            .iter()
            .enumerate()
            .map(|(i, &(dtype, wanted))| {
                grad_for(wanted, || g.select(d as isize, i as isize), dtype)
            })
            .collect()
    }))
}
