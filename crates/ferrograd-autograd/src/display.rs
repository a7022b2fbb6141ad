//! Printing tensors in PyTorch's format.

use crate::Tensor;
use std::fmt;

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tensor(shape={:?}, dtype={})", self.shape(), self.dtype())
    }
}
