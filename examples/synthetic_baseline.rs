//! A linear baseline on `SyntheticShapes`: logistic regression on the raw
//! pixels (`Linear(784, 10)` + cross-entropy, plain SGD), which stays well
//! below what a small CNN reaches on the same data (above 97%).
//!
//! ```text
//! cargo run --release --example synthetic_baseline
//! cargo run --release --example synthetic_baseline -- --dump /tmp/shapes.npz
//! ```
//!
//! `--dump PATH` also writes the splits to an `.npz` (`x_train`, `y_train`,
//! `x_test`, `y_test`) for a comparison in PyTorch.

use ferrograd::interop::npz::save_npz;
use ferrograd::nn::data::{DataLoader, DataLoaderConfig, Dataset, SyntheticShapes};
use ferrograd::prelude::*;
use std::time::Instant;

const N_TRAIN: usize = 20_000;
const N_TEST: usize = 5_000;
const EPOCHS: usize = 10;
const LR: f64 = 0.1;

fn main() -> Result<()> {
    let start = Instant::now();
    let shapes = SyntheticShapes::new(N_TRAIN, N_TEST, 0)?;
    println!(
        "generated {} train + {} test images in {:.0} ms",
        N_TRAIN,
        N_TEST,
        start.elapsed().as_secs_f64() * 1e3
    );
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--dump") {
        let path = args.get(i + 1).expect("--dump needs a path");
        let (train, test) = (shapes.train(), shapes.test());
        save_npz(
            path,
            &[
                ("x_train", train.inputs()),
                ("y_train", train.targets()),
                ("x_test", test.inputs()),
                ("y_test", test.targets()),
            ],
        )?;
        println!("wrote {path}");
    }

    manual_seed(0);
    let model = Linear::new(784, 10)?;
    let loader = DataLoader::new(
        shapes.train().clone(),
        DataLoaderConfig::new().batch_size(64).shuffle(true).seed(0),
    )?;
    for epoch in 0..EPOCHS {
        let mut total = 0.0;
        for batch in &loader {
            let (x, y) = batch?;
            let logits = model.forward(&x.flatten(1, -1)?)?;
            let loss = cross_entropy(&logits, &y, CrossEntropyOptions::default())?;
            total += loss.item::<f32>()? as f64;
            model.zero_grad();
            loss.backward()?;
            sgd_step(&model.parameters())?;
        }
        let acc = accuracy(&model, shapes.test())?;
        println!(
            "epoch {epoch}: train loss {:.4}, test accuracy {:.2}%",
            total / loader.len() as f64,
            acc * 100.0
        );
    }
    let acc = accuracy(&model, shapes.test())?;
    println!(
        "logistic regression: {:.2}% test accuracy ({} in {:.1} s)",
        acc * 100.0,
        if acc <= 0.85 {
            "at most 85%"
        } else {
            "ABOVE 85%"
        },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `p -= LR * p.grad` for each parameter, outside the graph.
fn sgd_step(params: &[Tensor]) -> Result<()> {
    let _guard = no_grad();
    for p in params {
        if let Some(g) = p.grad() {
            p.sub_(&g.try_mul(LR)?)?;
        }
    }
    Ok(())
}

/// The fraction of `data` whose arg-max logit is the label.
fn accuracy(model: &Linear, data: &impl Dataset) -> Result<f64> {
    let _guard = no_grad();
    let (x, y) = data.get_batch(&(0..data.len()).collect::<Vec<_>>())?;
    let predicted = model.forward(&x.flatten(1, -1)?)?.argmax(Some(1), false)?;
    let hits = predicted.eq(&y)?.to_vec::<bool>()?;
    Ok(hits.iter().filter(|&&h| h).count() as f64 / hits.len() as f64)
}
