//! The CUDA backend (`--features cuda`). Tests that need a GPU are gated:
//! without a driver and a device they print why they are skipped and pass.
//! Everything else — the errors a machine without CUDA gives, the device
//! rules, the host paths refusing device memory — runs everywhere, using a
//! stand-in device buffer that keeps its data on the host.
#![cfg(feature = "cuda")]

use ferrograd::nn::optim::{Optimizer, SgdConfig, SGD};
use ferrograd::ops::conv::conv2d;
use ferrograd::ops::unary::GeluApproximate;
use ferrograd::prelude::*;

use ferrograd_storage::{CpuBuffer, DType, DeviceBuffer, Layout, Storage};
use std::io::Write;
use std::sync::Arc;

/// A "device" buffer that lives on the host: lets the device rules be
/// tested without a GPU. Kernels don't know it, so ops on it must error.
#[derive(Debug)]
struct HostBacked(CpuBuffer);

impl DeviceBuffer for HostBacked {
    fn device(&self) -> Device {
        Device::Cuda(0)
    }
    fn dtype(&self) -> DType {
        self.0.dtype()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn to_host(&self) -> Result<CpuBuffer> {
        Ok(self.0.clone())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn fake_gpu_tensor(values: Vec<f32>, shape: &[usize]) -> Tensor {
    fake_gpu(CpuBuffer::F32(values), shape)
}

fn fake_gpu(buffer: CpuBuffer, shape: &[usize]) -> Tensor {
    let storage = Storage::from_device(Arc::new(HostBacked(buffer)));
    Tensor::from_parts(storage, Layout::contiguous(shape)).unwrap()
}

/// The error of a GPU kernel handed the stand-in's memory: proof that the
/// op dispatched to its GPU path (a host path gives `NotOnHost`).
fn reached_a_kernel(r: Result<impl std::fmt::Debug>) -> bool {
    let e = r.unwrap_err();
    e.to_string().contains("not ferrograd-cuda device memory")
}

/// `Some(reason)` when the GPU tests can't run here.
fn skip_reason() -> Option<String> {
    match Device::Cuda(0).check_available() {
        Ok(()) => None,
        Err(e) => {
            // Written to the stderr handle, which the test harness doesn't capture.
            let _ = writeln!(std::io::stderr(), "SKIPPED GPU test (no usable GPU): {e}");
            Some(e.to_string())
        }
    }
}

#[test]
fn without_a_driver_cuda_is_an_error_and_cuda_if_available_falls_back() -> Result<()> {
    if Device::is_cuda_available() {
        let _ = writeln!(
            std::io::stderr(),
            "a GPU is present: the no-driver path is not exercised here"
        );
        return Ok(());
    }
    let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    for e in [
        t.cuda().unwrap_err(),
        t.to_device(Device::Cuda(3)).unwrap_err(),
    ] {
        assert!(matches!(e, Error::CudaNotAvailable { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.starts_with("CUDA is not available: "), "{msg}");
        assert!(msg.ends_with("Use Device::cuda_if_available(0) to fall back to the CPU."));
        assert!(!msg.contains("built without the `cuda` feature"), "{msg}");
    }
    assert_eq!(Device::cuda_if_available(0), Device::Cpu);
    assert!(t.to_device(Device::cuda_if_available(0))?.same_tensor(&t));
    // The backend's entry points give the same error instead of panicking in cudarc.
    let e = ferrograd_cuda::upload(&CpuBuffer::F32(vec![1.0]), 0).unwrap_err();
    assert!(matches!(e, Error::CudaNotAvailable { .. }), "{e:?}");
    Ok(())
}

#[test]
fn mixing_devices_is_pytorchs_error() {
    let gpu = fake_gpu_tensor(vec![1.0, 2.0], &[2]);
    let cpu = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    let want = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!";
    assert_eq!(gpu.try_add(&cpu).unwrap_err().to_string(), want);
    assert_eq!(gpu.try_mul(&cpu).unwrap_err().to_string(), want);
    assert_eq!(gpu.matmul(&cpu).unwrap_err().to_string(), want);
    let reversed = cpu.try_sub(&gpu).unwrap_err().to_string();
    assert!(reversed.ends_with("cpu and cuda:0!"), "{reversed}");
}

#[test]
fn numpy_refuses_a_gpu_tensor_and_the_copies_work() -> Result<()> {
    let gpu = fake_gpu_tensor(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(gpu.device(), Device::Cuda(0));
    let e = gpu.numpy::<f32>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first."
    );
    // A transposed view comes back row-major, as a naive loop reads it.
    let t = gpu.t()?;
    let mut expected = Vec::new();
    for c in 0..3 {
        for r in 0..2 {
            expected.push((r * 3 + c + 1) as f32);
        }
    }
    assert_eq!(
        t.numpy_force::<f32>()?.iter().copied().collect::<Vec<_>>(),
        expected
    );
    assert_eq!(t.to_vec::<f32>()?, expected);
    assert_eq!(gpu.to_ndarray::<f32>()?.shape(), &[2, 3]);
    Ok(())
}

#[test]
fn host_paths_refuse_device_memory_instead_of_panicking() {
    let gpu = fake_gpu_tensor(vec![1.0, -2.0], &[2]);
    let e = gpu.storage().read().unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotOnHost {
                device: Device::Cuda(0)
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("it is on cuda:0"), "{e}");
    // Ops with and without a CUDA kernel, and in-place writes: errors, not
    // panics (a kernel refuses memory that is not its backend's).
    let refused = |e: Error| {
        matches!(e, Error::NotOnHost { .. })
            || e.to_string().contains("not ferrograd-cuda device memory")
    };
    assert!(matches!(gpu.prod().unwrap_err(), Error::NotOnHost { .. }));
    assert!(refused(gpu.abs().unwrap_err()));
    assert!(refused(gpu.zero_().unwrap_err()));
    let other = fake_gpu_tensor(vec![3.0, 4.0], &[2]);
    assert!(refused(gpu.add_(&other).unwrap_err()));
    assert_eq!(gpu.to_vec::<f32>().unwrap(), vec![1.0, -2.0]);
    assert!(matches!(
        gpu.numpy_mut::<f32>().unwrap_err(),
        Error::NumpyOnDevice { .. }
    ));
}

/// Runs `f` on CPU inputs and on their GPU copies and compares.
fn same_on_both(inputs: &[&Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<()> {
    let cpu = f(&inputs.iter().map(|&t| t.clone()).collect::<Vec<_>>())?;
    let gpu_inputs: Vec<Tensor> = inputs.iter().map(|t| t.cuda()).collect::<Result<_>>()?;
    let gpu = f(&gpu_inputs)?;
    assert_eq!(gpu.device(), Device::Cuda(0));
    assert_eq!(gpu.shape(), cpu.shape());
    assert_eq!(gpu.dtype(), cpu.dtype());
    assert_close(
        &cpu.to_dtype(DType::F64)?.to_vec::<f64>()?,
        &gpu.cpu()?.to_dtype(DType::F64)?.to_vec::<f64>()?,
    );
    Ok(())
}

/// CPU and GPU values agree to a relative 1e-4 (NaN where the CPU has NaN).
fn assert_close(cpu: &[f64], gpu: &[f64]) {
    assert_eq!(cpu.len(), gpu.len());
    for (x, y) in cpu.iter().zip(gpu) {
        let same = (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-4 * (1.0 + x.abs());
        assert!(same, "cpu {x} vs gpu {y}");
    }
}

#[test]
fn gpu_op_suite_matches_the_cpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(0);
    let a = Tensor::randn(&[4, 5], DType::F32)?;
    let b = Tensor::randn(&[5], DType::F32)?;
    let m = Tensor::randn(&[5, 3], DType::F32)?;
    let i = Tensor::arange(0, 20)?.reshape(&[4, 5])?;
    same_on_both(&[&a, &b], |t| t[0].try_add(&t[1]))?;
    same_on_both(&[&a, &b], |t| t[0].try_sub(&t[1]))?;
    same_on_both(&[&a, &b], |t| t[0].try_mul(&t[1]))?;
    same_on_both(&[&a, &b], |t| t[0].try_div(&t[1]))?;
    same_on_both(&[&a], |t| t[0].t()?.try_mul(2.5))?;
    same_on_both(&[&a], |t| t[0].try_neg())?;
    same_on_both(&[&a], |t| t[0].sum())?;
    same_on_both(&[&a], |t| t[0].sum_dims(&[0], false))?;
    same_on_both(&[&a], |t| t[0].mean_dims(&[-1], true))?;
    same_on_both(&[&i], |t| t[0].sum_dims(&[1], false))?;
    same_on_both(&[&i], |t| t[0].try_add(1.5))?;
    same_on_both(&[&a, &m], |t| t[0].matmul(&t[1]))?;
    same_on_both(&[&a, &m], |t| t[0].t()?.t()?.matmul(&t[1].contiguous()?))?;
    same_on_both(&[&a], |t| t[0].to_dtype(DType::F64))?;
    Ok(())
}

#[test]
fn gpu_gradients_match_the_cpu_and_live_on_the_gpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(1);
    let a = Tensor::randn(&[3, 4], DType::F32)?;
    let w = Tensor::randn(&[4, 2], DType::F32)?;
    let grads = |a: &Tensor, w: &Tensor| -> Result<(Vec<f32>, Vec<f32>, Device)> {
        let (a, w) = (a.requires_grad_(true)?, w.requires_grad_(true)?);
        let y = a.matmul(&w)?.try_mul(&a.sum_dims(&[1], true)?)?.mean()?;
        y.backward()?;
        let (ga, gw) = (a.grad().unwrap(), w.grad().unwrap());
        Ok((ga.to_vec()?, gw.to_vec()?, gw.device()))
    };
    let (ca, cw, _) = grads(&a, &w)?;
    let (ga, gw, device) = grads(&a.cuda()?.detach(), &w.cuda()?.detach())?;
    assert_eq!(device, Device::Cuda(0));
    for (x, y) in ca.iter().zip(&ga).chain(cw.iter().zip(&gw)) {
        assert!(
            (x - y).abs() <= 1e-4 * (1.0 + x.abs()),
            "cpu {x} vs gpu {y}"
        );
    }
    Ok(())
}

#[test]
fn gpu_tensors_dispatch_to_the_gpu_paths_of_reductions_and_losses() {
    let x = fake_gpu_tensor(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0], &[2, 3]);
    assert!(reached_a_kernel(x.max_dim(1, false)));
    assert!(reached_a_kernel(x.amax(&[0], true)));
    assert!(reached_a_kernel(x.argmax(None, false)));
    assert!(reached_a_kernel(x.min()));
    assert!(reached_a_kernel(x.softmax(1)));
    assert!(reached_a_kernel(x.log_softmax(0)));
    let target = fake_gpu(CpuBuffer::I64(vec![1, 2]), &[2]);
    assert!(reached_a_kernel(cross_entropy(
        &x,
        &target,
        CrossEntropyOptions::default()
    )));
    assert!(reached_a_kernel(nll_loss(
        &x,
        &target,
        NllLossOptions::default()
    )));
}

#[test]
fn gpu_losses_check_targets_and_dtypes_first_with_pytorchs_errors() {
    let x = fake_gpu_tensor(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0], &[2, 3]);
    // Targets are checked (read back to the host) before any kernel runs.
    let bad = fake_gpu(CpuBuffer::I64(vec![1, 7]), &[2]);
    let e = cross_entropy(&x, &bad, CrossEntropyOptions::default()).unwrap_err();
    assert!(e.to_string().contains("Target 7 is out of bounds."), "{e}");
    let on_cpu = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let e = cross_entropy(&x, &on_cpu, CrossEntropyOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
    );
    let ints = fake_gpu(CpuBuffer::I64(vec![1, 2, 3]), &[3]);
    let e = ints.softmax(0).unwrap_err();
    assert!(e.to_string().contains("not implemented for 'Long'"), "{e}");
    let e = nll_loss(
        &fake_gpu(CpuBuffer::I64(vec![1, 2]), &[1, 2]),
        &fake_gpu(CpuBuffer::I64(vec![0]), &[1]),
        NllLossOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not implemented for 'Long'"), "{e}");
    let empty = fake_gpu_tensor(vec![], &[2, 0]);
    let e = empty.max_dim(1, false).unwrap_err();
    assert!(
        e.to_string()
            .contains("Expected reduction dim 1 to have non-zero size"),
        "{e}"
    );
}

/// The gradients of `f(inputs).sum()` w.r.t. every input, as f64 on the host.
fn grads_of(inputs: &[Tensor], f: &dyn Fn(&[Tensor]) -> Result<Tensor>) -> Result<Vec<Vec<f64>>> {
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().requires_grad_(true))
        .collect::<Result<_>>()?;
    f(&leaves)?.sum()?.backward()?;
    leaves
        .iter()
        .map(|t| {
            let g = t.grad().expect("a gradient");
            assert_eq!(
                g.device(),
                t.device(),
                "the gradient lives on its tensor's device"
            );
            g.cpu()?.to_dtype(DType::F64)?.to_vec::<f64>()
        })
        .collect()
}

/// Like `same_on_both`, for the gradients of floating inputs.
fn same_grads_on_both(inputs: &[&Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<()> {
    let cpu: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
    let gpu: Vec<Tensor> = inputs.iter().map(|t| t.cuda()).collect::<Result<_>>()?;
    for (c, g) in grads_of(&cpu, &f)?.iter().zip(grads_of(&gpu, &f)?) {
        assert_close(c, &g);
    }
    Ok(())
}

#[test]
fn gpu_reductions_softmax_and_losses_match_the_cpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(2);
    let x = Tensor::randn(&[5, 7], DType::F32)?;
    let big = Tensor::randn(&[3, 1000], DType::F64)?; // rows longer than a block
    let nan = Tensor::from_vec(vec![1.0f32, f32::NAN, 3.0, 3.0, 2.0, 3.0], &[2, 3])?;
    let ints = Tensor::from_vec(vec![3i64, 9, 9, -2, 0, 9], &[2, 3])?;
    for t in [&x, &nan] {
        same_on_both(&[t], |t| t[0].max_dim(1, false).map(|r| r.0))?;
        same_on_both(&[t], |t| t[0].max_dim(1, true).map(|r| r.1))?;
        same_on_both(&[t], |t| t[0].min_dim(0, false).map(|r| r.1))?;
        same_on_both(&[t], |t| t[0].argmax(None, false))?;
        same_on_both(&[t], |t| t[0].t()?.argmin(Some(-1), true))?;
        same_on_both(&[t], |t| t[0].amax(&[0, 1], false))?;
        same_on_both(&[t], |t| t[0].max())?;
    }
    same_on_both(&[&ints], |t| t[0].argmax(Some(1), false))?;
    same_on_both(&[&ints], |t| t[0].min())?;
    same_on_both(&[&big], |t| t[0].max_dim(1, false).map(|r| r.1))?;
    same_on_both(&[&big], |t| t[0].softmax(1))?;
    same_on_both(&[&x], |t| t[0].softmax(0))?;
    same_on_both(&[&x], |t| t[0].t()?.log_softmax(-1))?;
    same_grads_on_both(&[&x], |t| t[0].max_dim(1, false).map(|r| r.0))?;
    same_grads_on_both(&[&x], |t| t[0].amax(&[0], false))?;
    same_grads_on_both(&[&x], |t| t[0].softmax(1)?.try_mul(&t[0]))?;
    same_grads_on_both(&[&x], |t| t[0].log_softmax(0)?.try_mul(&t[0]))?;

    let target = Tensor::from_vec(vec![0i64, 6, 3, -100, 2], &[5])?;
    let weight = Tensor::rand(&[7], DType::F32)?;
    let gpu_target = target.cuda()?;
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        for (w, ls) in [
            (None, 0.0),
            (Some(weight.clone()), 0.0),
            (Some(weight.clone()), 0.2),
        ] {
            let opts = CrossEntropyOptions {
                weight: w.clone(),
                reduction,
                label_smoothing: ls,
                ..Default::default()
            };
            let on = |x: &Tensor| {
                let t = if x.device().is_cuda() {
                    &gpu_target
                } else {
                    &target
                };
                let opts = CrossEntropyOptions {
                    weight: opts
                        .weight
                        .as_ref()
                        .map(|w| w.to_device(x.device()))
                        .transpose()?,
                    ..opts.clone()
                };
                cross_entropy(x, t, opts)
            };
            same_on_both(&[&x], |t| on(&t[0]))?;
            same_grads_on_both(&[&x], |t| on(&t[0]))?;
            let nll = |x: &Tensor| {
                let t = if x.device().is_cuda() {
                    &gpu_target
                } else {
                    &target
                };
                let w = w.as_ref().map(|w| w.to_device(x.device())).transpose()?;
                nll_loss(
                    &x.log_softmax(1)?,
                    t,
                    NllLossOptions {
                        weight: w,
                        reduction,
                        ..Default::default()
                    },
                )
            };
            same_on_both(&[&x], |t| nll(&t[0]))?;
            same_grads_on_both(&[&x], |t| nll(&t[0]))?;
        }
    }
    // [N, C, d] inputs, and class probabilities.
    let x3 = Tensor::randn(&[2, 4, 3], DType::F64)?;
    let t3 = Tensor::from_vec(vec![0i64, 3, 1, 2, 2, 0], &[2, 3])?;
    same_grads_on_both(&[&x3], |t| {
        let tt = t3.to_device(t[0].device())?;
        cross_entropy(&t[0], &tt, CrossEntropyOptions::default())
    })?;
    let probs = Tensor::rand(&[5, 7], DType::F32)?.softmax(1)?;
    same_grads_on_both(&[&x], |t| {
        let p = probs.to_device(t[0].device())?;
        cross_entropy(&t[0], &p, CrossEntropyOptions::default())
    })?;
    Ok(())
}

/// Needs the `unary.rs` hooks (crates/ferrograd-ops/src/cuda/unary.rs).
#[test]
fn gpu_unary_ops_and_their_gradients_match_the_cpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(3);
    let x = Tensor::randn(&[4, 6], DType::F32)?;
    let pos = Tensor::rand(&[4, 6], DType::F64)?.try_add(0.1)?;
    let ints = Tensor::from_vec(vec![-3i64, 0, 2, 5], &[2, 2])?;
    type Op = fn(&Tensor) -> Result<Tensor>;
    let ops: [(&str, Op); 11] = [
        ("exp", |t| t.exp()),
        ("tanh", |t| t.tanh()),
        ("sigmoid", |t| t.sigmoid()),
        ("sin", |t| t.sin()),
        ("cos", |t| t.cos()),
        ("erf", |t| t.erf()),
        ("abs", |t| t.abs()),
        ("relu", |t| t.relu()),
        ("silu", |t| t.silu()),
        ("gelu", |t| t.gelu()),
        ("leaky_relu", |t| t.leaky_relu(0.1)),
    ];
    for (name, op) in ops {
        eprintln!("checking {name}");
        same_on_both(&[&x], |t| op(&t[0].t()?))?;
        same_grads_on_both(&[&x], |t| op(&t[0]))?;
    }
    let ops: [Op; 4] = [|t| t.log(), |t| t.sqrt(), |t| t.rsqrt(), |t| t.pow(2.5)];
    for op in ops {
        same_on_both(&[&pos], |t| op(&t[0]))?;
        same_grads_on_both(&[&pos], |t| op(&t[0]))?;
    }
    same_on_both(&[&ints], |t| t[0].abs())?;
    same_on_both(&[&ints], |t| t[0].relu())?;
    same_on_both(&[&ints], |t| t[0].exp())?; // computed in f32
    same_on_both(&[&x], |t| t[0].gelu_with(GeluApproximate::Tanh))?;
    same_on_both(&[&x], |t| {
        let y = t[0].try_mul(1.0)?;
        y.relu_()
    })?;
    Ok(())
}

/// Needs the `arith.rs` hooks (in-place ops) and the optimizer's GPU path.
#[test]
fn gpu_in_place_ops_and_an_optimizer_step_match_the_cpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(4);
    let a = Tensor::randn(&[3, 4], DType::F32)?;
    let b = Tensor::randn(&[4], DType::F32)?;
    same_on_both(&[&a, &b], |t| {
        let y = t[0].deep_clone()?;
        y.add_(&t[1])?.mul_(2.0)?.sub_(&t[0])?.div_(&t[1])?;
        Ok(y)
    })?;
    same_on_both(&[&a], |t| {
        let y = t[0].deep_clone()?;
        y.t()?.narrow(0, 1, 2)?.fill_(7.5)?;
        Ok(y)
    })?;
    same_on_both(&[&a, &b], |t| {
        let y = t[0].deep_clone()?;
        y.copy_(&t[1])?; // broadcast
        y.narrow(1, 0, 2)?.zero_()?;
        Ok(y)
    })?;
    // copy_ crosses devices, as PyTorch's does.
    let g = a.cuda()?;
    g.copy_(&b.try_mul(3.0)?)?;
    assert_eq!(g.device(), Device::Cuda(0));
    assert_eq!(
        g.cpu()?.to_vec::<f32>()?,
        b.try_mul(3.0)?
            .broadcast_to(&[3, 4])?
            .contiguous()?
            .to_vec::<f32>()?
    );
    // One SGD-with-momentum step on each device.
    let step = |w: &Tensor| -> Result<Vec<f32>> {
        let w = w.detach().requires_grad_(true)?;
        let mut opt = SGD::new(vec![w.clone()], SgdConfig::new().lr(0.1).momentum(0.9))?;
        for _ in 0..2 {
            opt.zero_grad();
            w.try_mul(&w)?.sum()?.backward()?;
            opt.step()?;
        }
        w.cpu()?.to_vec::<f32>()
    };
    let (c, g) = (step(&a)?, step(&a.cuda()?)?);
    for (x, y) in c.iter().zip(&g) {
        assert!(
            (x - y).abs() <= 1e-5 * (1.0 + x.abs()),
            "cpu {x} vs gpu {y}"
        );
    }
    Ok(())
}

#[test]
fn gpu_max_pool2d_dispatches_to_its_gpu_path() {
    let x = fake_gpu_tensor((0..32).map(|v| v as f32).collect(), &[2, 4, 4]);
    assert!(reached_a_kernel(x.max_pool2d(MaxPool2dOptions::new(2))));
    let e = fake_gpu(CpuBuffer::I64(vec![0; 16]), &[1, 4, 4])
        .max_pool2d(MaxPool2dOptions::new(2))
        .unwrap_err();
    assert!(e.to_string().contains(".float()"), "{e}");
}

#[test]
fn gpu_max_pool2d_values_indices_and_gradients_match_the_cpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(5);
    let x = Tensor::randn(&[2, 3, 7, 6], DType::F32)?;
    for opts in [
        MaxPool2dOptions::new(2),
        MaxPool2dOptions::new(3).stride(2).padding(1),
        MaxPool2dOptions::new([3, 2]).dilation(2).ceil_mode(true),
    ] {
        same_on_both(&[&x], |t| t[0].max_pool2d_with_indices(opts).map(|r| r.0))?;
        same_on_both(&[&x], |t| t[0].max_pool2d_with_indices(opts).map(|r| r.1))?;
        same_grads_on_both(&[&x], |t| t[0].max_pool2d(opts))?;
    }
    same_on_both(&[&x], |t| {
        t[0].select(0, 0)?.max_pool2d(MaxPool2dOptions::new(2))
    })?;
    Ok(())
}

/// Needs the `conv.rs` hook (crates/ferrograd-ops/src/cuda/conv.rs).
#[test]
fn gpu_conv2d_and_its_gradients_match_the_cpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(6);
    let x = Tensor::randn(&[2, 4, 9, 8], DType::F32)?;
    let w = Tensor::randn(&[6, 2, 3, 3], DType::F32)?;
    let w1 = Tensor::randn(&[6, 4, 3, 2], DType::F32)?;
    let b = Tensor::randn(&[6], DType::F32)?;
    let grouped = Conv2dOptions::new().groups(2).padding(1);
    same_on_both(&[&x, &w, &b], |t| {
        conv2d(&t[0], &t[1], Some(&t[2]), grouped)
    })?;
    same_grads_on_both(&[&x, &w, &b], |t| {
        conv2d(&t[0], &t[1], Some(&t[2]), grouped)
    })?;
    let strided = Conv2dOptions::new()
        .stride([2, 1])
        .padding([0, 2])
        .dilation([1, 2]);
    same_on_both(&[&x, &w1], |t| conv2d(&t[0], &t[1], None, strided))?;
    same_grads_on_both(&[&x, &w1], |t| conv2d(&t[0], &t[1], None, strided))?;
    // A transposed (non-contiguous) input, and a 3-D one.
    same_on_both(&[&x, &w1], |t| {
        let xt = t[0].transpose(2, 3)?.transpose(2, 3)?;
        conv2d(&xt, &t[1], None, Conv2dOptions::new())
    })?;
    same_on_both(&[&x, &w1], |t| {
        conv2d(&t[0].select(0, 1)?, &t[1], None, Conv2dOptions::new())
    })?;
    Ok(())
}

#[test]
fn gpu_index_select_checks_indices_on_the_host_then_dispatches() {
    let x = fake_gpu_tensor((0..6).map(|v| v as f32).collect(), &[3, 2]);
    let bad = fake_gpu(CpuBuffer::I64(vec![0, 3]), &[2]);
    let e = x.index_select(0, &bad).unwrap_err();
    assert!(
        matches!(
            e,
            Error::IndexOutOfBounds {
                index: 3,
                dim: 0,
                size: 3
            }
        ),
        "{e:?}"
    );
    let good = fake_gpu(CpuBuffer::I64(vec![2, 0, 2]), &[3]);
    // The checked indices are uploaded to the device: no driver here.
    let e = x.index_select(0, &good).unwrap_err();
    assert!(
        matches!(e, Error::CudaNotAvailable { .. })
            || e.to_string().contains("not ferrograd-cuda device memory"),
        "{e:?}"
    );
}

#[test]
fn gpu_index_select_and_index_add_match_the_cpu() -> Result<()> {
    if skip_reason().is_some() {
        return Ok(());
    }
    manual_seed(7);
    let x = Tensor::randn(&[4, 5, 3], DType::F32)?;
    let idx = Tensor::from_vec(vec![4i64, 0, 4, 2], &[4])?;
    let src = Tensor::randn(&[4, 4, 3], DType::F32)?;
    for d in [0isize, 1, -1] {
        let k = idx.clamp(None, Some(Scalar::Int(2)))?;
        same_on_both(&[&x, &k], |t| t[0].index_select(d, &t[1]))?;
        same_grads_on_both(&[&x], |t| {
            t[0].index_select(d, &k.to_device(t[0].device())?)
        })?;
    }
    same_on_both(&[&x, &idx], |t| {
        t[0].transpose(0, 1)?.index_select(1, &t[1])
    })?;
    same_on_both(&[&x, &idx, &src], |t| t[0].index_add(1, &t[1], &t[2]))?;
    same_grads_on_both(&[&x, &src], |t| {
        t[0].index_add(1, &idx.to_device(t[0].device())?, &t[1])
    })?;
    Ok(())
}
