//! The rules of the autograd graph, each shown with real ops, and each
//! error message PyTorch users know.
#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in tests

use ferrograd_autograd::*;

fn leaf(data: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_slice(data, shape)
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

fn values(t: &Tensor) -> Vec<f64> {
    t.to_vec::<f64>().unwrap()
}

#[test]
fn only_floating_tensors_can_require_grad() {
    for dtype in [DType::I64, DType::I32, DType::U8, DType::Bool] {
        let e = Tensor::zeros(&[2], dtype)
            .unwrap()
            .requires_grad_(true)
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("only Tensors of floating point dtype can require gradients"),
            "{e}"
        );
    }
    assert!(Tensor::zeros(&[2], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap()
        .requires_grad());
}

#[test]
fn results_carry_named_grad_fns_and_leaves_do_not() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = &x * 3.0;
    assert!(x.is_leaf() && !y.is_leaf());
    assert_eq!(y.grad_fn().unwrap().name(), "MulBackward0");
    assert_eq!((&y + &x).grad_fn().unwrap().name(), "AddBackward0");
    assert_eq!(y.sum().unwrap().grad_fn().unwrap().name(), "SumBackward0");
    let m = leaf(&[1.0, 2.0], &[1, 2]);
    assert_eq!(m.t().unwrap().grad_fn().unwrap().name(), "TBackward0");
    let next = y.grad_fn().unwrap();
    assert_eq!(
        next.next_functions()[0].as_ref().unwrap().name(),
        "AccumulateGrad"
    );
    // Ops on tensors that don't require grad record nothing.
    let c = Tensor::from_slice(&[1.0f64], &[1]).unwrap();
    assert!((&c * 2.0).is_leaf());
}

#[test]
fn backward_needs_a_scalar_or_an_explicit_gradient() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = &x * &x;
    let e = y.backward().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("grad can be implicitly created only for scalar outputs"),
        "{e}"
    );
    y.backward_with(&Tensor::from_slice(&[1.0f64, 10.0], &[2]).unwrap())
        .unwrap();
    assert_eq!(values(&x.grad().unwrap()), vec![2.0, 40.0]);
    let wrong = Tensor::from_slice(&[1.0f64], &[1]).unwrap();
    let e = (&x * 2.0).backward_with(&wrong).unwrap_err();
    assert!(e.to_string().contains("Mismatch in shape"), "{e}");
    let plain = Tensor::from_slice(&[1.0f64], &[1]).unwrap();
    let e = plain.sum().unwrap().backward().unwrap_err();
    assert!(e
        .to_string()
        .starts_with("element 0 of tensors does not require grad and does not have a grad_fn"));
}

#[test]
fn gradients_accumulate_across_calls_until_cleared() {
    let x = leaf(&[1.0, -2.0], &[2]);
    for _ in 0..3 {
        (&x * 5.0).sum().unwrap().backward().unwrap();
    }
    assert_eq!(values(&x.grad().unwrap()), vec![15.0, 15.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
    (&x * &x).sum().unwrap().backward().unwrap();
    assert_eq!(values(&x.grad().unwrap()), vec![2.0, -4.0]);
}

#[test]
fn a_leaf_used_twice_gets_both_contributions() {
    let x = leaf(&[3.0], &[1]);
    let y = (&(&x * &x) + &x).sum().unwrap(); // x² + x
    y.backward().unwrap();
    assert_eq!(values(&x.grad().unwrap()), vec![7.0]);
}

#[test]
fn second_backward_fails_unless_the_graph_is_retained() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = (&x * &x).sum().unwrap();
    y.backward().unwrap();
    let e = y.backward().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Trying to backward through the graph a second time"),
        "{e}"
    );
    let z = (&x * &x).sum().unwrap();
    z.backward_with_options(BackwardOptions {
        retain_graph: true,
        ..Default::default()
    })
    .unwrap();
    z.backward().unwrap();
    // 2x from y, then 2x twice from z.
    assert_eq!(values(&x.grad().unwrap()), vec![6.0, 12.0]);
}

#[test]
fn create_graph_gives_higher_derivatives() {
    // d²/dx² x³ = 6x
    let x = leaf(&[2.0, -1.0], &[2]);
    let y = (&(&x * &x) * &x).sum().unwrap();
    let dy = grad(
        &[y],
        &[x.clone()],
        GradOptions {
            create_graph: true,
            ..Default::default()
        },
    )
    .unwrap()[0]
        .clone()
        .unwrap();
    assert_eq!(values(&dy), vec![12.0, 3.0]);
    assert!(dy.requires_grad());
    dy.sum().unwrap().backward().unwrap();
    assert_eq!(values(&x.grad().unwrap()), vec![12.0, -6.0]);
}

#[test]
fn hessian_vector_product_matches_the_hand_computed_one() {
    // f(x) = x0² x1 + x1³, H = [[2x1, 2x0], [2x0, 6x1]]
    let x = leaf(&[1.5, -0.5], &[2]);
    let x0 = x.select(0, 0).unwrap();
    let x1 = x.select(0, 1).unwrap();
    let f = &(&(&x0 * &x0) * &x1) + &(&(&x1 * &x1) * &x1);
    let g = grad(
        &[f],
        &[x.clone()],
        GradOptions {
            create_graph: true,
            ..Default::default()
        },
    )
    .unwrap()[0]
        .clone()
        .unwrap();
    let v = Tensor::from_slice(&[0.3f64, -2.0], &[2]).unwrap();
    let gv = (&g * &v).sum().unwrap();
    let hv = grad(&[gv], &[x.clone()], GradOptions::default()).unwrap()[0]
        .clone()
        .unwrap();
    let (a, b) = (1.5, -0.5);
    let expected = [
        2.0 * b * 0.3 + 2.0 * a * -2.0,
        2.0 * a * 0.3 + 6.0 * b * -2.0,
    ];
    for (got, want) in values(&hv).iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}

#[test]
fn functional_grad_reports_unused_inputs() {
    let x = leaf(&[1.0], &[1]);
    let unused = leaf(&[1.0], &[1]);
    let y = (&x * 2.0).sum().unwrap();
    let e = grad(
        &[y.clone()],
        &[x.clone(), unused.clone()],
        GradOptions {
            retain_graph: Some(true),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("appears to not have been used in the graph"),
        "{e}"
    );
    let gs = grad(
        &[y],
        &[x.clone(), unused],
        GradOptions {
            allow_unused: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(values(gs[0].as_ref().unwrap()), vec![2.0]);
    assert!(gs[1].is_none());
    assert!(x.grad().is_none(), "grad() must not accumulate into .grad");
}

#[test]
fn a_chain_of_100k_ops_neither_overflows_backward_nor_drop() {
    let x = leaf(&[1.0], &[1]);
    let mut h = x.clone();
    for _ in 0..100_000 {
        h = &h * 1.0;
    }
    h.sum().unwrap().backward().unwrap();
    assert_eq!(values(&x.grad().unwrap()), vec![1.0]);
    let mut h = x.clone();
    for _ in 0..100_000 {
        h = &h + 0.0;
    }
    drop(h); // never backwarded: the whole graph is dropped at once
}

#[test]
fn non_leaf_grads_are_kept_only_when_retained() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = &x * 2.0;
    let z = &y * 3.0;
    y.retain_grad().unwrap();
    assert!(y.retains_grad());
    let w = &x * 4.0;
    (&z.sum().unwrap() + &w.sum().unwrap()).backward().unwrap();
    assert_eq!(values(&y.grad().unwrap()), vec![3.0, 3.0]);
    assert!(w.grad().is_none());
    let e = Tensor::from_slice(&[1.0f64], &[1])
        .unwrap()
        .retain_grad()
        .unwrap_err();
    assert!(e.to_string().contains("requires_grad=False"));
}

#[test]
fn detach_shares_memory_and_version_but_not_history() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = &x * 2.0;
    let d = y.detach();
    assert!(d.shares_storage(&y) && d.is_leaf() && !d.requires_grad());
    with_no_grad(|| d.add_(1.0)).unwrap();
    assert_eq!(y.version(), 1, "detach shares the version counter");
    assert_eq!(values(&y), vec![3.0, 5.0], "detach shares memory");
    let z = &x * 3.0;
    z.detach_();
    assert!(z.is_leaf() && !z.requires_grad());
}

#[test]
fn no_grad_records_nothing_and_enable_grad_nests_inside() {
    let x = leaf(&[1.0], &[1]);
    let _outer = no_grad();
    let y = &x * 2.0;
    assert!(y.is_leaf() && !y.requires_grad());
    let z = {
        let _inner = enable_grad();
        &x * 2.0
    };
    assert!(z.requires_grad());
    assert!(!is_grad_enabled());
}

#[test]
fn set_grad_enabled_switches_recording() {
    let x = leaf(&[1.0], &[1]);
    let g = set_grad_enabled(false);
    assert!(!(&x * 2.0).requires_grad());
    drop(g);
    assert!((&x * 2.0).requires_grad());
}

#[test]
fn views_share_the_version_counter() {
    let t = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let v = t.select(0, 1).unwrap();
    let before = t.version();
    v.add_(1.0).unwrap();
    assert_eq!(t.version(), before + 1);
    assert_eq!(v.version(), t.version());
    assert_eq!(
        t.to_vec::<f32>().unwrap(),
        vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    );
}

#[test]
fn modifying_a_saved_tensor_fails_backward_with_pytorchs_message() {
    let a = Tensor::full(&[6, 5], 0.5, DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let a2 = &a * 1.0;
    let b = a2.t().unwrap(); // [5, 6], output 0 of TBackward0
    with_no_grad(|| b.add_(1.0)).unwrap(); // version 1
    let y = &b * &b; // saves b at version 1
    with_no_grad(|| b.add_(1.0)).unwrap(); // version 2
    let e = y.sum().unwrap().backward().unwrap_err();
    assert!(
        e.to_string().starts_with(
            "one of the variables needed for gradient computation has been modified by an inplace operation: [Float [5, 6]], which is output 0 of TBackward0, is at version 2; expected version 1 instead."
        ),
        "{e}"
    );
}

#[test]
fn modifying_a_saved_leaf_fails_backward() {
    let w = leaf(&[1.0, 2.0], &[2]);
    let y = (&w * &w).sum().unwrap();
    with_no_grad(|| w.add_(1.0)).unwrap();
    let e = y.backward().unwrap_err();
    assert!(
        e.to_string()
            .contains("[Double [2]] is at version 1; expected version 0 instead"),
        "{e}"
    );
}

#[test]
fn in_place_on_a_leaf_that_requires_grad_is_refused_unless_no_grad() {
    let w = leaf(&[1.0, 2.0], &[2]);
    let e = w.add_(1.0).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("a leaf Variable that requires grad is being used in an in-place operation."));
    let e = w.narrow(0, 0, 1).unwrap().mul_(2.0).unwrap_err();
    assert!(e.to_string().starts_with(
        "a view of a leaf Variable that requires grad is being used in an in-place operation."
    ));
    // Optimizers update under no_grad.
    with_no_grad(|| w.sub_(&Tensor::from_slice(&[0.5f64, 0.5], &[2]).unwrap())).unwrap();
    assert_eq!(values(&w), vec![0.5, 1.5]);
    assert!(w.requires_grad() && w.is_leaf());
}

#[test]
fn in_place_ops_on_non_leaves_extend_the_graph() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = &x * 2.0;
    y.add_(1.0).unwrap();
    y.mul_(3.0).unwrap();
    assert_eq!(y.grad_fn().unwrap().name(), "MulBackward0");
    y.sum().unwrap().backward().unwrap();
    assert_eq!(values(&x.grad().unwrap()), vec![6.0, 6.0]);
    assert_eq!(values(&y), vec![9.0, 15.0]);
}

#[test]
fn in_place_mul_by_a_tensor_that_requires_grad_uses_the_old_value() {
    let x = leaf(&[2.0, 3.0], &[2]);
    let w = leaf(&[5.0, 7.0], &[2]);
    let y = &x * 1.0;
    y.mul_(&w).unwrap();
    y.sum().unwrap().backward().unwrap();
    assert_eq!(values(&w.grad().unwrap()), vec![2.0, 3.0]);
    assert_eq!(values(&x.grad().unwrap()), vec![5.0, 7.0]);
}

#[test]
fn hooks_read_and_replace_gradients() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = &x * 2.0;
    let log = seen.clone();
    y.register_hook(move |g| {
        log.lock().unwrap().push(g.to_vec::<f64>().unwrap());
        None
    })
    .unwrap();
    x.register_hook(|g| Some(g * 100.0)).unwrap();
    (&y * 3.0).sum().unwrap().backward().unwrap();
    assert_eq!(seen.lock().unwrap().clone(), vec![vec![3.0, 3.0]]);
    assert_eq!(values(&x.grad().unwrap()), vec![600.0, 600.0]);
    let e = Tensor::from_slice(&[1.0f64], &[1])
        .unwrap()
        .register_hook(|_| None)
        .unwrap_err();
    assert!(e.to_string().contains("doesn't require gradient"));
}

#[test]
fn two_threads_build_and_backward_separate_graphs() {
    let handles: Vec<_> = (0..2)
        .map(|k| {
            std::thread::spawn(move || {
                let x = leaf(&[k as f64 + 1.0], &[1]);
                let mut h = x.clone();
                for _ in 0..2000 {
                    h = &(&h * 1.0) + 0.0;
                }
                (&h * &h).sum().unwrap().backward().unwrap();
                values(&x.grad().unwrap())[0]
            })
        })
        .collect();
    let got: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec![2.0, 4.0]);
}

#[test]
fn tensors_move_between_threads() {
    let x = leaf(&[3.0], &[1]);
    let y = &x * &x;
    let handle = std::thread::spawn(move || {
        y.sum().unwrap().backward().unwrap();
    });
    handle.join().unwrap();
    assert_eq!(values(&x.grad().unwrap()), vec![6.0]);
}

#[test]
fn mixed_dtype_gradients_come_back_in_each_inputs_dtype() {
    let a = Tensor::from_slice(&[1.0f32, 2.0], &[2])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let b = leaf(&[3.0], &[1]);
    let y = &a * &b; // f64 result, broadcast
    assert_eq!(y.dtype(), DType::F64);
    y.sum().unwrap().backward().unwrap();
    assert_eq!(a.grad().unwrap().dtype(), DType::F32);
    assert_eq!(a.grad().unwrap().to_vec::<f32>().unwrap(), vec![3.0, 3.0]);
    assert_eq!(values(&b.grad().unwrap()), vec![3.0]);
}
