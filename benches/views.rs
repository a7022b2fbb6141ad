//! What views cost: making a view of a 100M-element tensor (should be O(1),
//! well under a microsecond), and materialising a transposed 4096×4096
//! matrix with `contiguous()` against a plain memcpy of the same bytes.
//!
//! `cargo bench --bench views -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::prelude::*;

const BIG: [usize; 3] = [100, 1000, 1000];
const SIDE: usize = 4096;

fn making_views(c: &mut Criterion) {
    let big = Tensor::zeros(&BIG, DType::F32).unwrap();
    let mut group = c.benchmark_group("view of a 100M-element f32 tensor");
    group.bench_function("index s![10..20, .., ..;2]", |b| {
        b.iter(|| black_box(&big).index(s![10..20, .., ..;2]).unwrap())
    });
    group.bench_function("index s![3]", |b| {
        b.iter(|| black_box(&big).index(s![3]).unwrap())
    });
    group.bench_function("slice(1, 10..500)", |b| {
        b.iter(|| black_box(&big).slice(1, Some(10), Some(500), 1).unwrap())
    });
    group.bench_function("permute(2, 0, 1)", |b| {
        b.iter(|| black_box(&big).permute(&[2, 0, 1]).unwrap())
    });
    group.bench_function("transpose(0, 2)", |b| {
        b.iter(|| black_box(&big).transpose(0, 2).unwrap())
    });
    group.bench_function("flip(1)", |b| {
        b.iter(|| black_box(&big).flip(&[1]).unwrap())
    });
    group.finish();
}

fn materialising(c: &mut Criterion) {
    let n = SIDE * SIDE;
    let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let matrix = Tensor::from_slice(&data, &[SIDE, SIDE]).unwrap();
    let transposed = matrix.t().unwrap();
    let flipped = matrix.flip(&[0, 1]).unwrap();
    let mut dst = vec![0.0f32; n];

    let mut group = c.benchmark_group("copy 4096x4096 f32");
    group.throughput(Throughput::Bytes((n * std::mem::size_of::<f32>()) as u64));
    group.sample_size(20);
    group.bench_function("memcpy into an existing buffer", |b| {
        b.iter(|| dst.copy_from_slice(black_box(&data)))
    });
    group.bench_function("memcpy into a new buffer (to_vec)", |b| {
        b.iter_with_large_drop(|| black_box(&data).to_vec())
    });
    group.bench_function("contiguous() of the transpose", |b| {
        b.iter_with_large_drop(|| black_box(&transposed).contiguous().unwrap())
    });
    group.bench_function("contiguous() of the flip", |b| {
        b.iter_with_large_drop(|| black_box(&flipped).contiguous().unwrap())
    });
    group.finish();
}

criterion_group!(benches, making_views, materialising);
criterion_main!(benches);
