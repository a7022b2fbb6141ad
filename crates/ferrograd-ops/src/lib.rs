//! ferrograd's differentiable ops, as extension traits on
//! [`Tensor`](ferrograd_autograd::Tensor): `use ferrograd_ops::prelude::*`
//! (or `ferrograd::prelude::*`) and call `x.exp()?`, `a.matmul(&b)?`,
//! `x.conv2d(&w, ...)?`.
//!
//! Each module owns one family of ops: its public trait, its CPU kernels and
//! its backward rules (written with other differentiable ops, so they can be
//! differentiated again). Every op returns `Result`: bad shapes, dtypes or
//! devices are `Err`s that name them.

pub mod compare;
pub mod conv;
#[cfg(feature = "cuda")]
mod cuda;
pub mod indexing;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod shape;
pub mod unary;

/// Every op trait, for `use ferrograd_ops::prelude::*`.
pub mod prelude {
    pub use crate::compare::{where_, CompareOps};
    pub use crate::conv::{Conv2dOptions, ConvOps};
    pub use crate::indexing::{Indexer, IndexingOps};
    pub use crate::ix;
    pub use crate::loss::{
        binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,
        nll_loss, BceOptions, BceWithLogitsOptions, CrossEntropyOptions, NllLossOptions, Reduction,
        SoftmaxOps,
    };
    pub use crate::matmul::MatmulOps;
    pub use crate::norm::{batch_norm, dropout, layer_norm, BatchNormOptions};
    pub use crate::pool::{AvgPool2dOptions, MaxPool2dOptions, PoolOps};
    pub use crate::reduce::{NormOrd, ReduceOps};
    pub use crate::shape::{cat, stack, PadMode, ShapeOps};
    pub use crate::unary::UnaryOps;
}
