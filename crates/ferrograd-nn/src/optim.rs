//! Optimizers and learning-rate schedulers with `torch.optim`'s formulas:
//! [`SGD`] (momentum, dampening, Nesterov, weight decay), [`Adam`] and
//! [`AdamW`] (bias correction, optional AMSGrad), the [`Optimizer`] trait
//! they share, and the [`StepLR`] and [`CosineAnnealingLR`] schedulers.
//!
//! An optimizer holds handles on the parameters it was given. `step()` runs
//! under `no_grad`, skips parameters whose `.grad` is `None`, and updates
//! each parameter with one fused in-place loop over its buffer (see
//! [`param_update`]), bumping its version counter like any in-place op —
//! so a graph that saved a parameter before the step refuses to backward.
//!
//! ```
//! use ferrograd_nn::optim::{Optimizer, SgdConfig, SGD};
//! use ferrograd_autograd::Tensor;
//! let w = Tensor::from_vec(vec![1.0f64, -2.0], &[2])?.requires_grad_(true)?;
//! let mut opt = SGD::new(vec![w.clone()], SgdConfig::new().lr(0.1))?;
//! (&w * &w).sum()?.backward()?; // grad = 2w
//! opt.step()?;
//! opt.zero_grad();
//! assert_eq!(w.to_vec::<f64>()?, vec![0.8, -1.6]);
//! assert!(w.grad().is_none());
//! # Ok::<(), ferrograd_autograd::Error>(())
//! ```

mod adam;
pub mod param_update;
mod scheduler;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use param_update::ParamState;
pub use scheduler::{CosineAnnealingLR, LrScheduler, StepLR};
pub use sgd::{SgdConfig, SGD};

use crate::layers::py_float;
use ferrograd_autograd::{Error, Result, Tensor};

/// What every optimizer does: update its parameters from their gradients,
/// clear the gradients, and expose the learning rate (for schedulers).
///
/// ```
/// use ferrograd_nn::optim::{Adam, AdamConfig, Optimizer};
/// use ferrograd_autograd::Tensor;
/// let w = Tensor::from_vec(vec![0.5f32], &[1])?.requires_grad_(true)?;
/// let mut opt: Box<dyn Optimizer> = Box::new(Adam::new(vec![w.clone()], AdamConfig::new())?);
/// opt.set_lr(0.01);
/// assert_eq!(opt.lr(), 0.01);
/// assert_eq!(opt.params().len(), 1);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait Optimizer {
    /// Applies one update to every parameter that has a gradient.
    fn step(&mut self) -> Result<()>;

    /// Sets every parameter's `.grad` to `None` (PyTorch's default
    /// `zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }

    /// The learning rate the next step uses.
    fn lr(&self) -> f64;

    /// Changes the learning rate (what a scheduler does).
    fn set_lr(&mut self, lr: f64);

    /// The parameters, in the order they were given.
    fn params(&self) -> &[Tensor];
}

/// An invalid-hyperparameter error carrying PyTorch's message.
fn invalid(optimizer: &'static str, msg: String) -> Error {
    Error::invalid(optimizer, msg)
}

/// Fails unless `value >= 0` (NaN fails too), with PyTorch's
/// `Invalid {what}: {value}` message.
fn check_non_negative(optimizer: &'static str, what: &str, value: f64) -> Result<()> {
    if value.is_nan() || value < 0.0 {
        return Err(invalid(
            optimizer,
            format!("Invalid {what}: {} (it must be >= 0)", py_float(value)),
        ));
    }
    Ok(())
}

/// Checks the parameter list as `torch.optim.Optimizer` does (non-empty,
/// leaves only) and drops repeated handles of one tensor, so no parameter
/// is updated twice in a step.
fn check_params(optimizer: &'static str, params: Vec<Tensor>) -> Result<Vec<Tensor>> {
    if params.is_empty() {
        return Err(invalid(
            optimizer,
            "optimizer got an empty parameter list (pass model.parameters() of a model that has some)".into(),
        ));
    }
    if params.iter().any(|p| !p.is_leaf() && !p.retains_grad()) {
        return Err(invalid(
            optimizer,
            "can't optimize a non-leaf Tensor (optimize the leaf it was computed from, or a .detach() of it with requires_grad_(true))".into(),
        ));
    }
    let mut unique: Vec<Tensor> = Vec::with_capacity(params.len());
    for p in params {
        if !unique.iter().any(|u| u.same_tensor(&p)) {
            unique.push(p);
        }
    }
    Ok(unique)
}
