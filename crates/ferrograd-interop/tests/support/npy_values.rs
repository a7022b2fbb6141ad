//! Test data for the `.npy` tests: element `k` of every test array is a
//! formula of `k` per dtype, computed here in Rust and in [`PY_VALUES`] by
//! NumPy, so neither side's expectations come from the code under test.
//! Also builds tensors holding those values in non-contiguous layouts.
#![allow(dead_code)]

use ferrograd_autograd::{DType, Element, Layout, Storage, Tensor};
use ferrograd_storage::with_dtype;

/// Shapes every dtype is tested with: 0-d, empty, unit dims, 1-d to 4-d.
pub const SHAPES: &[&[usize]] = &[
    &[],
    &[0],
    &[1],
    &[7],
    &[3, 4],
    &[4, 1],
    &[1, 5],
    &[2, 0, 3],
    &[2, 3, 4],
    &[2, 1, 3, 2],
];

/// Element `k` of a test array of `dtype`, exactly representable as `f64`.
pub fn value(dtype: DType, k: usize) -> f64 {
    let k = k as i64;
    match dtype {
        DType::F32 | DType::F64 => (k % 1000) as f64 * 0.25 - 100.0,
        DType::I64 => (k * 2_654_435_761 - (1 << 40)) as f64,
        DType::I32 => ((k * 40_503) % (1 << 31) - (1 << 30)) as f64,
        DType::U8 => ((k * 7 + 3) % 256) as f64,
        DType::Bool => f64::from(u8::from(k % 3 == 0)),
    }
}

/// The same formula in NumPy: `values(code, n)` for a type code `f4`, `i8`...
pub const PY_VALUES: &str = r#"
def values(code, n):
    k = np.arange(n, dtype=np.int64)
    if code[0] == 'f':
        return (k % 1000) * 0.25 - 100.0
    if code == 'i8':
        return k * 2654435761 - (1 << 40)
    if code == 'i4':
        return (k * 40503) % (1 << 31) - (1 << 30)
    if code == 'u1':
        return (k * 7 + 3) % 256
    return k % 3 == 0
"#;

/// The type code NumPy uses in a descr for `dtype` (`f4`, `b1`...).
pub fn type_code(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "f4",
        DType::F64 => "f8",
        DType::I64 => "i8",
        DType::I32 => "i4",
        DType::U8 => "u1",
        DType::Bool => "b1",
    }
}

/// The expected elements, row-major, of a test array of `shape`.
pub fn expected(dtype: DType, shape: &[usize]) -> Vec<f64> {
    (0..shape.iter().product())
        .map(|k| value(dtype, k))
        .collect()
}

/// A tensor's elements in row-major order, as `f64` (exact for test values).
pub fn elements(t: &Tensor) -> Vec<f64> {
    with_dtype!(t.dtype(), T => t.to_vec::<T>().unwrap().into_iter().map(|x| x.to_f64()).collect())
}

/// How a test tensor's memory is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Row-major.
    Contiguous,
    /// Column-major (a transpose of a row-major tensor).
    Transposed,
    /// Every dim reversed: all strides negative.
    Flipped,
    /// Every other storage element, innermost dim walked backwards.
    Gapped,
}

pub const KINDS: [Kind; 4] = [
    Kind::Contiguous,
    Kind::Transposed,
    Kind::Flipped,
    Kind::Gapped,
];

/// A tensor of `shape` whose element at row-major index `k` is `value(dtype, k)`,
/// laid out in memory as `kind` says. The strided kinds place each element
/// by an explicit offset computation, independent of the view ops.
pub fn test_tensor(dtype: DType, shape: &[usize], kind: Kind) -> Tensor {
    let numel: usize = shape.iter().product();
    let n = shape.len();
    // Strides and offset of each kind, in elements of a storage of `len`.
    let (strides, offset, len): (Vec<isize>, isize, usize) = match kind {
        Kind::Contiguous => (row_major(shape, 1), 0, numel),
        Kind::Transposed => {
            let rev: Vec<usize> = shape.iter().rev().copied().collect();
            (row_major(&rev, 1).into_iter().rev().collect(), 0, numel)
        }
        Kind::Flipped => {
            let s: Vec<isize> = row_major(shape, 1).iter().map(|s| -s).collect();
            (s, numel as isize - 1, numel)
        }
        Kind::Gapped => {
            let mut s = row_major(shape, 2);
            let mut offset = 0;
            if n > 0 {
                s[n - 1] = -2;
                offset = 2 * (shape[n - 1] as isize - 1).max(0);
            }
            (s, offset, 2 * numel + 1)
        }
    };
    let values = expected(dtype, shape);
    with_dtype!(dtype, T => {
        let mut data = vec![T::from_f64(77.0); len.max(1)];
        for (k, v) in values.iter().enumerate() {
            data[storage_index(shape, &strides, offset, k)] = T::from_f64(*v);
        }
        let layout = Layout::new(shape.to_vec(), strides, if numel == 0 { 0 } else { offset as usize });
        Tensor::from_parts(Storage::from_vec(data), layout).unwrap()
    })
}

/// Column-major strides of `shape`, computed by hand.
pub fn column_major(shape: &[usize]) -> Vec<isize> {
    let mut strides = Vec::with_capacity(shape.len());
    let mut acc = 1isize;
    for &n in shape {
        strides.push(acc);
        acc *= n.max(1) as isize;
    }
    strides
}

/// Row-major strides scaled by `scale`.
fn row_major(shape: &[usize], scale: isize) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc = scale;
    for d in (0..shape.len()).rev() {
        strides[d] = acc;
        acc *= shape[d].max(1) as isize;
    }
    strides
}

/// The storage index of row-major element `k`.
fn storage_index(shape: &[usize], strides: &[isize], offset: isize, mut k: usize) -> usize {
    let mut at = offset;
    for d in (0..shape.len()).rev() {
        at += (k % shape[d]) as isize * strides[d];
        k /= shape[d];
    }
    at as usize
}
