//! `gt`, `ge`, `lt`, `le`, `eq`, `ne`: both operands promoted to a common
//! dtype, broadcast, then compared into a bool tensor.

use crate::unary::kernel::{cast_for_kernel, zip_typed};
use ferrograd_autograd::{check_same_device, Operand, Tensor};
use ferrograd_storage::{with_dtype, DType, Result};

/// One comparison, written once for every element type.
pub(crate) trait Relation {
    const NAME: &'static str;
    fn holds<T: PartialOrd>(a: T, b: T) -> bool;
}

macro_rules! relation {
    ($name:ident, $op:literal, |$a:ident, $b:ident| $test:expr) => {
        pub(crate) struct $name;
        impl Relation for $name {
            const NAME: &'static str = $op;
            #[inline(always)]
            fn holds<T: PartialOrd>($a: T, $b: T) -> bool {
                $test
            }
        }
    };
}

relation!(Gt, "gt", |a, b| a > b);
relation!(Ge, "ge", |a, b| a >= b);
relation!(Lt, "lt", |a, b| a < b);
relation!(Le, "le", |a, b| a <= b);
relation!(Eq, "eq", |a, b| a == b);
relation!(Ne, "ne", |a, b| a != b);

/// `R(a, other)` elementwise, after promotion (`other` may be a scalar).
pub(crate) fn compare<R: Relation>(a: &Tensor, other: Operand<'_>) -> Result<Tensor> {
    let b = other.to_tensor_against(a.dtype());
    check_same_device(a, &b)?;
    let dtype = DType::promote(a.dtype(), b.dtype());
    let (x, y) = (cast_for_kernel(a, dtype)?, cast_for_kernel(&b, dtype)?);
    with_dtype!(dtype, T => zip_typed(R::NAME, &x, &y, |p: T, q: T| R::holds(p, q)))
}
