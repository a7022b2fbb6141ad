//! Reductions over a set of dims: the reduced dims are moved innermost and
//! each output element folds one contiguous run of the walk.

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
    if let Some(start) = permuted.contiguous_offset() {
        for chunk in src[start..start + outer * inner].chunks(inner) {
            out.push(fold(&mut chunk.iter().copied()));
        }
        return out;
    }
    let mut run = Vec::with_capacity(inner);
    permuted.for_each_offset(|o| {
        run.push(src[o]);
        if run.len() == inner {
            out.push(fold(&mut run.drain(..)));
        }
    });
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
}
