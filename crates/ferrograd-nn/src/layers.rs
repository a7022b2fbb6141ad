//! The layers of `torch.nn` that a CNN needs, each a [`Module`] with
//! PyTorch's parameter names, default initialisation and `repr`: [`Linear`],
//! [`Conv2d`], [`BatchNorm2d`], [`LayerNorm`], [`Dropout`], [`Embedding`],
//! the activations [`ReLU`], [`GELU`], [`Tanh`], [`Sigmoid`], the pools
//! [`MaxPool2d`], [`AvgPool2d`], [`Flatten`], and the container
//! [`Sequential`]. Each family lives in its own submodule; this one holds
//! what they share (parameter creation, PyTorch-style formatting, config
//! setters).
//!
//! ```
//! use ferrograd_nn::layers::*;
//! use ferrograd_nn::module::Module;
//! use ferrograd_autograd::{DType, Tensor};
//! let features = Sequential::new()
//!     .append(Conv2d::with_config(1, 32, 3, Conv2dConfig::new().padding(1))?)
//!     .append(ReLU::new())
//!     .append(MaxPool2d::new(2))
//!     .append(Conv2d::with_config(32, 64, 3, Conv2dConfig::new().padding(1))?)
//!     .append(ReLU::new())
//!     .append(MaxPool2d::new(2));
//! let classifier = Sequential::new().append(Linear::new(3136, 128)?).append(ReLU::new()).append(Linear::new(128, 10)?);
//! let model = Sequential::new()
//!     .add_module("features", features)?
//!     .add_module("flatten", Flatten::new())?
//!     .add_module("classifier", classifier)?;
//! let logits = model.forward(&Tensor::zeros(&[2, 1, 28, 28], DType::F32)?)?;
//! assert_eq!(logits.shape(), &[2, 10]);
//! assert_eq!(model.named_parameters()[0].0, "features.0.weight");
//! # Ok::<(), ferrograd_autograd::Error>(())
//! ```

mod activation;
mod container;
mod conv;
mod dropout;
mod embedding;
mod linear;
mod norm;
mod pool;
mod shape;

pub use activation::{ReLU, Sigmoid, Tanh, GELU};
pub use container::Sequential;
pub use conv::{Conv2d, Conv2dConfig};
pub use dropout::Dropout;
pub use embedding::{Embedding, EmbeddingConfig};
pub use linear::{Linear, LinearConfig};
pub use norm::{BatchNorm2d, BatchNormConfig, LayerNorm, LayerNormConfig};
pub use pool::{AvgPool2d, MaxPool2d};
pub use shape::Flatten;

#[allow(unused_imports)] // for the doc links
use crate::module::Module;
use ferrograd_autograd::{no_grad, DType, Result, Tensor};

/// A new leaf parameter of `shape`, filled by `init` (run under `no_grad`),
/// that requires grad.
pub(crate) fn parameter(
    shape: &[usize],
    dtype: DType,
    init: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let t = Tensor::empty(shape, dtype)?;
    {
        let _guard = no_grad();
        init(&t)?;
    }
    t.requires_grad_(true)
}

/// `(name, tensor)` pairs of the tensors that are present.
pub(crate) fn named(tensors: &[(&str, Option<&Tensor>)]) -> Vec<(String, Tensor)> {
    tensors
        .iter()
        .filter_map(|(name, t)| t.map(|t| (name.to_string(), t.clone())))
        .collect()
}

/// A weight of `weight_shape` (dim 0: the outputs) and, if `bias`, a bias
/// of one value per output, initialised as PyTorch's `reset_parameters` of
/// Linear and Conv do: weight `kaiming_uniform_(a=√5)`, bias
/// `U(-1/√fan_in, 1/√fan_in)`.
pub(crate) fn weight_and_bias(
    weight_shape: &[usize],
    bias: bool,
    dtype: DType,
) -> Result<(Tensor, Option<Tensor>)> {
    use crate::init::{calculate_fan_in_and_fan_out, kaiming_uniform_, FanMode, Nonlinearity};
    let weight = parameter(weight_shape, dtype, |w| {
        kaiming_uniform_(w, 5f64.sqrt(), FanMode::FanIn, Nonlinearity::LeakyRelu)
    })?;
    if !bias {
        return Ok((weight, None));
    }
    let (fan_in, _) = calculate_fan_in_and_fan_out(&weight)?;
    let bound = match fan_in {
        0 => 0.0,
        n => 1.0 / (n as f64).sqrt(),
    };
    let bias = parameter(&weight_shape[..1], dtype, |b| {
        crate::init::uniform_(b, -bound, bound)
    })?;
    Ok((weight, Some(bias)))
}

/// A float as Python's `repr` writes it (`0.1`, `1.0`, `1e-05`).
pub(crate) fn py_float(v: f64) -> String {
    if !v.is_finite() {
        return match v {
            v if v.is_nan() => "nan".into(),
            v if v > 0.0 => "inf".into(),
            _ => "-inf".into(),
        };
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if v != 0.0 && !(-4..16).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let plain = format!("{v}");
    match plain.contains('.') {
        true => plain,
        false => format!("{plain}.0"),
    }
}

/// `True` / `False`.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A pair as a Python tuple, `(3, 3)`.
pub(crate) fn py_pair(p: [usize; 2]) -> String {
    format!("({}, {})", p[0], p[1])
}

/// A pair as PyTorch's pooling layers print it: `2` when both sides agree.
pub(crate) fn py_int_or_pair(p: [usize; 2]) -> String {
    match p[0] == p[1] {
        true => p[0].to_string(),
        false => py_pair(p),
    }
}

/// Defines a layer's options: a struct with public fields and PyTorch's
/// defaults (`field: Type = default,`), `Default`, `new()`, and a builder
/// setter per field; `field: Type = default; via f, Arg,` makes the setter
/// take an `Arg` and store `f(arg)`.
macro_rules! config {
    ($(#[$doc:meta])* $name:ident {
        $($(#[$fdoc:meta])* $field:ident: $ty:ty = $default:expr $(; via $conv:path, $arg:ty)?,)*
    }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $name {
            /// PyTorch's defaults.
            ///
            /// ```
            /// use ferrograd_autograd::DType;
            /// use ferrograd_nn::{data::*, layers::*, optim::*};
            #[doc = concat!("let c = ", stringify!($name), "::new();")]
            #[doc = concat!("assert_eq!(c, ", stringify!($name), "::default());")]
            #[doc = concat!(
                "assert_eq!(", stringify!(($(c.$field),*)), ", ", stringify!(($($default),*)), ");"
            )]
            /// ```
            pub fn new() -> Self {
                Self::default()
            }

            $(config!(@setter $field, $ty $(, $conv, $arg)?);)*
        }
    };
    (@setter $field:ident, $ty:ty) => {
        #[doc = concat!("Sets `", stringify!($field), "`.")]
        pub fn $field(mut self, value: $ty) -> Self {
            self.$field = value;
            self
        }
    };
    (@setter $field:ident, $ty:ty, $conv:path, $arg:ty) => {
        #[doc = concat!("Sets `", stringify!($field), "`.")]
        pub fn $field(mut self, value: $arg) -> Self {
            self.$field = $conv(value);
            self
        }
    };
}
pub(crate) use config;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_does() {
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(0.5), "0.5");
        assert_eq!(py_float(1.5e-7), "1.5e-07");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(123.25), "123.25");
    }
}
