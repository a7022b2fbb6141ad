//! Elementwise activation layers without parameters: [`ReLU`], [`GELU`],
//! [`Tanh`], [`Sigmoid`]. They take inputs of any shape.

use crate::module::{Module, ModuleState};
use ferrograd_autograd::{Result, Tensor};
use ferrograd_ops::unary::{GeluApproximate, UnaryOps};

/// Defines a stateless activation layer `$name` applying `$op`.
macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, $op:ident) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $name {
            state: ModuleState,
        }

        impl $name {
            /// The layer.
            ///
            /// ```
            /// use ferrograd_nn::module::Module;
            /// use ferrograd_autograd::{DType, Tensor};
            #[doc = concat!("let layer = ferrograd_nn::layers::", stringify!($name), "::new();")]
            #[doc = concat!("assert_eq!(layer.repr(), \"", stringify!($name), "()\");")]
            /// assert_eq!(layer.forward(&Tensor::zeros(&[2, 3], DType::F32)?)?.shape(), &[2, 3]);
            /// # Ok::<(), ferrograd_autograd::Error>(())
            /// ```
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl Module for $name {
            fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
                input.$op()
            }

            fn state(&self) -> &ModuleState {
                &self.state
            }
        }
    };
}

activation! {
    /// `max(x, 0)`, as `torch.nn.ReLU`.
    ///
    /// ```
    /// use ferrograd_nn::layers::ReLU;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::Tensor;
    /// let y = ReLU::new().forward(&Tensor::from_vec(vec![-1.0f32, 2.0], &[2])?)?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    ReLU, relu
}

activation! {
    /// `tanh(x)`, as `torch.nn.Tanh`.
    ///
    /// ```
    /// use ferrograd_nn::layers::Tanh;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::Tensor;
    /// let y = Tanh::new().forward(&Tensor::from_vec(vec![0.0f64], &[1])?)?;
    /// assert_eq!(y.to_vec::<f64>()?, vec![0.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    Tanh, tanh
}

activation! {
    /// `1 / (1 + e^-x)`, as `torch.nn.Sigmoid`.
    ///
    /// ```
    /// use ferrograd_nn::layers::Sigmoid;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::Tensor;
    /// let y = Sigmoid::new().forward(&Tensor::from_vec(vec![0.0f32], &[1])?)?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![0.5]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    Sigmoid, sigmoid
}

/// The Gaussian error linear unit `x·Φ(x)`, as `torch.nn.GELU`; the `tanh`
/// approximation with [`GELU::tanh`].
///
/// ```
/// use ferrograd_nn::layers::GELU;
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![0.0f64, 1.0], &[2])?;
/// let y = GELU::new().forward(&x)?.to_vec::<f64>()?;
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 0.8413447460685429).abs() < 1e-12);
/// assert_eq!(GELU::tanh().repr(), "GELU(approximate='tanh')");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct GELU {
    approximate: GeluApproximate,
    state: ModuleState,
}

impl GELU {
    /// The exact GELU (`approximate='none'`).
    ///
    /// ```
    /// use ferrograd_nn::layers::GELU;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::Tensor;
    /// let y = GELU::new().forward(&Tensor::from_vec(vec![-1.0f64], &[1])?)?.item::<f64>()?;
    /// assert!((y - -0.15865525393145707).abs() < 1e-12); // -1 * Φ(-1)
    /// assert_eq!(GELU::new().repr(), "GELU(approximate='none')");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The tanh approximation (`approximate='tanh'`).
    ///
    /// ```
    /// use ferrograd_nn::layers::GELU;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::Tensor;
    /// let y = GELU::tanh().forward(&Tensor::from_vec(vec![1.0f64], &[1])?)?.item::<f64>()?;
    /// let approx = 0.5 * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (1.0 + 0.044715)).tanh());
    /// assert!((y - approx).abs() < 1e-12);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn tanh() -> Self {
        GELU {
            approximate: GeluApproximate::Tanh,
            state: ModuleState::new(),
        }
    }
}

impl Module for GELU {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        input.gelu_with(self.approximate)
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        let name = match self.approximate {
            GeluApproximate::Tanh => "tanh",
            _ => "none",
        };
        format!("approximate='{name}'")
    }
}
