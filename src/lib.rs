//! # ferrograd
//!
//! A deep-learning framework with PyTorch's semantics: tensors with strided
//! views, a dynamic autograd graph whose rules are enforced, and exact NumPy
//! interop. `use ferrograd::prelude::*;` brings in everything a training loop
//! needs.
//!
//! ```
//! use ferrograd::prelude::*;
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?.requires_grad_(true)?;
//! let loss = (&x * &x).sum()?;
//! loss.backward()?;
//! assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![2.0, 4.0, 6.0]);
//! # Ok::<(), ferrograd::Error>(())
//! ```
//!
//! ## Crates
//!
//! [`storage`] (dtypes, layouts, buffers, CPU kernels, the error type) ←
//! [`autograd`] (`Tensor`, views, the graph) ← [`ops`] (differentiable ops) ←
//! [`interop`] (ndarray, `.npy`/`.npz`, safetensors) and [`nn`] (modules,
//! optimizers, data). The [`tutorials`] teach the PyTorch tasks in ferrograd.
//!
//! ## Features
//!
//! - `cuda` (off by default): the CUDA backend on `cudarc`, with the driver,
//!   NVRTC and cuBLAS loaded at run time, so the feature builds on machines
//!   without CUDA. Without a usable GPU, `Tensor::cuda()` returns
//!   [`Error::CudaNotAvailable`] and `Device::cuda_if_available(0)` is the
//!   CPU.

pub use ferrograd_autograd as autograd;
pub use ferrograd_interop as interop;
pub use ferrograd_nn as nn;
pub use ferrograd_ops as ops;
pub use ferrograd_storage as storage;

pub use ferrograd_autograd::tensor;
pub use ferrograd_autograd::{DType, Device, Error, Result, Tensor};

pub mod tutorials;

/// The names a training loop uses, in one import.
pub mod prelude {
    pub use ferrograd_autograd::{
        enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled, with_no_grad,
        BackwardOptions, DType, Device, Error, GradOptions, Result, Scalar, Tensor,
    };
    pub use ferrograd_autograd::{manual_seed, tensor, Generator};
    pub use ferrograd_autograd::{s, IntoSlice, TensorIndex};
    pub use ferrograd_interop::{
        load_safetensors, save_safetensors, NumpyView, NumpyViewMut, TensorFromNdarray,
        TensorNumpyExt,
    };
    pub use ferrograd_nn::prelude::*;
    pub use ferrograd_ops::prelude::*;
}
