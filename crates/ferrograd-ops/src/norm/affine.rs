//! What batch and layer normalisation share: the checks on the optional
//! affine parameters, and the backward rule written with differentiable ops
//! (used when the backward itself is recorded, `create_graph`).

use crate::unary::UnaryOps;
use ferrograd_autograd::{is_grad_enabled, SavedTensor, Tensor};
use ferrograd_storage::{Error, Result};

/// The dims a normalisation reduces, and how its parameters line up.
pub(crate) struct NormSpec {
    /// Dims the statistics are taken over.
    pub stat_dims: Vec<isize>,
    /// Dims the parameter gradients are summed over.
    pub param_dims: Vec<isize>,
    /// The shape the parameters are viewed as to broadcast against the input.
    pub param_view: Vec<isize>,
    /// The parameters' own shape.
    pub param_shape: Vec<isize>,
}

/// Errors unless `param` (if given) has `expected` elements.
pub(crate) fn check_param(
    op: &'static str,
    name: &str,
    param: Option<&Tensor>,
    expected: usize,
) -> Result<()> {
    match param {
        Some(p) if p.numel() != expected => Err(Error::ShapeMismatch {
            op,
            lhs: p.shape().to_vec(),
            rhs: vec![expected],
            msg: format!(
                "{name} should contain {expected} elements not {}",
                p.numel()
            ),
        }),
        _ => Ok(()),
    }
}

/// Gradients of `y = x̂ · w + b`, `x̂ = (x - mean) / sqrt(var + eps)` with
/// the statistics over `spec.stat_dims`, for `(x, w, b)`, with ops that
/// record their own graph.
pub(crate) fn composite_backward(
    g: &Tensor,
    x: &Tensor,
    weight: Option<&Tensor>,
    eps: f64,
    spec: &NormSpec,
) -> Result<(Tensor, Option<Tensor>, Tensor)> {
    let dims = &spec.stat_dims;
    let centered = x.try_sub(&x.mean_dims(dims, true)?)?;
    let var = centered.try_mul(&centered)?.mean_dims(dims, true)?;
    let invstd = var.try_add(eps)?.rsqrt()?;
    let xhat = centered.try_mul(&invstd)?;
    let gxhat = match weight {
        Some(w) => g.try_mul(&w.reshape(&spec.param_view)?)?,
        None => g.clone(),
    };
    let gx = gxhat
        .try_sub(&gxhat.mean_dims(dims, true)?)?
        .try_sub(&xhat.try_mul(&gxhat.try_mul(&xhat)?.mean_dims(dims, true)?)?)?
        .try_mul(&invstd)?;
    let param_grad = |t: Tensor| -> Result<Tensor> {
        let s = if spec.param_dims.is_empty() {
            t
        } else {
            t.sum_dims(&spec.param_dims, false)?
        };
        s.reshape(&spec.param_shape)
    };
    let gw = weight.map(|_| param_grad(g.try_mul(&xhat)?)).transpose()?;
    let gb = param_grad(g.clone())?;
    Ok((gx, gw, gb))
}

/// The gradients `(x, weight, bias)` of a normalisation.
pub(crate) type AffineGrads = (Tensor, Option<Tensor>, Tensor);

/// Records `out`, a normalisation of `x` with the optional `weight` and
/// `bias`: its backward takes the gradients from [`composite_backward`] when
/// it is itself recorded (`create_graph`), from `fused(g, x)` otherwise.
pub(crate) fn record_affine(
    out: Tensor,
    name: &'static str,
    [x, weight, bias]: [Option<&Tensor>; 3],
    eps: f64,
    spec: NormSpec,
    fused: impl Fn(&Tensor, &Tensor) -> Result<AffineGrads> + Send + Sync + 'static,
) -> Tensor {
    let inputs: Vec<&Tensor> = [x, weight, bias].into_iter().flatten().collect();
    if !Tensor::needs_grad(&inputs) {
        return out;
    }
    let sx = SavedTensor::input(inputs[0]);
    let sw = weight.map(SavedTensor::input);
    let (has_w, has_b) = (weight.is_some(), bias.is_some());
    let saved: Vec<&SavedTensor> = std::iter::once(&sx).chain(sw.as_ref()).collect();
    out.with_grad_fn(name, &inputs, &saved, {
        let (sx, sw) = (sx.clone(), sw.clone());
        move |g| {
            let x = sx.unpack()?;
            let (gx, gw, gb) = if is_grad_enabled() {
                let w = sw.as_ref().map(SavedTensor::unpack).transpose()?;
                composite_backward(g, &x, w.as_ref(), eps, &spec)?
            } else {
                fused(g, &x)?
            };
            let mut grads = vec![Some(gx)];
            if has_w {
                grads.push(gw);
            }
            if has_b {
                grads.push(Some(gb));
            }
            Ok(grads)
        }
    })
}
