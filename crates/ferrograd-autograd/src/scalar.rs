//! [`Scalar`] (a Rust number used as an operand) and [`Operand`] (either a
//! tensor or a scalar), so binary ops take `&t`, `2.0` or `3` alike.

use crate::Tensor;
use ferrograd_storage::{DType, DTypeCategory};

/// A Rust number used as an operand of a tensor op.
///
/// ```
/// use ferrograd_autograd::Scalar;
/// assert!(matches!(Scalar::from(2.0f32), Scalar::Float(v) if v == 2.0));
/// assert!(matches!(Scalar::from(3i32), Scalar::Int(3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A floating number (`f32` or `f64`).
    Float(f64),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    /// The promotion category of the scalar (it never widens within one).
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Scalar};
    /// assert_eq!(Scalar::from(2.5).category(), DType::F32.category());
    /// assert_eq!(Scalar::from(7i64).category(), DType::U8.category());
    /// assert!(Scalar::from(true).category() < Scalar::from(1).category());
    /// ```
    pub fn category(self) -> DTypeCategory {
        match self {
            Scalar::Float(_) => DTypeCategory::Float,
            Scalar::Int(_) => DTypeCategory::Integer,
            Scalar::Bool(_) => DTypeCategory::Bool,
        }
    }

    /// The value as `f64`.
    ///
    /// ```
    /// use ferrograd_autograd::Scalar;
    /// assert_eq!(Scalar::from(3i32).to_f64(), 3.0);
    /// assert_eq!(Scalar::from(0.25f32).to_f64(), 0.25);
    /// assert_eq!(Scalar::from(true).to_f64(), 1.0);
    /// ```
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Float(v) => v,
            Scalar::Int(v) => v as f64,
            Scalar::Bool(v) => v as u8 as f64,
        }
    }

    /// The value as element type `T` (integers exactly, floats through `f64`).
    ///
    /// ```
    /// use ferrograd_autograd::Scalar;
    /// assert_eq!(Scalar::from(5).to_element::<f32>(), 5.0);
    /// assert_eq!(Scalar::from(2.7).to_element::<i64>(), 2);
    /// assert_eq!(Scalar::from(i64::MAX).to_element::<i64>(), i64::MAX); // exact, not through f64
    /// ```
    pub fn to_element<T: ferrograd_storage::Element>(self) -> T {
        match self {
            Scalar::Float(v) => T::from_f64(v),
            Scalar::Int(v) => T::from_i64(v),
            Scalar::Bool(v) => T::from_i64(v as i64),
        }
    }

    /// A 0-d tensor of `dtype` holding the value.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Scalar};
    /// let t = Scalar::from(3).to_tensor(DType::F64);
    /// assert_eq!((t.dim(), t.dtype()), (0, DType::F64));
    /// assert_eq!(t.item::<f64>()?, 3.0);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn to_tensor(self, dtype: DType) -> Tensor {
        ferrograd_storage::with_dtype!(dtype, T => Tensor::scalar(self.to_element::<T>()))
    }
}

macro_rules! scalar_from {
    ($($t:ty => $variant:ident as $as:ty),*) => {$(
        impl From<$t> for Scalar {
            fn from(v: $t) -> Self {
                Scalar::$variant(v as $as)
            }
        }
        impl<'a> From<$t> for Operand<'a> {
            fn from(v: $t) -> Self {
                Operand::Scalar(Scalar::from(v))
            }
        }
    )*};
}

scalar_from!(f64 => Float as f64, f32 => Float as f64, i64 => Int as i64, i32 => Int as i64, u8 => Int as i64, usize => Int as i64);

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

/// The right-hand side of a binary op: a tensor or a Rust scalar.
///
/// ```
/// use ferrograd_autograd::{Operand, Tensor};
/// let t = Tensor::from_vec(vec![1.0f32], &[1])?;
/// assert!(matches!(Operand::from(&t), Operand::Tensor(_)));
/// assert!(matches!(Operand::from(2.0), Operand::Scalar(_)));
/// assert_eq!(t.try_add(Operand::from(2.0))?.to_vec::<f32>()?, vec![3.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Debug)]
pub enum Operand<'a> {
    /// A tensor operand.
    Tensor(&'a Tensor),
    /// A scalar operand.
    Scalar(Scalar),
}

impl<'a> From<&'a Tensor> for Operand<'a> {
    fn from(t: &'a Tensor) -> Self {
        Operand::Tensor(t)
    }
}

impl<'a> From<Scalar> for Operand<'a> {
    fn from(s: Scalar) -> Self {
        Operand::Scalar(s)
    }
}

impl<'a> From<bool> for Operand<'a> {
    fn from(v: bool) -> Self {
        Operand::Scalar(Scalar::Bool(v))
    }
}

impl Operand<'_> {
    /// The operand as a tensor: scalars become 0-d tensors of the dtype they
    /// promote to against `other`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Operand};
    /// // A scalar only promotes across categories (bool < integer < float).
    /// assert_eq!(Operand::from(2).to_tensor_against(DType::F64).dtype(), DType::F64);
    /// assert_eq!(Operand::from(3).to_tensor_against(DType::U8).dtype(), DType::U8);
    /// assert_eq!(Operand::from(2.5).to_tensor_against(DType::I64).dtype(), DType::F32);
    /// ```
    pub fn to_tensor_against(&self, other: DType) -> Tensor {
        match self {
            Operand::Tensor(t) => (*t).clone(),
            Operand::Scalar(s) => s.to_tensor(DType::promote_with_scalar(other, s.category())),
        }
    }
}
