//! Slices picked along one dim by a vector of indices (`index_select`) and
//! the adjoint, which sums slices back to the rows they were picked from
//! (`index_add` onto zeros) — a gather per output element, so repeated
//! indices need no atomics and the order of the sum is fixed. Both work on
//! dense `[outer, rows, inner]` buffers; the indices are checked by the
//! caller.

use crate::backend::cuda_error;
use crate::buffer::{require_dense, CudaBuffer};
use crate::kernels::{c_type, grid, refused, View};
use cudarc::driver::PushKernelArg;
use ferrograd_storage::{DType, Result, Storage};

/// The extents of a pick: `outer` blocks of `rows` slices of `inner`
/// elements in the source, `picks` slices per block in the result.
///
/// ```
/// use ferrograd_cuda::{download, take, upload, Picks};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// // Columns 2 and 0 of a [2, 3] matrix: 2 blocks (rows) of 3 one-element slices.
/// let p = Picks { outer: 2, rows: 3, picks: 2, inner: 1 };
/// match (upload(&CpuBuffer::I32(vec![1, 2, 3, 4, 5, 6]), 0), upload(&CpuBuffer::I64(vec![2, 0]), 0)) {
///     (Ok(s), Ok(i)) => {
///         let out = take((&s, &Layout::contiguous(&[2, 3])), (&i, &Layout::contiguous(&[2])), p)?;
///         assert_eq!(download(&out, &Layout::contiguous(&[4]))?, CpuBuffer::I32(vec![3, 1, 6, 4]));
///     }
///     (Err(e), _) | (_, Err(e)) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Picks {
    /// Product of the dims before the picked dim.
    pub outer: usize,
    /// Size of the picked dim in the source.
    pub rows: usize,
    /// Number of indices.
    pub picks: usize,
    /// Product of the dims after the picked dim.
    pub inner: usize,
}

/// `out[o, j, i] = src[o, idx[j], i]`.
pub(crate) fn take_source(name: &str, dtype: DType) -> String {
    let t = c_type(dtype);
    format!(
        "extern \"C\" __global__ void {name}(const {t}* src, const long long* idx, {t}* out, long long rows, long long picks, long long inner, long long n) {{
  long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
    long long in = i % inner, j = (i / inner) % picks, o = i / (inner * picks);
    out[i] = src[(o * rows + idx[j]) * inner + in];
  }}
}}
"
    )
}

/// `out[o, r, i] = Σ_{j : idx[j] = r} g[o, j, i]`.
pub(crate) fn put_sum_source(name: &str, dtype: DType) -> String {
    let t = c_type(dtype);
    format!(
        "extern \"C\" __global__ void {name}(const {t}* g, const long long* idx, {t}* out, long long rows, long long picks, long long inner, long long n) {{
  long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
    long long in = i % inner, r = (i / inner) % rows, o = i / (inner * rows);
    {t} acc = 0;
    for (long long j = 0; j < picks; ++j) if (idx[j] == r) acc += g[(o * picks + j) * inner + in];
    out[i] = acc;
  }}
}}
"
    )
}

fn launch(
    name: String,
    source: impl FnOnce(&str) -> String,
    (a, idx): (&Storage, &Storage),
    p: Picks,
    out_len: usize,
) -> Result<Storage> {
    let (ba, bi) = (CudaBuffer::of(a)?, CudaBuffer::of(idx)?);
    let backend = ba.backend();
    let mut out = CudaBuffer::zeros(backend, a.dtype(), out_len)?;
    if out_len > 0 {
        let f = backend.kernel(&name, || source(&name))?;
        let [rows, picks, inner, n] = [p.rows, p.picks, p.inner, out_len].map(|v| v as i64);
        let mut args = backend.stream().launch_builder(&f);
        args.arg(ba.bytes())
            .arg(bi.bytes())
            .arg(out.bytes_mut())
            .arg(&rows)
            .arg(&picks)
            .arg(&inner)
            .arg(&n);
        // SAFETY: parameters match; buffers have the sizes `p` gives and
        // every index lies in [0, rows) (checked by the caller).
        unsafe { args.launch(grid(out_len)) }
            .map_err(|e| cuda_error(format!("launching {name}"), e))?;
    }
    Ok(out.into_storage())
}

/// The picked slices of a dense `[outer, rows, inner]` source as a dense
/// `[outer, picks, inner]` buffer; `idx` is a dense `int64` vector of
/// `picks` indices in `[0, rows)`.
///
/// ```
/// use ferrograd_cuda::{download, take, upload, Picks};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// let src = CpuBuffer::I32(vec![10, 11, 20, 21, 30, 31]); // [3, 2]
/// match (upload(&src, 0), upload(&CpuBuffer::I64(vec![2, 0, 2]), 0)) {
///     (Ok(s), Ok(i)) => {
///         let p = Picks { outer: 1, rows: 3, picks: 3, inner: 2 };
///         let out = take((&s, &Layout::contiguous(&[3, 2])), (&i, &Layout::contiguous(&[3])), p)?;
///         let want = CpuBuffer::I32(vec![30, 31, 10, 11, 30, 31]);
///         assert_eq!(download(&out, &Layout::contiguous(&[3, 2]))?, want);
///     }
///     (Err(e), _) | (_, Err(e)) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn take(src: View<'_>, idx: View<'_>, p: Picks) -> Result<Storage> {
    require_dense("index_select", src, p.outer * p.rows * p.inner)?;
    require_dense("index_select", idx, p.picks)?;
    if idx.0.dtype() != DType::I64 {
        return Err(refused(
            "index_select",
            idx.0.dtype(),
            "Indices must be int64.",
        ));
    }
    let dtype = src.0.dtype();
    let name = format!("take_{}", dtype.name());
    let n = p.outer * p.picks * p.inner;
    launch(name, |s| take_source(s, dtype), (src.0, idx.0), p, n)
}

/// The adjoint of [`take`]: a dense `[outer, picks, inner]` buffer summed
/// back onto `[outer, rows, inner]` (zeros where no index points).
///
/// ```
/// use ferrograd_cuda::{download, put_sum, upload, Picks};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// let p = Picks { outer: 1, rows: 3, picks: 3, inner: 1 };
/// match (upload(&CpuBuffer::F32(vec![1.0, 2.0, 3.0]), 0), upload(&CpuBuffer::I64(vec![2, 0, 2]), 0)) {
///     (Ok(g), Ok(i)) => {
///         let l = Layout::contiguous(&[3]);
///         // Row 0 gets g[1], row 1 nothing, row 2 g[0] + g[2].
///         assert_eq!(download(&put_sum((&g, &l), (&i, &l), p)?, &l)?, CpuBuffer::F32(vec![2.0, 0.0, 4.0]));
///     }
///     (Err(e), _) | (_, Err(e)) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn put_sum(g: View<'_>, idx: View<'_>, p: Picks) -> Result<Storage> {
    require_dense("index_add", g, p.outer * p.picks * p.inner)?;
    require_dense("index_add", idx, p.picks)?;
    let dtype = g.0.dtype();
    if dtype == DType::Bool || idx.0.dtype() != DType::I64 {
        return Err(refused(
            "index_add",
            dtype,
            "Convert the values with .float() and the indices with .long().",
        ));
    }
    let name = format!("put_sum_{}", dtype.name());
    let n = p.outer * p.rows * p.inner;
    launch(name, |s| put_sum_source(s, dtype), (g.0, idx.0), p, n)
}
