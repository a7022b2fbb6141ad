//! Convolution and max pooling on a GPU, lowered to GPU kernels that are
//! differentiable ops of their own: `im2col` (the input's windows as
//! columns, whose backward is `col2im`, and the reverse), then one batched
//! cuBLAS product per group for `conv2d` and a max over each window's taps
//! for `max_pool2d`. Every backward is made of these ops, so gradients can
//! be differentiated again.

use super::wrap;
use crate::conv::Conv2dOptions;
use crate::matmul::MatmulOps;
use crate::pool::MaxPool2dOptions;
use crate::reduce::extreme::one_hot_along;
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
    let cols = im2col(input, g, 0.0)?;
    conv_from_columns(&cols, weight, bias, opts.groups, (oh, ow))
}

/// The convolution from the input's columns `[n, c·kh·kw, oh·ow]`: per
/// group, the weight `[o/groups, c/groups·kh·kw]` times that group's rows.
fn conv_from_columns(
    cols: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    groups: usize,
    (oh, ow): (usize, usize),
) -> Result<Tensor> {
    let w = weight.shape();
    let (n, o, groups) = (cols.shape()[0] as isize, w[0] as isize, groups as isize);
    let per_group = (w[1] * w[2] * w[3]) as isize;
    let cols = cols.reshape(&[n, groups, per_group, (oh * ow) as isize])?;
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
    let cols = im2col(x, g, f64::NEG_INFINITY)?;
    // Each tap's flat input position, as columns of a plane of positions.
    let plane: Vec<f64> = (0..s[2] * s[3]).map(|v| v as f64).collect();
    let positions = Tensor::from_vec(plane, &[1, 1, s[2], s[3]])?.to_device(x.device())?;
    let pg = windows(&[1, 1, s[2], s[3]], k, geo, (oh, ow));
    let pos = im2col(&positions, pg, -1.0)?;
    pool_from_columns(&cols, &pos, [s[0], s[1], k[0] * k[1]], (oh, ow))
}

/// Max pooling from the input's columns `[n, c·taps, oh·ow]` and the
/// columns of the plane's flat positions `[1, taps, oh·ow]`: the max over
/// each window's taps, and the position of the first maximum.
fn pool_from_columns(
    cols: &Tensor,
    positions: &Tensor,
    [n, c, taps]: [usize; 3],
    (oh, ow): (usize, usize),
) -> Result<(Tensor, Tensor)> {
    let l = oh * ow;
    let cols_shape = [n, c, taps, l];
    let cols = cols.reshape(&cols_shape.map(|v| v as isize))?;
    let pos = positions.reshape(&[1, 1, taps as isize, l as isize])?;
    let (values, tap) = cols.max_dim(2, true)?;
    let hot = one_hot_along(&tap, &cols_shape, 2, DType::F64)?;
    let index = hot
        .try_mul(&pos)?
        .sum_dims(&[2], false)?
        .to_dtype(DType::I64)?;
    let out_shape = [n, c, oh, ow].map(|v| v as isize);
    Ok((values.reshape(&out_shape)?, index.reshape(&out_shape)?))
}

#[cfg(test)]
mod tests {
    //! The GPU compositions run on CPU tensors, with the columns built by
    //! naive loops, against the CPU ops.
    use super::*;
    use crate::conv::conv2d as cpu_conv2d;
    use crate::pool::PoolOps;
    use ferrograd_autograd::manual_seed;

    /// Naive `im2col` of a CPU tensor, as the kernel defines it.
    fn naive_columns(x: &Tensor, g: &Windows2d, pad: f64) -> Result<Tensor> {
        let v = x.to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?;
        let [n, c, h, w, kh, kw, oh, ow] = [g.n, g.c, g.h, g.w, g.kh, g.kw, g.oh, g.ow];
        let mut out = Vec::new();
        for b in 0..n {
            for ch in 0..c {
                for i in 0..kh {
                    for j in 0..kw {
                        for y in 0..oh {
                            for xx in 0..ow {
                                let iy = y * g.stride[0] - g.padding[0] + i * g.dilation[0];
                                let ix = xx * g.stride[1] - g.padding[1] + j * g.dilation[1];
                                let inside = (0..h).contains(&iy) && (0..w).contains(&ix);
                                let at = ((b * c + ch) * h + iy) * w + ix;
                                out.push(if inside { v[at as usize] } else { pad });
                            }
                        }
                    }
                }
            }
        }
        let shape = [n, c * kh * kw, oh * ow].map(|v| v as usize);
        Tensor::from_vec(out, &shape)?.to_dtype(x.dtype())
    }

    fn close(a: &Tensor, b: &Tensor) -> Result<()> {
        assert_eq!(a.shape(), b.shape());
        let a = a.to_dtype(DType::F64)?.to_vec::<f64>()?;
        let b = b.to_dtype(DType::F64)?.to_vec::<f64>()?;
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-9 * (1.0 + x.abs()), "{x} vs {y}");
        }
        Ok(())
    }

    #[test]
    fn conv_from_columns_matches_the_cpu_convolution_and_its_gradients() -> Result<()> {
        manual_seed(0);
        let x = Tensor::randn(&[2, 4, 7, 6], DType::F64)?;
        let w = Tensor::randn(&[6, 2, 3, 2], DType::F64)?.requires_grad_(true)?;
        let b = Tensor::randn(&[6], DType::F64)?.requires_grad_(true)?;
        let opts = Conv2dOptions::new()
            .groups(2)
            .stride([2, 1])
            .padding([1, 2])
            .dilation([1, 2]);
        let want = cpu_conv2d(&x, &w, Some(&b), opts)?;
        let (oh, ow) = (want.shape()[2], want.shape()[3]);
        assert_eq!((out_size(7, 3, 2, 1, 1), out_size(6, 2, 1, 2, 2)), (oh, ow));
        let geo = (opts.stride, opts.padding, opts.dilation);
        let g = windows(x.shape(), [3, 2], geo, (oh, ow));
        let cols = naive_columns(&x, &g, 0.0)?;
        let got = conv_from_columns(&cols, &w, Some(&b), 2, (oh, ow))?;
        close(&got, &want)?;
        want.sum()?.backward()?;
        let (gw, gb) = (w.grad().unwrap(), b.grad().unwrap());
        w.zero_grad();
        b.zero_grad();
        got.sum()?.backward()?;
        close(&w.grad().unwrap(), &gw)?;
        close(&b.grad().unwrap(), &gb)
    }

    #[test]
    fn pool_from_columns_matches_the_cpu_max_pool_with_indices() -> Result<()> {
        manual_seed(1);
        let x = Tensor::randn(&[2, 3, 7, 6], DType::F64)?;
        let opts = MaxPool2dOptions::new([3, 2])
            .stride(2)
            .padding(1)
            .ceil_mode(true);
        let (want, want_idx) = x.max_pool2d_with_indices(opts)?;
        let (oh, ow) = (want.shape()[2], want.shape()[3]);
        let geo = ([2, 2], opts.padding, opts.dilation);
        let g = windows(x.shape(), [3, 2], geo, (oh, ow));
        let plane: Vec<f64> = (0..42).map(f64::from).collect();
        let positions = Tensor::from_vec(plane, &[1, 1, 7, 6])?;
        let pg = windows(&[1, 1, 7, 6], [3, 2], geo, (oh, ow));
        let cols = naive_columns(&x, &g, f64::NEG_INFINITY)?;
        let pos = naive_columns(&positions, &pg, -1.0)?;
        let (got, idx) = pool_from_columns(&cols, &pos, [2, 3, 6], (oh, ow))?;
        close(&got, &want)?;
        assert_eq!(idx.to_vec::<i64>()?, want_idx.to_vec::<i64>()?);
        Ok(())
    }
}
