//! Data loading, as `torch.utils.data` does it: a [`Dataset`] of
//! `(input, target)` samples, [`TensorDataset`] over two tensors, and a
//! [`DataLoader`] that shuffles with a seed, batches, and prepares the next
//! batches on a background thread. Two image datasets come with it: the
//! MNIST IDX files ([`Mnist`]) and a generated one, [`SyntheticShapes`],
//! that needs no download.
//!
//! ```
//! use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
//! let shapes = SyntheticShapes::new(100, 20, 0)?;
//! let loader = DataLoader::new(
//!     shapes.train().clone(),
//!     DataLoaderConfig::new().batch_size(32).shuffle(true).seed(0),
//! )?;
//! assert_eq!(loader.len(), 4);
//! for batch in &loader {
//!     let (x, y) = batch?;
//!     assert_eq!(&x.shape()[1..], &[1, 28, 28]);
//!     assert_eq!(y.shape(), &x.shape()[..1]);
//! }
//! # Ok::<(), ferrograd_autograd::Error>(())
//! ```

mod dataset;
mod loader;
mod mnist;
mod shapes;
mod synthetic;

pub use dataset::{Dataset, TensorDataset};
pub use loader::{Batches, DataLoader, DataLoaderConfig};
pub use mnist::{read_idx, IdxArray, Mnist};
pub use synthetic::SyntheticShapes;

/// One 64-bit seed from two (SplitMix64 finaliser over both): the seed of
/// epoch `b` of a loader seeded `a`, or of chunk `b` of a generated split.
fn mix_seed(a: u64, b: u64) -> u64 {
    let mut z = a ^ b
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
