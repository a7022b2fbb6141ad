//! NumPy interop for ferrograd tensors.
//!
//! - [`ndarray_view`]: zero-copy `ndarray` views of tensor memory (`numpy()`),
//!   `from_ndarray` without a copy, and the rules PyTorch enforces on them;
//! - [`npy`] and [`npz`]: `.npy`/`.npz` files that real NumPy reads and writes;
//! - [`safetensors_io`]: weights shared with PyTorch / Hugging Face.

pub mod ndarray_view;
pub mod npy;
pub mod npz;
pub mod safetensors_io;

pub use ndarray;
pub use ndarray_view::{NumpyView, NumpyViewMut, TensorFromNdarray, TensorNumpyExt};
pub use safetensors_io::{load_safetensors, save_safetensors};
