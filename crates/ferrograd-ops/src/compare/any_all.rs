//! `any` and `all`, over the whole tensor or one dim. The result is bool,
//! except for `u8` inputs, which give `u8` (0 or 1) as in PyTorch.

use ferrograd_autograd::Tensor;
use ferrograd_storage::cpu::reduce_dims;
use ferrograd_storage::{normalize_dim, with_dtype, DType, Element, Result};

/// Whether `any` (else `all`) is asked for, and over which dim.
pub(crate) fn any_or_all(x: &Tensor, dim: Option<(isize, bool)>, any: bool) -> Result<Tensor> {
    let (dims, shape) = match dim {
        None => ((0..x.dim()).collect::<Vec<_>>(), Vec::new()),
        Some((d, keepdim)) => {
            let d = normalize_dim(d, x.dim())?;
            let mut shape = x.shape().to_vec();
            if x.dim() > 0 {
                if keepdim {
                    shape[d] = 1;
                } else {
                    shape.remove(d);
                }
            }
            (if x.dim() > 0 { vec![d] } else { vec![] }, shape)
        }
    };
    let truth: Vec<bool> = with_dtype!(x.dtype(), T => x.with_data(|src: &[T], layout| {
        reduce_dims(src, layout, &dims, |mut it| {
            if any {
                Iterator::any(&mut it, |v| v.cast::<bool>())
            } else {
                Iterator::all(&mut it, |v| v.cast::<bool>())
            }
        })
    })?);
    if x.dtype() == DType::U8 {
        Tensor::from_vec(truth.into_iter().map(u8::from).collect(), &shape)
    } else {
        Tensor::from_vec(truth, &shape)
    }
}
