//! Softmax and the losses: [`SoftmaxOps`] (`softmax`, `log_softmax`, fused
//! and stable) and, in `torch.nn.functional`'s style, free functions with
//! option structs: [`cross_entropy`] (class indices — one fused forward and
//! backward — or class probabilities; weights, `ignore_index`, label
//! smoothing), [`nll_loss`], [`mse_loss`], [`l1_loss`],
//! [`binary_cross_entropy`] and [`binary_cross_entropy_with_logits`].

mod binary;
mod cross_entropy;
mod nll;
mod regression;
pub(crate) mod softmax;
pub(crate) mod targets;

use ferrograd_autograd::Tensor;
use ferrograd_storage::{normalize_dim, Error, Result};

pub use binary::{
    binary_cross_entropy, binary_cross_entropy_with_logits, BceOptions, BceWithLogitsOptions,
};
pub use cross_entropy::{cross_entropy, CrossEntropyOptions};
pub use nll::{nll_loss, NllLossOptions};
pub use regression::{l1_loss, mse_loss};

/// How a loss combines its per-element values (`reduction=` in PyTorch).
///
/// ```
/// use ferrograd_ops::loss::Reduction;
/// assert_eq!("sum".parse::<Reduction>()?, Reduction::Sum);
/// let e = "avg".parse::<Reduction>().unwrap_err();
/// assert!(e.to_string().contains("avg is not a valid value for reduction"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// One loss per element (or sample).
    None,
    /// The mean (for class-index losses, weighted by the target classes' weights).
    #[default]
    Mean,
    /// The sum.
    Sum,
}

impl std::str::FromStr for Reduction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            _ => Err(Error::invalid(
                "reduction",
                format!(
                    "{s} is not a valid value for reduction; use \"none\", \"mean\" or \"sum\""
                ),
            )),
        }
    }
}

/// Applies `reduction` to elementwise losses.
pub(crate) fn reduce_loss(loss: &Tensor, reduction: Reduction) -> Result<Tensor> {
    match reduction {
        Reduction::None => Ok(loss.clone()),
        Reduction::Mean => loss.mean(),
        Reduction::Sum => loss.sum(),
    }
}

/// Softmax along a dim, as methods on [`Tensor`] (floating tensors only).
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![1e4f32, 0.0, -1e4], &[3])?;
/// let p = x.softmax(0)?.to_vec::<f32>()?;
/// assert_eq!(p, vec![1.0, 0.0, 0.0]);
/// let lp = x.log_softmax(-1)?.to_vec::<f32>()?;
/// assert_eq!(lp, vec![0.0, -1e4, -2e4]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait SoftmaxOps {
    /// `exp(x) / Σ exp(x)` along `dim`, computed without overflow.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, 0.0, 2f64.ln(), 0.0], &[2, 2])?;
    /// assert_eq!(x.softmax(0)?.to_vec::<f64>()?, vec![1.0 / 3.0, 0.5, 2.0 / 3.0, 0.5]);
    /// let e = Tensor::from_vec(vec![1i64, 2], &[2])?.softmax(0).unwrap_err();
    /// assert!(e.to_string().contains("not implemented for 'Long'"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn softmax(&self, dim: isize) -> Result<Tensor>;
    /// `x - log Σ exp(x)` along `dim`, computed without overflow.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, 0.0], &[2])?;
    /// assert_eq!(x.log_softmax(0)?.to_vec::<f64>()?, vec![-(2f64.ln()); 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn log_softmax(&self, dim: isize) -> Result<Tensor>;
}

impl SoftmaxOps for Tensor {
    fn softmax(&self, dim: isize) -> Result<Tensor> {
        softmax::softmax(
            self,
            normalize_dim(dim, self.dim())?,
            softmax::Kind::Softmax,
        )
    }
    fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        softmax::softmax(
            self,
            normalize_dim(dim, self.dim())?,
            softmax::Kind::LogSoftmax,
        )
    }
}
