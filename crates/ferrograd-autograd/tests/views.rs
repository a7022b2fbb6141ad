//! Every view op of `view.rs` on contiguous, permuted (with gaps), flipped
//! (negative strides) and mixed inputs, against a naive index-map reference:
//! values, storage sharing, gradients, and each error message.

mod support;

use ferrograd_autograd::{DType, Tensor};
use support::{always, check_view, python_slice, same_order, Input, Kind, KINDS};

const SHAPE: [usize; 3] = [3, 4, 5];

fn contiguous_or_flipped(kind: Kind) -> bool {
    matches!(kind, Kind::Contiguous | Kind::Flipped)
}

#[test]
fn reshape_keeps_row_major_order_and_copies_only_when_strides_demand() {
    for (target, out, shares) in [
        (
            vec![12, 5],
            vec![12, 5],
            contiguous_or_flipped as fn(Kind) -> bool,
        ),
        (vec![-1], vec![60], contiguous_or_flipped),
        (vec![3, 2, 2, 5], vec![3, 2, 2, 5], always),
        (vec![3, 4, 1, 5, 1], vec![3, 4, 1, 5, 1], always),
        (vec![3, -1, 5], vec![3, 4, 5], always),
        (vec![5, 12], vec![5, 12], contiguous_or_flipped),
    ] {
        check_view(
            &SHAPE,
            |t| t.reshape(&target),
            &out,
            same_order(&SHAPE, &out),
            shares,
        );
    }
}

#[test]
fn view_never_copies() {
    let out = [3, 2, 2, 5];
    check_view(
        &SHAPE,
        |t| t.view(&[3, 2, 2, -1]),
        &out,
        same_order(&SHAPE, &out),
        always,
    );
    for kind in KINDS {
        let x = Input::new(&SHAPE, kind).tensor;
        let flat = x.view(&[60]);
        if contiguous_or_flipped(kind) {
            assert!(flat.unwrap().shares_storage(&x), "{kind:?}");
        } else {
            let e = flat.unwrap_err().to_string();
            assert!(
                e.starts_with("view size is not compatible with input tensor's size and stride"),
                "{e}"
            );
            assert!(
                e.ends_with("cannot be viewed as [60]. Use .reshape(...) instead."),
                "{e}"
            );
        }
    }
}

#[test]
fn reshape_and_view_reject_sizes_that_do_not_multiply_out() {
    let x = Tensor::arange(0, 9).unwrap();
    for e in [x.reshape(&[2, 5]), x.view(&[2, 5])] {
        assert_eq!(
            e.unwrap_err().to_string(),
            "shape '[2, 5]' is invalid for input of size 9"
        );
    }
    assert_eq!(
        x.reshape(&[2, -1]).unwrap_err().to_string(),
        "shape '[2, -1]' is invalid for input of size 9"
    );
    assert!(x
        .reshape(&[-1, -1])
        .unwrap_err()
        .to_string()
        .contains("only one dimension can be inferred"));
}

#[test]
fn permute_and_transpose_reorder_dims() {
    check_view(
        &SHAPE,
        |t| t.permute(&[2, 0, 1]),
        &[5, 3, 4],
        |i| vec![i[1], i[2], i[0]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.permute(&[-1, -2, 0]),
        &[5, 4, 3],
        |i| vec![i[2], i[1], i[0]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.transpose(0, 2),
        &[5, 4, 3],
        |i| vec![i[2], i[1], i[0]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.transpose(-1, 1),
        &[3, 5, 4],
        |i| vec![i[0], i[2], i[1]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.transpose(1, 1),
        &SHAPE,
        |i| i.to_vec(),
        always,
    );
    check_view(&[4, 5], |t| t.t(), &[5, 4], |i| vec![i[1], i[0]], always);
    check_view(&[4], |t| t.t(), &[4], |i| i.to_vec(), always);
}

#[test]
fn permute_transpose_and_t_report_bad_dims() {
    let x = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let message = |r: ferrograd_autograd::Result<Tensor>| r.unwrap_err().to_string();
    assert_eq!(
        message(x.permute(&[0, 3])),
        "Dimension out of range (expected to be in range of [-2, 1], but got 3)"
    );
    assert!(message(x.permute(&[0, 0])).contains("dims [0, 0] is not a permutation of the 2 dims"));
    assert!(message(x.permute(&[0])).contains("is not a permutation"));
    assert_eq!(
        message(x.transpose(0, -3)),
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)"
    );
    let cube = Tensor::zeros(&[2, 3, 4], DType::F32).unwrap();
    assert!(message(cube.t()).contains("t() expects a tensor with <= 2 dimensions, but self is 3D"));
}

#[test]
fn squeeze_and_unsqueeze_drop_and_add_unit_dims() {
    let shape = [3, 1, 4, 1];
    check_view(
        &shape,
        |t| Ok(t.squeeze()),
        &[3, 4],
        |i| vec![i[0], 0, i[1], 0],
        always,
    );
    check_view(
        &shape,
        |t| t.squeeze_dim(1),
        &[3, 4, 1],
        |i| vec![i[0], 0, i[1], i[2]],
        always,
    );
    check_view(
        &shape,
        |t| t.squeeze_dim(-1),
        &[3, 1, 4],
        |i| vec![i[0], i[1], i[2], 0],
        always,
    );
    check_view(&shape, |t| t.squeeze_dim(0), &shape, |i| i.to_vec(), always);
    check_view(
        &[3, 4],
        |t| t.unsqueeze(0),
        &[1, 3, 4],
        |i| vec![i[1], i[2]],
        always,
    );
    check_view(
        &[3, 4],
        |t| t.unsqueeze(1),
        &[3, 1, 4],
        |i| vec![i[0], i[2]],
        always,
    );
    check_view(
        &[3, 4],
        |t| t.unsqueeze(-1),
        &[3, 4, 1],
        |i| vec![i[0], i[1]],
        always,
    );
    let x = Tensor::zeros(&[3, 4], DType::F32).unwrap();
    assert_eq!(
        x.squeeze_dim(2).unwrap_err().to_string(),
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    );
    assert_eq!(
        x.unsqueeze(3).unwrap_err().to_string(),
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)"
    );
}

#[test]
fn expand_repeats_unit_dims_and_sums_their_gradient() {
    check_view(
        &[3, 1],
        |t| t.expand(&[2, 3, 4]),
        &[2, 3, 4],
        |i| vec![i[1], 0],
        always,
    );
    check_view(
        &[3, 1],
        |t| t.expand(&[-1, 5]),
        &[3, 5],
        |i| vec![i[0], 0],
        always,
    );
    check_view(
        &[1, 4],
        |t| t.broadcast_to(&[2, 3, 4]),
        &[2, 3, 4],
        |i| vec![0, i[2]],
        always,
    );
    let expanded = Tensor::arange(0, 3).unwrap().expand(&[2, -1]).unwrap();
    assert_eq!(expanded.strides(), &[0, 1]);

    let x = Tensor::zeros(&[3, 1], DType::F32).unwrap();
    let e = x.expand(&[4, 4]).unwrap_err().to_string();
    assert!(
        e.contains(
            "the expanded size must match the existing size at every non-singleton dimension"
        ),
        "{e}"
    );
    let e = x.expand(&[4]).unwrap_err().to_string();
    assert!(e.contains("the number of sizes provided (1) must be greater or equal to the number of dimensions in the tensor (2)"), "{e}");
    let e = x.expand(&[-1, 3, 1]).unwrap_err().to_string();
    assert!(
        e.contains("the expanded size -1 is not allowed in a leading, non-existing dimension 0"),
        "{e}"
    );
}

#[test]
fn narrow_takes_a_window() {
    check_view(
        &SHAPE,
        |t| t.narrow(1, 1, 2),
        &[3, 2, 5],
        |i| vec![i[0], 1 + i[1], i[2]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.narrow(-1, -3, 2),
        &[3, 4, 2],
        |i| vec![i[0], i[1], 2 + i[2]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.narrow(0, 3, 0),
        &[0, 4, 5],
        |i| i.to_vec(),
        always,
    );
    let x = Tensor::zeros(&[3, 4], DType::F32).unwrap();
    let e = x.narrow(1, 3, 2).unwrap_err().to_string();
    assert!(
        e.contains("start (3) + length (2) exceeds dimension size (4) of dimension 1"),
        "{e}"
    );
    assert_eq!(
        x.narrow(0, 4, 0).unwrap_err().to_string(),
        "index 4 is out of bounds for dimension 0 with size 3"
    );
}

#[test]
fn slice_follows_python_for_every_step_sign() {
    let shape = [3, 7, 2];
    let cases = [
        (None, None, 1),
        (Some(1), Some(5), 1),
        (Some(1), None, 2),
        (None, Some(-2), 3),
        (Some(-100), Some(100), 4),
        (None, None, -1),
        (None, None, -2),
        (Some(5), Some(1), -1),
        (Some(-1), Some(-5), -3),
        (Some(100), Some(-100), -4),
        (Some(2), Some(2), 1),
        (Some(1), Some(5), -1),
    ];
    for (start, stop, step) in cases {
        let taken = python_slice(7, start, stop, step);
        check_view(
            &shape,
            |t| t.slice(1, start, stop, step),
            &[3, taken.len(), 2],
            |i| vec![i[0], taken[i[1]], i[2]],
            always,
        );
    }
    let reversed = Tensor::zeros(&shape, DType::F32)
        .unwrap()
        .slice(-2, None, None, -1)
        .unwrap();
    assert_eq!(reversed.strides(), &[14, -2, 1]);
    let x = Tensor::zeros(&[3], DType::F32).unwrap();
    assert!(x
        .slice(0, None, None, 0)
        .unwrap_err()
        .to_string()
        .contains("slice step cannot be zero"));
    assert!(Tensor::scalar(1.0f32)
        .slice(0, None, None, 1)
        .unwrap_err()
        .to_string()
        .contains("cannot slice a 0-d tensor"));
}

#[test]
fn select_removes_a_dim_and_counts_negative_indices_from_the_end() {
    check_view(
        &SHAPE,
        |t| t.select(1, -1),
        &[3, 5],
        |i| vec![i[0], 3, i[1]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.select(0, 2),
        &[4, 5],
        |i| vec![2, i[0], i[1]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.select(-1, -5),
        &[3, 4],
        |i| vec![i[0], i[1], 0],
        always,
    );
    check_view(&[4], |t| t.select(0, 1), &[], |_| vec![1], always);
    let x = Tensor::zeros(&[3, 4], DType::F32).unwrap();
    let message = |r: ferrograd_autograd::Result<Tensor>| r.unwrap_err().to_string();
    assert_eq!(
        message(x.select(0, 3)),
        "index 3 is out of bounds for dimension 0 with size 3"
    );
    assert_eq!(
        message(x.select(1, -5)),
        "index -5 is out of bounds for dimension 1 with size 4"
    );
    assert_eq!(
        message(x.select(2, 0)),
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    );
    assert!(message(Tensor::scalar(1.0f32).select(0, 0))
        .contains("select() cannot be applied to a 0-dim tensor."));
}

#[test]
fn flip_walks_dims_backwards_without_copying() {
    check_view(
        &SHAPE,
        |t| t.flip(&[0, 2]),
        &SHAPE,
        |i| vec![2 - i[0], i[1], 4 - i[2]],
        always,
    );
    check_view(
        &SHAPE,
        |t| t.flip(&[-2]),
        &SHAPE,
        |i| vec![i[0], 3 - i[1], i[2]],
        always,
    );
    check_view(&SHAPE, |t| t.flip(&[]), &SHAPE, |i| i.to_vec(), always);
    let flipped = Tensor::zeros(&[2, 3], DType::F32)
        .unwrap()
        .flip(&[1])
        .unwrap();
    assert_eq!(
        (flipped.strides(), flipped.storage_offset()),
        (&[3, -1][..], 2)
    );
    let x = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    assert!(x
        .flip(&[1, -1])
        .unwrap_err()
        .to_string()
        .contains("dim 1 appears multiple times in the list of dims"));
    assert!(x
        .flip(&[2])
        .unwrap_err()
        .to_string()
        .starts_with("Dimension out of range"));
}

#[test]
fn flatten_and_unflatten_merge_and_split_dims() {
    let merged_last = |k: Kind| k != Kind::Permuted && k != Kind::Mixed;
    check_view(
        &SHAPE,
        |t| t.flatten(1, -1),
        &[3, 20],
        same_order(&SHAPE, &[3, 20]),
        merged_last,
    );
    check_view(
        &SHAPE,
        |t| t.flatten(0, -1),
        &[60],
        same_order(&SHAPE, &[60]),
        contiguous_or_flipped,
    );
    check_view(&SHAPE, |t| t.flatten(1, 1), &SHAPE, |i| i.to_vec(), always);
    check_view(
        &SHAPE,
        |t| t.unflatten(1, &[2, -1]),
        &[3, 2, 2, 5],
        same_order(&SHAPE, &[3, 2, 2, 5]),
        always,
    );
    check_view(
        &SHAPE,
        |t| t.unflatten(-1, &[5, 1]),
        &[3, 4, 5, 1],
        same_order(&SHAPE, &[3, 4, 5, 1]),
        always,
    );
    assert_eq!(Tensor::scalar(2.0f32).flatten(0, -1).unwrap().shape(), &[1]);
    let x = Tensor::zeros(&SHAPE, DType::F32).unwrap();
    assert!(x
        .flatten(2, 1)
        .unwrap_err()
        .to_string()
        .contains("start_dim cannot come after end_dim"));
    let e = x.unflatten(1, &[3, -1]).unwrap_err().to_string();
    assert!(
        e.contains("don't multiply up to the size of dim 1 (4)"),
        "{e}"
    );
}

#[test]
fn contiguous_copies_only_when_needed() {
    check_view(
        &SHAPE,
        |t| t.contiguous(),
        &SHAPE,
        |i| i.to_vec(),
        |k| k == Kind::Contiguous,
    );
    for kind in KINDS {
        let x = Input::new(&SHAPE, kind).tensor;
        let c = x.contiguous().unwrap();
        assert!(c.is_contiguous(), "{kind:?}");
        assert_eq!(
            (c.strides(), c.storage_offset()),
            (&[20, 5, 1][..], 0),
            "{kind:?}"
        );
        assert_eq!(c.same_tensor(&x), kind == Kind::Contiguous, "{kind:?}");
    }
    // Unit dims may have any stride and still count as contiguous.
    let x = Tensor::arange(0, 4)
        .unwrap()
        .reshape(&[4, 1])
        .unwrap()
        .t()
        .unwrap();
    assert!(x.is_contiguous() && x.contiguous().unwrap().same_tensor(&x));
}

#[test]
fn chained_views_compose() {
    // x.permute(2, 0, 1)[4:0:-2, :, 1][None] on a [3, 4, 5] input.
    let op = |t: &Tensor| {
        t.permute(&[2, 0, 1])?
            .slice(0, Some(4), Some(0), -2)?
            .select(2, 1)?
            .unsqueeze(0)
    };
    check_view(
        &SHAPE,
        op,
        &[1, 2, 3],
        |i| vec![i[2], 1, 4 - 2 * i[1]],
        always,
    );
    let op = |t: &Tensor| {
        t.transpose(0, 1)?
            .flip(&[1])?
            .narrow(0, 1, 2)?
            .flatten(0, 1)
    };
    // The flipped dim cannot merge with its neighbour, so the flatten copies.
    check_view(
        &SHAPE,
        op,
        &[6, 5],
        |i| vec![2 - i[0] % 3, 1 + i[0] / 3, i[1]],
        |_| false,
    );
}

#[test]
fn views_see_writes_through_each_other() {
    let x = Tensor::zeros(&[3, 4], DType::F64).unwrap();
    let column = x.t().unwrap().select(0, -1).unwrap().flip(&[0]).unwrap();
    column
        .copy_(&Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap())
        .unwrap();
    let got = x.to_vec::<f64>().unwrap();
    let mut want = vec![0.0; 12];
    for (r, v) in [(2, 1.0), (1, 2.0), (0, 3.0)] {
        want[r * 4 + 3] = v;
    }
    assert_eq!(got, want);
    assert_eq!(column.version(), x.version());
    assert!(x.version() > 0);
}

#[test]
fn gradient_of_a_view_of_a_view_reaches_the_leaf() {
    let x = Tensor::ones(&[2, 3], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let y = x
        .t()
        .unwrap()
        .flip(&[0])
        .unwrap()
        .expand(&[2, 3, 2])
        .unwrap();
    y.sum().unwrap().backward().unwrap();
    // Each element is read twice by the expand.
    assert_eq!(x.grad().unwrap().to_vec::<f32>().unwrap(), vec![2.0; 6]);
}
