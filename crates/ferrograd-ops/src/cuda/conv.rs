//! Convolution and max pooling on a GPU, lowered to GPU kernels that are
//! differentiable ops of their own: `im2col` (the input's windows as
//! columns, whose backward is `col2im`, and the reverse), then one batched
//! cuBLAS product per group for `conv2d` and a max over each window's taps
//! for `max_pool2d`. Every backward is made of these ops, so gradients can
//! be differentiated again.

use super::reduce::one_hot_along;
use super::wrap;
use crate::conv::Conv2dOptions;
use crate::matmul::MatmulOps;
use crate::pool::MaxPool2dOptions;
use crate::reduce::ReduceOps;
use ferrograd_autograd::Tensor;
use ferrograd_cuda::Windows2d;
use ferrograd_storage::{DType, Result};

/// The windows of a 4-D `[n, c, h, w]` input for `k`-sized windows.
pub(crate) fn windows(
    input: &[usize],
    k: [usize; 2],
    (stride, padding, dilation): ([usize; 2], [usize; 2], [usize; 2]),
    (oh, ow): (usize, usize),
) -> Windows2d {
    let i = |v: usize| v as i64;
    Windows2d {
        n: i(input[0]),
        c: i(input[1]),
        h: i(input[2]),
        w: i(input[3]),
        kh: i(k[0]),
        kw: i(k[1]),
        oh: i(oh),
        ow: i(ow),
        stride: stride.map(i),
        padding: padding.map(i),
        dilation: dilation.map(i),
    }
}

/// The output size of one spatial dim (floor mode).
pub(crate) fn out_size(size: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
    (size + 2 * p - d * (k - 1) - 1) / s + 1
}

/// `[n, c·kh·kw, oh·ow]` columns of the contiguous-made `x`, taps outside
/// the input reading `pad`; recorded with `col2im` as its backward.
pub(crate) fn im2col(x: &Tensor, g: Windows2d, pad: f64) -> Result<Tensor> {
    let xc = x.detach().contiguous()?;
    let cols = ferrograd_cuda::im2col((xc.storage(), xc.layout()), &g, pad)?;
    let shape = [g.n, g.c * g.kh * g.kw, g.oh * g.ow].map(|v| v as usize);
    let out = wrap(cols, &shape)?;
    if !Tensor::needs_grad(&[x]) {
        return Ok(out);
    }
    Ok(out.with_grad_fn("Im2ColBackward0", &[x], &[], move |grad| {
        Ok(vec![Some(col2im(grad, g)?)])
    }))
}

/// The columns `cols` summed back onto `[n, c, h, w]`; recorded with
/// `im2col` (zero padding) as its backward.
pub(crate) fn col2im(cols: &Tensor, g: Windows2d) -> Result<Tensor> {
    let cc = cols.detach().contiguous()?;
    let x = ferrograd_cuda::col2im((cc.storage(), cc.layout()), &g)?;
    let out = wrap(x, &[g.n, g.c, g.h, g.w].map(|v| v as usize))?;
    if !Tensor::needs_grad(&[cols]) {
        return Ok(out);
    }
    Ok(
        out.with_grad_fn("Col2ImBackward0", &[cols], &[], move |grad| {
            Ok(vec![Some(im2col(grad, g, 0.0)?)])
        }),
    )
}

/// `conv2d` of a 4-D GPU input whose arguments `conv::conv2d` has checked:
/// the weight `[o, c/groups, kh, kw]` times the columns, per group.
pub(crate) fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
) -> Result<Tensor> {
    let (s, w) = (input.shape(), weight.shape());
    let k = [w[2], w[3]];
    let (st, p, d) = (opts.stride, opts.padding, opts.dilation);
    let oh = out_size(s[2], k[0], st[0], p[0], d[0]);
    let ow = out_size(s[3], k[1], st[1], p[1], d[1]);
    let g = windows(s, k, (st, p, d), (oh, ow));
    let groups = opts.groups as isize;
    let (n, o) = (s[0] as isize, w[0] as isize);
    let per_group = (w[1] * k[0] * k[1]) as isize;
    let cols = im2col(input, g, 0.0)?.reshape(&[n, groups, per_group, (oh * ow) as isize])?;
    let w = weight.reshape(&[groups, o / groups, per_group])?;
    let out = w
        .matmul(&cols)?
        .reshape(&[n, o, oh as isize, ow as isize])?;
    match bias {
        Some(b) => out.try_add(&b.reshape(&[1, o, 1, 1])?),
        None => Ok(out),
    }
}

/// `max_pool2d_with_indices` of a GPU input (3-D or 4-D) whose windows
/// give `oh × ow` outputs: the max over each window's taps (padding reads
/// `-inf`); the indices are flat over the input plane, as PyTorch's.
pub(crate) fn max_pool2d(
    x: &Tensor,
    opts: &MaxPool2dOptions,
    (oh, ow): (usize, usize),
) -> Result<(Tensor, Tensor)> {
    if x.dim() == 3 {
        let (v, i) = max_pool2d(&x.unsqueeze(0)?, opts, (oh, ow))?;
        return Ok((v.squeeze_dim(0)?, i.squeeze_dim(0)?));
    }
    let s = x.shape().to_vec();
    let k = opts.kernel_size;
    let stride = opts.stride.unwrap_or(k);
    let geo = (stride, opts.padding, opts.dilation);
    let g = windows(&s, k, geo, (oh, ow));
    let taps = (k[0] * k[1]) as isize;
    let (n, c, l) = (s[0] as isize, s[1] as isize, (oh * ow) as isize);
    let cols = im2col(x, g, f64::NEG_INFINITY)?.reshape(&[n, c, taps, l])?;
    let (values, tap) = cols.max_dim(2, true)?;
    let out_shape = [n, c, oh as isize, ow as isize];
    // Each tap's flat input position, as columns of a plane of positions.
    let plane: Vec<f64> = (0..s[2] * s[3]).map(|v| v as f64).collect();
    let positions = Tensor::from_vec(plane, &[1, 1, s[2], s[3]])?.to_device(x.device())?;
    let pg = windows(&[1, 1, s[2], s[3]], k, geo, (oh, ow));
    let pos = im2col(&positions, pg, -1.0)?.reshape(&[1, 1, taps, l])?;
    let cols_shape = [s[0], s[1], k[0] * k[1], oh * ow];
    let hot = one_hot_along(&tap, &cols_shape, 2, DType::F64)?;
    let index = hot
        .try_mul(&pos)?
        .sum_dims(&[2], false)?
        .to_dtype(DType::I64)?;
    Ok((values.reshape(&out_shape)?, index.reshape(&out_shape)?))
}
