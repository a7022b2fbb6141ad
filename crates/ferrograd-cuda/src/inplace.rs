//! In-place writes into a strided view of device memory: `dst op= src`,
//! `dst = src` (with a conversion) and `dst op= scalar` / `dst = scalar`,
//! which the in-place ops (`add_`, `mul_`, `copy_`, `fill_`, ...) and the
//! optimizers' updates need. The destination is read and written through its
//! layout; the source through its own (already broadcast to the
//! destination's shape). The caller bumps the storage's version counter, as
//! `Tensor::record_inplace` does for every in-place op.

use crate::backend::cuda_error;
use crate::buffer::CudaBuffer;
use crate::kernels::{c_type, cast, grid, refused, strided, BinaryOp, View, MAX_DIMS, STRIDED_C};
use cudarc::driver::PushKernelArg;
use ferrograd_storage::{DType, Error, Layout, Result};

/// What an in-place kernel writes at each element of the destination.
///
/// ```
/// use ferrograd_cuda::{download, inplace, upload, Update};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// let (d, s) = (CpuBuffer::F32(vec![0.0; 3]), CpuBuffer::I64(vec![1, -2, 3]));
/// match (upload(&d, 0), upload(&s, 0)) {
///     (Ok(d), Ok(s)) => {
///         let l = Layout::contiguous(&[3]);
///         inplace((&d, &l), (&s, &l), Update::Assign)?; // copy_, converting
///         assert_eq!(download(&d, &l)?, CpuBuffer::F32(vec![1.0, -2.0, 3.0]));
///     }
///     (Err(e), _) | (_, Err(e)) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// `dst = src` (converted to the destination's dtype).
    Assign,
    /// `dst = dst op src` (both of the destination's dtype).
    Apply(BinaryOp),
}

impl Update {
    fn name(self) -> &'static str {
        match self {
            Update::Assign => "assign",
            Update::Apply(op) => op.name(),
        }
    }

    /// The C expression of the new value from the old `x` and the source
    /// `y`, `None` where PyTorch refuses the dtype.
    pub(crate) fn expr(self, dtype: DType) -> Option<&'static str> {
        match self {
            Update::Assign if dtype == DType::Bool => Some("y != 0"),
            Update::Assign => Some("y"),
            Update::Apply(BinaryOp::Eq) => None,
            Update::Apply(op) => op.expr(dtype),
        }
    }
}

/// The in-place kernel: `a[pa] = EXPR(a[pa], b[pb])` over the strided pair.
pub(crate) fn inplace_source(name: &str, td: DType, ts: DType, expr: &str) -> String {
    let (td, ts) = (c_type(td), c_type(ts));
    format!(
        "{STRIDED_C}typedef {td} TA; typedef {ts} TB;
extern \"C\" __global__ void {name}(TA* a, const TB* b, Strided m, long long n, double sf, long long si) {{
  long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
    long long r = i, pa = m.offset[0], pb = m.offset[1];
    for (int d = (int)m.ndim - 1; d >= 0; --d) {{
      long long k = r % m.shape[d]; r /= m.shape[d];
      pa += k * m.strides[0][d]; pb += k * m.strides[1][d];
    }}
    TA x = a[pa]; TB y = b[pb]; (void)x; (void)y; (void)sf; (void)si;
    a[pa] = (TA)({expr});
  }}
}}
"
    )
}

/// PyTorch's error for a destination whose elements share memory.
pub(crate) fn check_no_internal_overlap(l: &Layout) -> Result<()> {
    if l.shape()
        .iter()
        .zip(l.strides())
        .any(|(&n, &s)| n > 1 && s == 0)
    {
        return Err(Error::invalid(
            "in-place operation",
            "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.",
        ));
    }
    if l.ndim() > MAX_DIMS {
        return Err(crate::kernels::too_many_dims(l.ndim()));
    }
    Ok(())
}

/// The kernel name of an update from `ts` into `td`.
pub(crate) fn kernel_name(update: Update, td: DType, ts: DType, scalar: bool) -> String {
    let src = if scalar { "scalar" } else { ts.name() };
    format!("inplace_{}_{}_{}", update.name(), td.name(), src)
}

/// Writes `update(dst, src)` into `dst`'s memory; `src`'s layout is already
/// broadcast to `dst`'s shape. A source sharing `dst`'s memory is copied
/// first, so no element reads a half-written one. For [`Update::Apply`] the
/// source must have the destination's dtype.
///
/// ```
/// use ferrograd_cuda::{download, inplace, upload, BinaryOp, Update};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// let (d, s) = (CpuBuffer::F64(vec![1.0, 2.0, 3.0, 4.0]), CpuBuffer::F64(vec![10.0]));
/// match (upload(&d, 0), upload(&s, 0)) {
///     (Ok(d), Ok(s)) => {
///         // d[:, 1] += s, with s broadcast down the column.
///         let ld = Layout::contiguous(&[2, 2]).narrow(1, 1, 1)?;
///         let ls = Layout::contiguous(&[1, 1]).broadcast_to(&[2, 1])?;
///         inplace((&d, &ld), (&s, &ls), Update::Apply(BinaryOp::Add))?;
///         let want = CpuBuffer::F64(vec![1.0, 12.0, 3.0, 14.0]);
///         assert_eq!(download(&d, &Layout::contiguous(&[4]))?, want);
///     }
///     (Err(e), _) | (_, Err(e)) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn inplace((d, ld): View<'_>, (s, ls): View<'_>, update: Update) -> Result<()> {
    check_no_internal_overlap(ld)?;
    if ld.shape() != ls.shape() {
        return Err(Error::ShapeMismatch {
            op: "inplace",
            lhs: ld.shape().to_vec(),
            rhs: ls.shape().to_vec(),
            msg: "the source must be broadcast to the destination's shape".into(),
        });
    }
    let (td, ts) = (d.dtype(), s.dtype());
    if matches!(update, Update::Apply(_)) && td != ts {
        return Err(Error::DTypeMismatch {
            op: "inplace",
            expected: td,
            got: ts,
            hint: "convert the source to the destination's dtype first".into(),
        });
    }
    let expr = update
        .expr(td)
        .ok_or_else(|| refused(update.name(), td, "Convert first with .long() or .float()."))?;
    if d.device() != s.device() {
        return Err(Error::DeviceMismatch {
            a: d.device(),
            b: s.device(),
        });
    }
    let copied;
    let (s, ls) = if s.same_as(d) {
        copied = (cast((s, ls), ts)?, Layout::contiguous(ls.shape()));
        (&copied.0, &copied.1)
    } else {
        (s, ls)
    };
    let name = kernel_name(update, td, ts, false);
    let source = || inplace_source(&name, td, ts, expr);
    launch((d, ld), (s, ls), &name, source, (0.0, 0))
}

/// Writes `update(dst, s)` for a scalar `s` (`sf` for float destinations,
/// `si` for the others) into `dst`'s memory: `fill_` and `add_(2.0)`.
///
/// ```
/// use ferrograd_cuda::{download, inplace_scalar, upload, BinaryOp, Update};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// match upload(&CpuBuffer::I32(vec![1, 2, 3, 4]), 0) {
///     Ok(d) => {
///         // d[:, 1] *= 10 on a [2, 2] buffer (`si` for an integer dtype).
///         let col = Layout::contiguous(&[2, 2]).narrow(1, 1, 1)?;
///         inplace_scalar((&d, &col), 0.0, 10, Update::Apply(BinaryOp::Mul))?;
///         assert_eq!(download(&d, &Layout::contiguous(&[4]))?, CpuBuffer::I32(vec![1, 20, 3, 40]));
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn inplace_scalar((d, ld): View<'_>, sf: f64, si: i64, update: Update) -> Result<()> {
    check_no_internal_overlap(ld)?;
    let td = d.dtype();
    let expr = update
        .expr(td)
        .ok_or_else(|| refused(update.name(), td, "Convert first with .long() or .float()."))?;
    let y = if td.is_floating_point() {
        "(TA)sf"
    } else {
        "(TA)si"
    };
    let expr = expr.replace('y', y);
    let name = kernel_name(update, td, td, true);
    launch(
        (d, ld),
        (d, ld),
        &name,
        || inplace_source(&name, td, td, &expr),
        (sf, si),
    )
}

fn launch(
    (d, ld): View<'_>,
    (s, ls): View<'_>,
    name: &str,
    source: impl FnOnce() -> String,
    (sf, si): (f64, i64),
) -> Result<()> {
    let n = ld.numel();
    if n == 0 {
        return Ok(());
    }
    let (bd, bs) = (CudaBuffer::of(d)?, CudaBuffer::of(s)?);
    let backend = bd.backend();
    let f = backend.kernel(name, source)?;
    let m = strided(ld, ls)?;
    let n64 = n as i64;
    let mut args = backend.stream().launch_builder(&f);
    // The destination is written through a shared handle: the storage's
    // owner has checked the in-place rules, and every kernel of this
    // backend runs in order on one stream.
    args.arg(bd.bytes())
        .arg(bs.bytes())
        .arg(&m)
        .arg(&n64)
        .arg(&sf)
        .arg(&si);
    // SAFETY: the kernel's parameters match the arguments pushed; every
    // offset lies inside the layouts, and no two destination elements share
    // memory (checked above).
    unsafe { args.launch(grid(n)) }.map_err(|e| cuda_error(format!("launching {name}"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_write_through_the_destination_layout() {
        let s = inplace_source(
            "inplace_add_float32_float32",
            DType::F32,
            DType::F32,
            "x + y",
        );
        assert!(s.contains("void inplace_add_float32_float32(TA* a, const TB* b, Strided m"));
        assert!(s.contains("a[pa] = (TA)(x + y);"));
        let s = inplace_source("k", DType::Bool, DType::F64, "y != 0");
        assert!(s.contains("typedef bool TA; typedef double TB;"));
    }

    #[test]
    fn names_and_expressions_follow_the_update() {
        assert_eq!(
            kernel_name(Update::Assign, DType::F32, DType::I64, false),
            "inplace_assign_float32_int64"
        );
        assert_eq!(
            kernel_name(Update::Apply(BinaryOp::Mul), DType::F64, DType::F64, true),
            "inplace_mul_float64_scalar"
        );
        assert_eq!(Update::Assign.expr(DType::Bool), Some("y != 0"));
        assert_eq!(Update::Apply(BinaryOp::Sub).expr(DType::Bool), None);
        assert_eq!(Update::Apply(BinaryOp::Eq).expr(DType::F32), None);
    }

    #[test]
    fn destinations_sharing_memory_are_refused() {
        let ok = Layout::contiguous(&[2, 3]).transpose(0, 1);
        assert!(check_no_internal_overlap(&ok).is_ok());
        let shared = Layout::contiguous(&[1, 3]).broadcast_to(&[2, 3]).unwrap();
        let e = check_no_internal_overlap(&shared).unwrap_err();
        assert!(e
            .to_string()
            .contains("more than one element of the written-to tensor"));
    }
}
