//! Reductions over a set of dims: the reduced dims are moved innermost (read
//! in place when that arrangement is already contiguous, gathered once
//! otherwise) and each output element folds one contiguous run.

use super::gather_contiguous;
use crate::{Element, Layout};

/// Folds the elements of `layout` over `src` along `dims` (sorted, unique),
/// producing one value per remaining position in row-major order. `fold`
/// receives an iterator over the reduced elements of one output position.
///
/// ```
/// use ferrograd_storage::{cpu::reduce_dims, Layout};
/// let l = Layout::contiguous(&[2, 3]);
/// let sums = reduce_dims(&[1, 2, 3, 4, 5, 6], &l, &[1], |it| it.sum::<i32>());
/// assert_eq!(sums, vec![6, 15]);
/// ```
pub fn reduce_dims<T: Element, U: Element>(
    src: &[T],
    layout: &Layout,
    dims: &[usize],
    fold: impl Fn(&mut dyn Iterator<Item = T>) -> U,
) -> Vec<U> {
    let kept: Vec<usize> = (0..layout.ndim()).filter(|d| !dims.contains(d)).collect();
    let order: Vec<usize> = kept.iter().chain(dims).copied().collect();
    let permuted = layout
        .permute(&order)
        .expect("reduce dims form a permutation");
    let inner: usize = dims.iter().map(|&d| layout.shape()[d]).product();
    let outer: usize = kept.iter().map(|&d| layout.shape()[d]).product();
    let mut out = Vec::with_capacity(outer);
    if inner == 0 {
        for _ in 0..outer {
            out.push(fold(&mut std::iter::empty()));
        }
        return out;
    }
    let gathered;
    let data = match permuted.contiguous_offset() {
        Some(start) => &src[start..start + outer * inner],
        None => {
            gathered = gather_contiguous(src, &permuted);
            &gathered[..]
        }
    };
    for chunk in data.chunks(inner) {
        out.push(fold(&mut chunk.iter().copied()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduces_leading_and_multiple_dims() {
        let data: Vec<i64> = (0..24).collect();
        let l = Layout::contiguous(&[2, 3, 4]);
        let s0 = reduce_dims(&data, &l, &[0], |it| it.sum::<i64>());
        assert_eq!(s0[0], 12);
        assert_eq!(s0.len(), 12);
        let s02 = reduce_dims(&data, &l, &[0, 2], |it| it.sum::<i64>());
        assert_eq!(s02, vec![60, 92, 124]);
        let all = reduce_dims(&data, &l, &[0, 1, 2], |it| it.sum::<i64>());
        assert_eq!(all, vec![276]);
    }

    #[test]
    fn strided_layouts_fold_in_logical_order() {
        let data: Vec<i64> = (0..6).collect();
        let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
        let firsts = reduce_dims(&data, &t, &[1], |it| it.collect::<Vec<_>>()[0]);
        assert_eq!(firsts, vec![0, 1, 2]);
        let flipped = Layout::contiguous(&[2, 3]).flip(&[1]);
        let rows = reduce_dims(&data, &flipped, &[1], |it| it.fold(0, |a, v| a * 10 + v));
        assert_eq!(rows, vec![210, 543]);
    }
}
