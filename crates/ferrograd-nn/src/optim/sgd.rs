//! [`SGD`]: stochastic gradient descent with momentum, dampening, Nesterov
//! momentum and L2 weight decay, as `torch.optim.SGD`, with its options in
//! [`SgdConfig`].

use super::param_update::{FusedUpdate, ParamSet, ParamState};
use super::{check_non_negative, invalid, Optimizer};
use crate::layers::config;
use ferrograd_autograd::{Result, Tensor};
use ferrograd_storage::FloatElement;

config! {
    /// The options of [`SGD`], with PyTorch's defaults: `lr=1e-3,
    /// momentum=0, dampening=0, weight_decay=0, nesterov=False,
    /// maximize=False`.
    ///
    /// ```
    /// use ferrograd_nn::optim::SgdConfig;
    /// let c = SgdConfig::new().lr(0.1).momentum(0.9).nesterov(true);
    /// assert_eq!((c.lr, c.momentum, c.dampening, c.nesterov), (0.1, 0.9, 0.0, true));
    /// ```
    SgdConfig {
        /// The learning rate.
        lr: f64 = 1e-3,
        /// The momentum factor (0 disables momentum).
        momentum: f64 = 0.0,
        /// Dampening of the gradient added to the momentum buffer.
        dampening: f64 = 0.0,
        /// L2 penalty: `weight_decay * p` is added to the gradient.
        weight_decay: f64 = 0.0,
        /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
        nesterov: bool = false,
        /// Maximize the objective instead of minimizing it.
        maximize: bool = false,
    }
}

/// Stochastic gradient descent (`torch.optim.SGD`). Per parameter, with
/// `g` its gradient (negated when maximizing):
///
/// ```text
/// g = g + weight_decay * p                  (if weight_decay != 0)
/// b = g  on the first step, else  b = momentum * b + (1 - dampening) * g
/// g = g + momentum * b  (nesterov)  or  g = b   (if momentum != 0)
/// p = p - lr * g
/// ```
///
/// Its state per parameter is the momentum buffer `b` (none without
/// momentum).
///
/// ```
/// use ferrograd_nn::optim::{Optimizer, SgdConfig, SGD};
/// use ferrograd_autograd::Tensor;
/// let w = Tensor::from_vec(vec![1.0f64], &[1])?.requires_grad_(true)?;
/// let mut opt = SGD::new(vec![w.clone()], SgdConfig::new().lr(0.5).momentum(0.5))?;
/// for _ in 0..2 {
///     w.set_grad(Some(Tensor::from_vec(vec![1.0f64], &[1])?))?;
///     opt.step()?;
/// }
/// // b = 1, then 0.5 * 1 + 1 = 1.5: w = 1 - 0.5 * (1 + 1.5)
/// assert_eq!(w.to_vec::<f64>()?, vec![-0.25]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct SGD {
    params: ParamSet,
    config: SgdConfig,
}

impl SGD {
    /// An optimizer over `params` (usually `model.parameters()`). Bad options
    /// are errors with PyTorch's messages.
    ///
    /// ```
    /// use ferrograd_nn::optim::{SgdConfig, SGD};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let e = SGD::new(vec![w.clone()], SgdConfig::new().lr(-0.1)).err().unwrap();
    /// assert!(e.to_string().contains("Invalid learning rate: -0.1"));
    /// let e = SGD::new(vec![w], SgdConfig::new().nesterov(true)).err().unwrap();
    /// assert!(e.to_string().contains("Nesterov momentum requires a momentum and zero dampening"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(params: Vec<Tensor>, config: SgdConfig) -> Result<Self> {
        check_non_negative("SGD", "learning rate", config.lr)?;
        check_non_negative("SGD", "momentum value", config.momentum)?;
        check_non_negative("SGD", "weight_decay value", config.weight_decay)?;
        if config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0) {
            return Err(invalid(
                "SGD",
                "Nesterov momentum requires a momentum and zero dampening (set momentum > 0 and dampening = 0, or nesterov = false)".into(),
            ));
        }
        Ok(SGD {
            params: ParamSet::new("SGD", params)?,
            config,
        })
    }

    /// The options in use (with the current learning rate).
    ///
    /// ```
    /// use ferrograd_nn::optim::{Optimizer, SgdConfig, SGD};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let mut opt = SGD::new(vec![w], SgdConfig::new().lr(0.1).momentum(0.9))?;
    /// opt.set_lr(0.01);
    /// assert_eq!((opt.config().lr, opt.config().momentum), (0.01, 0.9));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// Each parameter's state; its buffer is the momentum buffer.
    ///
    /// ```
    /// use ferrograd_nn::optim::{Optimizer, SgdConfig, SGD};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f64], &[1])?.requires_grad_(true)?;
    /// let mut opt = SGD::new(vec![w.clone()], SgdConfig::new().momentum(0.9))?;
    /// w.set_grad(Some(Tensor::from_vec(vec![3.0f64], &[1])?))?;
    /// opt.step()?;
    /// assert_eq!(opt.state()[0].buffers()[0].as_slice::<f64>(), Some(&[3.0][..]));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn state(&self) -> &[ParamState] {
        self.params.state()
    }
}

impl Optimizer for SGD {
    fn step(&mut self) -> Result<()> {
        let config = self.config;
        self.params.update_each(|state| SgdRule {
            config,
            first: state.buffers().is_empty(),
        })
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn params(&self) -> &[Tensor] {
        self.params.tensors()
    }
}

/// One SGD step on a run of elements.
struct SgdRule {
    config: SgdConfig,
    /// No momentum buffer yet: it starts as a copy of the gradient.
    first: bool,
}

impl FusedUpdate for SgdRule {
    fn state_len(&self) -> usize {
        usize::from(self.config.momentum != 0.0)
    }

    #[inline(always)]
    fn apply<T: FloatElement>(&self, p: &mut [T], g: &[T], state: &mut [&mut [T]]) {
        let c = &self.config;
        let t = T::from_f64;
        let (neg_lr, wd, mom, keep) = (
            t(-c.lr),
            t(c.weight_decay),
            t(c.momentum),
            t(1.0 - c.dampening),
        );
        let (decay, maximize, nesterov) = (c.weight_decay != 0.0, c.maximize, c.nesterov);
        let direction = move |p: T, g: T| {
            let g = if maximize { -g } else { g };
            if decay {
                g + wd * p
            } else {
                g
            }
        };
        match state {
            [] => {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p = *p + neg_lr * direction(*p, g);
                }
            }
            [buf] => {
                let first = self.first;
                for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                    let d = direction(*p, g);
                    *b = if first { d } else { *b * mom + keep * d };
                    let d = if nesterov { d + mom * *b } else { *b };
                    *p = *p + neg_lr * d;
                }
            }
            _ => unreachable!("SGD keeps at most one buffer per parameter"),
        }
    }
}
