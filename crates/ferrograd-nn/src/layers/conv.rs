//! [`Conv2d`]: 2-D cross-correlation over `(N, C, H, W)` inputs, as
//! `torch.nn.Conv2d`, with its options in [`Conv2dConfig`].

use super::{config, named, py_pair, weight_and_bias};
use crate::module::{Module, ModuleState};
use ferrograd_autograd::{DType, Error, Result, Tensor};
use ferrograd_ops::conv::{conv2d, Conv2dOptions, IntoPair};

config! {
    /// The options of [`Conv2d`] besides its channels and kernel size, with
    /// PyTorch's defaults: `stride=1, padding=0, dilation=1, groups=1,
    /// bias=True`, f32 parameters.
    ///
    /// ```
    /// use ferrograd_nn::layers::Conv2dConfig;
    /// let c = Conv2dConfig::new().padding(1).stride([2, 1]).bias(false);
    /// assert_eq!((c.padding, c.stride, c.bias), ([1, 1], [2, 1], false));
    /// ```
    Conv2dConfig {
        /// Step between output positions, `[height, width]`.
        stride: [usize; 2] = [1, 1]; via IntoPair::into_pair, impl IntoPair,
        /// Zeros added on both sides of each spatial dim.
        padding: [usize; 2] = [0, 0]; via IntoPair::into_pair, impl IntoPair,
        /// Spacing between kernel taps.
        dilation: [usize; 2] = [1, 1]; via IntoPair::into_pair, impl IntoPair,
        /// Channel groups; both channel counts must divide by it.
        groups: usize = 1,
        /// Learn an additive bias per output channel.
        bias: bool = true,
        /// The parameters' dtype.
        dtype: DType = DType::F32,
    }
}

/// A 2-D convolution layer. `weight` is `(out_channels, in_channels /
/// groups, kH, kW)` and `bias` `(out_channels,)`, both initialised as
/// PyTorch does (`kaiming_uniform_(a=√5)`, bias `U(-1/√fan_in, 1/√fan_in)`).
/// Input `(N, in_channels, H, W)` or unbatched `(in_channels, H, W)`.
///
/// ```
/// use ferrograd_nn::layers::{Conv2d, Conv2dConfig};
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::{DType, Tensor};
/// let conv = Conv2d::with_config(1, 32, 3, Conv2dConfig::new().padding(1))?;
/// assert_eq!(conv.weight.shape(), &[32, 1, 3, 3]);
/// assert_eq!(conv.repr(), "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
/// let y = conv.forward(&Tensor::zeros(&[2, 1, 28, 28], DType::F32)?)?;
/// assert_eq!(y.shape(), &[2, 32, 28, 28]);
/// let e = conv.forward(&Tensor::zeros(&[2, 3, 28, 28], DType::F32)?).unwrap_err().to_string();
/// assert!(e.contains("expected input of shape (N, 1, H, W) or (1, H, W), but got input of shape [2, 3, 28, 28]"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct Conv2d {
    /// `(out_channels, in_channels / groups, kH, kW)`.
    pub weight: Tensor,
    /// `(out_channels,)`, if the layer has one.
    pub bias: Option<Tensor>,
    in_channels: usize,
    out_channels: usize,
    kernel_size: [usize; 2],
    config: Conv2dConfig,
    state: ModuleState,
}

impl Conv2d {
    /// A convolution with PyTorch's default options.
    ///
    /// ```
    /// use ferrograd_nn::layers::Conv2d;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let conv = Conv2d::new(3, 8, (3, 5))?;
    /// assert_eq!(conv.weight.shape(), &[8, 3, 3, 5]);
    /// assert_eq!(conv.forward(&Tensor::zeros(&[3, 10, 10], DType::F32)?)?.shape(), &[8, 8, 6]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl IntoPair,
    ) -> Result<Self> {
        Self::with_config(
            in_channels,
            out_channels,
            kernel_size,
            Conv2dConfig::default(),
        )
    }

    /// A convolution with the given options. Channel counts that do not
    /// divide by `groups`, and zero kernel sizes, strides or dilations, are
    /// errors.
    ///
    /// ```
    /// use ferrograd_nn::layers::{Conv2d, Conv2dConfig};
    /// let e = Conv2d::with_config(3, 8, 3, Conv2dConfig::new().groups(2)).err().unwrap();
    /// assert!(e.to_string().contains("in_channels must be divisible by groups (got in_channels=3, groups=2)"));
    /// ```
    pub fn with_config(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl IntoPair,
        config: Conv2dConfig,
    ) -> Result<Self> {
        let kernel_size = kernel_size.into_pair();
        check_config(in_channels, out_channels, kernel_size, &config)?;
        let [kh, kw] = kernel_size;
        let w_shape = [out_channels, in_channels / config.groups, kh, kw];
        let (weight, bias) = weight_and_bias(&w_shape, config.bias, config.dtype)?;
        Ok(Conv2d {
            weight,
            bias,
            in_channels,
            out_channels,
            kernel_size,
            config,
            state: ModuleState::new(),
        })
    }

    /// The channels the input must have.
    ///
    /// ```
    /// use ferrograd_nn::layers::{Conv2d, Conv2dConfig};
    /// let conv = Conv2d::with_config(4, 8, 3, Conv2dConfig::new().groups(2))?;
    /// assert_eq!(conv.in_channels(), 4);
    /// assert_eq!(conv.weight.shape()[1], conv.in_channels() / 2);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// The channels of the output.
    ///
    /// ```
    /// use ferrograd_nn::layers::Conv2d;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let conv = Conv2d::new(1, 6, 5)?;
    /// assert_eq!(conv.out_channels(), 6);
    /// assert_eq!(conv.forward(&Tensor::zeros(&[2, 1, 28, 28], DType::F32)?)?.shape()[1], conv.out_channels());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// The options the layer was built with.
    ///
    /// ```
    /// use ferrograd_nn::layers::{Conv2d, Conv2dConfig};
    /// let conv = Conv2d::with_config(1, 2, 3, Conv2dConfig::new().stride(2).bias(false))?;
    /// assert_eq!((conv.config().stride, conv.config().padding), ([2, 2], [0, 0]));
    /// assert!(!conv.config().bias && conv.bias.is_none());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn config(&self) -> &Conv2dConfig {
        &self.config
    }
}

fn check_config(
    in_channels: usize,
    out_channels: usize,
    kernel_size: [usize; 2],
    c: &Conv2dConfig,
) -> Result<()> {
    let bad = |msg: String| Err(Error::invalid("Conv2d", msg));
    if c.groups == 0 {
        return bad("groups must be a positive integer".into());
    }
    if in_channels % c.groups != 0 {
        return bad(format!(
            "in_channels must be divisible by groups (got in_channels={in_channels}, groups={})",
            c.groups
        ));
    }
    if out_channels % c.groups != 0 {
        return bad(format!(
            "out_channels must be divisible by groups (got out_channels={out_channels}, groups={})",
            c.groups
        ));
    }
    for (name, pair) in [
        ("kernel_size", kernel_size),
        ("stride", c.stride),
        ("dilation", c.dilation),
    ] {
        if pair.contains(&0) {
            return bad(format!("{name} must be positive, but got {pair:?}"));
        }
    }
    Ok(())
}

impl Module for Conv2d {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        let shape = input.shape();
        let channels_ok = match shape.len() {
            3 => shape[0] == self.in_channels,
            4 => shape[1] == self.in_channels,
            _ => false,
        };
        if !channels_ok {
            let c = self.in_channels;
            return Err(self.input_error(&format!("(N, {c}, H, W) or ({c}, H, W)"), shape));
        }
        let opts = Conv2dOptions::new()
            .stride(self.config.stride)
            .padding(self.config.padding)
            .dilation(self.config.dilation)
            .groups(self.config.groups);
        conv2d(input, &self.weight, self.bias.as_ref(), opts)
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "{}, {}, kernel_size={}, stride={}",
            self.in_channels,
            self.out_channels,
            py_pair(self.kernel_size),
            py_pair(c.stride)
        );
        if c.padding != [0, 0] {
            s += &format!(", padding={}", py_pair(c.padding));
        }
        if c.dilation != [1, 1] {
            s += &format!(", dilation={}", py_pair(c.dilation));
        }
        if c.groups != 1 {
            s += &format!(", groups={}", c.groups);
        }
        if self.bias.is_none() {
            s += ", bias=False";
        }
        s
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        named(&[("weight", Some(&self.weight)), ("bias", self.bias.as_ref())])
    }
}
