//! Device moves in a CPU-only build: `to_device`, `cpu()`, `cuda()`,
//! `Device::cuda_if_available`, and the messages of the errors CUDA gives.
//! With `--features cuda` the same rules are tested in tests/cuda.rs.
#![cfg(not(feature = "cuda"))]

use ferrograd::prelude::*;

const NO_CUDA: &str = "CUDA is not available: ferrograd was built without the `cuda` feature. Use Device::cuda_if_available(0) to fall back to the CPU.";

#[test]
fn cuda_if_available_falls_back_to_the_cpu() {
    assert!(!Device::is_cuda_available());
    for ordinal in [0, 1, 7] {
        assert_eq!(Device::cuda_if_available(ordinal), Device::Cpu);
    }
    assert!(Device::Cpu.check_available().is_ok());
}

#[test]
fn moving_to_the_own_device_returns_the_same_tensor() -> Result<()> {
    let t = Tensor::arange(0, 6)?.reshape(&[2, 3])?;
    let view = t.t()?;
    for x in [&t, &view] {
        for moved in [x.cpu()?, x.to_device(Device::Cpu)?] {
            assert!(moved.same_tensor(x));
            assert_eq!(moved.strides(), x.strides());
            assert_eq!(moved.device(), Device::Cpu);
        }
    }
    Ok(())
}

#[test]
fn gradient_flows_through_a_move() -> Result<()> {
    let w = Tensor::from_vec(vec![1.0f64, -2.0, 3.0], &[3])?.requires_grad_(true)?;
    let hidden = &w * &w;
    let moved = hidden.to_device(Device::cuda_if_available(0))?.cpu()?;
    assert!(moved.requires_grad() && !moved.is_leaf());
    moved.sum()?.backward()?;
    // d/dw sum(w^2) = 2w
    assert_eq!(w.grad().unwrap().to_vec::<f64>()?, vec![2.0, -4.0, 6.0]);
    Ok(())
}

#[test]
fn cuda_is_an_error_naming_the_reason_not_a_panic() -> Result<()> {
    let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    assert_eq!(t.cuda().unwrap_err().to_string(), NO_CUDA);
    for ordinal in [0, 3] {
        let e = t.to_device(Device::Cuda(ordinal)).unwrap_err();
        assert!(matches!(e, Error::CudaNotAvailable { .. }), "{e:?}");
        assert_eq!(e.to_string(), NO_CUDA);
    }
    // The failed move leaves the tensor as it was.
    assert_eq!(t.device(), Device::Cpu);
    assert!(t.requires_grad() && t.is_leaf());
    Ok(())
}

#[test]
fn the_pytorch_recipe_cpu_detach_numpy_works() -> Result<()> {
    let w = Tensor::from_vec(vec![0.5f32, 1.5], &[2])?.requires_grad_(true)?;
    let out = &w * 2.0;
    let a = out.cpu()?.detach().numpy::<f32>()?;
    assert_eq!(a.view().as_slice().unwrap(), &[1.0, 3.0]);
    Ok(())
}

#[test]
fn numpy_on_a_gpu_tensor_reads_as_in_pytorch() {
    for (device, name) in [(Device::Cuda(0), "cuda:0"), (Device::Cuda(2), "cuda:2")] {
        assert_eq!(
            Error::NumpyOnDevice { device }.to_string(),
            format!("can't convert {name} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
        );
    }
}
