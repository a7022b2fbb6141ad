//! Elementwise ops on 10M `f32` elements (elements per second, to compare
//! with PyTorch's twin `benches/twins/elementwise.py` at two threads):
//! binary arithmetic, exp / tanh / sigmoid, the activations, a comparison
//! and `sum`; and the per-call overhead of a chain of tiny (4-element) ops,
//! `h = tanh(h * 1.0001 + 0.001) * 1.0` a hundred times, forward only and
//! forward + backward.
//!
//! `cargo bench --bench elementwise -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::ops::unary::GeluApproximate;
use ferrograd::prelude::*;

const N: usize = 10_000_000;
const CHAIN: usize = 100;

fn large(c: &mut Criterion) {
    let a = Tensor::randn(&[N], DType::F32).unwrap();
    let b = Tensor::randn(&[N], DType::F32).unwrap();
    let mut group = c.benchmark_group("10M f32");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    let cases: [(&str, &dyn Fn() -> Tensor); 10] = [
        ("add", &|| black_box(&a) + black_box(&b)),
        ("mul scalar", &|| black_box(&a) * 2.0),
        ("exp", &|| black_box(&a).exp().unwrap()),
        ("tanh", &|| black_box(&a).tanh().unwrap()),
        ("sigmoid", &|| black_box(&a).sigmoid().unwrap()),
        ("relu", &|| black_box(&a).relu().unwrap()),
        ("gelu", &|| black_box(&a).gelu().unwrap()),
        ("gelu tanh", &|| {
            black_box(&a).gelu_with(GeluApproximate::Tanh).unwrap()
        }),
        ("gt", &|| black_box(&a).gt(black_box(&b)).unwrap()),
        ("sum", &|| black_box(&a).sum_dims(&[], false).unwrap()),
    ];
    for (name, op) in cases {
        group.bench_function(name, |bench| bench.iter(op));
    }
    group.finish();
}

fn tanh_chain(x: &Tensor) -> Tensor {
    let mut h = x.clone();
    for _ in 0..CHAIN {
        h = &(&h * 1.0001 + 0.001).tanh().unwrap() * 1.0;
    }
    h
}

fn tiny_chain(c: &mut Criterion) {
    let x = Tensor::randn(&[4], DType::F32).unwrap();
    let w = x.detach().requires_grad_(true).unwrap();
    let mut group = c.benchmark_group("4-element tanh chain x100");
    group.throughput(Throughput::Elements(CHAIN as u64));
    group.bench_function("forward", |bench| bench.iter(|| tanh_chain(black_box(&x))));
    group.bench_function("forward+backward", |bench| {
        bench.iter(|| {
            tanh_chain(black_box(&w))
                .sum_dims(&[], false)
                .unwrap()
                .backward()
                .unwrap();
            w.zero_grad();
        })
    });
    group.finish();
}

criterion_group!(benches, large, tiny_chain);
criterion_main!(benches);
