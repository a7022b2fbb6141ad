//! `where_(condition, input, other)`: elements of `input` where the
//! condition holds, else of `other`; the three broadcast together, `input`
//! and `other` (tensors or scalars) promote to one dtype. Differentiable in
//! `input` and `other`.

use crate::unary::kernel::cast_for_kernel;
use ferrograd_autograd::{reduce_grad, InputMeta, Operand, SavedTensor, Tensor};
use ferrograd_storage::cpu::gather_contiguous;
use ferrograd_storage::{
    broadcast_shapes, with_dtype, DType, DTypeCategory, Element, Error, Layout, Result,
};
use std::borrow::Cow;

/// The dtype `input` and `other` promote to (`torch.result_type`).
fn result_dtype(a: &Operand<'_>, b: &Operand<'_>) -> DType {
    match (a, b) {
        (Operand::Tensor(x), Operand::Tensor(y)) => DType::promote(x.dtype(), y.dtype()),
        (Operand::Tensor(t), Operand::Scalar(s)) | (Operand::Scalar(s), Operand::Tensor(t)) => {
            DType::promote_with_scalar(t.dtype(), s.category())
        }
        (Operand::Scalar(s), Operand::Scalar(r)) => match s.category().max(r.category()) {
            DTypeCategory::Float => DType::F32,
            DTypeCategory::Integer => DType::I64,
            DTypeCategory::Bool => DType::Bool,
        },
    }
}

/// The elements of `layout` in row-major order, borrowed when already so.
fn row_major<'a, T: Element>(data: &'a [T], layout: &Layout) -> Cow<'a, [T]> {
    match layout.contiguous_offset() {
        Some(start) => Cow::Borrowed(&data[start..start + layout.numel()]),
        None => Cow::Owned(gather_contiguous(data, layout)),
    }
}

/// The select kernel over tensors already of one dtype `T` (cond: bool).
fn select<T: Element>(cond: &Tensor, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let layout = |t: &Tensor| t.layout().broadcast_to(shape);
    let (lc, la, lb) = (layout(cond)?, layout(a)?, layout(b)?);
    let data = cond.with_data(|c: &[bool], _| {
        a.with_data(|x: &[T], _| {
            b.with_data(|y: &[T], _| {
                let (c, x, y) = (row_major(c, &lc), row_major(x, &la), row_major(y, &lb));
                c.iter()
                    .zip(x.iter().zip(y.iter()))
                    .map(|(&c, (&x, &y))| if c { x } else { y })
                    .collect::<Vec<T>>()
            })
        })
    })???;
    Tensor::from_vec(data, shape)
}

/// Elements of `input` where `condition` is true, else of `other`.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![-1.0f32, 2.0, -3.0], &[3])?;
/// let y = where_(&x.gt(0.0)?, &x, 0.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 2.0, 0.0]);
/// let e = where_(&x, &x, &x).unwrap_err();
/// assert!(e.to_string().contains("boolean"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn where_<'a, 'b>(
    condition: &Tensor,
    input: impl Into<Operand<'a>>,
    other: impl Into<Operand<'b>>,
) -> Result<Tensor> {
    let cond = match condition.dtype() {
        DType::Bool => condition.clone(),
        DType::U8 => condition.detach().to_dtype(DType::Bool)?,
        got => {
            return Err(Error::DTypeMismatch {
                op: "where",
                expected: DType::Bool,
                got,
                hint: "where expected condition to be a boolean tensor; build it with a comparison such as x.gt(0.0)?, or convert it with .bool().".into(),
            })
        }
    };
    let (input, other) = (input.into(), other.into());
    let dtype = result_dtype(&input, &other);
    let (a, b) = (
        input.to_tensor_against(dtype),
        other.to_tensor_against(dtype),
    );
    let shape = broadcast_shapes(
        "where",
        &broadcast_shapes("where", cond.shape(), a.shape())?,
        b.shape(),
    )?;
    let (x, y) = (cast_for_kernel(&a, dtype)?, cast_for_kernel(&b, dtype)?);
    let out = with_dtype!(dtype, T => select::<T>(&cond, &x, &y, &shape)?);
    if !Tensor::needs_grad(&[&a, &b]) {
        return Ok(out);
    }
    let saved = SavedTensor::input(&cond);
    let kept = saved.clone();
    let (ma, mb) = (InputMeta::of(&a), InputMeta::of(&b));
    Ok(
        out.with_grad_fn("WhereBackward0", &[&a, &b], &[&saved], move |g| {
            let cond = kept.unpack()?;
            Ok(vec![
                ma.grad(|| reduce_grad(&where_(&cond, g, 0.0)?, &ma))?,
                mb.grad(|| reduce_grad(&where_(&cond, 0.0, g)?, &mb))?,
            ])
        }),
    )
}
