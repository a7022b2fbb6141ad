//! The plumbing the elementwise ops share: running a kernel written once over
//! the right Rust type (`float_map!`, `float_zip!`, `num_map!`), the dtype
//! rules for float functions, and recording a one-input op's backward rule.

use ferrograd_autograd::{SavedTensor, Tensor};
use ferrograd_storage::cpu::binary_map;
use ferrograd_storage::{broadcast_shapes, DType, Element, Error, Result};
use std::borrow::Cow;

/// `f` applied to every element of `x` (of element type `T`), as a new
/// row-major tensor of `x`'s shape.
pub(crate) fn map_typed<T: Element, U: Element>(
    x: &Tensor,
    f: impl Fn(T) -> U + Sync,
) -> Result<Tensor> {
    x.map_elements(f)
}

/// `f(a, b)` over the broadcast of `a` and `b`, both of element type `T`.
pub(crate) fn zip_typed<T: Element, U: Element>(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(T, T) -> U + Sync,
) -> Result<Tensor> {
    let shape = broadcast_shapes(op, a.shape(), b.shape())?;
    let (la, lb) = (
        a.layout().broadcast_to(&shape)?,
        b.layout().broadcast_to(&shape)?,
    );
    let data =
        a.with_data(|x: &[T], _| b.with_data(|y: &[T], _| binary_map(x, &la, y, &lb, f)))??;
    Tensor::from_vec(data, &shape)
}

/// `x` converted to `dtype` for a kernel, outside the graph; `x` itself when
/// it already has that dtype.
pub(crate) fn cast_for_kernel(x: &Tensor, dtype: DType) -> Result<Tensor> {
    if x.dtype() == dtype {
        Ok(x.clone())
    } else {
        x.detach().to_dtype(dtype)
    }
}

/// The input of a float function: floats as they are, integers and bools as
/// `f32`, like PyTorch's `torch.exp(int_tensor)`.
/// Borrowed when no conversion is needed (a handle clone and drop would be
/// two atomic operations per call).
pub(crate) fn float_input(x: &Tensor) -> Result<Cow<'_, Tensor>> {
    if x.dtype().is_floating_point() {
        Ok(Cow::Borrowed(x))
    } else {
        cast_for_kernel(x, DType::F32).map(Cow::Owned)
    }
}

/// Runs `$body` with `$v: $T` over every element of a floating tensor
/// (`f32` or `f64`; anything else is an `Err`), giving a tensor of that type.
/// The closures of these macros are always inlined into the kernel loops,
/// so bodies larger than LLVM's inlining budget (erf, gelu) still vectorise.
macro_rules! float_map {
    ($x:expr, $T:ident, |$v:ident| $body:expr) => {{
        let x: &ferrograd_autograd::Tensor = $x;
        match x.dtype() {
            ferrograd_storage::DType::F32 => {
                type $T = f32;
                $crate::unary::kernel::map_typed(
                    x,
                    #[inline(always)]
                    move |$v: $T| -> $T { $body },
                )
            }
            ferrograd_storage::DType::F64 => {
                type $T = f64;
                $crate::unary::kernel::map_typed(
                    x,
                    #[inline(always)]
                    move |$v: $T| -> $T { $body },
                )
            }
            other => Err($crate::unary::kernel::not_float(other)),
        }
    }};
}
pub(crate) use float_map;

/// Runs `$body` with `$p, $q: $T` over the broadcast of two floating tensors
/// (`$b` is converted to `$a`'s dtype first), giving a tensor of that type.
macro_rules! float_zip {
    ($op:expr, $a:expr, $b:expr, $T:ident, |$p:ident, $q:ident| $body:expr) => {{
        let a: &ferrograd_autograd::Tensor = $a;
        let b = $crate::unary::kernel::cast_for_kernel($b, a.dtype())?;
        match a.dtype() {
            ferrograd_storage::DType::F32 => {
                type $T = f32;
                $crate::unary::kernel::zip_typed(
                    $op,
                    a,
                    &b,
                    #[inline(always)]
                    move |$p: $T, $q: $T| -> $T { $body },
                )
            }
            ferrograd_storage::DType::F64 => {
                type $T = f64;
                $crate::unary::kernel::zip_typed(
                    $op,
                    a,
                    &b,
                    #[inline(always)]
                    move |$p: $T, $q: $T| -> $T { $body },
                )
            }
            other => Err($crate::unary::kernel::not_float(other)),
        }
    }};
}
pub(crate) use float_zip;

/// Runs `$body` with `$v: $T` over every element of a numeric tensor, keeping
/// its dtype; a bool tensor runs `$bool` (an `Err` or another result).
macro_rules! num_map {
    ($x:expr, $T:ident, |$v:ident| $body:expr, bool => $bool:expr) => {{
        let x: &ferrograd_autograd::Tensor = $x;
        ferrograd_storage::with_num_dtype!(x.dtype(), $T => {
            $crate::unary::kernel::map_typed(x, #[inline(always)] move |$v: $T| -> $T { $body })
        }, bool => $bool)
    }};
}
pub(crate) use num_map;

/// `g * coef(x)` for a gradient rule whose coefficient is piecewise constant
/// in `x` (relu, abs, clamp...): one fused pass when no graph is being
/// recorded, else a constant coefficient tensor times `g`, which is
/// differentiable in `g` (the coefficient's own derivative is zero).
macro_rules! scale_grad {
    ($op:expr, $g:expr, $x:expr, $T:ident, |$v:ident| $coef:expr) => {{
        let (g, x): (&ferrograd_autograd::Tensor, &ferrograd_autograd::Tensor) = ($g, $x);
        if ferrograd_autograd::Tensor::needs_grad(&[g]) {
            g.try_mul(&$crate::unary::kernel::float_map!(x, $T, |$v| $coef)?)
        } else {
            $crate::unary::kernel::float_zip!($op, g, x, $T, |grad, $v| grad * $coef)
        }
    }};
}
pub(crate) use scale_grad;

/// `v` as the kernel's element type, for constants inside kernels.
#[inline(always)]
pub(crate) fn c<T: Element>(v: f64) -> T {
    T::from_f64(v)
}

/// The error for a float kernel handed another dtype.
pub(crate) fn not_float(dtype: DType) -> Error {
    Error::UnsupportedDType {
        op: "float kernel",
        dtype,
        hint: "Convert the tensor with .float() first.".into(),
    }
}

/// Which tensor a one-input op's backward rule needs.
pub(crate) enum Save {
    /// The op's input.
    Input,
    /// The op's result.
    Output,
}

/// Records `out = op(x)` in the graph when `x` needs a gradient: `rule(g, s)`
/// maps the output's gradient to the input's, `s` being the saved tensor.
pub(crate) fn record_unary(
    x: &Tensor,
    out: Tensor,
    name: &'static str,
    save: Save,
    rule: impl Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Tensor {
    if !Tensor::needs_grad(&[x]) {
        return out;
    }
    let saved = match save {
        Save::Input => SavedTensor::input(x),
        Save::Output => SavedTensor::output(&out),
    };
    let kept = saved.clone();
    out.with_grad_fn(name, &[x], &[&saved], move |g| {
        Ok(vec![Some(rule(g, &kept.unpack()?)?)])
    })
}
