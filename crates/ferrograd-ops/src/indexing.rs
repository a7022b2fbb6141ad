//! Indexing by data: [`IndexingOps`] — `index_select`, `index_add`,
//! `gather`, the scatter family, advanced indexing with index tensors
//! (`index_tensors`, `index_put`, and [`index_with`](IndexingOps::index_with),
//! which mixes index tensors with basic entries through the [`ix!`](crate::ix)
//! macro), boolean masks (`masked_select`, `index_mask`, `masked_fill`),
//! `nonzero`/`argwhere`, `sort`/`argsort` and `topk`.
//!
//! | PyTorch                         | ferrograd                                          |
//! |---------------------------------|----------------------------------------------------|
//! | `p[idx[:, 0], idx[:, 1]]`       | `p.index_tensors(&[Some(&i0), Some(&i1)])?`        |
//! | `p[:, idx]`                     | `p.index_tensors(&[None, Some(&idx)])?`            |
//! | `p[1:, idx, ::-1]`              | `p.index_with(ix![1.., &idx, ..;-1])?`             |
//! | `p[p > 0.9]`                    | `p.index_mask(&p.gt(0.9)?)?` (or `masked_select`)  |
//! | `p[idx] = v`, `p[idx] += v`     | `p.index_put_(&[Some(&idx)], &v, false / true)?`   |
//! | `p.masked_fill(m, 0.0)`         | `p.masked_fill(&m, 0.0)?`                          |
//!
//! Every op returns `Err` for an index out of range, an index of the wrong
//! dtype or a mask of the wrong shape, with PyTorch's message, and is
//! differentiable wherever PyTorch's is (index tensors themselves never are).

mod advanced;
mod blocks;
mod checks;
mod mask;
mod scatter;
mod select;
mod sort;

#[cfg(feature = "cuda")]
pub(crate) use checks::checked_index;

use ferrograd_autograd::{Operand, Tensor, TensorIndex};
use ferrograd_storage::Result;

#[doc(hidden)]
pub mod __private {
    pub use ferrograd_autograd::{IntoSlice, TensorIndex};
}

/// One entry of a mixed index for [`IndexingOps::index_with`]: a basic
/// entry (integer, slice, `..`, `...`, `NewAxis`, as in
/// [`s!`](ferrograd_autograd::s)) or an index tensor (`i64`/`i32` indices,
/// or a `bool`/`u8` mask). Written with the [`ix!`](crate::ix) macro.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::{Tensor, TensorIndex};
/// let x = Tensor::arange(0, 6)?.reshape(&[2, 3])?;
/// let cols = Tensor::from_vec(vec![2i64, 0], &[2])?;
/// let got = x.index_with([Indexer::Basic(TensorIndex::Index(1)), Indexer::Tensor(&cols)])?;
/// assert_eq!(got.to_vec::<i64>()?, vec![5, 3]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Indexer<'a> {
    /// A basic entry, applied as a view.
    Basic(TensorIndex),
    /// An index tensor or mask.
    Tensor(&'a Tensor),
}

/// Turns one entry of [`ix!`](crate::ix) into an [`Indexer`]: tensors
/// (`&Tensor`) index by data, everything [`s!`](ferrograd_autograd::s)
/// takes is basic.
///
/// ```
/// use ferrograd_ops::indexing::{Indexer, IntoIndexer};
/// use ferrograd_autograd::Tensor;
/// let t = Tensor::from_vec(vec![0i64], &[1])?;
/// assert!(matches!(t.into_indexer(), Indexer::Tensor(_)));
/// assert!(matches!(2isize.into_indexer(), Indexer::Basic(_)));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait IntoIndexer<'a> {
    /// The entry as an [`Indexer`].
    fn into_indexer(self) -> Indexer<'a>;
}

impl<'a> IntoIndexer<'a> for &'a Tensor {
    fn into_indexer(self) -> Indexer<'a> {
        Indexer::Tensor(self)
    }
}

impl<'a> IntoIndexer<'a> for Indexer<'a> {
    fn into_indexer(self) -> Indexer<'a> {
        self
    }
}

macro_rules! basic_indexers {
    ($($t:ty),*) => {$(
        impl<'a> IntoIndexer<'a> for $t {
            fn into_indexer(self) -> Indexer<'a> {
                Indexer::Basic(TensorIndex::from(self))
            }
        }
    )*};
}

basic_indexers!(
    TensorIndex,
    isize,
    i64,
    i32,
    usize,
    u32,
    std::ops::RangeFull,
    std::ops::Range<isize>,
    std::ops::Range<i64>,
    std::ops::Range<i32>,
    std::ops::Range<usize>,
    std::ops::RangeFrom<isize>,
    std::ops::RangeFrom<i64>,
    std::ops::RangeFrom<i32>,
    std::ops::RangeFrom<usize>,
    std::ops::RangeTo<isize>,
    std::ops::RangeTo<i64>,
    std::ops::RangeTo<i32>,
    std::ops::RangeTo<usize>,
    std::ops::RangeInclusive<isize>,
    std::ops::RangeInclusive<i64>,
    std::ops::RangeInclusive<i32>,
    std::ops::RangeInclusive<usize>
);

/// Writes a mixed NumPy index — basic entries and index tensors — as an
/// array of [`Indexer`] for [`IndexingOps::index_with`]. The syntax is
/// [`s!`](ferrograd_autograd::s)'s (`i`, `a..b`, `a..b;step`, `..`, `...`,
/// `NewAxis`/`None`) plus `&tensor` entries.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_ops::ix;
/// use ferrograd_autograd::Tensor;
/// let p = Tensor::arange(0, 24)?.reshape(&[2, 3, 4])?;
/// let rows = Tensor::from_vec(vec![2i64, 0], &[2])?;
/// // p[1, rows, ::-2]
/// let got = p.index_with(ix![1, &rows, ..;-2])?;
/// assert_eq!(got.to_vec::<i64>()?, vec![23, 21, 15, 13]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[macro_export]
macro_rules! ix {
    (@[$($done:expr,)*]) => {
        [$($done),*]
    };
    (@[$($done:expr,)*] ... $(, $($rest:tt)*)?) => {
        $crate::ix!(@[$($done,)* $crate::indexing::Indexer::Basic($crate::indexing::__private::TensorIndex::Ellipsis),] $($($rest)*)?)
    };
    (@[$($done:expr,)*] NewAxis $(, $($rest:tt)*)?) => {
        $crate::ix!(@[$($done,)* $crate::indexing::Indexer::Basic($crate::indexing::__private::TensorIndex::NewAxis),] $($($rest)*)?)
    };
    (@[$($done:expr,)*] None $(, $($rest:tt)*)?) => {
        $crate::ix!(@[$($done,)* $crate::indexing::Indexer::Basic($crate::indexing::__private::TensorIndex::NewAxis),] $($($rest)*)?)
    };
    (@[$($done:expr,)*] $range:expr ; $step:expr $(, $($rest:tt)*)?) => {
        $crate::ix!(@[$($done,)* {
            #[allow(clippy::reversed_empty_ranges)]
            let range = $range;
            $crate::indexing::Indexer::Basic($crate::indexing::__private::IntoSlice::into_slice(range, $step))
        },] $($($rest)*)?)
    };
    (@[$($done:expr,)*] $entry:expr $(, $($rest:tt)*)?) => {
        $crate::ix!(@[$($done,)* $crate::indexing::IntoIndexer::into_indexer($entry),] $($($rest)*)?)
    };
    ($($entries:tt)*) => {
        $crate::ix!(@[] $($entries)*)
    };
}

/// Indexing by data on [`Tensor`], PyTorch's names and semantics.
///
/// ```
/// use ferrograd_ops::prelude::*;
/// use ferrograd_autograd::Tensor;
/// let p = Tensor::from_vec(vec![0.1f32, 0.95, 0.5, 0.99], &[2, 2])?;
/// let idx = Tensor::from_vec(vec![1i64, 0, 1, 1], &[2, 2])?;
/// // p[idx[:, 0], idx[:, 1]]
/// let picked = p.index_tensors(&[Some(&idx.select(1, 0)?), Some(&idx.select(1, 1)?)])?;
/// assert_eq!(picked.to_vec::<f32>()?, vec![0.5, 0.99]);
/// let mask = Tensor::from_vec(vec![false, true, false, true], &[2, 2])?;
/// assert_eq!(p.index_mask(&mask)?.to_vec::<f32>()?, vec![0.95, 0.99]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait IndexingOps {
    /// Whole slices along `dim` picked by a vector (or scalar) of `i64`/`i32`
    /// indices, in their order; repeats allowed, negatives not.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::arange(0, 6)?.reshape(&[3, 2])?;
    /// let rows = Tensor::from_vec(vec![2i64, 0, 2], &[3])?;
    /// assert_eq!(x.index_select(0, &rows)?.to_vec::<i64>()?, vec![4, 5, 0, 1, 4, 5]);
    /// let bad = Tensor::from_vec(vec![5i64], &[1])?;
    /// assert_eq!(x.index_select(0, &bad).unwrap_err().to_string(),
    ///            "index 5 is out of bounds for dimension 0 with size 3");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor>;

    /// A copy with slice `j` of `source` along `dim` added to slice
    /// `index[j]` (repeated indices accumulate): the adjoint of `index_select`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::zeros(&[3], DType::F32)?;
    /// let idx = Tensor::from_vec(vec![0i64, 2, 0], &[3])?;
    /// let src = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    /// assert_eq!(x.index_add(0, &idx, &src)?.to_vec::<f32>()?, vec![4.0, 0.0, 2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn index_add(&self, dim: isize, index: &Tensor, source: &Tensor) -> Result<Tensor>;

    /// `out[p] = self[p with its dim coordinate replaced by index[p]]`; the
    /// index has the rank of `self` and the shape of the result.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1, 2, 3, 4i64], &[2, 2])?;
    /// let idx = Tensor::from_vec(vec![1i64, 1, 0, 1], &[2, 2])?;
    /// assert_eq!(x.gather(1, &idx)?.to_vec::<i64>()?, vec![2, 2, 3, 4]);
    /// let e = x.gather(1, &idx.float()?).unwrap_err();
    /// assert!(e.to_string().contains("gather(): Expected dtype int32/int64 for index"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor>;

    /// A copy with `src` (a tensor of `self`'s dtype, or a scalar) written at
    /// the positions `index` names along `dim` — the inverse of `gather`.
    /// With repeated indices the last write wins.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::zeros(&[2, 3], DType::F32)?;
    /// let idx = Tensor::from_vec(vec![2i64, 0], &[2, 1])?;
    /// let src = Tensor::from_vec(vec![5.0f32, 7.0], &[2, 1])?;
    /// assert_eq!(x.scatter(1, &idx, &src)?.to_vec::<f32>()?, vec![0., 0., 5., 7., 0., 0.]);
    /// assert_eq!(x.scatter(1, &idx, 1.0)?.to_vec::<f32>()?, vec![0., 0., 1., 1., 0., 0.]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn scatter<'a>(
        &self,
        dim: isize,
        index: &Tensor,
        src: impl Into<Operand<'a>>,
    ) -> Result<Tensor>;

    /// [`scatter`](Self::scatter) in place; follows the in-place rules
    /// (version bump, no leaf that requires grad).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::zeros(&[3], DType::I64)?;
    /// x.scatter_(0, &Tensor::from_vec(vec![1i64], &[1])?, 9)?;
    /// assert_eq!(x.to_vec::<i64>()?, vec![0, 9, 0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn scatter_<'a>(
        &self,
        dim: isize,
        index: &Tensor,
        src: impl Into<Operand<'a>>,
    ) -> Result<Tensor>;

    /// A copy with `src` added at the positions `index` names along `dim`
    /// (repeated indices accumulate): the adjoint of `gather`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let counts = Tensor::zeros(&[3], DType::F32)?;
    /// let labels = Tensor::from_vec(vec![0i64, 2, 2, 2], &[4])?;
    /// let ones = Tensor::ones(&[4], DType::F32)?;
    /// assert_eq!(counts.scatter_add(0, &labels, &ones)?.to_vec::<f32>()?, vec![1.0, 0.0, 3.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor>;

    /// [`scatter_add`](Self::scatter_add) in place.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::ones(&[2], DType::F64)?;
    /// let idx = Tensor::from_vec(vec![1i64, 1], &[2])?;
    /// x.scatter_add_(0, &idx, &Tensor::from_vec(vec![0.5f64, 0.25], &[2])?)?;
    /// assert_eq!(x.to_vec::<f64>()?, vec![1.0, 1.75]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn scatter_add_(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor>;

    /// Advanced indexing, `self[i0, i1, ...]`: entry `k` indexes dim `k`
    /// (`None` keeps it whole, like `:`). Entries are `i64`/`i32` index
    /// tensors (negative counts from the end) or `bool`/`u8` masks (a mask
    /// over `k` dims consumes `k` dims and must match their sizes). Index
    /// tensors broadcast together; if the indexed dims are adjacent their
    /// broadcast shape replaces them in place, else it comes first. Always a
    /// copy; the gradient accumulates at repeated indices.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::arange(0, 12)?.reshape(&[3, 4])?;
    /// let i = Tensor::from_vec(vec![0i64, 2], &[2, 1])?;
    /// let j = Tensor::from_vec(vec![1i64, -1], &[2])?;
    /// let got = x.index_tensors(&[Some(&i), Some(&j)])?; // broadcast to [2, 2]
    /// assert_eq!(got.to_vec::<i64>()?, vec![1, 3, 9, 11]);
    /// let cols = x.index_tensors(&[None, Some(&j)])?;
    /// assert_eq!(cols.shape(), &[3, 2]);
    /// let bad = Tensor::from_vec(vec![5i64], &[1])?;
    /// assert_eq!(x.index_tensors(&[Some(&bad)]).unwrap_err().to_string(),
    ///            "index 5 is out of bounds for dimension 0 with size 3");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn index_tensors(&self, indices: &[Option<&Tensor>]) -> Result<Tensor>;

    /// `self[entries]` with basic entries and index tensors mixed, as
    /// written by [`ix!`](crate::ix): basic entries apply first as a view
    /// (integers select, as in PyTorch), then the index tensors apply as in
    /// [`index_tensors`](Self::index_tensors). Without tensors the result is
    /// the view itself, as with [`Tensor::index`].
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_ops::ix;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::arange(0, 24)?.reshape(&[2, 3, 4])?;
    /// let idx = Tensor::from_vec(vec![3i64, 0], &[2])?;
    /// assert_eq!(x.index_with(ix![0, .., &idx])?.shape(), &[3, 2]);
    /// // separated index tensors: their broadcast shape [2] comes first
    /// let first = Tensor::from_vec(vec![1i64], &[1])?;
    /// assert_eq!(x.index_with(ix![&first, .., &idx])?.shape(), &[2, 3]);
    /// let mask = Tensor::from_vec(vec![true, false, true], &[3])?;
    /// assert_eq!(x.index_with(ix![.., &mask, 1..])?.shape(), &[2, 2, 3]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn index_with<'a>(&self, entries: impl AsRef<[Indexer<'a>]>) -> Result<Tensor>;

    /// A copy with `self[indices] = values` (`values` of `self`'s dtype,
    /// broadcast to the indexing result), or `+=` when `accumulate` (then
    /// repeated indices add up).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let x = Tensor::zeros(&[4], DType::F32)?;
    /// let idx = Tensor::from_vec(vec![1i64, 3, 1], &[3])?;
    /// let v = Tensor::from_vec(vec![1.0f32], &[1])?;
    /// assert_eq!(x.index_put(&[Some(&idx)], &v, true)?.to_vec::<f32>()?, vec![0.0, 2.0, 0.0, 1.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn index_put(
        &self,
        indices: &[Option<&Tensor>],
        values: &Tensor,
        accumulate: bool,
    ) -> Result<Tensor>;

    /// [`index_put`](Self::index_put) in place: `self[indices] = values`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, -2.0, 3.0], &[3])?;
    /// let neg = Tensor::from_vec(vec![false, true, false], &[3])?;
    /// x.index_put_(&[Some(&neg)], &Tensor::scalar(0.0f32), false)?;
    /// assert_eq!(x.to_vec::<f32>()?, vec![1.0, 0.0, 3.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn index_put_(
        &self,
        indices: &[Option<&Tensor>],
        values: &Tensor,
        accumulate: bool,
    ) -> Result<Tensor>;

    /// `self[mask]`: a `bool` (or `u8`) mask matching the leading dims of
    /// `self` exactly selects along them; the result is `[n, rest...]`.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::arange(0, 6)?.reshape(&[3, 2])?;
    /// let rows = Tensor::from_vec(vec![true, false, true], &[3])?;
    /// assert_eq!(x.index_mask(&rows)?.to_vec::<i64>()?, vec![0, 1, 4, 5]);
    /// let wrong = Tensor::from_vec(vec![true, false], &[2])?;
    /// assert!(x.index_mask(&wrong).unwrap_err().to_string().contains(
    ///     "The shape of the mask [2] at index 0 does not match the shape of the indexed tensor [3, 2] at index 0"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn index_mask(&self, mask: &Tensor) -> Result<Tensor>;

    /// The elements where the `bool` mask is true, as a vector; the mask and
    /// `self` broadcast together.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.5f32, 0.95, 0.2, 0.97], &[2, 2])?;
    /// assert_eq!(x.masked_select(&x.gt(0.9)?)?.to_vec::<f32>()?, vec![0.95, 0.97]);
    /// let first_col = Tensor::from_vec(vec![true, false], &[2])?; // broadcasts over rows
    /// assert_eq!(x.masked_select(&first_col)?.to_vec::<f32>()?, vec![0.5, 0.2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn masked_select(&self, mask: &Tensor) -> Result<Tensor>;

    /// A copy with `value` (a scalar or a 0-d tensor) where the `bool` mask is
    /// true; the result has the broadcast shape of `self` and the mask.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    /// let m = Tensor::from_vec(vec![true, false, true], &[3])?;
    /// assert_eq!(x.masked_fill(&m, f32::NEG_INFINITY)?.to_vec::<f32>()?,
    ///            vec![f32::NEG_INFINITY, 2.0, f32::NEG_INFINITY]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn masked_fill<'a>(&self, mask: &Tensor, value: impl Into<Operand<'a>>) -> Result<Tensor>;

    /// [`masked_fill`](Self::masked_fill) in place; the mask must broadcast to
    /// `self`'s shape.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1i64, 2, 3, 4], &[2, 2])?;
    /// x.masked_fill_(&Tensor::from_vec(vec![false, true], &[2])?, 0)?;
    /// assert_eq!(x.to_vec::<i64>()?, vec![1, 0, 3, 0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn masked_fill_<'a>(&self, mask: &Tensor, value: impl Into<Operand<'a>>) -> Result<Tensor>;

    /// The coordinates of the non-zero elements: an `i64` tensor `[n, ndim]`,
    /// row-major order (`torch.nonzero`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f32, 3.0, -1.0, 0.0], &[2, 2])?;
    /// let nz = x.nonzero()?;
    /// assert_eq!(nz.shape(), &[2, 2]);
    /// assert_eq!(nz.to_vec::<i64>()?, vec![0, 1, 1, 0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn nonzero(&self) -> Result<Tensor>;

    /// The same as [`nonzero`](Self::nonzero) (`torch.argwhere`).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![false, true, true], &[3])?;
    /// assert_eq!(x.argwhere()?.to_vec::<i64>()?, vec![1, 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn argwhere(&self) -> Result<Tensor>;

    /// The `k` largest (or smallest) elements along `dim`, sorted, and their
    /// `i64` indices. NaN counts as the largest. `sorted = false` is accepted
    /// and still returns them sorted.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.1f32, 0.7, 0.2, 0.9], &[4])?;
    /// let (v, i) = x.topk(2, -1, true, true)?;
    /// assert_eq!((v.to_vec::<f32>()?, i.to_vec::<i64>()?), (vec![0.9, 0.7], vec![3, 1]));
    /// assert!(x.topk(5, 0, true, true).unwrap_err().to_string().contains("selected index k out of range"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn topk(&self, k: usize, dim: isize, largest: bool, sorted: bool) -> Result<(Tensor, Tensor)>;

    /// The elements sorted along `dim` and the `i64` indices they came from.
    /// Stable (equal elements keep their order, also descending); NaN sorts
    /// above every number.
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![3i64, 1, 2, 1], &[4])?;
    /// let (v, i) = x.sort(0, false)?;
    /// assert_eq!((v.to_vec::<i64>()?, i.to_vec::<i64>()?), (vec![1, 1, 2, 3], vec![1, 3, 2, 0]));
    /// let (_, i) = x.sort(0, true)?;
    /// assert_eq!(i.to_vec::<i64>()?, vec![0, 2, 1, 3]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn sort(&self, dim: isize, descending: bool) -> Result<(Tensor, Tensor)>;

    /// The indices that sort `self` along `dim` (stable).
    ///
    /// ```
    /// use ferrograd_ops::prelude::*;
    /// use ferrograd_autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.5f32, -1.0, 2.0], &[3])?;
    /// assert_eq!(x.argsort(0, true)?.to_vec::<i64>()?, vec![2, 0, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn argsort(&self, dim: isize, descending: bool) -> Result<Tensor>;
}

impl IndexingOps for Tensor {
    fn index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        select::index_select(self, dim, index)
    }
    fn index_add(&self, dim: isize, index: &Tensor, source: &Tensor) -> Result<Tensor> {
        select::index_add(self, dim, index, source)
    }
    fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        scatter::gather(self, dim, index)
    }
    fn scatter<'a>(
        &self,
        dim: isize,
        index: &Tensor,
        src: impl Into<Operand<'a>>,
    ) -> Result<Tensor> {
        scatter::scatter(self, dim, index, src.into())
    }
    fn scatter_<'a>(
        &self,
        dim: isize,
        index: &Tensor,
        src: impl Into<Operand<'a>>,
    ) -> Result<Tensor> {
        scatter::scatter_(self, dim, index, src.into())
    }
    fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        scatter::scatter_add(self, dim, index, src)
    }
    fn scatter_add_(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        scatter::scatter_add_(self, dim, index, src)
    }
    fn index_tensors(&self, indices: &[Option<&Tensor>]) -> Result<Tensor> {
        advanced::index_tensors(self, indices)
    }
    fn index_with<'a>(&self, entries: impl AsRef<[Indexer<'a>]>) -> Result<Tensor> {
        advanced::index_with(self, entries.as_ref())
    }
    fn index_put(
        &self,
        indices: &[Option<&Tensor>],
        values: &Tensor,
        accumulate: bool,
    ) -> Result<Tensor> {
        advanced::index_put(self, indices, values, accumulate)
    }
    fn index_put_(
        &self,
        indices: &[Option<&Tensor>],
        values: &Tensor,
        accumulate: bool,
    ) -> Result<Tensor> {
        advanced::index_put_(self, indices, values, accumulate)
    }
    fn index_mask(&self, mask: &Tensor) -> Result<Tensor> {
        advanced::index_tensors(self, &[Some(mask)])
    }
    fn masked_select(&self, mask: &Tensor) -> Result<Tensor> {
        mask::masked_select(self, mask)
    }
    fn masked_fill<'a>(&self, mask: &Tensor, value: impl Into<Operand<'a>>) -> Result<Tensor> {
        mask::masked_fill(self, mask, value.into())
    }
    fn masked_fill_<'a>(&self, mask: &Tensor, value: impl Into<Operand<'a>>) -> Result<Tensor> {
        mask::masked_fill_(self, mask, value.into())
    }
    fn nonzero(&self) -> Result<Tensor> {
        mask::nonzero(self)
    }
    fn argwhere(&self) -> Result<Tensor> {
        mask::nonzero(self)
    }
    fn topk(&self, k: usize, dim: isize, largest: bool, _sorted: bool) -> Result<(Tensor, Tensor)> {
        sort::topk(self, k, dim, largest)
    }
    fn sort(&self, dim: isize, descending: bool) -> Result<(Tensor, Tensor)> {
        sort::sort(self, dim, descending)
    }
    fn argsort(&self, dim: isize, descending: bool) -> Result<Tensor> {
        Ok(sort::sort(&self.detach(), dim, descending)?.1)
    }
}
