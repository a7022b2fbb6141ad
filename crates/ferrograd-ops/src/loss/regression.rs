//! `mse_loss` and `l1_loss`: elementwise distances between input and target
//! (broadcast, as PyTorch allows), reduced; written with differentiable ops.

use super::{reduce_loss, Reduction};
use crate::unary::UnaryOps;
use ferrograd_autograd::Tensor;
use ferrograd_storage::Result;

/// The mean (or sum, or elementwise) squared error — `F.mse_loss`.
///
/// ```
/// use ferrograd_ops::loss::{mse_loss, Reduction};
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
/// let y = Tensor::from_vec(vec![1.0f32, 0.0, 6.0], &[3])?;
/// assert_eq!(mse_loss(&x, &y, Reduction::Mean)?.item::<f32>()?, 13.0 / 3.0);
/// assert_eq!(mse_loss(&x, &y, Reduction::None)?.to_vec::<f32>()?, vec![0.0, 4.0, 9.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn mse_loss(input: &Tensor, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
    let d = input.try_sub(target)?;
    reduce_loss(&d.try_mul(&d)?, reduction)
}

/// The mean (or sum, or elementwise) absolute error — `F.l1_loss`.
///
/// ```
/// use ferrograd_ops::loss::{l1_loss, Reduction};
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?;
/// let y = Tensor::from_vec(vec![1.0f64, 0.0, 6.0], &[3])?;
/// assert_eq!(l1_loss(&x, &y, Reduction::Sum)?.item::<f64>()?, 5.0);
/// let e = l1_loss(&x, &Tensor::zeros(&[2], x.dtype())?, Reduction::Mean).unwrap_err();
/// assert!(e.to_string().contains("must match the size of tensor b"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn l1_loss(input: &Tensor, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
    reduce_loss(&input.try_sub(target)?.abs()?, reduction)
}
