//! A small MLP (Linear/ReLU in a Sequential) learns to tell three
//! interleaved 2-D spirals apart, trained with cross-entropy, Adam and a
//! cosine learning-rate schedule; prints the loss and the accuracy.
//!
//! Run: `cargo run --release --example mlp_spirals`

use ferrograd::prelude::*;

const CLASSES: usize = 3;
const PER_CLASS: usize = 200;

/// Three spiral arms (CS231n's toy data): points `(r sin θ, r cos θ)` with
/// `r` from 0 to 1 and `θ` sweeping 4 radians per arm, plus noise on `θ`.
fn spirals() -> Result<(Tensor, Tensor)> {
    let n = CLASSES * PER_CLASS;
    let noise = Tensor::randn(&[n], DType::F32)?.to_vec::<f32>()?;
    let mut points = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for class in 0..CLASSES {
        for i in 0..PER_CLASS {
            let t = i as f32 / (PER_CLASS - 1) as f32;
            let theta = 4.0 * (class as f32 + t) + 0.2 * noise[class * PER_CLASS + i];
            points.extend([t * theta.sin(), t * theta.cos()]);
            labels.push(class as i64);
        }
    }
    Ok((
        Tensor::from_vec(points, &[n, 2])?,
        Tensor::from_vec(labels, &[n])?,
    ))
}

fn accuracy(logits: &Tensor, labels: &Tensor) -> Result<f32> {
    let predicted = logits.argmax(Some(1), false)?;
    predicted
        .eq(labels)?
        .to_dtype(DType::F32)?
        .mean()?
        .item::<f32>()
}

fn main() -> Result<()> {
    manual_seed(0);
    let (x, y) = spirals()?;

    let mut model = Sequential::new();
    model.push(Linear::new(2, 64)?);
    model.push(ReLU::new());
    model.push(Linear::new(64, 64)?);
    model.push(ReLU::new());
    model.push(Linear::new(64, CLASSES)?);
    println!("{}", model.repr());

    let epochs = 600;
    let mut opt = Adam::new(model.parameters(), AdamConfig::new().lr(0.01))?;
    let mut sched = CosineAnnealingLR::new(&opt, epochs, 1e-4)?;
    for epoch in 1..=epochs {
        opt.zero_grad();
        let logits = model.forward(&x)?;
        let loss = cross_entropy(&logits, &y, CrossEntropyOptions::default())?;
        loss.backward()?;
        opt.step()?;
        sched.step(&mut opt);
        if epoch == 1 || epoch % 100 == 0 {
            let acc = accuracy(&logits, &y)?;
            println!(
                "epoch {epoch:4}  loss {:.4}  accuracy {:5.1}%  lr {:.5}",
                loss.item::<f32>()?,
                100.0 * acc,
                opt.lr()
            );
        }
    }

    let logits = with_no_grad(|| model.forward(&x))?;
    println!(
        "final training accuracy: {:.1}% on {} points",
        100.0 * accuracy(&logits, &y)?,
        x.shape()[0]
    );
    Ok(())
}
