//! Graph overhead per op: a chain of 1000 ops on a 4-element f32 tensor
//! (`h = tanh(h * 1.0001 + 0.001) * 1.0`, 250 times), then sum and backward.
//! At 4 elements the arithmetic is nothing: what is timed is recording the
//! graph, running backward and allocating results. Throughput is reported in
//! ops, so criterion's "elem/s" reads as ops per second.
//!
//! Variants:
//! - `forward_backward`: the chain with grad recording, plus sum + backward;
//! - `no_grad`: the same chain under `no_grad()`;
//! - `no_graph_inputs`: the chain on a tensor that does not require grad (grad
//!   mode on: every op checks and records nothing);
//! - `kernels_alone`: the same four kernels per step (the same `tanh_f32` the
//!   `tanh` op runs) called on plain vectors through ferrograd-storage's
//!   `unary_map` (one output allocation per op, no tensor, no graph) — the
//!   floor the tensor layer adds to.
//!
//! PyTorch twin: `benches/twins/autograd_overhead.py`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::ops::unary::fast_math::tanh_f32;
use ferrograd::prelude::*;
use ferrograd::storage::{cpu::unary_map, Layout};
use std::hint::black_box;

const STEPS: usize = 250;
const OPS: u64 = 4 * STEPS as u64;

fn chain(x: &Tensor) -> Result<Tensor> {
    let mut h = x.clone();
    for _ in 0..STEPS {
        h = h.try_mul(1.0001)?.try_add(0.001)?.tanh()?.try_mul(1.0)?;
    }
    Ok(h)
}

fn kernels_alone(x: &[f32]) -> Vec<f32> {
    let layout = Layout::contiguous(&[x.len()]);
    let mut h = x.to_vec();
    for _ in 0..STEPS {
        h = unary_map(&h, &layout, |v: f32| v * 1.0001);
        h = unary_map(&h, &layout, |v: f32| v + 0.001);
        h = unary_map(&h, &layout, tanh_f32);
        h = unary_map(&h, &layout, |v: f32| v * 1.0);
    }
    h
}

fn bench(c: &mut Criterion) {
    let data = vec![0.1f32, -0.2, 0.3, 0.4];
    let leaf = Tensor::from_vec(data.clone(), &[4])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let plain = Tensor::from_vec(data.clone(), &[4]).unwrap();
    let mut g = c.benchmark_group("autograd_overhead");
    g.throughput(Throughput::Elements(OPS));
    g.bench_function("forward_backward", |b| {
        b.iter(|| {
            chain(&leaf).unwrap().sum().unwrap().backward().unwrap();
            leaf.zero_grad();
        })
    });
    g.bench_function("no_grad", |b| {
        b.iter(|| {
            let _guard = no_grad();
            black_box(chain(&leaf).unwrap())
        })
    });
    g.bench_function("no_graph_inputs", |b| {
        b.iter(|| black_box(chain(&plain).unwrap()))
    });
    g.bench_function("kernels_alone", |b| {
        b.iter(|| black_box(kernels_alone(&data)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
