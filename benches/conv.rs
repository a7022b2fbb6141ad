//! Convolution and pooling: conv2d forward on one 3×28×28 image to 64
//! channels, and the layers of the reference CNN at batch 64
//! (conv 1→32 and 32→64, 3×3 pad 1; 2×2 max pooling after each), forward and
//! forward + backward, plus that CNN without its ReLUs end to end. PyTorch's
//! twin is `benches/twins/conv.py`.
//!
//! `cargo bench --bench conv -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::ops::conv::conv2d;
use ferrograd::ops::matmul::linear;
use ferrograd::prelude::*;

fn param(shape: &[usize]) -> Tensor {
    (Tensor::randn(shape, DType::F32).unwrap() * 0.1)
        .requires_grad_(true)
        .unwrap()
}

/// Multiply-adds ×2 of a 3×3 convolution.
fn conv_flops(n: usize, c_in: usize, c_out: usize, hw: usize) -> u64 {
    (2 * n * c_out * hw * c_in * 9) as u64
}

fn backward(y: &Tensor, grad: &Tensor, params: &[&Tensor]) {
    y.backward_with(grad).unwrap();
    params.iter().for_each(|p| p.zero_grad());
}

fn conv_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d");
    let pad1 = Conv2dOptions::new().padding(1);
    let x = Tensor::randn(&[1, 3, 28, 28], DType::F32).unwrap();
    let w = param(&[64, 3, 3, 3]);
    group.throughput(Throughput::Elements(conv_flops(1, 3, 64, 784)));
    group.bench_function("forward (1,3,28,28)->64", |b| {
        b.iter(|| with_no_grad(|| conv2d(black_box(&x), &w, None, pad1).unwrap()))
    });
    for (n, c_in, c_out, side, input_grad) in [
        (64, 1, 32, 28, false),
        (64, 32, 64, 14, true),
        (1, 32, 64, 14, true),
        (1, 3, 64, 224, false),
    ] {
        let x = Tensor::randn(&[n, c_in, side, side], DType::F32).unwrap();
        let x = if input_grad {
            x.requires_grad_(true).unwrap()
        } else {
            x
        };
        let (w, bias) = (param(&[c_out, c_in, 3, 3]), param(&[c_out]));
        let name = format!("({n},{c_in},{side},{side})->{c_out}");
        let flops = conv_flops(n, c_in, c_out, side * side);
        group.throughput(Throughput::Elements(flops));
        group.bench_function(format!("forward {name}"), |b| {
            b.iter(|| with_no_grad(|| conv2d(black_box(&x), &w, Some(&bias), pad1).unwrap()))
        });
        let grad = Tensor::ones(&[n, c_out, side, side], DType::F32).unwrap();
        group.throughput(Throughput::Elements(flops * if input_grad { 3 } else { 2 }));
        group.bench_function(format!("forward+backward {name}"), |b| {
            b.iter(|| {
                let y = conv2d(black_box(&x), &w, Some(&bias), pad1).unwrap();
                backward(&y, &grad, &[&w, &bias, &x]);
            })
        });
    }
    group.finish();
}

fn max_pooling(c: &mut Criterion) {
    let mut group = c.benchmark_group("max_pool2d");
    for (n, ch, side) in [(64, 32, 28), (64, 64, 14)] {
        let x = Tensor::randn(&[n, ch, side, side], DType::F32)
            .unwrap()
            .requires_grad_(true)
            .unwrap();
        let grad = Tensor::ones(&[n, ch, side / 2, side / 2], DType::F32).unwrap();
        let name = format!("({n},{ch},{side},{side}) k2");
        group.throughput(Throughput::Elements((n * ch * side * side) as u64));
        group.bench_function(format!("forward {name}"), |b| {
            b.iter(|| with_no_grad(|| black_box(&x).max_pool2d(MaxPool2dOptions::new(2)).unwrap()))
        });
        group.bench_function(format!("forward+backward {name}"), |b| {
            b.iter(|| {
                let y = black_box(&x).max_pool2d(MaxPool2dOptions::new(2)).unwrap();
                backward(&y, &grad, &[&x]);
            })
        });
    }
    group.finish();
}

fn cnn_without_relu(c: &mut Criterion) {
    let x = Tensor::randn(&[64, 1, 28, 28], DType::F32).unwrap();
    let params = [
        param(&[32, 1, 3, 3]),
        param(&[32]),
        param(&[64, 32, 3, 3]),
        param(&[64]),
        param(&[128, 3136]),
        param(&[128]),
        param(&[10, 128]),
        param(&[10]),
    ];
    let p = &params;
    let pad1 = Conv2dOptions::new().padding(1);
    let pool = MaxPool2dOptions::new(2);
    let grad = Tensor::ones(&[64, 10], DType::F32).unwrap();
    let mut group = c.benchmark_group("cnn batch 64 (no relu)");
    group.sample_size(30);
    group.bench_function("forward+backward", |b| {
        b.iter(|| {
            let h = conv2d(black_box(&x), &p[0], Some(&p[1]), pad1)
                .unwrap()
                .max_pool2d(pool)
                .unwrap();
            let h = conv2d(&h, &p[2], Some(&p[3]), pad1)
                .unwrap()
                .max_pool2d(pool)
                .unwrap();
            let h = linear(&h.flatten(1, -1).unwrap(), &p[4], Some(&p[5])).unwrap();
            let y = linear(&h, &p[6], Some(&p[7])).unwrap();
            backward(&y, &grad, &params.iter().collect::<Vec<_>>());
        })
    });
    group.finish();
}

criterion_group!(benches, conv_layers, max_pooling, cnn_without_relu);
criterion_main!(benches);
