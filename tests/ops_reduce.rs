//! Reductions against PyTorch (tests/fixtures/reduce.npz, written by
//! make_reduce.py): values, indices, dtypes and gradients on contiguous,
//! transposed and flipped inputs; gradcheck in f64, first and second order;
//! the sum kernel against f64 sums and naive loops on every path it takes;
//! and every bad-input message.

use ferrograd::autograd::{grad, gradcheck, GradOptions};
use ferrograd::interop::npz::load_npz;
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixture() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reduce.npz");
        load_npz(path).unwrap().into_iter().collect()
    })
}

fn get(name: &str) -> Tensor {
    fixture()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in reduce.npz"))
        .clone()
}

fn view(t: &Tensor, v: &str) -> Tensor {
    match v {
        "id" => t.clone(),
        "t" => t.transpose(0, -1).unwrap(),
        "flip" => t.flip(&[1]).unwrap(),
        _ => unreachable!("unknown view {v}"),
    }
}

/// `cos(0.5 i)` shaped like `out`: the weights of the fixture's loss.
fn loss_weights(out: &Tensor) -> Tensor {
    let w: Vec<f64> = (0..out.numel()).map(|i| (0.5 * i as f64).cos()).collect();
    Tensor::from_vec(w, out.shape()).unwrap()
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g = got.double().unwrap().to_vec::<f64>().unwrap();
    let w = want.double().unwrap().to_vec::<f64>().unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let same = a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * (1.0 + b.abs());
        assert!(same, "{what}[{i}]: got {a}, want {b}");
    }
}

type Op = fn(&Tensor) -> Result<(Tensor, Option<Tensor>)>;

/// Runs `op` on `base` through each view and compares the output (values,
/// dtype, indices) and the gradient of the fixture's loss with PyTorch's.
fn check(case: &str, base: &str, views: &[&str], op: Op) {
    for v in views {
        let name = if *v == "id" {
            case.to_string()
        } else {
            format!("{case}_{v}")
        };
        let b = get(&format!("base.{base}")).detach();
        let leaf = if b.dtype().is_floating_point() {
            b.requires_grad_(true).unwrap()
        } else {
            b
        };
        let (out, indices) = op(&view(&leaf, v)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = get(&format!("{name}.out"));
        assert_eq!(out.dtype(), want.dtype(), "{name}: dtype");
        let tol = if want.dtype() == DType::F32 {
            1e-6
        } else {
            1e-12
        };
        assert_close(&out, &want, tol, &name);
        if let Some(i) = indices {
            assert_eq!(
                i.to_vec::<i64>().unwrap(),
                get(&format!("{name}.indices")).to_vec::<i64>().unwrap(),
                "{name}: indices"
            );
        }
        if let Some(gx) = fixture().get(&format!("{name}.gx")) {
            out.try_mul(&loss_weights(&out))
                .unwrap()
                .sum()
                .unwrap()
                .backward()
                .unwrap();
            assert_close(
                &leaf.grad().expect("a gradient"),
                gx,
                1e-12,
                &format!("{name}.gx"),
            );
        }
    }
}

const ALL_VIEWS: &[&str] = &["id", "t", "flip"];

fn values(t: Result<Tensor>) -> Result<(Tensor, Option<Tensor>)> {
    t.map(|t| (t, None))
}

fn pair(t: Result<(Tensor, Tensor)>) -> Result<(Tensor, Option<Tensor>)> {
    t.map(|(v, i)| (v, Some(i)))
}

#[test]
fn sum_and_mean_match_pytorch() {
    let cases: [(&str, Op); 5] = [
        ("sum_all", |t| values(t.sum())),
        ("sum_dim1", |t| values(t.sum_dims(&[1], false))),
        ("sum_dims02_keep", |t| values(t.sum_dims(&[0, 2], true))),
        ("mean_all", |t| values(t.mean())),
        ("mean_dimm1", |t| values(t.mean_dims(&[-1], false))),
    ];
    for (case, op) in cases {
        check(case, "x", ALL_VIEWS, op);
    }
    check("ints_sum_dim1", "ints", &["id"], |t| {
        values(t.sum_dims(&[1], false))
    });
}

#[test]
fn prod_matches_pytorch_with_and_without_zeros() {
    check("prod_all", "x", ALL_VIEWS, |t| values(t.prod()));
    check("prod_dim2_keep", "x", ALL_VIEWS, |t| {
        values(t.prod_dim(2, true))
    });
    check("zeros_prod_all", "zeros", &["id"], |t| values(t.prod()));
    check("zeros_prod_dim0", "zeros", &["id"], |t| {
        values(t.prod_dim(0, false))
    });
    check("zeros_prod_dim1", "zeros", &["id"], |t| {
        values(t.prod_dim(1, false))
    });
    check("ints_prod_dim2", "ints", &["id"], |t| {
        values(t.prod_dim(2, false))
    });
}

#[test]
fn max_min_amax_argmax_match_pytorch() {
    let cases: [(&str, Op); 7] = [
        ("max_all", |t| values(t.max())),
        ("max_dim1", |t| pair(t.max_dim(1, false))),
        ("min_dim0_keep", |t| pair(t.min_dim(0, true))),
        ("amax_dims12", |t| values(t.amax(&[1, 2], false))),
        ("amin_dim0_keep", |t| values(t.amin(&[0], true))),
        ("argmax_dim2", |t| values(t.argmax(Some(2), false))),
        ("argmin_all", |t| values(t.argmin(None, false))),
    ];
    for (case, op) in cases {
        check(case, "x", ALL_VIEWS, op);
    }
    check("ints_max_dim0", "ints", &["id"], |t| {
        pair(t.max_dim(0, false))
    });
}

#[test]
fn ties_split_or_route_the_gradient_like_pytorch() {
    let cases: [(&str, Op); 9] = [
        ("ties_max_all", |t| values(t.max())),
        ("ties_min_all", |t| values(t.min())),
        ("ties_max_dim1", |t| pair(t.max_dim(1, false))),
        ("ties_min_dim1_keep", |t| pair(t.min_dim(1, true))),
        ("ties_amax_dim1", |t| values(t.amax(&[1], false))),
        ("ties_amin_dim0", |t| values(t.amin(&[0], false))),
        ("ties_argmax_dim1", |t| values(t.argmax(Some(1), false))),
        ("ties_argmin_dim0_keep", |t| values(t.argmin(Some(0), true))),
        ("ties_norm_inf_dim1", |t| {
            values(t.norm_dims(f64::INFINITY, &[1], false))
        }),
    ];
    for (case, op) in cases {
        check(case, "ties", &["id"], op);
    }
}

#[test]
fn var_std_logsumexp_match_pytorch() {
    let cases: [(&str, Op); 7] = [
        ("var_dim1", |t| values(t.var(&[1], true, false))),
        ("var_all_biased", |t| values(t.var(&[], false, false))),
        ("var_dims01_corr2_keep", |t| {
            values(t.var_correction(&[0, 1], 2.0, true))
        }),
        ("std_dim2", |t| values(t.std(&[2], true, false))),
        ("std_all", |t| values(t.std(&[], true, false))),
        ("logsumexp_dim1", |t| values(t.logsumexp(&[1], false))),
        ("logsumexp_dims02_keep", |t| {
            values(t.logsumexp(&[0, 2], true))
        }),
    ];
    for (case, op) in cases {
        check(case, "x", ALL_VIEWS, op);
    }
    check("ints_logsumexp_dim2", "ints", &["id"], |t| {
        values(t.logsumexp(&[2], false))
    });
}

#[test]
fn norms_match_pytorch() {
    let cases: [(&str, Op); 8] = [
        ("norm_all", |t| values(t.norm())),
        ("norm_p1_dim1", |t| values(t.norm_dims(1, &[1], false))),
        ("norm_inf_dim2", |t| {
            values(t.norm_dims(f64::INFINITY, &[2], false))
        }),
        ("norm_neginf_dim0", |t| {
            values(t.norm_dims(f64::NEG_INFINITY, &[0], false))
        }),
        ("norm_p3_dims12_keep", |t| {
            values(t.norm_dims(3, &[1, 2], true))
        }),
        ("norm_p05_dim1", |t| values(t.norm_dims(0.5, &[1], false))),
        ("norm_p0_dim1", |t| values(t.norm_dims(0, &[1], false))),
        ("norm_fro_dims01", |t| {
            values(t.norm_dims(NormOrd::Fro, &[0, 1], false))
        }),
    ];
    for (case, op) in cases {
        check(case, "x", ALL_VIEWS, op);
    }
    check("zeros_norm_p3_dim0", "zeros", &["id"], |t| {
        values(t.norm_dims(3, &[0], false))
    });
    check("zeros_norm_all", "zero_norm", &["id"], |t| values(t.norm()));
}

#[test]
fn cumsum_matches_pytorch() {
    check("cumsum_dim0", "x", ALL_VIEWS, |t| values(t.cumsum(0)));
    check("cumsum_dimm1", "x", ALL_VIEWS, |t| values(t.cumsum(-1)));
    check("cumsum_dim1", "x", ALL_VIEWS, |t| values(t.cumsum(1)));
    check("ints_cumsum_dim1", "ints", &["id"], |t| values(t.cumsum(1)));
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn_with(shape, DType::F64, &mut Generator::new(seed)).unwrap()
}

type UnaryOp = fn(&Tensor) -> Result<Tensor>;

/// gradcheck of `f`, and for ops whose gradient depends on the input, of
/// the gradient of `Σ f · w` (second order).
fn gradcheck_twice(f: UnaryOp, x: &Tensor, second_order: bool, what: &str) {
    let x = x.detach().requires_grad_(true).unwrap();
    gradcheck(|t| f(&t[0]), std::slice::from_ref(&x), 1e-6, 1e-5, 1e-3)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    if !second_order {
        return;
    }
    let second = |t: &[Tensor]| {
        // gradcheck perturbs plain tensors under no_grad: differentiate anyway.
        let _recording = enable_grad();
        let x = if t[0].requires_grad() {
            t[0].clone()
        } else {
            t[0].requires_grad_(true)?
        };
        let out = f(&x)?;
        let loss = out.try_mul(&loss_weights(&out))?.sum()?;
        let opts = GradOptions {
            create_graph: true,
            ..Default::default()
        };
        Ok(grad(&[loss], &[x], opts)?[0].clone().expect("a gradient"))
    };
    gradcheck(second, &[x], 1e-6, 1e-5, 1e-3)
        .unwrap_or_else(|e| panic!("{what} (second order): {e}"));
}

#[test]
fn gradients_pass_gradcheck_first_and_second_order() {
    let x = randn(&[3, 4, 5], 1);
    // (name, op, whether its gradient depends on the input)
    let cases: [(&str, UnaryOp, bool); 16] = [
        ("sum_dims", |t| t.sum_dims(&[0, 2], false), false),
        ("mean_dims", |t| t.mean_dims(&[1], true), false),
        ("prod", |t| t.prod(), true),
        ("prod_dim", |t| t.prod_dim(1, false), true),
        ("max_dim", |t| Ok(t.max_dim(2, false)?.0), false),
        ("min", |t| t.min(), false),
        ("amax", |t| t.amax(&[0, 1], true), false),
        ("var", |t| t.var(&[1], true, false), true),
        (
            "var_correction",
            |t| t.var_correction(&[0, 2], 0.5, true),
            true,
        ),
        ("std", |t| t.std(&[2], false, false), true),
        ("logsumexp", |t| t.logsumexp(&[1], false), true),
        ("norm2", |t| t.norm_dims(2, &[2], false), true),
        ("norm1", |t| t.norm_dims(1, &[0], false), false),
        ("norm3", |t| t.norm_dims(3, &[1, 2], true), true),
        (
            "norm_inf",
            |t| t.norm_dims(f64::INFINITY, &[1], false),
            false,
        ),
        ("cumsum", |t| t.cumsum(1), false),
    ];
    for (what, f, second) in cases {
        gradcheck_twice(f, &x, second, what);
        gradcheck_twice(f, &x.flip(&[1]).unwrap(), second, what);
    }
    let zeros = Tensor::from_vec(vec![0.0, 2.0, -1.5, 0.0, 3.0, 0.5], &[2, 3]).unwrap();
    gradcheck(
        |t| t[0].prod_dim(0, false),
        &[zeros.requires_grad_(true).unwrap()],
        1e-6,
        1e-5,
        1e-3,
    )
    .unwrap();
}

/// Sums of `f32` data in `f64` by a naive loop, along the last dim of `[rows, cols]`.
fn naive_row_sums(data: &[f32], cols: usize) -> Vec<f64> {
    data.chunks(cols)
        .map(|r| r.iter().map(|&v| v as f64).sum())
        .collect()
}

fn rel_err(got: f32, exact: f64) -> f64 {
    (got as f64 - exact).abs() / exact.abs().max(1.0)
}

#[test]
fn f32_sums_of_millions_are_as_accurate_as_f64_rounded() {
    // Uniform positive data: naive f32 accumulation would drift by ~1e-3.
    let n = 10_000_000;
    let x = Tensor::rand_with(&[n], DType::F32, &mut Generator::new(7)).unwrap();
    let data = x.to_vec::<f32>().unwrap();
    let exact: f64 = data.iter().map(|&v| v as f64).sum();
    let got = x.sum().unwrap();
    assert_eq!(got.dtype(), DType::F32);
    assert!(
        rel_err(got.item::<f32>().unwrap(), exact) <= f32::EPSILON as f64,
        "sum of 10M"
    );
    let mean = x.mean().unwrap().item::<f32>().unwrap() as f64;
    assert!((mean - exact / n as f64).abs() <= 1e-7);
    // Rows of one million, and many short rows.
    for cols in [1_000_000, 1000, 5] {
        let m = x.reshape(&[-1, cols as isize]).unwrap();
        let sums = m.sum_dims(&[-1], false).unwrap().to_vec::<f32>().unwrap();
        for (g, e) in sums.iter().zip(naive_row_sums(&data, cols)) {
            assert!(rel_err(*g, e) <= f32::EPSILON as f64, "rows of {cols}");
        }
    }
}

/// Sums over `dims` of a `[a, b, c]` tensor by a naive loop in f64.
fn naive_sum(data: &[f64], shape: [usize; 3], dims: &[usize]) -> Vec<f64> {
    let out_shape: Vec<usize> = (0..3)
        .map(|d| if dims.contains(&d) { 1 } else { shape[d] })
        .collect();
    let mut out = vec![0.0; out_shape.iter().product()];
    for i in 0..shape[0] {
        for j in 0..shape[1] {
            for k in 0..shape[2] {
                let idx = [i, j, k];
                let o: Vec<usize> = (0..3)
                    .map(|d| if dims.contains(&d) { 0 } else { idx[d] })
                    .collect();
                out[(o[0] * out_shape[1] + o[1]) * out_shape[2] + o[2]] +=
                    data[(i * shape[1] + j) * shape[2] + k];
            }
        }
    }
    out
}

#[test]
fn every_sum_path_matches_a_naive_loop() {
    // Big enough for the parallel paths; every dim pattern: rows, columns,
    // kept-reduced-kept, and a gather for the rest.
    for shape in [[3usize, 5, 7], [40, 300, 30], [2, 70_000, 3]] {
        let n: usize = shape.iter().product();
        let data: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f64 * 0.25 - 100.0)
            .collect();
        let x = Tensor::from_vec(data.clone(), &shape).unwrap();
        for dims in [
            &[0usize][..],
            &[1],
            &[2],
            &[0, 1],
            &[1, 2],
            &[0, 2],
            &[0, 1, 2],
        ] {
            let idims: Vec<isize> = dims.iter().map(|&d| d as isize).collect();
            let got = x.sum_dims(&idims, true).unwrap().to_vec::<f64>().unwrap();
            let want = naive_sum(&data, shape, dims);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
                    "{shape:?} over {dims:?}: {g} vs {w}"
                );
            }
            let flipped = x.flip(&[1]).unwrap().sum_dims(&idims, true).unwrap();
            let want_flipped =
                naive_sum(&x.flip(&[1]).unwrap().to_vec::<f64>().unwrap(), shape, dims);
            for (g, w) in flipped.to_vec::<f64>().unwrap().iter().zip(&want_flipped) {
                assert!(
                    (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
                    "flipped {shape:?} over {dims:?}"
                );
            }
        }
    }
}

#[test]
fn sums_of_integers_bools_and_empty_tensors_follow_pytorch() {
    let i = Tensor::from_vec(vec![i32::MAX, i32::MAX, 1], &[3]).unwrap();
    let s = i.sum().unwrap();
    assert_eq!(s.dtype(), DType::I64);
    assert_eq!(s.item::<i64>().unwrap(), 2 * i32::MAX as i64 + 1);
    let u = Tensor::from_vec(vec![200u8; 100_000], &[100_000]).unwrap();
    assert_eq!(u.sum().unwrap().item::<i64>().unwrap(), 20_000_000);
    let b = Tensor::from_vec(vec![true, false, true, true], &[2, 2]).unwrap();
    assert_eq!(
        b.sum_dims(&[0], false).unwrap().to_vec::<i64>().unwrap(),
        vec![2, 1]
    );
    let e = Tensor::zeros(&[0, 3], DType::F32).unwrap();
    assert_eq!(
        e.sum_dims(&[0], false).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0; 3]
    );
    assert_eq!(e.sum_dims(&[1], false).unwrap().shape(), &[0]);
    assert!(e.mean().unwrap().item::<f32>().unwrap().is_nan());
    let scalar = Tensor::scalar(2.5f64);
    assert_eq!(
        scalar.sum_dims(&[0], true).unwrap().item::<f64>().unwrap(),
        2.5
    );
    assert_eq!(e.prod().unwrap().item::<f32>().unwrap(), 1.0);
    assert_eq!(
        e.logsumexp(&[0], false).unwrap().to_vec::<f32>().unwrap(),
        vec![f32::NEG_INFINITY; 3]
    );
    assert_eq!(
        e.norm_dims(2, &[0], false)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![0.0; 3]
    );
}

#[test]
fn sums_are_deterministic_across_runs() {
    let x = Tensor::randn_with(&[3_000_000], DType::F32, &mut Generator::new(3)).unwrap();
    let first = x.sum().unwrap().item::<f32>().unwrap();
    for _ in 0..5 {
        assert_eq!(
            x.sum().unwrap().item::<f32>().unwrap().to_bits(),
            first.to_bits()
        );
    }
}

#[test]
fn extremes_propagate_nan_and_match_a_scan_on_large_inputs() {
    let x = Tensor::from_vec(vec![1.0f32, f32::NAN, 3.0, f32::NAN], &[2, 2]).unwrap();
    assert!(x.max().unwrap().item::<f32>().unwrap().is_nan());
    let (v, i) = x.min_dim(1, false).unwrap();
    assert!(v.to_vec::<f32>().unwrap().iter().all(|v| v.is_nan()));
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 1]);
    assert_eq!(x.argmax(None, false).unwrap().item::<i64>().unwrap(), 1);
    let n = 1_000_003;
    let data: Vec<f32> = (0..n).map(|i| ((i * 104_729) % 999_983) as f32).collect();
    let big = Tensor::from_vec(data.clone(), &[n]).unwrap();
    let (max_at, max) =
        data.iter()
            .enumerate()
            .fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
    assert_eq!(big.max().unwrap().item::<f32>().unwrap(), max);
    assert_eq!(
        big.argmax(Some(0), false).unwrap().item::<i64>().unwrap(),
        max_at as i64
    );
    let b = Tensor::from_vec(vec![false, true, true], &[3]).unwrap();
    assert!(b.max().unwrap().item::<bool>().unwrap());
    assert_eq!(b.argmax(None, false).unwrap().item::<i64>().unwrap(), 1);
    let s = Tensor::scalar(4.0f32);
    let (v, i) = s.max_dim(0, false).unwrap();
    assert_eq!(
        (v.item::<f32>().unwrap(), i.item::<i64>().unwrap()),
        (4.0, 0)
    );
}

#[test]
fn bad_inputs_name_the_problem() {
    let x = Tensor::zeros(&[3, 4], DType::F32).unwrap();
    let msg = |r: Result<Tensor>| r.unwrap_err().to_string();
    assert!(msg(x.amax(&[2], false))
        .contains("Dimension out of range (expected to be in range of [-2, 1], but got 2)"));
    assert!(x
        .max_dim(-3, false)
        .unwrap_err()
        .to_string()
        .contains("but got -3"));
    assert!(
        msg(x.amax(&[0, -2], false)).contains("dim 0 appears multiple times in the list of dims")
    );
    assert!(msg(x.cumsum(5)).contains("Dimension out of range"));
    let e = Tensor::zeros(&[0, 3], DType::F32).unwrap();
    assert!(msg(e.max())
        .contains("max(): Expected reduction dim to be specified for input.numel() == 0"));
    assert!(msg(e.amin(&[], false)).contains("amin(): Expected reduction dim to be specified"));
    assert!(e
        .max_dim(0, false)
        .unwrap_err()
        .to_string()
        .contains("max(): Expected reduction dim 0 to have non-zero size."));
    assert!(msg(e.amax(&[0], false))
        .contains("amax(): Expected reduction dim 0 to have non-zero size."));
    assert!(msg(e.argmax(None, false))
        .contains("argmax(): Expected reduction dim to be specified for input.numel() == 0."));
    assert!(msg(e.argmin(Some(0), false))
        .contains("argmin(): Expected reduction dim 0 to have non-zero size."));
    assert!(msg(e.norm_dims(f64::INFINITY, &[0], false))
        .contains("cannot compute the inf norm on an empty tensor"));
    let ints = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    assert!(msg(ints.norm()).contains(
        "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"
    ));
    assert!(msg(ints.var(&[], true, false))
        .contains("std and var only support floating point and complex dtypes"));
    assert!(msg(ints.mean()).contains("mean(): could not infer output dtype"));
}

#[test]
fn dtypes_follow_pytorch() {
    let ints = Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
    assert_eq!(ints.prod().unwrap().dtype(), DType::I64);
    assert_eq!(ints.cumsum(0).unwrap().dtype(), DType::I64);
    assert_eq!(ints.max().unwrap().dtype(), DType::I32);
    assert_eq!(ints.amin(&[0], false).unwrap().dtype(), DType::I32);
    assert_eq!(ints.logsumexp(&[0], false).unwrap().dtype(), DType::F32);
    assert_eq!(ints.argmax(None, false).unwrap().dtype(), DType::I64);
    let f = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    for t in [
        f.prod().unwrap(),
        f.var(&[], true, false).unwrap(),
        f.norm().unwrap(),
        f.cumsum(0).unwrap(),
    ] {
        assert_eq!(t.dtype(), DType::F32);
    }
    let b = Tensor::from_vec(vec![true, true, false], &[3]).unwrap();
    assert_eq!(b.prod().unwrap().item::<i64>().unwrap(), 0);
    assert_eq!(b.cumsum(0).unwrap().to_vec::<i64>().unwrap(), vec![1, 2, 2]);
}

#[test]
fn backward_node_names_are_pytorchs() {
    let x = randn(&[2, 3], 5).requires_grad_(true).unwrap();
    let name = |t: Tensor| t.grad_fn().unwrap().name();
    assert_eq!(name(x.max().unwrap()), "MaxBackward1");
    assert_eq!(name(x.max_dim(0, false).unwrap().0), "MaxBackward0");
    assert_eq!(name(x.amax(&[0], false).unwrap()), "AmaxBackward0");
    assert_eq!(name(x.prod().unwrap()), "ProdBackward0");
    assert_eq!(name(x.prod_dim(1, false).unwrap()), "ProdBackward1");
    assert_eq!(name(x.var(&[], true, false).unwrap()), "VarBackward0");
    assert_eq!(name(x.std(&[], true, false).unwrap()), "StdBackward0");
    assert_eq!(
        name(x.logsumexp(&[0], false).unwrap()),
        "LogsumexpBackward0"
    );
    assert_eq!(name(x.norm().unwrap()), "LinalgVectorNormBackward0");
    assert_eq!(name(x.cumsum(0).unwrap()), "CumsumBackward0");
    assert!(x.argmax(None, false).unwrap().grad_fn().is_none());
}
