//! Reading every value of a tensor: a loop of `t[i].item()` calls against
//! one conversion (`to_vec()`, or a zero-copy `numpy()` view read in place).
//! Each `item()` builds a view, takes a read lock and checks the dtype, so
//! the loop pays that per element; the conversions pay it once. The figure
//! is quoted in `docs/tutorials/reading-values.md`.
//!
//! `cargo bench --bench item_loop -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ferrograd::prelude::*;

const N: usize = 10_000;

fn item_loop(c: &mut Criterion) {
    let t = Tensor::arange(0, N as i64).unwrap().float().unwrap();
    let mut g = c.benchmark_group("read 10k f32 values");
    g.bench_function("item() per element", |b| {
        b.iter(|| {
            let t = black_box(&t);
            (0..N as isize)
                .map(|i| t.index(s![i]).unwrap().item::<f32>().unwrap())
                .sum::<f32>()
        })
    });
    g.bench_function("to_vec() once", |b| {
        b.iter(|| black_box(&t).to_vec::<f32>().unwrap().iter().sum::<f32>())
    });
    g.bench_function("numpy() view once", |b| {
        b.iter(|| black_box(&t).numpy::<f32>().unwrap().view().sum())
    });
    g.finish();
}

criterion_group!(benches, item_loop);
criterion_main!(benches);
