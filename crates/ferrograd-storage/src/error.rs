//! The one error type of ferrograd. Every variant carries the facts of the
//! failure (shapes, dtypes, indices, devices) and its message says what to do,
//! in PyTorch's words where PyTorch has them.

use crate::{DType, Device};

/// Result alias used throughout ferrograd.
///
/// ```
/// use ferrograd_storage::{normalize_dim, Result};
/// fn last_dim(ndim: usize) -> Result<usize> {
///     normalize_dim(-1, ndim)
/// }
/// assert_eq!(last_dim(3)?, 2);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in ferrograd.
///
/// ```
/// use ferrograd_storage::Error;
/// let e = Error::IndexOutOfBounds { index: 3, dim: 0, size: 3 };
/// assert_eq!(e.to_string(), "index 3 is out of bounds for dimension 0 with size 3");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An index past the end of a dimension.
    #[error("index {index} is out of bounds for dimension {dim} with size {size}")]
    IndexOutOfBounds {
        /// The index as the user wrote it (may be negative).
        index: isize,
        /// The dimension indexed.
        dim: usize,
        /// That dimension's size.
        size: usize,
    },

    /// A dimension argument outside `[-ndim, ndim - 1]`.
    #[error("Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})", lo = -(ndim.max(&1).to_owned() as isize), hi = ndim.max(&1).to_owned() as isize - 1)]
    DimOutOfRange {
        /// The dim as written.
        dim: isize,
        /// The tensor's number of dimensions.
        ndim: usize,
    },

    /// A reshape target whose element count differs from the input's.
    #[error("shape '{shape:?}' is invalid for input of size {numel}")]
    InvalidShape {
        /// The requested shape (`-1` allowed).
        shape: Vec<isize>,
        /// The number of elements of the input.
        numel: usize,
    },

    /// `view` on strides that cannot express the new shape without a copy.
    #[error("view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces): shape {shape:?} with strides {strides:?} cannot be viewed as {target:?}. Use .reshape(...) instead.")]
    ViewIncompatible {
        /// The input's shape.
        shape: Vec<usize>,
        /// The input's strides.
        strides: Vec<isize>,
        /// The requested shape.
        target: Vec<usize>,
    },

    /// Two shapes that do not broadcast.
    #[error("The size of tensor a ({lhs_size}) must match the size of tensor b ({rhs_size}) at non-singleton dimension {dim}: shapes {lhs:?} and {rhs:?} do not broadcast in {op}")]
    BroadcastMismatch {
        /// The op that broadcast.
        op: &'static str,
        /// First operand's shape.
        lhs: Vec<usize>,
        /// Second operand's shape.
        rhs: Vec<usize>,
        /// The dimension (counted from the left of the broadcast result) that disagrees.
        dim: usize,
        /// `lhs`'s size there.
        lhs_size: usize,
        /// `rhs`'s size there.
        rhs_size: usize,
    },

    /// Two shapes that must be equal or related and are not.
    #[error("{op}: {msg} (got shapes {lhs:?} and {rhs:?})")]
    ShapeMismatch {
        /// The op that checked.
        op: &'static str,
        /// First shape involved.
        lhs: Vec<usize>,
        /// Second shape involved.
        rhs: Vec<usize>,
        /// What the op needed, and the fix.
        msg: String,
    },

    /// A tensor of the wrong dtype for the op or for the Rust element type asked for.
    #[error("{op}: expected dtype {expected} but got {got}. {hint}")]
    DTypeMismatch {
        /// The op or accessor.
        op: &'static str,
        /// The dtype it needs.
        expected: DType,
        /// The dtype it got.
        got: DType,
        /// What to do about it.
        hint: String,
    },

    /// An op that has no kernel for this dtype.
    #[error("{op} is not implemented for dtype {dtype}. {hint}")]
    UnsupportedDType {
        /// The op.
        op: &'static str,
        /// The dtype it was given.
        dtype: DType,
        /// What to do about it.
        hint: String,
    },

    /// Tensors of one op on different devices.
    #[error("Expected all tensors to be on the same device, but found at least two devices, {a} and {b}!")]
    DeviceMismatch {
        /// One device.
        a: Device,
        /// The other.
        b: Device,
    },

    /// CUDA asked for where it cannot be used.
    #[error("CUDA is not available: {reason}. Use Device::cuda_if_available(0) to fall back to the CPU.")]
    CudaNotAvailable {
        /// Why (not compiled in, no driver, no device...).
        reason: String,
    },

    /// Host memory asked of a tensor on a GPU by a path that only runs on
    /// the CPU (an op without a kernel for that device, an in-place write).
    #[error("this operation needs the tensor in host memory, but it is on {device} and the op has no {device} kernel yet. Move it with .cpu() first (and back with .to_device(...)).")]
    NotOnHost {
        /// Where the tensor lives.
        device: Device,
    },

    /// A CUDA driver, NVRTC or cuBLAS call that failed at run time.
    #[error("CUDA error in {context}: {msg}")]
    Cuda {
        /// What was being done (`launching add_f32`, `cublasSgemm`...).
        context: String,
        /// The driver's own message.
        msg: String,
    },

    /// A zero-copy host view (`numpy()`) asked of a tensor on a GPU; the message is PyTorch's.
    #[error("can't convert {device} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.")]
    NumpyOnDevice {
        /// Where the tensor lives.
        device: Device,
    },

    /// A tensor with more or fewer than one element where one scalar was needed.
    #[error("a Tensor with {numel} elements cannot be converted to Scalar")]
    NotAScalar {
        /// Its element count.
        numel: usize,
    },

    /// The storage is locked by a live mutable or shared view.
    #[error("the tensor's storage is {state}: {hint}")]
    StorageBorrowed {
        /// `mutably borrowed` or `borrowed`.
        state: &'static str,
        /// What holds it and what to do.
        hint: String,
    },

    /// A rule of the autograd graph was broken; the message is PyTorch's.
    #[error("{0}")]
    Autograd(String),

    /// An argument with a bad value (a negative size, a zero step...).
    #[error("{op}: {msg}")]
    InvalidArgument {
        /// The op.
        op: &'static str,
        /// What was wrong, and the fix.
        msg: String,
    },

    /// A file whose contents do not follow its format.
    #[error("{format} format error: {msg}")]
    Format {
        /// `npy`, `npz`, `safetensors`...
        format: &'static str,
        /// What is wrong in it.
        msg: String,
    },

    /// An I/O failure, with the path involved where known.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (`reading weights.npy`).
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An [`Error::InvalidArgument`] for `op`.
    ///
    /// ```
    /// use ferrograd_storage::Error;
    /// let e = Error::invalid("arange", "step must be non-zero");
    /// assert!(matches!(e, Error::InvalidArgument { op: "arange", .. }));
    /// assert_eq!(e.to_string(), "arange: step must be non-zero");
    /// ```
    pub fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            msg: msg.into(),
        }
    }

    /// An [`Error::Io`] with a context line.
    ///
    /// ```
    /// use ferrograd_storage::Error;
    /// let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    /// let e = Error::io("reading weights.npy", source);
    /// assert_eq!(e.to_string(), "reading weights.npy: no such file");
    /// assert!(std::error::Error::source(&e).is_some());
    /// ```
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_facts() {
        let e = Error::DimOutOfRange { dim: 2, ndim: 2 };
        assert_eq!(
            e.to_string(),
            "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
        );
        let e = Error::InvalidShape {
            shape: vec![2, 5],
            numel: 9,
        };
        assert_eq!(
            e.to_string(),
            "shape '[2, 5]' is invalid for input of size 9"
        );
        let e = Error::DeviceMismatch {
            a: Device::Cuda(0),
            b: Device::Cpu,
        };
        assert!(e.to_string().contains("cuda:0 and cpu!"));
        let e = Error::NotAScalar { numel: 3 };
        assert_eq!(
            e.to_string(),
            "a Tensor with 3 elements cannot be converted to Scalar"
        );
    }
}
