//! The cost of crossing into `ndarray`: `numpy()` and `numpy_mut()` are O(1)
//! (a try-lock, a handle clone and a stride computation) whatever the size,
//! measured on a 100 MB tensor; `to_ndarray()` copies, measured on 1 MB for
//! scale; `from_ndarray()` takes the buffer without copying.
//!
//! `cargo bench --bench interop_views -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ferrograd::interop::ndarray::{ArrayD, IxDyn};
use ferrograd::prelude::*;

const BIG: usize = 25 * 1024 * 1024; // 100 MiB of f32
const SMALL: usize = 256 * 1024; // 1 MiB of f32

fn views(c: &mut Criterion) {
    let big = Tensor::zeros(&[BIG / 1024, 1024], DType::F32).unwrap();
    let flipped = big.flip(&[1]).unwrap().t().unwrap();
    let mut g = c.benchmark_group("interop");
    g.bench_function("numpy_100MB", |b| {
        b.iter(|| black_box(&big).numpy::<f32>().unwrap())
    });
    g.bench_function("numpy_100MB_transposed_flipped", |b| {
        b.iter(|| black_box(&flipped).numpy::<f32>().unwrap())
    });
    g.bench_function("numpy_mut_100MB", |b| {
        b.iter(|| black_box(&big).numpy_mut::<f32>().unwrap())
    });
    let small = Tensor::zeros(&[SMALL / 1024, 1024], DType::F32).unwrap();
    g.bench_function("to_ndarray_1MB", |b| {
        b.iter(|| black_box(&small).to_ndarray::<f32>().unwrap())
    });
    g.bench_function("from_ndarray_1MB", |b| {
        b.iter_batched(
            || ArrayD::<f32>::zeros(IxDyn(&[SMALL / 1024, 1024])),
            |a| Tensor::from_ndarray(a).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, views);
criterion_main!(benches);
