//! [`Adam`] and [`AdamW`] (`torch.optim.Adam` / `AdamW`): bias-corrected
//! first and second moments, L2 or decoupled weight decay, optional AMSGrad,
//! with their options in [`AdamConfig`] and [`AdamWConfig`].

use super::param_update::{FusedUpdate, ParamSet, ParamState};
use super::{check_non_negative, invalid, Optimizer};
use crate::layers::{config, py_float};
use ferrograd_autograd::{Result, Tensor};
use ferrograd_storage::FloatElement;

config! {
    /// The options of [`Adam`], with PyTorch's defaults: `lr=1e-3,
    /// betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    /// maximize=False`.
    ///
    /// ```
    /// use ferrograd_nn::optim::AdamConfig;
    /// let c = AdamConfig::new().lr(3e-4).amsgrad(true);
    /// assert_eq!((c.lr, c.betas, c.eps, c.amsgrad), (3e-4, (0.9, 0.999), 1e-8, true));
    /// ```
    AdamConfig {
        /// The learning rate.
        lr: f64 = 1e-3,
        /// Decay rates of the running averages of the gradient and its square.
        betas: (f64, f64) = (0.9, 0.999),
        /// Added to the denominator for numerical stability.
        eps: f64 = 1e-8,
        /// L2 penalty: `weight_decay * p` is added to the gradient.
        weight_decay: f64 = 0.0,
        /// Normalize by the running maximum of the second moment.
        amsgrad: bool = false,
        /// Maximize the objective instead of minimizing it.
        maximize: bool = false,
    }
}

config! {
    /// The options of [`AdamW`], with PyTorch's defaults: those of
    /// [`AdamConfig`] except `weight_decay=1e-2`, which here decays the
    /// parameter directly (`p *= 1 - lr * weight_decay`) instead of joining
    /// the gradient.
    ///
    /// ```
    /// use ferrograd_nn::optim::AdamWConfig;
    /// assert_eq!(AdamWConfig::new().weight_decay, 1e-2);
    /// ```
    AdamWConfig {
        /// The learning rate.
        lr: f64 = 1e-3,
        /// Decay rates of the running averages of the gradient and its square.
        betas: (f64, f64) = (0.9, 0.999),
        /// Added to the denominator for numerical stability.
        eps: f64 = 1e-8,
        /// Decoupled weight decay factor.
        weight_decay: f64 = 1e-2,
        /// Normalize by the running maximum of the second moment.
        amsgrad: bool = false,
        /// Maximize the objective instead of minimizing it.
        maximize: bool = false,
    }
}

impl From<AdamWConfig> for AdamConfig {
    fn from(c: AdamWConfig) -> Self {
        AdamConfig {
            lr: c.lr,
            betas: c.betas,
            eps: c.eps,
            weight_decay: c.weight_decay,
            amsgrad: c.amsgrad,
            maximize: c.maximize,
        }
    }
}

/// Adam (`torch.optim.Adam`). Per parameter, at step `t`, with `g` its
/// gradient (negated when maximizing):
///
/// ```text
/// g = g + weight_decay * p                      (if weight_decay != 0)
/// m = lerp(m, g, 1 - beta1)
/// v = beta2 * v + (1 - beta2) * g * g
/// v̂ = max(v̂, v)                                 (amsgrad)
/// p = p - lr / (1 - beta1^t) * m / (sqrt(v or v̂) / sqrt(1 - beta2^t) + eps)
/// ```
///
/// Its state per parameter is `m`, `v` and, with AMSGrad, `v̂`.
///
/// ```
/// use ferrograd_nn::optim::{Adam, AdamConfig, Optimizer};
/// use ferrograd_autograd::Tensor;
/// let w = Tensor::from_vec(vec![1.0f64, -1.0], &[2])?.requires_grad_(true)?;
/// let mut opt = Adam::new(vec![w.clone()], AdamConfig::new().lr(0.1))?;
/// w.set_grad(Some(Tensor::from_vec(vec![4.0f64, -0.5], &[2])?))?;
/// opt.step()?;
/// // The first step moves each element by about lr against its gradient's sign.
/// let v = w.to_vec::<f64>()?;
/// assert!((v[0] - 0.9).abs() < 1e-8 && (v[1] + 0.9).abs() < 1e-8);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct Adam {
    params: ParamSet,
    config: AdamConfig,
    decoupled: bool,
}

impl Adam {
    /// An optimizer over `params`. Bad options are errors with PyTorch's
    /// messages.
    ///
    /// ```
    /// use ferrograd_nn::optim::{Adam, AdamConfig};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let e = Adam::new(vec![w], AdamConfig::new().betas((0.9, 1.0))).err().unwrap();
    /// assert!(e.to_string().contains("Invalid beta parameter at index 1: 1.0"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Result<Self> {
        Self::build("Adam", params, config, false)
    }

    fn build(
        name: &'static str,
        params: Vec<Tensor>,
        config: AdamConfig,
        decoupled: bool,
    ) -> Result<Self> {
        check_non_negative(name, "learning rate", config.lr)?;
        check_non_negative(name, "epsilon value", config.eps)?;
        for (i, beta) in [config.betas.0, config.betas.1].into_iter().enumerate() {
            if !(0.0..1.0).contains(&beta) {
                return Err(invalid(
                    name,
                    format!(
                        "Invalid beta parameter at index {i}: {} (betas must be in [0, 1))",
                        py_float(beta)
                    ),
                ));
            }
        }
        check_non_negative(name, "weight_decay value", config.weight_decay)?;
        Ok(Adam {
            params: ParamSet::new(name, params)?,
            config,
            decoupled,
        })
    }

    /// The options in use (with the current learning rate).
    ///
    /// ```
    /// use ferrograd_nn::optim::{Adam, AdamConfig, Optimizer};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let mut opt = Adam::new(vec![w], AdamConfig::new().betas((0.8, 0.99)))?;
    /// opt.set_lr(0.05);
    /// assert_eq!((opt.config().lr, opt.config().betas), (0.05, (0.8, 0.99)));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Each parameter's state: its step count and buffers `m`, `v` (and
    /// `v̂` with AMSGrad).
    ///
    /// ```
    /// use ferrograd_nn::optim::{Adam, AdamConfig, Optimizer};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f64], &[1])?.requires_grad_(true)?;
    /// let mut opt = Adam::new(vec![w.clone()], AdamConfig::new().amsgrad(true))?;
    /// w.set_grad(Some(Tensor::from_vec(vec![2.0f64], &[1])?))?;
    /// opt.step()?;
    /// assert_eq!((opt.state()[0].step(), opt.state()[0].buffers().len()), (1, 3));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn state(&self) -> &[ParamState] {
        self.params.state()
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        let (config, decoupled) = (self.config, self.decoupled);
        self.params
            .update_each(|state| AdamRule::new(&config, decoupled, state.step() + 1))
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

/// Adam with decoupled weight decay (`torch.optim.AdamW`): each step first
/// scales the parameter by `1 - lr * weight_decay`, then applies
/// [`Adam`]'s update without weight decay in the gradient.
///
/// ```
/// use ferrograd_nn::optim::{AdamW, AdamWConfig, Optimizer};
/// use ferrograd_autograd::Tensor;
/// let w = Tensor::from_vec(vec![2.0f64], &[1])?.requires_grad_(true)?;
/// let mut opt = AdamW::new(vec![w.clone()], AdamWConfig::new().lr(0.1).weight_decay(0.5))?;
/// w.set_grad(Some(Tensor::from_vec(vec![1.0f64], &[1])?))?;
/// opt.step()?;
/// // 2 * (1 - 0.1 * 0.5) - 0.1 (Adam's first step is about lr)
/// assert!((w.item::<f64>()? - 1.8).abs() < 1e-7);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct AdamW {
    inner: Adam,
}

impl AdamW {
    /// An optimizer over `params`; bad options are errors as for [`Adam`].
    ///
    /// ```
    /// use ferrograd_nn::optim::{AdamW, AdamWConfig};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let e = AdamW::new(vec![w], AdamWConfig::new().eps(-1.0)).err().unwrap();
    /// assert!(e.to_string().contains("Invalid epsilon value: -1.0"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(params: Vec<Tensor>, config: AdamWConfig) -> Result<Self> {
        Ok(AdamW {
            inner: Adam::build("AdamW", params, config.into(), true)?,
        })
    }

    /// The options in use (with the current learning rate), as an
    /// [`AdamConfig`] whose `weight_decay` is the decoupled one.
    ///
    /// ```
    /// use ferrograd_nn::optim::{AdamW, AdamWConfig, Optimizer};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let mut opt = AdamW::new(vec![w], AdamWConfig::new().amsgrad(true))?;
    /// opt.set_lr(0.5);
    /// assert_eq!((opt.config().lr, opt.config().weight_decay, opt.config().amsgrad), (0.5, 1e-2, true));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn config(&self) -> &AdamConfig {
        self.inner.config()
    }

    /// Each parameter's state, as [`Adam::state`].
    ///
    /// ```
    /// use ferrograd_nn::optim::{AdamW, AdamWConfig, Optimizer};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f64], &[1])?.requires_grad_(true)?;
    /// let mut opt = AdamW::new(vec![w.clone()], AdamWConfig::new())?;
    /// assert!(opt.state()[0].buffers().is_empty());
    /// w.set_grad(Some(Tensor::from_vec(vec![2.0f64], &[1])?))?;
    /// opt.step()?;
    /// assert_eq!((opt.state()[0].step(), opt.state()[0].buffers().len()), (1, 2));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn state(&self) -> &[ParamState] {
        self.inner.state()
    }
}

impl Optimizer for AdamW {
    fn step(&mut self) -> Result<()> {
        self.inner.step()
    }

    fn lr(&self) -> f64 {
        self.inner.lr()
    }

    fn set_lr(&mut self, lr: f64) {
        self.inner.set_lr(lr)
    }

    fn params(&self) -> &[Tensor] {
        self.inner.params()
    }
}

/// One Adam step's scalars, computed in f64 as `torch.optim` does.
struct AdamRule {
    /// `1 - lr * weight_decay` when decoupled, else 1 (no scaling).
    shrink: f64,
    /// L2 weight decay added to the gradient (0 when decoupled).
    l2: f64,
    one_minus_beta1: f64,
    beta2: f64,
    one_minus_beta2: f64,
    bias_correction2_sqrt: f64,
    neg_step_size: f64,
    eps: f64,
    amsgrad: bool,
    maximize: bool,
}

impl AdamRule {
    fn new(c: &AdamConfig, decoupled: bool, step: u64) -> Self {
        let (beta1, beta2) = c.betas;
        let t = step as f64;
        let bias_correction1 = 1.0 - beta1.powf(t);
        let bias_correction2 = 1.0 - beta2.powf(t);
        AdamRule {
            shrink: if decoupled {
                1.0 - c.lr * c.weight_decay
            } else {
                1.0
            },
            l2: if decoupled { 0.0 } else { c.weight_decay },
            one_minus_beta1: 1.0 - beta1,
            beta2,
            one_minus_beta2: 1.0 - beta2,
            bias_correction2_sqrt: bias_correction2.powf(0.5),
            neg_step_size: -(c.lr / bias_correction1),
            eps: c.eps,
            amsgrad: c.amsgrad,
            maximize: c.maximize,
        }
    }
}

impl FusedUpdate for AdamRule {
    fn state_len(&self) -> usize {
        2 + usize::from(self.amsgrad)
    }

    #[inline(always)]
    fn apply<T: FloatElement>(&self, p: &mut [T], g: &[T], state: &mut [&mut [T]]) {
        let t = T::from_f64;
        let (shrink, l2, w1) = (t(self.shrink), t(self.l2), t(self.one_minus_beta1));
        let (beta2, w2, bc2) = (
            t(self.beta2),
            t(self.one_minus_beta2),
            t(self.bias_correction2_sqrt),
        );
        let (neg_step, eps) = (t(self.neg_step_size), t(self.eps));
        let (scale, decay, maximize) = (self.shrink != 1.0, self.l2 != 0.0, self.maximize);
        let small_weight = self.one_minus_beta1 < 0.5;
        let beta1 = t(1.0) - w1;
        // Returns the new parameter and writes m and v.
        let moments = move |p: T, g: T, m: &mut T, v: &mut T| {
            let p = if scale { p * shrink } else { p };
            let g = if maximize { -g } else { g };
            let g = if decay { g + l2 * p } else { g };
            // torch.lerp's two forms, chosen by the weight.
            *m = if small_weight {
                *m + w1 * (g - *m)
            } else {
                g - (g - *m) * beta1
            };
            *v = *v * beta2 + w2 * g * g;
            p
        };
        let update = move |p: T, m: T, v: T| p + neg_step * m / (v.sqrt() / bc2 + eps);
        match state {
            [m, v] => {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let q = moments(*p, g, m, v);
                    *p = update(q, *m, *v);
                }
            }
            [m, v, vmax] => {
                let elems = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
                for ((((p, &g), m), v), vmax) in elems.zip(vmax.iter_mut()) {
                    let q = moments(*p, g, m, v);
                    *vmax = if *vmax >= *v { *vmax } else { *v };
                    *p = update(q, *m, *vmax);
                }
            }
            _ => unreachable!("Adam keeps two or three buffers per parameter"),
        }
    }
}
