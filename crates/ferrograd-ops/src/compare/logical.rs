//! Logic on truth values — `logical_and`, `logical_or`, `logical_xor`,
//! `logical_not` (any dtype; non-zero and NaN are true) — and the float
//! classifiers `isnan`, `isinf`, `isfinite`.

use crate::unary::kernel::{cast_for_kernel, map_typed, zip_typed};
use ferrograd_autograd::{check_same_device, Tensor};
use ferrograd_storage::{DType, Result};

/// Which binary logical op.
#[derive(Clone, Copy)]
pub(crate) enum Logic {
    And,
    Or,
    Xor,
}

/// `a op b` on the truth values of `a` and `b`, broadcast.
pub(crate) fn logical(a: &Tensor, b: &Tensor, op: Logic) -> Result<Tensor> {
    check_same_device(a, b)?;
    let (p, q) = (
        cast_for_kernel(a, DType::Bool)?,
        cast_for_kernel(b, DType::Bool)?,
    );
    match op {
        Logic::And => zip_typed("logical_and", &p, &q, |x: bool, y: bool| x & y),
        Logic::Or => zip_typed("logical_or", &p, &q, |x: bool, y: bool| x | y),
        Logic::Xor => zip_typed("logical_xor", &p, &q, |x: bool, y: bool| x ^ y),
    }
}

/// `!x` on the truth values of `x`.
pub(crate) fn logical_not(x: &Tensor) -> Result<Tensor> {
    map_typed(&cast_for_kernel(x, DType::Bool)?, |v: bool| !v)
}

/// A float classifier, applied to `f32`/`f64`; integers and bools get `for_exact`.
pub(crate) fn classify(
    x: &Tensor,
    test32: impl Fn(f32) -> bool + Sync,
    test64: impl Fn(f64) -> bool + Sync,
    for_exact: bool,
) -> Result<Tensor> {
    match x.dtype() {
        DType::F32 => map_typed(x, test32),
        DType::F64 => map_typed(x, test64),
        _ => Tensor::full(x.shape(), for_exact, DType::Bool),
    }
}
