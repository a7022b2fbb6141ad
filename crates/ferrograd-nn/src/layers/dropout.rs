//! [`Dropout`]: zeroes elements with probability `p` while training, as
//! `torch.nn.Dropout`.

use super::py_float;
use crate::module::{Module, ModuleState};
use ferrograd_autograd::{Error, Result, Tensor};
use ferrograd_ops::norm::dropout;

/// While training, zeroes each element with probability `p` (drawn from
/// the default generator) and scales the others by `1 / (1 - p)`; in
/// evaluation, passes the input through.
///
/// ```
/// use ferrograd_nn::layers::Dropout;
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::{DType, Tensor};
/// let drop = Dropout::new(0.5)?;
/// let x = Tensor::ones(&[1000], DType::F32)?;
/// let y = drop.forward(&x)?.to_vec::<f32>()?;
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0) && y.contains(&0.0));
/// drop.eval();
/// assert!(drop.forward(&x)?.to_vec::<f32>()?.iter().all(|&v| v == 1.0));
/// assert!(Dropout::new(1.5).is_err());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    state: ModuleState,
}

impl Dropout {
    /// Dropout with probability `p`, which must be in `[0, 1]`.
    ///
    /// ```
    /// use ferrograd_nn::layers::Dropout;
    /// use ferrograd_nn::module::Module;
    /// assert_eq!(Dropout::new(0.25)?.repr(), "Dropout(p=0.25, inplace=False)");
    /// let e = Dropout::new(-0.1).unwrap_err().to_string();
    /// assert!(e.contains("dropout probability has to be between 0 and 1, but got -0.1"), "{e}");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                "Dropout",
                format!("dropout probability has to be between 0 and 1, but got {p}"),
            ));
        }
        Ok(Dropout {
            p,
            state: ModuleState::new(),
        })
    }

    /// The probability of zeroing an element.
    ///
    /// ```
    /// use ferrograd_nn::layers::Dropout;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let drop = Dropout::new(1.0)?;
    /// assert_eq!(drop.p(), 1.0);
    /// assert!(drop.forward(&Tensor::ones(&[8], DType::F32)?)?.to_vec::<f32>()?.iter().all(|&v| v == 0.0));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl Module for Dropout {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        dropout(input, self.p, self.is_training())
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        format!("p={}, inplace=False", py_float(self.p))
    }
}
