//! The Rust types behind each [`DType`]: the [`Element`] trait maps a Rust type
//! to its dtype and to its variant of [`CpuBuffer`]; [`NumElement`] and
//! [`FloatElement`] add num-traits' arithmetic for kernels written once.

use crate::{CpuBuffer, DType, DTypeCategory};
use num_traits::{AsPrimitive, Float, Num, NumCast};
use std::fmt::Debug;

/// A Rust type that can be a tensor element: `f32`, `f64`, `i64`, `i32`, `u8`, `bool`.
///
/// ```
/// use ferrograd_storage::{DType, Element};
/// assert_eq!(<f32 as Element>::DTYPE, DType::F32);
/// assert_eq!(<i64 as Element>::from_f64(2.9), 2);
/// assert_eq!(true.to_f64(), 1.0);
/// ```
pub trait Element: Copy + Send + Sync + Debug + PartialOrd + Default + 'static {
    /// The dtype of this Rust type.
    const DTYPE: DType;
    /// Converts to `f64` (`as` semantics; `true` is 1).
    fn to_f64(self) -> f64;
    /// Converts from `f64` (`as` semantics: floats truncate toward zero into integers; non-zero is `true`).
    fn from_f64(v: f64) -> Self;
    /// Converts to `i64` (`as` semantics).
    fn to_i64(self) -> i64;
    /// Converts from `i64` (`as` semantics).
    fn from_i64(v: i64) -> Self;
    /// The slice of `buffer` if it holds this type.
    fn slice(buffer: &CpuBuffer) -> Option<&[Self]>;
    /// The vector of `buffer` if it holds this type.
    fn vec_mut(buffer: &mut CpuBuffer) -> Option<&mut Vec<Self>>;
    /// Wraps a vector into the matching buffer variant.
    fn into_buffer(data: Vec<Self>) -> CpuBuffer;

    /// Converts between element types the way `tensor.to(dtype)` does: integers
    /// go through `i64` (exact), everything else through `f64`.
    fn cast<U: Element>(self) -> U {
        if Self::DTYPE.category() == DTypeCategory::Float
            || U::DTYPE.category() == DTypeCategory::Float
        {
            U::from_f64(self.to_f64())
        } else {
            U::from_i64(self.to_i64())
        }
    }
}

/// A numeric element (every dtype but `bool`), with num-traits arithmetic.
/// Integer arithmetic wraps on overflow, as PyTorch's does.
///
/// ```
/// use ferrograd_storage::NumElement;
/// fn total<T: NumElement>(xs: &[T]) -> T {
///     xs.iter().fold(T::default(), |acc, &x| acc.add_wrap(x))
/// }
/// assert_eq!(total(&[200u8, 100]), 44); // 300 wraps around 256
/// assert_eq!(total(&[0.5f64, 0.25]), 0.75);
/// ```
pub trait NumElement: Element + Num + NumCast + AsPrimitive<f64> + std::iter::Sum {
    /// `self + rhs`, wrapping for integers.
    fn add_wrap(self, rhs: Self) -> Self;
    /// `self - rhs`, wrapping for integers.
    fn sub_wrap(self, rhs: Self) -> Self;
    /// `self * rhs`, wrapping for integers.
    fn mul_wrap(self, rhs: Self) -> Self;
}

macro_rules! float_arith {
    ($t:ty) => {
        impl NumElement for $t {
            #[inline]
            fn add_wrap(self, rhs: Self) -> Self {
                self + rhs
            }
            #[inline]
            fn sub_wrap(self, rhs: Self) -> Self {
                self - rhs
            }
            #[inline]
            fn mul_wrap(self, rhs: Self) -> Self {
                self * rhs
            }
        }
    };
}

macro_rules! int_arith {
    ($t:ty) => {
        impl NumElement for $t {
            #[inline]
            fn add_wrap(self, rhs: Self) -> Self {
                self.wrapping_add(rhs)
            }
            #[inline]
            fn sub_wrap(self, rhs: Self) -> Self {
                self.wrapping_sub(rhs)
            }
            #[inline]
            fn mul_wrap(self, rhs: Self) -> Self {
                self.wrapping_mul(rhs)
            }
        }
    };
}

float_arith!(f32);
float_arith!(f64);
int_arith!(i64);
int_arith!(i32);
int_arith!(u8);

/// A floating element (`f32`, `f64`).
///
/// ```
/// use ferrograd_storage::FloatElement;
/// fn sigmoid<T: FloatElement>(x: T) -> T {
///     T::one() / (T::one() + (-x).exp())
/// }
/// assert_eq!(sigmoid(0.0f32), 0.5);
/// assert!(sigmoid(4.0f64) > 0.98 && sigmoid(-4.0f64) < 0.02);
/// ```
pub trait FloatElement: NumElement + Float {}

macro_rules! numeric_element {
    ($t:ty, $dtype:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dtype;
            #[inline]
            fn to_f64(self) -> f64 {
                self.as_()
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v.as_()
            }
            #[inline]
            fn to_i64(self) -> i64 {
                self.as_()
            }
            #[inline]
            fn from_i64(v: i64) -> Self {
                v.as_()
            }
            fn slice(buffer: &CpuBuffer) -> Option<&[Self]> {
                match buffer {
                    CpuBuffer::$dtype(v) => Some(v),
                    _ => None,
                }
            }
            fn vec_mut(buffer: &mut CpuBuffer) -> Option<&mut Vec<Self>> {
                match buffer {
                    CpuBuffer::$dtype(v) => Some(v),
                    _ => None,
                }
            }
            fn into_buffer(data: Vec<Self>) -> CpuBuffer {
                CpuBuffer::$dtype(data)
            }
        }
    };
}

numeric_element!(f32, F32);
numeric_element!(f64, F64);
numeric_element!(i64, I64);
numeric_element!(i32, I32);
numeric_element!(u8, U8);

impl FloatElement for f32 {}
impl FloatElement for f64 {}

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    #[inline]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline]
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    fn slice(buffer: &CpuBuffer) -> Option<&[Self]> {
        match buffer {
            CpuBuffer::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn vec_mut(buffer: &mut CpuBuffer) -> Option<&mut Vec<Self>> {
        match buffer {
            CpuBuffer::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn into_buffer(data: Vec<Self>) -> CpuBuffer {
        CpuBuffer::Bool(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_as_semantics() {
        assert_eq!(3.7f32.cast::<i64>(), 3);
        assert_eq!((-3.7f64).cast::<i32>(), -3);
        assert_eq!(i64::MAX.cast::<i64>(), i64::MAX);
        assert_eq!(300i64.cast::<u8>(), 44);
        assert!(0.5f32.cast::<bool>());
        assert_eq!(true.cast::<f32>(), 1.0);
        assert_eq!(
            9_007_199_254_740_993i64.cast::<i64>(),
            9_007_199_254_740_993
        );
    }
}
