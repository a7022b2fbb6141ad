//! `dropout`: zeroes each element with probability `p` and scales the rest
//! by `1 / (1 - p)` while training, drawing the mask from a [`Generator`]
//! (the global one unless given); the identity otherwise.

use ferrograd_autograd::{with_default_generator, Generator, Tensor};
use ferrograd_storage::cpu::unary_map;
use ferrograd_storage::{with_dtype, Element, Error, Result};

/// Dropout — `F.dropout(input, p, training)` — with the default generator
/// (seed it with `manual_seed` for repeatable masks).
///
/// ```
/// use ferrograd_ops::norm::dropout;
/// use ferrograd_autograd::{manual_seed, DType, Tensor};
/// let x = Tensor::ones(&[1000], DType::F32)?;
/// manual_seed(0);
/// let y = dropout(&x, 0.25, true)?.to_vec::<f32>()?;
/// assert!(y.iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
/// assert!(dropout(&x, 0.25, false)?.same_tensor(&x));
/// let e = dropout(&x, 1.5, true).unwrap_err();
/// assert!(e.to_string().contains("dropout probability has to be between 0 and 1, but got 1.5"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn dropout(input: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    check_p(p)?;
    if !training || p == 0.0 || input.numel() == 0 {
        return Ok(input.clone());
    }
    with_default_generator(|gen| dropout_with(input, p, training, gen))
}

fn check_p(p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        return Ok(());
    }
    Err(Error::invalid(
        "dropout",
        format!("dropout probability has to be between 0 and 1, but got {p}"),
    ))
}

/// [`dropout`] drawing the mask from `gen`.
///
/// ```
/// use ferrograd_ops::norm::dropout_with;
/// use ferrograd_autograd::{DType, Generator, Tensor};
/// let x = Tensor::ones(&[8], DType::F64)?;
/// let a = dropout_with(&x, 0.5, true, &mut Generator::new(3))?.to_vec::<f64>()?;
/// let b = dropout_with(&x, 0.5, true, &mut Generator::new(3))?.to_vec::<f64>()?;
/// assert_eq!(a, b);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn dropout_with(input: &Tensor, p: f64, training: bool, gen: &mut Generator) -> Result<Tensor> {
    check_p(p)?;
    if !training || p == 0.0 || input.numel() == 0 {
        return Ok(input.clone());
    }
    if !input.dtype().is_floating_point() {
        return Err(crate::reduce::not_float("dropout", input.dtype()));
    }
    if p == 1.0 {
        return input.try_mul(0.0);
    }
    let keep = 1.0 - p;
    let uniform = Tensor::rand_with(input.shape(), input.dtype(), gen)?;
    let noise = with_dtype!(input.dtype(), T => {
        let (scale, zero) = (T::from_f64(1.0 / keep), T::from_f64(0.0));
        let v = uniform.with_data(|u: &[T], l| unary_map(u, l, |u| if u.to_f64() < keep { scale } else { zero }))?;
        Tensor::from_vec(v, input.shape())?
    });
    input.try_mul(&noise)
}
