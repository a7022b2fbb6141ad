//! Trains a small CNN on the built-in synthetic shapes (or on MNIST with
//! `--data DIR`), then reads its activations the way the PyTorch tutorials
//! do: one value with `.item()`, a slice as an ndarray view, the strongest
//! channels through a mask and `nonzero`, a `.npy` file NumPy loads, and PNG
//! pictures of the feature maps and of the loss curve.
//!
//! ```text
//! cargo run --release --example cnn_activations
//! cargo run --release --example cnn_activations -- --epochs 2 --out /tmp/acts
//! cargo run --release --example cnn_activations -- --data ~/mnist   # the IDX files
//! ```

mod pictures;

use ferrograd::interop::npy::save_npy;
use ferrograd::nn::data::Mnist;
use ferrograd::nn::models::small_cnn;
use ferrograd::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

/// Command-line options, with their defaults.
struct Options {
    data: Option<PathBuf>,
    epochs: usize,
    out: PathBuf,
    device: Device,
}

fn parse_options() -> Result<Options> {
    let mut o = Options {
        data: None,
        epochs: 3,
        out: PathBuf::from("target/cnn_activations"),
        device: Device::Cpu,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            let missing = || Error::invalid("cnn_activations", format!("{flag} needs a value"));
            args.next().ok_or_else(missing)
        };
        match flag.as_str() {
            "--data" => o.data = Some(PathBuf::from(value()?)),
            "--epochs" => {
                let v = value()?;
                let bad = |_| Error::invalid("cnn_activations", format!("bad --epochs {v}"));
                o.epochs = v.parse().map_err(bad)?;
            }
            "--out" => o.out = PathBuf::from(value()?),
            "--device" => {
                o.device = match value()?.as_str() {
                    "cpu" => Device::Cpu,
                    _ => Device::Cuda(0),
                }
            }
            _ => {
                let usage = "options: --data DIR, --epochs N, --out DIR, --device cpu|cuda";
                return Err(Error::invalid(
                    "cnn_activations",
                    format!("unknown option {flag}; {usage}"),
                ));
            }
        }
    }
    o.device.check_available()?;
    Ok(o)
}

fn main() -> Result<()> {
    let opts = parse_options()?;
    manual_seed(0);
    let (train, test) = match &opts.data {
        Some(dir) => (
            Mnist::load_normalized(dir, true)?,
            Mnist::load_normalized(dir, false)?,
        ),
        None => SyntheticShapes::new(20_000, 2_000, 0)?.into_split(),
    };
    println!("{} training and {} test images", train.len(), test.len());

    let model = small_cnn(1, 10)?;
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new().lr(1e-3))?;
    let loader = DataLoader::new(
        train,
        DataLoaderConfig::new().batch_size(64).shuffle(true).seed(0),
    )?;
    let started = Instant::now();
    let mut losses = Vec::new();
    for epoch in 1..=opts.epochs {
        let bar = ProgressBar::new(loader.len() as u64).with_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template"),
        );
        bar.set_prefix(format!("{epoch}/{}", opts.epochs));
        let mut hits = (0, 0);
        for batch in &loader {
            let (x, y) = batch?;
            let logits = model.forward(&x)?;
            let loss = cross_entropy(&logits, &y, CrossEntropyOptions::default())?;
            optimizer.zero_grad();
            loss.backward()?;
            optimizer.step()?;
            losses.push(loss.item::<f32>()? as f64);
            hits.0 += correct(&logits, &y)?;
            hits.1 += y.numel();
            bar.set_message(format!(
                "loss {:.4}  train accuracy {:.1}%",
                losses.last().unwrap(),
                100.0 * hits.0 as f64 / hits.1 as f64
            ));
            bar.inc(1);
        }
        bar.finish();
    }
    let accuracy = evaluate(&model, &test)?;
    println!(
        "test accuracy {:.2}% after {:.1} s of training",
        100.0 * accuracy,
        started.elapsed().as_secs_f64()
    );
    read_activations(&model, &test, &losses, &opts.out)
}

/// How many rows of `logits` have their largest value at the label.
fn correct(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    let predicted = logits.argmax(Some(1), false)?;
    Ok(predicted
        .eq(labels)?
        .to_vec::<bool>()?
        .iter()
        .filter(|&&h| h)
        .count())
}

/// Test accuracy, in batches of 500 without recording a graph.
fn evaluate(model: &impl Module, test: &TensorDataset) -> Result<f64> {
    let _guard = no_grad();
    let mut hits = 0;
    for start in (0..test.len()).step_by(500) {
        let indices: Vec<usize> = (start..(start + 500).min(test.len())).collect();
        let (x, y) = test.get_batch(&indices)?;
        hits += correct(&model.forward(&x)?, &y)?;
    }
    Ok(hits as f64 / test.len() as f64)
}

/// The tutorial part: the second convolution's output for one test image.
fn read_activations(
    model: &impl Module,
    test: &TensorDataset,
    losses: &[f64],
    out: &std::path::Path,
) -> Result<()> {
    let (image, label) = test.get(0)?;
    let image = image.unsqueeze(0)?; // [1, 1, 28, 28]
    let acts = capture_activations(model, &image, &["features.3"])?;
    let conv2 = &acts[0].1; // detached: hooks hand out outputs without their graph
    println!(
        "\nimage 0 (label {}): features.3 output {:?}",
        label.item::<i64>()?,
        conv2.shape()
    );

    // One value: activation[0, 20, 10, 12].item()
    let value = conv2.index(s![0, 20, 10, 12])?.item::<f32>()?;
    println!("activation[0, 20, 10, 12] = {value:.6}");

    // A slice as a zero-copy ndarray view: activation[0, 20, 2:5, 10:14]
    let patch = conv2.index(s![0, 20, 2..5, 10..14])?;
    println!(
        "activation[0, 20, 2:5, 10:14] as ndarray:\n{:.4}",
        patch.numpy::<f32>()?.view()
    );

    // The strongest channels: those whose mean activation after the ReLU
    // (features.4) is above half the largest channel mean.
    let relu = capture_activations(model, &image, &["features.4"])?
        .remove(0)
        .1;
    let means = relu.mean_dims(&[0, 2, 3], false)?; // [64]
    let threshold = means.max()?.item::<f32>()? * 0.5;
    let strong = means.gt(threshold as f64)?.nonzero()?; // [k, 1], i64, like torch
    println!(
        "channels whose mean activation is above {threshold:.4}: {:?}",
        strong.flatten(0, -1)?.to_vec::<i64>()?
    );

    std::fs::create_dir_all(out)
        .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
    let npy = out.join("conv2_activations.npy");
    save_npy(&npy, conv2)?;
    let maps = out.join("conv2_feature_maps.png");
    pictures::save_feature_maps(&conv2.select(0, 0)?, 8, 4, &maps)?;
    let curve = out.join("loss_curve.png");
    pictures::save_loss_curve(losses, &curve)?;
    println!(
        "\nwrote {}  (np.load gives a float32 array of shape (1, 64, 14, 14))",
        npy.display()
    );
    println!("wrote {}  (the 64 feature maps, 8 per row)", maps.display());
    println!("wrote {}  (training loss per step)", curve.display());
    Ok(())
}
