//! The lowering of 2-D convolution and pooling to matrix products and
//! reductions: `im2col` copies every window of a contiguous NCHW input into
//! a column (`[N, C·kh·kw, OH·OW]`, out-of-range taps read as a pad value:
//! 0 for convolution, `-inf` for max pooling), and `col2im` is its adjoint,
//! summing each input element's taps back (a gather per input element, so
//! no atomics and a deterministic order).

use crate::backend::cuda_error;
use crate::buffer::{require_dense, CudaBuffer};
use crate::kernels::{c_type, grid, refused, View};
use cudarc::driver::{DeviceRepr, PushKernelArg};
use ferrograd_storage::{DType, Result, Storage};

/// The sizes of a windowed op over an `[n, c, h, w]` input with `kh × kw`
/// windows giving an `oh × ow` output per plane.
///
/// ```
/// use ferrograd_cuda::Windows2d;
/// // A 3×3 convolution over one 4×4 plane, padded by 1: a 4×4 output.
/// let g = Windows2d { n: 1, c: 1, h: 4, w: 4, kh: 3, kw: 3, oh: 4, ow: 4,
///     stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
/// let side = |i: i64, k: i64, d: usize| (i + 2 * g.padding[d] - g.dilation[d] * (k - 1) - 1) / g.stride[d] + 1;
/// assert_eq!((side(g.h, g.kh, 0), side(g.w, g.kw, 1)), (g.oh, g.ow));
/// assert_eq!(g.cols_len(), 9 * 16); // 9 taps for each of the 16 outputs
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Windows2d {
    /// Batch size.
    pub n: i64,
    /// Channels.
    pub c: i64,
    /// Input height.
    pub h: i64,
    /// Input width.
    pub w: i64,
    /// Window height.
    pub kh: i64,
    /// Window width.
    pub kw: i64,
    /// Output height.
    pub oh: i64,
    /// Output width.
    pub ow: i64,
    /// Stride `[height, width]`.
    pub stride: [i64; 2],
    /// Padding before each spatial dim.
    pub padding: [i64; 2],
    /// Spacing between taps.
    pub dilation: [i64; 2],
}

// SAFETY: a plain #[repr(C)] struct of integers, mirrored by WINDOWS_C.
unsafe impl DeviceRepr for Windows2d {}

const WINDOWS_C: &str = "struct Windows2d { long long n, c, h, w, kh, kw, oh, ow, stride[2], padding[2], dilation[2]; };
";

impl Windows2d {
    /// The number of elements of the columns: `n · c·kh·kw · oh·ow`.
    ///
    /// ```
    /// use ferrograd_cuda::Windows2d;
    /// let g = Windows2d { n: 2, c: 3, h: 4, w: 4, kh: 3, kw: 3, oh: 2, ow: 2,
    ///     stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    /// assert_eq!(g.cols_len(), 2 * (3 * 3 * 3) * (2 * 2));
    /// ```
    pub fn cols_len(&self) -> usize {
        (self.n * self.c * self.kh * self.kw * self.oh * self.ow) as usize
    }

    /// The number of elements of the input: `n · c · h · w`.
    ///
    /// ```
    /// use ferrograd_cuda::Windows2d;
    /// let g = Windows2d { n: 2, c: 3, h: 4, w: 5, kh: 3, kw: 3, oh: 2, ow: 3,
    ///     stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    /// assert_eq!(g.input_len(), 2 * 3 * 4 * 5);
    /// ```
    pub fn input_len(&self) -> usize {
        (self.n * self.c * self.h * self.w) as usize
    }
}

/// `cols[n, (c·kh + i)·kw + j, y·ow + x] = input[n, c, y·s - p + i·d, x·s - p + j·d]`,
/// or the pad value `sf` outside the input.
pub(crate) fn im2col_source(name: &str, dtype: DType) -> String {
    let t = c_type(dtype);
    format!(
        "{WINDOWS_C}extern \"C\" __global__ void {name}(const {t}* x, {t}* cols, Windows2d g, long long n, double sf) {{
  long long step = (long long)blockDim.x * gridDim.x;
  long long l = g.oh * g.ow;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
    long long pos = i % l, r = i / l;
    long long kj = r % g.kw; r /= g.kw;
    long long ki = r % g.kh; r /= g.kh;
    long long c = r % g.c, b = r / g.c;
    long long iy = (pos / g.ow) * g.stride[0] - g.padding[0] + ki * g.dilation[0];
    long long ix = (pos % g.ow) * g.stride[1] - g.padding[1] + kj * g.dilation[1];
    bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
    cols[i] = inside ? x[((b * g.c + c) * g.h + iy) * g.w + ix] : ({t})sf;
  }}
}}
"
    )
}

/// `input[n, c, y, x] = Σ` of the columns' entries that tap `(y, x)`.
pub(crate) fn col2im_source(name: &str, dtype: DType) -> String {
    let t = c_type(dtype);
    format!(
        "{WINDOWS_C}extern \"C\" __global__ void {name}(const {t}* cols, {t}* x, Windows2d g, long long n, double sf) {{
  long long step = (long long)blockDim.x * gridDim.x;
  (void)sf;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
    long long xx = i % g.w, r = i / g.w;
    long long yy = r % g.h; r /= g.h;
    long long c = r % g.c, b = r / g.c;
    {t} acc = 0;
    for (long long ki = 0; ki < g.kh; ++ki) {{
      long long ty = yy + g.padding[0] - ki * g.dilation[0];
      if (ty < 0 || ty % g.stride[0] != 0) continue;
      long long oy = ty / g.stride[0];
      if (oy >= g.oh) continue;
      for (long long kj = 0; kj < g.kw; ++kj) {{
        long long tx = xx + g.padding[1] - kj * g.dilation[1];
        if (tx < 0 || tx % g.stride[1] != 0) continue;
        long long ox = tx / g.stride[1];
        if (ox >= g.ow) continue;
        long long row = (c * g.kh + ki) * g.kw + kj;
        acc += cols[((b * g.c * g.kh * g.kw) + row) * g.oh * g.ow + oy * g.ow + ox];
      }}
    }}
    x[i] = acc;
  }}
}}
"
    )
}

fn check(op: &'static str, (s, l): View<'_>, len: usize) -> Result<()> {
    if !matches!(s.dtype(), DType::F32 | DType::F64) {
        return Err(refused(op, s.dtype(), "Convert first with .float()."));
    }
    require_dense(op, (s, l), len)
}

fn launch(
    name: String,
    source: impl FnOnce(&str) -> String,
    a: &Storage,
    len: usize,
    g: &Windows2d,
    pad: f64,
) -> Result<Storage> {
    let ba = CudaBuffer::of(a)?;
    let backend = ba.backend();
    let mut out = CudaBuffer::zeros(backend, a.dtype(), len)?;
    if len > 0 {
        let f = backend.kernel(&name, || source(&name))?;
        let n64 = len as i64;
        let mut args = backend.stream().launch_builder(&f);
        args.arg(ba.bytes())
            .arg(out.bytes_mut())
            .arg(g)
            .arg(&n64)
            .arg(&pad);
        // SAFETY: parameters match; the geometry's sizes are those of the
        // dense input and output buffers (checked by the callers).
        unsafe { args.launch(grid(len)) }
            .map_err(|e| cuda_error(format!("launching {name}"), e))?;
    }
    Ok(out.into_storage())
}

/// The columns of a dense NCHW `input` (float32 / float64) for the windows
/// `g`, out-of-range taps reading `pad`.
///
/// ```
/// use ferrograd_cuda::{download, im2col, upload, Windows2d};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// // One 2×2 plane, 1×2 windows, width padded by 1: the first output column.
/// let g = Windows2d { n: 1, c: 1, h: 2, w: 2, kh: 1, kw: 2, oh: 2, ow: 1,
///     stride: [1, 1], padding: [0, 1], dilation: [1, 1] };
/// match upload(&CpuBuffer::F32(vec![1.0, 2.0, 3.0, 4.0]), 0) {
///     Ok(x) => {
///         let cols = im2col((&x, &Layout::contiguous(&[1, 1, 2, 2])), &g, -9.0)?;
///         // Rows: tap (0, 0) then (0, 1); columns: output rows 0 and 1.
///         let want = CpuBuffer::F32(vec![-9.0, -9.0, 1.0, 3.0]);
///         assert_eq!(download(&cols, &Layout::contiguous(&[4]))?, want);
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn im2col(input: View<'_>, g: &Windows2d, pad: f64) -> Result<Storage> {
    check("im2col", input, g.input_len())?;
    let dtype = input.0.dtype();
    let name = format!("im2col_{}", dtype.name());
    launch(
        name,
        |n| im2col_source(n, dtype),
        input.0,
        g.cols_len(),
        g,
        pad,
    )
}

/// The adjoint of [`im2col`]: dense columns summed back onto an NCHW input.
///
/// ```
/// use ferrograd_cuda::{col2im, download, upload, Windows2d};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// // im2col's example run backwards: row 0 holds only padded taps, row 1
/// // the taps of input column 0.
/// let g = Windows2d { n: 1, c: 1, h: 2, w: 2, kh: 1, kw: 2, oh: 2, ow: 1,
///     stride: [1, 1], padding: [0, 1], dilation: [1, 1] };
/// match upload(&CpuBuffer::F32(vec![1.0, 2.0, 3.0, 4.0]), 0) {
///     Ok(cols) => {
///         let x = col2im((&cols, &Layout::contiguous(&[1, 2, 2])), &g)?;
///         assert_eq!(download(&x, &Layout::contiguous(&[4]))?, CpuBuffer::F32(vec![3.0, 0.0, 4.0, 0.0]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn col2im(cols: View<'_>, g: &Windows2d) -> Result<Storage> {
    check("col2im", cols, g.cols_len())?;
    let dtype = cols.0.dtype();
    let name = format!("col2im_{}", dtype.name());
    launch(
        name,
        |n| col2im_source(n, dtype),
        cols.0,
        g.input_len(),
        g,
        0.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_index_windows_and_pad() {
        let s = im2col_source("im2col_float32", DType::F32);
        assert!(s.contains("void im2col_float32(const float* x, float* cols, Windows2d g"));
        assert!(s.contains(": (float)sf;"));
        let s = col2im_source("col2im_float64", DType::F64);
        assert!(s.contains("double acc = 0;") && s.contains("x[i] = acc;"));
    }

    #[test]
    fn sizes_count_columns_and_inputs() {
        let g = Windows2d {
            n: 2,
            c: 3,
            h: 5,
            w: 4,
            kh: 3,
            kw: 2,
            oh: 3,
            ow: 3,
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
        };
        assert_eq!(g.cols_len(), 2 * 3 * 3 * 2 * 9);
        assert_eq!(g.input_len(), 2 * 3 * 5 * 4);
    }
}
