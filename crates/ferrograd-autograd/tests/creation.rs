//! Creation functions: `empty`, `linspace`, `eye` and the `_like` forms,
//! checked against values computed by hand or by a naive loop, and their
//! argument errors; and the `tensor!` macro with `NestedLiteral`.

use ferrograd_autograd::{tensor, DType, NestedLiteral, Scalar, Tensor};

#[test]
fn empty_has_the_requested_shape_and_dtype() {
    for dtype in DType::ALL {
        let t = Tensor::empty(&[2, 0, 3], dtype).unwrap();
        assert_eq!(
            (t.shape(), t.dtype(), t.numel()),
            (&[2, 0, 3][..], dtype, 0)
        );
        let t = Tensor::empty(&[3, 5], dtype).unwrap();
        assert_eq!((t.shape(), t.dtype()), (&[3, 5][..], dtype));
        assert!(t.is_contiguous() && !t.requires_grad());
    }
    let scalar = Tensor::empty(&[], DType::F32).unwrap();
    assert_eq!((scalar.dim(), scalar.numel()), (0, 1));
}

#[test]
fn empty_rejects_shapes_that_overflow() {
    let e = Tensor::empty(&[usize::MAX, 2], DType::F32).unwrap_err();
    assert!(
        e.to_string()
            .contains("more elements than memory can address"),
        "{e}"
    );
}

#[test]
fn empty_like_copies_shape_and_dtype_but_not_the_graph() {
    let x = Tensor::ones(&[2, 3], DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let t = Tensor::empty_like(&x).unwrap();
    assert_eq!((t.shape(), t.dtype()), (&[2, 3][..], DType::F64));
    assert!(!t.requires_grad() && !t.shares_storage(&x));
}

#[test]
fn linspace_matches_a_naive_loop() {
    for (start, end, steps) in [
        (0.0, 1.0, 5i64),
        (-3.0, 7.5, 11),
        (2.0, -2.0, 9),
        (1.0, 1.0, 4),
        (0.0, 0.3, 7),
    ] {
        let t = Tensor::linspace(start, end, steps).unwrap();
        assert_eq!((t.shape(), t.dtype()), (&[steps as usize][..], DType::F32));
        let got = t.to_vec::<f32>().unwrap();
        let step = (end - start) / (steps - 1) as f64;
        for (i, &g) in got.iter().enumerate() {
            let want = start + step * i as f64;
            assert!(
                (g as f64 - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "{start}..{end}/{steps}: [{i}] {g} vs {want}"
            );
        }
        assert_eq!(
            (got[0], got[got.len() - 1]),
            (start as f32, end as f32),
            "ends are exact"
        );
    }
}

#[test]
fn linspace_edge_counts() {
    let t = Tensor::linspace(4, 9, 0).unwrap();
    assert_eq!((t.shape(), t.dtype()), (&[0][..], DType::F32));
    assert_eq!(
        Tensor::linspace(4, 9, 1).unwrap().to_vec::<f32>().unwrap(),
        vec![4.0]
    );
    assert_eq!(
        Tensor::linspace(4, 9, 2).unwrap().to_vec::<f32>().unwrap(),
        vec![4.0, 9.0]
    );
    let e = Tensor::linspace(0.0, 1.0, -3).unwrap_err();
    assert_eq!(
        e.to_string(),
        "linspace: number of steps must be non-negative (got -3)"
    );
}

#[test]
fn linspace_dtype_converts_like_pytorch() {
    let t = Tensor::linspace_dtype(0.0, 1.0, 3, DType::F64).unwrap();
    assert_eq!(
        (t.dtype(), t.to_vec::<f64>().unwrap()),
        (DType::F64, vec![0.0, 0.5, 1.0])
    );
    // torch.linspace(0, 10, 4, dtype=torch.int64) is tensor([0, 3, 6, 10]).
    assert_eq!(
        Tensor::linspace_dtype(0, 10, 4, DType::I64)
            .unwrap()
            .to_vec::<i64>()
            .unwrap(),
        vec![0, 3, 6, 10]
    );
    // torch.linspace(-1, 1, 5, dtype=torch.int32) is tensor([-1, 0, 0, 0, 1]).
    assert_eq!(
        Tensor::linspace_dtype(-1, 1, 5, DType::I32)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![-1, 0, 0, 0, 1]
    );
    let e = Tensor::linspace_dtype(0, 1, 3, DType::Bool).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("linspace is not implemented for dtype bool"),
        "{e}"
    );
}

/// The identity pattern built by comparing indices.
fn naive_eye(n: usize, m: usize) -> Vec<f64> {
    (0..n * m)
        .map(|k| if k / m == k % m { 1.0 } else { 0.0 })
        .collect()
}

#[test]
fn eye_matches_the_index_rule() {
    for (n, m) in [(0, 0), (1, 1), (3, 3), (2, 5), (5, 2), (4, 0)] {
        let t = Tensor::eye_m(n, m).unwrap();
        assert_eq!((t.shape(), t.dtype()), (&[n, m][..], DType::F32));
        let got: Vec<f64> = t
            .to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        assert_eq!(got, naive_eye(n, m), "eye_m({n}, {m})");
    }
    assert_eq!(
        Tensor::eye(4).unwrap().to_vec::<f32>().unwrap(),
        Tensor::eye_m(4, 4).unwrap().to_vec::<f32>().unwrap()
    );
}

#[test]
fn eye_dtype_for_every_dtype() {
    for dtype in DType::ALL {
        let t = Tensor::eye_dtype(3, 4, dtype).unwrap();
        assert_eq!((t.shape(), t.dtype()), (&[3, 4][..], dtype));
        assert_eq!(
            t.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap(),
            naive_eye(3, 4)
        );
    }
}

#[test]
fn eye_rejects_sizes_that_overflow() {
    assert!(Tensor::eye_m(usize::MAX, 3).is_err());
}

// ----- tensor! -----

#[test]
fn tensor_macro_integer_literals_are_i64() {
    let t = tensor![[1, 2, 3], [4, 5, 6]];
    assert_eq!((t.shape(), t.dtype()), (&[2, 3][..], DType::I64));
    assert_eq!(t.to_vec::<i64>().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    let big = tensor![9_007_199_254_740_993i64, -1];
    assert_eq!(
        big.to_vec::<i64>().unwrap(),
        vec![9_007_199_254_740_993, -1],
        "no trip through f64"
    );
}

#[test]
fn tensor_macro_float_literals_are_f32() {
    let t = tensor![1.0, 2.5, -0.25];
    assert_eq!((t.shape(), t.dtype()), (&[3][..], DType::F32));
    assert_eq!(t.to_vec::<f32>().unwrap(), vec![1.0, 2.5, -0.25]);
    let mixed = tensor![[1, 2.5], [3, 4]];
    assert_eq!(mixed.dtype(), DType::F32);
    assert_eq!(mixed.to_vec::<f32>().unwrap(), vec![1.0, 2.5, 3.0, 4.0]);
}

#[test]
fn tensor_macro_bools_and_mixtures_follow_torch_tensor() {
    let t = tensor![[true, false], [false, true]];
    assert_eq!((t.shape(), t.dtype()), (&[2, 2][..], DType::Bool));
    assert_eq!(t.to_vec::<bool>().unwrap(), vec![true, false, false, true]);
    // torch.tensor([True, 2]) is an int64 tensor [1, 2].
    assert_eq!(tensor![true, 2].to_vec::<i64>().unwrap(), vec![1, 2]);
}

#[test]
fn tensor_macro_takes_expressions_and_trailing_commas() {
    let (a, b) = (1.5f32, 2u8);
    let t = tensor![[a, a * 2.0,], [b as f32, -a],];
    assert_eq!(t.to_vec::<f32>().unwrap(), vec![1.5, 3.0, 2.0, -1.5]);
    assert_eq!(tensor![b, 3].dtype(), DType::I64);
}

#[test]
fn tensor_macro_nests_to_any_depth() {
    let t = tensor![
        [[[1, 2], [3, 4]], [[5, 6], [7, 8]]],
        [[[9, 10], [11, 12]], [[13, 14], [15, 16]]]
    ];
    assert_eq!(t.shape(), &[2, 2, 2, 2]);
    assert_eq!(t.to_vec::<i64>().unwrap(), (1..=16).collect::<Vec<i64>>());
    let five = tensor![[[[[0.5]]]], [[[[1.5]]]]];
    assert_eq!(five.shape(), &[2, 1, 1, 1, 1]);
}

#[test]
fn tensor_macro_empty_literals_are_f32() {
    let t = tensor![];
    assert_eq!((t.shape(), t.dtype()), (&[0][..], DType::F32));
    let t = tensor![[], []];
    assert_eq!((t.shape(), t.dtype()), (&[2, 0][..], DType::F32));
}

#[test]
#[should_panic(expected = "tensor!: tensor: expected sequence of length 3 at dim 1 (got 2)")]
fn tensor_macro_panics_on_ragged_rows() {
    let _ = tensor![[1, 2, 3], [4, 5]];
}

#[test]
fn nested_literal_reports_ragged_and_mixed_depths() {
    let s = |v: &[i64]| NestedLiteral::Scalars(v.iter().map(|&x| Scalar::from(x)).collect());
    let ragged = NestedLiteral::List(vec![
        NestedLiteral::List(vec![s(&[1]), s(&[2])]),
        NestedLiteral::List(vec![s(&[3])]),
    ]);
    assert_eq!(
        ragged.to_tensor().unwrap_err().to_string(),
        "tensor: expected sequence of length 2 at dim 1 (got 1)"
    );
    let deeper = NestedLiteral::List(vec![s(&[1]), NestedLiteral::List(vec![s(&[2])])]);
    assert!(deeper
        .to_tensor()
        .unwrap_err()
        .to_string()
        .contains("mixed nesting depths"));
    let shallower = NestedLiteral::List(vec![NestedLiteral::List(vec![s(&[1])]), s(&[2])]);
    assert!(shallower
        .to_tensor()
        .unwrap_err()
        .to_string()
        .contains("mixed nesting depths"));
}
