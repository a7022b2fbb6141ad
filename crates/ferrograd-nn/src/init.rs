//! Weight initialisation, as `torch.nn.init`: [`kaiming_uniform_`],
//! [`kaiming_normal_`], [`xavier_uniform_`], [`xavier_normal_`],
//! [`uniform_`], [`normal_`], [`zeros_`], [`ones_`], [`constant_`], with
//! [`calculate_gain`] and [`calculate_fan_in_and_fan_out`]. Every function
//! fills the tensor in place under `no_grad` (so it works on parameters that
//! require grad), draws from the default generator (seed it with
//! `manual_seed`), and returns a handle to the tensor.

use ferrograd_autograd::{with_no_grad, Error, Result, Tensor};
use std::str::FromStr;

/// The nonlinearity a gain is computed for (`nonlinearity=` in PyTorch).
///
/// ```
/// use ferrograd_nn::init::Nonlinearity;
/// assert_eq!("leaky_relu".parse::<Nonlinearity>()?, Nonlinearity::LeakyRelu);
/// let e = "swish".parse::<Nonlinearity>().unwrap_err().to_string();
/// assert!(e.contains("Unsupported nonlinearity swish"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nonlinearity {
    /// `linear`: gain 1.
    Linear,
    /// `conv1d`: gain 1.
    Conv1d,
    /// `conv2d`: gain 1.
    Conv2d,
    /// `conv3d`: gain 1.
    Conv3d,
    /// `conv_transpose1d`: gain 1.
    ConvTranspose1d,
    /// `conv_transpose2d`: gain 1.
    ConvTranspose2d,
    /// `conv_transpose3d`: gain 1.
    ConvTranspose3d,
    /// `sigmoid`: gain 1.
    Sigmoid,
    /// `tanh`: gain 5/3.
    Tanh,
    /// `relu`: gain √2.
    Relu,
    /// `leaky_relu`: gain √(2 / (1 + slope²)).
    LeakyRelu,
    /// `selu`: gain 3/4.
    Selu,
}

impl FromStr for Nonlinearity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        use Nonlinearity::*;
        Ok(match s {
            "linear" => Linear,
            "conv1d" => Conv1d,
            "conv2d" => Conv2d,
            "conv3d" => Conv3d,
            "conv_transpose1d" => ConvTranspose1d,
            "conv_transpose2d" => ConvTranspose2d,
            "conv_transpose3d" => ConvTranspose3d,
            "sigmoid" => Sigmoid,
            "tanh" => Tanh,
            "relu" => Relu,
            "leaky_relu" => LeakyRelu,
            "selu" => Selu,
            other => {
                return Err(Error::invalid(
                    "calculate_gain",
                    format!("Unsupported nonlinearity {other}: use one of linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu, selu"),
                ))
            }
        })
    }
}

/// Which fan Kaiming initialisation preserves the variance of (`mode=`):
/// `FanIn` the forward pass's, `FanOut` the backward pass's.
///
/// ```
/// use ferrograd_nn::init::FanMode;
/// assert_eq!("fan_out".parse::<FanMode>()?, FanMode::FanOut);
/// assert!("fan_avg".parse::<FanMode>().unwrap_err().to_string().contains("Mode fan_avg not supported"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// The number of inputs feeding each output.
    FanIn,
    /// The number of outputs each input feeds.
    FanOut,
}

impl FromStr for FanMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fan_in" => Ok(FanMode::FanIn),
            "fan_out" => Ok(FanMode::FanOut),
            other => Err(Error::invalid(
                "kaiming_uniform_",
                format!("Mode {other} not supported, please use one of fan_in, fan_out"),
            )),
        }
    }
}

/// The recommended gain for a nonlinearity (`torch.nn.init.calculate_gain`);
/// `param` is leaky_relu's negative slope (0.01 when `None`) and is ignored
/// by the others.
///
/// ```
/// use ferrograd_nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Relu, None), 2f64.sqrt());
/// assert_eq!(calculate_gain(Nonlinearity::Tanh, None), 5.0 / 3.0);
/// let g = calculate_gain(Nonlinearity::LeakyRelu, Some(5f64.sqrt()));
/// assert!((g - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f64>) -> f64 {
    match nonlinearity {
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu => {
            let slope = param.unwrap_or(0.01);
            (2.0 / (1.0 + slope * slope)).sqrt()
        }
        Nonlinearity::Selu => 0.75,
        _ => 1.0,
    }
}

/// `(fan_in, fan_out)` of a weight: `shape[1]` and `shape[0]`, each times
/// the product of the remaining (receptive-field) dims, as PyTorch computes
/// them. Needs at least 2 dims.
///
/// ```
/// use ferrograd_nn::init::calculate_fan_in_and_fan_out;
/// use ferrograd_autograd::{DType, Tensor};
/// let conv_w = Tensor::zeros(&[64, 32, 3, 3], DType::F32)?;
/// assert_eq!(calculate_fan_in_and_fan_out(&conv_w)?, (288, 576));
/// let e = calculate_fan_in_and_fan_out(&Tensor::zeros(&[5], DType::F32)?).unwrap_err();
/// assert!(e.to_string().contains("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn calculate_fan_in_and_fan_out(tensor: &Tensor) -> Result<(usize, usize)> {
    let shape = tensor.shape();
    if shape.len() < 2 {
        return Err(Error::invalid(
            "calculate_fan_in_and_fan_out",
            format!(
                "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got shape {shape:?}); initialise 1-D tensors with uniform_, normal_ or constant_"
            ),
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

/// Fills `tensor` by `fill(tensor, std)` with the Kaiming standard
/// deviation `gain / √fan`; a tensor without elements is left as it is.
fn kaiming(
    tensor: &Tensor,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    fill: impl FnOnce(&Tensor, f64) -> Result<Tensor>,
) -> Result<Tensor> {
    if tensor.numel() == 0 {
        return Ok(tensor.clone());
    }
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor)?;
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    fill(
        tensor,
        calculate_gain(nonlinearity, Some(a)) / (fan as f64).sqrt(),
    )
}

/// The Xavier standard deviation `gain · √(2 / (fan_in + fan_out))`.
fn xavier_std(tensor: &Tensor, gain: f64) -> Result<f64> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor)?;
    Ok(gain * (2.0 / (fan_in + fan_out) as f64).sqrt())
}

/// Kaiming (He) uniform: `U(-b, b)` with `b = gain · √(3 / fan)`, where
/// `gain = calculate_gain(nonlinearity, a)`. Linear and Conv2d weights use
/// `a = √5`, `FanIn`, `LeakyRelu`, which makes `b = 1/√fan_in`. A tensor
/// with no elements is left as it is.
///
/// ```
/// use ferrograd_nn::init::{kaiming_uniform_, FanMode, Nonlinearity};
/// use ferrograd_autograd::{DType, Tensor};
/// let w = Tensor::zeros(&[128, 3136], DType::F32)?;
/// kaiming_uniform_(&w, 5f64.sqrt(), FanMode::FanIn, Nonlinearity::LeakyRelu)?;
/// let bound = 1.0 / 3136f32.sqrt();
/// assert!(w.to_vec::<f32>()?.iter().all(|v| v.abs() <= bound));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn kaiming_uniform_(
    tensor: &Tensor,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<Tensor> {
    kaiming(tensor, a, mode, nonlinearity, |t, std| {
        uniform_(t, -3f64.sqrt() * std, 3f64.sqrt() * std)
    })
}

/// Kaiming (He) normal: `N(0, std²)` with `std = gain / √fan`.
///
/// ```
/// use ferrograd_nn::init::{kaiming_normal_, FanMode, Nonlinearity};
/// use ferrograd_autograd::{DType, Tensor};
/// let w = Tensor::zeros(&[64, 32, 3, 3], DType::F64)?;
/// kaiming_normal_(&w, 0.0, FanMode::FanOut, Nonlinearity::Relu)?;
/// let v = w.to_vec::<f64>()?;
/// let var = v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64;
/// assert!((var / (2.0 / 576.0) - 1.0).abs() < 0.1);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn kaiming_normal_(
    tensor: &Tensor,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<Tensor> {
    kaiming(tensor, a, mode, nonlinearity, |t, std| normal_(t, 0.0, std))
}

/// Xavier (Glorot) uniform: `U(-b, b)` with `b = gain · √(6 / (fan_in + fan_out))`.
///
/// ```
/// use ferrograd_nn::init::xavier_uniform_;
/// use ferrograd_autograd::{DType, Tensor};
/// let w = Tensor::zeros(&[20, 30], DType::F32)?;
/// xavier_uniform_(&w, 1.0)?;
/// assert!(w.to_vec::<f32>()?.iter().all(|v| v.abs() <= (6.0f32 / 50.0).sqrt()));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn xavier_uniform_(tensor: &Tensor, gain: f64) -> Result<Tensor> {
    let bound = 3f64.sqrt() * xavier_std(tensor, gain)?;
    uniform_(tensor, -bound, bound)
}

/// Xavier (Glorot) normal: `N(0, std²)` with `std = gain · √(2 / (fan_in + fan_out))`.
///
/// ```
/// use ferrograd_nn::init::xavier_normal_;
/// use ferrograd_autograd::{DType, Tensor};
/// let w = Tensor::zeros(&[200, 300], DType::F64)?;
/// xavier_normal_(&w, 2.0)?;
/// let v = w.to_vec::<f64>()?;
/// let var = v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64;
/// assert!((var / (4.0 * 2.0 / 500.0) - 1.0).abs() < 0.05);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn xavier_normal_(tensor: &Tensor, gain: f64) -> Result<Tensor> {
    let std = xavier_std(tensor, gain)?;
    normal_(tensor, 0.0, std)
}

/// Fills with `U(low, high)`.
///
/// ```
/// use ferrograd_nn::init::uniform_;
/// use ferrograd_autograd::{DType, Tensor};
/// let w = Tensor::zeros(&[100], DType::F32)?.requires_grad_(true)?;
/// uniform_(&w, 2.0, 3.0)?;
/// assert!(w.to_vec::<f32>()?.iter().all(|v| (2.0..3.0).contains(v)));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn uniform_(tensor: &Tensor, low: f64, high: f64) -> Result<Tensor> {
    with_no_grad(|| tensor.uniform_(low, high))
}

/// Fills with `N(mean, std²)`.
///
/// ```
/// use ferrograd_nn::init::normal_;
/// use ferrograd_autograd::{DType, Tensor};
/// let w = Tensor::zeros(&[3], DType::F64)?;
/// normal_(&w, 1.5, 0.0)?;
/// assert_eq!(w.to_vec::<f64>()?, vec![1.5; 3]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn normal_(tensor: &Tensor, mean: f64, std: f64) -> Result<Tensor> {
    with_no_grad(|| tensor.normal_(mean, std))
}

/// Fills with `value`.
///
/// ```
/// use ferrograd_nn::init::constant_;
/// use ferrograd_autograd::{DType, Tensor};
/// let b = Tensor::zeros(&[2], DType::F32)?.requires_grad_(true)?;
/// constant_(&b, 0.25)?;
/// assert_eq!(b.to_vec::<f32>()?, vec![0.25, 0.25]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn constant_(tensor: &Tensor, value: f64) -> Result<Tensor> {
    with_no_grad(|| tensor.fill_(value))
}

/// Fills with zeros.
///
/// ```
/// use ferrograd_nn::init::zeros_;
/// use ferrograd_autograd::{DType, Tensor};
/// let t = Tensor::ones(&[2], DType::F32)?;
/// assert_eq!(zeros_(&t)?.to_vec::<f32>()?, vec![0.0, 0.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn zeros_(tensor: &Tensor) -> Result<Tensor> {
    with_no_grad(|| tensor.fill_(0))
}

/// Fills with ones.
///
/// ```
/// use ferrograd_nn::init::ones_;
/// use ferrograd_autograd::{DType, Tensor};
/// let t = Tensor::zeros(&[2], DType::F64)?;
/// assert_eq!(ones_(&t)?.to_vec::<f64>()?, vec![1.0, 1.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn ones_(tensor: &Tensor) -> Result<Tensor> {
    with_no_grad(|| tensor.fill_(1))
}
