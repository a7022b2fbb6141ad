//! [`Flatten`]: merges a range of dims into one, as `torch.nn.Flatten`.

use crate::module::{Module, ModuleState};
use ferrograd_autograd::{Result, Tensor};

/// Flattens dims `start_dim..=end_dim` (default `1..=-1`: everything but
/// the batch dim) into one.
///
/// ```
/// use ferrograd_nn::layers::Flatten;
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::{DType, Tensor};
/// let flat = Flatten::new();
/// assert_eq!(flat.forward(&Tensor::zeros(&[2, 64, 7, 7], DType::F32)?)?.shape(), &[2, 3136]);
/// assert_eq!(Flatten::with_dims(0, 1).forward(&Tensor::zeros(&[2, 3, 4], DType::F32)?)?.shape(), &[6, 4]);
/// let e = flat.forward(&Tensor::zeros(&[5], DType::F32)?).unwrap_err().to_string();
/// assert!(e.contains("expected an input with at least 2 dims, but got input of shape [5]"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Debug)]
pub struct Flatten {
    start_dim: isize,
    end_dim: isize,
    state: ModuleState,
}

impl Default for Flatten {
    fn default() -> Self {
        Self::with_dims(1, -1)
    }
}

impl Flatten {
    /// `Flatten(start_dim=1, end_dim=-1)`.
    ///
    /// ```
    /// use ferrograd_nn::layers::Flatten;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let y = Flatten::new().forward(&Tensor::zeros(&[4, 3, 2, 2], DType::F32)?)?;
    /// assert_eq!(y.shape(), &[4, 12]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Flattens `start_dim..=end_dim` (negative dims count from the end).
    ///
    /// ```
    /// use ferrograd_nn::layers::Flatten;
    /// use ferrograd_nn::module::Module;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::zeros(&[2, 3, 4, 5], DType::F32)?;
    /// assert_eq!(Flatten::with_dims(-2, -1).forward(&x)?.shape(), &[2, 3, 20]);
    /// assert_eq!(Flatten::with_dims(0, -1).forward(&x)?.shape(), &[120]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn with_dims(start_dim: isize, end_dim: isize) -> Self {
        Flatten {
            start_dim,
            end_dim,
            state: ModuleState::new(),
        }
    }

    /// The fewest dims an input needs for both dims to exist.
    fn min_dims(&self) -> usize {
        let need = |d: isize| {
            if d >= 0 {
                d as usize + 1
            } else {
                d.unsigned_abs()
            }
        };
        need(self.start_dim).max(need(self.end_dim))
    }
}

impl Module for Flatten {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        if input.dim().max(1) < self.min_dims() {
            return Err(self.layer_error(&format!(
                "expected an input with at least {} dims, but got input of shape {:?}",
                self.min_dims(),
                input.shape()
            )));
        }
        input.flatten(self.start_dim, self.end_dim)
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        format!("start_dim={}, end_dim={}", self.start_dim, self.end_dim)
    }
}
