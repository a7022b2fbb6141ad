//! Shape and indexing ops that move data, on `f32` (elements of the result
//! per second, to compare with PyTorch's twin `benches/twins/indexing.py` at
//! two threads): cat, gather and scatter_add along the last dim, an embedding
//! lookup (index_select), advanced indexing with two index tensors,
//! masked_select, nonzero, masked_fill, sort and topk of rows, and pad.
//!
//! `cargo bench --bench indexing -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrograd::ops::shape::{cat, PadMode};
use ferrograd::prelude::*;

/// One named workload: what it runs and how many elements it produces.
type Case<'a> = (&'static str, u64, &'a dyn Fn() -> Tensor);

fn ints(low: i64, high: i64, shape: &[usize]) -> Tensor {
    Tensor::randint(low, high, shape).unwrap()
}

fn indexing(c: &mut Criterion) {
    manual_seed(0);
    let x = Tensor::randn(&[4096, 1024], DType::F32).unwrap();
    let parts: Vec<Tensor> = (0..4)
        .map(|_| Tensor::randn(&[1024, 1024], DType::F32).unwrap())
        .collect();
    let cols = ints(0, 1024, &[4096, 256]);
    let src = Tensor::randn(&[4096, 256], DType::F32).unwrap();
    let table = Tensor::randn(&[50_000, 128], DType::F32).unwrap();
    let tokens = ints(0, 50_000, &[32_768]);
    let (i0, i1) = (ints(0, 4096, &[1 << 20]), ints(0, 1024, &[1 << 20]));
    let mask = Tensor::rand(&[4096, 1024], DType::F32)
        .unwrap()
        .gt(0.5)
        .unwrap();
    let rows = Tensor::randn(&[1024, 1024], DType::F32).unwrap();
    let images = Tensor::randn(&[32, 64, 56, 56], DType::F32).unwrap();
    let n = |t: &[usize]| t.iter().product::<usize>() as u64;
    let cases: [Case; 12] = [
        ("cat 4x[1024,1024] dim 0", n(&[4096, 1024]), &|| {
            cat(black_box(&parts), 0).unwrap()
        }),
        ("cat 4x[1024,1024] dim 1", n(&[4096, 1024]), &|| {
            cat(black_box(&parts), 1).unwrap()
        }),
        ("gather [4096,1024] dim 1 k=256", n(&[4096, 256]), &|| {
            x.gather(1, black_box(&cols)).unwrap()
        }),
        (
            "scatter_add [4096,1024] dim 1 k=256",
            n(&[4096, 1024]),
            &|| x.scatter_add(1, black_box(&cols), &src).unwrap(),
        ),
        (
            "index_select [50000,128] 32768 rows",
            n(&[32_768, 128]),
            &|| table.index_select(0, black_box(&tokens)).unwrap(),
        ),
        ("index x[i0, i1] 1M picks", 1 << 20, &|| {
            x.index_tensors(&[Some(&i0), Some(black_box(&i1))]).unwrap()
        }),
        ("masked_select [4096,1024] half", n(&[4096, 1024]), &|| {
            x.masked_select(black_box(&mask)).unwrap()
        }),
        ("nonzero [4096,1024] half", n(&[4096, 1024]), &|| {
            black_box(&mask).nonzero().unwrap()
        }),
        ("masked_fill [4096,1024]", n(&[4096, 1024]), &|| {
            x.masked_fill(black_box(&mask), 0.0).unwrap()
        }),
        ("sort [1024,1024] dim 1", n(&[1024, 1024]), &|| {
            black_box(&rows).sort(1, false).unwrap().0
        }),
        ("topk [1024,1024] k=16", n(&[1024, 1024]), &|| {
            black_box(&rows).topk(16, 1, true, true).unwrap().0
        }),
        ("pad [32,64,56,56] by 1", n(&[32, 64, 58, 58]), &|| {
            black_box(&images)
                .pad(&[1, 1, 1, 1], PadMode::default())
                .unwrap()
        }),
    ];
    let mut group = c.benchmark_group("indexing f32");
    group.sample_size(20);
    for (name, elements, op) in cases {
        group.throughput(Throughput::Elements(elements));
        group.bench_function(name, |bench| bench.iter(op));
    }
    group.finish();
}

criterion_group!(benches, indexing);
criterion_main!(benches);
