//! Normalisation layers: [`BatchNorm2d`] (batch statistics while training,
//! running statistics in evaluation) and [`LayerNorm`] (statistics over the
//! trailing dims), as in `torch.nn`.

use super::{config, named, parameter, py_bool, py_float};
use crate::init::{ones_, zeros_};
use crate::module::{Module, ModuleState};
use ferrograd_autograd::{with_no_grad, DType, Result, Tensor};
use ferrograd_ops::norm::{batch_norm, layer_norm, BatchNormOptions};

config! {
    /// The options of [`BatchNorm2d`], with PyTorch's defaults: `eps=1e-5`,
    /// `momentum=Some(0.1)` (`None` averages all batches seen, weighting each
    /// by `1 / num_batches_tracked`), `affine=true`, `bias=true`,
    /// `track_running_stats=true`, f32.
    ///
    /// ```
    /// use ferrograd_nn::layers::{BatchNorm2d, BatchNormConfig};
    /// use ferrograd_nn::module::Module;
    /// let bn = BatchNorm2d::with_config(8, BatchNormConfig::new().momentum(None).affine(false))?;
    /// assert!(bn.weight.is_none());
    /// assert_eq!(bn.repr(), "BatchNorm2d(8, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=True)");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    BatchNormConfig {
        /// Added to the variance before the square root.
        eps: f64 = 1e-5,
        /// The weight of each new batch in the running statistics.
        momentum: Option<f64> = Some(0.1),
        /// Learn a per-channel scale (`weight`) and shift (`bias`).
        affine: bool = true,
        /// Learn the shift too (only with `affine`).
        bias: bool = true,
        /// Keep running statistics for evaluation (else always use the batch's).
        track_running_stats: bool = true,
        /// The dtype of parameters and running statistics.
        dtype: DType = DType::F32,
    }
}

/// Batch normalisation over the channels of `(N, C, H, W)` inputs. While
/// training it normalises with the batch's mean and (biased) variance and
/// updates `running_mean`/`running_var` (unbiased variance) and
/// `num_batches_tracked`; in evaluation it uses the running statistics.
/// Starts with `weight` 1, `bias` 0, `running_mean` 0, `running_var` 1.
///
/// ```
/// use ferrograd_nn::layers::BatchNorm2d;
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::{DType, Tensor};
/// let bn = BatchNorm2d::new(2)?;
/// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[2, 2, 2, 2])?;
/// let y = bn.forward(&x)?;
/// assert!(y.mean()?.item::<f32>()?.abs() < 1e-6);
/// assert_eq!(bn.num_batches_tracked.as_ref().unwrap().item::<i64>()?, 1);
/// bn.eval();
/// let e = bn.forward(&Tensor::zeros(&[2, 3, 4, 4], DType::F32)?).unwrap_err().to_string();
/// assert!(e.contains("expected input of shape (N, 2, H, W), but got input of shape [2, 3, 4, 4]"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct BatchNorm2d {
    /// Per-channel scale, if `affine`.
    pub weight: Option<Tensor>,
    /// Per-channel shift, if `affine`.
    pub bias: Option<Tensor>,
    /// Running mean per channel (a buffer), if tracking.
    pub running_mean: Option<Tensor>,
    /// Running variance per channel (a buffer), if tracking.
    pub running_var: Option<Tensor>,
    /// The number of training batches seen (an i64 scalar buffer), if tracking.
    pub num_batches_tracked: Option<Tensor>,
    num_features: usize,
    config: BatchNormConfig,
    state: ModuleState,
}

impl BatchNorm2d {
    /// A layer over `num_features` channels with PyTorch's defaults.
    ///
    /// ```
    /// use ferrograd_nn::layers::BatchNorm2d;
    /// use ferrograd_nn::module::Module;
    /// let bn = BatchNorm2d::new(3)?;
    /// assert_eq!(bn.repr(), "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)");
    /// assert_eq!(bn.running_var.as_ref().unwrap().to_vec::<f32>()?, vec![1.0; 3]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(num_features: usize) -> Result<Self> {
        Self::with_config(num_features, BatchNormConfig::default())
    }

    /// A layer with the given options.
    ///
    /// ```
    /// use ferrograd_nn::layers::{BatchNorm2d, BatchNormConfig};
    /// use ferrograd_nn::module::Module;
    /// let bn = BatchNorm2d::with_config(4, BatchNormConfig::new().affine(false).track_running_stats(false))?;
    /// assert!(bn.weight.is_none() && bn.running_mean.is_none());
    /// assert!(bn.parameters().is_empty() && bn.buffers().is_empty());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn with_config(num_features: usize, config: BatchNormConfig) -> Result<Self> {
        let (weight, bias) = affine_params(&[num_features], config.affine, config.dtype)?;
        let bias = bias.filter(|_| config.bias);
        let (running_mean, running_var, num_batches_tracked) = match config.track_running_stats {
            true => (
                Some(Tensor::zeros(&[num_features], config.dtype)?),
                Some(Tensor::ones(&[num_features], config.dtype)?),
                Some(Tensor::zeros(&[], DType::I64)?),
            ),
            false => (None, None, None),
        };
        Ok(BatchNorm2d {
            weight,
            bias,
            running_mean,
            running_var,
            num_batches_tracked,
            num_features,
            config,
            state: ModuleState::new(),
        })
    }

    /// The update weight of this training batch: `momentum`, or
    /// `1 / num_batches_tracked` for a cumulative average. Counts the batch.
    fn count_batch(&self) -> Result<f64> {
        let Some(n) = &self.num_batches_tracked else {
            return Ok(self.config.momentum.unwrap_or(0.0));
        };
        with_no_grad(|| n.add_(1))?;
        match self.config.momentum {
            Some(m) => Ok(m),
            None => Ok(1.0 / n.item::<i64>()? as f64),
        }
    }
}

/// `weight` (ones) and `bias` (zeros) of `shape` when `affine`.
fn affine_params(
    shape: &[usize],
    affine: bool,
    dtype: DType,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    if !affine {
        return Ok((None, None));
    }
    Ok((
        Some(parameter(shape, dtype, ones_)?),
        Some(parameter(shape, dtype, zeros_)?),
    ))
}

impl Module for BatchNorm2d {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        let shape = input.shape();
        if shape.len() != 4 || shape[1] != self.num_features {
            return Err(self.input_error(&format!("(N, {}, H, W)", self.num_features), shape));
        }
        let training = self.is_training();
        let momentum = match training && self.config.track_running_stats {
            true => self.count_batch()?,
            false => self.config.momentum.unwrap_or(0.0),
        };
        let opts = BatchNormOptions {
            training: training || self.running_mean.is_none(),
            momentum,
            eps: self.config.eps,
        };
        batch_norm(
            input,
            self.running_mean.as_ref(),
            self.running_var.as_ref(),
            self.weight.as_ref(),
            self.bias.as_ref(),
            opts,
        )
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        let c = &self.config;
        format!(
            "{}, eps={}, momentum={}, affine={}, bias={}, track_running_stats={}",
            self.num_features,
            py_float(c.eps),
            c.momentum.map_or("None".to_string(), py_float),
            py_bool(c.affine),
            py_bool(self.bias.is_some()),
            py_bool(c.track_running_stats)
        )
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        named(&[
            ("weight", self.weight.as_ref()),
            ("bias", self.bias.as_ref()),
        ])
    }

    fn local_buffers(&self) -> Vec<(String, Tensor)> {
        named(&[
            ("running_mean", self.running_mean.as_ref()),
            ("running_var", self.running_var.as_ref()),
            ("num_batches_tracked", self.num_batches_tracked.as_ref()),
        ])
    }
}

config! {
    /// The options of [`LayerNorm`], with PyTorch's defaults: `eps=1e-5`,
    /// `elementwise_affine=true`, `bias=true`, f32.
    ///
    /// ```
    /// use ferrograd_nn::layers::{LayerNorm, LayerNormConfig};
    /// let ln = LayerNorm::with_config(&[4], LayerNormConfig::new().bias(false))?;
    /// assert!(ln.weight.is_some() && ln.bias.is_none());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    LayerNormConfig {
        /// Added to the variance before the square root.
        eps: f64 = 1e-5,
        /// Learn an elementwise scale (`weight`) and, with `bias`, a shift.
        elementwise_affine: bool = true,
        /// Learn the shift too (only with `elementwise_affine`).
        bias: bool = true,
        /// The parameters' dtype.
        dtype: DType = DType::F32,
    }
}

/// Layer normalisation over the trailing dims given by `normalized_shape`
/// (biased variance), with an elementwise scale starting at 1 and shift at 0.
///
/// ```
/// use ferrograd_nn::layers::LayerNorm;
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::{DType, Tensor};
/// let ln = LayerNorm::new(&[2])?;
/// assert_eq!(ln.repr(), "LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)");
/// let y = ln.forward(&Tensor::from_vec(vec![1.0f32, 3.0], &[1, 2])?)?;
/// assert!((y.to_vec::<f32>()?[1] - 1.0).abs() < 1e-4);
/// let e = ln.forward(&Tensor::zeros(&[2, 3], DType::F32)?).unwrap_err().to_string();
/// assert!(e.contains("expected input of shape (*, 2), but got input of shape [2, 3]"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct LayerNorm {
    /// Elementwise scale of shape `normalized_shape`, if affine.
    pub weight: Option<Tensor>,
    /// Elementwise shift of shape `normalized_shape`, if affine with bias.
    pub bias: Option<Tensor>,
    normalized_shape: Vec<usize>,
    config: LayerNormConfig,
    state: ModuleState,
}

impl LayerNorm {
    /// A layer normalising over trailing dims `normalized_shape`.
    ///
    /// ```
    /// use ferrograd_nn::layers::LayerNorm;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::Tensor;
    /// let ln = LayerNorm::new(&[2, 2])?;
    /// let y = ln.forward(&Tensor::from_vec(vec![1.0f32, 1.0, 3.0, 3.0], &[1, 2, 2])?)?;
    /// assert!(y.to_vec::<f32>()?.iter().zip([-1.0, -1.0, 1.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-4));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(normalized_shape: &[usize]) -> Result<Self> {
        Self::with_config(normalized_shape, LayerNormConfig::default())
    }

    /// A layer with the given options.
    ///
    /// ```
    /// use ferrograd_nn::layers::{LayerNorm, LayerNormConfig};
    /// use ferrograd_nn::module::Module;
    /// let ln = LayerNorm::with_config(&[8], LayerNormConfig::new().elementwise_affine(false))?;
    /// assert!(ln.weight.is_none() && ln.parameters().is_empty());
    /// assert_eq!(ln.repr(), "LayerNorm((8,), eps=1e-05, elementwise_affine=False, bias=False)");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn with_config(normalized_shape: &[usize], config: LayerNormConfig) -> Result<Self> {
        let (weight, bias) =
            affine_params(normalized_shape, config.elementwise_affine, config.dtype)?;
        Ok(LayerNorm {
            weight,
            bias: bias.filter(|_| config.bias),
            normalized_shape: normalized_shape.to_vec(),
            config,
            state: ModuleState::new(),
        })
    }
}

impl Module for LayerNorm {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        let (shape, ns) = (input.shape(), &self.normalized_shape);
        if shape.len() < ns.len() || shape[shape.len() - ns.len()..] != ns[..] {
            let dims: Vec<String> = ns.iter().map(|d| d.to_string()).collect();
            return Err(self.input_error(&format!("(*, {})", dims.join(", ")), shape));
        }
        layer_norm(
            input,
            ns,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.config.eps,
        )
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        let dims: Vec<String> = self
            .normalized_shape
            .iter()
            .map(|d| d.to_string())
            .collect();
        let tuple = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        format!(
            "{tuple}, eps={}, elementwise_affine={}, bias={}",
            py_float(self.config.eps),
            py_bool(self.config.elementwise_affine),
            py_bool(self.bias.is_some())
        )
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        named(&[
            ("weight", self.weight.as_ref()),
            ("bias", self.bias.as_ref()),
        ])
    }
}
