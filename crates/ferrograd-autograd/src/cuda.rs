//! The bridge from [`Tensor`] ops to the CUDA kernels of `ferrograd-cuda`
//! (only with the `cuda` feature). Each op of this crate that has a GPU
//! kernel calls one function here when its input is on a GPU, before it
//! would borrow host memory; everything else about the op (dtype
//! promotion, broadcasting, the autograd node) stays in the op itself.
//!
//! The in-place functions ([`inplace_binary`], [`fill_inplace`],
//! [`copy_inplace`]) write device memory only: the in-place op that calls
//! them has checked the in-place rules and records the node, which bumps
//! the version counter.

use crate::{Scalar, Tensor};
use ferrograd_cuda::{self as gpu, BinaryOp, UnaryOp, Update};
use ferrograd_storage::{broadcast_shapes, DType, Device, Error, Layout, Result, Storage};

/// A tensor over a fresh contiguous device storage of `shape`.
pub(crate) fn wrap(storage: Storage, shape: &[usize]) -> Tensor {
    Tensor::from_parts_unchecked(storage, Layout::contiguous(shape))
}

/// The kernel op of a binary op's name.
///
/// ```
/// use ferrograd_autograd::cuda;
/// assert!(cuda::binary_op("mul").is_ok());
/// let e = cuda::binary_op("pow").unwrap_err();
/// assert_eq!(e.to_string(), "cuda: no CUDA kernel for pow");
/// ```
pub fn binary_op(name: &str) -> Result<BinaryOp> {
    Ok(match name {
        "add" => BinaryOp::Add,
        "sub" => BinaryOp::Sub,
        "mul" => BinaryOp::Mul,
        "div" => BinaryOp::Div,
        _ => return Err(Error::invalid("cuda", format!("no CUDA kernel for {name}"))),
    })
}

/// True when `s` is a 0-d CPU tensor (a wrapped scalar) that PyTorch moves
/// to `other`'s GPU for an op they share.
fn follows(s: &Tensor, other: &Tensor) -> bool {
    s.dim() == 0 && s.device() == Device::Cpu && other.device().is_cuda() && !s.requires_grad()
}

/// PyTorch lets a 0-d CPU tensor (a wrapped scalar) join a GPU op: it is
/// moved to the other operand's device. Anything else must already match.
fn same_device(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let (a, b) = if follows(b, a) {
        (a.clone(), b.to_device(a.device())?)
    } else if follows(a, b) {
        (a.to_device(b.device())?, b.clone())
    } else {
        (a.clone(), b.clone())
    };
    crate::check_same_device(&a, &b)?;
    Ok((a, b))
}

/// The operand of an in-place op on `dst`: a wrapped scalar on the CPU is
/// moved to `dst`'s GPU (`gpu_tensor.add_(1.0)`); anything else is returned
/// as it is, for the op's own device check.
///
/// ```
/// # use ferrograd_autograd::{cuda, Tensor};
/// let (a, s) = (Tensor::from_vec(vec![1.0f32], &[1])?, Tensor::scalar(2.0f32));
/// assert!(cuda::follow_device(&a, &s)?.same_tensor(&s)); // both on the CPU
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn follow_device(dst: &Tensor, other: &Tensor) -> Result<Tensor> {
    if follows(other, dst) {
        other.to_device(dst.device())
    } else {
        Ok(other.clone())
    }
}

/// The source of `dst.copy_(src)` on `dst`'s device: PyTorch's `copy_`
/// crosses devices (`gpu_param.copy_(cpu_values)`). The move is recorded
/// (`ToCopyBackward0`), so `src`'s gradient comes back to its own device.
///
/// ```
/// # use ferrograd_autograd::{cuda, Tensor};
/// let (dst, src) = (Tensor::from_vec(vec![0.0f32], &[1])?, Tensor::from_vec(vec![1.0f32], &[1])?);
/// assert!(cuda::copy_source(&dst, &src)?.same_tensor(&src)); // same device: itself
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn copy_source(dst: &Tensor, src: &Tensor) -> Result<Tensor> {
    if src.device() == dst.device() {
        Ok(src.clone())
    } else {
        src.to_device(dst.device())
    }
}

/// Writes `dst op src` (op named `add`, `sub`, `mul` or `div`) into `dst`'s
/// GPU memory; `src` has `dst`'s dtype and is read through `ls`, its layout
/// broadcast to `dst`'s shape.
///
/// It needs a CUDA device, so it has no runnable example: [`Tensor::add_`],
/// [`Tensor::sub_`], [`Tensor::mul_`] and [`Tensor::div_`] call it for GPU
/// tensors, and the GPU test suite exercises it there.
pub fn inplace_binary(name: &str, dst: &Tensor, src: &Tensor, ls: &Layout) -> Result<()> {
    let op = binary_op(name)?;
    gpu::inplace(
        (dst.storage(), dst.layout()),
        (src.storage(), ls),
        Update::Apply(op),
    )
}

/// Sets every element of the GPU tensor `dst` to `value` (converted to its dtype).
///
/// It needs a CUDA device, so it has no runnable example: [`Tensor::fill_`]
/// and [`Tensor::zero_`] call it for GPU tensors.
pub fn fill_inplace(dst: &Tensor, value: Scalar) -> Result<()> {
    let (sf, si) = (value.to_element::<f64>(), value.to_element::<i64>());
    gpu::inplace_scalar((dst.storage(), dst.layout()), sf, si, Update::Assign)
}

/// Copies `src` (any dtype, already on `dst`'s GPU, read through `ls`: its
/// layout broadcast to `dst`'s shape) into `dst`'s memory, converting.
///
/// It needs a CUDA device, so it has no runnable example: [`Tensor::copy_`]
/// calls it for GPU destinations.
pub fn copy_inplace(dst: &Tensor, src: &Tensor, ls: &Layout) -> Result<()> {
    gpu::inplace(
        (dst.storage(), dst.layout()),
        (src.storage(), ls),
        Update::Assign,
    )
}

/// The forward of `a op b` (op named `add`, `sub`, `mul` or `div`) on a GPU,
/// broadcast and computed in `dtype`.
pub(crate) fn binary_forward(
    name: &'static str,
    a: &Tensor,
    b: &Tensor,
    dtype: DType,
) -> Result<Tensor> {
    let (a, b) = same_device(a, b)?;
    let shape = broadcast_shapes(name, a.shape(), b.shape())?;
    let (a, b) = (a.cast_forward(dtype)?, b.cast_forward(dtype)?);
    let la = a.layout().broadcast_to(&shape)?;
    let lb = b.layout().broadcast_to(&shape)?;
    let out = gpu::binary(binary_op(name)?, (a.storage(), &la), (b.storage(), &lb))?;
    Ok(wrap(out, &shape))
}

/// The forward of `a op s` in `a`'s dtype.
pub(crate) fn scalar_forward(name: &'static str, a: &Tensor, s: Scalar) -> Result<Tensor> {
    let (sf, si) = (s.to_element::<f64>(), s.to_element::<i64>());
    let out = gpu::scalar(binary_op(name)?, (a.storage(), a.layout()), sf, si)?;
    Ok(wrap(out, a.shape()))
}

/// A unary kernel over `a`, in `a`'s dtype.
///
/// It needs a CUDA device, so it has no runnable example: [`Tensor::try_neg`]
/// and the elementwise ops of `ferrograd-ops` call it for GPU tensors.
pub fn unary_forward(op: UnaryOp, a: &Tensor) -> Result<Tensor> {
    unary_forward_with(op, a, 0.0)
}

/// A unary kernel with its parameter (a slope, an exponent) over `a`, in
/// `a`'s dtype.
///
/// It needs a CUDA device, so it has no runnable example: parameterised
/// elementwise ops (a leaky slope, a power) call it for GPU tensors.
pub fn unary_forward_with(op: UnaryOp, a: &Tensor, p: f64) -> Result<Tensor> {
    Ok(wrap(
        gpu::unary_with(op, (a.storage(), a.layout()), p)?,
        a.shape(),
    ))
}

/// A contiguous copy of `a` converted to `dtype`, on `a`'s GPU.
pub(crate) fn cast(a: &Tensor, dtype: DType) -> Result<Tensor> {
    Ok(wrap(
        gpu::cast((a.storage(), a.layout()), dtype)?,
        a.shape(),
    ))
}

/// The sum over `dims` (sorted, distinct), shaped `out_shape`.
pub(crate) fn sum_dims(a: &Tensor, dims: &[usize], out_shape: &[usize]) -> Result<Tensor> {
    Ok(wrap(
        gpu::sum_dims((a.storage(), a.layout()), dims)?,
        out_shape,
    ))
}

/// `value` of `dtype` in `shape` on `device`.
pub(crate) fn full(shape: &[usize], value: Scalar, dtype: DType, device: Device) -> Result<Tensor> {
    let n = shape.iter().product();
    let (sf, si) = (value.to_element::<f64>(), value.to_element::<i64>());
    Ok(wrap(gpu::fill(device, dtype, n, sf, si)?, shape))
}

/// The elements of a GPU tensor, row-major, in host memory.
pub(crate) fn download(a: &Tensor) -> Result<ferrograd_storage::CpuBuffer> {
    gpu::download(a.storage(), a.layout())
}

/// A copy of `t` on `device` (host↔device, or between GPUs through the host).
pub(crate) fn copy_to(t: &Tensor, device: Device) -> Result<Tensor> {
    let host = if t.device().is_cuda() {
        download(t)?
    } else {
        t.contiguous_owned()?.storage().to_host()?
    };
    let storage = match device {
        Device::Cpu => Storage::new(host),
        Device::Cuda(ordinal) => gpu::upload(&host, ordinal)?,
    };
    Ok(wrap(storage, t.shape()))
}
