//! `pad` (`torch.nn.functional.pad`): constant padding of any trailing dims
//! (negative pads crop), and reflect / replicate / circular padding of the
//! last one to three dims, built from `index_select` so gradients follow.

use crate::indexing::IndexingOps;
use ferrograd_autograd::{Scalar, Tensor};
use ferrograd_storage::cpu::copy_into_strided;
use ferrograd_storage::{with_dtype, Error, Layout, Result};

/// How [`pad`](super::ShapeOps::pad) fills the new border.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![0i64, 1, 2], &[1, 3])?;
/// assert_eq!(x.pad(&[2, 2], PadMode::Reflect)?.to_vec::<i64>()?, vec![2, 1, 0, 1, 2, 1, 0]);
/// assert_eq!(x.pad(&[1, 0], PadMode::Circular)?.to_vec::<i64>()?, vec![2, 0, 1, 2]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    /// Every new element is this value (converted to the tensor's dtype).
    Constant(Scalar),
    /// The border mirrors the inside, not repeating the edge: `[2, 1 | 0, 1, 2 | 1, 0]`.
    Reflect,
    /// The border repeats the edge element: `[0, 0 | 0, 1, 2 | 2, 2]`.
    Replicate,
    /// The border wraps around: `[1, 2 | 0, 1, 2 | 0, 1]`.
    Circular,
}

impl PadMode {
    /// Constant padding with `value`.
    ///
    /// ```
    /// use ferrograd_ops::shape::PadMode;
    /// use ferrograd_autograd::Scalar;
    /// assert_eq!(PadMode::constant(1.5), PadMode::Constant(Scalar::Float(1.5)));
    /// assert_eq!(PadMode::constant(0i64), PadMode::default());
    /// ```
    pub fn constant(value: impl Into<Scalar>) -> Self {
        PadMode::Constant(value.into())
    }
}

impl Default for PadMode {
    /// Zero padding, like `F.pad`'s default.
    fn default() -> Self {
        PadMode::Constant(Scalar::Int(0))
    }
}

/// The `(dim, before, after)` triples of a pad list (last dim first).
fn pad_pairs(x: &Tensor, pad: &[isize]) -> Result<Vec<(usize, isize, isize)>> {
    if pad.len() % 2 != 0 {
        return Err(Error::invalid(
            "pad",
            format!("Padding length must be divisible by 2 (got {pad:?}: one (before, after) pair per padded dim, last dim first)"),
        ));
    }
    if pad.len() / 2 > x.dim() {
        return Err(Error::invalid(
            "pad",
            format!(
                "Padding length should be less than or equal to two times the input dimension but got padding length {} and input of dimension {}",
                pad.len(),
                x.dim()
            ),
        ));
    }
    Ok(pad
        .chunks(2)
        .enumerate()
        .map(|(k, p)| (x.dim() - 1 - k, p[0], p[1]))
        .collect())
}

/// The part of `size` elements kept after cropping by negative pads, as
/// `(first kept, count)`, and the padded size.
fn crop(d: usize, size: usize, before: isize, after: isize) -> Result<(usize, usize, usize)> {
    let first = (-before).max(0) as usize;
    let kept = size as isize - first as isize - (-after).max(0);
    let padded = size as isize + before + after;
    if kept < 0 || padded < 0 {
        return Err(Error::invalid(
            "pad",
            format!("The input size {size}, plus negative padding {before} and {after} resulted in a negative output size, which is invalid. Check dimension {d} of your input."),
        ));
    }
    Ok((first, kept as usize, padded as usize))
}

/// Constant padding: a tensor of `value` with the (cropped) input copied in.
fn constant_pad(x: &Tensor, pairs: &[(usize, isize, isize)], value: Scalar) -> Result<Tensor> {
    let mut shape = x.shape().to_vec();
    let mut src = x.layout().clone();
    let mut regions = Vec::with_capacity(pairs.len());
    for &(d, before, after) in pairs {
        let (first, kept, padded) = crop(d, shape[d], before, after)?;
        src = src.narrow(d, first, kept)?;
        shape[d] = padded;
        regions.push((d, before.max(0) as usize, kept));
    }
    let mut region = Layout::contiguous(&shape);
    for (d, start, len) in regions {
        region = region.narrow(d, start, len)?;
    }
    let n: usize = shape.iter().product();
    let out = with_dtype!(x.dtype(), T => {
        let mut out = vec![value.to_element::<T>(); n];
        x.with_data(|data: &[T], _| copy_into_strided(&mut out, &region, data, &src))?;
        Tensor::from_vec(out, &shape)?
    });
    let back: Vec<isize> = pairs.iter().flat_map(|&(_, b, a)| [-b, -a]).collect();
    Ok(
        out.with_grad_fn("ConstantPadNdBackward0", &[x], &[], move |g| {
            Ok(vec![Some(pad(g, &back, PadMode::default())?)])
        }),
    )
}

/// Errors unless `pairs` pad a combination of dims PyTorch supports for
/// non-constant modes.
fn check_non_constant(x: &Tensor, pairs: &[(usize, isize, isize)]) -> Result<()> {
    let k = pairs.len();
    if (1..=3).contains(&k) && (k + 1..=k + 2).contains(&x.dim()) {
        return Ok(());
    }
    Err(Error::invalid(
        "pad",
        format!(
            "Padding size {} is not supported for {}D input tensor. Supported combinations for non-constant padding: 2D or 3D input: padding size = 2 (pads last dimension); 3D or 4D input: padding size = 4 (pads last 2 dimensions); 4D or 5D input: padding size = 6 (pads last 3 dimensions)",
            2 * k,
            x.dim()
        ),
    ))
}

/// The source position of every output position of one padded dim.
fn source_positions(
    x: &Tensor,
    (d, before, after): (usize, isize, isize),
    mode: PadMode,
) -> Result<Vec<i64>> {
    let n = x.shape()[d] as isize;
    crop(d, n as usize, before, after)?;
    let too_far = match mode {
        PadMode::Reflect => before >= n || after >= n,
        PadMode::Circular => before > n || after > n,
        _ => n == 0 && before + after > 0,
    };
    if too_far {
        let msg = match mode {
            PadMode::Reflect => format!("Argument #4: Padding size should be less than the corresponding input dimension, but got: padding ({before}, {after}) at dimension {d} of input {:?}", x.shape()),
            PadMode::Circular => format!("Padding value causes wrapping around more than once: padding ({before}, {after}) at dimension {d} of input {:?}", x.shape()),
            _ => format!("cannot replicate-pad the empty dimension {d} of input {:?}", x.shape()),
        };
        return Err(Error::invalid("pad", msg));
    }
    Ok((0..n + before + after)
        .map(|j| {
            let p = j - before;
            (match mode {
                PadMode::Reflect if p < 0 => -p,
                PadMode::Reflect if p >= n => 2 * (n - 1) - p,
                PadMode::Replicate => p.clamp(0, n - 1),
                PadMode::Circular => p.rem_euclid(n),
                _ => p,
            }) as i64
        })
        .collect())
}

/// `F.pad(x, pad, mode)`: `pad` holds `(before, after)` pairs, last dim first.
pub(crate) fn pad(x: &Tensor, pad: &[isize], mode: PadMode) -> Result<Tensor> {
    let pairs = pad_pairs(x, pad)?;
    if let PadMode::Constant(value) = mode {
        return constant_pad(x, &pairs, value);
    }
    check_non_constant(x, &pairs)?;
    let mut out = x.clone();
    for &pair in &pairs {
        let positions = source_positions(x, pair, mode)?;
        let n = positions.len();
        out = out.index_select(pair.0 as isize, &Tensor::from_vec(positions, &[n])?)?;
    }
    Ok(out)
}
