//! Reductions beyond the `sum`/`mean` that [`Tensor`] itself has:
//! [`ReduceOps`] — `prod`, `max`/`min` (over everything, or along a dim with
//! indices), `amax`/`amin`, `argmax`/`argmin`, `var`/`std`, `logsumexp`,
//! vector norms and `cumsum` — each with PyTorch's dtype rules, errors and
//! gradients.
//!
//! A dim list follows `sum_dims`: negative dims count from the end, and an
//! empty list means every dim. Kernels read the input as contiguous rows with
//! the reduced dims innermost (`dims`), in parallel when large.

mod cumsum;
mod dims;
pub(crate) mod extreme;
mod logsumexp;
mod moments;
mod prod;
mod vector_norm;

use dims::reduction_dims;
use extreme::Extreme;
use ferrograd_autograd::Tensor;
use ferrograd_storage::{normalize_dim, Result};
use moments::Moment;

#[cfg(feature = "cuda")]
pub(crate) use dims::reduced_shape;
pub(crate) use dims::{kept_shape, not_float, with_float, with_lines, Lines};
pub(crate) use moments::mean_and_m2;
pub use vector_norm::NormOrd;

/// Reductions on [`Tensor`], PyTorch's names and semantics.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![3.0f32, 1.0, 4.0, 1.0, 5.0, 9.0], &[2, 3])?;
/// let (values, indices) = x.max_dim(1, false)?;
/// assert_eq!(values.to_vec::<f32>()?, vec![4.0, 9.0]);
/// assert_eq!(indices.to_vec::<i64>()?, vec![2, 2]);
/// assert_eq!(x.argmin(None, false)?.item::<i64>()?, 1);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait ReduceOps {
    /// The product of all elements as a 0-d tensor (integers and bools give `i64`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1i32, 2, 3, 4], &[2, 2])?;
    /// assert_eq!(x.prod()?.item::<i64>()?, 24);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn prod(&self) -> Result<Tensor>;
    /// The product along `dim`, keeping it as size 1 when `keepdim`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2])?.requires_grad_(true)?;
    /// let p = x.prod_dim(0, false)?;
    /// assert_eq!(p.to_vec::<f64>()?, vec![3.0, 8.0]);
    /// p.sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![3.0, 4.0, 1.0, 2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn prod_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor>;

    /// The largest element as a 0-d tensor (NaN if any element is NaN). Its
    /// gradient is split evenly among equal maxima.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![2.0f64, 5.0, 5.0], &[3])?.requires_grad_(true)?;
    /// x.max()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![0.0, 0.5, 0.5]);
    /// let e = Tensor::zeros(&[0], ferrograd_autograd::DType::F32)?.max().unwrap_err();
    /// assert!(e.to_string().contains("Specify the reduction dim"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn max(&self) -> Result<Tensor>;
    /// `(values, indices)` of the maxima along `dim` (`torch.max(x, dim)`);
    /// the index is the first maximum's, and the gradient goes to it alone.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 7.0, 7.0, 0.0], &[2, 2])?.requires_grad_(true)?;
    /// let (v, i) = x.max_dim(-1, true)?;
    /// assert_eq!(v.shape(), &[2, 1]);
    /// assert_eq!(i.to_vec::<i64>()?, vec![1, 0]);
    /// v.sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![0.0, 1.0, 1.0, 0.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)>;
    /// The smallest element as a 0-d tensor.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![4i64, -2, 7], &[3])?;
    /// assert_eq!(x.min()?.item::<i64>()?, -2);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn min(&self) -> Result<Tensor>;
    /// `(values, indices)` of the minima along `dim`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![4.0f32, -2.0, 7.0, -9.0], &[2, 2])?;
    /// let (v, i) = x.min_dim(0, false)?;
    /// assert_eq!(v.to_vec::<f32>()?, vec![4.0, -9.0]);
    /// assert_eq!(i.to_vec::<i64>()?, vec![0, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)>;
    /// The maxima over `dims` (empty: every dim), values only; the gradient
    /// is split evenly among equal maxima.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 8.0, 3.0, 2.0], &[2, 2])?;
    /// assert_eq!(x.amax(&[0], false)?.to_vec::<f32>()?, vec![3.0, 8.0]);
    /// assert_eq!(x.amax(&[], true)?.shape(), &[1, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn amax(&self, dims: &[isize], keepdim: bool) -> Result<Tensor>;
    /// The minima over `dims` (empty: every dim), values only.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 8.0, 3.0, 2.0], &[2, 2])?;
    /// assert_eq!(x.amin(&[-1], false)?.to_vec::<f32>()?, vec![1.0, 2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn amin(&self, dims: &[isize], keepdim: bool) -> Result<Tensor>;
    /// The index of the first maximum along `dim`, or in the flattened
    /// tensor when `dim` is `None` (an `i64` tensor).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 8.0, 3.0, 2.0], &[2, 2])?;
    /// assert_eq!(x.argmax(Some(1), false)?.to_vec::<i64>()?, vec![1, 0]);
    /// assert_eq!(x.argmax(None, false)?.item::<i64>()?, 1);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn argmax(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor>;
    /// The index of the first minimum along `dim`, or in the flattened tensor.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 8.0, 3.0, 2.0], &[2, 2])?;
    /// assert_eq!(x.argmin(Some(0), true)?.to_vec::<i64>()?, vec![0, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn argmin(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor>;

    /// The variance over `dims` (empty: every dim), dividing by `N - 1` when
    /// `unbiased`, else by `N` (floating tensors only).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[4])?;
    /// assert_eq!(x.var(&[], true, false)?.item::<f64>()?, 5.0 / 3.0);
    /// assert_eq!(x.var(&[0], false, false)?.item::<f64>()?, 1.25);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn var(&self, dims: &[isize], unbiased: bool, keepdim: bool) -> Result<Tensor>;
    /// The variance dividing by `max(0, N - correction)`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(x.var_correction(&[1], 0.0, true)?.to_vec::<f64>()?, vec![0.25, 0.25]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn var_correction(&self, dims: &[isize], correction: f64, keepdim: bool) -> Result<Tensor>;
    /// The standard deviation over `dims`, unbiased or not.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![2.0f32, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &[8])?;
    /// assert_eq!(x.std(&[], false, false)?.item::<f32>()?, 2.0);
    /// let e = Tensor::from_vec(vec![1i64, 2], &[2])?.std(&[], true, false).unwrap_err();
    /// assert!(e.to_string().contains("std and var only support floating point"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn std(&self, dims: &[isize], unbiased: bool, keepdim: bool) -> Result<Tensor>;
    /// The standard deviation dividing by `max(0, N - correction)`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 3.0], &[2])?;
    /// assert_eq!(x.std_correction(&[0], 0.0, false)?.item::<f64>()?, 1.0);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn std_correction(&self, dims: &[isize], correction: f64, keepdim: bool) -> Result<Tensor>;

    /// `log Σ exp(x)` over `dims` (empty: every dim), computed stably.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1000.0f32, 1000.0], &[2])?;
    /// let y = x.logsumexp(&[0], false)?.item::<f32>()?;
    /// assert!((y - (1000.0 + 2f32.ln())).abs() < 1e-3);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn logsumexp(&self, dims: &[isize], keepdim: bool) -> Result<Tensor>;
    /// The 2-norm of all elements (`x.norm()`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![3.0f32, 4.0], &[2])?;
    /// assert_eq!(x.norm()?.item::<f32>()?, 5.0);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn norm(&self) -> Result<Tensor>;
    /// The `p`-norm over `dims` (empty: every dim): a number (`f64::INFINITY`
    /// for the max norm) or [`NormOrd::Fro`].
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_ops::reduce::NormOrd;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![3.0f64, -4.0, 0.0, 1.0], &[2, 2])?;
    /// assert_eq!(x.norm_dims(1, &[1], false)?.to_vec::<f64>()?, vec![7.0, 1.0]);
    /// assert_eq!(x.norm_dims(f64::INFINITY, &[], false)?.item::<f64>()?, 4.0);
    /// assert_eq!(x.norm_dims(NormOrd::Fro, &[0, 1], false)?.item::<f64>()?, 26f64.sqrt());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn norm_dims(&self, p: impl Into<NormOrd>, dims: &[isize], keepdim: bool) -> Result<Tensor>;
    /// Running sums along `dim` (integers and bools give `i64`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1i32, 2, 3, 4], &[2, 2])?;
    /// assert_eq!(x.cumsum(0)?.to_vec::<i64>()?, vec![1, 2, 4, 6]);
    /// assert_eq!(x.cumsum(-1)?.to_vec::<i64>()?, vec![1, 3, 3, 7]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn cumsum(&self, dim: isize) -> Result<Tensor>;
}

impl ReduceOps for Tensor {
    fn prod(&self) -> Result<Tensor> {
        prod::prod(self, None, false)
    }
    fn prod_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        prod::prod(self, Some(normalize_dim(dim, self.dim())?), keepdim)
    }
    fn max(&self) -> Result<Tensor> {
        let all: Vec<usize> = (0..self.dim()).collect();
        extreme::extreme_reduce(self, &all, false, Extreme::Max, true)
    }
    fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        extreme::extreme_dim(self, normalize_dim(dim, self.dim())?, keepdim, Extreme::Max)
    }
    fn min(&self) -> Result<Tensor> {
        let all: Vec<usize> = (0..self.dim()).collect();
        extreme::extreme_reduce(self, &all, false, Extreme::Min, true)
    }
    fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        extreme::extreme_dim(self, normalize_dim(dim, self.dim())?, keepdim, Extreme::Min)
    }
    fn amax(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let dims = reduction_dims("amax", dims, self.dim())?;
        extreme::extreme_reduce(self, &dims, keepdim, Extreme::Max, false)
    }
    fn amin(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let dims = reduction_dims("amin", dims, self.dim())?;
        extreme::extreme_reduce(self, &dims, keepdim, Extreme::Min, false)
    }
    fn argmax(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        let dim = dim.map(|d| normalize_dim(d, self.dim())).transpose()?;
        extreme::arg_extreme(self, dim, keepdim, Extreme::Max)
    }
    fn argmin(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        let dim = dim.map(|d| normalize_dim(d, self.dim())).transpose()?;
        extreme::arg_extreme(self, dim, keepdim, Extreme::Min)
    }
    fn var(&self, dims: &[isize], unbiased: bool, keepdim: bool) -> Result<Tensor> {
        self.var_correction(dims, if unbiased { 1.0 } else { 0.0 }, keepdim)
    }
    fn var_correction(&self, dims: &[isize], correction: f64, keepdim: bool) -> Result<Tensor> {
        let dims = reduction_dims("var", dims, self.dim())?;
        moments::moment(self, &dims, correction, keepdim, Moment::Var)
    }
    fn std(&self, dims: &[isize], unbiased: bool, keepdim: bool) -> Result<Tensor> {
        self.std_correction(dims, if unbiased { 1.0 } else { 0.0 }, keepdim)
    }
    fn std_correction(&self, dims: &[isize], correction: f64, keepdim: bool) -> Result<Tensor> {
        let dims = reduction_dims("std", dims, self.dim())?;
        moments::moment(self, &dims, correction, keepdim, Moment::Std)
    }
    fn logsumexp(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let dims = reduction_dims("logsumexp", dims, self.dim())?;
        logsumexp::logsumexp(self, &dims, keepdim)
    }
    fn norm(&self) -> Result<Tensor> {
        self.norm_dims(2.0, &[], false)
    }
    fn norm_dims(&self, p: impl Into<NormOrd>, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let dims = reduction_dims("norm", dims, self.dim())?;
        vector_norm::vector_norm(self, p.into(), &dims, keepdim)
    }
    fn cumsum(&self, dim: isize) -> Result<Tensor> {
        let dim = normalize_dim(dim, self.dim())?;
        cumsum::cumsum(self, dim)
    }
}
