//! Class-index targets shared by `cross_entropy` and `nll_loss`: checking
//! their dtype, shape and values against the input (PyTorch's messages,
//! plus the facts and the fix), and the per-class weights.

use crate::reduce::Lines;
use ferrograd_autograd::Tensor;
use ferrograd_storage::{DType, Error, Result};

/// Validated class-index targets of an input `[N, C, d...]` (or `[C]`).
pub(crate) struct ClassTargets {
    /// The input seen as `[N, C, Π d]` around the class dim.
    pub lines: Lines,
    /// One class per sample (`N · Π d` of them), row-major.
    pub targets: Vec<i64>,
    /// Per-class weights (all 1 when none were given).
    pub weight: Vec<f64>,
    /// The index that marks samples to skip.
    pub ignore_index: i64,
    /// The shape of the per-sample losses (the target's).
    pub shape: Vec<usize>,
}

impl ClassTargets {
    /// The weight of sample `s`'s target class, 0 for an ignored sample.
    pub fn sample_weight(&self, s: usize) -> f64 {
        let t = self.targets[s];
        if t == self.ignore_index {
            0.0
        } else {
            self.weight[t as usize]
        }
    }

    /// `Σ` of the sample weights: the divisor of the `mean` reduction.
    pub fn weight_sum(&self) -> f64 {
        (0..self.targets.len()).map(|s| self.sample_weight(s)).sum()
    }

    /// The `(outer, inner)` position of sample `s` in `lines`.
    pub fn position(&self, s: usize) -> (usize, usize) {
        (s / self.lines.inner, s % self.lines.inner)
    }
}

/// The class dim of an input: 0 for a single sample `[C]`, else 1.
pub(crate) fn class_dim(input: &Tensor) -> usize {
    usize::from(input.dim() > 1)
}

fn shape_error(op: &'static str, input: &Tensor, target: &Tensor, msg: String) -> Error {
    Error::ShapeMismatch {
        op,
        lhs: input.shape().to_vec(),
        rhs: target.shape().to_vec(),
        msg,
    }
}

/// The input must have a class dim.
pub(crate) fn check_input_rank(op: &'static str, input: &Tensor) -> Result<()> {
    if input.dim() == 0 {
        return Err(Error::invalid(
            op,
            "input tensor should be 1D or 2D (or [N, C, d1, ...]), but got a 0-d tensor: the classes go along dim 1, or dim 0 for a single sample",
        ));
    }
    Ok(())
}

fn check_target_dtype(op: &'static str, input: &Tensor, target: &Tensor) -> Result<()> {
    if matches!(target.dtype(), DType::I64 | DType::U8) {
        return Ok(());
    }
    let got = target.dtype().legacy_name();
    Err(Error::DTypeMismatch {
        op,
        expected: DType::I64,
        got: target.dtype(),
        hint: format!(
            "expected scalar type Long but found {got} (expected target dtype to be Long or Byte, but got {got}): class-index targets must be int64; convert them with .long(), or pass class probabilities as a float tensor of the input's shape {:?}.",
            input.shape()
        ),
    })
}

fn check_target_shape(op: &'static str, input: &Tensor, target: &Tensor) -> Result<()> {
    let cd = class_dim(input);
    let expected: Vec<usize> = input
        .shape()
        .iter()
        .enumerate()
        .filter_map(|(d, &s)| (d != cd).then_some(s))
        .collect();
    if target.shape() == expected.as_slice() {
        return Ok(());
    }
    let msg = if input.dim() <= 2 && target.dim() > 1 {
        "0D or 1D target tensor expected, multi-target not supported".to_string()
    } else if input.dim() >= 2 && target.dim() >= 1 && target.shape()[0] != input.shape()[0] {
        format!(
            "Expected input batch_size ({}) to match target batch_size ({}).",
            input.shape()[0],
            target.shape()[0]
        )
    } else {
        format!(
            "Expected target size {expected:?}, got {:?}",
            target.shape()
        )
    };
    Err(shape_error(op, input, target, msg))
}

fn class_weights(op: &'static str, weight: Option<&Tensor>, classes: usize) -> Result<Vec<f64>> {
    let Some(w) = weight else {
        return Ok(vec![1.0; classes]);
    };
    if w.numel() != classes || w.dim() != 1 {
        return Err(Error::ShapeMismatch {
            op,
            lhs: w.shape().to_vec(),
            rhs: vec![classes],
            msg: format!(
                "weight tensor should be defined either for all {classes} classes or no classes but got weight tensor of shape: {:?}",
                w.shape()
            ),
        });
    }
    w.detach().to_dtype(DType::F64)?.to_vec::<f64>()
}

/// Checks `target` against `input` and reads it, with the class weights.
pub(crate) fn class_targets(
    op: &'static str,
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    ignore_index: i64,
) -> Result<ClassTargets> {
    check_input_rank(op, input)?;
    check_target_dtype(op, input, target)?;
    check_target_shape(op, input, target)?;
    let lines = Lines::around(input.shape(), class_dim(input));
    let weight = class_weights(op, weight, lines.n)?;
    let targets = target.to_dtype(DType::I64)?.to_vec::<i64>()?;
    let classes = lines.n as i64;
    if let Some(&t) = targets
        .iter()
        .find(|&&t| t != ignore_index && !(0..classes).contains(&t))
    {
        return Err(Error::invalid(
            op,
            format!("Target {t} is out of bounds. Class indices must be in [0, {classes}) for an input with {classes} classes (dim {} of shape {:?}), or equal ignore_index ({ignore_index}).", class_dim(input), input.shape()),
        ));
    }
    Ok(ClassTargets {
        lines,
        targets,
        weight,
        ignore_index,
        shape: target.shape().to_vec(),
    })
}
