//! The element types a tensor can hold ([`DType`]) and PyTorch's rules for
//! promoting two of them to a common type.

use std::fmt;

/// The element type of a tensor, named after PyTorch's dtypes.
///
/// ```
/// use ferrograd_storage::DType;
/// assert_eq!(DType::F32.size_in_bytes(), 4);
/// assert!(DType::F64.is_floating_point());
/// assert_eq!(DType::promote(DType::I64, DType::F32), DType::F32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// `float32`, the default floating type.
    F32,
    /// `float64`.
    F64,
    /// `int64`, the default integer type.
    I64,
    /// `int32`.
    I32,
    /// `uint8`.
    U8,
    /// `bool`, one byte per element holding 0 or 1.
    Bool,
}

/// The order PyTorch promotes within: bool < integers < floating.
///
/// ```
/// use ferrograd_storage::{DType, DTypeCategory};
/// assert_eq!(DType::U8.category(), DTypeCategory::Integer);
/// assert!(DTypeCategory::Bool < DTypeCategory::Integer);
/// assert!(DTypeCategory::Integer < DTypeCategory::Float);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum DTypeCategory {
    /// `bool`.
    Bool,
    /// `u8`, `i32`, `i64`.
    Integer,
    /// `f32`, `f64`.
    Float,
}

impl DType {
    /// Every dtype, in declaration order.
    ///
    /// ```
    /// use ferrograd_storage::DType;
    /// assert_eq!(DType::ALL.len(), 6);
    /// assert_eq!(DType::ALL.iter().filter(|d| d.is_floating_point()).count(), 2);
    /// assert_eq!(DType::ALL[0], DType::F32);
    /// ```
    pub const ALL: [DType; 6] = [
        DType::F32,
        DType::F64,
        DType::I64,
        DType::I32,
        DType::U8,
        DType::Bool,
    ];

    /// Bytes one element occupies.
    ///
    /// ```
    /// use ferrograd_storage::DType;
    /// assert_eq!(DType::I64.size_in_bytes(), 8);
    /// assert_eq!(DType::I32.size_in_bytes(), 4);
    /// assert_eq!(DType::Bool.size_in_bytes(), 1);
    /// ```
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::U8 | DType::Bool => 1,
        }
    }

    /// True for `f32` and `f64`, the dtypes that may require gradients.
    ///
    /// ```
    /// use ferrograd_storage::DType;
    /// assert!(DType::F32.is_floating_point());
    /// assert!(!DType::I64.is_floating_point());
    /// assert!(!DType::Bool.is_floating_point());
    /// ```
    pub fn is_floating_point(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// Which promotion category the dtype belongs to.
    ///
    /// ```
    /// use ferrograd_storage::{DType, DTypeCategory};
    /// assert_eq!(DType::Bool.category(), DTypeCategory::Bool);
    /// assert_eq!(DType::I32.category(), DTypeCategory::Integer);
    /// assert_eq!(DType::F64.category(), DTypeCategory::Float);
    /// ```
    pub fn category(self) -> DTypeCategory {
        match self {
            DType::Bool => DTypeCategory::Bool,
            DType::U8 | DType::I32 | DType::I64 => DTypeCategory::Integer,
            DType::F32 | DType::F64 => DTypeCategory::Float,
        }
    }

    /// PyTorch's name without the `torch.` prefix: `float32`, `int64`, `bool`...
    ///
    /// ```
    /// use ferrograd_storage::DType;
    /// assert_eq!(DType::F32.name(), "float32");
    /// assert_eq!(DType::U8.name(), "uint8");
    /// assert_eq!(DType::I64.to_string(), DType::I64.name()); // Display prints the name
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I64 => "int64",
            DType::I32 => "int32",
            DType::U8 => "uint8",
            DType::Bool => "bool",
        }
    }

    /// The legacy type name PyTorch uses in autograd messages (`Float`, `Long`...).
    ///
    /// ```
    /// use ferrograd_storage::DType;
    /// assert_eq!(DType::F64.legacy_name(), "Double");
    /// assert_eq!(DType::I64.legacy_name(), "Long");
    /// assert_eq!(DType::U8.legacy_name(), "Byte");
    /// ```
    pub fn legacy_name(self) -> &'static str {
        match self {
            DType::F32 => "Float",
            DType::F64 => "Double",
            DType::I64 => "Long",
            DType::I32 => "Int",
            DType::U8 => "Byte",
            DType::Bool => "Bool",
        }
    }

    /// The dtype two tensors promote to in a binary op (`torch.promote_types`).
    ///
    /// ```
    /// use ferrograd_storage::DType;
    /// assert_eq!(DType::promote(DType::U8, DType::I32), DType::I32);
    /// assert_eq!(DType::promote(DType::Bool, DType::U8), DType::U8);
    /// assert_eq!(DType::promote(DType::F32, DType::F64), DType::F64);
    /// assert_eq!(DType::promote(DType::I64, DType::F32), DType::F32);
    /// ```
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        if a == b {
            return a;
        }
        match (a.category(), b.category()) {
            (DTypeCategory::Float, DTypeCategory::Float) => F64,
            (DTypeCategory::Float, _) => a,
            (_, DTypeCategory::Float) => b,
            (DTypeCategory::Bool, _) => b,
            (_, DTypeCategory::Bool) => a,
            _ => {
                // Both integers: the wider one wins (u8 < i32 < i64).
                let rank = |d: DType| match d {
                    U8 => 0,
                    I32 => 1,
                    _ => 2,
                };
                if rank(a) >= rank(b) {
                    a
                } else {
                    b
                }
            }
        }
    }

    /// The dtype of `tensor op scalar` where the scalar is a Rust number of
    /// category `scalar`: a scalar only promotes across categories, so an `f32`
    /// tensor times `2.0f64` stays `f32`, and an integer tensor times `0.5` is `f32`.
    ///
    /// ```
    /// use ferrograd_storage::{DType, DTypeCategory};
    /// assert_eq!(DType::promote_with_scalar(DType::F32, DTypeCategory::Float), DType::F32);
    /// assert_eq!(DType::promote_with_scalar(DType::I64, DTypeCategory::Float), DType::F32);
    /// assert_eq!(DType::promote_with_scalar(DType::U8, DTypeCategory::Integer), DType::U8);
    /// assert_eq!(DType::promote_with_scalar(DType::Bool, DTypeCategory::Integer), DType::I64);
    /// ```
    pub fn promote_with_scalar(tensor: DType, scalar: DTypeCategory) -> DType {
        if scalar <= tensor.category() {
            return tensor;
        }
        match scalar {
            DTypeCategory::Float => DType::F32,
            DTypeCategory::Integer => DType::I64,
            DTypeCategory::Bool => DType::Bool,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_follows_pytorch() {
        use DType::*;
        assert_eq!(DType::promote(I64, F32), F32);
        assert_eq!(DType::promote(F32, F64), F64);
        assert_eq!(DType::promote(U8, I32), I32);
        assert_eq!(DType::promote(I64, I32), I64);
        assert_eq!(DType::promote(Bool, U8), U8);
        assert_eq!(DType::promote(Bool, Bool), Bool);
        assert_eq!(DType::promote_with_scalar(F32, DTypeCategory::Float), F32);
        assert_eq!(DType::promote_with_scalar(I64, DTypeCategory::Float), F32);
        assert_eq!(DType::promote_with_scalar(U8, DTypeCategory::Integer), U8);
        assert_eq!(
            DType::promote_with_scalar(Bool, DTypeCategory::Integer),
            I64
        );
    }
}
