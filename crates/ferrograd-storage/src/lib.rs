//! ferrograd's lowest layer: what a tensor's memory is.
//!
//! - [`DType`] and the [`Element`] trait map PyTorch's dtypes to Rust types;
//! - [`Device`] names where memory lives;
//! - [`Layout`] is the view algebra (shape, signed strides, offset);
//! - [`Storage`] is the shared buffer with its version counter and borrow rules;
//! - [`cpu`] holds the generic CPU kernels over strided layouts;
//! - [`Error`] is the one error type every ferrograd crate returns.

mod borrow;
mod buffer;
pub mod cpu;
#[cfg(feature = "cuda")]
mod cuda_probe;
mod device;
#[cfg(feature = "cuda")]
mod device_buffer;
mod dtype;
mod element;
mod error;
mod layout;
mod storage;

pub use buffer::CpuBuffer;
pub use device::Device;
#[cfg(feature = "cuda")]
pub use device_buffer::DeviceBuffer;
pub use dtype::{DType, DTypeCategory};
pub use element::{Element, FloatElement, NumElement};
pub use error::{Error, Result};
pub use layout::{
    broadcast_shapes, contiguous_strides, infer_shape, normalize_dim, normalize_index, Layout,
    Shape, Strides,
};
pub use storage::{OwnedReadGuard, OwnedWriteGuard, ReadGuard, Storage, WriteGuard};
