//! softmax, log_softmax and the losses against PyTorch
//! (tests/fixtures/loss.npz, written by make_loss.py): values and gradients
//! for every reduction, with class weights, ignore_index, label smoothing,
//! spatial targets, class probabilities and pos_weight; stability at huge
//! logits; gradcheck in f64, first and second order; every bad-input message.

use ferrograd::autograd::{grad, gradcheck, GradOptions};
use ferrograd::interop::npz::load_npz;
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixture() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/loss.npz");
        load_npz(path).unwrap().into_iter().collect()
    })
}

fn get(name: &str) -> Tensor {
    fixture()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in loss.npz"))
        .detach()
}

/// Weights PyTorch's fixture gives no gradient.
const CONSTANTS: [&str; 3] = ["weight5", "w45", "pos5"];

fn weights_like(out: &Tensor) -> Tensor {
    let w: Vec<f64> = (0..out.numel()).map(|i| (0.5 * i as f64).cos()).collect();
    Tensor::from_vec(w, out.shape()).unwrap()
}

fn close(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g = got.double().unwrap().to_vec::<f64>().unwrap();
    for (i, (a, b)) in g.iter().zip(want.to_vec::<f64>().unwrap()).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
            "{what}[{i}]: got {a}, want {b}"
        );
    }
}

type LossFn<'a> = &'a dyn Fn(&[Tensor]) -> Result<Tensor>;

/// Runs `op` on the bases (the first through `view`) and compares the
/// output and the gradient of every input that takes one.
fn check(case: &str, bases: &[&str], view: &str, op: LossFn) {
    let name = if view == "id" {
        case.to_string()
    } else {
        format!("{case}_{view}")
    };
    let leaves: Vec<Tensor> = bases
        .iter()
        .map(|b| {
            let t = get(&format!("base.{b}"));
            let wants = t.dtype().is_floating_point() && !CONSTANTS.contains(b);
            if wants {
                t.requires_grad_(true).unwrap()
            } else {
                t
            }
        })
        .collect();
    let mut args = leaves.clone();
    args[0] = match view {
        "t" => args[0].transpose(0, -1).unwrap(),
        "flip" => args[0].flip(&[1]).unwrap(),
        _ => args[0].clone(),
    };
    let out = op(&args).unwrap_or_else(|e| panic!("{name}: {e}"));
    close(&out, &get(&format!("{name}.out")), &name);
    out.try_mul(&weights_like(&out))
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    for (i, leaf) in leaves.iter().enumerate() {
        if let Some(want) = fixture().get(&format!("{name}.g{i}")) {
            close(
                &leaf.grad().expect("a gradient"),
                want,
                &format!("{name}.g{i}"),
            );
        }
    }
}

#[test]
fn softmax_and_log_softmax_match_pytorch_on_every_dim_and_view() {
    for view in ["id", "t", "flip"] {
        for (dim, tag) in [(1isize, "dim1"), (0, "dim0"), (-1, "dimm1")] {
            check(&format!("softmax_{tag}"), &["x234"], view, &|t| {
                t[0].softmax(dim)
            });
            check(&format!("log_softmax_{tag}"), &["x234"], view, &|t| {
                t[0].log_softmax(dim)
            });
        }
    }
}

const REDUCTIONS: [&str; 3] = ["none", "mean", "sum"];

fn ce(weight: Option<&Tensor>, red: &str, smoothing: f64) -> CrossEntropyOptions {
    CrossEntropyOptions {
        weight: weight.cloned(),
        reduction: red.parse().unwrap(),
        label_smoothing: smoothing,
        ..Default::default()
    }
}

#[test]
fn cross_entropy_matches_pytorch() {
    for red in REDUCTIONS {
        let cases: [(&str, &[&str], LossFn); 7] = [
            ("ce", &["logits", "targets"], &|t| {
                cross_entropy(&t[0], &t[1], ce(None, red, 0.0))
            }),
            ("ce_weight", &["logits", "targets", "weight5"], &|t| {
                cross_entropy(&t[0], &t[1], ce(Some(&t[2]), red, 0.0))
            }),
            ("ce_smooth", &["logits", "targets"], &|t| {
                cross_entropy(&t[0], &t[1], ce(None, red, 0.2))
            }),
            (
                "ce_weight_smooth",
                &["logits", "targets", "weight5"],
                &|t| cross_entropy(&t[0], &t[1], ce(Some(&t[2]), red, 0.1)),
            ),
            ("ce_spatial", &["spatial", "spatial_targets"], &|t| {
                cross_entropy(&t[0], &t[1], ce(None, red, 0.1))
            }),
            ("ce_probs", &["logits", "probs"], &|t| {
                cross_entropy(&t[0], &t[1], ce(None, red, 0.0))
            }),
            (
                "ce_probs_weight_smooth",
                &["logits", "probs", "weight5"],
                &|t| cross_entropy(&t[0], &t[1], ce(Some(&t[2]), red, 0.3)),
            ),
        ];
        for (case, bases, op) in cases {
            check(&format!("{case}_{red}"), bases, "id", op);
        }
    }
    let plain: LossFn = &|t| cross_entropy(&t[0], &t[1], CrossEntropyOptions::default());
    check("ce_single", &["single", "single_target"], "id", plain);
    check("ce", &["logits", "targets"], "flip", plain);
    check("ce", &["logits", "targets_t"], "t", plain);
}

#[test]
fn nll_and_regression_losses_match_pytorch() {
    for red in REDUCTIONS {
        let r: Reduction = red.parse().unwrap();
        let nll = |w: Option<&Tensor>| NllLossOptions {
            weight: w.cloned(),
            reduction: r,
            ..Default::default()
        };
        let cases: [(&str, &[&str], LossFn); 4] = [
            ("nll", &["logp", "targets"], &|t| {
                nll_loss(&t[0], &t[1], nll(None))
            }),
            ("nll_weight", &["logp", "targets", "weight5"], &|t| {
                nll_loss(&t[0], &t[1], nll(Some(&t[2])))
            }),
            ("mse", &["x45", "y45"], &|t| mse_loss(&t[0], &t[1], r)),
            ("l1", &["x45", "y45"], &|t| l1_loss(&t[0], &t[1], r)),
        ];
        for (case, bases, op) in cases {
            check(&format!("{case}_{red}"), bases, "id", op);
        }
    }
    check("mse_broadcast", &["x45", "y5"], "id", &|t| {
        mse_loss(&t[0], &t[1], Reduction::Mean)
    });
}

#[test]
fn binary_cross_entropies_match_pytorch() {
    for red in REDUCTIONS {
        let r: Reduction = red.parse().unwrap();
        let cases: [(&str, &[&str], LossFn); 4] = [
            ("bce", &["p45", "t45"], &|t| {
                binary_cross_entropy(
                    &t[0],
                    &t[1],
                    BceOptions {
                        weight: None,
                        reduction: r,
                    },
                )
            }),
            ("bce_weight", &["p45", "t45", "w45"], &|t| {
                binary_cross_entropy(
                    &t[0],
                    &t[1],
                    BceOptions {
                        weight: Some(t[2].clone()),
                        reduction: r,
                    },
                )
            }),
            ("bcel", &["x45", "t45"], &|t| {
                binary_cross_entropy_with_logits(
                    &t[0],
                    &t[1],
                    BceWithLogitsOptions {
                        reduction: r,
                        ..Default::default()
                    },
                )
            }),
            ("bcel_pos_weight", &["x45", "t45", "w45", "pos5"], &|t| {
                let opts = BceWithLogitsOptions {
                    weight: Some(t[2].clone()),
                    pos_weight: Some(t[3].clone()),
                    reduction: r,
                };
                binary_cross_entropy_with_logits(&t[0], &t[1], opts)
            }),
        ];
        for (case, bases, op) in cases {
            check(&format!("{case}_{red}"), bases, "id", op);
        }
    }
}

#[test]
fn huge_logits_give_no_nan_or_inf() {
    let x = Tensor::from_vec(vec![1e4f32, -1e4, 0.0, 1e4, 1e4, 1e4], &[2, 3]).unwrap();
    for t in [
        x.softmax(1).unwrap(),
        x.log_softmax(1).unwrap(),
        x.softmax(0).unwrap(),
        x.log_softmax(0).unwrap(),
    ] {
        assert!(t.to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
    }
    assert_eq!(
        x.log_softmax(1).unwrap().to_vec::<f32>().unwrap()[..3],
        [0.0, -2e4, -1e4]
    );
    let target = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let leaf = x.requires_grad_(true).unwrap();
    let loss = cross_entropy(&leaf, &target, CrossEntropyOptions::default()).unwrap();
    // Sample 0 puts probability ~0 on its target: loss 2e4 / 2, plus ln 3 / 2.
    assert!((loss.item::<f32>().unwrap() - (1e4 + 3f32.ln() / 2.0)).abs() < 1e-2);
    loss.backward().unwrap();
    assert!(leaf
        .grad()
        .unwrap()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .all(|v| v.is_finite()));
}

/// Softmax by its definition in f64, along the last dim.
fn naive_softmax(row: &[f64]) -> Vec<f64> {
    let m = row.iter().cloned().fold(f64::MIN, f64::max);
    let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
    row.iter().map(|v| (v - m).exp() / s).collect()
}

#[test]
fn large_batches_take_the_parallel_paths_and_match_the_definition() {
    let x = Tensor::randn_with(&[512, 100], DType::F64, &mut Generator::new(11)).unwrap();
    let data = x.to_vec::<f64>().unwrap();
    let got = x.softmax(-1).unwrap().to_vec::<f64>().unwrap();
    let want: Vec<f64> = data.chunks(100).flat_map(naive_softmax).collect();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-14);
    }
    let targets: Vec<i64> = (0..512).map(|i| (i * 37 % 100) as i64).collect();
    let target = Tensor::from_vec(targets.clone(), &[512]).unwrap();
    let leaf = x.requires_grad_(true).unwrap();
    let loss = cross_entropy(&leaf, &target, CrossEntropyOptions::default()).unwrap();
    let want_loss: f64 = want
        .chunks(100)
        .zip(&targets)
        .map(|(p, &t)| -p[t as usize].ln())
        .sum::<f64>()
        / 512.0;
    assert!((loss.item::<f64>().unwrap() - want_loss).abs() < 1e-12);
    loss.backward().unwrap();
    let g = leaf.grad().unwrap().to_vec::<f64>().unwrap();
    for (i, (g, p)) in g.iter().zip(&want).enumerate() {
        let hot = if (i % 100) as i64 == targets[i / 100] {
            1.0
        } else {
            0.0
        };
        assert!((g - (p - hot) / 512.0).abs() < 1e-15, "grad[{i}]");
    }
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn_with(shape, DType::F64, &mut Generator::new(seed)).unwrap()
}

/// gradcheck of `f` over `inputs`, and of the gradient of `Σ f · w` with
/// respect to the first input (second order, through `create_graph`).
fn gradcheck_twice(f: &dyn Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor], what: &str) {
    gradcheck(f, inputs, 1e-6, 1e-5, 1e-3).unwrap_or_else(|e| panic!("{what}: {e}"));
    let second = |t: &[Tensor]| {
        let _recording = enable_grad();
        let x = if t[0].requires_grad() {
            t[0].clone()
        } else {
            t[0].requires_grad_(true)?
        };
        let mut args = t.to_vec();
        args[0] = x.clone();
        let out = f(&args)?;
        let loss = out.try_mul(&weights_like(&out))?.sum()?;
        let opts = GradOptions {
            create_graph: true,
            ..Default::default()
        };
        Ok(grad(&[loss], &[x], opts)?[0].clone().expect("a gradient"))
    };
    gradcheck(second, inputs, 1e-6, 1e-5, 1e-3)
        .unwrap_or_else(|e| panic!("{what} (second order): {e}"));
}

#[test]
fn losses_pass_gradcheck_first_and_second_order() {
    let x = randn(&[4, 5], 1).requires_grad_(true).unwrap();
    let t = Tensor::from_vec(vec![1i64, -100, 4, 0], &[4]).unwrap();
    let w = Tensor::from_vec(vec![0.5, 1.0, 2.0, 1.5, 0.7], &[5]).unwrap();
    gradcheck_twice(&|a| a[0].softmax(1), std::slice::from_ref(&x), "softmax");
    gradcheck_twice(
        &|a| a[0].log_softmax(0),
        std::slice::from_ref(&x),
        "log_softmax",
    );
    for red in REDUCTIONS {
        let opts = ce(Some(&w), red, 0.15);
        gradcheck_twice(
            &|a| cross_entropy(&a[0], &t, opts.clone()),
            std::slice::from_ref(&x),
            "cross_entropy",
        );
    }
    let probs = randn(&[4, 5], 2)
        .softmax(1)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    gradcheck_twice(
        &|a| cross_entropy(&a[0], &a[1], ce(None, "mean", 0.1)),
        &[x.clone(), probs],
        "cross_entropy probs",
    );
    let y = randn(&[4, 5], 3).requires_grad_(true).unwrap();
    gradcheck_twice(
        &|a| mse_loss(&a[0], &a[1], Reduction::Sum),
        &[x.clone(), y.clone()],
        "mse",
    );
    gradcheck(
        |a| l1_loss(&a[0], &a[1], Reduction::Mean),
        &[x.clone(), y.clone()],
        1e-6,
        1e-5,
        1e-3,
    )
    .unwrap();
    let p = randn(&[4, 5], 4)
        .sigmoid()
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let q = randn(&[4, 5], 5)
        .sigmoid()
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    gradcheck_twice(
        &|a| binary_cross_entropy(&a[0], &a[1], BceOptions::default()),
        &[p, q.clone()],
        "bce",
    );
    let pw = Tensor::from_vec(vec![0.5, 2.0, 1.0, 3.0, 0.1], &[5]).unwrap();
    let opts = BceWithLogitsOptions {
        pos_weight: Some(pw),
        ..Default::default()
    };
    gradcheck_twice(
        &|a| binary_cross_entropy_with_logits(&a[0], &a[1], opts.clone()),
        &[x.clone(), q],
        "bce_with_logits",
    );
    let logp = x
        .log_softmax(1)
        .unwrap()
        .detach()
        .requires_grad_(true)
        .unwrap();
    gradcheck(
        |a| nll_loss(&a[0], &t, NllLossOptions::default()),
        &[logp],
        1e-6,
        1e-5,
        1e-3,
    )
    .unwrap();
}

#[test]
fn bad_inputs_name_the_problem() {
    let x = Tensor::zeros(&[3, 10], DType::F32).unwrap();
    let msg = |r: Result<Tensor>| r.unwrap_err().to_string();
    let ce_default = |t: &Tensor| msg(cross_entropy(&x, t, CrossEntropyOptions::default()));
    let e = ce_default(&Tensor::from_vec(vec![1i64, 12, 3], &[3]).unwrap());
    assert!(
        e.contains("Target 12 is out of bounds.") && e.contains("10 classes"),
        "{e}"
    );
    assert!(
        ce_default(&Tensor::from_vec(vec![1i64, 2, -3], &[3]).unwrap())
            .contains("Target -3 is out of bounds.")
    );
    let e = ce_default(&Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap());
    assert!(
        e.contains("expected scalar type Long but found Float"),
        "{e}"
    );
    let e = ce_default(&Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap());
    assert!(e.contains("expected scalar type Long but found Int"), "{e}");
    let e = ce_default(&Tensor::from_vec(vec![1i64, 2, 3, 4], &[4]).unwrap());
    assert!(
        e.contains("Expected input batch_size (3) to match target batch_size (4).")
            && e.contains("[3, 10]"),
        "{e}"
    );
    assert!(ce_default(&Tensor::zeros(&[3, 2], DType::I64).unwrap())
        .contains("0D or 1D target tensor expected, multi-target not supported"));
    let spatial = Tensor::zeros(&[2, 3, 4], DType::F32).unwrap();
    let e = msg(cross_entropy(
        &spatial,
        &Tensor::zeros(&[2, 5], DType::I64).unwrap(),
        CrossEntropyOptions::default(),
    ));
    assert!(e.contains("Expected target size [2, 4], got [2, 5]"), "{e}");
    let t = Tensor::from_vec(vec![1i64, 2, 3], &[3]).unwrap();
    let e = msg(cross_entropy(
        &x,
        &t,
        CrossEntropyOptions {
            label_smoothing: 1.5,
            ..Default::default()
        },
    ));
    assert!(e.contains("label_smoothing must be between 0.0 and 1.0. Got: 1.5"));
    let weight = Some(Tensor::ones(&[5], DType::F32).unwrap());
    let e = msg(cross_entropy(
        &x,
        &t,
        CrossEntropyOptions {
            weight,
            ..Default::default()
        },
    ));
    assert!(e.contains("weight tensor should be defined either for all 10 classes or no classes but got weight tensor of shape: [5]"));
    let e = msg(cross_entropy(
        &x.long().unwrap(),
        &t,
        CrossEntropyOptions::default(),
    ));
    assert!(
        e.contains("\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
        "{e}"
    );
    assert!(msg(x.softmax(2))
        .contains("Dimension out of range (expected to be in range of [-2, 1], but got 2)"));
    assert!(msg(nll_loss(
        &x,
        &Tensor::from_vec(vec![0i64, 10, 1], &[3]).unwrap(),
        NllLossOptions::default()
    ))
    .contains("Target 10 is out of bounds."));
    assert!("avg"
        .parse::<Reduction>()
        .unwrap_err()
        .to_string()
        .contains("avg is not a valid value for reduction"));
    let (p3, p4) = (
        Tensor::full(&[3], 0.5, DType::F32).unwrap(),
        Tensor::full(&[4], 0.5, DType::F32).unwrap(),
    );
    assert!(msg(mse_loss(&p3, &p4, Reduction::Mean))
        .contains("The size of tensor a (3) must match the size of tensor b (4)"));
    assert!(
        msg(binary_cross_entropy(&p3, &p4, BceOptions::default())).contains(
            "Using a target size ([4]) that is different to the input size ([3]) is deprecated"
        )
    );
    assert!(msg(binary_cross_entropy(
        &p3.try_add(1.0).unwrap(),
        &p3,
        BceOptions::default()
    ))
    .contains("all elements of input should be between 0 and 1"));
    assert!(msg(binary_cross_entropy(
        &p3,
        &p3.long().unwrap(),
        BceOptions::default()
    ))
    .contains("Found dtype Long but expected Float"));
    assert!(msg(binary_cross_entropy_with_logits(
        &p3,
        &p4,
        BceWithLogitsOptions::default()
    ))
    .contains("Target size ([4]) must be the same as input size ([3])"));
}

#[test]
fn ignored_samples_and_node_names_follow_pytorch() {
    let x = randn(&[3, 4], 9).requires_grad_(true).unwrap();
    let t = Tensor::from_vec(vec![-100i64, 2, -100], &[3]).unwrap();
    let loss = cross_entropy(&x, &t, CrossEntropyOptions::default()).unwrap();
    assert_eq!(loss.grad_fn().unwrap().name(), "NllLossBackward0");
    loss.backward().unwrap();
    let g = x.grad().unwrap().to_vec::<f64>().unwrap();
    assert!(g[..4].iter().chain(&g[8..]).all(|&v| v == 0.0));
    let all_ignored = Tensor::full(&[3], -100i64, DType::I64).unwrap();
    assert!(
        cross_entropy(&x, &all_ignored, CrossEntropyOptions::default())
            .unwrap()
            .item::<f64>()
            .unwrap()
            .is_nan()
    );
    let name = |t: Tensor| t.grad_fn().unwrap().name();
    assert_eq!(name(x.softmax(0).unwrap()), "SoftmaxBackward0");
    assert_eq!(name(x.log_softmax(0).unwrap()), "LogSoftmaxBackward0");
    let custom = CrossEntropyOptions {
        ignore_index: 2,
        reduction: Reduction::Sum,
        ..Default::default()
    };
    let only_ignored = Tensor::from_vec(vec![2i64, 2, 2], &[3]).unwrap();
    assert_eq!(
        cross_entropy(&x, &only_ignored, custom)
            .unwrap()
            .item::<f64>()
            .unwrap(),
        0.0
    );
}
