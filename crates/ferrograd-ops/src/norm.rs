//! Normalisation and regularisation layers as functions, in
//! `torch.nn.functional`'s style: [`batch_norm`] (training with running
//! statistics, or evaluation), [`layer_norm`] and [`dropout`] (seeded through
//! ferrograd's [`Generator`](ferrograd_autograd::Generator)).

mod affine;
mod batch_norm;
mod dropout;
mod layer_norm;

pub use batch_norm::{batch_norm, BatchNormOptions};
pub use dropout::{dropout, dropout_with};
pub use layer_norm::layer_norm;
