//! `.npy` save/load throughput on a 100 MB f32 tensor (25M elements), to the
//! same file `benches/numpy_twin.py` uses for NumPy's `np.save` / `np.load`
//! (`$FERROGRAD_BENCH_DIR`, default the system temp dir). Also a transposed
//! tensor (saved as Fortran order from its memory), a flipped one (gathered
//! in blocks) and an uncompressed `.npz`.
//!
//! `cargo bench --bench npy_io` then `.venv/bin/python benches/numpy_twin.py`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::prelude::*;
use ferrograd_interop::npy::{load_npy, save_npy};
use ferrograd_interop::npz::{load_npz, save_npz};
use std::path::PathBuf;

const ROWS: usize = 5000;
const COLS: usize = 5000;
const BYTES: u64 = (ROWS * COLS * 4) as u64;

fn bench_path(name: &str) -> PathBuf {
    let dir =
        std::env::var_os("FERROGRAD_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    dir.join(name)
}

/// The saved tensor is an op's output, as the twin's array is (`astype`'s):
/// both libraries back large outputs with 2 MiB pages, which makes the
/// kernel's copy out of them ~1.3 ms faster per 100 MB than out of a
/// `collect`ed `Vec` on 4 KiB pages (measured here) — so compare like with like.
fn matrix() -> Tensor {
    let data: Vec<f32> = (0..ROWS * COLS).map(|i| (i % 1009) as f32).collect();
    Tensor::from_vec(data, &[ROWS, COLS])
        .unwrap()
        .try_mul(0.5)
        .unwrap()
}

fn npy(c: &mut Criterion) {
    let t = matrix();
    let path = bench_path("ferrograd-bench-100MB.npy");
    let mut group = c.benchmark_group("npy f32 100MB");
    group.sample_size(20).throughput(Throughput::Bytes(BYTES));
    group.bench_function("save_npy contiguous", |b| {
        b.iter(|| save_npy(&path, &t).unwrap())
    });
    group.bench_function("load_npy contiguous", |b| {
        b.iter(|| load_npy(&path).unwrap())
    });
    let transposed = t.t().unwrap();
    group.bench_function("save_npy transposed (Fortran order)", |b| {
        b.iter(|| save_npy(&path, &transposed).unwrap())
    });
    group.bench_function("load_npy Fortran order", |b| {
        b.iter(|| load_npy(&path).unwrap())
    });
    let flipped = t.flip(&[0, 1]).unwrap();
    group.bench_function("save_npy flipped (negative strides)", |b| {
        b.iter(|| save_npy(&path, &flipped).unwrap())
    });
    let archive = bench_path("ferrograd-bench-100MB.npz");
    group.bench_function("save_npz stored", |b| {
        b.iter(|| save_npz(&archive, &[("x", &t)]).unwrap())
    });
    group.bench_function("load_npz stored", |b| {
        b.iter(|| load_npz(&archive).unwrap())
    });
    group.finish();
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(archive);
}

criterion_group!(benches, npy);
criterion_main!(benches);
