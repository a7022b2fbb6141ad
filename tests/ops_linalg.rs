//! matmul, mm, bmm, mv, dot and linear: values and gradients against
//! PyTorch's (tests/fixtures/linalg.npz, written by make_linalg.py) on
//! contiguous, transposed, flipped and broadcast operands; against a naive
//! loop on sizes that take the threaded paths; gradcheck in f64 (first and
//! second order); and every bad-input message.

use ferrograd::autograd::gradcheck;
use ferrograd::interop::npz::load_npz;
use ferrograd::ops::matmul::linear;
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixture() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/linalg.npz");
        load_npz(path).unwrap().into_iter().collect()
    })
}

fn get(name: &str) -> Tensor {
    fixture()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in linalg.npz"))
        .clone()
}

fn has(name: &str) -> bool {
    fixture().contains_key(name)
}

/// `sin(0), sin(1), ...` shaped like `out`: the weights of the fixture's loss.
fn loss_weights(out: &Tensor) -> Tensor {
    let w: Vec<f64> = (0..out.numel()).map(|i| (i as f64).sin()).collect();
    Tensor::from_vec(w, out.shape())
        .unwrap()
        .to_dtype(out.dtype())
        .unwrap()
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (
        got.double().unwrap().to_vec::<f64>().unwrap(),
        want.double().unwrap().to_vec::<f64>().unwrap(),
    );
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}[{i}]: got {a}, want {b}"
        );
    }
}

type View = fn(&Tensor) -> Tensor;

fn ident(t: &Tensor) -> Tensor {
    t.clone()
}
fn tr(t: &Tensor) -> Tensor {
    t.transpose(-1, -2).unwrap()
}
fn flip0(t: &Tensor) -> Tensor {
    t.flip(&[0]).unwrap()
}
fn flip1(t: &Tensor) -> Tensor {
    t.flip(&[1]).unwrap()
}
fn flip2(t: &Tensor) -> Tensor {
    t.flip(&[2]).unwrap()
}
fn swap01(t: &Tensor) -> Tensor {
    t.transpose(0, 1).unwrap()
}

/// Runs `op` on the fixture's operands of `case` (through `views`) and
/// compares the output and the gradients of the fixture's loss.
fn check_case(case: &str, views: &[View], op: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let keys = ["a", "b", "bias"];
    let leaves: Vec<Tensor> = keys[..views.len()]
        .iter()
        .map(|k| {
            let base = get(&format!("{case}.{k}"));
            if base.dtype().is_floating_point() {
                base.requires_grad_(true).unwrap()
            } else {
                base
            }
        })
        .collect();
    let operands: Vec<Tensor> = leaves.iter().zip(views).map(|(l, v)| v(l)).collect();
    let out = op(&operands).unwrap();
    let tol = if out.dtype() == DType::F32 {
        1e-5
    } else {
        1e-12
    };
    assert_close(&out, &get(&format!("{case}.out")), tol, case);
    assert_eq!(
        out.dtype(),
        get(&format!("{case}.out")).dtype(),
        "{case}: dtype"
    );
    if !out.dtype().is_floating_point() {
        return;
    }
    out.try_mul(&loss_weights(&out))
        .unwrap()
        .sum_dims(&[], false)
        .unwrap()
        .backward()
        .unwrap();
    for (leaf, g) in leaves.iter().zip(["ga", "gb", "gbias"]) {
        let name = format!("{case}.{g}");
        if has(&name) {
            assert_close(&leaf.grad().expect("a gradient"), &get(&name), tol, &name);
        }
    }
}

#[test]
fn products_match_pytorch_on_any_layout() {
    let matmul = |t: &[Tensor]| t[0].matmul(&t[1]);
    check_case("mm", &[ident, ident], |t| t[0].mm(&t[1]));
    check_case("mm_transposed", &[tr, tr], |t| t[0].mm(&t[1]));
    check_case("mm_flipped", &[flip0, flip1], |t| t[0].mm(&t[1]));
    check_case("dot", &[ident, ident], matmul);
    check_case("mv", &[ident, ident], matmul);
    check_case("vm", &[ident, ident], matmul);
    check_case("batched_vec_left", &[ident, ident], matmul);
    check_case("batched_vec_right", &[ident, ident], matmul);
    check_case("folded", &[ident, ident], matmul);
    check_case("folded_transposed", &[swap01, tr], matmul);
    check_case("broadcast", &[ident, ident], matmul);
    check_case("broadcast_left_matrix", &[ident, ident], matmul);
    check_case("bmm", &[ident, flip2], |t| t[0].bmm(&t[1]));
    check_case("int64", &[ident, ident], matmul);
    check_case("int32", &[ident, tr], |t| t[0].mm(&t[1]));
}

#[test]
fn linear_matches_pytorch() {
    let with_bias = |t: &[Tensor]| linear(&t[0], &t[1], Some(&t[2]));
    check_case("linear", &[ident, ident, ident], with_bias);
    check_case("linear_3d", &[ident, ident, ident], with_bias);
    check_case("linear_1d", &[ident, ident, ident], with_bias);
    check_case("linear_transposed_weight", &[flip0, tr, ident], with_bias);
    check_case("linear_no_bias", &[ident, ident], |t| {
        linear(&t[0], &t[1], None)
    });
    check_case("linear_f32", &[ident, ident, ident], with_bias);
}

/// `a · b` by the definition, in f64, for 2-D `a` and `b`.
fn naive_mm(a: &Tensor, b: &Tensor) -> Tensor {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let (x, y) = (
        a.double().unwrap().to_vec::<f64>().unwrap(),
        b.double().unwrap().to_vec::<f64>().unwrap(),
    );
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|p| x[i * k + p] * y[p * n + j]).sum();
        }
    }
    Tensor::from_vec(out, &[m, n]).unwrap()
}

#[test]
fn large_products_on_the_threaded_paths_match_a_naive_loop() {
    manual_seed(7);
    let a = Tensor::randn(&[300, 200], DType::F32).unwrap();
    let b = Tensor::randn(&[170, 200], DType::F32).unwrap();
    // Split by the gemm crate across threads (both sides ≥ 128), operands through negative and swapped strides.
    let got = a.flip(&[0]).unwrap().matmul(&b.t().unwrap()).unwrap();
    assert_close(
        &got,
        &naive_mm(
            &a.flip(&[0]).unwrap().contiguous().unwrap(),
            &b.t().unwrap().contiguous().unwrap(),
        ),
        1e-4,
        "f32 300x200x170",
    );
    // Integer rows split across rayon.
    let ai = Tensor::randint(-5, 5, &[90, 80]).unwrap();
    let bi = Tensor::randint(-5, 5, &[80, 70]).unwrap();
    let want = naive_mm(&ai, &bi).long().unwrap();
    assert_eq!(
        ai.mm(&bi).unwrap().to_vec::<i64>().unwrap(),
        want.to_vec::<i64>().unwrap()
    );
    // Many small products across rayon, one batch operand broadcast with stride 0.
    let x = Tensor::randn(&[64, 20, 30], DType::F64).unwrap();
    let y = Tensor::randn(&[30, 10], DType::F64)
        .unwrap()
        .expand(&[64, 30, 10])
        .unwrap();
    let got = x.bmm(&y).unwrap();
    for i in [0isize, 31, 63] {
        let want = naive_mm(&x.select(0, i).unwrap(), &y.select(0, i).unwrap());
        assert_close(&got.select(0, i).unwrap(), &want, 1e-12, "bmm entry");
    }
}

fn leaf(shape: &[usize]) -> Tensor {
    Tensor::randn(shape, DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

#[test]
fn gradients_pass_gradcheck() {
    manual_seed(1);
    let pairs: [(&[usize], &[usize]); 7] = [
        (&[3, 4], &[4, 2]),
        (&[4], &[4]),
        (&[3, 4], &[4]),
        (&[4], &[4, 2]),
        (&[2, 3, 4], &[4, 2]),
        (&[2, 1, 3, 4], &[3, 4, 2]),
        (&[4], &[2, 4, 3]),
    ];
    for (sa, sb) in pairs {
        let f = |t: &[Tensor]| t[0].matmul(&t[1]);
        gradcheck(f, &[leaf(sa), leaf(sb)], 1e-6, 1e-7, 1e-5)
            .unwrap_or_else(|e| panic!("{sa:?} @ {sb:?}: {e}"));
    }
    let f = |t: &[Tensor]| t[0].transpose(1, 2)?.bmm(&t[1]);
    gradcheck(
        |t| f(&[t[0].transpose(0, 2)?, t[1].clone()]),
        &[leaf(&[3, 2, 2]), leaf(&[2, 2, 4])],
        1e-6,
        1e-7,
        1e-5,
    )
    .unwrap_or_else(|e| panic!("bmm of a permuted operand: {e}"));
    let lin = |t: &[Tensor]| linear(&t[0], &t[1], Some(&t[2]));
    gradcheck(
        lin,
        &[leaf(&[2, 3, 4]), leaf(&[5, 4]), leaf(&[5])],
        1e-6,
        1e-7,
        1e-5,
    )
    .unwrap();
    let broadcast_bias = |t: &[Tensor]| linear(&t[0], &t[1], Some(&t[2]));
    gradcheck(
        broadcast_bias,
        &[leaf(&[3, 4]), leaf(&[5, 4]), leaf(&[3, 1])],
        1e-6,
        1e-7,
        1e-5,
    )
    .unwrap();
}

/// `t` as a tensor that requires grad (gradcheck's perturbed copies do not),
/// for functions that differentiate inside.
fn differentiable(t: &Tensor) -> Tensor {
    if t.requires_grad() {
        t.clone()
    } else {
        t.requires_grad_(true).unwrap()
    }
}

#[test]
fn second_order_gradients_pass_gradcheck() {
    manual_seed(2);
    // The gradient of sum(a·b · r) with respect to a, as a function of (a, b), checked again.
    let r = Tensor::randn(&[3, 2], DType::F64).unwrap();
    let grad_a = |t: &[Tensor]| {
        let _on = enable_grad();
        let t: Vec<Tensor> = t.iter().map(differentiable).collect();
        let out = t[0].matmul(&t[1])?.try_mul(&r)?.sum_dims(&[], false)?;
        let opts = GradOptions {
            create_graph: true,
            ..Default::default()
        };
        let g = grad(&[out], &[t[0].clone(), t[1].clone()], opts)?;
        g[0].clone()
            .unwrap()
            .try_mul(&g[0].clone().unwrap())?
            .try_add(&g[1].clone().unwrap().sum_dims(&[], false)?)
    };
    gradcheck(grad_a, &[leaf(&[3, 4]), leaf(&[4, 2])], 1e-6, 1e-6, 1e-4).unwrap();
    let r2 = Tensor::randn(&[2, 3], DType::F64).unwrap();
    let grad_lin = |t: &[Tensor]| {
        let _on = enable_grad();
        let t: Vec<Tensor> = t.iter().map(differentiable).collect();
        let out = linear(&t[0], &t[1], Some(&t[2]))?
            .try_mul(&r2)?
            .sum_dims(&[], false)?;
        let opts = GradOptions {
            create_graph: true,
            ..Default::default()
        };
        let g = grad(&[out], &[t[1].clone()], opts)?;
        g[0].clone().unwrap().try_mul(&t[1])
    };
    gradcheck(
        grad_lin,
        &[leaf(&[2, 4]), leaf(&[3, 4]), leaf(&[3])],
        1e-6,
        1e-6,
        1e-4,
    )
    .unwrap();
}

#[test]
fn node_names_follow_pytorch() {
    let a = leaf(&[2, 3]);
    let name = |t: Tensor| t.grad_fn().unwrap().name();
    assert_eq!(name(a.mm(&leaf(&[3, 4])).unwrap()), "MmBackward0");
    assert_eq!(
        name(leaf(&[2, 2, 3]).bmm(&leaf(&[2, 3, 1])).unwrap()),
        "BmmBackward0"
    );
    assert_eq!(name(leaf(&[3]).dot(&leaf(&[3])).unwrap()), "ViewBackward0");
    assert_eq!(
        name(linear(&a, &leaf(&[4, 3]), Some(&leaf(&[4]))).unwrap()),
        "AddmmBackward0"
    );
    let x = Tensor::ones(&[2, 3], DType::F64).unwrap();
    assert!(x.mm(&x.t().unwrap()).unwrap().grad_fn().is_none());
}

fn err(r: Result<Tensor>) -> String {
    r.expect_err("should fail").to_string()
}

#[test]
fn bad_inputs_are_errors_that_name_the_shapes() {
    let f = |s: &[usize]| Tensor::ones(s, DType::F32).unwrap();
    let e = err(f(&[2, 3]).mm(&f(&[4, 5])));
    assert!(
        e.contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
        "{e}"
    );
    let e = err(f(&[2, 3]).matmul(&f(&[4, 5])));
    assert!(
        e.contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
        "{e}"
    );
    let e = err(f(&[7, 2, 3]).matmul(&f(&[7, 4, 5])));
    assert!(
        e.contains("(2x3 and 4x5)") && e.contains("[7, 2, 3]") && e.contains("[7, 4, 5]"),
        "{e}"
    );
    let e = err(f(&[2, 2, 3]).matmul(&f(&[3, 3, 5])));
    assert!(
        e.contains("must match the size of tensor b (3)") && e.contains("[2]") && e.contains("[3]"),
        "{e}"
    );
    let e = err(f(&[]).matmul(&f(&[2, 2])));
    assert!(
        e.contains("both arguments to matmul need to be at least 1D, but they are 0D and 2D"),
        "{e}"
    );
    let e = err(f(&[3]).matmul(&f(&[4])));
    assert!(
        e.contains("inconsistent tensor size, expected tensor [3] and src [4]"),
        "{e}"
    );
    let e = err(f(&[3]).mm(&f(&[3, 2])));
    assert!(e.contains("self must be a matrix"), "{e}");
    let e = err(f(&[3, 3]).mm(&f(&[3])));
    assert!(e.contains("mat2 must be a matrix"), "{e}");
    let e = err(f(&[3, 3]).bmm(&f(&[2, 3, 3])));
    assert!(e.contains("batch1 must be a 3D tensor"), "{e}");
    let e = err(f(&[2, 3, 4]).bmm(&f(&[3, 4, 5])));
    assert!(
        e.contains(
            "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [3, 4]"
        ),
        "{e}"
    );
    let e = err(f(&[2, 3]).mv(&f(&[4])));
    assert!(
        e.contains("size mismatch") && e.contains("[2, 3]") && e.contains("[4]"),
        "{e}"
    );
    let e = err(f(&[2, 3]).dot(&f(&[3])));
    assert!(
        e.contains("1D tensors expected, but got 2D and 1D tensors"),
        "{e}"
    );
    let e = err(f(&[2, 3]).matmul(&Tensor::ones(&[3, 2], DType::F64).unwrap()));
    assert!(
        e.contains("expected m1 and m2 to have the same dtype, but got: float32 != float64"),
        "{e}"
    );
    let b = Tensor::ones(&[2, 2], DType::Bool).unwrap();
    let e = err(b.matmul(&b));
    assert!(e.contains("not implemented for dtype bool"), "{e}");
    let e = err(linear(&f(&[64, 3136]), &f(&[128, 3000]), None));
    assert!(
        e.contains("mat1 and mat2 shapes cannot be multiplied (64x3136 and 3000x128)"),
        "{e}"
    );
    let e = err(linear(&f(&[4, 3]), &f(&[3]), None));
    assert!(
        e.contains("a 2-D weight") && e.contains("[4, 3]") && e.contains("[3]"),
        "{e}"
    );
    let e = err(linear(&f(&[4, 3]), &f(&[5, 3]), Some(&f(&[4]))));
    assert!(e.contains("must match the size of tensor b (4)"), "{e}");
}

#[test]
fn empty_operands_give_empty_or_zero_results() {
    let z = Tensor::ones(&[3, 0], DType::F32).unwrap();
    let out = z
        .matmul(&Tensor::ones(&[0, 2], DType::F32).unwrap())
        .unwrap();
    assert_eq!(out.to_vec::<f32>().unwrap(), vec![0.0; 6]);
    let out = Tensor::ones(&[0, 3], DType::F64)
        .unwrap()
        .matmul(&Tensor::ones(&[3, 2], DType::F64).unwrap())
        .unwrap();
    assert_eq!(out.shape(), &[0, 2]);
}
