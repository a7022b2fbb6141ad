//! 2-D pooling over `(N, C, H, W)` or `(C, H, W)` tensors: [`PoolOps`]
//! (`max_pool2d`, `max_pool2d_with_indices`, `avg_pool2d`,
//! `adaptive_avg_pool2d`) with PyTorch's arguments and output-size rules.
//!
//! Each pooling is computed plane by plane (in parallel over planes) from
//! the windows the private `windows` module lists. Backward passes are
//! recorded as ops whose own backward is the forward map again (scatter ↔
//! gather for max pooling, spread ↔ average for average pooling), so
//! gradients can be differentiated again.

mod avg;
mod max;
mod windows;

use crate::conv::{require_float, setters, IntoPair};
use ferrograd_autograd::{SavedTensor, Tensor};
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{DType, Error, FloatElement, Result};
use rayon::prelude::*;
use std::sync::Arc;
use windows::{Sliding, Windows};

/// The arguments of `max_pool2d` with PyTorch's defaults: `stride` defaults
/// to the kernel size, `padding=0, dilation=1, ceil_mode=false`.
///
/// ```
/// use ferrograd_ops::pool::MaxPool2dOptions;
/// let o = MaxPool2dOptions::new(3).stride(2).padding(1).ceil_mode(true);
/// assert_eq!((o.kernel_size, o.stride, o.padding, o.dilation), ([3, 3], Some([2, 2]), [1, 1], [1, 1]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2dOptions {
    /// Window size `[height, width]`.
    pub kernel_size: [usize; 2],
    /// Step between windows; `None` means the kernel size.
    pub stride: Option<[usize; 2]>,
    /// Implicit `-inf` padding on both sides (at most half the effective kernel).
    pub padding: [usize; 2],
    /// Spacing between window taps.
    pub dilation: [usize; 2],
    /// Round the output size up instead of down (a last, partial window).
    pub ceil_mode: bool,
}

impl MaxPool2dOptions {
    /// A `kernel_size` window with the other arguments at their defaults.
    ///
    /// ```
    /// use ferrograd_ops::pool::MaxPool2dOptions;
    /// let o = MaxPool2dOptions::new((2, 3));
    /// assert_eq!((o.kernel_size, o.stride, o.padding), ([2, 3], None, [0, 0]));
    /// assert_eq!((o.dilation, o.ceil_mode), ([1, 1], false));
    /// ```
    pub fn new(kernel_size: impl IntoPair) -> Self {
        MaxPool2dOptions {
            kernel_size: kernel_size.into_pair(),
            stride: None,
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false,
        }
    }

    setters! {
        /// Sets the stride.
        stride(|v: impl IntoPair| v.into_pair());
        /// Sets the padding.
        padding(|v: impl IntoPair| v.into_pair());
        /// Sets the dilation.
        dilation(|v: impl IntoPair| v.into_pair());
        /// Sets `ceil_mode`.
        ceil_mode(|v: bool| v);
    }

    fn sliding(&self) -> Sliding {
        Sliding {
            op: "max_pool2d",
            kernel: self.kernel_size,
            stride: self.stride.unwrap_or(self.kernel_size),
            padding: self.padding,
            dilation: self.dilation,
            ceil_mode: self.ceil_mode,
            count_include_pad: false,
        }
    }
}

/// The arguments of `avg_pool2d` with PyTorch's defaults: `stride` defaults
/// to the kernel size, `padding=0, ceil_mode=false, count_include_pad=true`,
/// no `divisor_override`.
///
/// ```
/// use ferrograd_ops::pool::AvgPool2dOptions;
/// let o = AvgPool2dOptions::new([2, 3]).count_include_pad(false).divisor_override(4);
/// assert_eq!((o.kernel_size, o.count_include_pad, o.divisor_override), ([2, 3], false, Some(4)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2dOptions {
    /// Window size `[height, width]`.
    pub kernel_size: [usize; 2],
    /// Step between windows; `None` means the kernel size.
    pub stride: Option<[usize; 2]>,
    /// Implicit zero padding on both sides (at most half the kernel).
    pub padding: [usize; 2],
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    /// Count padded positions in the divisor.
    pub count_include_pad: bool,
    /// Divide every window's sum by this instead.
    pub divisor_override: Option<usize>,
}

impl AvgPool2dOptions {
    /// A `kernel_size` window with the other arguments at their defaults.
    ///
    /// ```
    /// use ferrograd_ops::pool::AvgPool2dOptions;
    /// let o = AvgPool2dOptions::new(3);
    /// assert_eq!((o.kernel_size, o.stride, o.padding), ([3, 3], None, [0, 0]));
    /// assert_eq!((o.ceil_mode, o.count_include_pad, o.divisor_override), (false, true, None));
    /// ```
    pub fn new(kernel_size: impl IntoPair) -> Self {
        AvgPool2dOptions {
            kernel_size: kernel_size.into_pair(),
            stride: None,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }

    setters! {
        /// Sets the stride.
        stride(|v: impl IntoPair| v.into_pair());
        /// Sets the padding.
        padding(|v: impl IntoPair| v.into_pair());
        /// Sets `ceil_mode`.
        ceil_mode(|v: bool| v);
        /// Sets `count_include_pad`.
        count_include_pad(|v: bool| v);
        /// Sets `divisor_override`.
        divisor_override(|v: usize| v);
    }

    fn windows(&self, shape: &[usize]) -> Result<Windows> {
        if self.divisor_override == Some(0) {
            return Err(Error::invalid("avg_pool2d", "divisor must be not zero"));
        }
        let sliding = Sliding {
            op: "avg_pool2d",
            kernel: self.kernel_size,
            stride: self.stride.unwrap_or(self.kernel_size),
            padding: self.padding,
            dilation: [1, 1],
            ceil_mode: self.ceil_mode,
            count_include_pad: self.count_include_pad,
        };
        let mut win = sliding.windows(shape)?;
        win.divisor_override = self.divisor_override;
        Ok(win)
    }
}

/// Pooling as methods on [`Tensor`].
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_ops::prelude::*;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 6.0], &[1, 1, 2, 2])?;
/// assert_eq!(x.max_pool2d(MaxPool2dOptions::new(2))?.to_vec::<f32>()?, vec![6.0]);
/// assert_eq!(x.avg_pool2d(AvgPool2dOptions::new(2))?.to_vec::<f32>()?, vec![3.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait PoolOps {
    /// `torch.nn.functional.max_pool2d`: the maximum of each window.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_ops::prelude::*;
    /// let x = Tensor::arange(0.0, 16.0)?.reshape(&[1, 1, 4, 4])?;
    /// let y = x.max_pool2d(MaxPool2dOptions::new(2))?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![5.0, 7.0, 13.0, 15.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn max_pool2d(&self, opts: MaxPool2dOptions) -> Result<Tensor>;

    /// [`max_pool2d`](Self::max_pool2d) and, for each output, the flat index
    /// `ih · W + iw` of its maximum in its input plane (`int64`), as
    /// `return_indices=True` gives them.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_ops::prelude::*;
    /// let x = Tensor::from_vec(vec![1.0f64, 9.0, 3.0, 4.0, 2.0, 8.0], &[1, 2, 3])?;
    /// let (y, i) = x.max_pool2d_with_indices(MaxPool2dOptions::new([2, 2]).stride(1))?;
    /// assert_eq!(y.to_vec::<f64>()?, vec![9.0, 9.0]);
    /// assert_eq!(i.to_vec::<i64>()?, vec![1, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn max_pool2d_with_indices(&self, opts: MaxPool2dOptions) -> Result<(Tensor, Tensor)>;

    /// `torch.nn.functional.avg_pool2d`: the mean of each window.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_ops::prelude::*;
    /// let x = Tensor::arange(0.0, 16.0)?.reshape(&[1, 4, 4])?;
    /// let y = x.avg_pool2d(AvgPool2dOptions::new(2))?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![2.5, 4.5, 10.5, 12.5]);
    /// let e = x.avg_pool2d(AvgPool2dOptions::new(2).padding(2)).unwrap_err().to_string();
    /// assert!(e.contains("pad should be at most half of effective kernel size, but got pad=2, kernel_size=2"), "{e}");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn avg_pool2d(&self, opts: AvgPool2dOptions) -> Result<Tensor>;

    /// `torch.nn.functional.adaptive_avg_pool2d`: averages over windows
    /// chosen so the output is `output_size` (`[oh, ow]`, or one size for both).
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// use ferrograd_ops::prelude::*;
    /// let x = Tensor::ones(&[2, 3, 7, 5], DType::F32)?;
    /// assert_eq!(x.adaptive_avg_pool2d(1)?.shape(), &[2, 3, 1, 1]);
    /// assert_eq!(x.adaptive_avg_pool2d([3, 2])?.to_vec::<f32>()?, vec![1.0; 36]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn adaptive_avg_pool2d(&self, output_size: impl IntoPair) -> Result<Tensor>;
}

impl PoolOps for Tensor {
    fn max_pool2d(&self, opts: MaxPool2dOptions) -> Result<Tensor> {
        Ok(self.max_pool2d_with_indices(opts)?.0)
    }

    fn max_pool2d_with_indices(&self, opts: MaxPool2dOptions) -> Result<(Tensor, Tensor)> {
        require_float("max_pool2d", self)?;
        let win = Arc::new(opts.sliding().windows(self.shape())?);
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() {
            return crate::cuda::conv::max_pool2d(self, &opts, (win.oh(), win.ow()));
        }
        let shape = out_shape(self.shape(), &win);
        let (out, idx) = match self.dtype() {
            DType::F32 => max_values::<f32>(&win, self, &shape)?,
            _ => max_values::<f64>(&win, self, &shape)?,
        };
        let (in_shape, saved_idx) = (self.shape().to_vec(), SavedTensor::input(&idx));
        let out = out.with_grad_fn("MaxPool2DWithIndicesBackward0", &[self], &[&saved_idx], {
            let saved_idx = saved_idx.clone();
            move |g| {
                Ok(vec![Some(max_scatter(
                    win.clone(),
                    g,
                    &saved_idx.unpack()?,
                    &in_shape,
                )?)])
            }
        });
        Ok((out, idx))
    }

    fn avg_pool2d(&self, opts: AvgPool2dOptions) -> Result<Tensor> {
        require_float("avg_pool2d", self)?;
        let win = Arc::new(opts.windows(self.shape())?);
        average(win, self, "AvgPool2DBackward0")
    }

    fn adaptive_avg_pool2d(&self, output_size: impl IntoPair) -> Result<Tensor> {
        require_float("adaptive_avg_pool2d", self)?;
        let win = Arc::new(windows::adaptive(self.shape(), output_size.into_pair())?);
        average(win, self, "AdaptiveAvgPool2DBackward0")
    }
}

/// The input's shape with its last two dims replaced by the windows' output size.
fn out_shape(input: &[usize], win: &Windows) -> Vec<usize> {
    let mut s = input[..input.len() - 2].to_vec();
    s.extend([win.oh(), win.ow()]);
    s
}

/// The row-major data of `x` (made contiguous) as `T`.
fn with_values<T: FloatElement, R>(x: &Tensor, f: impl FnOnce(&[T]) -> R) -> Result<R> {
    let x = x.detach().contiguous()?;
    let range = x.storage_offset()..x.storage_offset() + x.numel();
    x.with_data(|d: &[T], _| f(&d[range]))
}

/// Max pooling's values and indices, as tensors of `shape`.
fn max_values<T: FloatElement>(
    win: &Windows,
    x: &Tensor,
    shape: &[usize],
) -> Result<(Tensor, Tensor)> {
    let (out, idx) = with_values(x, |d: &[T]| max::forward(win, d))?;
    Ok((Tensor::from_vec(out, shape)?, Tensor::from_vec(idx, shape)?))
}

/// Runs a one-output kernel `k` on `x` (and the saved indices, for max
/// pooling) and wraps the result as a tensor of `shape`.
fn run<K: PlaneKernel>(x: &Tensor, idx: Option<&Tensor>, shape: &[usize], k: K) -> Result<Tensor> {
    fn typed<T: FloatElement, K: PlaneKernel>(
        x: &Tensor,
        idx: &[i64],
        shape: &[usize],
        k: K,
    ) -> Result<Tensor> {
        Tensor::from_vec(with_values(x, |d: &[T]| k.apply(d, idx))?, shape)
    }
    let idx = idx.map(|i| i.contiguous()).transpose()?;
    let go = |i: &[i64]| match x.dtype() {
        DType::F32 => typed::<f32, K>(x, i, shape, k),
        _ => typed::<f64, K>(x, i, shape, k),
    };
    match &idx {
        Some(t) => {
            let range = t.storage_offset()..t.storage_offset() + t.numel();
            t.with_data(|d: &[i64], _| go(&d[range]))?
        }
        None => go(&[]),
    }
}

/// A kernel mapping one float tensor (plus indices) to one.
trait PlaneKernel {
    fn apply<T: FloatElement>(&self, x: &[T], idx: &[i64]) -> Vec<T>;
}

struct Scatter<'a>(&'a Windows);
struct Gather<'a>(&'a Windows);
struct Average<'a>(&'a Windows);
struct Spread<'a>(&'a Windows);

impl PlaneKernel for Scatter<'_> {
    fn apply<T: FloatElement>(&self, g: &[T], idx: &[i64]) -> Vec<T> {
        max::scatter(self.0, g, idx)
    }
}
impl PlaneKernel for Gather<'_> {
    fn apply<T: FloatElement>(&self, x: &[T], idx: &[i64]) -> Vec<T> {
        max::gather(self.0, x, idx)
    }
}
impl PlaneKernel for Average<'_> {
    fn apply<T: FloatElement>(&self, x: &[T], _: &[i64]) -> Vec<T> {
        avg::forward(self.0, x)
    }
}
impl PlaneKernel for Spread<'_> {
    fn apply<T: FloatElement>(&self, g: &[T], _: &[i64]) -> Vec<T> {
        avg::backward(self.0, g)
    }
}

/// The gradient of max pooling's input: `g` added at the indices. Its own
/// backward gathers at the same indices.
fn max_scatter(win: Arc<Windows>, g: &Tensor, idx: &Tensor, in_shape: &[usize]) -> Result<Tensor> {
    let out = run(g, Some(idx), in_shape, Scatter(&win))?;
    let (g_shape, saved_idx) = (g.shape().to_vec(), SavedTensor::input(idx));
    Ok(out.with_grad_fn(
        "MaxPool2DWithIndicesBackwardBackward0",
        &[g],
        &[&saved_idx],
        {
            let saved_idx = saved_idx.clone();
            move |gg| {
                Ok(vec![Some(max_gather(
                    win.clone(),
                    gg,
                    &saved_idx.unpack()?,
                    &g_shape,
                )?)])
            }
        },
    ))
}

/// The values of `x` at max pooling's indices. Its backward scatters.
fn max_gather(win: Arc<Windows>, x: &Tensor, idx: &Tensor, out_shape: &[usize]) -> Result<Tensor> {
    let out = run(x, Some(idx), out_shape, Gather(&win))?;
    let (x_shape, saved_idx) = (x.shape().to_vec(), SavedTensor::input(idx));
    Ok(out.with_grad_fn("GatherBackward0", &[x], &[&saved_idx], {
        let saved_idx = saved_idx.clone();
        move |g| {
            Ok(vec![Some(max_scatter(
                win.clone(),
                g,
                &saved_idx.unpack()?,
                &x_shape,
            )?)])
        }
    }))
}

/// Window means of `x`, recorded as `name`; the backward spreads.
fn average(win: Arc<Windows>, x: &Tensor, name: &'static str) -> Result<Tensor> {
    let out = run(x, None, &out_shape(x.shape(), &win), Average(&win))?;
    let x_shape = x.shape().to_vec();
    Ok(out.with_grad_fn(name, &[x], &[], move |g| {
        Ok(vec![Some(spread(win.clone(), g, &x_shape)?)])
    }))
}

/// Each gradient spread evenly over its window; the backward averages.
fn spread(win: Arc<Windows>, g: &Tensor, in_shape: &[usize]) -> Result<Tensor> {
    let out = run(g, None, in_shape, Spread(&win))?;
    Ok(
        out.with_grad_fn("AvgPool2DBackwardBackward0", &[g], &[], move |gg| {
            Ok(vec![Some(average(win.clone(), gg, "AvgPool2DBackward0")?)])
        }),
    )
}

/// Calls `f(plane, out_chunk)` for each plane's `per` outputs, in parallel
/// when `work` (elements touched) is large.
fn each_plane<T: Send>(
    out: &mut [T],
    per: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if per == 0 {
        return;
    }
    if work < PARALLEL_THRESHOLD {
        out.chunks_mut(per).enumerate().for_each(|(p, o)| f(p, o));
    } else {
        out.par_chunks_mut(per)
            .enumerate()
            .for_each(|(p, o)| f(p, o));
    }
}
