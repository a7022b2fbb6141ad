//! Indexing by data — index_select, index_add, gather, scatter and
//! scatter_add (out of place and in place), advanced indexing with index
//! tensors and masks, index_put, masked_select, masked_fill, nonzero, sort and
//! topk: values and gradients against PyTorch's
//! (tests/fixtures/indexing.npz, written by make_indexing.py) on contiguous,
//! transposed and flipped inputs; gradcheck in f64, first order and through
//! the backward itself; against naive loops on sizes that take the threaded
//! paths; and every bad-input message.

use ferrograd::autograd::{grad, gradcheck};
use ferrograd::interop::npz::load_npz;
use ferrograd::ops::ix;
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixtures() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/indexing.npz");
        load_npz(path).unwrap().into_iter().collect()
    })
}

fn array(name: &str) -> Option<Tensor> {
    fixtures().get(name).cloned()
}

/// Equal shapes, and values equal (NaN matching NaN) or within `tol` relative.
fn assert_values(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.double().unwrap(), want.double().unwrap());
    let pairs = g
        .to_vec::<f64>()
        .unwrap()
        .into_iter()
        .zip(w.to_vec::<f64>().unwrap());
    for (i, (a, b)) in pairs.enumerate() {
        let same = a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * (1.0 + b.abs());
        assert!(same, "{what}[{i}]: got {a}, want {b}");
    }
}

type View = fn(&Tensor) -> Tensor;
fn ident(t: &Tensor) -> Tensor {
    t.clone()
}
fn tr(t: &Tensor) -> Tensor {
    t.t().unwrap()
}
fn flip0(t: &Tensor) -> Tensor {
    t.flip(&[0]).unwrap()
}
fn flip1(t: &Tensor) -> Tensor {
    t.flip(&[1]).unwrap()
}

/// The leaves of a case: its base arrays, floating ones requiring grad.
fn leaves(case: &str, n: usize) -> Vec<Tensor> {
    (0..n)
        .map(|i| {
            let base = array(&format!("{case}.in{i}")).unwrap_or_else(|| panic!("no {case}.in{i}"));
            // A fresh handle, so gradients never accumulate across checks.
            match base.dtype().is_floating_point() {
                true => base.detach().requires_grad_(true).unwrap(),
                false => base,
            }
        })
        .collect()
}

/// Runs `op` on the inputs of `case` through `views` and compares its
/// outputs (values, and indices for sort/topk) and the gradients of the
/// fixture's loss `sum(out * sin(arange))` with PyTorch's. Returns the leaves.
fn compare_with_pytorch(
    case: &str,
    views: &[View],
    op: &dyn Fn(&[Tensor]) -> Result<Vec<Tensor>>,
) -> Vec<Tensor> {
    let leaves = leaves(case, views.len());
    let outs = op(&leaves_through(&leaves, views)).unwrap_or_else(|e| panic!("{case}: {e}"));
    for (k, out) in outs.iter().enumerate() {
        let key = if k == 0 {
            format!("{case}.out")
        } else {
            format!("{case}.out{k}")
        };
        let want = array(&key).unwrap();
        assert_eq!(out.dtype(), want.dtype(), "{key}: dtype");
        assert_values(out, &want, 1e-9, &key);
    }
    if outs[0].requires_grad() {
        let w: Vec<f64> = (0..outs[0].numel()).map(|i| (i as f64).sin()).collect();
        let w = Tensor::from_vec(w, outs[0].shape()).unwrap();
        outs[0]
            .try_mul(&w)
            .unwrap()
            .sum()
            .unwrap()
            .backward()
            .unwrap();
        for (i, leaf) in leaves.iter().enumerate() {
            if let Some(want) = array(&format!("{case}.g{i}")) {
                assert_values(
                    &leaf.grad().expect("a gradient"),
                    &want,
                    1e-9,
                    &format!("{case}.g{i}"),
                );
            }
        }
    }
    leaves
}

fn leaves_through(leaves: &[Tensor], views: &[View]) -> Vec<Tensor> {
    leaves.iter().zip(views).map(|(t, v)| v(t)).collect()
}

/// [`compare_with_pytorch`], then gradcheck of the first output in f64.
fn check(case: &str, views: &[View], op: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let multi = |t: &[Tensor]| Ok(vec![op(t)?]);
    let leaves = compare_with_pytorch(case, views, &multi);
    let differentiable = leaves.iter().any(|l| l.requires_grad())
        && op(&leaves_through(&leaves, views)).unwrap().requires_grad();
    if differentiable
        && leaves
            .iter()
            .all(|l| !l.requires_grad() || l.dtype() == DType::F64)
    {
        let through_views = |t: &[Tensor]| op(&leaves_through(t, views));
        gradcheck(through_views, &leaves, 1e-6, 1e-6, 1e-4)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
    }
}

fn some(t: &[Tensor]) -> Vec<Option<&Tensor>> {
    t.iter().map(Some).collect()
}

#[test]
fn index_select_and_index_add_match_pytorch() {
    check("index_select1", &[ident, ident], |t| {
        t[0].index_select(1, &t[1])
    });
    check("index_select0_t", &[tr, ident], |t| {
        t[0].index_select(0, &t[1])
    });
    check("index_select_3d", &[flip0, ident], |t| {
        t[0].index_select(1, &t[1])
    });
    check("index_add0", &[ident, ident, flip1], |t| {
        t[0].index_add(0, &t[1], &t[2])
    });
    check("index_add1", &[tr, ident, ident], |t| {
        t[0].index_add(1, &t[1], &t[2])
    });
}

#[test]
fn gather_and_scatter_match_pytorch() {
    check("gather1", &[ident, ident], |t| t[0].gather(1, &t[1]));
    check("gather0_t", &[tr, ident], |t| t[0].gather(0, &t[1]));
    check("gather_3d", &[flip1, ident], |t| t[0].gather(2, &t[1]));
    check("gather_idx_t", &[ident, tr], |t| t[0].gather(1, &t[1]));
    check("scatter1", &[ident, ident, ident], |t| {
        t[0].scatter(1, &t[1], &t[2])
    });
    check("scatter0_t", &[tr, ident, flip0], |t| {
        t[0].scatter(0, &t[1], &t[2])
    });
    check("scatter_value", &[ident, ident], |t| {
        t[0].scatter(1, &t[1], 2.5)
    });
    check("scatter_add0", &[ident, ident, ident], |t| {
        t[0].scatter_add(0, &t[1], &t[2])
    });
    check("scatter_add_t", &[flip0, ident, tr], |t| {
        t[0].scatter_add(1, &t[1], &t[2])
    });
}

#[test]
fn advanced_indexing_matches_pytorch() {
    check("adv_pair", &[ident, ident, ident], |t| {
        t[0].index_tensors(&some(&t[1..]))
    });
    check("adv_broadcast", &[tr, ident, ident], |t| {
        t[0].index_tensors(&some(&t[1..]))
    });
    check("adv_col", &[ident, ident], |t| {
        t[0].index_tensors(&[None, Some(&t[1])])
    });
    check("adv_separated", &[ident, ident, ident], |t| {
        t[0].index_tensors(&[Some(&t[1]), None, Some(&t[2])])
    });
    check("adv_middle", &[flip0, ident, ident], |t| {
        t[0].index_tensors(&[None, Some(&t[1]), Some(&t[2])])
    });
    check("adv_dup", &[ident, ident], |t| {
        t[0].index_tensors(&[Some(&t[1])])
    });
    check("adv_i32", &[ident, ident], |t| {
        t[0].index_tensors(&[None, Some(&t[1])])
    });
    check("mask_full", &[ident, ident], |t| t[0].index_mask(&t[1]));
    check("mask_leading", &[ident, ident], |t| t[0].index_mask(&t[1]));
    check("mask_rows", &[ident, ident], |t| t[0].index_mask(&t[1]));
    check("mask_and_index", &[tr, ident, ident], |t| {
        t[0].index_tensors(&some(&t[1..]))
    });
    check("mix_basic", &[ident, ident], |t| {
        t[0].index_with(ix![1.., &t[1], ..;-1])
    });
    check("mix_step", &[ident, ident], |t| {
        t[0].index_with(ix![..;2, &t[1], 1..4])
    });
    check("mix_int", &[ident, ident], |t| {
        t[0].index_with(ix![0, .., &t[1]])
    });
    check("mix_newaxis", &[ident, ident], |t| {
        t[0].index_with(ix![None, &t[1], 1])
    });
    check("index_put", &[ident, ident, ident], |t| {
        t[0].index_put(&[Some(&t[1])], &t[2], false)
    });
    check("index_put_acc", &[ident, ident, ident, ident], |t| {
        t[0].index_put(&some(&t[1..3]), &t[3], true)
    });
    check("index_put_bcast", &[ident, ident, ident], |t| {
        t[0].index_put(&[None, Some(&t[1])], &t[2], false)
    });
    check("index_put_mask", &[ident, ident, ident], |t| {
        t[0].index_put(&[Some(&t[1])], &t[2], false)
    });
}

#[test]
fn masks_and_nonzero_match_pytorch() {
    check("masked_select", &[tr, tr], |t| t[0].masked_select(&t[1]));
    check("masked_select_bcast", &[ident, ident], |t| {
        t[0].masked_select(&t[1])
    });
    check("masked_select_mask_bcast", &[ident, ident], |t| {
        t[0].masked_select(&t[1])
    });
    check("masked_fill", &[ident, ident], |t| {
        t[0].masked_fill(&t[1], -1.5)
    });
    check("masked_fill_t", &[tr, ident], |t| {
        t[0].masked_fill(&t[1], 2.0)
    });
    check("masked_fill_tensor", &[ident, ident, ident], |t| {
        t[0].masked_fill(&t[1], &t[2])
    });
    check("masked_fill_bcast", &[ident, ident], |t| {
        t[0].masked_fill(&t[1], 0.0)
    });
    check("nonzero", &[ident], |t| t[0].nonzero());
    check("nonzero_t", &[tr], |t| t[0].argwhere());
    check("nonzero_3d", &[ident], |t| t[0].nonzero());
    let scalar = Tensor::scalar(3i64);
    assert_eq!(scalar.nonzero().unwrap().shape(), &[1, 0]);
    assert_eq!(Tensor::scalar(0.0f32).nonzero().unwrap().shape(), &[0, 0]);
}

#[test]
fn sort_and_topk_match_pytorch() {
    let pair = |r: Result<(Tensor, Tensor)>| r.map(|(v, i)| vec![v, i]);
    check("sort_last", &[ident], |t| Ok(t[0].sort(-1, false)?.0));
    check("sort_desc0", &[tr], |t| Ok(t[0].sort(0, true)?.0));
    check("topk_last", &[ident], |t| {
        Ok(t[0].topk(2, -1, true, true)?.0)
    });
    check("topk_small0", &[tr], |t| {
        Ok(t[0].topk(3, 0, false, true)?.0)
    });
    check("topk_3d", &[flip0], |t| Ok(t[0].topk(2, 1, true, true)?.0));
    // Indices too; ties and NaN make finite differences meaningless, so no gradcheck there.
    type Op = fn(&Tensor) -> Result<(Tensor, Tensor)>;
    let cases: [(&str, View, Op); 12] = [
        ("sort_last", ident, |x| x.sort(-1, false)),
        ("sort_desc0", tr, |x| x.sort(0, true)),
        ("sort_stable", ident, |x| x.sort(1, false)),
        ("sort_stable_desc", ident, |x| x.sort(1, true)),
        ("sort_nan", ident, |x| x.sort(0, false)),
        ("sort_nan_desc", ident, |x| x.sort(0, true)),
        ("sort_int", ident, |x| x.sort(0, false)),
        ("topk_last", ident, |x| x.topk(2, -1, true, true)),
        ("topk_small0", tr, |x| x.topk(3, 0, false, true)),
        ("topk_3d", flip0, |x| x.topk(2, 1, true, true)),
        ("topk_nan", ident, |x| x.topk(2, 0, true, true)),
        ("sort_int", ident, |x| {
            Ok((x.sort(0, false)?.0, x.argsort(0, false)?))
        }),
    ];
    for (case, view, op) in cases {
        compare_with_pytorch(case, &[view], &|t| pair(op(&t[0])));
    }
}

/// Gradcheck of `f`'s backward itself, in `x` and in the upstream gradient.
fn check_double_backward(what: &str, f: impl Fn(&Tensor) -> Result<Tensor>, x: &Tensor) {
    let shape = f(x).unwrap().shape().to_vec();
    let n: usize = shape.iter().product();
    let v = Tensor::from_vec((0..n).map(|i| (i as f64 * 0.7).cos()).collect(), &shape).unwrap();
    let backward = |t: &[Tensor]| {
        // gradcheck's finite differences run under no_grad on plain tensors.
        let _grad_mode = enable_grad();
        let x = match t[0].requires_grad() {
            true => t[0].clone(),
            false => t[0].detach().requires_grad_(true)?,
        };
        let opts = GradOptions {
            grad_outputs: Some(vec![t[1].clone()]),
            create_graph: true,
            ..Default::default()
        };
        Ok(grad(&[f(&x)?], &[x], opts)?[0].clone().unwrap())
    };
    let inputs = [
        x.requires_grad_(true).unwrap(),
        v.requires_grad_(true).unwrap(),
    ];
    gradcheck(backward, &inputs, 1e-6, 1e-6, 1e-4).unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn every_backward_is_itself_differentiable() {
    let x = Tensor::from_vec((0..12).map(|i| (i as f64 * 0.37).sin()).collect(), &[3, 4]).unwrap();
    let i = Tensor::from_vec(vec![2i64, 0, 2], &[3]).unwrap();
    let g = Tensor::from_vec(vec![3i64, 0, 1, 1, 2, 3], &[3, 2]).unwrap();
    let mask = Tensor::from_vec(vec![true, false, true, true], &[4]).unwrap();
    let src = Tensor::from_vec((0..6).map(|k| k as f64).collect(), &[3, 2]).unwrap();
    check_double_backward("index_select", |x| x.index_select(0, &i), &x);
    check_double_backward(
        "index_add",
        |x| x.index_add(0, &i, &x.index_select(0, &i)?),
        &x,
    );
    check_double_backward("gather", |x| x.gather(1, &g), &x);
    check_double_backward("scatter", |x| x.scatter(1, &g, &x.narrow(1, 0, 2)?), &x);
    check_double_backward("scatter_add", |x| x.scatter_add(1, &g, &src), &x);
    check_double_backward("index_tensors", |x| x.index_tensors(&[Some(&i), None]), &x);
    check_double_backward(
        "index_put",
        |x| x.index_put(&[None, Some(&i)], &x.select(1, 3)?.unsqueeze(1)?, true),
        &x,
    );
    check_double_backward("masked_select", |x| x.masked_select(&mask), &x);
    check_double_backward("masked_fill", |x| x.masked_fill(&mask, 2.0), &x);
    check_double_backward("sort", |x| Ok(x.sort(1, true)?.0), &x);
    check_double_backward("topk", |x| Ok(x.topk(2, 0, false, true)?.0), &x);
}

#[test]
fn scatter_into_a_larger_source_sends_zeros_to_unread_elements() {
    let x = Tensor::zeros(&[2, 4], DType::F64).unwrap();
    let idx = Tensor::from_vec(vec![3i64, 1], &[2, 1]).unwrap();
    let src = Tensor::from_vec((1..=6).map(f64::from).collect(), &[2, 3])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let out = x.scatter(1, &idx, &src).unwrap();
    assert_eq!(
        out.to_vec::<f64>().unwrap(),
        vec![0., 0., 0., 1., 0., 4., 0., 0.]
    );
    out.sum().unwrap().backward().unwrap();
    assert_eq!(
        src.grad().unwrap().to_vec::<f64>().unwrap(),
        vec![1., 0., 0., 1., 0., 0.]
    );
    gradcheck(
        |t| x.scatter_add(1, &idx, &t[0]),
        &[src.detach().requires_grad_(true).unwrap()],
        1e-6,
        1e-6,
        1e-4,
    )
    .unwrap();
}

#[test]
fn in_place_forms_match_out_of_place_and_follow_the_rules() {
    let base = Tensor::from_vec((0..12).map(|i| i as f64 * 0.5 - 2.0).collect(), &[3, 4]).unwrap();
    let idx = Tensor::from_vec(vec![1i64, 3, 0, 0, 2, 1], &[3, 2]).unwrap();
    let src = Tensor::from_vec((0..6).map(|i| i as f64 + 10.0).collect(), &[3, 2]).unwrap();
    let rows = Tensor::from_vec(vec![2i64, 0], &[2]).unwrap();
    let mask = base.gt(0.0).unwrap();
    type InPlace = fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor) -> Result<Tensor>;
    let pairs: [(&str, InPlace, InPlace); 5] = [
        (
            "scatter_",
            |x, i, s, _, _| x.scatter(1, i, s),
            |x, i, s, _, _| x.scatter_(1, i, s),
        ),
        (
            "scatter_add_",
            |x, i, s, _, _| x.scatter_add(1, i, s),
            |x, i, s, _, _| x.scatter_add_(1, i, s),
        ),
        (
            "index_put_",
            |x, _, s, r, _| {
                x.index_put(
                    &[Some(r)],
                    &s.t()?.narrow(1, 0, 2)?.t()?.narrow(1, 0, 1)?,
                    false,
                )
            },
            |x, _, s, r, _| {
                x.index_put_(
                    &[Some(r)],
                    &s.t()?.narrow(1, 0, 2)?.t()?.narrow(1, 0, 1)?,
                    false,
                )
            },
        ),
        (
            "index_put_ acc",
            |x, _, s, r, _| x.index_put(&[None, Some(r)], &s.narrow(1, 0, 1)?, true),
            |x, _, s, r, _| x.index_put_(&[None, Some(r)], &s.narrow(1, 0, 1)?, true),
        ),
        (
            "masked_fill_",
            |x, _, _, _, m| x.masked_fill(m, 7.0),
            |x, _, _, _, m| x.masked_fill_(m, 7.0),
        ),
    ];
    for (name, out_of_place, in_place) in pairs {
        // Values, on a transposed view written through.
        let want = out_of_place(&base, &idx, &src, &rows, &mask).unwrap();
        let copy = base.deep_clone().unwrap();
        let v0 = copy.version();
        let returned = in_place(&copy, &idx, &src, &rows, &mask).unwrap();
        assert!(
            returned.same_tensor(&copy) && copy.version() == v0 + 1,
            "{name}: version"
        );
        assert_values(&copy, &want, 0.0, name);
        // Gradients through a non-leaf modified in place equal the out-of-place ones.
        let (x1, s1) = (
            base.requires_grad_(true).unwrap(),
            src.deep_clone().unwrap().requires_grad_(true).unwrap(),
        );
        let y = x1.try_mul(1.0).unwrap();
        in_place(&y, &idx, &s1, &rows, &mask).unwrap();
        y.try_mul(&y).unwrap().sum().unwrap().backward().unwrap();
        let (x2, s2) = (
            base.detach().requires_grad_(true).unwrap(),
            src.deep_clone().unwrap().requires_grad_(true).unwrap(),
        );
        out_of_place(&x2, &idx, &s2, &rows, &mask)
            .unwrap()
            .try_mul(&out_of_place(&x2, &idx, &s2, &rows, &mask).unwrap())
            .unwrap()
            .sum()
            .unwrap()
            .backward()
            .unwrap();
        assert_values(
            &x1.grad().unwrap(),
            &x2.grad().unwrap(),
            1e-12,
            &format!("{name} grad x"),
        );
        if let (Some(a), Some(b)) = (s1.grad(), s2.grad()) {
            assert_values(&a, &b, 1e-12, &format!("{name} grad src"));
        }
        // A leaf that requires grad refuses.
        let leaf = base.detach().requires_grad_(true).unwrap();
        let e = in_place(&leaf, &idx, &src, &rows, &mask)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a leaf Variable that requires grad is being used in an in-place operation"),
            "{name}: {e}"
        );
        base.zero_grad();
    }
    // Writing through a transposed view reaches the base.
    let b = Tensor::zeros(&[2, 3], DType::I64).unwrap();
    let cols = Tensor::from_vec(vec![1i64, 0, 0], &[1, 3]).unwrap();
    b.t().unwrap().scatter_(1, &cols.t().unwrap(), 5).unwrap();
    assert_eq!(b.to_vec::<i64>().unwrap(), vec![0, 5, 5, 5, 0, 0]);
}

/// A small deterministic pseudo-random stream for index data.
fn lcg(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut s = seed;
    move |bound| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) % bound
    }
}

#[test]
fn large_inputs_take_the_threaded_paths_correctly() {
    manual_seed(11);
    let (rows, cols) = (300, 257);
    let x = Tensor::randn(&[rows, cols], DType::F32).unwrap();
    let xv = x.to_vec::<f32>().unwrap();
    let mut next = lcg(5);
    // gather along the last dim, and along dim 0 of the transpose.
    let k = 190;
    let idx: Vec<i64> = (0..rows * k).map(|_| next(cols as u64) as i64).collect();
    let it = Tensor::from_vec(idx.clone(), &[rows, k]).unwrap();
    let got = x.gather(1, &it).unwrap().to_vec::<f32>().unwrap();
    let want: Vec<f32> = (0..rows * k)
        .map(|p| xv[(p / k) * cols + idx[p] as usize])
        .collect();
    assert_eq!(got, want);
    let got_t = x
        .t()
        .unwrap()
        .gather(0, &it.t().unwrap())
        .unwrap()
        .t()
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(got_t, want);
    // scatter_add along the last dim: rows split across threads; in place it
    // runs on one thread through a transposed view; both against a naive loop.
    let src = Tensor::randn(&[k, rows], DType::F32).unwrap().t().unwrap();
    let sv = src.to_vec::<f32>().unwrap();
    let mut want = xv.clone();
    for p in 0..rows * k {
        want[(p / k) * cols + idx[p] as usize] += sv[p];
    }
    let got = x
        .scatter_add(1, &it, &src)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(got, want);
    let in_place = x.t().unwrap().contiguous().unwrap();
    in_place.t().unwrap().scatter_add_(1, &it, &src).unwrap();
    assert_eq!(in_place.t().unwrap().to_vec::<f32>().unwrap(), want);
    // index_select rows (an embedding lookup) and columns.
    let picks: Vec<i64> = (0..700).map(|_| next(rows as u64) as i64).collect();
    let pt = Tensor::from_vec(picks.clone(), &[700]).unwrap();
    let emb = x.index_select(0, &pt).unwrap().to_vec::<f32>().unwrap();
    let want: Vec<f32> = picks
        .iter()
        .flat_map(|&r| xv[r as usize * cols..(r as usize + 1) * cols].to_vec())
        .collect();
    assert_eq!(emb, want);
    let col_picks = Tensor::from_vec(vec![256i64, 0, 3], &[3]).unwrap();
    let by_cols = x
        .index_select(1, &col_picks)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!(
        (0..rows)
            .all(|r| by_cols[r * 3..r * 3 + 3]
                == [xv[r * cols + 256], xv[r * cols], xv[r * cols + 3]])
    );
    // masked_select and nonzero.
    let mask = x.gt(0.3).unwrap();
    let selected = x.masked_select(&mask).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(
        selected,
        xv.iter().copied().filter(|&v| v > 0.3).collect::<Vec<_>>()
    );
    let nz = mask.nonzero().unwrap().to_vec::<i64>().unwrap();
    let want_nz: Vec<i64> = (0..rows * cols)
        .filter(|&p| xv[p] > 0.3)
        .flat_map(|p| [(p / cols) as i64, (p % cols) as i64])
        .collect();
    assert_eq!(nz, want_nz);
    // sort and topk of every row.
    let (sorted, order) = x.sort(1, true).unwrap();
    let (sorted, order) = (
        sorted.to_vec::<f32>().unwrap(),
        order.to_vec::<i64>().unwrap(),
    );
    let (top, _) = x.topk(5, 1, true, true).unwrap();
    let top = top.to_vec::<f32>().unwrap();
    for r in 0..rows {
        let mut row = xv[r * cols..(r + 1) * cols].to_vec();
        row.sort_by(|a, b| b.partial_cmp(a).unwrap());
        assert_eq!(sorted[r * cols..(r + 1) * cols], row[..]);
        assert_eq!(top[r * 5..r * 5 + 5], row[..5]);
        assert!((0..cols).all(|j| xv[r * cols + order[r * cols + j] as usize] == row[j]));
    }
    // A stable sort of many ties, against the standard library's stable sort.
    let ties: Vec<i64> = (0..rows * cols).map(|_| next(7) as i64 - 3).collect();
    let (_, order) = Tensor::from_vec(ties.clone(), &[rows, cols])
        .unwrap()
        .sort(1, true)
        .unwrap();
    let order = order.to_vec::<i64>().unwrap();
    for r in 0..rows {
        let mut want: Vec<i64> = (0..cols as i64).collect();
        want.sort_by_key(|&j| std::cmp::Reverse(ties[r * cols + j as usize]));
        assert_eq!(order[r * cols..(r + 1) * cols], want[..], "row {r}");
    }
    // advanced indexing with two broadcast index tensors.
    let i0 = Tensor::from_vec(
        (0..400)
            .map(|_| next(rows as u64) as i64)
            .collect::<Vec<_>>(),
        &[400, 1],
    )
    .unwrap();
    let i1 = Tensor::from_vec(
        (0..100)
            .map(|_| next(cols as u64) as i64)
            .collect::<Vec<_>>(),
        &[100],
    )
    .unwrap();
    let picked = x
        .index_tensors(&[Some(&i0), Some(&i1)])
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let (a, b) = (i0.to_vec::<i64>().unwrap(), i1.to_vec::<i64>().unwrap());
    assert!(
        (0..400 * 100).all(|p| picked[p] == xv[a[p / 100] as usize * cols + b[p % 100] as usize])
    );
}

fn err(r: Result<impl std::fmt::Debug>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn bad_inputs_are_errors_with_pytorchs_messages() {
    let x = Tensor::arange(0.0, 9.0).unwrap().reshape(&[3, 3]).unwrap();
    let long = |v: Vec<i64>, shape: &[usize]| Tensor::from_vec(v, shape).unwrap();
    let oob = "index 5 is out of bounds for dimension 0 with size 3";
    let float_index = Tensor::from_vec(vec![1.0f32], &[1]).unwrap();
    // Out of range.
    assert_eq!(err(x.index_select(0, &long(vec![5], &[1]))), oob);
    assert_eq!(
        err(x.index_select(0, &long(vec![-1], &[1]))),
        "index -1 is out of bounds for dimension 0 with size 3"
    );
    assert_eq!(err(x.gather(0, &long(vec![5], &[1, 1]))), oob);
    assert_eq!(err(x.scatter(0, &long(vec![5], &[1, 1]), 1.0)), oob);
    assert_eq!(err(x.scatter_add(0, &long(vec![5], &[1, 1]), &x)), oob);
    assert_eq!(err(x.index_tensors(&[Some(&long(vec![5], &[1]))])), oob);
    assert_eq!(
        err(x.index_tensors(&[Some(&long(vec![-4], &[1]))])),
        "index -4 is out of bounds for dimension 0 with size 3"
    );
    assert_eq!(
        err(x.index_put(
            &[Some(&long(vec![5], &[1]))],
            &Tensor::scalar(0.0f32),
            false
        )),
        oob
    );
    assert_eq!(
        err(x.index_add(0, &long(vec![5], &[1]), &x.narrow(0, 0, 1).unwrap())),
        oob
    );
    // Index dtypes.
    assert!(err(x.index_select(0, &float_index))
        .contains("index_select(): Expected dtype int32 or int64 for index"));
    assert!(err(x.gather(0, &float_index.reshape(&[1, 1]).unwrap()))
        .contains("gather(): Expected dtype int32/int64 for index"));
    assert!(
        err(x.scatter(0, &float_index.reshape(&[1, 1]).unwrap(), 1.0))
            .contains("scatter(): Expected dtype int32/int64 for index")
    );
    assert!(err(x.index_tensors(&[Some(&float_index)]))
        .contains("tensors used as indices must be long, int, byte or bool tensors"));
    // Shapes.
    assert!(err(x.index_select(0, &long(vec![1], &[1, 1])))
        .contains("Index is supposed to be a vector"));
    assert!(err(x.gather(0, &long(vec![1], &[1])))
        .contains("Index tensor must have the same number of dimensions as input tensor"));
    assert!(err(x.gather(0, &long(vec![0; 10], &[2, 5]))).contains(
        "Size does not match at dimension 1 expected index [2, 5] to be no larger than self [3, 3] apart from dimension 0"
    ));
    assert!(err(x.scatter(0, &long(vec![0; 4], &[2, 2]), &Tensor::zeros(&[1, 5], DType::F32).unwrap())).contains(
        "Expected index [2, 2] to be no larger than self [3, 3] apart from dimension 0 and to be no larger size than src [1, 5]"
    ));
    assert!(err(x.scatter(
        0,
        &long(vec![0; 4], &[2, 2]),
        &Tensor::zeros(&[2, 2], DType::F64).unwrap()
    ))
    .contains("scatter(): Expected self.dtype to be equal to src.dtype"));
    assert!(err(x.index_add(
        0,
        &long(vec![1], &[1]),
        &Tensor::ones(&[2, 3], DType::F32).unwrap()
    ))
    .contains("Number of indices (1) should be equal to source.size(dim): (2), for dim: 0"));
    assert!(err(x.index_add(
        0,
        &long(vec![1, 2], &[2]),
        &Tensor::ones(&[2, 3], DType::F64).unwrap()
    ))
    .contains("self (Float) and source (Double) must have the same scalar type"));
    // Masks.
    let mask23 = Tensor::from_vec(vec![true, false, true, true, false, true], &[2, 3]).unwrap();
    assert!(err(x.index_mask(&mask23)).contains(
        "The shape of the mask [2, 3] at index 0 does not match the shape of the indexed tensor [3, 3] at index 0"
    ));
    let mask2 = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    assert!(err(x.index_with(ix![.., &mask2])).contains(
        "The shape of the mask [2] at index 0 does not match the shape of the indexed tensor [3, 3] at index 1"
    ));
    assert!(err(x.masked_select(&mask2))
        .contains("The size of tensor a (3) must match the size of tensor b (2)"));
    let int_mask = long(vec![1, 0, 1], &[3]);
    assert!(err(x.masked_select(&int_mask)).contains("masked_select: expected BoolTensor for mask"));
    assert!(err(x.masked_fill(&int_mask, 2.0))
        .contains("masked_fill_ only supports boolean masks, but got mask with dtype int64"));
    let row_mask = Tensor::from_vec(vec![true, false, true], &[3]).unwrap();
    assert!(err(x.masked_fill(&row_mask, &Tensor::from_vec(vec![2.0f32], &[1]).unwrap()))
        .contains("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)."));
    let big_mask = Tensor::ones(&[2, 3, 3], DType::Bool).unwrap();
    assert!(err(x.deep_clone().unwrap().masked_fill_(&big_mask, 1.0))
        .contains("output with shape [3, 3] doesn't match the broadcast shape [2, 3, 3]"));
    // Advanced indexing.
    let (i2, i3) = (long(vec![0, 1], &[2]), long(vec![0, 1, 2], &[3]));
    assert!(err(x.index_tensors(&[Some(&i2), Some(&i3)])).contains(
        "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"
    ));
    assert!(err(x.index_tensors(&[Some(&i2), Some(&i2), Some(&i2)]))
        .contains("too many indices for tensor of dimension 2"));
    assert!(
        err(x.index_with(ix![0, 0, &i2])).contains("too many indices for tensor of dimension 2")
    );
    assert!(err(x.index_put(&[Some(&i2)], &Tensor::ones(&[3], DType::F64).unwrap(), false))
        .contains("Index put requires the source and destination dtypes match, got Float for the destination and Double for the source."));
    assert!(err(x.index_put(&[Some(&i2)], &Tensor::ones(&[2], DType::F32).unwrap(), false))
        .contains("shape mismatch: value tensor of shape [2] cannot be broadcast to indexing result of shape [2, 3]"));
    // Dims and k.
    assert_eq!(
        err(x.gather(2, &long(vec![0], &[1, 1]))),
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    );
    assert!(err(x.index_select(-3, &i2)).contains("Dimension out of range"));
    assert!(err(x.sort(2, false)).contains("Dimension out of range"));
    assert!(err(x.topk(4, 1, true, true)).contains("selected index k out of range"));
    assert!(err(Tensor::ones(&[2], DType::Bool)
        .unwrap()
        .topk(1, 0, true, true))
    .contains("topk does not support bool"));
}

#[test]
fn masks_from_comparisons_select_like_pytorch() {
    // p[p > 0.9] with the comparison ops.
    let p = Tensor::from_vec(vec![0.95f32, 0.1, 0.99, 0.5, 0.91, 0.2], &[2, 3]).unwrap();
    let by_index = p.index_mask(&p.gt(0.9).unwrap()).unwrap();
    let by_select = p.masked_select(&p.gt(0.9).unwrap()).unwrap();
    assert_eq!(by_index.to_vec::<f32>().unwrap(), vec![0.95, 0.99, 0.91]);
    assert_eq!(by_select.to_vec::<f32>().unwrap(), vec![0.95, 0.99, 0.91]);
    // u8 masks index like bool ones; a 0-d mask adds a dim.
    let bytes = Tensor::from_vec(vec![0u8, 1], &[2]).unwrap();
    assert_eq!(
        p.index_mask(&bytes).unwrap().to_vec::<f32>().unwrap(),
        vec![0.5, 0.91, 0.2]
    );
    assert_eq!(
        p.index_mask(&Tensor::scalar(true)).unwrap().shape(),
        &[1, 2, 3]
    );
    assert_eq!(
        p.index_mask(&Tensor::scalar(false)).unwrap().shape(),
        &[0, 2, 3]
    );
    // Node names follow PyTorch.
    let x = p.requires_grad_(true).unwrap();
    let idx = Tensor::from_vec(vec![1i64], &[1]).unwrap();
    let names = [
        x.index_select(1, &idx).unwrap(),
        x.gather(1, &idx.reshape(&[1, 1]).unwrap()).unwrap(),
        x.index_tensors(&[Some(&idx)]).unwrap(),
        x.masked_select(&bytes.bool().unwrap().unsqueeze(1).unwrap())
            .unwrap(),
        x.masked_fill(&x.gt(0.5).unwrap(), 0.0).unwrap(),
        x.sort(1, false).unwrap().0,
        x.topk(1, 1, true, true).unwrap().0,
    ]
    .map(|t| t.grad_fn().unwrap().name());
    assert_eq!(
        names,
        [
            "IndexSelectBackward0",
            "GatherBackward0",
            "IndexBackward0",
            "MaskedSelectBackward0",
            "MaskedFillBackward0",
            "SortBackward0",
            "TopkBackward0"
        ]
    );
}
