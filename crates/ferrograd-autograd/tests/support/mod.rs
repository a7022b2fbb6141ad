//! Shared by `tests/views.rs` and `tests/indexing.rs`: strided inputs laid out
//! by hand (contiguous, permuted with gaps, flipped, both) and a naive
//! reference that checks a view op element by element — values, storage
//! sharing and the gradient — from a map of output indices to input indices.
#![allow(dead_code)]

use ferrograd_autograd::{Layout, Result, Storage, Tensor};

/// How an input's elements sit in its storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Row-major, no gaps.
    Contiguous,
    /// Dims stored in reverse order (a transpose), one spare slot per dim.
    Permuted,
    /// Row-major but every dim walked backwards (negative strides).
    Flipped,
    /// Permuted with gaps, and every other dim walked backwards.
    Mixed,
}

/// Every kind, for loops.
pub const KINDS: [Kind; 4] = [Kind::Contiguous, Kind::Permuted, Kind::Flipped, Kind::Mixed];

/// A tensor of a given logical shape whose storage slot `k` holds `k`, so its
/// element at a logical index is the storage offset of that index.
pub struct Input {
    pub tensor: Tensor,
    strides: Vec<isize>,
    offset: isize,
}

impl Input {
    pub fn new(shape: &[usize], kind: Kind) -> Input {
        let n = shape.len();
        let reversed = matches!(kind, Kind::Permuted | Kind::Mixed);
        let pad = usize::from(reversed);
        // `order[k]` is the logical dim stored k-th (slowest first).
        let order: Vec<usize> = if reversed {
            (0..n).rev().collect()
        } else {
            (0..n).collect()
        };
        let mut strides = vec![0isize; n];
        let mut slots = 1isize;
        for &d in order.iter().rev() {
            strides[d] = slots;
            slots *= (shape[d] + pad) as isize;
        }
        let mut offset = 0isize;
        for (d, stride) in strides.iter_mut().enumerate() {
            let flipped = kind == Kind::Flipped || (kind == Kind::Mixed && d % 2 == 0);
            if flipped {
                offset += (shape[d] as isize - 1).max(0) * *stride;
                *stride = -*stride;
            }
        }
        let data: Vec<f64> = (0..slots).map(|k| k as f64).collect();
        let layout = Layout::new(shape.to_vec(), strides.clone(), offset as usize);
        let tensor = Tensor::from_parts(Storage::from_vec(data), layout).unwrap();
        Input {
            tensor,
            strides,
            offset,
        }
    }

    /// The element at logical `index`, by explicit stride arithmetic.
    pub fn value(&self, index: &[usize]) -> f64 {
        let at: isize = index
            .iter()
            .zip(&self.strides)
            .map(|(&i, &s)| i as isize * s)
            .sum();
        (self.offset + at) as f64
    }
}

/// Every index of `shape`, in row-major order.
pub fn all_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let numel: usize = shape.iter().product();
    (0..numel).map(|flat| unravel(flat, shape)).collect()
}

/// The index of row-major position `flat` in `shape`.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        index[d] = flat % shape[d];
        flat /= shape[d];
    }
    index
}

/// The row-major position of `index` in `shape`.
pub fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// The input index a reshape-like op (same row-major order) reads for `index`.
pub fn same_order(in_shape: &[usize], out_shape: &[usize]) -> impl Fn(&[usize]) -> Vec<usize> {
    let (in_shape, out_shape) = (in_shape.to_vec(), out_shape.to_vec());
    move |index| unravel(ravel(index, &out_shape), &in_shape)
}

/// Python's `range(*slice(start, stop, step).indices(n))`, walked one step at a time.
pub fn python_slice(
    n: usize,
    start: Option<isize>,
    stop: Option<isize>,
    step: isize,
) -> Vec<usize> {
    let n = n as isize;
    let (lo, hi) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let bound = |b: isize| if b < 0 { (b + n).max(lo) } else { b.min(hi) };
    let mut i = start.map_or(if step > 0 { lo } else { hi }, bound);
    let stop = stop.map_or(if step > 0 { hi } else { lo }, bound);
    let mut taken = vec![];
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        taken.push(i as usize);
        i += step;
    }
    taken
}

/// Whether the result of an op on each kind of input should share its storage.
pub fn always(_: Kind) -> bool {
    true
}

/// Checks `op` on an input of `in_shape` of every kind: the result has
/// `out_shape`, its element at `i` is the input's element at `map(i)`, it
/// shares storage as `shares` says, and the gradient of `Σ y ⊙ w` (with
/// distinct weights `w`) puts at every input index the sum of the weights of
/// the outputs that read it.
pub fn check_view(
    in_shape: &[usize],
    op: impl Fn(&Tensor) -> Result<Tensor>,
    out_shape: &[usize],
    map: impl Fn(&[usize]) -> Vec<usize>,
    shares: impl Fn(Kind) -> bool,
) {
    let outs = all_indices(out_shape);
    let weights: Vec<f64> = (0..outs.len()).map(|k| 1.0 + k as f64).collect();
    let mut want_grad = vec![0.0; in_shape.iter().product()];
    for (i, w) in outs.iter().zip(&weights) {
        want_grad[ravel(&map(i), in_shape)] += w;
    }
    for kind in KINDS {
        let x = Input::new(in_shape, kind);
        let y = op(&x.tensor).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(y.shape(), out_shape, "{kind:?}");
        let want: Vec<f64> = outs.iter().map(|i| x.value(&map(i))).collect();
        assert_eq!(y.to_vec::<f64>().unwrap(), want, "{kind:?}");
        assert_eq!(
            y.shares_storage(&x.tensor),
            shares(kind),
            "{kind:?}: sharing"
        );

        let x = x.tensor.requires_grad_(true).unwrap();
        let w = Tensor::from_vec(weights.clone(), out_shape).unwrap();
        op(&x)
            .unwrap()
            .try_mul(&w)
            .unwrap()
            .sum()
            .unwrap()
            .backward()
            .unwrap();
        let grad = x.grad().expect("a gradient").to_vec::<f64>().unwrap();
        assert_eq!(grad, want_grad, "{kind:?}: gradient");
    }
}
