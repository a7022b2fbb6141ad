//! `repeat` (tiling copies of the whole tensor) and `roll` (a circular
//! shift along dims).

use super::cat::cat;
use ferrograd_autograd::{no_grad, Tensor};
use ferrograd_storage::cpu::gather_contiguous;
use ferrograd_storage::{normalize_dim, with_dtype, Error, Layout, Result};

/// `x.repeat(repeats)`: `x` tiled `repeats[i]` times along dim `i`; extra
/// leading repeats add leading dims.
pub(crate) fn repeat(x: &Tensor, repeats: &[usize]) -> Result<Tensor> {
    let lead = repeats.len().checked_sub(x.dim()).ok_or_else(|| {
        Error::invalid(
            "repeat",
            format!(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor (got {} repeats for a tensor of shape {:?})",
                repeats.len(),
                x.shape()
            ),
        )
    })?;
    // Each dim `i` becomes a pair (repeats[i] with stride 0, size with its stride).
    let mut sizes = vec![1; lead];
    sizes.extend_from_slice(x.shape());
    let mut strides = vec![0; lead];
    strides.extend_from_slice(x.strides());
    let (mut tiled_shape, mut tiled_strides) = (Vec::new(), Vec::new());
    for ((&r, &n), &s) in repeats.iter().zip(&sizes).zip(&strides) {
        tiled_shape.extend([r, n]);
        tiled_strides.extend([0, s]);
    }
    let tiled = Layout::new(tiled_shape.clone(), tiled_strides, x.storage_offset());
    let shape: Vec<usize> = repeats.iter().zip(&sizes).map(|(r, n)| r * n).collect();
    let out = with_dtype!(x.dtype(), T => {
        Tensor::from_vec(x.with_data(|d: &[T], _| gather_contiguous(d, &tiled))?, &shape)?
    });
    let input_shape: Vec<isize> = x.shape().iter().map(|&s| s as isize).collect();
    let pairs: Vec<isize> = tiled_shape.iter().map(|&s| s as isize).collect();
    let repeat_dims: Vec<isize> = (0..repeats.len() as isize).map(|i| 2 * i).collect();
    Ok(out.with_grad_fn("RepeatBackward0", &[x], &[], move |g| {
        let summed = g.reshape(&pairs)?.sum_dims(&repeat_dims, false)?;
        Ok(vec![Some(summed.reshape(&input_shape)?)])
    }))
}

/// `x` shifted by `shift` along `dim` (forward only).
fn roll_dim(x: &Tensor, shift: isize, dim: usize) -> Result<Tensor> {
    let n = x.shape()[dim];
    if n == 0 {
        return Ok(x.clone());
    }
    let s = shift.rem_euclid(n as isize) as usize;
    if s == 0 {
        return Ok(x.clone());
    }
    let d = dim as isize;
    cat(
        &[x.narrow(d, (n - s) as isize, s)?, x.narrow(d, 0, n - s)?],
        d,
    )
}

/// `x.roll(shifts, dims)`: element `i` of each dim moves to `i + shift`
/// (wrapping). Without dims the flattened tensor rolls.
pub(crate) fn roll(x: &Tensor, shifts: &[isize], dims: &[isize]) -> Result<Tensor> {
    if dims.is_empty() {
        if shifts.len() != 1 {
            return Err(Error::invalid(
                "roll",
                format!("shifts and dimensions must align. shifts: {}, dims:0 (without dims, give exactly one shift)", shifts.len()),
            ));
        }
        let shape: Vec<isize> = x.shape().iter().map(|&s| s as isize).collect();
        return roll(&x.reshape(&[-1])?, shifts, &[0])?.reshape(&shape);
    }
    if shifts.len() != dims.len() {
        return Err(Error::invalid(
            "roll",
            format!(
                "shifts and dimensions must align. shifts: {}, dims:{}",
                shifts.len(),
                dims.len()
            ),
        ));
    }
    let dims: Vec<usize> = dims
        .iter()
        .map(|&d| normalize_dim(d, x.dim()))
        .collect::<Result<_>>()?;
    let out = {
        let _guard = no_grad();
        let mut out = x.detach();
        for (&s, &d) in shifts.iter().zip(&dims) {
            out = roll_dim(&out, s, d)?;
        }
        // A roll by whole turns leaves the data as it was: copy it anyway,
        // as the result never shares memory with the input.
        match out.shares_storage(x) {
            true => out.deep_clone()?,
            false => out.contiguous()?.detach(),
        }
    };
    let back: Vec<isize> = shifts.iter().map(|s| -s).collect();
    let back_dims: Vec<isize> = dims.iter().map(|&d| d as isize).collect();
    Ok(out.with_grad_fn("RollBackward0", &[x], &[], move |g| {
        Ok(vec![Some(roll(g, &back, &back_dims)?)])
    }))
}
