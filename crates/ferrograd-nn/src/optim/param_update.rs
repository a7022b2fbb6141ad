//! The fused in-place update every optimizer runs on one parameter: one loop
//! over the parameter's buffer, its gradient and its state buffers together,
//! split across rayon's threads for large parameters, with the parameter's
//! version counter bumped as any in-place op does.

use super::check_params;
use ferrograd_autograd::{no_grad, DType, Error, Result, Tensor};
use ferrograd_storage::cpu::{copy_into_strided, gather_contiguous, PARALLEL_THRESHOLD};
use ferrograd_storage::{CpuBuffer, FloatElement, Layout};
use rayon::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// What an optimizer keeps for one parameter between steps: how many updates
/// it has had and its state buffers (momentum, moments), each the
/// parameter's size in row-major order.
///
/// ```
/// use ferrograd_nn::optim::ParamState;
/// let s = ParamState::default();
/// assert_eq!(s.step(), 0);
/// assert!(s.buffers().is_empty());
/// ```
#[derive(Debug, Default, Clone)]
pub struct ParamState {
    step: u64,
    buffers: Vec<CpuBuffer>,
}

impl ParamState {
    /// The number of updates applied so far (PyTorch's `state["step"]`).
    ///
    /// ```
    /// use ferrograd_nn::optim::{Optimizer, SgdConfig, SGD};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
    /// let mut opt = SGD::new(vec![w.clone()], SgdConfig::new())?;
    /// opt.step()?; // no gradient yet: nothing updated
    /// w.set_grad(Some(Tensor::from_vec(vec![1.0f32], &[1])?))?;
    /// opt.step()?;
    /// assert_eq!(opt.state()[0].step(), 1);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The state buffers, in the order the optimizer documents (empty before
    /// the first update).
    ///
    /// ```
    /// use ferrograd_nn::optim::{Adam, AdamConfig, Optimizer};
    /// use ferrograd_autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f64, 1.0], &[2])?.requires_grad_(true)?;
    /// let mut opt = Adam::new(vec![w.clone()], AdamConfig::new())?;
    /// w.set_grad(Some(Tensor::from_vec(vec![1.0f64, -2.0], &[2])?))?;
    /// opt.step()?;
    /// let m = opt.state()[0].buffers()[0].as_slice::<f64>().unwrap(); // m = (1 - beta1) * g
    /// assert!((m[0] - 0.1).abs() < 1e-12 && (m[1] + 0.2).abs() < 1e-12);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn buffers(&self) -> &[CpuBuffer] {
        &self.buffers
    }
}

/// An optimizer's parameters with their states, in the order given.
pub(crate) struct ParamSet {
    params: Vec<Tensor>,
    state: Vec<ParamState>,
}

impl ParamSet {
    /// Checks `params` as `torch.optim.Optimizer` does (see [`check_params`]).
    pub(crate) fn new(optimizer: &'static str, params: Vec<Tensor>) -> Result<Self> {
        let params = check_params(optimizer, params)?;
        let state = vec![ParamState::default(); params.len()];
        Ok(ParamSet { params, state })
    }

    pub(crate) fn tensors(&self) -> &[Tensor] {
        &self.params
    }

    pub(crate) fn state(&self) -> &[ParamState] {
        &self.state
    }

    /// Under `no_grad`, updates every parameter that has a gradient with the
    /// rule `rule_for` builds from its state (before this update).
    pub(crate) fn update_each<U: FusedUpdate>(
        &mut self,
        rule_for: impl Fn(&ParamState) -> U,
    ) -> Result<()> {
        let _guard = no_grad();
        for (p, state) in self.params.iter().zip(&mut self.state) {
            let Some(grad) = p.grad() else { continue };
            let rule = rule_for(state);
            update_param(p, &grad, state, &rule)?;
        }
        Ok(())
    }
}

/// One step's elementwise rule: reads the gradient, updates the parameter
/// and `state` in place. `state` holds [`state_len`](Self::state_len)
/// slices covering the same elements as `p` and `g`.
pub(crate) trait FusedUpdate: Sync {
    /// How many state buffers a parameter needs (zeroed before its first step).
    fn state_len(&self) -> usize;

    /// Applies the rule to a run of elements. Implementations are
    /// `#[inline(always)]` so that `apply_fast` can compile them for AVX2.
    fn apply<T: FloatElement>(&self, p: &mut [T], g: &[T], state: &mut [&mut [T]]);
}

/// Runs `rule` on `param` with `grad`, under the in-place rules (no two
/// elements sharing memory), and bumps the parameter's version counter.
/// Counts the update in `state.step`.
fn update_param<U: FusedUpdate>(
    param: &Tensor,
    grad: &Tensor,
    state: &mut ParamState,
    rule: &U,
) -> Result<()> {
    param.check_inplace()?;
    if grad.dtype() != param.dtype() || grad.shape() != param.shape() {
        return Err(Error::invalid(
            "optimizer step",
            format!(
                "the gradient ({:?}, {}) does not match its parameter ({:?}, {}); assign grads with set_grad so they match",
                grad.shape(),
                grad.dtype(),
                param.shape(),
                param.dtype()
            ),
        ));
    }
    if state.buffers.len() != rule.state_len() {
        state.buffers = (0..rule.state_len())
            .map(|_| CpuBuffer::zeros(param.dtype(), param.numel()))
            .collect();
    }
    if param.device().is_cuda() {
        // The fused rule runs on host copies; the result is copied back.
        let host = param.detach().cpu()?;
        update_param(&host, &grad.cpu()?, state, rule)?;
        param.detach().copy_(&host)?;
        return Ok(());
    }
    match param.dtype() {
        DType::F32 => update_typed::<f32, U>(param, grad, &mut state.buffers, rule)?,
        DType::F64 => update_typed::<f64, U>(param, grad, &mut state.buffers, rule)?,
        other => {
            return Err(Error::UnsupportedDType {
                op: "optimizer step",
                dtype: other,
                hint: "optimizers update floating-point parameters only".into(),
            })
        }
    }
    param.storage().bump_version();
    state.step += 1;
    Ok(())
}

fn update_typed<T: FloatElement, U: FusedUpdate>(
    param: &Tensor,
    grad: &Tensor,
    buffers: &mut [CpuBuffer],
    rule: &U,
) -> Result<()> {
    let n = param.numel();
    let grad_guard = grad.storage().read()?;
    let grad_all = grad_guard.as_slice::<T>().unwrap();
    let gathered;
    let g = match grad.layout().contiguous_offset() {
        Some(start) => &grad_all[start..start + n],
        None => {
            gathered = gather_contiguous(grad_all, grad.layout());
            &gathered[..]
        }
    };
    let mut state: Vec<&mut [T]> = buffers
        .iter_mut()
        .map(|b| b.as_mut_slice::<T>().unwrap())
        .collect();
    let mut guard = param.storage().write()?;
    let data = guard.as_mut_slice::<T>().unwrap();
    match param.layout().contiguous_offset() {
        Some(start) => run_chunked(rule, &mut data[start..start + n], g, &mut state),
        None => {
            let mut p = gather_contiguous(data, param.layout());
            run_chunked(rule, &mut p, g, &mut state);
            copy_into_strided(data, param.layout(), &p, &Layout::contiguous(param.shape()));
        }
    }
    Ok(())
}

/// Applies `rule` to the whole range, in parallel chunks when it is large.
fn run_chunked<T: FloatElement, U: FusedUpdate>(
    rule: &U,
    p: &mut [T],
    g: &[T],
    state: &mut [&mut [T]],
) {
    if p.len() < PARALLEL_THRESHOLD {
        apply_fast(rule, p, g, state);
        return;
    }
    let mut state_chunks: Vec<_> = state.iter_mut().map(|s| s.chunks_mut(CHUNK)).collect();
    let jobs: Vec<_> = p
        .chunks_mut(CHUNK)
        .zip(g.chunks(CHUNK))
        .map(|(pc, gc)| {
            let sc: Vec<&mut [T]> = state_chunks
                .iter_mut()
                .map(|it| it.next().unwrap())
                .collect();
            (pc, gc, sc)
        })
        .collect();
    jobs.into_par_iter()
        .for_each(|(pc, gc, mut sc)| apply_fast(rule, pc, gc, &mut sc));
}

ferrograd_storage::simd_loop! {
    /// `rule.apply`, run from a copy compiled for AVX2 and FMA when the CPU
    /// has them, so the rule's loops use 256-bit vectors (same IEEE results:
    /// Rust never fuses `a * b + c` on its own).
    fn apply_fast<T, U>(rule: &U, p: &mut [T], g: &[T], state: &mut [&mut [T]])
    where T: FloatElement, U: FusedUpdate {
        rule.apply(p, g, state)
    }
}
