//! batch_norm, layer_norm and dropout: values, running-statistics updates
//! and gradients against PyTorch (tests/fixtures/norm.npz, written by
//! make_norm.py) on contiguous, transposed and flipped inputs; gradcheck in
//! f64, first and second order; dropout's seeding, scaling and statistics;
//! every bad-input message.

use ferrograd::autograd::{grad, gradcheck, GradOptions};
use ferrograd::interop::npz::load_npz;
use ferrograd::ops::norm::dropout_with;
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixture() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/norm.npz");
        load_npz(path).unwrap().into_iter().collect()
    })
}

/// A fresh copy of a fixture array (running statistics are updated in place).
fn get(name: &str) -> Tensor {
    fixture()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in norm.npz"))
        .deep_clone()
        .unwrap()
}

fn cos_weights(out: &Tensor) -> Tensor {
    let w: Vec<f64> = (0..out.numel()).map(|i| (0.5 * i as f64).cos()).collect();
    Tensor::from_vec(w, out.shape()).unwrap()
}

fn near(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let want = want.to_vec::<f64>().unwrap();
    for (i, (a, b)) in got.to_vec::<f64>().unwrap().iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-11 * (1.0 + b.abs()),
            "{what}[{i}]: got {a}, want {b}"
        );
    }
}

type NormFn<'a> = &'a dyn Fn(&[Tensor]) -> Result<Tensor>;

/// Runs `op` on the bases (running statistics as plain tensors, the rest as
/// leaves; the input through `view`) and compares output, gradients and the
/// updated running statistics.
fn check(case: &str, bases: &[&str], view: &str, op: NormFn) {
    let name = if view == "id" {
        case.to_string()
    } else {
        format!("{case}_{view}")
    };
    let args: Vec<Tensor> = bases
        .iter()
        .map(|b| {
            let t = get(&format!("base.{b}"));
            if b.starts_with('r') {
                t
            } else {
                t.requires_grad_(true).unwrap()
            }
        })
        .collect();
    let mut viewed = args.clone();
    viewed[0] = match view {
        "t" => args[0].transpose(0, -1).unwrap(),
        "flip" => args[0].flip(&[1]).unwrap(),
        _ => args[0].clone(),
    };
    let out = op(&viewed).unwrap_or_else(|e| panic!("{name}: {e}"));
    near(&out, &get(&format!("{name}.out")), &name);
    out.try_mul(&cos_weights(&out))
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    for (i, (b, t)) in bases.iter().zip(&args).enumerate() {
        let key = match *b {
            b if b.starts_with("rm") => format!("{name}.running_mean"),
            b if b.starts_with("rv") => format!("{name}.running_var"),
            _ => {
                near(
                    &t.grad().expect("a gradient"),
                    &get(&format!("{name}.g{i}")),
                    &format!("{name}.g{i}"),
                );
                continue;
            }
        };
        near(t, &get(&key), &key);
    }
}

fn bn(training: bool, momentum: f64, eps: f64) -> BatchNormOptions {
    BatchNormOptions {
        training,
        momentum,
        eps,
    }
}

#[test]
fn batch_norm_matches_pytorch_in_training_and_evaluation() {
    let affine = ["x4d", "rm3", "rv3", "w3", "b3"];
    for view in ["id", "t", "flip"] {
        check("bn_train", &affine, view, &|t| {
            batch_norm(
                &t[0],
                Some(&t[1]),
                Some(&t[2]),
                Some(&t[3]),
                Some(&t[4]),
                bn(true, 0.1, 1e-5),
            )
        });
        check("bn_eval", &affine, view, &|t| {
            batch_norm(
                &t[0],
                Some(&t[1]),
                Some(&t[2]),
                Some(&t[3]),
                Some(&t[4]),
                BatchNormOptions::default(),
            )
        });
    }
    check(
        "bn_train_2d",
        &["x2d", "rm4", "rv4", "w4", "b4"],
        "id",
        &|t| {
            batch_norm(
                &t[0],
                Some(&t[1]),
                Some(&t[2]),
                Some(&t[3]),
                Some(&t[4]),
                bn(true, 0.3, 1e-3),
            )
        },
    );
    check(
        "bn_train_3d_no_affine",
        &["x3d", "rm2", "rv2"],
        "id",
        &|t| {
            batch_norm(
                &t[0],
                Some(&t[1]),
                Some(&t[2]),
                None,
                None,
                bn(true, 0.1, 1e-5),
            )
        },
    );
    check("bn_train_no_running", &["x4d", "w3", "b3"], "id", &|t| {
        batch_norm(
            &t[0],
            None,
            None,
            Some(&t[1]),
            Some(&t[2]),
            bn(true, 0.1, 1e-5),
        )
    });
    check("bn_eval_no_affine", &["x3d", "rm2", "rv2"], "id", &|t| {
        batch_norm(
            &t[0],
            Some(&t[1]),
            Some(&t[2]),
            None,
            None,
            bn(false, 0.1, 1e-2),
        )
    });
}

#[test]
fn layer_norm_matches_pytorch() {
    for view in ["id", "flip"] {
        check("ln_last", &["y", "w5", "b5"], view, &|t| {
            layer_norm(&t[0], &[5], Some(&t[1]), Some(&t[2]), 1e-5)
        });
    }
    for view in ["id", "t", "flip"] {
        check("ln_plain", &["y"], view, &|t| {
            let shape = t[0].shape()[1..].to_vec();
            layer_norm(&t[0], &shape, None, None, 1e-3)
        });
    }
    check("ln_last2", &["y", "w45", "b45"], "id", &|t| {
        layer_norm(&t[0], &[4, 5], Some(&t[1]), Some(&t[2]), 1e-5)
    });
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn_with(shape, DType::F64, &mut Generator::new(seed))
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

/// gradcheck of `f`, and of the gradients of `Σ f · w` with respect to
/// every input (second order, through the recorded backward).
fn gradcheck_twice(f: &dyn Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor], what: &str) {
    gradcheck(f, inputs, 1e-6, 1e-5, 1e-3).unwrap_or_else(|e| panic!("{what}: {e}"));
    for k in 0..inputs.len() {
        let second = |t: &[Tensor]| {
            let _recording = enable_grad();
            let args: Vec<Tensor> = t
                .iter()
                .map(|a| {
                    if a.requires_grad() {
                        Ok(a.clone())
                    } else {
                        a.requires_grad_(true)
                    }
                })
                .collect::<Result<_>>()?;
            let out = f(&args)?;
            let loss = out.try_mul(&cos_weights(&out))?.sum()?;
            let opts = GradOptions {
                create_graph: true,
                ..Default::default()
            };
            Ok(grad(&[loss], &[args[k].clone()], opts)?[0]
                .clone()
                .expect("a gradient"))
        };
        gradcheck(second, inputs, 1e-6, 1e-5, 1e-3)
            .unwrap_or_else(|e| panic!("{what} (second order, input {k}): {e}"));
    }
}

#[test]
fn normalisations_pass_gradcheck_first_and_second_order() {
    let (x, w, b) = (randn(&[4, 3, 2], 1), randn(&[3], 2), randn(&[3], 3));
    let train = |t: &[Tensor]| {
        batch_norm(
            &t[0],
            None,
            None,
            Some(&t[1]),
            Some(&t[2]),
            bn(true, 0.1, 1e-5),
        )
    };
    gradcheck_twice(
        &train,
        &[x.clone(), w.clone(), b.clone()],
        "batch_norm training",
    );
    let (rm, rv) = (
        Tensor::zeros(&[3], DType::F64).unwrap(),
        Tensor::full(&[3], 2.0, DType::F64).unwrap(),
    );
    let eval = |t: &[Tensor]| {
        batch_norm(
            &t[0],
            Some(&rm),
            Some(&rv),
            Some(&t[1]),
            Some(&t[2]),
            BatchNormOptions::default(),
        )
    };
    gradcheck_twice(&eval, &[x.clone(), w, b], "batch_norm eval");
    gradcheck_twice(
        &|t| batch_norm(&t[0], None, None, None, None, bn(true, 0.1, 1e-5)),
        std::slice::from_ref(&x),
        "batch_norm no affine",
    );
    let (lw, lb) = (randn(&[3, 2], 4), randn(&[3, 2], 5));
    gradcheck_twice(
        &|t| layer_norm(&t[0], &[3, 2], Some(&t[1]), Some(&t[2]), 1e-5),
        &[x.clone(), lw, lb],
        "layer_norm",
    );
    gradcheck_twice(
        &|t| layer_norm(&t[0], &[2], None, None, 1e-5),
        &[x],
        "layer_norm no affine",
    );
}

#[test]
fn large_batches_match_the_definition() {
    // Big enough for the parallel kernels: per-channel statistics by hand.
    let (n, c, hw) = (64, 8, 100);
    let x = Tensor::randn_with(&[n, c, 10, 10], DType::F64, &mut Generator::new(21)).unwrap();
    let data = x.to_vec::<f64>().unwrap();
    let y = batch_norm(&x, None, None, None, None, bn(true, 0.1, 0.0))
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    for ch in 0..c {
        let vals: Vec<f64> = (0..n)
            .flat_map(|i| data[(i * c + ch) * hw..][..hw].to_vec())
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
        for i in 0..n {
            for k in 0..hw {
                let at = (i * c + ch) * hw + k;
                assert!((y[at] - (data[at] - mean) / var.sqrt()).abs() < 1e-12);
            }
        }
    }
    let z = layer_norm(&x, &[10, 10], None, None, 0.0)
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    for (row, out) in data.chunks(hw).zip(z.chunks(hw)) {
        let mean = row.iter().sum::<f64>() / hw as f64;
        let std = (row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / hw as f64).sqrt();
        for (v, o) in row.iter().zip(out) {
            assert!((o - (v - mean) / std).abs() < 1e-12);
        }
    }
}

#[test]
fn dropout_is_seeded_scaled_and_identity_in_eval() {
    let x = Tensor::ones(&[100_000], DType::F32).unwrap();
    manual_seed(42);
    let a = dropout(&x, 0.3, true).unwrap().to_vec::<f32>().unwrap();
    manual_seed(42);
    let b = dropout(&x, 0.3, true).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(a, b);
    let kept = a.iter().filter(|&&v| v != 0.0).count() as f64 / a.len() as f64;
    assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
    assert!(a.iter().all(|&v| v == 0.0 || v == (1.0 / 0.7f64) as f32));
    let mut g1 = Generator::new(5);
    let mut g2 = Generator::new(5);
    let y1 = dropout_with(&x, 0.5, true, &mut g1)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(
        y1,
        dropout_with(&x, 0.5, true, &mut g2)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    );
    assert_ne!(
        y1,
        dropout_with(&x, 0.5, true, &mut g1)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    );
    assert!(dropout(&x, 0.5, false).unwrap().same_tensor(&x));
    assert!(dropout(&x, 0.0, true).unwrap().same_tensor(&x));
    assert!(dropout(&x, 1.0, true)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .all(|&v| v == 0.0));
    // The gradient is the mask, scaled.
    let leaf = Tensor::ones(&[1000], DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let y = dropout(&leaf, 0.25, true).unwrap();
    y.sum().unwrap().backward().unwrap();
    assert_eq!(
        leaf.grad().unwrap().to_vec::<f64>().unwrap(),
        y.to_vec::<f64>().unwrap()
    );
}

#[test]
fn bad_inputs_name_the_problem() {
    let x = Tensor::zeros(&[3, 10], DType::F32).unwrap();
    let msg = |r: Result<Tensor>| r.unwrap_err().to_string();
    assert!(msg(dropout(&x, 1.5, true))
        .contains("dropout probability has to be between 0 and 1, but got 1.5"));
    assert!(msg(dropout(&x, -0.1, false)).contains("but got -0.1"));
    assert!(msg(batch_norm(
        &x,
        None,
        None,
        None,
        None,
        BatchNormOptions::default()
    ))
    .contains("running_mean must be defined in evaluation mode"));
    let one = Tensor::zeros(&[1, 3], DType::F32).unwrap();
    assert!(msg(batch_norm(
        &one,
        None,
        None,
        None,
        None,
        bn(true, 0.1, 1e-5)
    ))
    .contains("Expected more than 1 value per channel when training, got input size [1, 3]"));
    let rm = Tensor::zeros(&[4], DType::F32).unwrap();
    assert!(msg(batch_norm(
        &x,
        Some(&rm),
        Some(&rm),
        None,
        None,
        bn(true, 0.1, 1e-5)
    ))
    .contains("running_mean should contain 10 elements not 4"));
    let w = Tensor::ones(&[3], DType::F32).unwrap();
    assert!(msg(batch_norm(
        &x,
        None,
        None,
        Some(&w),
        None,
        bn(true, 0.1, 1e-5)
    ))
    .contains("weight should contain 10 elements not 3"));
    assert!(msg(batch_norm(
        &Tensor::zeros(&[4], DType::F32).unwrap(),
        None,
        None,
        None,
        None,
        bn(true, 0.1, 1e-5)
    ))
    .contains("(N, C)"));
    let y = Tensor::zeros(&[2, 4], DType::F32).unwrap();
    assert!(msg(layer_norm(&y, &[3], None, None, 1e-5)).contains(
        "Given normalized_shape=[3], expected input with shape [*, 3], but got input of size[2, 4]"
    ));
    assert!(msg(layer_norm(&y, &[4], Some(&w), None, 1e-5)).contains("Expected weight to be of same shape as normalized_shape, but got weight of shape [3] and normalized_shape = [4]"));
}

#[test]
fn node_names_are_pytorchs() {
    let x = randn(&[4, 3], 8);
    let name = |t: Tensor| t.grad_fn().unwrap().name();
    assert_eq!(
        name(batch_norm(&x, None, None, None, None, bn(true, 0.1, 1e-5)).unwrap()),
        "NativeBatchNormBackward0"
    );
    assert_eq!(
        name(layer_norm(&x, &[3], None, None, 1e-5).unwrap()),
        "NativeLayerNormBackward0"
    );
    assert_eq!(name(dropout(&x, 0.5, true).unwrap()), "MulBackward0");
}
