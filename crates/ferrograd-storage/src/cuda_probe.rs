//! Whether the CUDA driver can be used, probed once per process (only with
//! the `cuda` feature). cudarc panics when a function of a library it
//! cannot load is called, so the library's presence is checked first and
//! every failure becomes a reason string for
//! [`Error::CudaNotAvailable`](crate::Error::CudaNotAvailable).

use std::sync::OnceLock;

/// The number of visible CUDA devices, or why CUDA can't be used.
pub(crate) fn device_count() -> Result<usize, String> {
    static COUNT: OnceLock<Result<usize, String>> = OnceLock::new();
    COUNT.get_or_init(probe).clone()
}

fn probe() -> Result<usize, String> {
    // SAFETY: only tries to open the shared library, then closes it.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("the CUDA driver library (libcuda.so / nvcuda.dll) was not found; install an NVIDIA driver to use a GPU".into());
    }
    cudarc::driver::result::init().map_err(|e| format!("cuInit failed ({e})"))?;
    let n = cudarc::driver::result::device::get_count()
        .map_err(|e| format!("cuDeviceGetCount failed ({e})"))?;
    if n <= 0 {
        return Err("the CUDA driver is installed but sees no GPU".into());
    }
    Ok(n as usize)
}
