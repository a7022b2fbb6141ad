//! One [`Backend`] per GPU: its context, the stream every op of ferrograd
//! runs on (so ops are ordered and a host copy waits for them), the cuBLAS
//! handle and the cache of NVRTC-compiled kernels. Created at first use.

use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaContext, CudaFunction, CudaStream};
use ferrograd_storage::{Device, Error, Result};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// A GPU's context, stream, cuBLAS handle and compiled kernels.
///
/// ```
/// use ferrograd_cuda::backend::backend;
/// match backend(0) {
///     // Created once per GPU, then shared by every call.
///     Ok(b) => {
///         assert!(std::sync::Arc::ptr_eq(&b, &backend(0)?));
///         assert_eq!(format!("{b:?}"), "Backend(cuda:0)");
///     }
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub struct Backend {
    ordinal: usize,
    stream: Arc<CudaStream>,
    blas: OnceLock<std::result::Result<Arc<CudaBlas>, String>>,
    kernels: Mutex<HashMap<String, CudaFunction>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backend(cuda:{})", self.ordinal)
    }
}

/// An [`Error::Cuda`] for a failed driver, NVRTC or cuBLAS call.
///
/// ```
/// let e = ferrograd_cuda::backend::cuda_error("copying to host", "out of memory");
/// assert_eq!(e.to_string(), "CUDA error in copying to host: out of memory");
/// ```
pub fn cuda_error(context: impl Into<String>, e: impl std::fmt::Display) -> Error {
    Error::Cuda {
        context: context.into(),
        msg: e.to_string(),
    }
}

fn not_available(reason: impl Into<String>) -> Error {
    Error::CudaNotAvailable {
        reason: reason.into(),
    }
}

/// The backend of GPU `ordinal`, created at first use. Fails with
/// [`Error::CudaNotAvailable`] when there is no driver or no such device.
///
/// ```
/// match ferrograd_cuda::backend::backend(0) {
///     Ok(b) => assert_eq!(b.ordinal(), 0),
///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
/// }
/// ```
pub fn backend(ordinal: usize) -> Result<Arc<Backend>> {
    static BACKENDS: OnceLock<Mutex<HashMap<usize, Arc<Backend>>>> = OnceLock::new();
    // Checks the driver library is there before cudarc is asked to load it.
    Device::Cuda(ordinal).check_available()?;
    let mut map = BACKENDS.get_or_init(Default::default).lock();
    if let Some(b) = map.get(&ordinal) {
        return Ok(b.clone());
    }
    let ctx = CudaContext::new(ordinal).map_err(|e| cuda_error("creating the context", e))?;
    let b = Arc::new(Backend {
        ordinal,
        stream: ctx.default_stream(),
        blas: OnceLock::new(),
        kernels: Mutex::new(HashMap::new()),
    });
    map.insert(ordinal, b.clone());
    Ok(b)
}

impl Backend {
    /// The device ordinal.
    ///
    /// ```
    /// match ferrograd_cuda::backend::backend(0) {
    ///     Ok(b) => assert_eq!(b.ordinal(), 0),
    ///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
    /// }
    /// ```
    pub fn ordinal(&self) -> usize {
        self.ordinal
    }

    /// The stream ferrograd's work on this GPU is queued on.
    ///
    /// ```
    /// use ferrograd_cuda::backend::backend;
    /// match backend(0) {
    ///     // Every op on GPU 0 is queued on this one stream.
    ///     Ok(b) => assert!(std::sync::Arc::ptr_eq(b.stream(), backend(0)?.stream())),
    ///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
    /// }
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The cuBLAS handle (the library is loaded at first use). Fails with
    /// [`Error::CudaNotAvailable`] when libcublas is missing.
    ///
    /// ```
    /// use ferrograd_cuda::backend::backend;
    /// match backend(0).and_then(|b| Ok((b.blas()?, b))) {
    ///     // Created once, then the same handle every time.
    ///     Ok((h, b)) => assert!(std::sync::Arc::ptr_eq(&h, &b.blas()?)),
    ///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
    /// }
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn blas(&self) -> Result<Arc<CudaBlas>> {
        self.blas
            .get_or_init(|| {
                // SAFETY: only tries to open the shared library.
                if !unsafe { cudarc::cublas::sys::is_culib_present() } {
                    return Err("the cuBLAS library (libcublas) was not found; install the CUDA toolkit's runtime libraries".into());
                }
                CudaBlas::new(self.stream.clone())
                    .map(Arc::new)
                    .map_err(|e| format!("cublasCreate failed ({e})"))
            })
            .clone()
            .map_err(not_available)
    }

    /// The kernel `name`, compiling `source()` with NVRTC on first use.
    /// Fails with [`Error::CudaNotAvailable`] when libnvrtc is missing.
    ///
    /// ```
    /// use ferrograd_cuda::backend::backend;
    /// let src = || "extern \"C\" __global__ void doc_nop() {}".to_string();
    /// match backend(0).and_then(|b| Ok((b.kernel("doc_nop", src)?, b))) {
    ///     // Cached by name: the second call compiles nothing.
    ///     Ok((_, b)) => assert!(b.kernel("doc_nop", || unreachable!()).is_ok()),
    ///     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
    /// }
    /// ```
    pub fn kernel(&self, name: &str, source: impl FnOnce() -> String) -> Result<CudaFunction> {
        let mut cache = self.kernels.lock();
        if let Some(f) = cache.get(name) {
            return Ok(f.clone());
        }
        // SAFETY: only tries to open the shared library.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(not_available(
                "the NVRTC library (libnvrtc) was not found; install the CUDA toolkit's runtime libraries",
            ));
        }
        let ptx = cudarc::nvrtc::compile_ptx(source())
            .map_err(|e| cuda_error(format!("compiling kernel {name} with NVRTC"), e))?;
        let module = self
            .stream
            .context()
            .load_module(ptx)
            .map_err(|e| cuda_error(format!("loading kernel {name}"), e))?;
        let f = module
            .load_function(name)
            .map_err(|e| cuda_error(format!("loading kernel {name}"), e))?;
        cache.insert(name.to_owned(), f.clone());
        Ok(f)
    }
}
