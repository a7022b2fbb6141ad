//! One training step of the reference CNN (`ferrograd_nn::models::small_cnn`)
//! at batch 64 on 1×28×28 inputs: forward, cross-entropy, backward, SGD with
//! momentum 0.9 (`optim::SGD`). PyTorch's twin is `benches/twins/cnn_train_step.py`.
//!
//! `cargo bench --bench cnn_train_step -- --warm-up-time 2 --measurement-time 10`

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd::nn::models::small_cnn;
use ferrograd::prelude::*;

fn train_step(c: &mut Criterion) {
    manual_seed(0);
    let model = small_cnn(1, 10).unwrap();
    let params = model.parameters();
    let x = Tensor::rand(&[64, 1, 28, 28], DType::F32).unwrap();
    let y = Tensor::randint(0, 10, &[64]).unwrap();
    let mut opt = SGD::new(params, SgdConfig::new().lr(0.01).momentum(0.9)).unwrap();
    let mut group = c.benchmark_group("cnn_train_step");
    group.sample_size(30);
    group.bench_function("batch 64 forward+backward+sgd", |b| {
        b.iter(|| {
            opt.zero_grad();
            let logits = model.forward(&x).unwrap();
            let loss = cross_entropy(&logits, &y, CrossEntropyOptions::default()).unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
