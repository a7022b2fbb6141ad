//! `gather` and the scatter family (`scatter`, `scatter_add` and their
//! in-place forms). Along `dim`, element `p` of the index says which
//! position of `dim` to read from (gather) or write to (scatter); along the
//! other dims positions correspond one to one. Each is the other's backward.

use super::blocks::Accumulate;
use super::checks::{check_range, long_index};
use crate::shape::{PadMode, ShapeOps};
use ferrograd_autograd::{InputMeta, Operand, SavedTensor, Tensor};
use ferrograd_storage::cpu::{for_each_offset_pair, PARALLEL_THRESHOLD};
use ferrograd_storage::{normalize_dim, with_dtype, Element, Error, Layout, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// `t`, with a 0-d tensor seen as a vector of one element.
fn at_least_1d(t: &Tensor) -> Result<Tensor> {
    if t.dim() == 0 {
        t.reshape(&[1])
    } else {
        Ok(t.clone())
    }
}

/// The strides of `layout` with `dim`'s set to 0: walking these over the
/// index's shape reaches the start of each run along `dim`.
fn strides_without(layout: &Layout, dim: usize) -> Vec<isize> {
    let mut s = layout.strides().to_vec();
    s[dim] = 0;
    s
}

/// Errors unless `index` has the rank of `x` and fits inside it (and inside
/// `src`, for a scatter) apart from `dim`.
fn check_index_shape(
    op: &'static str,
    x: &Tensor,
    dim: usize,
    index: &Tensor,
    src: Option<&Tensor>,
) -> Result<()> {
    for (what, t) in [("input", Some(x)), ("src", src)] {
        let Some(t) = t else { continue };
        if t.dim() != index.dim() {
            return Err(Error::ShapeMismatch {
                op,
                lhs: index.shape().to_vec(),
                rhs: t.shape().to_vec(),
                msg: format!(
                    "Index tensor must have the same number of dimensions as {what} tensor"
                ),
            });
        }
    }
    let fits_x = (0..x.dim()).all(|d| d == dim || index.shape()[d] <= x.shape()[d]);
    let fits_src = src.is_none_or(|s| (0..s.dim()).all(|d| index.shape()[d] <= s.shape()[d]));
    if fits_x && fits_src {
        return Ok(());
    }
    let msg = match src {
        None => {
            let d = (0..x.dim()).find(|&d| d != dim && index.shape()[d] > x.shape()[d]).unwrap_or(0);
            format!("Size does not match at dimension {d} expected index {:?} to be no larger than self {:?} apart from dimension {dim}", index.shape(), x.shape())
        }
        Some(s) => format!(
            "Expected index {:?} to be no larger than self {:?} apart from dimension {dim} and to be no larger size than src {:?}",
            index.shape(),
            x.shape(),
            s.shape()
        ),
    };
    Err(Error::ShapeMismatch {
        op,
        lhs: index.shape().to_vec(),
        rhs: x.shape().to_vec(),
        msg,
    })
}

/// Reads `src[.., index[p], ..]` for every position `p` of the index; the
/// first index outside `0..size` is returned as the error.
fn gather_kernel<T: Element>(
    src: &[T],
    sl: &Layout,
    dim: usize,
    idx: &[i64],
    il: &Layout,
) -> std::result::Result<Vec<T>, i64> {
    let shape = il.shape();
    let n = il.numel();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return Ok(out);
    }
    let walk = strides_without(sl, dim);
    let (size, stride) = (sl.shape()[dim] as i64, sl.strides()[dim]);
    let row_len = n / shape[0];
    // Rows `first..first + len/row_len` of dim 0, written into `dst`.
    let rows = |first: usize, dst: &mut [MaybeUninit<T>]| -> Option<i64> {
        let mut sub = shape.to_vec();
        sub[0] = dst.len() / row_len;
        let io = il.offset() as isize + first as isize * il.strides()[0];
        let so = sl.offset() as isize + first as isize * walk[0];
        let (mut k, mut bad) = (0, None);
        for_each_offset_pair(
            &sub,
            (il.strides(), io as usize),
            (&walk, so as usize),
            |a, b| {
                let i = idx[a];
                let v = if (0..size).contains(&i) {
                    src[(b as isize + i as isize * stride) as usize]
                } else {
                    bad = bad.or(Some(i));
                    T::default()
                };
                dst[k].write(v);
                k += 1;
            },
        );
        bad
    };
    let slots = &mut out.spare_capacity_mut()[..n];
    let bad = if n >= PARALLEL_THRESHOLD && shape[0] > 1 {
        let per = shape[0].div_ceil(4 * rayon::current_num_threads()).max(1);
        slots
            .par_chunks_mut(per * row_len)
            .enumerate()
            .map(|(c, chunk)| rows(c * per, chunk))
            .reduce(|| None, |a, b| a.or(b))
    } else {
        rows(0, slots)
    };
    // SAFETY: every position of the index wrote its slot.
    unsafe { out.set_len(n) };
    match bad {
        Some(i) => Err(i),
        None => Ok(out),
    }
}

/// `x.gather(dim, index)`.
pub(crate) fn gather(x: &Tensor, dim: isize, index: &Tensor) -> Result<Tensor> {
    let d = normalize_dim(dim, x.dim())?;
    let idx = long_index("gather()", "int32/int64", index)?;
    let (xs, is) = (at_least_1d(x)?, at_least_1d(&idx)?);
    check_index_shape("gather()", &xs, d, &is, None)?;
    let out = with_dtype!(x.dtype(), T => {
        let data = xs.with_data(|s: &[T], sl| is.with_data(|i: &[i64], il| gather_kernel(s, sl, d, i, il)))??;
        let data = data.map_err(|i| Error::IndexOutOfBounds { index: i as isize, dim: d, size: xs.shape()[d] })?;
        Tensor::from_vec(data, idx.shape())?
    });
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    let saved = SavedTensor::input(&idx);
    let shape = x.shape().to_vec();
    Ok(out.with_grad_fn("GatherBackward0", &[x], &[&saved], {
        let saved = saved.clone();
        move |g| {
            let zeros = Tensor::zeros(&shape, g.dtype())?;
            Ok(vec![Some(scatter_add(
                &zeros,
                d as isize,
                &saved.unpack()?,
                g,
            )?)])
        }
    }))
}

/// How a scatter combines the existing element with the source's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduce {
    Assign,
    Add,
}

/// The values a scatter writes, row-major over the index's shape (`step`
/// 1), or one value for every position (`step` 0).
#[derive(Clone, Copy)]
struct Values<'a, T> {
    data: &'a [T],
    step: usize,
}

impl<'a, T> Values<'a, T> {
    /// The values of positions `start..` (every one, for a single value).
    fn from(self, start: usize) -> Values<'a, T> {
        Values {
            data: &self.data[start * self.step..],
            step: self.step,
        }
    }
}

/// Writes `values` into `dst` at the positions the index names. Indices
/// were checked beforehand.
fn scatter_kernel<T: Accumulate>(
    dst: &mut [T],
    dl: &Layout,
    dim: usize,
    idx: &[i64],
    il: &Layout,
    values: Values<'_, T>,
    reduce: Reduce,
) {
    let walk = strides_without(dl, dim);
    let stride = dl.strides()[dim];
    let mut k = 0;
    for_each_offset_pair(
        il.shape(),
        (il.strides(), il.offset()),
        (&walk, dl.offset()),
        |a, b| {
            let at = (b as isize + idx[a] as isize * stride) as usize;
            let v = values.data[k];
            dst[at] = match reduce {
                Reduce::Assign => v,
                Reduce::Add => dst[at].accumulate(v),
            };
            k += values.step;
        },
    );
}

/// [`scatter_kernel`] split across threads by rows of dim 0 where that is
/// safe: scattering along another dim of a row-major destination, row `i`
/// of the index only writes row `i` of the destination.
fn scatter_parallel<T: Accumulate>(
    dst: &mut [T],
    dl: &Layout,
    dim: usize,
    idx: &[i64],
    il: &Layout,
    values: Values<'_, T>,
    reduce: Reduce,
) {
    let n = il.numel();
    let rows = il.shape().first().copied().unwrap_or(0);
    if dim == 0 || n < PARALLEL_THRESHOLD || rows < 2 || dl.contiguous_offset().is_none() {
        return scatter_kernel(dst, dl, dim, idx, il, values, reduce);
    }
    let (dst_row, per_row) = (dl.strides()[0] as usize, n / rows);
    let per = rows.div_ceil(4 * rayon::current_num_threads());
    let dst = &mut dst[dl.offset()..dl.offset() + dl.numel()];
    dst.par_chunks_mut(per * dst_row)
        .enumerate()
        .for_each(|(c, d)| {
            let first = c * per;
            let Some(left) = rows.checked_sub(first).filter(|&r| r > 0) else {
                return;
            };
            let mut shape = il.shape().to_vec();
            shape[0] = left.min(per);
            let offset = il.offset() as isize + first as isize * il.strides()[0];
            let sub_index = Layout::new(shape, il.strides().to_vec(), offset as usize);
            let mut dst_shape = dl.shape().to_vec();
            dst_shape[0] = d.len() / dst_row;
            let sub_dst = Layout::new(dst_shape, dl.strides().to_vec(), 0);
            let v = values.from(first * per_row);
            scatter_kernel(d, &sub_dst, dim, idx, &sub_index, v, reduce);
        });
}

/// A scatter's source: a tensor of `x`'s dtype, or one value.
enum Source {
    Tensor(Tensor),
    Value(Tensor),
}

impl Source {
    fn new(op: &'static str, x: &Tensor, src: Operand<'_>) -> Result<Source> {
        match src {
            Operand::Scalar(s) => Ok(Source::Value(s.to_tensor(x.dtype()))),
            Operand::Tensor(t) if t.dtype() == x.dtype() => Ok(Source::Tensor(t.clone())),
            Operand::Tensor(t) => Err(Error::invalid(
                op,
                format!(
                    "Expected self.dtype to be equal to src.dtype (self is {}, src is {}). Convert src with .to_dtype(DType::{:?}).",
                    x.dtype(),
                    t.dtype(),
                    x.dtype()
                ),
            )),
        }
    }

    fn tensor(&self) -> Option<&Tensor> {
        match self {
            Source::Tensor(t) => Some(t),
            Source::Value(_) => None,
        }
    }

    /// The values written at the positions of `index`: a row-major tensor of
    /// the index's shape (step 1), or one value for all (step 0).
    fn values(&self, index: &Tensor) -> Result<(Tensor, usize)> {
        match self {
            Source::Tensor(t) => {
                let mut v = at_least_1d(&t.detach())?;
                for (d, &n) in index.shape().iter().enumerate() {
                    v = v.narrow(d as isize, 0, n)?;
                }
                Ok((v.contiguous()?, 1))
            }
            Source::Value(v) => Ok((v.reshape(&[1])?, 0)),
        }
    }
}

/// Checks a scatter's arguments; returns the dim, the `i64` index (at least 1-d).
fn scatter_args(
    op: &'static str,
    x: &Tensor,
    dim: isize,
    index: &Tensor,
    src: &Source,
) -> Result<(usize, Tensor)> {
    let d = normalize_dim(dim, x.dim())?;
    let idx = at_least_1d(&long_index(op, "int32/int64", index)?)?;
    let src_1d = src.tensor().map(at_least_1d).transpose()?;
    check_index_shape(op, &at_least_1d(x)?, d, &idx, src_1d.as_ref())?;
    let size = if x.dim() == 0 { 1 } else { x.shape()[d] };
    idx.with_data(|i: &[i64], il| check_range(i, il, d, size))??;
    Ok((d, idx))
}

/// Scatters into the memory of `dst` (a tensor of at least one dim).
fn scatter_into(dst: &Tensor, d: usize, idx: &Tensor, src: &Source, reduce: Reduce) -> Result<()> {
    // Inputs viewing dst's own memory are copied first, so the write lock can be taken.
    let own = |t: Tensor| match t.shares_storage(dst) {
        true => t.deep_clone(),
        false => Ok(t),
    };
    let idx = own(idx.clone())?;
    let (values, step) = src.values(&idx)?;
    let values = own(values)?;
    with_dtype!(dst.dtype(), T => {
        let ig = idx.storage().read()?;
        let i = ig.as_slice::<i64>().ok_or_else(|| idx.dtype_error::<i64>("scatter"))?;
        let vg = values.storage().read()?;
        let v = vg.as_slice::<T>().ok_or_else(|| values.dtype_error::<T>("scatter"))?;
        let v = Values { data: &v[values.storage_offset()..], step };
        let mut g = dst.storage().write()?;
        let out = g.as_mut_slice::<T>().ok_or_else(|| dst.dtype_error::<T>("scatter"))?;
        scatter_parallel(out, dst.layout(), d, i, idx.layout(), v, reduce);
        Ok(())
    })
}

/// The gradients of a scatter: `x`'s (the gradient, zeroed where an assign
/// overwrote) and the source tensor's (the gradient gathered back).
fn scatter_grads(
    g: &Tensor,
    d: usize,
    idx: &Tensor,
    reduce: Reduce,
    src: &Option<InputMeta>,
) -> Result<Vec<Option<Tensor>>> {
    let gx = match reduce {
        Reduce::Add => g.clone(),
        Reduce::Assign => scatter(g, d as isize, idx, 0.0.into())?,
    };
    let mut grads = vec![Some(gx)];
    if let Some(m) = src {
        grads.push(m.grad(|| {
            // Source elements beyond the index's extent were never read.
            let picked = gather(g, d as isize, idx)?;
            if picked.shape() == m.shape.as_slice() {
                return Ok(picked);
            }
            let pads: Vec<isize> = m
                .shape
                .iter()
                .zip(picked.shape())
                .rev()
                .flat_map(|(&s, &i)| [0, (s - i) as isize])
                .collect();
            picked.pad(&pads, PadMode::default())
        })?);
    }
    Ok(grads)
}

/// The grad_fn name of a scatter.
fn node_name(reduce: Reduce, src: &Source) -> &'static str {
    match (reduce, src) {
        (Reduce::Add, _) => "ScatterAddBackward0",
        (Reduce::Assign, Source::Tensor(_)) => "ScatterBackward0",
        (Reduce::Assign, Source::Value(_)) => "ScatterBackward1",
    }
}

/// Out-of-place scatter: a copy of `x` with the source written in.
fn scatter_copy(
    op: &'static str,
    x: &Tensor,
    dim: isize,
    index: &Tensor,
    src: Operand<'_>,
    reduce: Reduce,
) -> Result<Tensor> {
    let src = Source::new(op, x, src)?;
    let (d, idx) = scatter_args(op, x, dim, index, &src)?;
    let out = at_least_1d(&x.detach().deep_clone()?)?;
    scatter_into(&out, d, &idx, &src, reduce)?;
    let out = out.reshape(&super::select::to_isize(x.shape()))?.detach();
    let mut inputs = vec![x];
    inputs.extend(src.tensor());
    if !Tensor::needs_grad(&inputs) {
        return Ok(out);
    }
    let saved = SavedTensor::input(&idx);
    let src_meta = src.tensor().map(InputMeta::of);
    Ok(
        out.with_grad_fn(node_name(reduce, &src), &inputs, &[&saved], {
            let saved = saved.clone();
            move |g| scatter_grads(g, d, &saved.unpack()?, reduce, &src_meta)
        }),
    )
}

/// In-place scatter into `x`'s own memory.
fn scatter_inplace(
    op: &'static str,
    x: &Tensor,
    dim: isize,
    index: &Tensor,
    src: Operand<'_>,
    reduce: Reduce,
) -> Result<Tensor> {
    x.check_inplace()?;
    let src = Source::new(op, x, src)?;
    let (d, idx) = scatter_args(op, x, dim, index, &src)?;
    scatter_into(&at_least_1d(&x.detach())?, d, &idx, &src, reduce)?;
    let saved = SavedTensor::input(&idx);
    let src_meta = src.tensor().map(InputMeta::of);
    let others: Vec<&Tensor> = src.tensor().into_iter().collect();
    x.record_inplace(node_name(reduce, &src), &others, &[&saved], {
        let saved = saved.clone();
        move |g| scatter_grads(g, d, &saved.unpack()?, reduce, &src_meta)
    });
    Ok(x.clone())
}

/// `x.scatter(dim, index, src)`.
pub(crate) fn scatter(x: &Tensor, dim: isize, index: &Tensor, src: Operand<'_>) -> Result<Tensor> {
    scatter_copy("scatter()", x, dim, index, src, Reduce::Assign)
}

/// `x.scatter_add(dim, index, src)`.
pub(crate) fn scatter_add(x: &Tensor, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
    scatter_copy("scatter_add()", x, dim, index, src.into(), Reduce::Add)
}

/// `x.scatter_(dim, index, src)`.
pub(crate) fn scatter_(x: &Tensor, dim: isize, index: &Tensor, src: Operand<'_>) -> Result<Tensor> {
    scatter_inplace("scatter_()", x, dim, index, src, Reduce::Assign)
}

/// `x.scatter_add_(dim, index, src)`.
pub(crate) fn scatter_add_(x: &Tensor, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
    scatter_inplace("scatter_add_()", x, dim, index, src.into(), Reduce::Add)
}
