//! Comparisons and logic, giving bool tensors: [`CompareOps`] (`gt`, `ge`,
//! `lt`, `le`, `eq`, `ne` against a tensor or a scalar, the `logical_*` ops,
//! `isnan`/`isinf`/`isfinite`, `any`/`all`) and the selection [`where_`].
//! Operands broadcast and promote to a common dtype before comparing, as in
//! PyTorch.

mod any_all;
mod logical;
mod relational;
mod select;

use ferrograd_autograd::{Operand, Tensor};
use ferrograd_storage::Result;
use logical::Logic;
use relational::compare;

pub use select::where_;

/// Comparison and logic ops on [`Tensor`]; every result is a bool tensor
/// (`any`/`all` of a `u8` tensor give `u8`, as in PyTorch).
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![1i64, 5, 3], &[3])?;
/// assert_eq!(x.gt(2.5)?.to_vec::<bool>()?, vec![false, true, true]);
/// let nan = Tensor::from_vec(vec![1.0f32, f32::NAN], &[2])?;
/// assert_eq!(nan.isnan()?.to_vec::<bool>()?, vec![false, true]);
/// assert!(!x.eq(5)?.all()?.item::<bool>()?);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait CompareOps {
    /// `self > other` elementwise (`other` a tensor or a Rust scalar).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let row = Tensor::from_vec(vec![2i64, 3], &[2])?;
    /// assert_eq!(a.gt(&row)?.to_vec::<bool>()?, vec![false, false, true, true]);
    /// let e = a.gt(&Tensor::from_vec(vec![1i64, 2, 3], &[3])?).unwrap_err();
    /// assert!(e.to_string().contains("must match the size of tensor b"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn gt<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor>;
    /// `self >= other` elementwise.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1i64, 2, 3], &[3])?;
    /// assert_eq!(a.ge(2)?.to_vec::<bool>()?, vec![false, true, true]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn ge<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor>;
    /// `self < other` elementwise.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1u8, 200], &[2])?;
    /// assert_eq!(a.lt(100.5)?.to_vec::<bool>()?, vec![true, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn lt<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor>;
    /// `self <= other` elementwise.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![0.5f64, 1.5], &[2])?;
    /// assert_eq!(a.le(0.5)?.to_vec::<bool>()?, vec![true, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn le<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor>;
    /// `self == other` elementwise (NaN equals nothing).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![true, false], &[2])?;
    /// let b = Tensor::from_vec(vec![1i64, 1], &[2])?;
    /// assert_eq!(a.eq(&b)?.to_vec::<bool>()?, vec![true, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn eq<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor>;
    /// `self != other` elementwise (NaN differs from everything).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![f32::NAN, 1.0], &[2])?;
    /// assert_eq!(a.ne(&a)?.to_vec::<bool>()?, vec![true, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn ne<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor>;

    /// Both true (non-zero), broadcast.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![0i64, 3, 2], &[3])?;
    /// let b = Tensor::from_vec(vec![1.0f32, 0.0, 0.5], &[3])?;
    /// assert_eq!(a.logical_and(&b)?.to_vec::<bool>()?, vec![false, false, true]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn logical_and(&self, other: &Tensor) -> Result<Tensor>;
    /// Either true, broadcast.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![false, true], &[2])?;
    /// let b = Tensor::from_vec(vec![false], &[1])?;
    /// assert_eq!(a.logical_or(&b)?.to_vec::<bool>()?, vec![false, true]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn logical_or(&self, other: &Tensor) -> Result<Tensor>;
    /// Exactly one true, broadcast.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1i64, 0, 1], &[3])?;
    /// let b = Tensor::from_vec(vec![1i64, 0, 0], &[3])?;
    /// assert_eq!(a.logical_xor(&b)?.to_vec::<bool>()?, vec![false, false, true]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn logical_xor(&self, other: &Tensor) -> Result<Tensor>;
    /// True where the element is zero (false).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![0.0f32, -2.0, f32::NAN], &[3])?;
    /// assert_eq!(a.logical_not()?.to_vec::<bool>()?, vec![true, false, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn logical_not(&self) -> Result<Tensor>;

    /// True where the element is NaN (never for integers).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![f64::NAN, 0.0], &[2])?;
    /// assert_eq!(a.isnan()?.to_vec::<bool>()?, vec![true, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn isnan(&self) -> Result<Tensor>;
    /// True where the element is `±inf`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![f32::NEG_INFINITY, f32::NAN, 1.0], &[3])?;
    /// assert_eq!(a.isinf()?.to_vec::<bool>()?, vec![true, false, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn isinf(&self) -> Result<Tensor>;
    /// True where the element is neither NaN nor infinite (always for integers).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![f32::INFINITY, f32::NAN, 1.0], &[3])?;
    /// assert_eq!(a.isfinite()?.to_vec::<bool>()?, vec![false, false, true]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn isfinite(&self) -> Result<Tensor>;

    /// Whether any element is true, as a 0-d tensor (false when empty).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let a = Tensor::from_vec(vec![0.0f32, 0.5], &[2])?;
    /// assert!(a.any()?.item::<bool>()?);
    /// let bytes = Tensor::from_vec(vec![0u8, 0], &[2])?;
    /// assert_eq!(bytes.any()?.dtype(), DType::U8);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn any(&self) -> Result<Tensor>;
    /// Whether every element is true, as a 0-d tensor (true when empty).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// assert!(Tensor::zeros(&[0], DType::F32)?.all()?.item::<bool>()?);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn all(&self) -> Result<Tensor>;
    /// `any` along `dim`, keeping it as size 1 when `keepdim`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![0i64, 1, 0, 0], &[2, 2])?;
    /// assert_eq!(a.any_dim(1, false)?.to_vec::<bool>()?, vec![true, false]);
    /// assert_eq!(a.any_dim(0, true)?.shape(), &[1, 2]);
    /// assert!(a.any_dim(2, false).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn any_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor>;
    /// `all` along `dim`, keeping it as size 1 when `keepdim`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1i64, 1, 0, 1], &[2, 2])?;
    /// assert_eq!(a.all_dim(-1, false)?.to_vec::<bool>()?, vec![true, false]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn all_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor>;
}

impl CompareOps for Tensor {
    fn gt<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        compare::<relational::Gt>(self, other.into())
    }
    fn ge<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        compare::<relational::Ge>(self, other.into())
    }
    fn lt<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        compare::<relational::Lt>(self, other.into())
    }
    fn le<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        compare::<relational::Le>(self, other.into())
    }
    fn eq<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        compare::<relational::Eq>(self, other.into())
    }
    fn ne<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        compare::<relational::Ne>(self, other.into())
    }
    fn logical_and(&self, other: &Tensor) -> Result<Tensor> {
        logical::logical(self, other, Logic::And)
    }
    fn logical_or(&self, other: &Tensor) -> Result<Tensor> {
        logical::logical(self, other, Logic::Or)
    }
    fn logical_xor(&self, other: &Tensor) -> Result<Tensor> {
        logical::logical(self, other, Logic::Xor)
    }
    fn logical_not(&self) -> Result<Tensor> {
        logical::logical_not(self)
    }
    fn isnan(&self) -> Result<Tensor> {
        logical::classify(self, f32::is_nan, f64::is_nan, false)
    }
    fn isinf(&self) -> Result<Tensor> {
        logical::classify(self, f32::is_infinite, f64::is_infinite, false)
    }
    fn isfinite(&self) -> Result<Tensor> {
        logical::classify(self, f32::is_finite, f64::is_finite, true)
    }
    fn any(&self) -> Result<Tensor> {
        any_all::any_or_all(self, None, true)
    }
    fn all(&self) -> Result<Tensor> {
        any_all::any_or_all(self, None, false)
    }
    fn any_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        any_all::any_or_all(self, Some((dim, keepdim)), true)
    }
    fn all_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        any_all::any_or_all(self, Some((dim, keepdim)), false)
    }
}
