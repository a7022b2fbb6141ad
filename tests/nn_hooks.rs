//! Forward hooks and `capture_activations`: hooks on leaves and inside
//! nested Sequentials see the module's input and output (checked against
//! running the layers one by one), are detached unless asked otherwise,
//! can be removed, propagate their errors, and run from several threads;
//! the capture helper returns named outputs in order and cleans up.

use ferrograd::nn::layers::Conv2dConfig;
use ferrograd::nn::module::{HookHandle, ModuleState};
use ferrograd::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// A small CNN: features (conv, relu, pool, conv, relu), flatten, head.
fn model() -> Sequential {
    let conv = |i, o| Conv2d::with_config(i, o, 3, Conv2dConfig::new().padding(1)).unwrap();
    let features = Sequential::new()
        .append(conv(1, 4))
        .append(ReLU::new())
        .append(MaxPool2d::new(2))
        .append(conv(4, 8))
        .append(ReLU::new());
    Sequential::new()
        .add_module("features", features)
        .unwrap()
        .add_module("flatten", Flatten::new())
        .unwrap()
        .add_module("head", Linear::new(8 * 4 * 4, 3).unwrap())
        .unwrap()
}

fn input() -> Tensor {
    Tensor::randn(&[2, 1, 8, 8], DType::F32).unwrap()
}

/// The outputs of every module on the path, computed by calling the
/// layers one at a time.
fn step_by_step(model: &Sequential, x: &Tensor) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    let mut h = x.clone();
    for i in 0..5 {
        h = model
            .get_submodule(&format!("features.{i}"))
            .unwrap()
            .forward(&h)
            .unwrap();
        out.push((format!("features.{i}"), h.clone()));
    }
    out.push(("features".into(), h.clone()));
    for name in ["flatten", "head"] {
        h = model.get_submodule(name).unwrap().forward(&h).unwrap();
        out.push((name.into(), h.clone()));
    }
    out
}

fn lookup(pairs: &[(String, Tensor)], name: &str) -> Tensor {
    pairs.iter().find(|(n, _)| n == name).unwrap().1.clone()
}

fn same_values(a: &Tensor, b: &Tensor) -> bool {
    a.shape() == b.shape() && a.to_vec::<f32>().unwrap() == b.to_vec::<f32>().unwrap()
}

type Seen = Arc<Mutex<Vec<(Vec<usize>, Vec<usize>)>>>;

/// A hook recording `(input shape, output shape)` of each call.
fn recorder() -> (Seen, ForwardHook) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let hook = ForwardHook::new(move |i, o| {
        sink.lock()
            .unwrap()
            .push((i.shape().to_vec(), o.shape().to_vec()));
        Ok(())
    });
    (seen, hook)
}

#[test]
fn hooks_inside_sequentials_see_input_and_output() {
    let model = model();
    let (seen, hook) = recorder();
    model
        .get_submodule("features.3")
        .unwrap()
        .register_forward_hook(hook);
    let (seen_flat, hook) = recorder();
    model
        .get_submodule("flatten")
        .unwrap()
        .register_forward_hook(hook);
    let (seen_root, hook) = recorder();
    model.register_forward_hook(hook);
    model.forward(&input()).unwrap();
    model
        .forward(&Tensor::randn(&[5, 1, 8, 8], DType::F32).unwrap())
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (vec![2, 4, 4, 4], vec![2, 8, 4, 4]),
            (vec![5, 4, 4, 4], vec![5, 8, 4, 4])
        ]
    );
    assert_eq!(
        seen_flat.lock().unwrap()[0],
        (vec![2, 8, 4, 4], vec![2, 128])
    );
    assert_eq!(seen_root.lock().unwrap()[1], (vec![5, 1, 8, 8], vec![5, 3]));
}

#[test]
fn hooks_receive_the_values_the_layers_compute() {
    let model = model();
    let x = input();
    let want = step_by_step(&model, &x);
    let got: Arc<Mutex<Option<(Tensor, Tensor)>>> = Arc::default();
    let sink = got.clone();
    model
        .get_submodule("features.2")
        .unwrap()
        .register_forward_hook(ForwardHook::new(move |i, o| {
            *sink.lock().unwrap() = Some((i.clone(), o.clone()));
            Ok(())
        }));
    let out = model.forward(&x).unwrap();
    let (i, o) = got.lock().unwrap().take().unwrap();
    assert!(same_values(&i, &lookup(&want, "features.1")));
    assert!(same_values(&o, &lookup(&want, "features.2")));
    assert!(same_values(&out, &lookup(&want, "head")));
}

#[test]
fn hooks_get_detached_tensors_unless_asked() {
    let model = model();
    let flags: Arc<Mutex<Vec<bool>>> = Arc::default();
    let sink = flags.clone();
    let head = model.get_submodule("head").unwrap();
    head.register_forward_hook(ForwardHook::new(move |i, o| {
        sink.lock()
            .unwrap()
            .extend([i.requires_grad(), o.requires_grad()]);
        Ok(())
    }));
    let kept: Arc<Mutex<Option<Tensor>>> = Arc::default();
    let sink = kept.clone();
    model
        .get_submodule("features.0")
        .unwrap()
        .register_forward_hook(
            ForwardHook::new(move |_, o| {
                *sink.lock().unwrap() = Some(o.clone());
                Ok(())
            })
            .keep_graph(),
        );
    model.forward(&input()).unwrap();
    assert_eq!(*flags.lock().unwrap(), [false, false]);
    // The attached activation carries its graph: a penalty on it reaches
    // the first convolution's weight.
    let act = kept.lock().unwrap().take().unwrap();
    assert!(act.requires_grad());
    act.abs().unwrap().sum().unwrap().backward().unwrap();
    let conv_w = &model.named_parameters()[0];
    assert_eq!(conv_w.0, "features.0.weight");
    assert!(conv_w.1.grad().is_some());
    assert!(model.named_parameters()[2].1.grad().is_none());
}

#[test]
fn removed_hooks_stop_running() {
    let relu = ReLU::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = |calls: &Arc<AtomicUsize>| {
        let calls = calls.clone();
        ForwardHook::new(move |_, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    };
    let first: HookHandle = relu.register_forward_hook(counter(&calls));
    let second = relu.register_forward_hook(counter(&calls));
    let x = Tensor::zeros(&[3], DType::F32).unwrap();
    relu.forward(&x).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(first.remove());
    relu.forward(&x).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(second.remove());
    relu.forward(&x).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // A handle that outlives its module removes nothing.
    let handle = {
        let tanh = Tanh::new();
        tanh.register_forward_hook(counter(&calls))
    };
    assert!(!handle.remove());
}

#[test]
fn hook_errors_fail_the_forward() {
    let model = model();
    let handle = model
        .get_submodule("features.4")
        .unwrap()
        .register_forward_hook(ForwardHook::new(|_, o| {
            Err(ferrograd::Error::invalid(
                "probe",
                format!("saw {:?}", o.shape()),
            ))
        }));
    let e = model.forward(&input()).unwrap_err().to_string();
    assert_eq!(e, "probe: saw [2, 8, 4, 4]");
    handle.remove();
    assert!(model.forward(&input()).is_ok());
}

#[test]
fn hooks_run_from_several_threads() {
    let model = Arc::new(model());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    model
        .get_submodule("features.1")
        .unwrap()
        .register_forward_hook(ForwardHook::new(move |_, o| {
            assert_eq!(o.shape()[1], 4);
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let model = model.clone();
            thread::spawn(move || model.forward(&input()).unwrap().shape().to_vec())
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().unwrap(), [2, 3]);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn capture_returns_named_outputs_in_order() {
    let model = model();
    let x = input();
    let want = step_by_step(&model, &x);
    let names = ["features.4", "features.1", "flatten", "features", ""];
    let got = capture_activations(&model, &x, &names).unwrap();
    let got_names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got_names, names);
    for (name, t) in &got {
        let key = if name.is_empty() {
            "head"
        } else {
            name.as_str()
        };
        assert!(same_values(t, &lookup(&want, key)), "{name}");
        assert!(!t.requires_grad(), "{name}");
    }
    // The helper's hooks are gone afterwards.
    for (name, m) in model.named_modules() {
        let state = format!("{:?}", m.state());
        assert!(state.ends_with("hooks: 0 }"), "{name}: {state}");
    }
}

struct Skips {
    state: ModuleState,
    used: ReLU,
    unused: Tanh,
}

impl Module for Skips {
    fn forward_impl(&self, x: &Tensor) -> ferrograd::Result<Tensor> {
        self.used.forward(x)
    }
    fn state(&self) -> &ModuleState {
        &self.state
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("used".into(), &self.used), ("unused".into(), &self.unused)]
    }
}

#[test]
fn capture_errors_name_the_module() {
    let model = model();
    let e = capture_activations(&model, &input(), &["features.9"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Sequential 'features' has no submodule '9' (looking up 'features.9'); its submodules are [0, 1, 2, 3, 4]"),
        "{e}"
    );
    let wrong = Tensor::zeros(&[2, 3, 8, 8], DType::F32).unwrap();
    let e = capture_activations(&model, &wrong, &["flatten"])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("Conv2d: features.0 (Conv2d(1, 4,"), "{e}");
    assert!(
        format!("{:?}", model.get_submodule("flatten").unwrap().state()).ends_with("hooks: 0 }")
    );
    let skips = Skips {
        state: ModuleState::new(),
        used: ReLU::new(),
        unused: Tanh::new(),
    };
    let e = capture_activations(&skips, &input(), &["used", "unused"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("submodule 'unused' did not run during the forward pass"),
        "{e}"
    );
}
