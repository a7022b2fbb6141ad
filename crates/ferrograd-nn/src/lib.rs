//! Neural networks on ferrograd tensors, the way `torch.nn` and
//! `torch.optim` work.
//!
//! - [`module`]: the [`Module`](module::Module) trait — forward, dotted
//!   parameter names, train/eval, children — and forward hooks;
//! - [`layers`]: Linear, Conv2d, BatchNorm2d, LayerNorm, Dropout, activations,
//!   pooling, Flatten, Sequential, Embedding;
//! - [`init`]: PyTorch's default initialisations;
//! - [`optim`]: SGD, Adam, AdamW and learning-rate schedulers;
//! - [`checkpoint`]: `state_dict` / `load_state_dict` to `.npz` and safetensors;
//! - [`data`]: datasets, a background-thread `DataLoader`, MNIST IDX files and
//!   a built-in synthetic image dataset.

pub mod checkpoint;
pub mod data;
pub mod init;
pub mod layers;
pub mod models;
pub mod module;
pub mod optim;

/// The names a training loop uses.
pub mod prelude {
    pub use crate::data::{DataLoader, DataLoaderConfig, Dataset, SyntheticShapes, TensorDataset};
    pub use crate::layers::{
        AvgPool2d, BatchNorm2d, Conv2d, Conv2dConfig, Dropout, Embedding, Flatten, LayerNorm,
        Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Tanh, GELU,
    };
    pub use crate::module::{capture_activations, ForwardHook, Module};
    pub use crate::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, SgdConfig, SGD};
    pub use crate::optim::{CosineAnnealingLR, LrScheduler, StepLR};
}
