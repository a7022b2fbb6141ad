//! 2-D convolution over NCHW tensors: [`conv2d`] (also the method
//! [`ConvOps::conv2d`]) with stride, padding, dilation, groups and bias, and
//! its gradients for the input, the weight and the bias.
//!
//! The kernels lower the convolution to matrix products (im2col, one product
//! per group, col2im for the input's gradient). The three maps — the forward
//! convolution, the input gradient and the weight gradient — are each
//! recorded with a backward made of the other two, so the gradients can be
//! differentiated again (`create_graph`).

mod backward;
mod forward;
mod geometry;
mod im2col;
mod kernels;
mod scratch;

pub(crate) use self::geometry::valid_range;

use self::geometry::Geometry;
use self::kernels::ConvElement;
use ferrograd_autograd::{check_same_device, reduce_grad, InputMeta, SavedTensor, Tensor};
use ferrograd_storage::{DType, Element, Error, Result};

/// A size given once for both spatial dims (`3`) or per dim (`[3, 5]`, `(3, 5)`).
///
/// ```
/// use ferrograd_ops::conv::IntoPair;
/// assert_eq!(3usize.into_pair(), [3, 3]);
/// assert_eq!([3usize, 5].into_pair(), [3, 5]);
/// assert_eq!((3usize, 5usize).into_pair(), [3, 5]);
/// ```
pub trait IntoPair {
    /// The `[height, width]` pair.
    fn into_pair(self) -> [usize; 2];
}

impl IntoPair for usize {
    fn into_pair(self) -> [usize; 2] {
        [self, self]
    }
}

impl IntoPair for [usize; 2] {
    fn into_pair(self) -> [usize; 2] {
        self
    }
}

impl IntoPair for (usize, usize) {
    fn into_pair(self) -> [usize; 2] {
        [self.0, self.1]
    }
}

/// Builder setters: `name(|arg: Type| value);` makes
/// `pub fn name(mut self, arg: Type) -> Self` storing `value.into()`.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident(|$v:ident: $arg:ty| $value:expr);)*) => {$(
        $(#[$doc])*
        pub fn $field(mut self, $v: $arg) -> Self {
            self.$field = ($value).into();
            self
        }
    )*};
}
pub(crate) use setters;

/// The arguments of `conv2d` after the tensors, with PyTorch's defaults
/// (`stride=1, padding=0, dilation=1, groups=1`).
///
/// ```
/// use ferrograd_ops::conv::Conv2dOptions;
/// let o = Conv2dOptions::new().stride(2).padding([1, 0]).groups(4);
/// assert_eq!((o.stride, o.padding, o.dilation, o.groups), ([2, 2], [1, 0], [1, 1], 4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Step between output positions, `[height, width]`.
    pub stride: [usize; 2],
    /// Zeros added on both sides of each spatial dim.
    pub padding: [usize; 2],
    /// Spacing between kernel taps.
    pub dilation: [usize; 2],
    /// Number of channel groups; input and output channels must divide by it.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2dOptions {
    /// PyTorch's defaults.
    ///
    /// ```
    /// use ferrograd_ops::conv::Conv2dOptions;
    /// let o = Conv2dOptions::new();
    /// assert_eq!((o.stride, o.padding, o.dilation, o.groups), ([1, 1], [0, 0], [1, 1], 1));
    /// assert_eq!(o, Conv2dOptions::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Sets the stride.
        stride(|v: impl IntoPair| v.into_pair());
        /// Sets the padding.
        padding(|v: impl IntoPair| v.into_pair());
        /// Sets the dilation.
        dilation(|v: impl IntoPair| v.into_pair());
        /// Sets the number of groups.
        groups(|v: usize| v);
    }
}

/// Convolution as a method on [`Tensor`].
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_ops::prelude::*;
/// let x = Tensor::arange(0.0, 9.0)?.reshape(&[1, 1, 3, 3])?;
/// let w = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, -1.0], &[1, 1, 2, 2])?;
/// let y = x.conv2d(&w, None, Conv2dOptions::new())?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-4.0; 4]); // x[i][j] - x[i+1][j+1]
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait ConvOps {
    /// [`conv2d`] with this tensor as the input.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// use ferrograd_ops::prelude::*;
    /// let x = Tensor::ones(&[1, 3, 28, 28], DType::F32)?;
    /// let w = Tensor::ones(&[64, 3, 3, 3], DType::F32)?;
    /// let y = x.conv2d(&w, None, Conv2dOptions::new().padding(1))?;
    /// assert_eq!(y.shape(), &[1, 64, 28, 28]);
    /// assert_eq!(y.to_vec::<f32>()?[0], 12.0); // a corner sees 2×2 of the 3×3 taps in 3 channels
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn conv2d(&self, weight: &Tensor, bias: Option<&Tensor>, opts: Conv2dOptions)
        -> Result<Tensor>;
}

impl ConvOps for Tensor {
    fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        opts: Conv2dOptions,
    ) -> Result<Tensor> {
        conv2d(self, weight, bias, opts)
    }
}

/// `torch.nn.functional.conv2d`: the cross-correlation of `input`
/// (`(N, C_in, H, W)`, or `(C_in, H, W)` unbatched) with `weight`
/// (`(C_out, C_in / groups, kH, kW)`), plus `bias` (`(C_out,)`) if given.
/// Floating dtypes only; all tensors must share one dtype.
///
/// ```
/// use ferrograd_autograd::{DType, Tensor};
/// use ferrograd_ops::conv::{conv2d, Conv2dOptions};
/// let x = Tensor::ones(&[1, 1, 28, 28], DType::F32)?;
/// let w = Tensor::ones(&[64, 3, 3, 3], DType::F32)?;
/// let e = conv2d(&x, &w, None, Conv2dOptions::new()).unwrap_err().to_string();
/// assert!(e.contains("Given groups=1, weight of size [64, 3, 3, 3], expected input[1, 1, 28, 28] to have 3 channels, but got 1 channels instead"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
) -> Result<Tensor> {
    check_dtypes(input, weight, bias)?;
    if input.dim() == 3 {
        return conv2d(&input.unsqueeze(0)?, weight, bias, opts)?.squeeze_dim(0);
    }
    let geo = Geometry::new(input.shape(), weight.shape(), &opts)?;
    if let Some(b) = bias {
        if b.shape() != [geo.c_out] {
            return Err(Error::ShapeMismatch {
                op: "conv2d",
                lhs: weight.shape().to_vec(),
                rhs: b.shape().to_vec(),
                msg: format!(
                    "Given weight of size {:?}, expected bias to be 1-dimensional with {} elements, but got bias of size {:?} instead",
                    weight.shape(),
                    geo.c_out,
                    b.shape()
                ),
            });
        }
    }
    #[cfg(feature = "cuda")]
    if input.device().is_cuda() {
        return crate::cuda::conv::conv2d(input, weight, bias, opts);
    }
    convolution(geo, input, weight, bias)
}

/// Same device, floating, one dtype.
fn check_dtypes(input: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<()> {
    for t in [Some(weight), bias].into_iter().flatten() {
        check_same_device(input, t)?;
        if t.dtype() != input.dtype() {
            return Err(Error::DTypeMismatch {
                op: "conv2d",
                expected: input.dtype(),
                got: t.dtype(),
                hint: format!(
                    "Input type ({}) and weight/bias type ({}) should be the same; convert them with .to_dtype(DType::{:?})",
                    input.dtype(),
                    t.dtype(),
                    input.dtype()
                ),
            });
        }
    }
    require_float("conv2d", input)
}

/// Errors unless `x` is `f32` or `f64`, the dtypes convolution and pooling compute in.
pub(crate) fn require_float(op: &'static str, x: &Tensor) -> Result<()> {
    if x.dtype().is_floating_point() {
        return Ok(());
    }
    Err(Error::UnsupportedDType {
        op,
        dtype: x.dtype(),
        hint: format!(
            "{op} computes in float32 or float64: convert its tensors with .float() first."
        ),
    })
}

/// Runs `f` with the row-major data of each (detached, made contiguous) tensor.
fn with_slices<T: Element, R>(ts: &[&Tensor], f: impl FnOnce(&[&[T]]) -> R) -> Result<R> {
    let owned: Vec<Tensor> = ts
        .iter()
        .map(|t| t.detach().contiguous())
        .collect::<Result<_>>()?;
    let guards = owned
        .iter()
        .map(|t| t.storage().read())
        .collect::<Result<Vec<_>>>()?;
    let mut slices = Vec::with_capacity(owned.len());
    for (t, g) in owned.iter().zip(&guards) {
        let data = g
            .as_slice::<T>()
            .ok_or_else(|| t.dtype_error::<T>("conv2d"))?;
        slices.push(&data[t.storage_offset()..t.storage_offset() + t.numel()]);
    }
    Ok(f(&slices))
}

/// Calls the kernel for the dtype of `like` on the data of `ts`; the result has `shape`.
fn run_kernel(
    like: &Tensor,
    ts: &[&Tensor],
    shape: &[usize],
    f32_kernel: impl FnOnce(&[&[f32]]) -> Vec<f32>,
    f64_kernel: impl FnOnce(&[&[f64]]) -> Vec<f64>,
) -> Result<Tensor> {
    match like.dtype() {
        DType::F32 => Tensor::from_vec(with_slices(ts, f32_kernel)?, shape),
        DType::F64 => Tensor::from_vec(with_slices(ts, f64_kernel)?, shape),
        other => Err(Error::UnsupportedDType {
            op: "conv2d",
            dtype: other,
            hint: "Convert to float32 with .float() first.".into(),
        }),
    }
}

fn forward_values(geo: &Geometry, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    fn run<T: ConvElement>(geo: &Geometry, s: &[&[T]]) -> Vec<T> {
        forward::forward(geo, s[0], s[1], s.get(2).copied())
    }
    let ts: Vec<&Tensor> = [Some(x), Some(w), bias].into_iter().flatten().collect();
    run_kernel(
        x,
        &ts,
        &geo.output_shape(),
        |s| run(geo, s),
        |s| run(geo, s),
    )
}

fn input_grad_values(geo: &Geometry, g: &Tensor, w: &Tensor) -> Result<Tensor> {
    fn run<T: ConvElement>(geo: &Geometry, s: &[&[T]]) -> Vec<T> {
        backward::backward_input(geo, s[0], s[1])
    }
    run_kernel(
        g,
        &[g, w],
        &geo.input_shape(),
        |s| run(geo, s),
        |s| run(geo, s),
    )
}

fn weight_grad_values(geo: &Geometry, x: &Tensor, g: &Tensor) -> Result<Tensor> {
    fn run<T: ConvElement>(geo: &Geometry, s: &[&[T]]) -> Vec<T> {
        backward::backward_weight(geo, s[0], s[1])
    }
    run_kernel(
        x,
        &[x, g],
        &geo.weight_shape(),
        |s| run(geo, s),
        |s| run(geo, s),
    )
}

fn bias_grad_values(geo: &Geometry, g: &Tensor) -> Result<Tensor> {
    fn run<T: ConvElement>(geo: &Geometry, s: &[&[T]]) -> Vec<T> {
        backward::backward_bias(geo, s[0])
    }
    run_kernel(g, &[g], &[geo.c_out], |s| run(geo, s), |s| run(geo, s))
}

/// The recorded forward convolution (`ConvolutionBackward0`).
fn convolution(geo: Geometry, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let out = forward_values(&geo, x, w, bias)?;
    let inputs: Vec<&Tensor> = [Some(x), Some(w), bias].into_iter().flatten().collect();
    if !Tensor::needs_grad(&inputs) {
        return Ok(out);
    }
    let (mx, mw) = (InputMeta::of(x), InputMeta::of(w));
    let mb = bias.map(InputMeta::of);
    let sx = mw.wanted.then(|| SavedTensor::input(x));
    let sw = mx.wanted.then(|| SavedTensor::input(w));
    let saved: Vec<&SavedTensor> = sx.iter().chain(sw.iter()).collect();
    let (sx2, sw2) = (sx.clone(), sw.clone());
    Ok(
        out.with_grad_fn("ConvolutionBackward0", &inputs, &saved, move |g| {
            let unpack = |s: &Option<SavedTensor>| s.as_ref().expect("saved when needed").unpack();
            let mut grads = vec![
                mx.grad(|| input_grad(geo, g, &unpack(&sw2)?))?,
                mw.grad(|| weight_grad(geo, &unpack(&sx2)?, g))?,
            ];
            if let Some(mb) = &mb {
                grads.push(mb.grad(|| reduce_grad(&bias_grad(geo, g)?, mb))?);
            }
            Ok(grads)
        }),
    )
}

/// The recorded gradient of the input: its backward is a convolution (for
/// `g`) and a weight gradient (for `w`).
fn input_grad(geo: Geometry, g: &Tensor, w: &Tensor) -> Result<Tensor> {
    let out = input_grad_values(&geo, g, w)?;
    Ok(record_bilinear(
        out,
        g,
        w,
        move |gg, _, w| convolution(geo, gg, w, None),
        move |gg, g, _| weight_grad(geo, gg, g),
    ))
}

/// The recorded gradient of the weight: its backward is an input gradient
/// (for `x`) and a convolution (for `g`).
fn weight_grad(geo: Geometry, x: &Tensor, g: &Tensor) -> Result<Tensor> {
    let out = weight_grad_values(&geo, x, g)?;
    Ok(record_bilinear(
        out,
        x,
        g,
        move |ggw, _, g| input_grad(geo, g, ggw),
        move |ggw, x, _| convolution(geo, x, ggw, None),
    ))
}

/// The backward of one input: `(grad of out, a, b) ↦ grad of that input`.
type Adjoint = dyn Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor> + Send + Sync;

/// Records `out`, a gradient map linear in each of `a` and `b`, as
/// `ConvolutionBackwardBackward0` with backwards `da` and `db`.
fn record_bilinear(
    out: Tensor,
    a: &Tensor,
    b: &Tensor,
    da: impl Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
    db: impl Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Tensor {
    if !Tensor::needs_grad(&[a, b]) {
        return out;
    }
    let (ma, mb) = (InputMeta::of(a), InputMeta::of(b));
    let (sa, sb) = (SavedTensor::input(a), SavedTensor::input(b));
    let saved = [&sa, &sb];
    let (da, db): (Box<Adjoint>, Box<Adjoint>) = (Box::new(da), Box::new(db));
    out.with_grad_fn("ConvolutionBackwardBackward0", &[a, b], &saved, {
        let (sa, sb) = (sa.clone(), sb.clone());
        move |gg| {
            let (a, b) = (sa.unpack()?, sb.unpack()?);
            Ok(vec![
                ma.grad(|| da(gg, &a, &b))?,
                mb.grad(|| db(gg, &a, &b))?,
            ])
        }
    })
}

/// The recorded gradient of the bias: the output gradient summed per channel.
fn bias_grad(geo: Geometry, g: &Tensor) -> Result<Tensor> {
    let out = bias_grad_values(&geo, g)?;
    let shape: Vec<isize> = g.shape().iter().map(|&s| s as isize).collect();
    Ok(out.with_grad_fn("SumBackward1", &[g], &[], move |ggb| {
        Ok(vec![Some(ggb.reshape(&[1, -1, 1, 1])?.expand(&shape)?)])
    }))
}
