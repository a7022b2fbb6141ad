//! The ops of this crate that run on a GPU (only with the `cuda` feature).
//! Each is the GPU twin of a CPU op: its forward runs NVRTC-compiled
//! kernels or cuBLAS, and its backward rule is written with ops that run on
//! the GPU too, so autograd works on GPU tensors end to end.
//!
//! - here: the forward of batched matrix products through cuBLAS;
//! - `unary`: the elementwise functions and activations;
//! - `conv`: `conv2d` and `max_pool2d` through `im2col` / `col2im` kernels;
//! - `reduce`: max / min / argmax / argmin, and the masks their gradients use;
//! - `loss`: softmax / log-softmax and the class-index losses;
//! - `indexing`: `index_select` and `index_add`.
//!
//! An op dispatches here when its input is on a GPU (`device().is_cuda()`),
//! before it would borrow host memory.

pub(crate) mod conv;
pub(crate) mod indexing;
pub(crate) mod loss;
pub(crate) mod reduce;
pub(crate) mod unary;

use ferrograd_autograd::Tensor;
use ferrograd_cuda::MatmulDims;
use ferrograd_storage::{Layout, Result, Storage};

/// A tensor over a fresh contiguous device storage of `shape`.
pub(crate) fn wrap(storage: Storage, shape: &[usize]) -> Result<Tensor> {
    Tensor::from_parts(storage, Layout::contiguous(shape))
}

/// `a·b` for layouts already broadcast to `batch ++ [m, k]` and `batch ++ [k, n]`.
pub(crate) fn product_forward(
    (a, la): (&Tensor, &Layout),
    (b, lb): (&Tensor, &Layout),
    batch: &[usize],
    (m, k, n): (usize, usize, usize),
) -> Result<Tensor> {
    let dims = MatmulDims {
        batch: batch.iter().product(),
        m,
        k,
        n,
    };
    let out = ferrograd_cuda::matmul((a.storage(), la), (b.storage(), lb), dims)?;
    wrap(out, &[batch, &[m, n]].concat())
}
