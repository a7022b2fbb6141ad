//! Tutorials for PyTorch users, one module per page of `docs/tutorials/`.
//! Every Rust block on these pages is a doctest: `cargo test` compiles and
//! runs it, and checks that it prints the output shown under it.

#[doc = include_str!("../docs/tutorials/reading-values.md")]
pub mod reading_values {}

#[doc = include_str!("../docs/tutorials/network-values.md")]
pub mod network_values {}

#[doc = include_str!("../docs/tutorials/numpy-memory.md")]
pub mod numpy_memory {}

#[doc = include_str!("../docs/tutorials/indexing.md")]
pub mod indexing {}

#[doc = include_str!("../docs/tutorials/gpu-tensors.md")]
pub mod gpu_tensors {}

#[doc = include_str!("../docs/tutorials/dtypes.md")]
pub mod dtypes {}

#[doc = include_str!("../docs/tutorials/training-cnn.md")]
pub mod training_cnn {}
