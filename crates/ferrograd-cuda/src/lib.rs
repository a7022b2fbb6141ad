//! ferrograd's CUDA backend, on [cudarc](https://docs.rs/cudarc) with the
//! driver, NVRTC and cuBLAS loaded at run time (nothing to install to build).
//!
//! Everything is behind this crate's `cuda` feature, which the facade's
//! `cuda` feature turns on; without it the crate is empty, so a plain
//! `cargo build --workspace` neither compiles cudarc nor changes any CPU path.
//!
//! The crate works on the storage layer only — a [`Storage`](ferrograd_storage::Storage)
//! plus a [`Layout`](ferrograd_storage::Layout) — so that `ferrograd-autograd`
//! can call it from its ops without a dependency cycle:
//!
//! - `backend`: one context, stream, cuBLAS handle and kernel cache per GPU;
//!   absence of a driver, of NVRTC or of cuBLAS is an
//!   [`Error::CudaNotAvailable`](ferrograd_storage::Error::CudaNotAvailable), never a panic;
//! - `CudaBuffer`: device memory as a storage holds it, host↔device copies;
//! - `kernels`: CUDA C compiled with NVRTC at first use and cached —
//!   strided elementwise maps (broadcasting, casts, copies, unary functions)
//!   and sums over dims;
//! - `inplace`: writes into strided views (`add_`, `copy_`, `fill_`, ...);
//! - `extreme`: max / min over dims with the index of the extreme;
//! - `one_hot`: one-hot tensors from class indices;
//! - `im2col`: windows of NCHW inputs as columns (convolution, pooling) and back;
//! - `take`: slices picked along a dim by indices (`index_select`) and back;
//! - `matmul`: row-major (batched) matrix products through cuBLAS.
//!
//! ```
//! # #[cfg(feature = "cuda")] {
//! use ferrograd_storage::{CpuBuffer, Device, Layout};
//! // Without a driver every entry point is a clean error.
//! match ferrograd_cuda::upload(&CpuBuffer::F32(vec![1.0, 2.0]), 0) {
//!     Ok(storage) => assert_eq!(storage.device(), Device::Cuda(0)),
//!     Err(e) => assert!(e.to_string().starts_with("CUDA is not available: ")),
//! }
//! # }
//! ```

#[cfg(feature = "cuda")]
pub mod backend;
#[cfg(feature = "cuda")]
mod buffer;
#[cfg(feature = "cuda")]
pub mod extreme;
#[cfg(all(test, feature = "cuda"))]
mod host_run;
#[cfg(feature = "cuda")]
pub mod im2col;
#[cfg(feature = "cuda")]
pub mod inplace;
#[cfg(feature = "cuda")]
pub mod kernels;
#[cfg(feature = "cuda")]
pub mod matmul;
#[cfg(feature = "cuda")]
pub mod one_hot;
#[cfg(all(test, feature = "cuda"))]
mod syntax_check;
#[cfg(feature = "cuda")]
pub mod take;

#[cfg(feature = "cuda")]
pub use buffer::{download, upload, CudaBuffer};
#[cfg(feature = "cuda")]
pub use extreme::extreme_dims;
#[cfg(feature = "cuda")]
pub use im2col::{col2im, im2col, Windows2d};
#[cfg(feature = "cuda")]
pub use inplace::{inplace, inplace_scalar, Update};
#[cfg(feature = "cuda")]
pub use kernels::{binary, cast, fill, scalar, sum_dims, unary, unary_with, BinaryOp, UnaryOp};
#[cfg(feature = "cuda")]
pub use matmul::{matmul, MatmulDims};
#[cfg(feature = "cuda")]
pub use one_hot::{one_hot, OneHotDims};
#[cfg(feature = "cuda")]
pub use take::{put_sum, take, Picks};
