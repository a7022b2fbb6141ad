//! The reductions the graph itself needs: `sum` (over everything or given
//! dims), `sum_to_size` (undoing a broadcast, for gradients) and `mean`.
//!
//! The sum kernel reads contiguous memory in place: runs are summed in
//! blocks with independent lanes (vectorised by the compiler) and blocks are
//! combined pairwise, `f32` blocks accumulating in `f64`; sums over leading
//! dims add whole rows at once; other layouts are gathered first. Large
//! inputs are split across rayon's threads, in a way that depends only on
//! the shape, so results are deterministic.

use crate::Tensor;
use ferrograd_storage::cpu::{gather_contiguous, on_fixed_workers, PARALLEL_THRESHOLD};
use ferrograd_storage::{normalize_dim, with_dtype, Element, Error, Layout, Result};
use rayon::prelude::*;

/// Sorted, unique dims from possibly negative ones; empty means all dims.
pub(crate) fn reduction_dims(dims: &[isize], ndim: usize) -> Result<Vec<usize>> {
    if dims.is_empty() {
        return Ok((0..ndim).collect());
    }
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = normalize_dim(d, ndim)?;
        if out.contains(&d) {
            return Err(Error::invalid(
                "sum",
                format!("dim {d} appears multiple times in the list of dims"),
            ));
        }
        out.push(d);
    }
    out.sort_unstable();
    // A 0-d tensor accepts dim 0 / -1, but has no dim to reduce.
    out.retain(|&d| d < ndim);
    Ok(out)
}

/// The shape after reducing `dims` of `shape`.
pub(crate) fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    (0..shape.len())
        .filter_map(|d| match (dims.contains(&d), keepdim) {
            (false, _) => Some(shape[d]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

impl Tensor {
    /// The sum of all elements as a 0-d tensor (integers and bools sum as `i64`).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    /// assert_eq!(t.sum()?.item::<f32>()?, 6.0);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn sum(&self) -> Result<Tensor> {
        self.sum_dims(&[], false)
    }

    /// Sums over `dims` (negative counts from the end; empty means all),
    /// keeping them as size 1 when `keepdim`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1i64, 2, 3, 4, 5, 6], &[2, 3])?;
    /// assert_eq!(t.sum_dims(&[-1], false)?.to_vec::<i64>()?, vec![6, 15]);
    /// assert_eq!(t.sum_dims(&[0], true)?.shape(), &[1, 3]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn sum_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let dims = reduction_dims(dims, self.dim())?;
        let shape = reduced_shape(self.shape(), &dims, keepdim);
        #[cfg(feature = "cuda")]
        let out = if self.device().is_cuda() {
            crate::cuda::sum_dims(self, &dims, &shape)?
        } else {
            self.sum_forward(&dims, &shape)?
        };
        #[cfg(not(feature = "cuda"))]
        let out = self.sum_forward(&dims, &shape)?;
        let input_shape = self.shape().to_vec();
        Ok(out.with_grad_fn("SumBackward0", &[self], &[], move |g| {
            let mut g = g.clone();
            if !keepdim {
                for &d in &dims {
                    g = g.unsqueeze(d as isize)?;
                }
            }
            Ok(vec![Some(g.broadcast_to(&input_shape)?)])
        }))
    }

    /// The CPU forward of [`Tensor::sum_dims`].
    fn sum_forward(&self, dims: &[usize], shape: &[usize]) -> Result<Tensor> {
        self.with_read(|buf, layout| {
            with_dtype!(self.dtype(), T => {
                let src = buf.as_slice::<T>().unwrap();
                Tensor::from_kernel(sum_values::<T>(src, layout, dims), shape)
            })
        })
    }

    /// Sums broadcast dims away so the result has `shape` — the inverse of
    /// broadcasting, used for the gradients of broadcast inputs.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let g = Tensor::ones(&[2, 3], ferrograd_autograd::DType::F32)?;
    /// assert_eq!(g.sum_to_size(&[3])?.to_vec::<f32>()?, vec![2.0, 2.0, 2.0]);
    /// assert_eq!(g.sum_to_size(&[2, 1])?.to_vec::<f32>()?, vec![3.0, 3.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn sum_to_size(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self
            .dim()
            .checked_sub(shape.len())
            .ok_or_else(|| Error::ShapeMismatch {
                op: "sum_to_size",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
                msg: "size must be expandable to the tensor's size".into(),
            })?;
        let mut dims: Vec<isize> = (0..lead as isize).collect();
        for (i, &s) in shape.iter().enumerate() {
            let have = self.shape()[lead + i];
            if s == 1 && have != 1 {
                dims.push((lead + i) as isize);
            } else if s != have {
                return Err(Error::ShapeMismatch {
                    op: "sum_to_size",
                    lhs: self.shape().to_vec(),
                    rhs: shape.to_vec(),
                    msg: "size must be expandable to the tensor's size".into(),
                });
            }
        }
        if dims.is_empty() {
            return self.reshape(&shape.iter().map(|&s| s as isize).collect::<Vec<_>>());
        }
        let summed = self.sum_dims(&dims, true)?;
        summed.reshape(&shape.iter().map(|&s| s as isize).collect::<Vec<_>>())
    }

    /// The mean of all elements (floating tensors only, like PyTorch).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 6.0], &[4])?;
    /// assert_eq!(t.mean()?.item::<f32>()?, 3.0);
    /// assert!(Tensor::arange(0, 4)?.mean().is_err()); // int64: convert with .float() first
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn mean(&self) -> Result<Tensor> {
        self.mean_dims(&[], false)
    }

    /// The mean over `dims` (empty means all).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// assert_eq!(t.mean_dims(&[-1], false)?.to_vec::<f64>()?, vec![2.0, 5.0]);
    /// let m = t.mean_dims(&[0], true)?;
    /// assert_eq!(m.shape(), &[1, 3]);
    /// assert_eq!(m.to_vec::<f64>()?, vec![2.5, 3.5, 4.5]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn mean_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        if !self.dtype().is_floating_point() {
            return Err(Error::UnsupportedDType {
                op: "mean",
                dtype: self.dtype(),
                hint: "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Convert with .float() first.".into(),
            });
        }
        let reduced = reduction_dims(dims, self.dim())?;
        let count: usize = reduced.iter().map(|&d| self.shape()[d]).product();
        self.sum_dims(dims, keepdim)?.try_div(count as f64)
    }
}

// ----- the sum kernel -----

/// Elements a block sums with independent lanes before blocks combine pairwise.
const BLOCK: usize = 4096;
/// Independent accumulators in a block: enough to hide the latency of adds.
const LANES: usize = 64;
/// Runs from this length on are read from their first 64-byte boundary.
const ALIGN_FROM: usize = 2048;
/// Columns one pass of a column sum keeps in cache.
const COLUMN_TILE: usize = 1024;
/// Most partial results a long column sum is split into.
const MAX_PARTS: usize = 16;

/// An element type [`Tensor::sum`] accepts: what it accumulates in and what
/// it returns (floats keep their type, accumulating in `f64`; integers and
/// bools give `i64`, wrapping on overflow like PyTorch).
trait Summand: Element {
    type Acc: Element;
    type Out: Element;
    /// The sum of one block.
    fn block_sum(run: &[Self]) -> Self::Acc;
    /// `acc[j] += row[j]` for every `j`.
    fn add_row(acc: &mut [Self::Acc], row: &[Self]);
    fn combine(a: Self::Acc, b: Self::Acc) -> Self::Acc;
    fn finish(acc: Self::Acc) -> Self::Out;
}

ferrograd_storage::simd_loop! {
    avx2_at_most:
    /// `LANES` running sums over `run`, lane `l` adding elements `l`,
    /// `l + LANES`, ... in order: independent adds the compiler turns into
    /// SIMD, compiled for AVX2 when the CPU has it (not for AVX-512: on
    /// Zen 4, which splits 512-bit loads, that copy summed 10M floats 5–10%
    /// slower and 1M 2–3% slower).
    ///
    /// The loop reads from the first 64-byte boundary in `run` on, so no
    /// vector load straddles two cache lines (large buffers start 16 bytes
    /// past one; straddling cost 7% on a 10M sum). The `head` elements
    /// before it seed their lanes, and the accumulator is rotated by `head`
    /// so that element `j` still lands in lane `j % LANES`: the sums are
    /// bit for bit the same wherever `run` starts.
    fn lane_sums<T>(run: &[T]) -> [T; LANES]
    where T: Copy, T: Default, T: std::ops::Add<Output = T> {
        // At most 63 elements (one byte each) to the boundary: < LANES. A
        // short run (a row of a last-dim sum) gains less than the head and
        // the rotation cost: it starts where it is.
        let head = if run.len() >= ALIGN_FROM {
            run.as_ptr().align_offset(64).min(run.len()) % LANES
        } else {
            0
        };
        let (first, rest) = run.split_at(head);
        // `rotated[i]` is lane `(head + i) % LANES`.
        let mut rotated = [T::default(); LANES];
        for (a, &v) in rotated[LANES - head..].iter_mut().zip(first) {
            *a = *a + v;
        }
        let chunks = rest.chunks_exact(LANES);
        let tail = chunks.remainder();
        for chunk in chunks {
            for (a, &v) in rotated.iter_mut().zip(chunk) {
                *a = *a + v;
            }
        }
        for (a, &v) in rotated.iter_mut().zip(tail) {
            *a = *a + v;
        }
        rotated.rotate_right(head);
        rotated
    }
}

ferrograd_storage::simd_loop! {
    /// `acc[j] += row[j]` in `f64` for every `j`, compiled for AVX2 when the
    /// CPU has it (a column sum's inner loop).
    fn add_row_f64<T>(acc: &mut [f64], row: &[T]) where T: Copy, T: Into<f64> {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v.into();
        }
    }
}

macro_rules! float_summand {
    ($t:ty) => {
        impl Summand for $t {
            type Acc = f64;
            type Out = $t;
            #[inline]
            fn block_sum(run: &[$t]) -> f64 {
                // The lanes go into eight f64 sums (independent, so they
                // vectorize; one running sum would chain 64 dependent adds,
                // which cost more than the lane loop itself when the block
                // is in cache), then a fixed tree.
                let mut wide = [0f64; 8];
                for chunk in lane_sums(run).chunks_exact(8) {
                    for (w, &v) in wide.iter_mut().zip(chunk) {
                        *w += v as f64;
                    }
                }
                ((wide[0] + wide[4]) + (wide[2] + wide[6]))
                    + ((wide[1] + wide[5]) + (wide[3] + wide[7]))
            }
            #[inline]
            fn add_row(acc: &mut [f64], row: &[$t]) {
                add_row_f64(acc, row);
            }
            #[inline]
            fn combine(a: f64, b: f64) -> f64 {
                a + b
            }
            #[inline]
            fn finish(acc: f64) -> $t {
                acc as $t
            }
        }
    };
}

macro_rules! int_summand {
    ($t:ty) => {
        impl Summand for $t {
            type Acc = i64;
            type Out = i64;
            #[inline]
            fn block_sum(run: &[$t]) -> i64 {
                run.iter().fold(0i64, |a, &v| a.wrapping_add(v.to_i64()))
            }
            #[inline]
            fn add_row(acc: &mut [i64], row: &[$t]) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = a.wrapping_add(v.to_i64());
                }
            }
            #[inline]
            fn combine(a: i64, b: i64) -> i64 {
                a.wrapping_add(b)
            }
            #[inline]
            fn finish(acc: i64) -> i64 {
                acc
            }
        }
    };
}

float_summand!(f32);
float_summand!(f64);
int_summand!(i64);
int_summand!(i32);
int_summand!(u8);
int_summand!(bool);

/// The sum of a contiguous run: blocks combined pairwise (error growing with
/// `log n`, like PyTorch's cascade sum). A large run's top levels are split
/// into at least one subtree per rayon thread, each summed on the same worker
/// every call ([`on_fixed_workers`]: the data it read last time is still in
/// its core's cache). The tree depends only on the length, so results are
/// deterministic whatever the thread count.
fn pairwise<T: Summand>(run: &[T]) -> T::Acc {
    let threads = rayon::current_num_threads();
    if run.len() < PARALLEL_THRESHOLD || threads <= 1 {
        return serial_pairwise(run);
    }
    let depth = threads.next_power_of_two().trailing_zeros() as usize;
    let leaves = tree_leaves(run, depth);
    let mut sums = on_fixed_workers(leaves.len(), |i| serial_pairwise(leaves[i])).into_iter();
    tree_sum(run, depth, &mut |_| sums.next().expect("one sum per leaf"))
}

/// Where the pairwise tree splits a run of more than one block.
fn split_point(len: usize) -> usize {
    (len / 2).div_ceil(BLOCK) * BLOCK
}

/// Walks the pairwise tree of `run` `depth` levels down (a single block is
/// a leaf wherever it is) and combines, in the tree's order, what `leaf`
/// gives for each subtree there.
fn tree_sum<'a, T: Summand>(
    run: &'a [T],
    depth: usize,
    leaf: &mut impl FnMut(&'a [T]) -> T::Acc,
) -> T::Acc {
    if depth == 0 || run.len() <= BLOCK {
        return leaf(run);
    }
    let (left, right) = run.split_at(split_point(run.len()));
    let a = tree_sum(left, depth - 1, leaf);
    T::combine(a, tree_sum(right, depth - 1, leaf))
}

/// [`pairwise`] on the calling thread.
fn serial_pairwise<T: Summand>(run: &[T]) -> T::Acc {
    tree_sum(run, usize::MAX, &mut |block| T::block_sum(block))
}

/// The subtrees `depth` levels down the pairwise tree of `run`, in order.
fn tree_leaves<T: Summand>(run: &[T], depth: usize) -> Vec<&[T]> {
    let mut leaves = Vec::with_capacity(1 << depth);
    tree_sum(run, depth, &mut |subtree| {
        leaves.push(subtree);
        T::Acc::default()
    });
    leaves
}

/// Sums each run of `inner` consecutive elements. With at least one row per
/// thread, each thread sums a fixed contiguous group of rows
/// ([`on_fixed_workers`]); with fewer, rows go one after another and each
/// large row is split across the threads by [`pairwise`].
fn row_sums<T: Summand>(data: &[T], inner: usize) -> Vec<T::Out> {
    let rows = data.len() / inner.max(1);
    let threads = rayon::current_num_threads();
    if data.len() < PARALLEL_THRESHOLD || rows < threads || threads <= 1 {
        return data
            .chunks(inner)
            .map(|row| T::finish(pairwise(row)))
            .collect();
    }
    let groups = on_fixed_workers(threads, |g| {
        let group = &data[g * rows / threads * inner..(g + 1) * rows / threads * inner];
        let sums = group
            .chunks(inner)
            .map(|row| T::finish(serial_pairwise(row)));
        sums.collect::<Vec<_>>()
    });
    groups.into_iter().flatten().collect()
}

/// Adds the rows of `rows` (`n × acc.len()`, row-major) into `acc`, a tile
/// of columns at a time.
fn add_rows<T: Summand>(acc: &mut [T::Acc], rows: &[T]) {
    let inner = acc.len();
    for (t, tile) in acc.chunks_mut(COLUMN_TILE).enumerate() {
        let start = t * COLUMN_TILE;
        for row in rows.chunks_exact(inner) {
            T::add_row(tile, &row[start..start + tile.len()]);
        }
    }
}

/// Column sums of a `red × inner` row-major block: rows split into at most
/// `MAX_PARTS` parts summed on their own (in parallel when large), then added
/// in order.
fn column_sums<T: Summand>(block: &[T], inner: usize) -> Vec<T::Acc> {
    let red = block.len() / inner;
    let rows_per_part = red
        .div_ceil(MAX_PARTS)
        .max(PARALLEL_THRESHOLD.div_ceil(inner));
    let part_sum = |part: &[T]| {
        let mut acc = vec![T::Acc::default(); inner];
        add_rows::<T>(&mut acc, part);
        acc
    };
    if red <= rows_per_part {
        return part_sum(block);
    }
    let parts: Vec<Vec<T::Acc>> = block
        .par_chunks(rows_per_part * inner)
        .map(part_sum)
        .collect();
    let mut parts = parts.into_iter();
    let mut acc = parts
        .next()
        .unwrap_or_else(|| vec![T::Acc::default(); inner]);
    for part in parts {
        for (a, p) in acc.iter_mut().zip(part) {
            *a = T::combine(*a, p);
        }
    }
    acc
}

/// How a reduction walks a contiguous input once its dims are merged into
/// alternating kept and reduced groups.
enum SumPlan {
    /// `[outer kept, inner reduced]`: one sum per row.
    Rows { inner: usize },
    /// `[outer kept, reduced, inner kept]`: column sums per outer block.
    Columns { red: usize, inner: usize },
    /// Any other pattern: gather the reduced dims innermost first.
    Gather,
}

fn sum_plan(shape: &[usize], dims: &[usize]) -> SumPlan {
    let mut groups: Vec<(usize, bool)> = Vec::with_capacity(shape.len());
    for (d, &n) in shape.iter().enumerate() {
        let reduced = dims.contains(&d);
        match groups.last_mut() {
            _ if n == 1 => {}
            Some((size, r)) if *r == reduced => *size *= n,
            _ => groups.push((n, reduced)),
        }
    }
    match groups.as_slice() {
        [] | [(_, false)] => SumPlan::Rows { inner: 1 },
        [(n, true)] | [(_, false), (n, true)] => SumPlan::Rows { inner: *n },
        [(red, true), (inner, false)] | [(_, false), (red, true), (inner, false)] => {
            SumPlan::Columns {
                red: *red,
                inner: *inner,
            }
        }
        _ => SumPlan::Gather,
    }
}

/// The sums over `dims` (sorted, unique) of the elements of `layout` over
/// `src`, row-major over the kept dims.
fn sum_values<T: Summand>(src: &[T], layout: &Layout, dims: &[usize]) -> Vec<T::Out> {
    let inner: usize = dims.iter().map(|&d| layout.shape()[d]).product();
    let outer = layout.numel() / inner.max(1);
    if inner == 0 || outer == 0 {
        let kept: usize = (0..layout.ndim())
            .filter(|d| !dims.contains(d))
            .map(|d| layout.shape()[d])
            .product();
        return vec![T::finish(T::Acc::default()); kept];
    }
    let contiguous = layout
        .contiguous_offset()
        .map(|s| &src[s..s + layout.numel()]);
    match (contiguous, sum_plan(layout.shape(), dims)) {
        (Some(data), SumPlan::Rows { inner }) => row_sums(data, inner),
        (Some(data), SumPlan::Columns { red, inner }) => {
            let block = |b: &[T]| column_sums(b, inner);
            let sums: Vec<Vec<T::Acc>> = if data.len() >= PARALLEL_THRESHOLD {
                data.par_chunks(red * inner).map(block).collect()
            } else {
                data.chunks(red * inner).map(block).collect()
            };
            sums.into_iter().flatten().map(T::finish).collect()
        }
        _ => {
            let kept = (0..layout.ndim()).filter(|d| !dims.contains(d));
            let order: Vec<usize> = kept.chain(dims.iter().copied()).collect();
            let permuted = layout
                .permute(&order)
                .expect("kept and reduced dims form a permutation");
            row_sums(&gather_contiguous(src, &permuted), inner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_sums_equal_the_serial_tree_bit_for_bit_on_any_thread_count() {
        let data: Vec<f32> = (0..1_000_003u64)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.37 - 150.0)
            .collect();
        for len in [
            PARALLEL_THRESHOLD,
            PARALLEL_THRESHOLD + 5,
            3 * BLOCK * 17 + 1,
            data.len(),
        ] {
            let run = &data[..len];
            let want = serial_pairwise(run);
            assert_eq!(pairwise(run).to_bits(), want.to_bits(), "len {len}");
            for threads in [1, 3, 4, 5] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                // Inside the pool (nested use) and from outside it (its broadcast).
                assert_eq!(pool.install(|| pairwise(run)).to_bits(), want.to_bits());
                let outside = pool.install(|| {
                    let depth = threads.next_power_of_two().trailing_zeros() as usize;
                    let mut sums = tree_leaves(run, depth).into_iter().map(serial_pairwise);
                    tree_sum(run, depth, &mut |_| sums.next().unwrap())
                });
                assert_eq!(outside.to_bits(), want.to_bits());
            }
        }
    }

    #[test]
    fn lane_sums_are_the_same_bits_wherever_the_run_starts() {
        let data: Vec<f32> = (0..5000u64)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.37 - 150.0)
            .collect();
        // Every start within a cache line and lengths around the boundaries.
        for start in 0..20 {
            for len in [
                0,
                1,
                5,
                63,
                64,
                65,
                200,
                ALIGN_FROM - 1,
                ALIGN_FROM,
                4096,
                4980,
            ] {
                let run = &data[start..start + len];
                let mut want = [0f32; LANES];
                for (j, &v) in run.iter().enumerate() {
                    want[j % LANES] += v;
                }
                let got = lane_sums(run);
                let bits = |lanes: &[f32]| lanes.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "start {start}, len {len}");
            }
        }
    }

    #[test]
    fn row_sums_split_across_threads_equal_each_row_summed_alone() {
        let data: Vec<f32> = (0..200_000u64)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.37 - 150.0)
            .collect();
        // Rows fewer than threads, rows not a multiple of the thread count,
        // one long row, and a short tail of data below the threshold.
        for (rows, inner) in [(2, 100_000), (1001, 37), (7, 28_571), (1, 200_000), (9, 10)] {
            let block = &data[..rows * inner];
            let want: Vec<u32> = block
                .chunks(inner)
                .map(|row| (serial_pairwise(row) as f32).to_bits())
                .collect();
            let got = |sums: Vec<f32>| sums.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
            assert_eq!(got(row_sums(block, inner)), want, "{rows} x {inner}");
            for threads in [3, 5] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let sums = pool.install(|| row_sums(block, inner));
                assert_eq!(got(sums), want, "{rows} x {inner} on {threads} threads");
            }
        }
    }
}
