//! The CUDA C kernels and their launches. Each kernel is generated as source
//! text for its op and dtypes, compiled with NVRTC the first time it is used
//! and cached by name in the backend of its GPU.
//!
//! Inputs are read through their layouts (shape, signed strides, offset —
//! passed by value in a small struct), so broadcast, transposed and sliced
//! views need no copy first; outputs are always contiguous. Tensors of more
//! than [`MAX_DIMS`] dimensions are refused with an error.

use crate::backend::{cuda_error, Backend};
use crate::buffer::CudaBuffer;
use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};
use ferrograd_storage::{DType, Device, Error, Layout, Result, Storage};
use std::sync::Arc;

/// The most dimensions a GPU kernel indexes.
///
/// ```
/// use ferrograd_cuda::{inplace_scalar, kernels::MAX_DIMS, Update};
/// use ferrograd_storage::{CpuBuffer, Layout, Storage};
/// // Refused from the layout alone, before any device work.
/// let (s, l) = (Storage::new(CpuBuffer::F32(vec![0.0])), Layout::contiguous(&[1; MAX_DIMS + 1]));
/// let e = inplace_scalar((&s, &l), 1.0, 1, Update::Assign).unwrap_err().to_string();
/// assert!(e.contains("tensors of at most 8 dimensions are supported on the GPU, got 9"), "{e}");
/// ```
pub const MAX_DIMS: usize = 8;
pub(crate) const THREADS: u32 = 256;

/// A tensor view as an op reads it: the storage and the layout to read.
/// The storage must be this crate's device memory:
///
/// ```
/// use ferrograd_cuda::{kernels::View, unary, UnaryOp};
/// use ferrograd_storage::{CpuBuffer, Layout, Storage};
/// let (s, l) = (Storage::new(CpuBuffer::F32(vec![1.0, 2.0])), Layout::contiguous(&[2]));
/// let host: View<'_> = (&s, &l);
/// let e = unary(UnaryOp::Neg, host).unwrap_err().to_string();
/// assert!(e.contains("move it with .to_device(...) first"), "{e}");
/// ```
pub type View<'a> = (&'a Storage, &'a Layout);

/// Elementwise binary ops, refused on the dtypes PyTorch refuses (before
/// any device work):
///
/// ```
/// use ferrograd_cuda::{binary, BinaryOp};
/// use ferrograd_storage::{CpuBuffer, Layout, Storage};
/// let (s, l) = (Storage::new(CpuBuffer::Bool(vec![true])), Layout::contiguous(&[1]));
/// let e = binary(BinaryOp::Sub, (&s, &l), (&s, &l)).unwrap_err().to_string();
/// assert!(e.starts_with("sub is not implemented for dtype bool."), "{e}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b` (`a || b` on bools).
    Add,
    /// `a - b`.
    Sub,
    /// `a * b` (`a && b` on bools).
    Mul,
    /// `a / b`.
    Div,
    /// 1 where `a == b`, else 0, in the operands' dtype (a mask to multiply by).
    Eq,
}

impl BinaryOp {
    /// The op's name in its kernels' names.
    ///
    /// ```
    /// use ferrograd_cuda::BinaryOp;
    /// assert_eq!(BinaryOp::Mul.name(), "mul");
    /// assert_eq!(BinaryOp::Eq.name(), "eq");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Eq => "eq",
        }
    }

    /// The C expression of `x op y`, `None` where PyTorch refuses the dtype.
    pub(crate) fn expr(self, dtype: DType) -> Option<&'static str> {
        match (self, dtype) {
            (BinaryOp::Eq, _) => Some("x == y"),
            (BinaryOp::Add, DType::Bool) => Some("x || y"),
            (BinaryOp::Mul, DType::Bool) => Some("x && y"),
            (BinaryOp::Sub | BinaryOp::Div, DType::Bool) => None,
            (BinaryOp::Add, _) => Some("x + y"),
            (BinaryOp::Sub, _) => Some("x - y"),
            (BinaryOp::Mul, _) => Some("x * y"),
            (BinaryOp::Div, _) => Some("x / y"),
        }
    }
}

/// Elementwise unary ops (the float-only ones refuse other dtypes, before
/// any device work). The parametrised ones read their parameter `p` from
/// [`unary_with`].
///
/// ```
/// use ferrograd_cuda::{unary, UnaryOp};
/// use ferrograd_storage::{CpuBuffer, Layout, Storage};
/// let (s, l) = (Storage::new(CpuBuffer::I64(vec![1])), Layout::contiguous(&[1]));
/// let e = unary(UnaryOp::Exp, (&s, &l)).unwrap_err().to_string();
/// assert!(e.starts_with("exp is not implemented for dtype int64."), "{e}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// `ln x`.
    Log,
    /// `max(x, 0)` (NaN stays NaN).
    Relu,
    /// `tanh x`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `sqrt x`.
    Sqrt,
    /// `|x|`.
    Abs,
    /// `1 / sqrt x`.
    Rsqrt,
    /// `sin x`.
    Sin,
    /// `cos x`.
    Cos,
    /// The error function.
    Erf,
    /// -1, 0 or 1 (0 for NaN).
    Sign,
    /// 1 where `x > 0`, else 0: the mask of relu's gradient.
    Step,
    /// `x · sigmoid(x)`.
    Silu,
    /// `x · Φ(x)` with the exact normal CDF.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    /// `x` where `x > 0`, else `p · x`.
    LeakyRelu,
    /// 1 where `x > 0`, else `p`: leaky relu's derivative.
    LeakyReluGrad,
    /// `x^p`.
    Pow,
}

impl UnaryOp {
    /// The op's name in its kernels' names.
    ///
    /// ```
    /// use ferrograd_cuda::UnaryOp;
    /// assert_eq!(UnaryOp::GeluTanh.name(), "gelu_tanh");
    /// assert_eq!(UnaryOp::LeakyReluGrad.name(), "leaky_relu_grad");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Relu => "relu",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Abs => "abs",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Erf => "erf",
            UnaryOp::Sign => "sign",
            UnaryOp::Step => "step",
            UnaryOp::Silu => "silu",
            UnaryOp::Gelu => "gelu",
            UnaryOp::GeluTanh => "gelu_tanh",
            UnaryOp::LeakyRelu => "leaky_relu",
            UnaryOp::LeakyReluGrad => "leaky_relu_grad",
            UnaryOp::Pow => "pow",
        }
    }

    /// The C expression for integer dtypes, `None` for float-only ops.
    pub(crate) fn integer_expr(self) -> Option<&'static str> {
        match self {
            UnaryOp::Neg => Some("-x"),
            UnaryOp::Relu => Some("x < 0 ? 0 : x"),
            UnaryOp::Abs => Some("x < 0 ? -x : x"),
            UnaryOp::Sign => Some("(x > 0) - (x < 0)"),
            UnaryOp::Step => Some("x > 0 ? 1 : 0"),
            _ => None,
        }
    }

    /// The C expression of the op on `x` (of C type `TA`; `sf` is the
    /// parameter), `None` where the dtype is refused.
    pub(crate) fn expr(self, dtype: DType) -> Option<String> {
        let f = match dtype {
            DType::F32 => "f",
            DType::F64 => "",
            DType::Bool => return None,
            _ => return self.integer_expr().map(Into::into),
        };
        Some(match self {
            UnaryOp::Neg => "-x".into(),
            UnaryOp::Exp => format!("exp{f}(x)"),
            UnaryOp::Log => format!("log{f}(x)"),
            UnaryOp::Relu => "x < 0 ? (TA)0 : x".into(),
            UnaryOp::Tanh => format!("tanh{f}(x)"),
            UnaryOp::Sigmoid => format!("(TA)1 / ((TA)1 + exp{f}(-x))"),
            UnaryOp::Sqrt => format!("sqrt{f}(x)"),
            UnaryOp::Abs => format!("fabs{f}(x)"),
            UnaryOp::Rsqrt => format!("rsqrt{f}(x)"),
            UnaryOp::Sin => format!("sin{f}(x)"),
            UnaryOp::Cos => format!("cos{f}(x)"),
            UnaryOp::Erf => format!("erf{f}(x)"),
            UnaryOp::Sign => "x > 0 ? (TA)1 : (x < 0 ? (TA)-1 : (TA)0)".into(),
            UnaryOp::Step => "x > 0 ? (TA)1 : (TA)0".into(),
            UnaryOp::Silu => format!("x / ((TA)1 + exp{f}(-x))"),
            UnaryOp::Gelu => {
                format!("(TA)0.5 * x * ((TA)1 + erf{f}(x * (TA)0.70710678118654752440))")
            }
            UnaryOp::GeluTanh => format!(
                "(TA)0.5 * x * ((TA)1 + tanh{f}((TA)0.79788456080286535588 * (x + (TA)0.044715 * x * x * x)))"
            ),
            UnaryOp::LeakyRelu => "x > 0 ? x : x * (TA)sf".into(),
            UnaryOp::LeakyReluGrad => "x > 0 ? (TA)1 : (TA)sf".into(),
            UnaryOp::Pow => format!("pow{f}(x, (TA)sf)"),
        })
    }
}

pub(crate) fn c_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F64 => "double",
        DType::I64 => "long long",
        DType::I32 => "int",
        DType::U8 => "unsigned char",
        DType::Bool => "bool",
    }
}

/// Two strided operands over one shape, as the map kernel receives them.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Strided {
    ndim: i64,
    shape: [i64; MAX_DIMS],
    strides: [[i64; MAX_DIMS]; 2],
    offset: [i64; 2],
}

/// `{a, b, ...}`: integers as a C initializer list.
#[cfg(test)]
fn list(v: &[i64]) -> String {
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", items.join(", "))
}

#[cfg(test)]
impl Strided {
    /// The struct as a C initializer, for kernels run on the host in tests.
    pub(crate) fn c_init(&self) -> String {
        format!(
            "{{{}, {}, {{{}, {}}}, {}}}",
            self.ndim,
            list(&self.shape),
            list(&self.strides[0]),
            list(&self.strides[1]),
            list(&self.offset)
        )
    }
}

// SAFETY: a plain #[repr(C)] struct of integers, mirrored by STRIDED_C.
unsafe impl DeviceRepr for Strided {}

pub(crate) const STRIDED_C: &str = "#define MAXD 8
struct Strided { long long ndim; long long shape[MAXD]; long long strides[2][MAXD]; long long offset[2]; };
";

pub(crate) fn too_many_dims(ndim: usize) -> Error {
    Error::invalid(
        "cuda kernel",
        format!("tensors of at most {MAX_DIMS} dimensions are supported on the GPU, got {ndim}; reshape first"),
    )
}

pub(crate) fn strided(a: &Layout, b: &Layout) -> Result<Strided> {
    if a.ndim() > MAX_DIMS {
        return Err(too_many_dims(a.ndim()));
    }
    let mut m = Strided {
        ndim: a.ndim() as i64,
        offset: [a.offset() as i64, b.offset() as i64],
        ..Default::default()
    };
    for d in 0..a.ndim() {
        m.shape[d] = a.shape()[d] as i64;
        m.strides[0][d] = a.strides()[d] as i64;
        m.strides[1][d] = b.strides()[d] as i64;
    }
    Ok(m)
}

/// The map kernel: `out[i] = EXPR(x, y)` over a strided pair, grid-stride loop.
pub(crate) fn map_source(name: &str, ta: DType, tb: DType, to: DType, expr: &str) -> String {
    let (ta, tb, to) = (c_type(ta), c_type(tb), c_type(to));
    format!(
        "{STRIDED_C}typedef {ta} TA; typedef {tb} TB; typedef {to} TO;
extern \"C\" __global__ void {name}(const TA* a, const TB* b, TO* out, Strided m, long long n, double sf, long long si) {{
  long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
    long long r = i, pa = m.offset[0], pb = m.offset[1];
    for (int d = (int)m.ndim - 1; d >= 0; --d) {{
      long long k = r % m.shape[d]; r /= m.shape[d];
      pa += k * m.strides[0][d]; pb += k * m.strides[1][d];
    }}
    TA x = a[pa]; TB y = b[pb]; (void)y; (void)sf; (void)si;
    out[i] = (TO)({expr});
  }}
}}
"
    )
}

pub(crate) fn grid(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(THREADS as usize).clamp(1, 1 << 20) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// The device buffers of a binary op's operands, on one GPU.
fn operands<'a>(a: &'a Storage, b: &'a Storage) -> Result<(&'a CudaBuffer, &'a CudaBuffer)> {
    if a.device() != b.device() {
        return Err(Error::DeviceMismatch {
            a: a.device(),
            b: b.device(),
        });
    }
    Ok((CudaBuffer::of(a)?, CudaBuffer::of(b)?))
}

/// Launches the map kernel `name` over `shape`, writing a new `to` buffer.
#[allow(clippy::too_many_arguments)]
fn launch_map(
    backend: &Arc<Backend>,
    name: &str,
    source: impl FnOnce() -> String,
    (a, la): (&CudaBuffer, &Layout),
    (b, lb): (&CudaBuffer, &Layout),
    to: DType,
    scalar: (f64, i64),
) -> Result<Storage> {
    let n = la.numel();
    let mut out = CudaBuffer::zeros(backend, to, n)?;
    if n > 0 {
        let f = backend.kernel(name, source)?;
        let m = strided(la, lb)?;
        let n64 = n as i64;
        let mut args = backend.stream().launch_builder(&f);
        args.arg(a.bytes())
            .arg(b.bytes())
            .arg(out.bytes_mut())
            .arg(&m)
            .arg(&n64)
            .arg(&scalar.0)
            .arg(&scalar.1);
        // SAFETY: the kernel's parameters match the arguments pushed; every
        // offset it computes lies inside the layouts the caller checked.
        unsafe { args.launch(grid(n)) }.map_err(|e| cuda_error(format!("launching {name}"), e))?;
    }
    Ok(out.into_storage())
}

/// Runs the map kernel `name` computing `expr` over `a` and `b` into `to`.
fn run_map(
    name: String,
    (a, la): View<'_>,
    (b, lb): View<'_>,
    to: DType,
    expr: &str,
    scalar: (f64, i64),
) -> Result<Storage> {
    let (ba, bb) = operands(a, b)?;
    let source = || map_source(&name, a.dtype(), b.dtype(), to, expr);
    launch_map(ba.backend(), &name, source, (ba, la), (bb, lb), to, scalar)
}

pub(crate) fn refused(op: &'static str, dtype: DType, hint: &str) -> Error {
    Error::UnsupportedDType {
        op,
        dtype,
        hint: hint.into(),
    }
}

/// `a op b` over `a`'s layout; both layouts already broadcast to one shape
/// and both storages of one dtype. The result is contiguous.
///
/// ```
/// use ferrograd_cuda::{binary, download, upload, BinaryOp};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// let (a, b) = (CpuBuffer::F32(vec![1.0, 2.0, 3.0, 4.0]), CpuBuffer::F32(vec![10.0, 20.0]));
/// match (upload(&a, 0), upload(&b, 0)) {
///     (Ok(a), Ok(b)) => {
///         let (la, lb) = (Layout::contiguous(&[2, 2]), Layout::contiguous(&[1, 2]).broadcast_to(&[2, 2])?);
///         let c = binary(BinaryOp::Add, (&a, &la), (&b, &lb))?; // b added to each row
///         assert_eq!(download(&c, &la)?, CpuBuffer::F32(vec![11.0, 22.0, 13.0, 24.0]));
///     }
///     (Err(e), _) | (_, Err(e)) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn binary(op: BinaryOp, a: View<'_>, b: View<'_>) -> Result<Storage> {
    let dtype = a.0.dtype();
    let hint = "Use logical ops on bool tensors, or convert first with .long() or .float().";
    let expr = op
        .expr(dtype)
        .ok_or_else(|| refused(op.name(), dtype, hint))?;
    let name = format!("{}_{}", op.name(), dtype.name());
    run_map(name, a, b, dtype, expr, (0.0, 0))
}

/// `a op s` for a scalar `s` (given as `f64` for float dtypes and `i64` for
/// the others), in `a`'s dtype.
///
/// ```
/// use ferrograd_cuda::{download, scalar, upload, BinaryOp};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// match upload(&CpuBuffer::I64(vec![1, 2, 3]), 0) {
///     Ok(a) => {
///         let l = Layout::contiguous(&[3]);
///         let c = scalar(BinaryOp::Mul, (&a, &l), 0.0, 3)?; // int64: `si` is used
///         assert_eq!(download(&c, &l)?, CpuBuffer::I64(vec![3, 6, 9]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn scalar(op: BinaryOp, a: View<'_>, sf: f64, si: i64) -> Result<Storage> {
    let dtype = a.0.dtype();
    let expr = op
        .expr(dtype)
        .filter(|_| dtype != DType::Bool)
        .ok_or_else(|| refused(op.name(), dtype, "Convert first with .long() or .float()."))?;
    let s = if dtype.is_floating_point() {
        "(TA)sf"
    } else {
        "(TA)si"
    };
    let name = format!("{}_scalar_{}", op.name(), dtype.name());
    run_map(name, a, a, dtype, &expr.replace('y', s), (sf, si))
}

/// A unary op elementwise, in `a`'s dtype.
///
/// ```
/// use ferrograd_cuda::{download, unary, upload, UnaryOp};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// match upload(&CpuBuffer::F32(vec![-1.0, 0.0, 2.0]), 0) {
///     Ok(a) => {
///         let l = Layout::contiguous(&[3]);
///         let r = unary(UnaryOp::Relu, (&a, &l))?;
///         assert_eq!(download(&r, &l)?, CpuBuffer::F32(vec![0.0, 0.0, 2.0]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn unary(op: UnaryOp, a: View<'_>) -> Result<Storage> {
    unary_with(op, a, 0.0)
}

/// A unary op elementwise with its parameter `p` (the slope of
/// [`UnaryOp::LeakyRelu`], the exponent of [`UnaryOp::Pow`]; ignored by the
/// others), in `a`'s dtype.
///
/// ```
/// use ferrograd_cuda::{download, unary_with, upload, UnaryOp};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// match upload(&CpuBuffer::F64(vec![-2.0, 3.0]), 0) {
///     Ok(a) => {
///         let l = Layout::contiguous(&[2]);
///         let r = unary_with(UnaryOp::LeakyRelu, (&a, &l), 0.5)?; // slope 0.5
///         assert_eq!(download(&r, &l)?, CpuBuffer::F64(vec![-1.0, 3.0]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn unary_with(op: UnaryOp, a: View<'_>, p: f64) -> Result<Storage> {
    let dtype = a.0.dtype();
    let expr = op
        .expr(dtype)
        .ok_or_else(|| refused(op.name(), dtype, "Convert first with .float()."))?;
    let name = format!("{}_{}", op.name(), dtype.name());
    run_map(name, a, a, dtype, &expr, (p, 0))
}

/// A contiguous copy of the view, converted to `dtype` (C's conversions:
/// floats truncate toward zero into integers, nonzero is `true`).
///
/// ```
/// use ferrograd_cuda::{cast, download, upload};
/// use ferrograd_storage::{CpuBuffer, DType, Layout};
/// match upload(&CpuBuffer::F32(vec![1.5, -1.5, 0.0]), 0) {
///     Ok(a) => {
///         let l = Layout::contiguous(&[3]);
///         assert_eq!(download(&cast((&a, &l), DType::I64)?, &l)?, CpuBuffer::I64(vec![1, -1, 0]));
///         assert_eq!(download(&cast((&a, &l), DType::Bool)?, &l)?, CpuBuffer::Bool(vec![true, true, false]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn cast(a: View<'_>, dtype: DType) -> Result<Storage> {
    let name = format!("cast_{}_{}", a.0.dtype().name(), dtype.name());
    let expr = if dtype == DType::Bool { "x != 0" } else { "x" };
    run_map(name, a, a, dtype, expr, (0.0, 0))
}

/// `len` elements of `dtype` on `device`, all equal to the scalar (`sf` for
/// float dtypes, `si` otherwise); an error for [`Device::Cpu`].
///
/// ```
/// use ferrograd_cuda::{download, fill};
/// use ferrograd_storage::{CpuBuffer, DType, Device, Layout};
/// let e = fill(Device::Cpu, DType::F32, 3, 0.5, 0).unwrap_err().to_string();
/// assert!(e.contains("expected a CUDA device"), "{e}");
/// match fill(Device::Cuda(0), DType::F32, 3, 0.5, 0) {
///     Ok(s) => assert_eq!(download(&s, &Layout::contiguous(&[3]))?, CpuBuffer::F32(vec![0.5; 3])),
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn fill(device: Device, dtype: DType, len: usize, sf: f64, si: i64) -> Result<Storage> {
    let Device::Cuda(ordinal) = device else {
        return Err(Error::invalid("cuda fill", "expected a CUDA device"));
    };
    let backend = crate::backend::backend(ordinal)?;
    let mut out = CudaBuffer::zeros(&backend, dtype, len)?;
    if len > 0 {
        let name = format!("fill_{}", dtype.name());
        let f = backend.kernel(&name, || fill_source(&name, dtype))?;
        let n64 = len as i64;
        let mut args = backend.stream().launch_builder(&f);
        args.arg(out.bytes_mut()).arg(&n64).arg(&sf).arg(&si);
        // SAFETY: the kernel writes `len` elements of a `len`-element buffer.
        unsafe { args.launch(grid(len)) }
            .map_err(|e| cuda_error(format!("launching {name}"), e))?;
    }
    Ok(out.into_storage())
}

/// The fill kernel: every element set to the scalar.
pub(crate) fn fill_source(name: &str, dtype: DType) -> String {
    let t = c_type(dtype);
    let s = if dtype.is_floating_point() {
        "sf"
    } else {
        "si"
    };
    format!(
        "extern \"C\" __global__ void {name}({t}* out, long long n, double sf, long long si) {{
  long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) out[i] = ({t}){s};
}}
"
    )
}

/// Kept and reduced dims of a sum, as the sum kernel receives them.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Reduction {
    nk: i64,
    kshape: [i64; MAX_DIMS],
    kstride: [i64; MAX_DIMS],
    nr: i64,
    rshape: [i64; MAX_DIMS],
    rstride: [i64; MAX_DIMS],
    offset: i64,
    rcount: i64,
}

#[cfg(test)]
impl Reduction {
    /// The struct as a C initializer, for kernels run on the host in tests.
    pub(crate) fn c_init(&self) -> String {
        format!(
            "{{{}, {}, {}, {}, {}, {}, {}, {}}}",
            self.nk,
            list(&self.kshape),
            list(&self.kstride),
            self.nr,
            list(&self.rshape),
            list(&self.rstride),
            self.offset,
            self.rcount
        )
    }
}

// SAFETY: a plain #[repr(C)] struct of integers, mirrored by REDUCTION_C.
unsafe impl DeviceRepr for Reduction {}

pub(crate) const REDUCTION_C: &str = "#define MAXD 8
struct Reduction { long long nk; long long kshape[MAXD]; long long kstride[MAXD]; long long nr; long long rshape[MAXD]; long long rstride[MAXD]; long long offset; long long rcount; };
";

/// The C code placing output `o`'s first reduced element at `base` and
/// reduced element `j` at `p` (inside loops the kernels write around it).
pub(crate) const KEPT_BASE_C: &str = "long long base = m.offset, r = o;
    for (int d = (int)m.nk - 1; d >= 0; --d) { long long k = r % m.kshape[d]; r /= m.kshape[d]; base += k * m.kstride[d]; }
";
pub(crate) const REDUCED_OFFSET_C: &str = "long long q = j, p = base;
      for (int d = (int)m.nr - 1; d >= 0; --d) { long long k = q % m.rshape[d]; q /= m.rshape[d]; p += k * m.rstride[d]; }
";

/// One block per output element: threads stride over the reduced elements,
/// then a shared-memory tree adds their partial sums (in `double` for
/// floats, `long long` for integers and bools).
pub(crate) fn sum_source(name: &str, ta: DType, to: DType) -> String {
    let acc = if ta.is_floating_point() {
        "double"
    } else {
        "long long"
    };
    let (ta, to) = (c_type(ta), c_type(to));
    format!(
        "{REDUCTION_C}extern \"C\" __global__ void {name}(const {ta}* a, {to}* out, Reduction m, long long nout) {{
  __shared__ {acc} part[{THREADS}];
  for (long long o = blockIdx.x; o < nout; o += gridDim.x) {{
    {KEPT_BASE_C}    {acc} acc = 0;
    for (long long j = threadIdx.x; j < m.rcount; j += blockDim.x) {{
      {REDUCED_OFFSET_C}      acc += ({acc})a[p];
    }}
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {{
      if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
      __syncthreads();
    }}
    if (threadIdx.x == 0) out[o] = ({to})part[0];
    __syncthreads();
  }}
}}
"
    )
}

/// The kept and reduced dims of a view reduced over `dims` (sorted,
/// distinct, in range), and the number of outputs (the kept elements).
pub(crate) fn reduction(la: &Layout, dims: &[usize]) -> Result<(Reduction, usize)> {
    if la.ndim() > MAX_DIMS {
        return Err(too_many_dims(la.ndim()));
    }
    let mut m = Reduction {
        offset: la.offset() as i64,
        rcount: 1,
        ..Default::default()
    };
    for d in 0..la.ndim() {
        let (size, stride) = (la.shape()[d] as i64, la.strides()[d] as i64);
        if dims.contains(&d) {
            m.rshape[m.nr as usize] = size;
            m.rstride[m.nr as usize] = stride;
            m.nr += 1;
            m.rcount *= size;
        } else {
            m.kshape[m.nk as usize] = size;
            m.kstride[m.nk as usize] = stride;
            m.nk += 1;
        }
    }
    let nout = m.kshape[..m.nk as usize].iter().product::<i64>() as usize;
    Ok((m, nout))
}

/// One block of [`THREADS`] per output (a grid-stride loop past 65536).
pub(crate) fn reduce_grid(nout: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (nout.clamp(1, 1 << 16) as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// The sum over `dims` (sorted, distinct, in range) of the view, as a
/// contiguous buffer of the kept dims in order. Floats keep their dtype;
/// integers and bools sum to `i64`, as on the CPU.
///
/// ```
/// use ferrograd_cuda::{download, sum_dims, upload};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// match upload(&CpuBuffer::I32(vec![1, 2, 3, 4, 5, 6]), 0) {
///     Ok(a) => {
///         let s = sum_dims((&a, &Layout::contiguous(&[2, 3])), &[0])?; // column sums
///         assert_eq!(download(&s, &Layout::contiguous(&[3]))?, CpuBuffer::I64(vec![5, 7, 9]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn sum_dims((a, la): View<'_>, dims: &[usize]) -> Result<Storage> {
    let (m, nout) = reduction(la, dims)?;
    let ta = a.dtype();
    let to = if ta.is_floating_point() {
        ta
    } else {
        DType::I64
    };
    let ba = CudaBuffer::of(a)?;
    let backend = ba.backend();
    let mut out = CudaBuffer::zeros(backend, to, nout)?;
    if nout > 0 {
        let name = format!("sum_{}", ta.name());
        let f = backend.kernel(&name, || sum_source(&name, ta, to))?;
        let n64 = nout as i64;
        let mut args = backend.stream().launch_builder(&f);
        args.arg(ba.bytes()).arg(out.bytes_mut()).arg(&m).arg(&n64);
        // SAFETY: parameters match; offsets stay inside the input's layout.
        unsafe { args.launch(reduce_grid(nout)) }
            .map_err(|e| cuda_error(format!("launching {name}"), e))?;
    }
    Ok(out.into_storage())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_their_kernel_and_types() {
        let s = map_source("add_float32", DType::F32, DType::F32, DType::F32, "x + y");
        assert!(s.contains("void add_float32(const TA* a, const TB* b, TO* out"));
        assert!(s.contains("typedef float TA;") && s.contains("out[i] = (TO)(x + y);"));
        let s = sum_source("sum_int32", DType::I32, DType::I64);
        assert!(s.contains("const int* a, long long* out") && s.contains("long long acc = 0;"));
    }

    #[test]
    fn ops_refuse_the_dtypes_pytorch_refuses() {
        assert_eq!(BinaryOp::Sub.expr(DType::Bool), None);
        assert_eq!(BinaryOp::Add.expr(DType::Bool), Some("x || y"));
        assert_eq!(UnaryOp::Exp.expr(DType::I64), None);
        assert_eq!(UnaryOp::Exp.expr(DType::F32).as_deref(), Some("expf(x)"));
        assert_eq!(UnaryOp::Exp.expr(DType::F64).as_deref(), Some("exp(x)"));
        assert_eq!(UnaryOp::Neg.expr(DType::I32).as_deref(), Some("-x"));
    }

    #[test]
    fn layouts_pack_into_the_kernel_struct() {
        let a = Layout::contiguous(&[2, 3]).transpose(0, 1);
        let m = strided(&a, &a).unwrap();
        assert_eq!(
            (m.ndim, &m.shape[..2], &m.strides[0][..2]),
            (2, &[3, 2][..], &[1, 3][..])
        );
        let deep = Layout::contiguous(&[1; 9]);
        assert!(strided(&deep, &deep).is_err());
    }
}
