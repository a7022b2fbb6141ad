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
    pub fn category(self) -> DTypeCategory {
        match self {
            Scalar::Float(_) => DTypeCategory::Float,
            Scalar::Int(_) => DTypeCategory::Integer,
            Scalar::Bool(_) => DTypeCategory::Bool,
        }
    }

    /// The value as `f64`.
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Float(v) => v,
            Scalar::Int(v) => v as f64,
            Scalar::Bool(v) => v as u8 as f64,
        }
    }

    /// The value as element type `T` (integers exactly, floats through `f64`).
    pub fn to_element<T: ferrograd_storage::Element>(self) -> T {
        match self {
            Scalar::Float(v) => T::from_f64(v),
            Scalar::Int(v) => T::from_i64(v),
            Scalar::Bool(v) => T::from_i64(v as i64),
        }
    }

    /// A 0-d tensor of `dtype` holding the value.
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
    pub fn to_tensor_against(&self, other: DType) -> Tensor {
        match self {
            Operand::Tensor(t) => (*t).clone(),
            Operand::Scalar(s) => s.to_tensor(DType::promote_with_scalar(other, s.category())),
        }
    }
}
