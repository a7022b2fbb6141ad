//! NumPy-style basic indexing: the [`TensorIndex`] entries, the [`s!`](crate::s)
//! macro that writes them, and [`Tensor::index`], which turns them into a
//! view: a chain of `select`, `slice` and `unsqueeze` when autograd must
//! record it, else one view of the composed [`Layout`].

use crate::Tensor;
use ferrograd_storage::{Error, Layout, Result};
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// One entry of a NumPy-style index, as in `t[1, 2:5, ::-1, ..., None]`.
///
/// Write them with the [`s!`](crate::s) macro; build them by hand when the
/// index is only known at run time.
///
/// ```
/// use ferrograd_autograd::{s, TensorIndex};
/// assert_eq!(s![1, 2..5, ..;-1, ..., NewAxis], [
///     TensorIndex::Index(1),
///     TensorIndex::Slice { start: Some(2), stop: Some(5), step: 1 },
///     TensorIndex::Slice { start: None, stop: None, step: -1 },
///     TensorIndex::Ellipsis,
///     TensorIndex::NewAxis,
/// ]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorIndex {
    /// `t[i]`: takes element `i` of a dim and removes the dim (negative counts from the end).
    Index(isize),
    /// `t[start:stop:step]`: Python slicing of a dim; bounds clamp, a
    /// negative step walks backwards (a negative-stride view, as in NumPy).
    Slice {
        /// First index taken (`None`: the first, or the last for a negative step).
        start: Option<isize>,
        /// Index where the slice stops, not taken (`None`: run to the end).
        stop: Option<isize>,
        /// Distance between taken indices; any value but 0.
        step: isize,
    },
    /// `t[:]`: keeps a dim whole.
    Full,
    /// `t[...]`: as many [`Full`](Self::Full) as the other entries leave dims.
    Ellipsis,
    /// `t[None]`: inserts a dim of size 1.
    NewAxis,
}

impl TensorIndex {
    /// Whether this entry uses up one dim of the indexed tensor.
    fn consumes_dim(&self) -> bool {
        matches!(
            self,
            TensorIndex::Index(_) | TensorIndex::Slice { .. } | TensorIndex::Full
        )
    }
}

/// A range that becomes a [`TensorIndex::Slice`] once its step is known: the
/// `start..stop;step` form of [`s!`](crate::s). Inclusive ranges need the
/// step to turn their last index into an exclusive stop.
///
/// ```
/// use ferrograd_autograd::{IntoSlice, TensorIndex};
/// assert_eq!((3..=1).into_slice(-1), TensorIndex::Slice { start: Some(3), stop: Some(0), step: -1 });
/// assert_eq!((..=-1).into_slice(1), TensorIndex::Slice { start: None, stop: None, step: 1 });
/// ```
pub trait IntoSlice {
    /// The slice of this range walked with `step`.
    fn into_slice(self, step: isize) -> TensorIndex;
}

fn slice(start: Option<isize>, stop: Option<isize>, step: isize) -> TensorIndex {
    TensorIndex::Slice { start, stop, step }
}

/// The exclusive stop after inclusive `last` when walking with `step`; `None`
/// where `last + step` would wrap around to the other end (`..=-1`, `..=0;-1`).
fn exclusive_stop(last: isize, step: isize) -> Option<isize> {
    let stop = last + step.signum();
    let wraps = (step > 0 && stop == 0) || (step < 0 && stop == -1);
    (!wraps).then_some(stop)
}

/// A bound of a range as an `isize`; values past `isize::MAX` saturate, which
/// clamps a slice and reports an out-of-range index the same way.
trait Bound: Copy {
    fn to_isize(self) -> isize;
}

macro_rules! index_from_integers {
    ($($t:ty),*) => {$(
        impl Bound for $t {
            #[inline]
            fn to_isize(self) -> isize {
                isize::try_from(self).unwrap_or(isize::MAX)
            }
        }
        impl From<$t> for TensorIndex {
            #[inline]
            fn from(i: $t) -> Self {
                TensorIndex::Index(i.to_isize())
            }
        }
        impl IntoSlice for Range<$t> {
            #[inline]
            fn into_slice(self, step: isize) -> TensorIndex {
                slice(Some(self.start.to_isize()), Some(self.end.to_isize()), step)
            }
        }
        impl IntoSlice for RangeFrom<$t> {
            #[inline]
            fn into_slice(self, step: isize) -> TensorIndex {
                slice(Some(self.start.to_isize()), None, step)
            }
        }
        impl IntoSlice for RangeTo<$t> {
            #[inline]
            fn into_slice(self, step: isize) -> TensorIndex {
                slice(None, Some(self.end.to_isize()), step)
            }
        }
        impl IntoSlice for RangeInclusive<$t> {
            #[inline]
            fn into_slice(self, step: isize) -> TensorIndex {
                let last = self.end().to_isize();
                slice(Some(self.start().to_isize()), exclusive_stop(last, step), step)
            }
        }
        impl IntoSlice for RangeToInclusive<$t> {
            #[inline]
            fn into_slice(self, step: isize) -> TensorIndex {
                slice(None, exclusive_stop(self.end.to_isize(), step), step)
            }
        }
        index_from_integers!(@from_range Range<$t>, RangeFrom<$t>, RangeTo<$t>, RangeInclusive<$t>, RangeToInclusive<$t>);
    )*};
    (@from_range $($r:ty),*) => {$(
        impl From<$r> for TensorIndex {
            #[inline]
            fn from(r: $r) -> Self {
                r.into_slice(1)
            }
        }
    )*};
}

index_from_integers!(isize, i64, i32, usize, u32);

impl IntoSlice for RangeFull {
    #[inline]
    fn into_slice(self, step: isize) -> TensorIndex {
        slice(None, None, step)
    }
}

impl From<RangeFull> for TensorIndex {
    #[inline]
    fn from(_: RangeFull) -> Self {
        TensorIndex::Full
    }
}

/// Writes a NumPy index as an array of [`TensorIndex`] for [`Tensor::index`].
///
/// | NumPy / PyTorch      | `s!`                                   |
/// |----------------------|----------------------------------------|
/// | `t[1, -2]`           | `s![1, -2]` (any integer expression)   |
/// | `t[1:3]`, `t[1:]`, `t[:-1]`, `t[:]` | `s![1..3]`, `s![1..]`, `s![..-1]`, `s![..]` |
/// | `t[1:4]` as inclusive | `s![1..=3]`                           |
/// | `t[::2]`, `t[::-1]`, `t[3:0:-1]` | `s![..;2]`, `s![..;-1]`, `s![3..0;-1]` |
/// | `t[..., 0]`          | `s![..., 0]`                           |
/// | `t[None, :]`         | `s![NewAxis, ..]` or `s![None, ..]`    |
///
/// Bounds and steps are expressions (`s![i, j + 1]`, `s![a..b; k]`).
/// A step follows NumPy: `start..stop;step` starts at `start` and walks
/// toward `stop` (so `s![3..0;-1]` is `t[3:0:-1]`, elements 3, 2, 1 — unlike
/// ndarray's `s!`, which reverses the range `3..0`).
///
/// ```
/// use ferrograd_autograd::{s, Tensor};
/// let t = Tensor::arange(0, 24)?.reshape(&[2, 3, 4])?;
/// assert_eq!(t.index(s![1, 2, 3])?.item::<i64>()?, 23);
/// assert_eq!(t.index(s![.., -1, 1..3])?.to_vec::<i64>()?, vec![9, 10, 21, 22]);
/// assert_eq!(t.index(s![..., ..;-2])?.shape(), &[2, 3, 2]);
/// assert_eq!(t.index(s![0, NewAxis, .., 0])?.to_vec::<i64>()?, vec![0, 4, 8]);
/// let (i, j) = (1, 0);
/// assert_eq!(t.index(s![i, j + 1, 2..=3])?.to_vec::<i64>()?, vec![18, 19]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[macro_export]
macro_rules! s {
    (@[]) => {
        [$crate::TensorIndex::Full; 0]
    };
    (@[$($done:expr,)*]) => {
        [$($done),*]
    };
    (@[$($done:expr,)*] ... $(, $($rest:tt)*)?) => {
        $crate::s!(@[$($done,)* $crate::TensorIndex::Ellipsis,] $($($rest)*)?)
    };
    (@[$($done:expr,)*] NewAxis $(, $($rest:tt)*)?) => {
        $crate::s!(@[$($done,)* $crate::TensorIndex::NewAxis,] $($($rest)*)?)
    };
    (@[$($done:expr,)*] None $(, $($rest:tt)*)?) => {
        $crate::s!(@[$($done,)* $crate::TensorIndex::NewAxis,] $($($rest)*)?)
    };
    (@[$($done:expr,)*] $range:expr ; $step:expr $(, $($rest:tt)*)?) => {
        $crate::s!(@[$($done,)* {
            // `4..0;-1` walks down from 4: a reversed range is the point here.
            #[allow(clippy::reversed_empty_ranges)]
            let range = $range;
            $crate::IntoSlice::into_slice(range, $step)
        },] $($($rest)*)?)
    };
    (@[$($done:expr,)*] $entry:expr $(, $($rest:tt)*)?) => {
        $crate::s!(@[$($done,)* $crate::TensorIndex::from($entry),] $($($rest)*)?)
    };
    ($($entries:tt)*) => {
        $crate::s!(@[] $($entries)*)
    };
}

impl Tensor {
    /// `t[index]` with NumPy's basic indexing, as a view: integers select
    /// (removing the dim), slices keep it (any non-zero step; a negative step
    /// gives a negative stride), `...` stands for the dims not named,
    /// `NewAxis` inserts a size-1 dim, and dims left over are kept whole.
    /// Gradients flow back through the view. An index that changes nothing
    /// (`s![]`, `s![..]`, `s![...]`) returns `self`.
    ///
    /// Errors follow PyTorch: too many indices, more than one ellipsis, a zero
    /// step, an integer out of range (named with the dim of `self` it indexes).
    ///
    /// ```
    /// use ferrograd_autograd::{s, Tensor, DType};
    /// let t = Tensor::arange(0, 9)?.reshape(&[3, 3])?;
    /// let corner = t.index(s![1..3, 1..3])?;
    /// assert!(corner.shares_storage(&t));
    /// assert_eq!(corner.to_vec::<i64>()?, vec![4, 5, 7, 8]);
    /// assert_eq!(t.index(s![..;-1, 0])?.to_vec::<i64>()?, vec![6, 3, 0]);
    /// assert_eq!(t.index(s![0, 3]).unwrap_err().to_string(),
    ///            "index 3 is out of bounds for dimension 1 with size 3");
    /// assert!(t.index(s![0, 0, 0]).unwrap_err().to_string()
    ///     .contains("too many indices for tensor of dimension 2"));
    ///
    /// let x = Tensor::ones(&[2, 3], DType::F32)?.requires_grad_(true)?;
    /// x.index(s![.., ..;-2])?.sum()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![1., 0., 1., 1., 0., 1.]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn index(&self, index: impl AsRef<[TensorIndex]>) -> Result<Tensor> {
        let index = index.as_ref();
        let ndim = self.dim();
        let named = index.iter().filter(|i| i.consumes_dim()).count();
        let ellipses = index
            .iter()
            .filter(|i| **i == TensorIndex::Ellipsis)
            .count();
        if ellipses > 1 {
            return Err(Error::invalid(
                "index",
                "an index can only have a single ellipsis ('...'); name the dims around it with ':' instead",
            ));
        }
        if named > ndim {
            return Err(Error::invalid(
                "index",
                format!("too many indices for tensor of dimension {ndim} (got {named}); index at most {ndim} dims, with ':' for those kept whole"),
            ));
        }
        if !Tensor::needs_grad(&[self]) {
            // Nothing to record: compose the layout, make one view.
            let layout = apply(self.layout().clone(), index, ndim - named)?;
            return Ok(if layout == *self.layout() {
                self.clone()
            } else {
                self.view_with_layout(layout)
            });
        }
        apply(self.clone(), index, ndim - named)
    }
}

/// What an index applies to: a [`Tensor`] (each step a recorded view op)
/// or a bare [`Layout`] (when there is no graph to record).
trait Indexable: Sized {
    fn shape(&self) -> &[usize];
    /// Applies one `Index`, `Slice` or `NewAxis` entry at `dim`.
    fn apply_at(self, dim: usize, entry: TensorIndex) -> Result<Self>;
}

impl Indexable for Tensor {
    fn shape(&self) -> &[usize] {
        Tensor::shape(self)
    }
    fn apply_at(self, dim: usize, entry: TensorIndex) -> Result<Self> {
        match entry {
            TensorIndex::Index(i) => self.select(dim as isize, i),
            TensorIndex::Slice { start, stop, step } => self.slice(dim as isize, start, stop, step),
            _ => self.unsqueeze(dim as isize),
        }
    }
}

impl Indexable for Layout {
    fn shape(&self) -> &[usize] {
        Layout::shape(self)
    }
    fn apply_at(mut self, dim: usize, entry: TensorIndex) -> Result<Self> {
        match entry {
            TensorIndex::Index(i) => self.select_in_place(dim, i)?,
            TensorIndex::Slice { start, stop, step } => {
                self.slice_in_place(dim, start, stop, step)?
            }
            _ => return Ok(self.unsqueeze(dim)),
        }
        Ok(self)
    }
}

/// Applies checked `index` entries left to right; `...` stands for `spread` dims.
fn apply<V: Indexable>(mut out: V, index: &[TensorIndex], spread: usize) -> Result<V> {
    // `dim` walks the dims of `out`, `src_dim` those of the input (for messages).
    let (mut dim, mut src_dim) = (0usize, 0usize);
    for entry in index {
        match *entry {
            TensorIndex::Index(i) => {
                let size = out.shape()[dim];
                if i < -(size as isize) || i >= size as isize {
                    return Err(Error::IndexOutOfBounds {
                        index: i,
                        dim: src_dim,
                        size,
                    });
                }
                out = out.apply_at(dim, *entry)?;
            }
            TensorIndex::Slice {
                start: None,
                stop: None,
                step: 1,
            }
            | TensorIndex::Full => dim += 1,
            TensorIndex::Slice { .. } => {
                out = out.apply_at(dim, *entry)?;
                dim += 1;
            }
            TensorIndex::Ellipsis => {
                dim += spread;
                src_dim += spread;
                continue;
            }
            TensorIndex::NewAxis => {
                out = out.apply_at(dim, *entry)?;
                dim += 1;
                continue;
            }
        }
        src_dim += 1;
    }
    Ok(out)
}
