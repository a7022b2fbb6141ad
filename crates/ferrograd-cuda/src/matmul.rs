//! Row-major (batched) matrix products through cuBLAS: `C = A·B` is
//! computed as the column-major `Cᵀ = Bᵀ·Aᵀ`, so no operand is transposed
//! in memory. `float32` calls `cublasSgemmStridedBatched`, `float64` the
//! `D` form.

use crate::backend::cuda_error;
use crate::buffer::{is_dense, CudaBuffer};
use crate::kernels::{cast, View};
use cudarc::cublas::{sys::cublasOperation_t, Gemm, GemmConfig, StridedBatchedConfig};
use ferrograd_storage::{DType, Error, Result, Storage};

/// The dims of a batched product: `batch` products of `[m, k]·[k, n]`.
/// [`matmul`] checks them against the operands before any device work:
///
/// ```
/// use ferrograd_cuda::{matmul, MatmulDims};
/// use ferrograd_storage::{CpuBuffer, Layout, Storage};
/// let (a, l) = (Storage::new(CpuBuffer::F32(vec![0.0; 6])), Layout::contiguous(&[2, 3]));
/// let dims = MatmulDims { batch: 2, m: 2, k: 3, n: 2 }; // wants 12 elements each
/// let e = matmul((&a, &l), (&a, &l), dims).unwrap_err().to_string();
/// assert!(e.contains("expected 2 products of [2, 3] and [3, 2]"), "{e}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulDims {
    /// Number of independent products.
    pub batch: usize,
    /// Rows of A and C.
    pub m: usize,
    /// Columns of A, rows of B.
    pub k: usize,
    /// Columns of B and C.
    pub n: usize,
}

/// The view as a dense row-major storage (a copy on the device unless it
/// already is one).
fn dense((s, l): View<'_>) -> Result<Storage> {
    if is_dense(l, s.len()) {
        Ok(s.clone())
    } else {
        cast((s, l), s.dtype())
    }
}

/// `C[b] = A[b]·B[b]` for row-major `A: [batch, m, k]`, `B: [batch, k, n]`
/// (any layouts: strided views are made dense first); `C: [batch, m, n]`.
///
/// ```
/// use ferrograd_cuda::{download, matmul, upload, MatmulDims};
/// use ferrograd_storage::{CpuBuffer, Layout};
/// let (a, b) = (CpuBuffer::F32(vec![1.0, 2.0, 3.0, 4.0]), CpuBuffer::F32(vec![5.0, 6.0, 7.0, 8.0]));
/// match (upload(&a, 0), upload(&b, 0)) {
///     (Ok(a), Ok(b)) => {
///         let l = Layout::contiguous(&[2, 2]);
///         let c = matmul((&a, &l), (&b, &l), MatmulDims { batch: 1, m: 2, k: 2, n: 2 })?;
///         assert_eq!(download(&c, &l)?, CpuBuffer::F32(vec![19.0, 22.0, 43.0, 50.0]));
///     }
///     (Err(e), _) | (_, Err(e)) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn matmul(a: View<'_>, b: View<'_>, dims: MatmulDims) -> Result<Storage> {
    let dtype = a.0.dtype();
    if b.0.dtype() != dtype {
        return Err(Error::DTypeMismatch {
            op: "matmul",
            expected: dtype,
            got: b.0.dtype(),
            hint: "Convert both operands to one dtype first.".into(),
        });
    }
    let MatmulDims { batch, m, k, n } = dims;
    if a.1.numel() != batch * m * k || b.1.numel() != batch * k * n {
        return Err(Error::ShapeMismatch {
            op: "matmul",
            lhs: a.1.shape().to_vec(),
            rhs: b.1.shape().to_vec(),
            msg: format!("expected {batch} products of [{m}, {k}] and [{k}, {n}]"),
        });
    }
    let (da, db) = (dense(a)?, dense(b)?);
    let (ba, bb) = (CudaBuffer::of(&da)?, CudaBuffer::of(&db)?);
    let backend = ba.backend().clone();
    let mut out = CudaBuffer::zeros(&backend, dtype, batch * m * n)?;
    if batch * m * n == 0 {
        return Ok(out.into_storage());
    }
    if k == 0 {
        return Ok(out.into_storage()); // zeros, like an empty sum
    }
    let blas = backend.blas()?;
    let to_i32 = |v: usize| {
        i32::try_from(v)
            .map_err(|_| Error::invalid("matmul", format!("dimension {v} is too large for cuBLAS")))
    };
    let (mi, ki, ni) = (to_i32(m)?, to_i32(k)?, to_i32(n)?);
    macro_rules! gemm {
        ($T:ty) => {{
            let gemm = GemmConfig::<$T> {
                transa: cublasOperation_t::CUBLAS_OP_N,
                transb: cublasOperation_t::CUBLAS_OP_N,
                m: ni,
                n: mi,
                k: ki,
                alpha: 1.0,
                lda: ni,
                ldb: ki,
                beta: 0.0,
                ldc: ni,
            };
            let cfg = StridedBatchedConfig {
                gemm,
                batch_size: to_i32(batch)?,
                stride_a: (k * n) as i64,
                stride_b: (m * k) as i64,
                stride_c: (m * n) as i64,
            };
            // SAFETY: each buffer holds `batch` dense matrices of the sizes
            // and leading dims given, reinterpreted as the dtype they hold.
            unsafe {
                let bv = bb.bytes().transmute::<$T>(batch * k * n).unwrap();
                let av = ba.bytes().transmute::<$T>(batch * m * k).unwrap();
                let mut cv = out.bytes_mut().transmute_mut::<$T>(batch * m * n).unwrap();
                blas.gemm_strided_batched(cfg, &bv, &av, &mut cv)
            }
            .map_err(|e| cuda_error("cublas gemm_strided_batched", e))?;
        }};
    }
    match dtype {
        DType::F32 => gemm!(f32),
        DType::F64 => gemm!(f64),
        other => {
            return Err(Error::UnsupportedDType {
                op: "matmul (cuda)",
                dtype: other,
                hint: "cuBLAS multiplies floating tensors; convert with .float() first.".into(),
            })
        }
    }
    Ok(out.into_storage())
}
