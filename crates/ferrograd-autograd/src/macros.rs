//! The [`tensor!`](crate::tensor) macro for nested literals, and
//! [`NestedLiteral`], the nested list of scalars it builds and converts to a
//! tensor with `torch.tensor`'s shape and dtype rules.

use crate::{Scalar, Tensor};
use ferrograd_storage::{with_dtype, DType, DTypeCategory, Error, Result};

/// A nested list of scalars, as written in a `torch.tensor([...])` call.
/// [`tensor!`](crate::tensor) builds one from its literal; build one by hand
/// to make a tensor from nested data known only at run time.
///
/// ```
/// use ferrograd_autograd::{DType, NestedLiteral, Scalar};
/// let rows = (0..2).map(|r| NestedLiteral::Scalars(vec![Scalar::from(r), Scalar::from(r * 10)]));
/// let t = NestedLiteral::List(rows.collect()).to_tensor()?;
/// assert_eq!((t.shape(), t.dtype()), (&[2, 2][..], DType::I64));
/// assert_eq!(t.to_vec::<i64>()?, vec![0, 0, 1, 10]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum NestedLiteral {
    /// A list of lists: one more dimension.
    List(Vec<NestedLiteral>),
    /// The innermost list.
    Scalars(Vec<Scalar>),
}

impl NestedLiteral {
    /// The tensor this literal describes, with `torch.tensor`'s dtype rule:
    /// `f32` if any element is a float, else `i64` if any is an integer, else
    /// `bool`; an empty literal is `f32`. Rows of unequal length ("ragged"
    /// nesting) are an error naming the dimension, as in PyTorch.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, NestedLiteral, Scalar};
    /// let ragged = NestedLiteral::List(vec![
    ///     NestedLiteral::Scalars(vec![Scalar::from(1), Scalar::from(2)]),
    ///     NestedLiteral::Scalars(vec![Scalar::from(3)]),
    /// ]);
    /// let e = ragged.to_tensor().unwrap_err();
    /// assert_eq!(e.to_string(), "tensor: expected sequence of length 2 at dim 1 (got 1)");
    /// let mixed = NestedLiteral::Scalars(vec![Scalar::from(1), Scalar::from(0.5)]);
    /// assert_eq!(mixed.to_tensor()?.dtype(), DType::F32);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn to_tensor(&self) -> Result<Tensor> {
        let shape = self.shape();
        let mut values = Vec::with_capacity(shape.iter().product());
        self.flatten_into(&shape, 0, &mut values)?;
        let dtype = literal_dtype(&values);
        with_dtype!(dtype, T => {
            let data: Vec<T> = values.iter().map(|&s| s.to_element::<T>()).collect();
            Tensor::from_vec(data, &shape)
        })
    }

    /// The shape read along the first element of every level (what
    /// [`to_tensor`](Self::to_tensor) then checks every other element against).
    ///
    /// ```
    /// use ferrograd_autograd::tensor;
    /// assert_eq!(tensor![[[1], [2], [3]], [[4], [5], [6]]].shape(), &[2, 3, 1]);
    /// ```
    pub fn shape(&self) -> Vec<usize> {
        match self {
            NestedLiteral::Scalars(v) => vec![v.len()],
            NestedLiteral::List(v) => {
                let mut shape = vec![v.len()];
                if let Some(first) = v.first() {
                    shape.extend(first.shape());
                }
                shape
            }
        }
    }

    /// Appends the scalars in row-major order, checking each level against `shape`.
    fn flatten_into(&self, shape: &[usize], dim: usize, out: &mut Vec<Scalar>) -> Result<()> {
        let innermost = dim + 1 == shape.len();
        let len = match self {
            NestedLiteral::List(v) => v.len(),
            NestedLiteral::Scalars(v) => v.len(),
        };
        if len != shape[dim] {
            return Err(Error::invalid(
                "tensor",
                format!(
                    "expected sequence of length {} at dim {dim} (got {len})",
                    shape[dim]
                ),
            ));
        }
        match self {
            NestedLiteral::Scalars(v) if innermost => out.extend_from_slice(v),
            NestedLiteral::List(v) if !innermost => {
                for item in v {
                    item.flatten_into(shape, dim + 1, out)?;
                }
            }
            _ => {
                return Err(Error::invalid(
                    "tensor",
                    format!("mixed nesting depths: every element at dim {dim} must be a list of the same depth"),
                ))
            }
        }
        Ok(())
    }
}

/// `torch.tensor`'s default dtype for these elements.
fn literal_dtype(values: &[Scalar]) -> DType {
    match values.iter().map(|s| s.category()).max() {
        None | Some(DTypeCategory::Float) => DType::F32,
        Some(DTypeCategory::Integer) => DType::I64,
        Some(DTypeCategory::Bool) => DType::Bool,
    }
}

/// A tensor from a nested literal, with `torch.tensor`'s defaults: integer
/// literals make an `i64` tensor, float literals an `f32` one (mixing them
/// gives `f32`), `true`/`false` a `bool` one. The nesting depth is the number
/// of dimensions; any depth works. Elements may be any expression of a Rust
/// number type or `bool` (a typed `2.0f64` still gives `f32`: convert with
/// [`Tensor::to_dtype`] for other dtypes).
///
/// ```
/// use ferrograd_autograd::{tensor, DType};
/// let t = tensor![[1, 2, 3], [4, 5, 6]];
/// assert_eq!((t.shape(), t.dtype()), (&[2, 3][..], DType::I64));
/// assert_eq!(tensor![1.0, 2.5].to_vec::<f32>()?, vec![1.0, 2.5]);
/// assert_eq!(tensor![true, false].dtype(), DType::Bool);
/// assert_eq!(tensor![[[[7]]]].shape(), &[1, 1, 1, 1]);
/// assert_eq!(tensor![].shape(), &[0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
///
/// The outer brackets belong to the macro, so `tensor![3.5]` has shape `[1]`
/// like `torch.tensor([3.5])`; a 0-d tensor is [`Tensor::scalar`].
///
/// # Panics
///
/// On ragged nesting (rows of different lengths), with PyTorch's message.
/// Literals are written in the source, so this is a bug to fix there; for
/// nested data built at run time use [`NestedLiteral::to_tensor`], which
/// returns the error instead.
///
/// ```should_panic
/// # use ferrograd_autograd::tensor;
/// let _ = tensor![[1, 2], [3]]; // panics: expected sequence of length 2 at dim 1 (got 1)
/// ```
#[macro_export]
macro_rules! tensor {
    ($($body:tt)*) => {
        match $crate::__nested_literal!($($body)*).to_tensor() {
            ::core::result::Result::Ok(t) => t,
            ::core::result::Result::Err(e) => ::core::panic!("tensor!: {}", e),
        }
    };
}

/// Builds the [`NestedLiteral`] of a [`tensor!`](crate::tensor) body.
#[doc(hidden)]
#[macro_export]
macro_rules! __nested_literal {
    ($([$($inner:tt)*]),+ $(,)?) => {
        $crate::NestedLiteral::List(::std::vec![$($crate::__nested_literal!($($inner)*)),+])
    };
    ($($x:expr),* $(,)?) => {
        $crate::NestedLiteral::Scalars(::std::vec![$($crate::Scalar::from($x)),*])
    };
}
