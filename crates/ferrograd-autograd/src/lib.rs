//! ferrograd's [`Tensor`] and its dynamic autograd graph.
//!
//! A `Tensor` is a handle on a strided view of a shared [`Storage`]; view
//! ops never copy. When grad mode is on and an input requires grad, each op
//! records a [`Node`] (its `grad_fn`); [`Tensor::backward`] and [`grad`] walk
//! those nodes back to the leaves. The rules PyTorch enforces — only floating
//! tensors require grad, leaves can't be modified in place while recorded,
//! saved tensors must not change before backward, a graph is freed after
//! backward unless retained — are enforced here and reported as [`Error`]s.

mod arith;
mod convert;
mod creation;
#[cfg(feature = "cuda")]
pub mod cuda;
mod device_move;
mod display;
mod engine;
mod grad_mode;
mod gradcheck;
mod graph;
mod index;
#[macro_use]
mod macros;
mod random;
mod reduce;
mod scalar;
mod small_outputs;
mod tensor;
mod view;

pub use arith::{check_same_device, reduce_grad, InputMeta};
pub use engine::{grad, BackwardOptions, GradOptions};
pub use ferrograd_storage::{
    CpuBuffer, DType, Device, Element, Error, FloatElement, Layout, NumElement, Result, Storage,
};
pub use grad_mode::{
    enable_grad, is_grad_enabled, no_grad, set_grad_enabled, with_no_grad, GradModeGuard,
};
pub use gradcheck::{gradcheck, gradcheck_with, GradcheckOptions};
pub use graph::{live_node_count, GradHook, Node, SavedTensor};
pub use index::{IntoSlice, TensorIndex};
pub use macros::NestedLiteral;
pub use random::{initial_seed, manual_seed, with_default_generator, Generator};
pub use scalar::{Operand, Scalar};
pub use tensor::Tensor;
