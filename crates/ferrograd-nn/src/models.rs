//! Ready-made models: the small CNN the examples, benches and tutorials
//! train, with the module names of the equivalent PyTorch definition so
//! checkpoints move between the two.

use crate::layers::{Conv2d, Conv2dConfig, Flatten, Linear, MaxPool2d, ReLU, Sequential};
use ferrograd_autograd::Result;

/// The reference CNN for 28×28 images: conv(`in_channels`→32, 3×3, pad 1) →
/// relu → maxpool 2 → conv(32→64, 3×3, pad 1) → relu → maxpool 2 → flatten →
/// linear(3136→128) → relu → linear(128→`num_classes`).
///
/// Its parameters are named like this PyTorch model's:
///
/// ```python
/// nn.Sequential(OrderedDict(
///     features=nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
///                            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
///     flatten=nn.Flatten(),
///     classifier=nn.Sequential(nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))))
/// ```
///
/// ```
/// use ferrograd_nn::{models::small_cnn, module::Module};
/// use ferrograd_autograd::{DType, Tensor};
/// let model = small_cnn(1, 10)?;
/// let logits = model.forward(&Tensor::zeros(&[2, 1, 28, 28], DType::F32)?)?;
/// assert_eq!(logits.shape(), &[2, 10]);
/// assert_eq!(model.named_parameters()[0].0, "features.0.weight");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn small_cnn(in_channels: usize, num_classes: usize) -> Result<Sequential> {
    let conv = |i, o| Conv2d::with_config(i, o, 3, Conv2dConfig::new().padding(1));
    let features = Sequential::new()
        .append(conv(in_channels, 32)?)
        .append(ReLU::new())
        .append(MaxPool2d::new(2))
        .append(conv(32, 64)?)
        .append(ReLU::new())
        .append(MaxPool2d::new(2));
    let classifier = Sequential::new()
        .append(Linear::new(3136, 128)?)
        .append(ReLU::new())
        .append(Linear::new(128, num_classes)?);
    Sequential::new()
        .add_module("features", features)?
        .add_module("flatten", Flatten::new())?
        .add_module("classifier", classifier)
}
