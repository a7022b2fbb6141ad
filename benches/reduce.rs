//! Reductions, softmax and cross-entropy (elements per second, to compare
//! with PyTorch's twin `benches/twins/reduce.py` at two threads, same names).
//!
//! `cargo bench --bench reduce -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::prelude::*;

const N: usize = 10_000_000;

type Case<'a> = (&'a str, &'a dyn Fn() -> Tensor);

fn run(c: &mut Criterion, group: &str, elements: usize, cases: &[Case]) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(elements as u64));
    group.sample_size(20);
    for (name, op) in cases {
        group.bench_function(*name, |bench| bench.iter(op));
    }
    group.finish();
}

fn reductions(c: &mut Criterion) {
    let a = Tensor::randn(&[N], DType::F32).unwrap();
    let m = a.reshape(&[10_000, 1000]).unwrap();
    run(
        c,
        "10M f32",
        N,
        &[
            ("sum", &|| black_box(&a).sum().unwrap()),
            ("sum dim=-1 [10000,1000]", &|| {
                black_box(&m).sum_dims(&[-1], false).unwrap()
            }),
            ("sum dim=0 [10000,1000]", &|| {
                black_box(&m).sum_dims(&[0], false).unwrap()
            }),
            ("mean", &|| black_box(&a).mean().unwrap()),
            ("max", &|| black_box(&a).max().unwrap()),
            ("max dim=-1 [10000,1000]", &|| {
                black_box(&m).max_dim(-1, false).unwrap().0
            }),
        ],
    );
}

fn softmaxes(c: &mut Criterion) {
    let x = Tensor::randn(&[4096, 1000], DType::F32).unwrap();
    run(
        c,
        "[4096,1000] f32",
        4096 * 1000,
        &[
            ("softmax dim=-1", &|| black_box(&x).softmax(-1).unwrap()),
            ("log_softmax dim=-1", &|| {
                black_box(&x).log_softmax(-1).unwrap()
            }),
            ("softmax dim=0", &|| black_box(&x).softmax(0).unwrap()),
        ],
    );
}

/// Forward and backward of `cross_entropy` on `[batch, classes]` logits.
fn cross_entropy_step(x: &Tensor, target: &Tensor) {
    let loss = cross_entropy(x, target, CrossEntropyOptions::default()).unwrap();
    loss.backward().unwrap();
    x.zero_grad();
}

fn losses(c: &mut Criterion) {
    for (batch, classes) in [(64usize, 10usize), (4096, 1000)] {
        let x = Tensor::randn(&[batch, classes], DType::F32).unwrap();
        let leaf = x.detach().requires_grad_(true).unwrap();
        let t = Tensor::randint(0, classes as i64, &[batch]).unwrap();
        run(
            c,
            &format!("cross_entropy [{batch},{classes}] f32"),
            batch * classes,
            &[
                ("forward", &|| {
                    cross_entropy(black_box(&x), &t, CrossEntropyOptions::default()).unwrap()
                }),
                ("forward+backward", &|| {
                    cross_entropy_step(black_box(&leaf), &t);
                    leaf.clone()
                }),
            ],
        );
    }
}

criterion_group!(benches, reductions, softmaxes, losses);
criterion_main!(benches);
