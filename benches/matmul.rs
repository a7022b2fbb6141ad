//! Matrix products: square `f32` matmul at n = 256, 512, 1024 (GFLOP/s, to
//! compare with PyTorch's twin `benches/twins/matmul.py`), a transposed
//! operand (read through its strides, no copy), `f64`, a batched product,
//! and `linear` at the CNN's first fully connected layer, forward and
//! forward + backward.
//!
//! `cargo bench --bench matmul -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::ops::matmul::linear;
use ferrograd::prelude::*;

fn square(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    for n in [256usize, 512, 1024] {
        let a = Tensor::randn(&[n, n], DType::F32).unwrap();
        let b = Tensor::randn(&[n, n], DType::F32).unwrap();
        group.throughput(Throughput::Elements((2 * n * n * n) as u64));
        group.bench_function(format!("f32 n={n}"), |bench| {
            bench.iter(|| black_box(&a).matmul(black_box(&b)).unwrap())
        });
        if n == 512 {
            let bt = b.t().unwrap();
            group.bench_function(format!("f32 n={n} a @ b.t()"), |bench| {
                bench.iter(|| black_box(&a).matmul(black_box(&bt)).unwrap())
            });
            let (a64, b64) = (a.double().unwrap(), b.double().unwrap());
            group.bench_function(format!("f64 n={n}"), |bench| {
                bench.iter(|| black_box(&a64).matmul(black_box(&b64)).unwrap())
            });
        }
    }
    let (a, b) = (
        Tensor::randn(&[64, 64, 64], DType::F32).unwrap(),
        Tensor::randn(&[64, 64, 64], DType::F32).unwrap(),
    );
    group.throughput(Throughput::Elements(2 * 64 * 64 * 64 * 64));
    group.bench_function("f32 bmm 64x(64x64 @ 64x64)", |bench| {
        bench.iter(|| black_box(&a).bmm(black_box(&b)).unwrap())
    });
    group.finish();
}

fn linear_layer(c: &mut Criterion) {
    let (batch, inf, outf) = (64usize, 3136usize, 128usize);
    let x = Tensor::randn(&[batch, inf], DType::F32).unwrap();
    let w = Tensor::randn(&[outf, inf], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let b = Tensor::randn(&[outf], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let xg = x.detach().requires_grad_(true).unwrap();
    let mut group = c.benchmark_group("linear 64x3136 -> 128");
    group.throughput(Throughput::Elements((2 * batch * inf * outf) as u64));
    group.bench_function("forward", |bench| bench.iter(|| no_grad_linear(&x, &w, &b)));
    group.throughput(Throughput::Elements((6 * batch * inf * outf) as u64));
    group.bench_function("forward+backward", |bench| {
        bench.iter(|| {
            let y = linear(&xg, &w, Some(&b)).unwrap();
            y.sum_dims(&[], false).unwrap().backward().unwrap();
        })
    });
    group.finish();
}

fn no_grad_linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
    with_no_grad(|| linear(black_box(x), black_box(w), Some(black_box(b))).unwrap())
}

criterion_group!(benches, square, linear_layer);
criterion_main!(benches);
