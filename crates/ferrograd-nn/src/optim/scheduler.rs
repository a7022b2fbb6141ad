//! Learning-rate schedulers (`torch.optim.lr_scheduler`): [`StepLR`] and
//! [`CosineAnnealingLR`], behind the [`LrScheduler`] trait. Both use
//! PyTorch's recursive forms (each rate computed from the optimizer's
//! current one), so their values match PyTorch's to the last bit over long
//! runs, and a rate set by hand between steps carries on as in PyTorch.

use super::Optimizer;
use ferrograd_autograd::{Error, Result};
use std::f64::consts::PI;

fn check_positive(scheduler: &'static str, what: &str, epochs: u64) -> Result<()> {
    if epochs == 0 {
        return Err(Error::invalid(
            scheduler,
            format!("{what} must be a positive number of epochs (got 0)"),
        ));
    }
    Ok(())
}

/// A schedule for an optimizer's learning rate. Call
/// [`step`](Self::step) once per epoch (or iteration), after the
/// optimizer's `step()`, as in PyTorch.
///
/// ```
/// use ferrograd_nn::optim::{LrScheduler, Optimizer, SgdConfig, StepLR, SGD};
/// use ferrograd_autograd::Tensor;
/// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
/// let mut opt = SGD::new(vec![w], SgdConfig::new().lr(1.0))?;
/// let mut sched: Box<dyn LrScheduler> = Box::new(StepLR::new(&opt, 1, 0.5)?);
/// sched.step(&mut opt);
/// assert_eq!((sched.get_last_lr(), opt.lr(), sched.last_epoch()), (0.5, 0.5, 1));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait LrScheduler {
    /// Advances one epoch and sets the optimizer's learning rate.
    fn step(&mut self, optimizer: &mut dyn Optimizer);

    /// The rate the last [`step`](Self::step) set (the initial rate before
    /// any step).
    fn get_last_lr(&self) -> f64;

    /// Steps taken so far (PyTorch's `last_epoch`, 0 after construction).
    fn last_epoch(&self) -> u64;
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs
/// (`torch.optim.lr_scheduler.StepLR`).
///
/// ```
/// use ferrograd_nn::optim::{LrScheduler, SgdConfig, StepLR, SGD};
/// use ferrograd_autograd::Tensor;
/// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
/// let mut opt = SGD::new(vec![w], SgdConfig::new().lr(0.1))?;
/// let mut sched = StepLR::new(&opt, 2, 0.1)?;
/// let lrs: Vec<f64> = (0..4).map(|_| { sched.step(&mut opt); sched.get_last_lr() }).collect();
/// assert_eq!(lrs, vec![0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StepLR {
    step_size: u64,
    gamma: f64,
    last_epoch: u64,
    last_lr: f64,
}

impl StepLR {
    /// A schedule starting from `optimizer`'s current rate; `step_size` must
    /// be positive.
    ///
    /// ```
    /// use ferrograd_nn::optim::{SgdConfig, StepLR, SGD};
    /// use ferrograd_autograd::Tensor;
    /// let opt = SGD::new(vec![Tensor::ones(&[1], ferrograd_autograd::DType::F32)?], SgdConfig::new())?;
    /// assert!(StepLR::new(&opt, 0, 0.1).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(optimizer: &dyn Optimizer, step_size: u64, gamma: f64) -> Result<Self> {
        check_positive("StepLR", "step_size", step_size)?;
        Ok(StepLR {
            step_size,
            gamma,
            last_epoch: 0,
            last_lr: optimizer.lr(),
        })
    }
}

impl LrScheduler for StepLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        self.last_epoch += 1;
        let lr = optimizer.lr();
        if self.last_epoch % self.step_size == 0 {
            optimizer.set_lr(lr * self.gamma);
        }
        self.last_lr = optimizer.lr();
    }

    fn get_last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> u64 {
        self.last_epoch
    }
}

/// Anneals the learning rate from its initial value to `eta_min` along a
/// half cosine over `t_max` epochs, then back up and down again
/// (`torch.optim.lr_scheduler.CosineAnnealingLR`):
/// `eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2`,
/// computed recursively as PyTorch does.
///
/// ```
/// use ferrograd_nn::optim::{CosineAnnealingLR, LrScheduler, SgdConfig, SGD};
/// use ferrograd_autograd::Tensor;
/// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
/// let mut opt = SGD::new(vec![w], SgdConfig::new().lr(1.0))?;
/// let mut sched = CosineAnnealingLR::new(&opt, 4, 0.0)?;
/// for _ in 0..2 {
///     sched.step(&mut opt);
/// }
/// assert!((sched.get_last_lr() - 0.5).abs() < 1e-12);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CosineAnnealingLR {
    t_max: u64,
    eta_min: f64,
    base_lr: f64,
    last_epoch: u64,
    last_lr: f64,
}

impl CosineAnnealingLR {
    /// A schedule from `optimizer`'s current rate down to `eta_min` over
    /// `t_max` (positive) epochs.
    ///
    /// ```
    /// use ferrograd_nn::optim::{CosineAnnealingLR, SgdConfig, SGD};
    /// use ferrograd_autograd::Tensor;
    /// let opt = SGD::new(vec![Tensor::ones(&[1], ferrograd_autograd::DType::F32)?], SgdConfig::new())?;
    /// assert!(CosineAnnealingLR::new(&opt, 0, 0.0).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(optimizer: &dyn Optimizer, t_max: u64, eta_min: f64) -> Result<Self> {
        check_positive("CosineAnnealingLR", "T_max", t_max)?;
        Ok(CosineAnnealingLR {
            t_max,
            eta_min,
            base_lr: optimizer.lr(),
            last_epoch: 0,
            last_lr: optimizer.lr(),
        })
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        self.last_epoch += 1;
        let (epoch, t_max, eta_min) = (self.last_epoch as f64, self.t_max as f64, self.eta_min);
        let lr = optimizer.lr();
        // The epoch after a minimum: the recursive ratio below would divide by zero.
        let lr = if (self.last_epoch - 1 + self.t_max) % (2 * self.t_max) == 0 {
            lr + (self.base_lr - eta_min) * (1.0 - (PI / t_max).cos()) / 2.0
        } else {
            (1.0 + (PI * epoch / t_max).cos()) / (1.0 + (PI * (epoch - 1.0) / t_max).cos())
                * (lr - eta_min)
                + eta_min
        };
        optimizer.set_lr(lr);
        self.last_lr = lr;
    }

    fn get_last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> u64 {
        self.last_epoch
    }
}
