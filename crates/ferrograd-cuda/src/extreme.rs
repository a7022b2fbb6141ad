//! Max / min over dims with the index of the extreme: one block per output,
//! each thread keeping its best `(value, index)` over a strided share of
//! the reduced elements, then a shared-memory tree. As on the CPU, NaN wins
//! and the first of equal extremes gives the index (the index is flat over
//! the reduced dims, row-major).

use crate::backend::cuda_error;
use crate::buffer::CudaBuffer;
use crate::kernels::{
    c_type, reduce_grid, reduction, View, KEPT_BASE_C, REDUCED_OFFSET_C, REDUCTION_C, THREADS,
};
use cudarc::driver::PushKernelArg;
use ferrograd_storage::{DType, Error, Result, Storage};

/// The kernel name of the extreme of a `dtype` view.
pub(crate) fn extreme_name(max: bool, dtype: DType) -> String {
    format!("{}_index_{}", if max { "max" } else { "min" }, dtype.name())
}

/// The extreme kernel: values in the input's type, indices as `long long`.
pub(crate) fn extreme_source(name: &str, dtype: DType, max: bool) -> String {
    let t = c_type(dtype);
    let cmp = if max { ">" } else { "<" };
    format!(
        "{REDUCTION_C}typedef {t} T;
__device__ bool better(T v, long long i, T b, long long bi) {{
  if (bi < 0) return i >= 0;
  if (i < 0) return false;
  bool vn = v != v, bn = b != b;
  if (vn || bn) return vn && (!bn || i < bi);
  return (v {cmp} b) || (v == b && i < bi);
}}
extern \"C\" __global__ void {name}(const T* a, T* out, long long* index, Reduction m, long long nout) {{
  __shared__ T vals[{THREADS}];
  __shared__ long long idx[{THREADS}];
  for (long long o = blockIdx.x; o < nout; o += gridDim.x) {{
    {KEPT_BASE_C}    T best = a[base]; long long bi = -1;
    for (long long j = threadIdx.x; j < m.rcount; j += blockDim.x) {{
      {REDUCED_OFFSET_C}      if (better(a[p], j, best, bi)) {{ best = a[p]; bi = j; }}
    }}
    vals[threadIdx.x] = best; idx[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {{
      if (threadIdx.x < s && better(vals[threadIdx.x + s], idx[threadIdx.x + s], vals[threadIdx.x], idx[threadIdx.x])) {{
        vals[threadIdx.x] = vals[threadIdx.x + s]; idx[threadIdx.x] = idx[threadIdx.x + s];
      }}
      __syncthreads();
    }}
    if (threadIdx.x == 0) {{ out[o] = vals[0]; index[o] = idx[0]; }}
    __syncthreads();
  }}
}}
"
    )
}

/// `(values, indices)` of the maxima (`max`) or minima over `dims` (sorted,
/// distinct, in range, none of size 0) of the view, contiguous over the kept
/// dims; the indices are `int64`, flat over the reduced dims.
///
/// ```
/// use ferrograd_cuda::{download, extreme_dims, upload};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// match upload(&CpuBuffer::F32(vec![1.0, 7.0, 7.0, 4.0, 0.0, 9.0]), 0) {
///     Ok(x) => {
///         let (v, i) = extreme_dims((&x, &Layout::contiguous(&[2, 3])), &[1], true)?;
///         let l = Layout::contiguous(&[2]);
///         assert_eq!(download(&v, &l)?, CpuBuffer::F32(vec![7.0, 9.0]));
///         assert_eq!(download(&i, &l)?, CpuBuffer::I64(vec![1, 2])); // the first 7
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn extreme_dims((a, la): View<'_>, dims: &[usize], max: bool) -> Result<(Storage, Storage)> {
    if let Some(&d) = dims.iter().find(|&&d| la.shape()[d] == 0) {
        return Err(Error::invalid(
            "reduction",
            format!("Expected reduction dim {d} to have non-zero size."),
        ));
    }
    let (m, nout) = reduction(la, dims)?;
    let dtype = a.dtype();
    let ba = CudaBuffer::of(a)?;
    let backend = ba.backend();
    let mut values = CudaBuffer::zeros(backend, dtype, nout)?;
    let mut indices = CudaBuffer::zeros(backend, DType::I64, nout)?;
    if nout > 0 {
        let name = extreme_name(max, dtype);
        let f = backend.kernel(&name, || extreme_source(&name, dtype, max))?;
        let n64 = nout as i64;
        let mut args = backend.stream().launch_builder(&f);
        args.arg(ba.bytes())
            .arg(values.bytes_mut())
            .arg(indices.bytes_mut())
            .arg(&m)
            .arg(&n64);
        // SAFETY: parameters match; offsets stay inside the input's layout,
        // and every reduced extent is non-empty (checked above).
        unsafe { args.launch(reduce_grid(nout)) }
            .map_err(|e| cuda_error(format!("launching {name}"), e))?;
    }
    Ok((values.into_storage(), indices.into_storage()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_compare_the_right_way_and_keep_indices() {
        let s = extreme_source("max_index_float32", DType::F32, true);
        assert!(s.contains("typedef float T;"));
        assert!(s.contains("return (v > b) || (v == b && i < bi);"));
        assert!(s.contains("void max_index_float32(const T* a, T* out, long long* index"));
        let s = extreme_source("min_index_int64", DType::I64, false);
        assert!(s.contains("typedef long long T;") && s.contains("(v < b)"));
        assert_eq!(extreme_name(false, DType::U8), "min_index_uint8");
    }
}
