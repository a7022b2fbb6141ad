//! cat, stack, split, chunk, unbind, repeat, roll and pad: values and
//! gradients against PyTorch's (tests/fixtures/shape.npz, written by
//! make_shape.py) on contiguous, transposed and flipped inputs; gradcheck in
//! f64, first order and through the backward itself; against naive loops on
//! sizes that take the threaded paths; and every bad-input message.

use ferrograd::autograd::{grad, gradcheck};
use ferrograd::interop::npz::load_npz;
use ferrograd::ops::shape::{cat, stack, PadMode};
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixture() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/shape.npz");
        load_npz(path).unwrap().into_iter().collect()
    })
}

fn get(name: &str) -> Option<Tensor> {
    fixture().get(name).cloned()
}

/// `sin(0), sin(1), ...` shaped like `out`: the weights of the fixture's loss.
fn loss_weights(out: &Tensor) -> Tensor {
    let w: Vec<f64> = (0..out.numel()).map(|i| (i as f64).sin()).collect();
    Tensor::from_vec(w, out.shape())
        .unwrap()
        .to_dtype(out.dtype())
        .unwrap()
}

/// Values of `got` and `want` agree (within `tol` relative) and so do shapes.
fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g = got.double().unwrap().to_vec::<f64>().unwrap();
    let w = want.double().unwrap().to_vec::<f64>().unwrap();
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

/// Gradcheck of `f`'s backward itself: the gradient of `f` at `x` against
/// upstream gradient `v`, as a function of both (so backward must be built
/// from differentiable ops).
fn check_double_backward(f: impl Fn(&Tensor) -> Result<Tensor>, x: &Tensor) {
    let v_shape = f(x).unwrap().shape().to_vec();
    let n: usize = v_shape.iter().product();
    let v = Tensor::from_vec((0..n).map(|i| (i as f64 * 0.7).cos()).collect(), &v_shape).unwrap();
    let backward = |t: &[Tensor]| {
        // gradcheck's finite differences run under no_grad on plain tensors.
        let _grad_mode = enable_grad();
        let x = match t[0].requires_grad() {
            true => t[0].clone(),
            false => t[0].detach().requires_grad_(true)?,
        };
        let y = f(&x)?;
        let opts = GradOptions {
            grad_outputs: Some(vec![t[1].clone()]),
            create_graph: true,
            ..Default::default()
        };
        Ok(grad(&[y], &[x], opts)?[0].clone().unwrap())
    };
    let inputs = [
        x.requires_grad_(true).unwrap(),
        v.requires_grad_(true).unwrap(),
    ];
    gradcheck(backward, &inputs, 1e-6, 1e-6, 1e-4).unwrap();
}

/// Runs `op` on the inputs of `case` (through `views`), compares the output
/// and the gradients of the fixture's loss with PyTorch's, then gradchecks
/// `op` when its inputs are f64.
fn check_case(case: &str, views: &[View], op: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let bases: Vec<Tensor> = (0..views.len())
        .map(|i| get(&format!("{case}.in{i}")).unwrap())
        .collect();
    let leaves: Vec<Tensor> = bases
        .iter()
        .map(|b| {
            if b.dtype().is_floating_point() {
                b.detach().requires_grad_(true).unwrap()
            } else {
                b.clone()
            }
        })
        .collect();
    let apply =
        |ts: &[Tensor]| -> Vec<Tensor> { ts.iter().zip(views).map(|(t, v)| v(t)).collect() };
    let out = op(&apply(&leaves)).unwrap();
    let want = get(&format!("{case}.out")).unwrap();
    assert_eq!(out.dtype(), want.dtype(), "{case}: dtype");
    assert_close(&out, &want, 1e-6, case);
    if !out.requires_grad() {
        return;
    }
    out.try_mul(&loss_weights(&out))
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    for (i, leaf) in leaves.iter().enumerate() {
        if let Some(g) = get(&format!("{case}.g{i}")) {
            assert_close(
                &leaf.grad().expect("a gradient"),
                &g,
                1e-6,
                &format!("{case}.g{i}"),
            );
        }
    }
    if bases
        .iter()
        .all(|b| b.dtype() == DType::F64 || !b.dtype().is_floating_point())
    {
        gradcheck(|t| op(&apply(t)), &leaves, 1e-6, 1e-6, 1e-4)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
    }
}

#[test]
fn cat_and_stack_match_pytorch() {
    check_case("cat_dim1", &[ident, tr, flip0], |t| cat(t, 1));
    check_case("cat_dim0", &[flip1, ident], |t| cat(&[&t[0], &t[1]], 0));
    check_case("cat_neg_dim", &[ident, ident], |t| cat(t, -1));
    check_case("cat_promote", &[ident, ident], |t| cat(t, 0));
    check_case("cat_ints", &[ident, ident], |t| cat(t, 1));
    check_case("cat_legacy_empty", &[ident, ident], |t| cat(t, 1));
    check_case("stack0", &[ident, tr, flip1], |t| stack(t, 0));
    check_case("stack_last", &[ident, flip0], |t| stack(t, -1));
}

#[test]
fn split_chunk_and_unbind_match_pytorch_and_are_views() {
    check_case("split2", &[ident], |t| Ok(t[0].split(2, 1)?[1].clone()));
    check_case("split_sizes", &[flip0], |t| {
        t[0].split_with_sizes(&[1, 3], 0)?[1].try_mul(2.0)
    });
    check_case("chunk3", &[ident], |t| Ok(t[0].chunk(3, 1)?[2].clone()));
    check_case("unbind1", &[tr], |t| Ok(t[0].unbind(1)?[1].clone()));
    let x = Tensor::arange(0, 10).unwrap();
    for piece in x.split(3, 0).unwrap().iter().chain(&x.chunk(4, 0).unwrap()) {
        assert!(piece.shares_storage(&x));
    }
    let sizes = |v: Vec<Tensor>| v.iter().map(|t| t.numel()).collect::<Vec<_>>();
    assert_eq!(sizes(x.split(3, 0).unwrap()), vec![3, 3, 3, 1]);
    assert_eq!(sizes(x.chunk(4, 0).unwrap()), vec![3, 3, 3, 1]);
    assert_eq!(sizes(x.chunk(6, 0).unwrap()), vec![2, 2, 2, 2, 2]);
    let empty = Tensor::zeros(&[0], DType::F32).unwrap();
    assert_eq!(sizes(empty.chunk(3, 0).unwrap()), vec![0, 0, 0]);
    assert_eq!(sizes(empty.split(0, 0).unwrap()), vec![0]);
}

#[test]
fn repeat_and_roll_match_pytorch() {
    check_case("repeat", &[tr], |t| t[0].repeat(&[2, 1, 3]));
    check_case("repeat_1d", &[flip0], |t| t[0].repeat(&[3]));
    check_case("roll2", &[ident], |t| t[0].roll(&[1, -2], &[0, 1]));
    check_case("roll_flat", &[tr], |t| t[0].roll(&[3], &[]));
    let x = Tensor::arange(0, 4).unwrap();
    let whole_turn = x.roll(&[8], &[0]).unwrap();
    assert_eq!(whole_turn.to_vec::<i64>().unwrap(), vec![0, 1, 2, 3]);
    assert!(!whole_turn.shares_storage(&x));
}

#[test]
fn pad_matches_pytorch_in_every_mode() {
    check_case("pad_const", &[ident], |t| {
        t[0].pad(&[1, 2, 0, 1], PadMode::constant(0.5))
    });
    check_case("pad_crop", &[tr], |t| {
        t[0].pad(&[-1, 2, 1, -1], PadMode::default())
    });
    check_case("pad_reflect1d", &[ident], |t| {
        t[0].pad(&[2, 1], PadMode::Reflect)
    });
    check_case("pad_reflect2d", &[ident], |t| {
        t[0].pad(&[1, 2, 2, 1], PadMode::Reflect)
    });
    check_case("pad_replicate", &[flip2], |t| {
        t[0].pad(&[1, 2], PadMode::Replicate)
    });
    check_case("pad_replicate3d", &[ident], |t| {
        t[0].pad(&[1, 0, 0, 1, 2, 1], PadMode::Replicate)
    });
    check_case("pad_circular", &[ident], |t| {
        t[0].pad(&[2, 1, 1, 2], PadMode::Circular)
    });
    let ints = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let padded = ints.pad(&[1, 1], PadMode::constant(7)).unwrap();
    assert_eq!(
        (padded.dtype(), padded.to_vec::<i64>().unwrap()),
        (DType::I64, vec![7, 1, 2, 7])
    );
}

#[test]
fn backward_of_every_shape_op_is_differentiable() {
    let x = Tensor::from_vec((0..12).map(|i| (i as f64 * 0.37).sin()).collect(), &[3, 4]).unwrap();
    let y = Tensor::from_vec((0..4).map(|i| i as f64 - 1.5).collect(), &[1, 4]).unwrap();
    check_double_backward(|x| cat(&[x, &y], 0), &x);
    check_double_backward(|x| stack(&[x, &x.flip(&[0])?], 1), &x);
    check_double_backward(|x| x.repeat(&[2, 1, 2]), &x);
    check_double_backward(|x| x.roll(&[1, 2], &[0, 1]), &x);
    check_double_backward(|x| x.pad(&[1, -1, 2, 0], PadMode::constant(3.0)), &x);
    check_double_backward(|x| x.pad(&[2, 1], PadMode::Reflect), &x);
    check_double_backward(|x| x.pad(&[1, 2], PadMode::Circular), &x);
}

#[test]
fn gradients_reach_only_inputs_that_want_them() {
    let a = Tensor::ones(&[2, 2], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let b = Tensor::from_vec(vec![1i64, 2], &[2, 1]).unwrap();
    let c = Tensor::zeros(&[2, 1], DType::F64).unwrap();
    let out = cat(&[&a, &b, &c], 1).unwrap();
    assert_eq!(out.dtype(), DType::F64);
    assert_eq!(out.grad_fn().unwrap().name(), "CatBackward0");
    out.sum().unwrap().backward().unwrap();
    let g = a.grad().unwrap();
    assert_eq!(
        (g.dtype(), g.to_vec::<f32>().unwrap()),
        (DType::F32, vec![1.0; 4])
    );
    let s = stack(&[&a, &a], 0).unwrap();
    assert_eq!(s.grad_fn().unwrap().name(), "StackBackward0");
    assert!(!cat(&[&b, &b], 0).unwrap().requires_grad());
}

/// Element `(i, j)` of a row-major matrix with `cols` columns.
fn at(v: &[f32], cols: usize, i: usize, j: usize) -> f32 {
    v[i * cols + j]
}

#[test]
fn large_inputs_take_the_threaded_paths_correctly() {
    manual_seed(3);
    // Many rows: rows copied in parallel, one input transposed.
    let a = Tensor::randn(&[300, 257], DType::F32).unwrap();
    let b = Tensor::randn(&[100, 300], DType::F32).unwrap();
    let got = cat(&[&a, &b.t().unwrap()], 1)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let (av, bv) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    for i in 0..300 {
        for j in 0..357 {
            let want = if j < 257 {
                at(&av, 257, i, j)
            } else {
                at(&bv, 300, j - 257, i)
            };
            assert_eq!(at(&got, 357, i, j), want, "cat at ({i}, {j})");
        }
    }
    // One long row per input: each block copied in parallel chunks.
    let long = Tensor::randn(&[70_000], DType::F32).unwrap();
    let twice = cat(&[&long, &long.flip(&[0]).unwrap()], 0)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let lv = long.to_vec::<f32>().unwrap();
    assert!(twice[..70_000] == lv[..] && twice[70_000..].iter().eq(lv.iter().rev()));
    // repeat and pad on large inputs.
    let r = a.repeat(&[2, 3]).unwrap().to_vec::<f32>().unwrap();
    for (i, j) in [(0, 0), (299, 256), (300, 257), (599, 770), (17, 600)] {
        assert_eq!(at(&r, 771, i, j), at(&av, 257, i % 300, j % 257));
    }
    let p = a
        .pad(&[3, 1, 2, 2], PadMode::constant(-1.0))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    for i in 0..304 {
        for j in 0..261 {
            let inside = (2..302).contains(&i) && (3..260).contains(&j);
            let want = if inside {
                at(&av, 257, i - 2, j - 3)
            } else {
                -1.0
            };
            assert_eq!(at(&p, 261, i, j), want, "pad at ({i}, {j})");
        }
    }
}

fn err(r: Result<impl std::fmt::Debug>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn bad_inputs_are_errors_with_pytorchs_messages() {
    let a = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let b = Tensor::zeros(&[2, 4], DType::F32).unwrap();
    let none: [&Tensor; 0] = [];
    assert!(err(cat(&none, 0)).contains("torch.cat(): expected a non-empty list of Tensors"));
    assert!(err(cat(&[&a, &b], 0)).contains(
        "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor number 1 in the list."
    ));
    let c = Tensor::zeros(&[2, 3, 1], DType::F32).unwrap();
    assert!(
        err(cat(&[&a, &c], 0)).contains("Tensors must have same number of dimensions: got 2 and 3")
    );
    let s = Tensor::scalar(1.0f32);
    assert!(err(cat(&[&s, &a], 0))
        .contains("zero-dimensional tensor (at position 0) cannot be concatenated"));
    assert_eq!(
        err(cat(&[&a, &a], 2)),
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    );
    assert!(err(stack(&none, 0)).contains("stack expects a non-empty TensorList"));
    assert!(err(stack(&[&a, &b], 0))
        .contains("stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1"));
    assert_eq!(
        err(stack(&[&a, &a], 3)),
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)"
    );

    assert!(err(a.split(0, 1))
        .contains("split_size can only be 0 if dimension size is 0, but got dimension size of 3"));
    assert!(err(a.split_with_sizes(&[1, 1], 1)).contains(
        "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at dimension 1), but got split_sizes=[1, 1]"
    ));
    assert!(err(a.chunk(0, 0)).contains("chunk expects `chunks` to be greater than 0, got: 0"));
    assert!(err(s.split(1, 0)).contains("split expects at least a 1-dimensional tensor"));
    assert!(err(a.unbind(2)).contains("Dimension out of range"));
    assert!(err(a.repeat(&[2]))
        .contains("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"));
    assert!(
        err(a.roll(&[1, 2], &[0])).contains("shifts and dimensions must align. shifts: 2, dims:1")
    );
    assert!(err(a.roll(&[1], &[5])).contains("Dimension out of range"));

    let row = Tensor::zeros(&[1, 3], DType::F32).unwrap();
    assert!(err(row.pad(&[1, 2, 3], PadMode::default()))
        .contains("Padding length must be divisible by 2"));
    assert!(err(row.pad(&[1, 2, 3, 4, 5, 6], PadMode::default())).contains(
        "Padding length should be less than or equal to two times the input dimension but got padding length 6 and input of dimension 2"
    ));
    assert!(err(row.pad(&[-2, -2], PadMode::default())).contains(
        "The input size 3, plus negative padding -2 and -2 resulted in a negative output size, which is invalid. Check dimension 1 of your input."
    ));
    assert!(err(row.pad(&[3, 3], PadMode::Reflect)).contains(
        "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (3, 3) at dimension 1 of input [1, 3]"
    ));
    assert!(err(row.pad(&[4, 1], PadMode::Circular))
        .contains("Padding value causes wrapping around more than once"));
    let vector = Tensor::zeros(&[3], DType::F32).unwrap();
    assert!(err(vector.pad(&[1, 1], PadMode::Replicate))
        .contains("Padding size 2 is not supported for 1D input tensor"));
    assert!(err(row.pad(&[1, 1, 1, 1], PadMode::Reflect))
        .contains("Padding size 4 is not supported for 2D input tensor"));
}
