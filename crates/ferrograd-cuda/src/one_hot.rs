//! One-hot tensors built on the device from class indices: the constant
//! that routes a gradient to the selected elements (`max(dim)`'s backward)
//! and the target mask of `cross_entropy`.

use crate::backend::cuda_error;
use crate::buffer::CudaBuffer;
use crate::kernels::{c_type, cast, grid, View};
use cudarc::driver::PushKernelArg;
use ferrograd_storage::{DType, Result, Storage};

/// The extents of a one-hot tensor `[outer, classes, inner]` whose indices
/// are `[outer, inner]`.
///
/// ```
/// use ferrograd_cuda::{download, one_hot, upload, OneHotDims};
/// use ferrograd_storage::{CpuBuffer, DType, Layout};
/// // Classes along dim 0 of a [3, 2] result: one column per index.
/// let dims = OneHotDims { outer: 1, classes: 3, inner: 2 };
/// match upload(&CpuBuffer::I64(vec![1, 2]), 0) {
///     Ok(idx) => {
///         let hot = one_hot((&idx, &Layout::contiguous(&[2])), dims, DType::I64, -100)?;
///         assert_eq!(download(&hot, &Layout::contiguous(&[6]))?, CpuBuffer::I64(vec![0, 0, 1, 0, 0, 1]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneHotDims {
    /// Product of the dims before the class dim.
    pub outer: usize,
    /// Size of the class dim.
    pub classes: usize,
    /// Product of the dims after the class dim.
    pub inner: usize,
}

/// `out[o, j, i] = (idx[o, i] == j && idx[o, i] != ignore)`.
pub(crate) fn one_hot_source(name: &str, dtype: DType) -> String {
    let t = c_type(dtype);
    format!(
        "extern \"C\" __global__ void {name}(const long long* idx, {t}* out, long long classes, long long inner, long long n, long long ignore) {{
  long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
    long long in = i % inner, j = (i / inner) % classes, o = i / (inner * classes);
    long long t = idx[o * inner + in];
    out[i] = ({t})((t == j && t != ignore) ? 1 : 0);
  }}
}}
"
    )
}

/// A contiguous `[outer, classes, inner]` tensor of `dtype` with 1 where the
/// class equals the index (`indices`: an integer view of `outer · inner`
/// elements, row-major) and 0 elsewhere; an index equal to `ignore` gives a
/// row of zeros. Out-of-range indices give zero rows too (callers check
/// their targets first, with PyTorch's message).
///
/// ```
/// use ferrograd_cuda::{download, one_hot, upload, OneHotDims};
/// use ferrograd_storage::{CpuBuffer, DType, Layout};
/// match upload(&CpuBuffer::I64(vec![2, -100]), 0) {
///     Ok(idx) => {
///         let dims = OneHotDims { outer: 2, classes: 3, inner: 1 };
///         let hot = one_hot((&idx, &Layout::contiguous(&[2])), dims, DType::F32, -100)?;
///         let want = CpuBuffer::F32(vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
///         assert_eq!(download(&hot, &Layout::contiguous(&[2, 3]))?, want);
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn one_hot(indices: View<'_>, dims: OneHotDims, dtype: DType, ignore: i64) -> Result<Storage> {
    let idx = cast(indices, DType::I64)?;
    let bi = CudaBuffer::of(&idx)?;
    let backend = bi.backend();
    let n = dims.outer * dims.classes * dims.inner;
    let mut out = CudaBuffer::zeros(backend, dtype, n)?;
    if n > 0 {
        let name = format!("one_hot_{}", dtype.name());
        let f = backend.kernel(&name, || one_hot_source(&name, dtype))?;
        let (classes, inner, n64) = (dims.classes as i64, dims.inner as i64, n as i64);
        let mut args = backend.stream().launch_builder(&f);
        args.arg(bi.bytes())
            .arg(out.bytes_mut())
            .arg(&classes)
            .arg(&inner)
            .arg(&n64)
            .arg(&ignore);
        // SAFETY: parameters match; `idx` holds outer · inner indices.
        unsafe { args.launch(grid(n)) }.map_err(|e| cuda_error(format!("launching {name}"), e))?;
    }
    Ok(out.into_storage())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_decodes_the_position_and_skips_ignored_rows() {
        let s = one_hot_source("one_hot_float64", DType::F64);
        assert!(s.contains("void one_hot_float64(const long long* idx, double* out"));
        assert!(s.contains("out[i] = (double)((t == j && t != ignore) ? 1 : 0);"));
    }
}
