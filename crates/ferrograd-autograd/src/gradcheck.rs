//! [`gradcheck`]: compares the gradients backward computes with central
//! finite differences, in `f64`, for every output element and every input
//! element. Every differentiable op's tests use it.

use crate::engine::{grad, GradOptions};
use crate::grad_mode::no_grad;
use crate::Tensor;
use ferrograd_storage::{DType, Error, Result};

/// Tolerances and step of [`gradcheck_with`].
///
/// ```
/// use ferrograd_autograd::GradcheckOptions;
/// let o = GradcheckOptions::default();
/// assert_eq!((o.eps, o.atol, o.rtol), (1e-6, 1e-5, 1e-3));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    /// PyTorch's defaults: `eps=1e-6, atol=1e-5, rtol=1e-3`.
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// Checks `f`'s analytical gradients against finite differences with
/// tolerances `atol + rtol * |numerical|`. Inputs that require grad must be
/// `f64`; others (index tensors, say) are passed through unchanged. Returns
/// an error naming the output, input and element on the first mismatch.
///
/// ```
/// use ferrograd_autograd::{gradcheck, Tensor};
/// let x = Tensor::from_vec(vec![0.5f64, -1.5, 2.0], &[3])?.requires_grad_(true)?;
/// let y = Tensor::from_vec(vec![1.0f64, 3.0, -2.0], &[3])?.requires_grad_(true)?;
/// gradcheck(|t| t[0].try_mul(&t[1])?.try_div(&t[1].try_add(5.0)?), &[x, y], 1e-6, 1e-5, 1e-3)?;
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn gradcheck(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    eps: f64,
    atol: f64,
    rtol: f64,
) -> Result<()> {
    gradcheck_with(f, inputs, GradcheckOptions { eps, atol, rtol })
}

/// [`gradcheck`] with options in a struct.
///
/// ```
/// use ferrograd_autograd::{gradcheck_with, GradcheckOptions, Tensor};
/// let x = Tensor::from_vec(vec![1.5f64, -2.0], &[2])?.requires_grad_(true)?;
/// let opts = GradcheckOptions { atol: 1e-4, ..Default::default() };
/// gradcheck_with(|t| t[0].try_mul(&t[0]), &[x.clone()], opts)?;
/// // A backward that forgets the factor 2 of x² is caught:
/// let bad = gradcheck_with(|t| Ok(t[0].try_mul(&t[0])?.detach().with_grad_fn("Bad", &[&t[0]], &[], |g| Ok(vec![Some(g.clone())]))), &[x], opts);
/// assert!(bad.unwrap_err().to_string().starts_with("Jacobian mismatch"));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn gradcheck_with(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    opts: GradcheckOptions,
) -> Result<()> {
    for (i, x) in inputs.iter().enumerate() {
        if x.requires_grad() && x.dtype() != DType::F64 {
            return Err(Error::invalid(
                "gradcheck",
                format!("input {i} requires grad but is {}; gradcheck needs float64 inputs. Use .double() first.", x.dtype()),
            ));
        }
    }
    // Fresh leaves, so the check never touches the caller's .grad.
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|x| {
            let copy = x.detach().contiguous_owned()?;
            if x.requires_grad() {
                copy.requires_grad_(true)
            } else {
                Ok(copy)
            }
        })
        .collect::<Result<_>>()?;
    let wrt: Vec<usize> = (0..leaves.len())
        .filter(|&i| leaves[i].requires_grad())
        .collect();
    let out = f(&leaves)?;
    let analytical = analytical_jacobian(&out, &leaves, &wrt)?;
    for (w, &i) in wrt.iter().enumerate() {
        let numerical = numerical_jacobian(&f, &leaves, i, opts.eps, out.numel())?;
        for (k, column) in numerical.iter().enumerate() {
            for (j, &n) in column.iter().enumerate() {
                let a = analytical[j][w][k];
                let close = (a - n).abs() <= opts.atol + opts.rtol * n.abs();
                if !close {
                    return Err(Error::Autograd(format!(
                        "Jacobian mismatch for output 0 (element {j}) with respect to input {i} (element {k}): numerical {n:.8}, analytical {a:.8} (atol {}, rtol {})",
                        opts.atol, opts.rtol
                    )));
                }
            }
        }
    }
    Ok(())
}

/// `[output element][input among wrt][input element]` from one backward per output element.
fn analytical_jacobian(
    out: &Tensor,
    leaves: &[Tensor],
    wrt: &[usize],
) -> Result<Vec<Vec<Vec<f64>>>> {
    if out.dtype() != DType::F64 {
        return Err(Error::invalid(
            "gradcheck",
            format!("the function must return float64, got {}", out.dtype()),
        ));
    }
    let inputs: Vec<Tensor> = wrt.iter().map(|&i| leaves[i].clone()).collect();
    let n = out.numel();
    let mut rows = Vec::with_capacity(n);
    for j in 0..n {
        let mut onehot = vec![0.0f64; n];
        onehot[j] = 1.0;
        let g = Tensor::from_vec(onehot, out.shape())?;
        let opts = GradOptions {
            grad_outputs: Some(vec![g]),
            retain_graph: Some(true),
            allow_unused: true,
            ..Default::default()
        };
        let grads = if out.requires_grad() {
            grad(std::slice::from_ref(out), &inputs, opts)?
        } else {
            vec![None; inputs.len()]
        };
        let row = grads
            .iter()
            .zip(&inputs)
            .map(|(g, x)| match g {
                Some(g) => g.to_vec::<f64>(),
                None => Ok(vec![0.0; x.numel()]),
            })
            .collect::<Result<Vec<_>>>()?;
        rows.push(row);
    }
    Ok(rows)
}

/// `[input element][output element]` by central differences on input `i`.
fn numerical_jacobian(
    f: &impl Fn(&[Tensor]) -> Result<Tensor>,
    leaves: &[Tensor],
    i: usize,
    eps: f64,
    n_out: usize,
) -> Result<Vec<Vec<f64>>> {
    let _guard = no_grad();
    let base = leaves[i].to_vec::<f64>()?;
    let shape = leaves[i].shape().to_vec();
    let eval = |k: usize, delta: f64| -> Result<Vec<f64>> {
        let mut data = base.clone();
        data[k] += delta;
        let mut args = leaves.to_vec();
        args[i] = Tensor::from_vec(data, &shape)?;
        let out = f(&args)?;
        if out.numel() != n_out {
            return Err(Error::invalid(
                "gradcheck",
                "the function's output changed size under perturbation",
            ));
        }
        out.to_vec::<f64>()
    };
    (0..base.len())
        .map(|k| {
            let (plus, minus) = (eval(k, eps)?, eval(k, -eps)?);
            Ok(plus
                .iter()
                .zip(&minus)
                .map(|(p, m)| (p - m) / (2.0 * eps))
                .collect())
        })
        .collect()
}
