//! Elementwise math, comparisons and type promotion against PyTorch
//! (tests/fixtures/elementwise.npz, written by make_elementwise.py): values
//! in f32 and f64 on contiguous, transposed and flipped inputs, first and
//! second derivatives, edge values and the whole f32 range, result dtypes;
//! gradcheck in f64 (first and second order); the in-place rules; and every
//! bad-input message.
#![allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::bool_assert_comparison
)] // test tables read better this way

use ferrograd::autograd::{grad, gradcheck, GradOptions};
use ferrograd::interop::npz::load_npz;
use ferrograd::ops::unary::GeluApproximate;
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixture() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/elementwise.npz"
        );
        load_npz(path).unwrap().into_iter().collect()
    })
}

fn get(name: &str) -> Tensor {
    fixture()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in elementwise.npz"))
        .detach()
}

/// `f(0), f(1), ...` shaped like `t`: the weights of the fixture's losses.
fn weights(t: &Tensor, f: fn(f64) -> f64) -> Tensor {
    let w: Vec<f64> = (0..t.numel()).map(|i| f(i as f64)).collect();
    Tensor::from_vec(w, t.shape())
        .unwrap()
        .to_dtype(t.dtype())
        .unwrap()
}

/// `sum(t · weights(t, f))`: the fixture's loss.
fn weighted_loss(t: &Tensor, f: fn(f64) -> f64) -> Tensor {
    t.try_mul(&weights(t, f))
        .unwrap()
        .sum_dims(&[], false)
        .unwrap()
}

/// Same dtype and shape, and every value within `atol + rtol·|want|`
/// (NaNs and infinities must match exactly).
fn assert_close(got: &Tensor, want: &Tensor, rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g = got.double().unwrap().to_vec::<f64>().unwrap();
    let w = want.double().unwrap().to_vec::<f64>().unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = if b.is_nan() || b.is_infinite() {
            a.is_nan() == b.is_nan() && (b.is_nan() || a == b)
        } else {
            (a - b).abs() <= atol + rtol * b.abs()
        };
        assert!(ok, "{what}[{i}]: got {a}, want {b}");
    }
}

fn assert_exact(got: &Tensor, want: &Tensor, what: &str) {
    assert_close(got, want, 0.0, 0.0, what);
}

/// A float64 leaf that requires grad.
fn leaf(values: &[f64]) -> Tensor {
    Tensor::from_slice(values, &[values.len()])
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

/// Backward from the sum of `t`.
fn backward_sum(t: &Tensor) {
    t.sum_dims(&[], false).unwrap().backward().unwrap();
}

fn grad_of(t: &Tensor) -> Vec<f64> {
    t.grad().unwrap().to_vec::<f64>().unwrap()
}

type Op = fn(&Tensor) -> Result<Tensor>;

/// The one-input cases of the fixture: name, base array, op.
const UNARY: &[(&str, &str, Op)] = &[
    ("exp", "x", |t| t.exp()),
    ("log", "pos", |t| t.log()),
    ("sqrt", "pos", |t| t.sqrt()),
    ("rsqrt", "pos", |t| t.rsqrt()),
    ("sin", "x", |t| t.sin()),
    ("cos", "x", |t| t.cos()),
    ("tanh", "x", |t| t.tanh()),
    ("sigmoid", "x", |t| t.sigmoid()),
    ("erf", "x", |t| t.erf()),
    ("abs", "x", |t| t.abs()),
    ("relu", "x", |t| t.relu()),
    ("leaky_relu", "x", |t| t.leaky_relu(0.1)),
    ("gelu", "x", |t| t.gelu()),
    ("gelu_tanh", "x", |t| t.gelu_with(GeluApproximate::Tanh)),
    ("silu", "x", |t| t.silu()),
    ("softplus", "x", |t| t.softplus()),
    ("softplus_beta", "x", |t| t.softplus_with(2.0, 3.0)),
    ("clamp", "x", |t| {
        t.clamp(Some((-0.5).into()), Some(1.0.into()))
    }),
    ("clamp_min", "x", |t| t.clamp_min(0.2)),
    ("clamp_max", "x", |t| t.clamp_max(-0.3)),
    ("pow2", "x", |t| t.pow(2)),
    ("pow3", "x", |t| t.pow(3)),
    ("pow_half", "pos", |t| t.pow(0.5)),
    ("pow_neg", "pos", |t| t.pow(-1.5)),
    ("pow_e", "pos", |t| t.pow(2.7)),
];

/// The ops whose second derivative the fixture holds.
const SMOOTH: &[&str] = &[
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "erf",
    "gelu",
    "gelu_tanh",
    "silu",
    "softplus",
    "softplus_beta",
    "pow3",
    "pow_neg",
    "pow_e",
];

#[test]
fn unary_values_match_pytorch_on_every_layout() {
    for &(name, base, op) in UNARY {
        let b = get(base);
        let b32 = b.float().unwrap();
        let run = |t: &Tensor| op(t).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_close(&run(&b), &get(&format!("{name}.f64")), 1e-13, 1e-15, name);
        // PyTorch's f32 gelu computes 1 + erf(x/√2), which cancels for
        // negative x: its error there is about |x| · 2^-24.
        let (rtol, atol) = (1e-6, if name == "gelu" { 1e-6 } else { 1e-7 });
        assert_close(&run(&b32), &get(&format!("{name}.f32")), rtol, atol, name);
        let t = b32.t().unwrap();
        assert_close(&run(&t), &get(&format!("{name}.t")), rtol, atol, name);
        let flip = b32.flip(&[1]).unwrap();
        assert_close(&run(&flip), &get(&format!("{name}.flip")), rtol, atol, name);
    }
}

#[test]
fn unary_gradients_match_pytorch_to_second_order() {
    for &(name, base, op) in UNARY {
        let leaf = get(base).requires_grad_(true).unwrap();
        let out = op(&leaf).unwrap();
        let loss = weighted_loss(&out, f64::sin);
        let create = GradOptions {
            create_graph: true,
            ..Default::default()
        };
        let g = grad(&[loss], &[leaf.clone()], create).unwrap()[0]
            .clone()
            .unwrap();
        assert_close(&g, &get(&format!("{name}.grad")), 1e-12, 1e-14, name);
        if !SMOOTH.contains(&name) {
            continue;
        }
        let loss2 = weighted_loss(&g, f64::cos);
        let gg = grad(&[loss2], &[leaf], GradOptions::default()).unwrap()[0]
            .clone()
            .unwrap();
        assert_close(&gg, &get(&format!("{name}.gradgrad")), 1e-11, 1e-13, name);
    }
}

#[test]
fn backward_node_names_are_pytorchs() {
    let x = get("pos").requires_grad_(true).unwrap();
    let names: &[(&str, Op)] = &[
        ("ExpBackward0", |t| t.exp()),
        ("LogBackward0", |t| t.log()),
        ("RsqrtBackward0", |t| t.rsqrt()),
        ("TanhBackward0", |t| t.tanh()),
        ("SigmoidBackward0", |t| t.sigmoid()),
        ("AbsBackward0", |t| t.abs()),
        ("ReluBackward0", |t| t.relu()),
        ("LeakyReluBackward0", |t| t.leaky_relu(0.01)),
        ("GeluBackward0", |t| t.gelu()),
        ("SiluBackward0", |t| t.silu()),
        ("SoftplusBackward0", |t| t.softplus()),
        ("PowBackward0", |t| t.pow(2.0)),
        ("PowBackward1", |t| t.pow(t)),
        ("ClampBackward1", |t| {
            t.clamp(Some(0.0.into()), Some(1.0.into()))
        }),
        ("ClampMinBackward0", |t| t.clamp_min(0.0)),
        ("ClampMaxBackward0", |t| t.clamp_max(0.0)),
        ("MaximumBackward0", |t| t.maximum(t)),
        ("MinimumBackward0", |t| t.minimum(t)),
        ("WhereBackward0", |t| where_(&t.gt(1.0)?, t, 0.0)),
    ];
    for &(name, op) in names {
        assert_eq!(op(&x).unwrap().grad_fn().unwrap().name(), name);
    }
}

#[test]
fn binary_values_and_gradients_match_pytorch() {
    let ops: &[(&str, &str, fn(&Tensor, &Tensor) -> Result<Tensor>)] = &[
        ("maximum", "x", |a, b| a.maximum(b)),
        ("minimum", "x", |a, b| a.minimum(b)),
        ("pow_tensor", "pos", |a, b| a.pow(b)),
        ("where", "x", |a, b| where_(&a.gt(0.0)?, a, b)),
    ];
    for &(name, base, op) in ops {
        let a = get(base).requires_grad_(true).unwrap();
        let y = get("y");
        let b = if name == "where" {
            y.narrow(0, 0, 4).unwrap().reshape(&[4, 1]).unwrap()
        } else {
            y
        };
        let b = b.detach().requires_grad_(true).unwrap();
        let out = op(&a, &b).unwrap();
        assert_close(&out, &get(&format!("{name}.out")), 1e-13, 1e-15, name);
        weighted_loss(&out, f64::sin).backward().unwrap();
        assert_close(
            &a.grad().unwrap(),
            &get(&format!("{name}.ga")),
            1e-12,
            1e-14,
            &format!("{name}.ga"),
        );
        assert_close(
            &b.grad().unwrap(),
            &get(&format!("{name}.gb")),
            1e-12,
            1e-14,
            &format!("{name}.gb"),
        );
    }
}

#[test]
fn maximum_and_minimum_split_ties_evenly() {
    type Binary = fn(&Tensor, &Tensor) -> Result<Tensor>;
    let cases: [(Binary, [f64; 3], [f64; 3]); 2] = [
        (|a, b| a.maximum(b), [0.5, 0.0, 1.0], [0.5, 1.0, 0.0]),
        (|a, b| a.minimum(b), [0.5, 1.0, 0.0], [0.5, 0.0, 1.0]),
    ];
    for (op, want_a, want_b) in cases {
        let (a, b) = (leaf(&[1.0, 2.0, 3.0]), leaf(&[1.0, 5.0, 0.0]));
        backward_sum(&op(&a, &b).unwrap());
        assert_eq!(
            (grad_of(&a), grad_of(&b)),
            (want_a.to_vec(), want_b.to_vec())
        );
    }
}

#[test]
fn in_place_clamp_and_relu_match_pytorch() {
    let ops: &[(&str, Op)] = &[
        ("clamp_", |t| {
            t.clamp_(Some((-0.5).into()), Some(1.0.into()))
        }),
        ("relu_", |t| t.relu_()),
    ];
    for &(name, op) in ops {
        let leaf = get("x").requires_grad_(true).unwrap();
        let z = leaf.try_mul(1.0).unwrap();
        let v0 = z.version();
        let out = op(&z).unwrap();
        assert!(
            out.same_tensor(&z) && z.version() == v0 + 1,
            "{name}: in place"
        );
        assert_close(&z, &get(&format!("{name}.out")), 0.0, 0.0, name);
        weighted_loss(&z, f64::sin).backward().unwrap();
        assert_close(
            &leaf.grad().unwrap(),
            &get(&format!("{name}.grad")),
            0.0,
            0.0,
            name,
        );
    }
}

#[test]
fn result_dtypes_follow_pytorchs_promotion() {
    let (x, ints, bytes) = (get("x"), get("ints"), get("bytes"));
    let (f32_, i32_, b) = (x.float().unwrap(), ints.int().unwrap(), ints.gt(0).unwrap());
    let pos = get("pos");
    let row0 = f32_.select(0, 0).unwrap();
    let exps = Tensor::from_vec(vec![2i64, -1, 0, 1, 3, -2], &[6]).unwrap();
    let cases: Vec<(&str, Tensor)> = vec![
        ("exp_int", ints.exp().unwrap()),
        ("sqrt_int", ints.abs().unwrap().sqrt().unwrap()),
        ("sigmoid_bool", b.sigmoid().unwrap()),
        ("abs_int", ints.abs().unwrap()),
        ("abs_bytes", bytes.abs().unwrap()),
        ("relu_int", ints.relu().unwrap()),
        ("clamp_int_float", ints.clamp_min(0.5).unwrap()),
        (
            "clamp_int_int",
            ints.clamp(Some((-2).into()), Some(3.into())).unwrap(),
        ),
        ("clamp_bool_int", b.clamp_min(0).unwrap()),
        ("pow_int_int", ints.pow(2).unwrap()),
        ("pow_int_float", ints.abs().unwrap().pow(0.5).unwrap()),
        ("pow_bool_int", b.pow(3).unwrap()),
        ("pow_int_tensor", ints.pow(&exps).unwrap()),
        ("maximum_int_f32", ints.maximum(&row0).unwrap()),
        ("minimum_bool", b.minimum(&b.flip(&[0]).unwrap()).unwrap()),
        ("add_int_f32", &ints + &f32_),
        ("add_bytes_i32", &bytes + &i32_),
        ("add_i32_i64", &i32_ + &ints),
        ("add_f32_f64", &f32_ + &x),
        ("add_bool_bool", &b + &b.flip(&[1]).unwrap()),
        ("add_bool_int_scalar", &b + 1),
        ("add_bytes_wraps", &bytes + 300),
        ("mul_f32_scalar", &f32_ * 2.0),
        ("mul_bool_float_scalar", &b * 1.5),
        ("mul_bytes_int_scalar", &bytes * 2),
        ("mul_int_float_scalar", &ints * 0.5),
        ("mul_bool_bool", &b * &b.flip(&[0]).unwrap()),
        ("sub_int_f32_broadcast", &ints - &row0),
        ("sub_f64_col", &x - &x.narrow(1, 0, 1).unwrap()),
        ("div_int_int", &ints / &(&ints.abs().unwrap() + 1)),
        ("div_int_scalar", &ints / 2),
        ("div_f32_f64", &f32_ / &pos),
        ("neg_int", -&ints),
    ];
    for (name, got) in cases {
        let want = get(&format!("dt.{name}"));
        assert_close(&got, &want, 1e-6, 0.0, name);
    }
}

/// `f` applied in place to a fresh copy of `base`; returns the copy.
fn in_place(base: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Tensor {
    let copy = base.deep_clone().unwrap();
    f(&copy).unwrap();
    copy
}

#[test]
fn in_place_arithmetic_matches_pytorch() {
    let (f32_, ints, bytes) = (get("x").float().unwrap(), get("ints"), get("bytes"));
    let (y32, pos, col) = (
        get("y").float().unwrap(),
        get("pos"),
        f32_.select(1, 0).unwrap(),
    );
    let row = get("ints").select(0, 0).unwrap();
    let cases: Vec<(&str, Tensor)> = vec![
        ("add_row", in_place(&f32_, |t| t.add_(&y32))),
        ("sub_t_col", in_place(&f32_, |t| t.t()?.sub_(&col))),
        ("mul_scalar", in_place(&f32_, |t| t.mul_(2.5))),
        ("div_tensor", in_place(&f32_, |t| t.div_(&pos))),
        ("add_int_scalar", in_place(&ints, |t| t.add_(2))),
        ("mul_bytes_wraps", in_place(&bytes, |t| t.mul_(100))),
        (
            "fill_t",
            in_place(&f32_, |t| t.t()?.narrow(0, 1, 2)?.fill_(-7)),
        ),
        ("zero_row", in_place(&f32_, |t| t.select(0, 2)?.zero_())),
        ("copy_int_row", in_place(&f32_, |t| t.copy_(&row))),
    ];
    for (name, got) in cases {
        assert_close(&got, &get(&format!("inplace.{name}")), 1e-6, 0.0, name);
    }
}

#[test]
fn comparisons_and_logic_match_pytorch() {
    let (x, ints, bytes, special) = (get("x"), get("ints"), get("bytes"), get("special"));
    let (f32_, y32, b) = (
        x.float().unwrap(),
        get("y").float().unwrap(),
        ints.gt(0).unwrap(),
    );
    let parity = ints
        .try_sub(&ints.try_div(2).unwrap().long().unwrap().try_mul(2).unwrap())
        .unwrap();
    let cases: Vec<(&str, Tensor)> = vec![
        ("gt_tensor", f32_.gt(&y32).unwrap()),
        ("ge_tensor", f32_.ge(&y32).unwrap()),
        ("lt_scalar", f32_.lt(0.5).unwrap()),
        ("le_scalar", f32_.le(-0.25).unwrap()),
        ("eq_tensor", x.eq(&get("y")).unwrap()),
        ("ne_tensor", x.ne(&get("y")).unwrap()),
        ("gt_int_float", ints.gt(0.5).unwrap()),
        ("le_bytes_int", bytes.le(&ints).unwrap()),
        ("logical_and", ints.logical_and(&f32_).unwrap()),
        ("logical_or", ints.logical_or(&bytes).unwrap()),
        (
            "logical_xor",
            ints.logical_xor(&b.flip(&[0]).unwrap()).unwrap(),
        ),
        ("logical_not", ints.logical_not().unwrap()),
        ("isnan", special.isnan().unwrap()),
        ("isinf", special.isinf().unwrap()),
        ("isfinite", special.isfinite().unwrap()),
        ("any", ints.any().unwrap()),
        ("all", ints.all().unwrap()),
        ("any_dim1", ints.any_dim(1, false).unwrap()),
        ("all_dim0_keep", ints.all_dim(0, true).unwrap()),
        ("all_dim1_keep", ints.all_dim(-1, true).unwrap()),
        ("any_bytes", bytes.any().unwrap()),
        ("all_bytes_dim0", bytes.all_dim(0, false).unwrap()),
        ("where_scalars", where_(&b, 1.0, 0).unwrap()),
        ("where_int_float", where_(&b, &ints, 0.5).unwrap()),
    ];
    for (name, got) in cases {
        assert_exact(&got, &get(&format!("cmp.{name}")), name);
    }
    // `ints % 2` in PyTorch is the floor remainder, 0 or 1 for any sign.
    let odd = parity.ne(0).unwrap();
    assert_exact(
        &b.eq(&odd.long().unwrap()).unwrap(),
        &get("cmp.eq_bool_int"),
        "eq_bool_int",
    );
}

#[test]
fn edge_values_and_the_whole_f32_range_match_pytorch() {
    let special = get("special");
    let ops: &[(&str, Op)] = &[
        ("exp", |t| t.exp()),
        ("log", |t| t.log()),
        ("sqrt", |t| t.sqrt()),
        ("tanh", |t| t.tanh()),
        ("sigmoid", |t| t.sigmoid()),
        ("erf", |t| t.erf()),
        ("relu", |t| t.relu()),
        ("gelu", |t| t.gelu()),
        ("silu", |t| t.silu()),
        ("softplus", |t| t.softplus()),
        ("abs", |t| t.abs()),
        ("clamp", |t| t.clamp(Some((-1.0).into()), Some(1.0.into()))),
    ];
    for &(name, op) in ops {
        let what = format!("special.{name}");
        let mut want = get(&what);
        if name == "gelu" {
            // PyTorch's vectorised erf gives NaN at +inf; gelu(inf) is inf.
            let at_inf = special.eq(f32::INFINITY).unwrap();
            want = where_(&at_inf, f32::INFINITY, &want).unwrap();
        }
        assert_close(&op(&special).unwrap(), &want, 1e-6, 1e-44, &what);
    }
    // Over [-100, 89]: exp down to denormals, tanh and sigmoid saturating.
    // gelu's 1 + erf(x/√2) cancels for negative x in both libraries: compare
    // against |x| there.
    let wide = get("wide");
    let ops: &[(&str, Op, f64)] = &[
        ("exp", |t| t.exp(), 0.0),
        ("tanh", |t| t.tanh(), 0.0),
        ("sigmoid", |t| t.sigmoid(), 0.0),
        ("gelu", |t| t.gelu(), 1e-7),
        ("silu", |t| t.silu(), 0.0),
    ];
    for &(name, op, scale) in ops {
        let what = format!("wide.{name}");
        assert_close(
            &op(&wide).unwrap(),
            &get(&what),
            5e-7,
            1e-44 + scale * 100.0,
            &what,
        );
    }
}

// ----- gradcheck -----

/// Where the piecewise ops of `UNARY` bend (relu at 0, the clamps' bounds).
const KINKS: [f64; 6] = [-0.5, -0.3, 0.0, 0.2, 0.5, 1.0];

/// A fixed, irregular f64 input whose values keep away from the `KINKS`.
fn input(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n)
        .map(|i| {
            let mut v = ((i as u64 * 7919 + seed * 104_729) % 1000) as f64 / 250.0 - 2.0;
            while KINKS.iter().any(|k| (v - k).abs() < 0.05) {
                v += 0.07;
            }
            v
        })
        .collect();
    Tensor::from_vec(data, shape)
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

fn positive(shape: &[usize], seed: u64) -> Tensor {
    input(shape, seed)
        .detach()
        .abs()
        .unwrap()
        .try_add(0.2)
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

fn check(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    gradcheck(f, inputs, 1e-6, 1e-5, 1e-3).unwrap();
}

/// gradcheck of `(x, r) ↦ d/dx sum(op(x) · r)`, which checks the backward
/// graph that `create_graph` records, with respect to both the input and
/// the incoming gradient.
fn check_second_order(op: Op, x: &Tensor) {
    let second = move |t: &[Tensor]| {
        let _on = enable_grad();
        // gradcheck's finite differences pass plain tensors: make them leaves.
        let x = match t[0].requires_grad() {
            true => t[0].clone(),
            false => t[0].detach().requires_grad_(true)?,
        };
        let loss = op(&x)?.try_mul(&t[1])?.sum_dims(&[], false)?;
        let create = GradOptions {
            create_graph: true,
            ..Default::default()
        };
        Ok(grad(&[loss], &[x], create)?[0].clone().unwrap())
    };
    let r = input(x.shape(), 7);
    check(second, &[x.clone(), r]);
}

#[test]
fn gradcheck_every_unary_op_first_and_second_order() {
    for &(name, base, op) in UNARY {
        let x = if base == "pos" {
            positive(&[3, 4], 1)
        } else {
            input(&[3, 4], 1)
        };
        gradcheck(|t| op(&t[0]), &[x.clone()], 1e-6, 1e-5, 1e-3)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_second_order(op, &x);
    }
}

#[test]
fn gradcheck_binary_ops_with_broadcasting() {
    let (a, b, col) = (input(&[2, 3], 1), input(&[3], 2), input(&[2, 1], 3));
    check(|t| t[0].maximum(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[0].minimum(&t[1]), &[a.clone(), col.clone()]);
    check(
        |t| where_(&t[0].gt(0.0)?, &t[0], &t[1]),
        &[a.clone(), col.clone()],
    );
    check(
        |t| where_(&t[1].lt(0.0)?, 2.0, &t[0]),
        &[a.clone(), b.clone()],
    );
    let (p, e) = (positive(&[2, 3], 4), input(&[3], 5));
    check(|t| t[0].pow(&t[1]), &[p.clone(), e.clone()]);
    check(|t| t[0].pow(&t[1])?.pow(&t[0]), &[p, e]);
}

#[test]
fn gradcheck_in_place_clamp_and_relu() {
    let x = input(&[3, 4], 6);
    check(
        |t| {
            t[0].try_mul(1.0)?
                .clamp_(Some((-0.5).into()), Some(1.0.into()))
        },
        &[x.clone()],
    );
    check(|t| t[0].exp()?.try_sub(1.5)?.relu_(), &[x]);
}

// ----- special cases, rules and messages -----

#[test]
fn pow_follows_pytorchs_edge_rules() {
    // 0^0 = 1, and the exponent's gradient is 0 where the base is 0 and e >= 0.
    let (a, e) = (leaf(&[0.0, 0.0, 2.0]), leaf(&[0.0, 1.0, 3.0]));
    let y = a.pow(&e).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![1.0, 0.0, 8.0]);
    backward_sum(&y);
    assert_eq!(grad_of(&a), vec![0.0, 1.0, 12.0]);
    assert_eq!(grad_of(&e), vec![0.0, 0.0, 8.0 * 2f64.ln()]);
    // Integer powers with negative tensor exponents: 0 unless the base is ±1.
    let base = Tensor::from_vec(vec![2i64, 1, -1, -1], &[4]).unwrap();
    let exps = Tensor::from_vec(vec![-1i64, -3, -3, -2], &[4]).unwrap();
    let powers = base.pow(&exps).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(powers, vec![0, 1, -1, 1]);
    // A zero scalar exponent has a zero gradient.
    let x = leaf(&[0.0, 3.0]);
    backward_sum(&x.pow(0).unwrap());
    assert_eq!(grad_of(&x), vec![0.0, 0.0]);
}

#[test]
fn clamp_follows_pytorchs_edge_rules() {
    // NaN stays NaN; min > max makes everything max.
    let x = Tensor::from_vec(vec![f32::NAN, 5.0, -5.0], &[3]).unwrap();
    let y = x.clamp(Some(2.0.into()), Some(1.0.into())).unwrap();
    let y = y.to_vec::<f32>().unwrap();
    assert!(y[0].is_nan());
    assert_eq!(&y[1..], &[1.0, 1.0]);
    // The gradient is zero at the bounds themselves.
    let x = leaf(&[0.0, 0.5, 1.0]);
    backward_sum(&x.clamp(Some(0.0.into()), Some(1.0.into())).unwrap());
    assert_eq!(grad_of(&x), vec![0.0, 1.0, 0.0]);
}

#[test]
fn in_place_ops_follow_the_autograd_rules() {
    let leaf = Tensor::from_vec(vec![1.0f32, -1.0], &[2])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let e = leaf.relu_().unwrap_err().to_string();
    assert!(
        e.contains("a leaf Variable that requires grad is being used in an in-place operation"),
        "{e}"
    );
    let e = leaf.clamp_(Some(0.0.into()), None).unwrap_err().to_string();
    assert!(e.contains("leaf Variable"), "{e}");
    // exp saves its output; overwriting it in place breaks its backward.
    let y = leaf.exp().unwrap();
    y.relu_().unwrap();
    let e = y
        .sum_dims(&[], false)
        .unwrap()
        .backward()
        .unwrap_err()
        .to_string();
    assert!(e.contains("modified by an inplace operation"), "{e}");
    // Under no_grad, in place on a leaf is allowed and bumps the version.
    let v0 = leaf.version();
    with_no_grad(|| leaf.clamp_(None, Some(0.5.into()))).unwrap();
    assert_eq!(leaf.version(), v0 + 1);
    assert_eq!(leaf.to_vec::<f32>().unwrap(), vec![0.5, -1.0]);
    // Broadcast (stride-0) destinations are refused.
    let b = Tensor::from_vec(vec![1.0f32], &[1])
        .unwrap()
        .expand(&[3])
        .unwrap();
    assert!(b
        .relu_()
        .unwrap_err()
        .to_string()
        .contains("more than one element"));
}

fn err(r: Result<Tensor>) -> String {
    r.map(|_| ()).unwrap_err().to_string()
}

#[test]
fn bad_inputs_are_errors_with_pytorchs_words() {
    let ints = Tensor::from_vec(vec![1i64, -2], &[2]).unwrap();
    let bools = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    let floats = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    for (op, r) in [
        ("gelu", ints.gelu()),
        ("silu", ints.silu()),
        ("softplus", ints.softplus()),
        ("leaky_relu", ints.leaky_relu(0.1)),
    ] {
        let e = err(r);
        assert!(
            e.starts_with(&format!("{op} is not implemented for dtype int64"))
                && e.contains(".float()"),
            "{e}"
        );
    }
    assert!(err(bools.abs()).contains("\"abs_cpu\" is not implemented for 'Bool'"));
    assert!(err(bools.relu()).contains("Boolean inputs not supported for relu"));
    assert!(err(bools.relu_()).contains("Boolean inputs not supported for relu"));
    assert!(err(bools.pow(&bools)).contains("\"pow\" is not implemented for 'Bool'"));
    assert!(err(ints.pow(-2)).contains("Integers to negative integer powers are not allowed."));
    assert!(
        err(floats.clamp(None, None)).contains("At least one of 'min' or 'max' must not be None")
    );
    assert!(err(bools.clamp_min(false)).contains("clamp is not implemented for dtype bool"));
    let e = err(ints.clamp_(Some(0.5.into()), None));
    assert!(
        e.contains("result type Float can't be cast to the desired output type Long"),
        "{e}"
    );
    let e = err(where_(&floats, &floats, 0.0));
    assert!(
        e.contains("where expected condition to be a boolean tensor"),
        "{e}"
    );
    let three = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
    for e in [
        err(floats.maximum(&three)),
        err(floats.gt(&three)),
        err(floats.logical_and(&three)),
        err(floats.pow(&three)),
        err(where_(&bools, &three, 0.0)),
    ] {
        assert!(e.contains("must match the size of tensor b"), "{e}");
    }
    let e = err(floats.any_dim(1, false));
    assert_eq!(
        e,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)"
    );
    let e = "exact".parse::<GeluApproximate>().unwrap_err().to_string();
    assert!(
        e.contains("approximate argument must be either none or tanh"),
        "{e}"
    );
}

#[test]
fn zero_dim_and_empty_tensors_work() {
    let s = Tensor::scalar(2.0f32);
    assert_eq!(s.exp().unwrap().shape(), &[] as &[usize]);
    assert_eq!(s.gt(1).unwrap().item::<bool>().unwrap(), true);
    assert!(s.any_dim(0, false).unwrap().item::<bool>().unwrap());
    let empty = Tensor::zeros(&[0, 3], DType::F32).unwrap();
    assert_eq!(empty.tanh().unwrap().shape(), &[0, 3]);
    assert_eq!(empty.any_dim(1, false).unwrap().shape(), &[0]);
    assert_eq!(
        empty.all_dim(0, false).unwrap().to_vec::<bool>().unwrap(),
        vec![true; 3]
    );
}
