//! `logsumexp` over dims: `m + log Σ exp(x - m)` with `m` the row's max, so
//! large inputs do not overflow; rows of `-inf` give `-inf`, an `inf` gives
//! `inf`, a NaN gives NaN (the row kernel is softmax's,
//! [`row_logsumexp_keeping_infs`]). Integer inputs are computed as `f32`, as
//! in PyTorch.

use super::dims::{
    kept_shape, not_float, reduced_shape, restore_dims, with_float, with_rows, Rows,
};
use crate::loss::softmax::row_logsumexp_keeping_infs;
use crate::unary::UnaryOps;
use ferrograd_autograd::{SavedTensor, Tensor};
use ferrograd_storage::{DType, Result};

/// `logsumexp` over `dims` (sorted).
pub(crate) fn logsumexp(x: &Tensor, dims: &[usize], keepdim: bool) -> Result<Tensor> {
    let x = if x.dtype().is_floating_point() {
        x.clone()
    } else {
        x.to_dtype(DType::F32)?
    };
    let shape = reduced_shape(x.shape(), dims, keepdim);
    let out = with_float!(x.dtype(), T => {
        let v = with_rows(&x, dims, |r: Rows<'_, T>| r.map(row_logsumexp_keeping_infs))?;
        Tensor::from_vec(v, &shape)?
    }, d => return Err(not_float("logsumexp", d)));
    if !Tensor::needs_grad(&[&x]) {
        return Ok(out);
    }
    let dims = dims.to_vec();
    let (sx, so) = (SavedTensor::input(&x), SavedTensor::output(&out));
    Ok(out.with_grad_fn("LogsumexpBackward0", &[&x], &[&sx, &so], {
        let (sx, so) = (sx.clone(), so.clone());
        move |g| {
            let (x, out) = (sx.unpack()?, so.unpack()?);
            let shape = kept_shape(x.shape(), &dims);
            let p = x.try_sub(&restore_dims(&out, &shape)?)?.exp()?;
            Ok(vec![Some(restore_dims(g, &shape)?.try_mul(&p)?)])
        }
    }))
}
