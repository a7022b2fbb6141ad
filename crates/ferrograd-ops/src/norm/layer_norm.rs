//! `layer_norm` over the trailing `normalized_shape` dims: each row is
//! normalised with its own mean and (biased) variance, then scaled and
//! shifted elementwise. Fused forward and first-order backward.

use super::affine::{record_affine, AffineGrads, NormSpec};
use crate::reduce::{with_float, with_lines};
use ferrograd_autograd::Tensor;
use ferrograd_storage::cpu::PARALLEL_THRESHOLD;
use ferrograd_storage::{Element, Error, FloatElement, Result};
use rayon::prelude::*;

fn check_shapes(
    input: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
) -> Result<()> {
    const OP: &str = "layer_norm";
    let k = normalized_shape.len();
    if k == 0 || input.dim() < k || &input.shape()[input.dim() - k..] != normalized_shape {
        return Err(Error::ShapeMismatch {
            op: OP,
            lhs: input.shape().to_vec(),
            rhs: normalized_shape.to_vec(),
            msg: format!(
                "Given normalized_shape={normalized_shape:?}, expected input with shape [*, {}], but got input of size{:?}",
                normalized_shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
                input.shape()
            ),
        });
    }
    for (name, p) in [("weight", weight), ("bias", bias)] {
        if let Some(p) = p {
            if p.shape() != normalized_shape {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    lhs: p.shape().to_vec(),
                    rhs: normalized_shape.to_vec(),
                    msg: format!("Expected {name} to be of same shape as normalized_shape, but got {name} of shape {:?} and normalized_shape = {normalized_shape:?}", p.shape()),
                });
            }
        }
    }
    Ok(())
}

/// Layer normalisation — `F.layer_norm(input, normalized_shape, weight,
/// bias, eps)`: statistics over the trailing dims named by `normalized_shape`.
///
/// ```
/// use ferrograd_ops::norm::layer_norm;
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::from_vec(vec![1.0f64, 3.0, 10.0, 30.0], &[2, 2])?;
/// let y = layer_norm(&x, &[2], None, None, 0.0)?;
/// assert_eq!(y.to_vec::<f64>()?, vec![-1.0, 1.0, -1.0, 1.0]);
/// let e = layer_norm(&x, &[3], None, None, 1e-5).unwrap_err();
/// assert!(e.to_string().contains("expected input with shape [*, 3]"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn layer_norm(
    input: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    check_shapes(input, normalized_shape, weight, bias)?;
    with_float!(input.dtype(), T => forward::<T>(input, normalized_shape, weight, bias, eps),
        d => Err(crate::reduce::not_float("layer_norm", d)))
}

/// Elementwise parameter values (`default` when absent).
fn values(p: Option<&Tensor>, len: usize, default: f64) -> Result<Vec<f64>> {
    match p {
        Some(p) => p.detach().double()?.contiguous()?.to_vec::<f64>(),
        None => Ok(vec![default; len]),
    }
}

/// `(mean, 1 / sqrt(var + eps))` of a row.
fn row_stats<T: Element>(row: &[T], eps: f64) -> (f64, f64) {
    let (mean, m2) = crate::reduce::mean_and_m2(row);
    (mean, 1.0 / (m2 / row.len() as f64 + eps).sqrt())
}

/// One output row with its index and the two input rows it is computed from.
type RowTask<'a, T> = (usize, ((&'a mut [T], &'a [T]), &'a [T]));

/// Runs `f(row index, rows…)` over aligned rows of length `m` of `out` and
/// `inputs`, in parallel when large.
fn for_rows<T: FloatElement>(
    out: &mut [T],
    inputs: [&[T]; 2],
    m: usize,
    f: impl Fn(usize, &mut [T], &[T], &[T]) + Sync + Send,
) {
    let [a, b] = inputs;
    let run = |(r, ((o, a), b)): RowTask<'_, T>| f(r, o, a, b);
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(m)
            .zip(a.par_chunks(m))
            .zip(b.par_chunks(m))
            .enumerate()
            .for_each(run);
    } else {
        out.chunks_mut(m)
            .zip(a.chunks(m))
            .zip(b.chunks(m))
            .enumerate()
            .for_each(run);
    }
}

fn forward<T: FloatElement>(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let m: usize = normalized_shape.iter().product();
    let (w, b) = (values(weight, m, 1.0)?, values(bias, m, 0.0)?);
    let (stats, y) = with_lines(x, 0, |d: &[T], _| {
        let stats: Vec<(f64, f64)> = if d.len() >= PARALLEL_THRESHOLD {
            d.par_chunks(m).map(|r| row_stats(r, eps)).collect()
        } else {
            d.chunks(m).map(|r| row_stats(r, eps)).collect()
        };
        let mut y = vec![T::default(); d.len()];
        for_rows(&mut y, [d, d], m, |r, out, row, _| {
            let (mean, invstd) = stats[r];
            for (j, (o, &v)) in out.iter_mut().zip(row).enumerate() {
                *o = T::from_f64((Element::to_f64(v) - mean) * invstd * w[j] + b[j]);
            }
        });
        (stats, y)
    })?;
    let out = Tensor::from_vec(y, x.shape())?;
    let lead = x.dim() - normalized_shape.len();
    let param_shape: Vec<isize> = normalized_shape.iter().map(|&s| s as isize).collect();
    let spec = NormSpec {
        stat_dims: (lead..x.dim()).map(|d| d as isize).collect(),
        param_dims: (0..lead).map(|d| d as isize).collect(),
        param_view: param_shape.clone(),
        param_shape,
    };
    let shape = normalized_shape.to_vec();
    let fused = move |g: &Tensor, x: &Tensor| {
        with_float!(x.dtype(), U => fused_backward::<U>(g, x, &stats, &w, &shape),
            d => Err(crate::reduce::not_float("layer_norm", d)))
    };
    let params = [Some(x), weight, bias];
    Ok(record_affine(
        out,
        "NativeLayerNormBackward0",
        params,
        eps,
        spec,
        fused,
    ))
}

/// First-order gradients: per row, with `ĝ = dy · w`,
/// `dx = invstd · (ĝ - mean(ĝ) - x̂ · mean(ĝ · x̂))`; `dw = Σ dy · x̂`, `db = Σ dy`.
fn fused_backward<T: FloatElement>(
    g: &Tensor,
    x: &Tensor,
    stats: &[(f64, f64)],
    w: &[f64],
    shape: &[usize],
) -> Result<AffineGrads> {
    let m = w.len();
    let gv = g.to_dtype(T::DTYPE)?.contiguous()?.to_vec::<T>()?;
    let (gx, gw, gb) = with_lines(x, 0, |xd: &[T], _| {
        let mut gx = vec![T::default(); xd.len()];
        for_rows(&mut gx, [xd, &gv], m, |r, out, row, dy| {
            let (mean, invstd) = stats[r];
            let xhat = |v: T| (Element::to_f64(v) - mean) * invstd;
            let (mut s1, mut s2) = (0.0, 0.0);
            for (j, (&v, &d)) in row.iter().zip(dy).enumerate() {
                let gh = Element::to_f64(d) * w[j];
                s1 += gh;
                s2 += gh * xhat(v);
            }
            let (s1, s2) = (s1 / m as f64, s2 / m as f64);
            for (j, ((o, &v), &d)) in out.iter_mut().zip(row).zip(dy).enumerate() {
                let gh = Element::to_f64(d) * w[j];
                *o = T::from_f64(invstd * (gh - s1 - xhat(v) * s2));
            }
        });
        let (mut gw, mut gb) = (vec![0.0; m], vec![0.0; m]);
        for (r, (row, dy)) in xd.chunks(m).zip(gv.chunks(m)).enumerate() {
            let (mean, invstd) = stats[r];
            for (j, (&v, &d)) in row.iter().zip(dy).enumerate() {
                let d = Element::to_f64(d);
                gw[j] += d * (Element::to_f64(v) - mean) * invstd;
                gb[j] += d;
            }
        }
        (gx, gw, gb)
    })?;
    let to_tensor =
        |v: Vec<f64>| Tensor::from_vec(v.into_iter().map(T::from_f64).collect::<Vec<T>>(), shape);
    Ok((
        Tensor::from_vec(gx, x.shape())?,
        Some(to_tensor(gw)?),
        to_tensor(gb)?,
    ))
}
