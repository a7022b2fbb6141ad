//! The ops of this crate that run on a GPU (only with the `cuda` feature):
//! the forward of batched matrix products through cuBLAS. Their backward
//! rules are products and sums too, so autograd works on GPU tensors
//! through them.

use ferrograd_autograd::Tensor;
use ferrograd_cuda::MatmulDims;
use ferrograd_storage::{Layout, Result};

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
    Tensor::from_parts(out, Layout::contiguous(&[batch, &[m, n]].concat()))
}
