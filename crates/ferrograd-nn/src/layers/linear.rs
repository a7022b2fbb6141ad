//! [`Linear`]: `y = x·Wᵀ + b` over the last dim, as `torch.nn.Linear`.

use super::{config, named, py_bool, weight_and_bias};
use crate::module::{Module, ModuleState};
use ferrograd_autograd::{DType, Result, Tensor};
use ferrograd_ops::matmul::linear;

config! {
    /// The options of [`Linear`] besides its sizes: a bias (default yes) and
    /// the parameters' dtype (default f32).
    ///
    /// ```
    /// use ferrograd_nn::layers::{Linear, LinearConfig};
    /// use ferrograd_autograd::DType;
    /// let fc = Linear::with_config(3, 2, LinearConfig::new().bias(false).dtype(DType::F64))?;
    /// assert!(fc.bias.is_none() && fc.weight.dtype() == DType::F64);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    LinearConfig {
        /// Learn an additive bias.
        bias: bool = true,
        /// The parameters' dtype.
        dtype: DType = DType::F32,
    }
}

/// A fully connected layer: input `(*, in_features)`, output
/// `(*, out_features)`. `weight` is `(out_features, in_features)` and
/// starts `kaiming_uniform_(a=√5)`, i.e. `U(-1/√in, 1/√in)`, as does `bias`.
///
/// ```
/// use ferrograd_nn::layers::Linear;
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::{DType, Tensor};
/// let fc = Linear::new(3136, 128)?;
/// assert_eq!(fc.weight.shape(), &[128, 3136]);
/// let y = fc.forward(&Tensor::zeros(&[4, 3136], DType::F32)?)?;
/// assert_eq!(y.shape(), &[4, 128]);
/// let e = fc.forward(&Tensor::zeros(&[4, 784], DType::F32)?).unwrap_err().to_string();
/// assert!(e.contains("expected input of shape (*, 3136), but got input of shape [4, 784]"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct Linear {
    /// `(out_features, in_features)`.
    pub weight: Tensor,
    /// `(out_features,)`, if the layer has one.
    pub bias: Option<Tensor>,
    in_features: usize,
    out_features: usize,
    state: ModuleState,
}

impl Linear {
    /// A layer with a bias and f32 parameters.
    ///
    /// ```
    /// use ferrograd_nn::layers::Linear;
    /// use ferrograd_autograd::DType;
    /// let fc = Linear::new(4, 2)?;
    /// assert_eq!(fc.bias.as_ref().map(|b| b.shape().to_vec()), Some(vec![2]));
    /// assert_eq!(fc.weight.dtype(), DType::F32);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(in_features: usize, out_features: usize) -> Result<Self> {
        Self::with_config(in_features, out_features, LinearConfig::default())
    }

    /// A layer with the given options.
    ///
    /// ```
    /// use ferrograd_nn::layers::{Linear, LinearConfig};
    /// use ferrograd_autograd::DType;
    /// let fc = Linear::with_config(4, 2, LinearConfig::new().bias(false).dtype(DType::F64))?;
    /// assert!(fc.bias.is_none());
    /// assert_eq!(fc.weight.dtype(), DType::F64);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn with_config(
        in_features: usize,
        out_features: usize,
        config: LinearConfig,
    ) -> Result<Self> {
        let (weight, bias) =
            weight_and_bias(&[out_features, in_features], config.bias, config.dtype)?;
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
            state: ModuleState::new(),
        })
    }

    /// The size of each input sample.
    ///
    /// ```
    /// use ferrograd_nn::layers::Linear;
    /// let fc = Linear::new(784, 10)?;
    /// assert_eq!(fc.in_features(), fc.weight.shape()[1]);
    /// assert_eq!(fc.in_features(), 784);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// The size of each output sample.
    ///
    /// ```
    /// use ferrograd_nn::layers::Linear;
    /// let fc = Linear::new(784, 10)?;
    /// assert_eq!(fc.out_features(), fc.weight.shape()[0]);
    /// assert_eq!(fc.out_features(), 10);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl Module for Linear {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        if input.shape().last() != Some(&self.in_features) {
            return Err(self.input_error(&format!("(*, {})", self.in_features), input.shape()));
        }
        linear(input, &self.weight, self.bias.as_ref())
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        format!(
            "in_features={}, out_features={}, bias={}",
            self.in_features,
            self.out_features,
            py_bool(self.bias.is_some())
        )
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        named(&[("weight", Some(&self.weight)), ("bias", self.bias.as_ref())])
    }
}
