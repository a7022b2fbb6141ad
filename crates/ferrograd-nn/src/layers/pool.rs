//! Pooling layers over `(N, C, H, W)` or `(C, H, W)` inputs: [`MaxPool2d`]
//! and [`AvgPool2d`], as in `torch.nn`, configured with the ops' options.

use super::{py_bool, py_int_or_pair};
use crate::module::{Module, ModuleState};
use ferrograd_autograd::{Result, Tensor};
use ferrograd_ops::conv::IntoPair;
use ferrograd_ops::pool::{AvgPool2dOptions, MaxPool2dOptions, PoolOps};

/// Defines pooling layer `$name` running op `$op` with options `$opts`;
/// `|$o| $repr` prints the options.
macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $opts:ident, $op:ident, |$o:ident| $repr:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            opts: $opts,
            state: ModuleState,
        }

        impl $name {
            /// Windows of `kernel_size`, stride `kernel_size`, no padding.
            ///
            /// ```
            /// use ferrograd_nn::module::Module;
            /// use ferrograd_autograd::{DType, Tensor};
            #[doc = concat!("let pool = ferrograd_nn::layers::", stringify!($name), "::new(2);")]
            /// assert_eq!((pool.options().stride, pool.options().padding), (None, [0, 0]));
            /// let x = Tensor::ones(&[1, 6, 6], DType::F32)?;
            /// assert_eq!(pool.forward(&x)?.shape(), &[1, 3, 3]);
            /// # Ok::<(), ferrograd_autograd::Error>(())
            /// ```
            pub fn new(kernel_size: impl IntoPair) -> Self {
                Self::with_options($opts::new(kernel_size))
            }

            #[doc = concat!("A pool with all of `", stringify!($op), "`'s options.")]
            ///
            /// ```
            /// use ferrograd_nn::module::Module;
            /// use ferrograd_autograd::{DType, Tensor};
            #[doc = concat!("let opts = ferrograd_ops::pool::", stringify!($opts), "::new(2).stride(1);")]
            #[doc = concat!("let pool = ferrograd_nn::layers::", stringify!($name), "::with_options(opts);")]
            /// let x = Tensor::ones(&[1, 6, 6], DType::F32)?;
            /// assert_eq!(pool.forward(&x)?.shape(), &[1, 5, 5]);
            /// # Ok::<(), ferrograd_autograd::Error>(())
            /// ```
            pub fn with_options(opts: $opts) -> Self {
                $name {
                    opts,
                    state: ModuleState::new(),
                }
            }

            /// The pooling options.
            ///
            /// ```
            #[doc = concat!("use ferrograd_nn::layers::", stringify!($name), ";")]
            #[doc = concat!("let opts = ferrograd_ops::pool::", stringify!($opts), "::new(3).padding(1);")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::with_options(opts).options(), &opts);")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::new([2, 3]).options().kernel_size, [2, 3]);")]
            /// ```
            pub fn options(&self) -> &$opts {
                &self.opts
            }
        }

        impl Module for $name {
            fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
                if !matches!(input.dim(), 3 | 4) {
                    return Err(self.input_error("(N, C, H, W) or (C, H, W)", input.shape()));
                }
                input.$op(self.opts)
            }

            fn state(&self) -> &ModuleState {
                &self.state
            }

            fn extra_repr(&self) -> String {
                let $o = &self.opts;
                $repr
            }
        }
    };
}

pool_layer! {
    /// The maximum over each window.
    ///
    /// ```
    /// use ferrograd_nn::layers::MaxPool2d;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_ops::pool::MaxPool2dOptions;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let pool = MaxPool2d::new(2);
    /// assert_eq!(pool.repr(), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
    /// let y = pool.forward(&Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 1, 4, 4])?)?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![5.0, 7.0, 13.0, 15.0]);
    /// let e = pool.forward(&Tensor::zeros(&[4, 4], DType::F32)?).unwrap_err().to_string();
    /// assert!(e.contains("expected input of shape (N, C, H, W) or (C, H, W), but got input of shape [4, 4]"), "{e}");
    /// let overlapping = MaxPool2d::with_options(MaxPool2dOptions::new(3).stride(2).padding(1));
    /// assert_eq!(overlapping.options().stride, Some([2, 2]));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    MaxPool2d, MaxPool2dOptions, max_pool2d, |o| format!(
        "kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
        py_int_or_pair(o.kernel_size),
        py_int_or_pair(o.stride.unwrap_or(o.kernel_size)),
        py_int_or_pair(o.padding),
        py_int_or_pair(o.dilation),
        py_bool(o.ceil_mode)
    )
}

pool_layer! {
    /// The mean over each window.
    ///
    /// ```
    /// use ferrograd_nn::layers::AvgPool2d;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_ops::pool::AvgPool2dOptions;
    /// use ferrograd_autograd::Tensor;
    /// let pool = AvgPool2d::new(2);
    /// assert_eq!(pool.repr(), "AvgPool2d(kernel_size=2, stride=2, padding=0)");
    /// let y = pool.forward(&Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4])?)?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![2.5, 4.5, 10.5, 12.5]);
    /// let padded = AvgPool2d::with_options(AvgPool2dOptions::new(3).stride(1).padding(1));
    /// assert_eq!(padded.options().padding, [1, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    AvgPool2d, AvgPool2dOptions, avg_pool2d, |o| format!(
        "kernel_size={}, stride={}, padding={}",
        py_int_or_pair(o.kernel_size),
        py_int_or_pair(o.stride.unwrap_or(o.kernel_size)),
        py_int_or_pair(o.padding)
    )
}
