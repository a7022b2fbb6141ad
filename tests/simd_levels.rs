//! Every `simd_loop!` copy (baseline, AVX2 + FMA, AVX-512 where this build
//! and CPU have them) computes the same bits: the kernels behind the
//! elementwise ops, the sums, the softmax family and cross-entropy, forward
//! and backward, run once per level and are compared bit for bit. The level
//! cap is process-wide, so this file is its own test binary.

use ferrograd::ops::loss::{cross_entropy, CrossEntropyOptions};
use ferrograd::prelude::*;
use ferrograd::storage::cpu::simd::{cap_level, level, Level};

/// The bits of every result, in a fixed order.
fn results(x: &Tensor, logits: &Tensor, targets: &Tensor) -> Result<Vec<Vec<u32>>> {
    let bits = |t: Tensor| -> Result<Vec<u32>> {
        Ok(t.to_vec::<f32>()?.iter().map(|v| v.to_bits()).collect())
    };
    let leaf = logits.detach().requires_grad_(true)?;
    let loss = cross_entropy(&leaf, targets, CrossEntropyOptions::default())?;
    loss.backward()?;
    let soft = logits.detach().requires_grad_(true)?;
    let weights = x.narrow(1, 0, 10)?.narrow(0, 0, 64)?.contiguous()?;
    soft.log_softmax(-1)?.try_mul(&weights)?.sum()?.backward()?;
    Ok(vec![
        bits(x.exp()?)?,
        bits(x.tanh()?)?,
        bits(x.sigmoid()?)?,
        bits(x.gelu()?)?,
        bits(x.try_add(x)?.try_mul(0.5)?)?,
        bits(x.sum()?)?,
        bits(x.sum_dims(&[0], false)?)?,
        bits(x.sum_dims(&[1], false)?)?,
        bits(x.max()?)?,
        bits(x.softmax(-1)?)?,
        bits(x.softmax(0)?)?,
        bits(x.log_softmax(-1)?)?,
        bits(x.logsumexp(&[1], false)?)?,
        bits(loss)?,
        bits(leaf.grad().unwrap())?,
        bits(soft.grad().unwrap())?,
    ])
}

#[test]
fn every_simd_copy_computes_the_same_bits() -> Result<()> {
    let x = Tensor::randn(&[300, 257], DType::F32)?.try_mul(4.0)?;
    let logits = Tensor::randn(&[64, 10], DType::F32)?.try_mul(3.0)?;
    let targets = Tensor::from_vec((0..64).map(|i| i % 10).collect::<Vec<i64>>(), &[64])?;
    let mut runs = Vec::new();
    for cap in [Level::Baseline, Level::Avx2, Level::Avx512] {
        cap_level(Some(cap));
        // A level this CPU or build lacks falls back to a narrower one.
        if level() == cap {
            runs.push((cap, results(&x, &logits, &targets)?));
        }
    }
    cap_level(None);
    let levels: Vec<Level> = runs.iter().map(|(l, _)| *l).collect();
    eprintln!("compared levels: {levels:?}");
    assert!(levels.contains(&level()), "the CPU's own level ran");
    let (first, want) = &runs[0];
    for (cap, got) in &runs[1..] {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(g == w, "result {i}: {cap:?} differs from {first:?}");
        }
    }
    Ok(())
}
