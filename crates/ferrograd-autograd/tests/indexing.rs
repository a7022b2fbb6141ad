//! `Tensor::index` with every form `s!` writes, on contiguous, permuted,
//! flipped and mixed inputs, against hand-written index maps; NumPy's
//! examples; gradients through indexing; and each error message.

mod support;

use ferrograd_autograd::{s, DType, Tensor, TensorIndex};
use support::{always, check_view, python_slice};

const SHAPE: [usize; 3] = [4, 5, 6];

fn check_index(index: &[TensorIndex], out_shape: &[usize], map: impl Fn(&[usize]) -> Vec<usize>) {
    check_view(&SHAPE, |t| t.index(index), out_shape, map, always);
}

#[test]
fn integers_select_and_count_from_the_end() {
    check_index(&s![1, 2], &[6], |i| vec![1, 2, i[0]]);
    check_index(&s![-1, -2, -3], &[], |_| vec![3, 3, 3]);
    check_index(&s![0, 4, 5], &[], |_| vec![0, 4, 5]);
    let (i, j) = (2usize, 1i64);
    check_index(&s![i, j + 1], &[6], |k| vec![2, 2, k[0]]);
    check_index(&s![.., -5], &[4, 6], |k| vec![k[0], 0, k[1]]);
}

#[test]
fn ranges_slice_with_python_bounds() {
    check_index(&s![1..3, 1..3], &[2, 2, 6], |i| {
        vec![1 + i[0], 1 + i[1], i[2]]
    });
    check_index(&s![2..5, ..], &[2, 5, 6], |i| vec![2 + i[0], i[1], i[2]]);
    check_index(&s![-3..], &[3, 5, 6], |i| vec![1 + i[0], i[1], i[2]]);
    check_index(&s![..-1], &[3, 5, 6], |i| i.to_vec());
    check_index(&s![1..=3], &[3, 5, 6], |i| vec![1 + i[0], i[1], i[2]]);
    check_index(&s![.., ..=-1], &[4, 5, 6], |i| i.to_vec());
    check_index(&s![.., ..=-2], &[4, 4, 6], |i| i.to_vec());
    check_index(&s![-100..100], &SHAPE, |i| i.to_vec());
    let (high, low) = (3, 1);
    check_index(&s![high..low], &[0, 5, 6], |i| i.to_vec());
    let (a, b) = (1, 4);
    check_index(&s![.., a..b, b..], &[4, 3, 2], |i| {
        vec![i[0], 1 + i[1], 4 + i[2]]
    });
}

#[test]
fn steps_walk_forwards_and_backwards() {
    check_index(&s![.., ..;-1, ..], &SHAPE, |i| vec![i[0], 4 - i[1], i[2]]);
    check_index(&s![.., 4..0;-2], &[4, 2, 6], |i| {
        vec![i[0], 4 - 2 * i[1], i[2]]
    });
    check_index(&s![..;2, 1..;3, ..;-4], &[2, 2, 2], |i| {
        vec![2 * i[0], 1 + 3 * i[1], 5 - 4 * i[2]]
    });
    check_index(&s![3..=1;-1], &[3, 5, 6], |i| vec![3 - i[0], i[1], i[2]]);
    check_index(&s![..=0;-1], &SHAPE, |i| vec![3 - i[0], i[1], i[2]]);
    check_index(&s![.., .., -2..;-1], &[4, 5, 5], |i| {
        vec![i[0], i[1], 4 - i[2]]
    });
    let step = -2;
    let taken = python_slice(6, None, Some(-6), step);
    check_index(&s![.., .., ..-6; step], &[4, 5, taken.len()], |i| {
        vec![i[0], i[1], taken[i[2]]]
    });
}

#[test]
fn ellipsis_and_new_axis_place_the_other_entries() {
    check_index(&s![..., 0], &[4, 5], |i| vec![i[0], i[1], 0]);
    check_index(&s![1, ...], &[5, 6], |i| vec![1, i[0], i[1]]);
    check_index(&s![..., 1, 2, 3], &[], |_| vec![1, 2, 3]);
    check_index(&s![...], &SHAPE, |i| i.to_vec());
    check_index(&s![2, ..., ..;-1], &[5, 6], |i| vec![2, i[0], 5 - i[1]]);
    check_index(&s![NewAxis, ..], &[1, 4, 5, 6], |i| vec![i[1], i[2], i[3]]);
    check_index(&s![None, 1, None, ..., None], &[1, 1, 5, 6, 1], |i| {
        vec![1, i[2], i[3]]
    });
    check_index(&s![.., NewAxis, 3, ..., NewAxis], &[4, 1, 6, 1], |i| {
        vec![i[0], 3, i[2]]
    });
    check_index(&s![], &SHAPE, |i| i.to_vec());
}

#[test]
fn runtime_built_indices_work_like_the_macro() {
    let index = vec![
        TensorIndex::Index(-1),
        TensorIndex::Slice {
            start: Some(1),
            stop: None,
            step: 2,
        },
    ];
    check_index(&index, &[2, 6], |i| vec![3, 1 + 2 * i[0], i[1]]);
    assert_eq!(
        s![..;1, ..],
        [
            TensorIndex::Slice {
                start: None,
                stop: None,
                step: 1
            },
            TensorIndex::Full
        ]
    );
}

#[test]
fn numpy_reverse_of_a_4d_arange_is_a_view() {
    let t = Tensor::arange(0, 24)
        .unwrap()
        .reshape(&[2, 3, 2, 2])
        .unwrap();
    let r = t.index(s![.., ..;-1, .., ..]).unwrap();
    let mut want = vec![];
    for a in 0..2 {
        for b in 0..3 {
            for c in 0..2 {
                for d in 0..2 {
                    want.push((a * 12 + (2 - b) * 4 + c * 2 + d) as i64);
                }
            }
        }
    }
    assert_eq!(r.shape(), &[2, 3, 2, 2]);
    assert_eq!(r.to_vec::<i64>().unwrap(), want);
    assert!(r.shares_storage(&t));
    assert_eq!(r.strides(), &[12, -4, 2, 1]);
}

#[test]
fn numpy_examples_on_a_matrix() {
    let t = Tensor::arange(0, 30).unwrap().reshape(&[6, 5]).unwrap();
    let at = |r: usize, c: usize| (r * 5 + c) as i64;
    let read = |index: &[TensorIndex]| t.index(index).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(t.index(s![1, 2]).unwrap().item::<i64>().unwrap(), at(1, 2));
    assert_eq!(
        read(&s![1..3, 1..3]),
        vec![at(1, 1), at(1, 2), at(2, 1), at(2, 2)]
    );
    let rows: Vec<i64> = (2..5).flat_map(|r| (0..5).map(move |c| at(r, c))).collect();
    assert_eq!(read(&s![2..5, ..]), rows);
    assert_eq!(
        read(&s![..., 0]),
        (0..6).map(|r| at(r, 0)).collect::<Vec<_>>()
    );
}

#[test]
fn one_pixel_of_a_feature_map() {
    let t = Tensor::arange_dtype(0.0, (64 * 28 * 28) as f64, 1.0, DType::F32)
        .unwrap()
        .reshape(&[1, 64, 28, 28])
        .unwrap();
    let want = (20 * 28 * 28 + 10 * 28 + 12) as f32;
    assert_eq!(
        t.index(s![0, 20, 10, 12]).unwrap().item::<f32>().unwrap(),
        want
    );
    assert_eq!(t.index(s![0, 20, 10, 12]).unwrap().dim(), 0);
}

#[test]
fn gradient_of_a_reversed_view_is_ones() {
    let x = Tensor::zeros(&[3, 4], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    x.index(s![.., ..;-1])
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f32>().unwrap(), vec![1.0; 12]);
    let y = Tensor::zeros(&[3, 4], DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    y.index(s![1.., 1])
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    let mut want = vec![0.0; 12];
    want[5] = 1.0;
    want[9] = 1.0;
    assert_eq!(y.grad().unwrap().to_vec::<f64>().unwrap(), want);
}

#[test]
fn bad_indices_are_reported_like_pytorch() {
    let t = Tensor::zeros(&SHAPE, DType::F32).unwrap();
    let message = |index: &[TensorIndex]| t.index(index).unwrap_err().to_string();
    assert!(message(&s![0, 0, 0, 0]).contains("too many indices for tensor of dimension 3"));
    assert!(message(&s![.., .., .., ..]).contains("too many indices for tensor of dimension 3"));
    assert!(message(&s![..., 0, ...]).contains("an index can only have a single ellipsis"));
    assert_eq!(
        message(&s![4]),
        "index 4 is out of bounds for dimension 0 with size 4"
    );
    assert_eq!(
        message(&s![0, -6]),
        "index -6 is out of bounds for dimension 1 with size 5"
    );
    assert_eq!(
        message(&s![..., 6]),
        "index 6 is out of bounds for dimension 2 with size 6"
    );
    assert_eq!(
        message(&s![NewAxis, 1, 7]),
        "index 7 is out of bounds for dimension 1 with size 5"
    );
    assert!(message(&s![..;0]).contains("slice step cannot be zero"));
    let scalar = Tensor::scalar(1.0f32);
    assert!(scalar
        .index(s![0])
        .unwrap_err()
        .to_string()
        .contains("too many indices for tensor of dimension 0"));
    assert_eq!(scalar.index(s![NewAxis]).unwrap().shape(), &[1]);
    assert_eq!(
        Tensor::zeros(&[3, 3], DType::F32)
            .unwrap()
            .index(s![3])
            .unwrap_err()
            .to_string(),
        "index 3 is out of bounds for dimension 0 with size 3"
    );
}
