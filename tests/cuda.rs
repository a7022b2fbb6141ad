//! The CUDA backend (`--features cuda`). Tests that need a GPU are gated:
//! without a driver and a device they print why they are skipped and pass.
//! Everything else — the errors a machine without CUDA gives, the device
//! rules, the host paths refusing device memory — runs everywhere, using a
//! stand-in device buffer that keeps its data on the host.
#![cfg(feature = "cuda")]

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
    let storage = Storage::from_device(Arc::new(HostBacked(CpuBuffer::F32(values))));
    Tensor::from_parts(storage, Layout::contiguous(shape)).unwrap()
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
    // An op with no CUDA kernel, and an in-place write: errors, not panics.
    assert!(matches!(gpu.abs().unwrap_err(), Error::NotOnHost { .. }));
    assert!(matches!(gpu.zero_().unwrap_err(), Error::NotOnHost { .. }));
    let other = fake_gpu_tensor(vec![3.0, 4.0], &[2]);
    assert!(matches!(
        gpu.add_(&other).unwrap_err(),
        Error::NotOnHost { .. }
    ));
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
    let (c, g) = (
        cpu.to_dtype(DType::F64)?.to_vec::<f64>()?,
        gpu.cpu()?.to_dtype(DType::F64)?.to_vec::<f64>()?,
    );
    for (x, y) in c.iter().zip(&g) {
        assert!(
            (x - y).abs() <= 1e-4 * (1.0 + x.abs()),
            "cpu {x} vs gpu {y}"
        );
    }
    Ok(())
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
