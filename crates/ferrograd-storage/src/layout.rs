//! [`Layout`]: how a tensor's logical elements map onto its storage — shape,
//! signed strides (in elements) and offset. Every view op (narrow, slice with
//! any step, select, permute, transpose, squeeze, unsqueeze, expand, flip,
//! view) is a short method returning a new layout; none touches data.
//!
//! Strides are signed, so `x[:, ::-1]` and `flip` are views too. `offset` is
//! the storage index of the logical first element; any element lives at
//! `offset + Σ index[d] * strides[d]`.

use crate::{Error, Result};
use smallvec::SmallVec;

/// Dims held inline (no heap allocation) up to this rank.
const INLINE_DIMS: usize = 6;
/// A shape: sizes of each dimension, stored inline for ranks up to 6.
///
/// ```
/// use ferrograd_storage::{Layout, Shape};
/// let shape = Shape::from_slice(&[2, 3]);
/// assert!(!shape.spilled()); // held inline, no heap allocation
/// assert_eq!(Layout::new(shape, vec![3, 1], 0), Layout::contiguous(&[2, 3]));
/// ```
pub type Shape = SmallVec<[usize; INLINE_DIMS]>;
/// Signed strides in elements, stored inline for ranks up to 6.
///
/// ```
/// use ferrograd_storage::{Layout, Strides};
/// let flipped = Layout::contiguous(&[2, 3]).flip(&[1]);
/// let strides = Strides::from_slice(flipped.strides());
/// assert_eq!(strides.as_slice(), &[3, -1]); // a negative stride walks backwards
/// ```
pub type Strides = SmallVec<[isize; INLINE_DIMS]>;

/// Shape, signed strides and offset of a strided view of a storage.
///
/// ```
/// use ferrograd_storage::Layout;
/// let l = Layout::contiguous(&[2, 3]);
/// assert_eq!(l.strides(), &[3, 1]);
/// let flipped = l.slice(1, None, None, -1).unwrap();
/// assert_eq!(flipped.strides(), &[3, -1]);
/// assert_eq!(flipped.offset(), 2);
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    shape: Shape,
    strides: Strides,
    offset: usize,
    /// Facts derived from the three fields above, computed whenever they
    /// change (every op asks for them, many times, on the hot path).
    numel: usize,
    contiguous: bool,
}

/// Copies dims with one `memcpy` each; the derived clone goes element by
/// element through `extend`, a visible cost of every view.
impl Clone for Layout {
    #[inline]
    fn clone(&self) -> Self {
        Layout {
            shape: Shape::from_slice(&self.shape),
            strides: Strides::from_slice(&self.strides),
            offset: self.offset,
            numel: self.numel,
            contiguous: self.contiguous,
        }
    }
}

/// Row-major strides of a shape.
///
/// ```
/// use ferrograd_storage::contiguous_strides;
/// assert_eq!(contiguous_strides(&[2, 3, 4]).as_slice(), &[12, 4, 1]);
/// assert_eq!(contiguous_strides(&[2, 0, 3]).as_slice(), &[3, 3, 1]); // size 0 steps like size 1
/// assert!(contiguous_strides(&[]).is_empty());
/// ```
pub fn contiguous_strides(shape: &[usize]) -> Strides {
    let fill = |strides: &mut [isize]| {
        let mut acc = 1isize;
        for (s, &n) in strides.iter_mut().zip(shape).rev() {
            *s = acc;
            acc *= n.max(1) as isize;
        }
    };
    if shape.len() <= INLINE_DIMS {
        let mut buf = [0isize; INLINE_DIMS];
        fill(&mut buf[..shape.len()]);
        Strides::from_buf_and_len(buf, shape.len())
    } else {
        let mut strides: Strides = smallvec::smallvec![0isize; shape.len()];
        fill(&mut strides);
        strides
    }
}

/// Converts a possibly negative `dim` into an index below `ndim`
/// (PyTorch's wrap-around rule; a 0-d tensor accepts 0 and -1).
///
/// ```
/// use ferrograd_storage::normalize_dim;
/// assert_eq!(normalize_dim(-1, 3)?, 2);
/// assert_eq!(normalize_dim(-1, 0)?, 0); // a 0-d tensor accepts 0 and -1
/// assert!(normalize_dim(3, 3).is_err());
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[inline]
pub fn normalize_dim(dim: isize, ndim: usize) -> Result<usize> {
    let n = ndim.max(1) as isize;
    if dim < -n || dim >= n {
        return Err(Error::DimOutOfRange { dim, ndim });
    }
    Ok(if dim < 0 { dim + n } else { dim } as usize)
}

/// True when `dims` holds each of `0..dims.len()` exactly once.
fn is_permutation(dims: &[usize]) -> bool {
    let n = dims.len();
    let mut seen: SmallVec<[bool; INLINE_DIMS]> = smallvec::smallvec![false; n];
    dims.iter()
        .all(|&d| d < n && !std::mem::replace(&mut seen[d], true))
}

/// Converts a possibly negative index into one below `size`.
///
/// ```
/// use ferrograd_storage::normalize_index;
/// assert_eq!(normalize_index(-1, 0, 5)?, 4);
/// assert_eq!(normalize_index(5, 0, 5).unwrap_err().to_string(),
///            "index 5 is out of bounds for dimension 0 with size 5");
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[inline]
pub fn normalize_index(index: isize, dim: usize, size: usize) -> Result<usize> {
    let s = size as isize;
    if index < -s || index >= s {
        return Err(Error::IndexOutOfBounds { index, dim, size });
    }
    Ok(if index < 0 { index + s } else { index } as usize)
}

/// The shape two shapes broadcast to under NumPy's rules.
///
/// ```
/// use ferrograd_storage::broadcast_shapes;
/// assert_eq!(broadcast_shapes("add", &[3, 1], &[4]).unwrap(), vec![3, 4]);
/// assert!(broadcast_shapes("add", &[3], &[4]).is_err());
/// ```
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    let n = lhs.len().max(rhs.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let a = if i + lhs.len() >= n {
            lhs[i + lhs.len() - n]
        } else {
            1
        };
        let b = if i + rhs.len() >= n {
            rhs[i + rhs.len() - n]
        } else {
            1
        };
        out[i] = match (a, b) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return Err(Error::BroadcastMismatch {
                    op,
                    lhs: lhs.to_vec(),
                    rhs: rhs.to_vec(),
                    dim: i,
                    lhs_size: a,
                    rhs_size: b,
                })
            }
        };
    }
    Ok(out)
}

/// Resolves a requested shape with at most one `-1` against an element count.
///
/// ```
/// use ferrograd_storage::infer_shape;
/// assert_eq!(infer_shape(&[2, -1], 6).unwrap(), vec![2, 3]);
/// assert_eq!(infer_shape(&[2, 5], 9).unwrap_err().to_string(),
///            "shape '[2, 5]' is invalid for input of size 9");
/// ```
pub fn infer_shape(shape: &[isize], numel: usize) -> Result<Vec<usize>> {
    let invalid = || Error::InvalidShape {
        shape: shape.to_vec(),
        numel,
    };
    let mut infer_at = None;
    let mut known = 1usize;
    for (i, &s) in shape.iter().enumerate() {
        match s {
            -1 if infer_at.is_none() => infer_at = Some(i),
            -1 => {
                return Err(Error::invalid(
                    "reshape",
                    "only one dimension can be inferred",
                ))
            }
            s if s < 0 => {
                return Err(Error::invalid(
                    "reshape",
                    format!("invalid shape dimension {s} in {shape:?}"),
                ))
            }
            s => known = known.checked_mul(s as usize).ok_or_else(invalid)?,
        }
    }
    let mut out: Vec<usize> = shape.iter().map(|&s| s.max(0) as usize).collect();
    match infer_at {
        Some(i) => {
            if known == 0 || numel % known != 0 {
                return Err(invalid());
            }
            out[i] = numel / known;
        }
        None if known != numel => return Err(invalid()),
        None => {}
    }
    Ok(out)
}

impl Layout {
    /// A row-major layout of `shape` starting at offset 0.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3, 4]);
    /// assert_eq!((l.strides(), l.offset()), (&[12, 4, 1][..], 0));
    /// assert!(l.is_contiguous());
    /// ```
    pub fn contiguous(shape: &[usize]) -> Self {
        // Row-major strides from offset 0: contiguous by construction.
        Layout {
            shape: Shape::from_slice(shape),
            strides: contiguous_strides(shape),
            offset: 0,
            numel: shape.iter().product(),
            contiguous: true,
        }
    }

    /// A layout from its parts; the caller guarantees it stays inside its
    /// storage (`Tensor::from_parts` checks that).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::new(vec![2, 3], vec![1, 2], 1); // column-major, from index 1
    /// assert_eq!(l.span(), (1, 7));
    /// assert!(!l.is_contiguous());
    /// ```
    ///
    /// # Panics
    /// If `shape` and `strides` differ in length — a programming error, not bad data.
    pub fn new(shape: impl Into<Shape>, strides: impl Into<Strides>, offset: usize) -> Self {
        let (shape, strides): (Shape, Strides) = (shape.into(), strides.into());
        assert_eq!(
            shape.len(),
            strides.len(),
            "shape and strides differ in rank"
        );
        Layout::settled(shape, strides, offset)
    }

    /// A layout of these fields with its derived facts computed.
    fn settled(shape: Shape, strides: Strides, offset: usize) -> Self {
        let mut layout = Layout {
            shape,
            strides,
            offset,
            numel: 0,
            contiguous: false,
        };
        layout.settle();
        layout
    }

    /// Recomputes the derived facts after the fields changed.
    fn settle(&mut self) {
        self.numel = self.shape.iter().product();
        self.contiguous = self.numel == 0 || {
            let mut expected = 1isize;
            self.shape.iter().zip(&self.strides).rev().all(|(&n, &s)| {
                let fits = n == 1 || s == expected;
                expected *= n as isize;
                fits
            })
        };
    }

    /// Sizes of each dimension.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3]);
    /// assert_eq!(l.shape(), &[2, 3]);
    /// assert_eq!(l.transpose(0, 1).shape(), &[3, 2]);
    /// ```
    #[inline]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Signed strides in elements.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3]);
    /// assert_eq!(l.strides(), &[3, 1]);
    /// assert_eq!(l.transpose(0, 1).strides(), &[1, 3]);
    /// ```
    #[inline]
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    /// Storage index of the logical first element.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[4, 5]);
    /// assert_eq!(l.offset(), 0);
    /// assert_eq!(l.narrow(0, 2, 1)?.offset(), 10); // row 2 starts at 2 * 5
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    #[inline]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of dimensions.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// assert_eq!(Layout::contiguous(&[2, 3, 4]).ndim(), 3);
    /// assert_eq!(Layout::contiguous(&[]).ndim(), 0); // a scalar
    /// ```
    #[inline]
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// assert_eq!(Layout::contiguous(&[2, 3, 4]).numel(), 24);
    /// assert_eq!(Layout::contiguous(&[]).numel(), 1); // a scalar holds one element
    /// assert_eq!(Layout::contiguous(&[2, 0]).numel(), 0);
    /// ```
    #[inline]
    pub fn numel(&self) -> usize {
        self.numel
    }

    /// Converts a dim argument (negative counts from the end).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3, 4]);
    /// assert_eq!(l.dim(-1)?, 2);
    /// assert_eq!(l.dim(1)?, 1);
    /// assert!(l.dim(3).is_err());
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn dim(&self, dim: isize) -> Result<usize> {
        normalize_dim(dim, self.ndim())
    }

    /// True when elements are laid out row-major with no gaps (size-1 dims may
    /// have any stride), as `torch.Tensor.is_contiguous` defines it.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3]);
    /// assert!(l.is_contiguous());
    /// assert!(!l.transpose(0, 1).is_contiguous());
    /// assert!(Layout::new(vec![1, 3], vec![100, 1], 0).is_contiguous()); // size-1 dim
    /// ```
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.contiguous
    }

    /// The lowest and one-past-highest storage index any element touches
    /// (`(offset, offset)` for an empty layout).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3]).flip(&[0]);
    /// assert_eq!(l.offset(), 3);
    /// assert_eq!(l.span(), (0, 6)); // the first row now lies below the offset
    /// assert_eq!(Layout::contiguous(&[3, 0]).span(), (0, 0));
    /// ```
    pub fn span(&self) -> (usize, usize) {
        if self.numel() == 0 {
            return (self.offset, self.offset);
        }
        let (mut lo, mut hi) = (self.offset as isize, self.offset as isize);
        for (&n, &s) in self.shape.iter().zip(&self.strides) {
            let reach = (n as isize - 1) * s;
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        (lo as usize, hi as usize + 1)
    }

    /// `narrow(dim, start, len)`: elements `start..start+len` of `dim`.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[4, 5]);
    /// let n = l.narrow(1, 1, 3)?;
    /// assert_eq!((n.shape(), n.strides(), n.offset()), (&[4, 3][..], &[5, 1][..], 1));
    /// assert!(l.narrow(1, 3, 3).is_err()); // 3 + 3 > 5
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Result<Layout> {
        let size = self.shape[dim];
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(Error::invalid(
                "narrow",
                format!("start ({start}) + length ({len}) exceeds dimension size ({size}) of dimension {dim}"),
            ));
        }
        let mut out = self.clone();
        out.shape[dim] = len;
        if len > 0 {
            out.offset = (self.offset as isize + start as isize * self.strides[dim]) as usize;
        }
        out.settle();
        Ok(out)
    }

    /// Python slicing `start:stop:step` of `dim`, any non-zero step. Out-of-range
    /// bounds clamp like Python's; a negative step walks backwards (a negative stride).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[6]);
    /// let odd = l.slice(0, Some(1), None, 2)?; // x[1::2]
    /// assert_eq!((odd.shape(), odd.strides(), odd.offset()), (&[3][..], &[2][..], 1));
    /// let rev = l.slice(0, None, None, -1)?; // x[::-1]
    /// assert_eq!((rev.shape(), rev.strides(), rev.offset()), (&[6][..], &[-1][..], 5));
    /// assert!(l.slice(0, None, None, 0).is_err());
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn slice(
        &self,
        dim: usize,
        start: Option<isize>,
        stop: Option<isize>,
        step: isize,
    ) -> Result<Layout> {
        let mut out = self.clone();
        out.slice_in_place(dim, start, stop, step)?;
        Ok(out)
    }

    /// [`slice`](Self::slice) applied to this layout itself (no copy of the
    /// dims); on error the layout is unchanged.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let mut l = Layout::contiguous(&[4, 5]);
    /// l.slice_in_place(1, Some(1), None, 2).unwrap();
    /// assert_eq!((l.shape(), l.strides(), l.offset()), (&[4, 2][..], &[5, 2][..], 1));
    /// ```
    pub fn slice_in_place(
        &mut self,
        dim: usize,
        start: Option<isize>,
        stop: Option<isize>,
        step: isize,
    ) -> Result<()> {
        if step == 0 {
            return Err(Error::invalid("slice", "slice step cannot be zero"));
        }
        let n = self.shape[dim] as isize;
        let wrap = |i: isize| if i < 0 { i + n } else { i };
        let (first, len) = if step > 0 {
            let s = start.map_or(0, |s| wrap(s).clamp(0, n));
            let e = stop.map_or(n, |e| wrap(e).clamp(0, n));
            (s, if e > s { (e - s + step - 1) / step } else { 0 })
        } else {
            let s = start.map_or(n - 1, |s| wrap(s).clamp(-1, n - 1));
            let e = stop.map_or(-1, |e| wrap(e).clamp(-1, n - 1));
            (
                s,
                if s > e {
                    (s - e - step - 1) / (-step)
                } else {
                    0
                },
            )
        };
        if len > 0 {
            self.offset = (self.offset as isize + first * self.strides[dim]) as usize;
        }
        self.shape[dim] = len as usize;
        self.strides[dim] *= step;
        self.settle();
        Ok(())
    }

    /// Removes `dim` by fixing it at `index` (negative counts from the end).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[3, 4]);
    /// let row = l.select(0, 1)?;
    /// assert_eq!((row.shape(), row.offset()), (&[4][..], 4));
    /// let col = l.select(1, -1)?;
    /// assert_eq!((col.shape(), col.strides(), col.offset()), (&[3][..], &[4][..], 3));
    /// assert!(l.select(0, 3).is_err());
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn select(&self, dim: usize, index: isize) -> Result<Layout> {
        let mut out = self.clone();
        out.select_in_place(dim, index)?;
        Ok(out)
    }

    /// [`select`](Self::select) applied to this layout itself; on error the
    /// layout is unchanged.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let mut l = Layout::contiguous(&[4, 5]);
    /// l.select_in_place(0, -1).unwrap();
    /// assert_eq!((l.shape(), l.strides(), l.offset()), (&[5][..], &[1][..], 15));
    /// ```
    pub fn select_in_place(&mut self, dim: usize, index: isize) -> Result<()> {
        let i = normalize_index(index, dim, self.shape[dim])?;
        self.offset = (self.offset as isize + i as isize * self.strides[dim]) as usize;
        self.shape.remove(dim);
        self.strides.remove(dim);
        self.settle();
        Ok(())
    }

    /// Reorders dims: output dim `i` is input dim `dims[i]`.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3, 4]);
    /// let p = l.permute(&[2, 0, 1])?;
    /// assert_eq!((p.shape(), p.strides()), (&[4, 2, 3][..], &[1, 12, 4][..]));
    /// assert!(l.permute(&[0, 0, 1]).is_err());
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn permute(&self, dims: &[usize]) -> Result<Layout> {
        let n = self.ndim();
        if dims.len() != n || !is_permutation(dims) {
            return Err(Error::invalid(
                "permute",
                format!(
                    "dims {dims:?} is not a permutation of the {n} dims of a tensor of shape {:?}",
                    self.shape
                ),
            ));
        }
        let mut out = self.clone();
        let (shape, strides) = (out.shape.as_mut_slice(), out.strides.as_mut_slice());
        let (old_shape, old_strides) = (self.shape(), self.strides());
        for ((&d, n), s) in dims.iter().zip(shape).zip(strides) {
            *n = old_shape[d];
            *s = old_strides[d];
        }
        out.settle();
        Ok(out)
    }

    /// Swaps two dims.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
    /// assert_eq!((t.shape(), t.strides()), (&[3, 2][..], &[1, 3][..]));
    /// ```
    pub fn transpose(&self, a: usize, b: usize) -> Layout {
        let mut out = self.clone();
        out.shape.swap(a, b);
        out.strides.swap(a, b);
        out.settle();
        out
    }

    /// Inserts a size-1 dim at `dim` (`0..=ndim`).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3]);
    /// let u = l.unsqueeze(1);
    /// assert_eq!((u.shape(), u.strides()), (&[2, 1, 3][..], &[3, 3, 1][..]));
    /// assert_eq!(l.unsqueeze(2).shape(), &[2, 3, 1]);
    /// ```
    pub fn unsqueeze(&self, dim: usize) -> Layout {
        let mut out = self.clone();
        let stride = if dim < self.ndim() {
            self.strides[dim] * self.shape[dim] as isize
        } else {
            1
        };
        out.shape.insert(dim, 1);
        out.strides.insert(dim, stride);
        out.settle();
        out
    }

    /// Removes `dim` if its size is 1 (a no-op otherwise, like PyTorch).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 1, 3]);
    /// assert_eq!(l.squeeze_dim(1).shape(), &[2, 3]);
    /// assert_eq!(l.squeeze_dim(0).shape(), &[2, 1, 3]); // size 2: unchanged
    /// ```
    pub fn squeeze_dim(&self, dim: usize) -> Layout {
        let mut out = self.clone();
        if self.shape[dim] == 1 {
            out.shape.remove(dim);
            out.strides.remove(dim);
            out.settle();
        }
        out
    }

    /// Removes every size-1 dim.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let s = Layout::contiguous(&[1, 2, 1, 3]).squeeze_all();
    /// assert_eq!((s.shape(), s.strides()), (&[2, 3][..], &[3, 1][..]));
    /// ```
    pub fn squeeze_all(&self) -> Layout {
        let keep: Vec<usize> = (0..self.ndim()).filter(|&d| self.shape[d] != 1).collect();
        Layout::settled(
            keep.iter().map(|&d| self.shape[d]).collect(),
            keep.iter().map(|&d| self.strides[d]).collect(),
            self.offset,
        )
    }

    /// Reverses the listed dims (negative strides; no copy).
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3]);
    /// let f = l.flip(&[1]);
    /// assert_eq!((f.strides(), f.offset()), (&[3, -1][..], 2));
    /// let both = l.flip(&[0, 1]);
    /// assert_eq!((both.strides(), both.offset()), (&[-3, -1][..], 5));
    /// ```
    pub fn flip(&self, dims: &[usize]) -> Layout {
        let mut out = self.clone();
        for &d in dims {
            if self.shape[d] > 0 {
                out.offset =
                    (out.offset as isize + (self.shape[d] as isize - 1) * out.strides[d]) as usize;
            }
            out.strides[d] = -out.strides[d];
        }
        out.settle();
        out
    }

    /// Broadcasts to `target` (NumPy rules, new dims on the left) with stride 0
    /// on repeated dims — `expand` / `broadcast_to`.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let b = Layout::contiguous(&[3, 1]).broadcast_to(&[2, 3, 4])?;
    /// assert_eq!((b.shape(), b.strides()), (&[2, 3, 4][..], &[0, 1, 0][..]));
    /// assert!(Layout::contiguous(&[3]).broadcast_to(&[4]).is_err());
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn broadcast_to(&self, target: &[usize]) -> Result<Layout> {
        let n = target.len();
        let err = || {
            Error::ShapeMismatch {
            op: "expand",
            lhs: self.shape.to_vec(),
            rhs: target.to_vec(),
            msg: "the expanded size must match the existing size at every non-singleton dimension, and new dimensions go on the left".into(),
        }
        };
        if n < self.ndim() {
            return Err(err());
        }
        let lead = n - self.ndim();
        let mut strides: Strides = smallvec::smallvec![0isize; n];
        for d in 0..self.ndim() {
            let (have, want) = (self.shape[d], target[lead + d]);
            strides[lead + d] = if have == want {
                self.strides[d]
            } else if have == 1 {
                0
            } else {
                return Err(err());
            };
        }
        Ok(Layout::settled(
            Shape::from_slice(target),
            strides,
            self.offset,
        ))
    }

    /// The layout of `target` over the same memory without a copy, if the
    /// strides allow it (PyTorch's `computeStride`); `None` when a copy is needed.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 3, 4]);
    /// assert_eq!(l.view(&[6, 4]).unwrap().strides(), &[4, 1]);
    /// assert!(l.transpose(0, 2).view(&[24]).is_none()); // needs a copy
    /// assert!(l.view(&[5, 5]).is_none()); // another element count
    /// ```
    pub fn view(&self, target: &[usize]) -> Option<Layout> {
        let numel = self.numel();
        if target.iter().product::<usize>() != numel {
            return None;
        }
        if numel == 0 || self.ndim() == 0 {
            let mut out = Layout::contiguous(target);
            out.offset = self.offset;
            return Some(out);
        }
        let old_shape = &self.shape;
        let old_strides = &self.strides;
        let mut new_strides: Strides = smallvec::smallvec![0isize; target.len()];
        let mut view_d = target.len() as isize - 1;
        let mut chunk_base_stride = *old_strides.last().unwrap();
        let mut tensor_numel = 1usize;
        let mut view_numel = 1usize;
        for tensor_d in (0..old_shape.len()).rev() {
            tensor_numel *= old_shape[tensor_d];
            let chunk_ends = tensor_d == 0
                || (old_shape[tensor_d - 1] != 1
                    && old_strides[tensor_d - 1] != tensor_numel as isize * chunk_base_stride);
            if chunk_ends {
                while view_d >= 0 && (view_numel < tensor_numel || target[view_d as usize] == 1) {
                    new_strides[view_d as usize] = view_numel as isize * chunk_base_stride;
                    view_numel *= target[view_d as usize];
                    view_d -= 1;
                }
                if view_numel != tensor_numel {
                    return None;
                }
                if tensor_d > 0 {
                    chunk_base_stride = old_strides[tensor_d - 1];
                    tensor_numel = 1;
                    view_numel = 1;
                }
            }
        }
        if view_d != -1 {
            return None;
        }
        Some(Layout::settled(
            Shape::from_slice(target),
            new_strides,
            self.offset,
        ))
    }

    /// Shape and strides with size-1 dims dropped and mergeable neighbours
    /// merged; iterating these visits the same offsets in the same order.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[2, 1, 3, 4]);
    /// assert_eq!(l.coalesced(), (vec![24], vec![1]));
    /// let flipped = Layout::contiguous(&[2, 3]).flip(&[0, 1]);
    /// assert_eq!(flipped.coalesced(), (vec![6], vec![-1]));
    /// let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
    /// assert_eq!(t.coalesced(), (vec![3, 2], vec![1, 3])); // nothing merges
    /// ```
    pub fn coalesced(&self) -> (Vec<usize>, Vec<isize>) {
        let mut shape: Vec<usize> = Vec::with_capacity(self.ndim());
        let mut strides: Vec<isize> = Vec::with_capacity(self.ndim());
        for (&n, &s) in self.shape.iter().zip(&self.strides) {
            if n == 1 {
                continue;
            }
            match (shape.last_mut(), strides.last_mut()) {
                (Some(pn), Some(ps)) if *ps == s * n as isize => {
                    *pn *= n;
                    *ps = s;
                }
                _ => {
                    shape.push(n);
                    strides.push(s);
                }
            }
        }
        (shape, strides)
    }

    /// Calls `f` with the storage index of every element, in row-major logical order.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
    /// let mut offsets = vec![];
    /// t.for_each_offset(|o| offsets.push(o));
    /// assert_eq!(offsets, vec![0, 3, 1, 4, 2, 5]);
    /// ```
    #[inline]
    pub fn for_each_offset(&self, mut f: impl FnMut(usize)) {
        if self.numel() == 0 {
            return;
        }
        let (shape, strides) = self.coalesced();
        let base = self.offset as isize;
        if shape.is_empty() {
            f(self.offset);
            return;
        }
        let last = shape.len() - 1;
        let (inner_n, inner_s) = (shape[last], strides[last]);
        let mut index = vec![0usize; last];
        let mut row_start = base;
        loop {
            let mut off = row_start;
            for _ in 0..inner_n {
                f(off as usize);
                off += inner_s;
            }
            // Advance the odometer over the outer dims.
            let mut d = last;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                index[d] += 1;
                row_start += strides[d];
                if index[d] < shape[d] {
                    break;
                }
                row_start -= strides[d] * shape[d] as isize;
                index[d] = 0;
            }
        }
    }

    /// If the elements occupy `storage[start..start + numel]` in row-major
    /// order, returns `start`.
    ///
    /// ```
    /// use ferrograd_storage::Layout;
    /// let l = Layout::contiguous(&[4, 5]);
    /// assert_eq!(l.narrow(0, 1, 2)?.contiguous_offset(), Some(5));
    /// assert_eq!(l.narrow(1, 1, 2)?.contiguous_offset(), None); // rows with gaps
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    #[inline]
    pub fn contiguous_offset(&self) -> Option<usize> {
        self.is_contiguous().then_some(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(l: &Layout) -> Vec<usize> {
        let mut v = vec![];
        l.for_each_offset(|o| v.push(o));
        v
    }

    /// The cached facts, recomputed from the fields the slow way.
    fn facts_from_fields(l: &Layout) -> (usize, bool) {
        let numel: usize = l.shape().iter().product();
        let mut expected = 1isize;
        let mut contiguous = true;
        for d in (0..l.ndim()).rev() {
            if l.shape()[d] != 1 && l.strides()[d] != expected {
                contiguous = false;
            }
            expected *= l.shape()[d] as isize;
        }
        (numel, contiguous || numel == 0)
    }

    #[test]
    fn every_transform_keeps_the_cached_facts_true() {
        let base = Layout::contiguous(&[2, 3, 4]);
        let mut sliced = base.clone();
        sliced.slice_in_place(2, None, None, 2).unwrap();
        let mut selected = base.clone();
        selected.select_in_place(1, 0).unwrap();
        let layouts = [
            base.clone(),
            Layout::contiguous(&[]),
            Layout::contiguous(&[2, 0, 3]),
            Layout::new(vec![3, 1], vec![1, 7], 2),
            base.narrow(2, 1, 2).unwrap(),
            base.narrow(0, 1, 1).unwrap(),
            base.narrow(1, 0, 0).unwrap(),
            sliced,
            selected,
            base.slice(0, None, None, -1).unwrap(),
            base.permute(&[2, 0, 1]).unwrap(),
            base.permute(&[2, 0, 1])
                .unwrap()
                .permute(&[1, 2, 0])
                .unwrap(),
            base.transpose(0, 2),
            base.transpose(0, 2).transpose(0, 2),
            base.unsqueeze(1),
            base.narrow(0, 0, 1).unwrap().squeeze_dim(0),
            base.transpose(0, 1).squeeze_all(),
            base.flip(&[1]),
            base.flip(&[0]).flip(&[0]),
            Layout::contiguous(&[3, 1])
                .broadcast_to(&[2, 3, 4])
                .unwrap(),
            base.view(&[6, 4]).unwrap(),
            base.transpose(1, 2).view(&[2, 4, 3]).unwrap(),
        ];
        for l in &layouts {
            assert_eq!(
                (l.numel(), l.is_contiguous()),
                facts_from_fields(l),
                "{l:?}"
            );
        }
        // Both answers occur, so the check above can fail either way.
        assert!(layouts.iter().any(|l| l.is_contiguous()));
        assert!(layouts.iter().any(|l| !l.is_contiguous()));
    }

    #[test]
    fn slicing_with_negative_steps_matches_python() {
        let l = Layout::contiguous(&[5]);
        type Case = (Option<isize>, Option<isize>, isize, &'static [usize]);
        let cases: &[Case] = &[
            (None, None, -1, &[4, 3, 2, 1, 0]),
            (None, None, -2, &[4, 2, 0]),
            (Some(3), Some(0), -1, &[3, 2, 1]),
            (Some(-1), Some(-4), -1, &[4, 3, 2]),
            (Some(1), Some(4), 2, &[1, 3]),
            (Some(10), Some(-10), -3, &[4, 1]),
            (Some(3), Some(1), 1, &[]),
            (Some(-100), Some(100), 1, &[0, 1, 2, 3, 4]),
        ];
        for &(s, e, step, want) in cases {
            let got = l.slice(0, s, e, step).unwrap();
            assert_eq!(offsets(&got), want, "{s:?}:{e:?}:{step}");
        }
    }

    #[test]
    fn view_follows_compute_stride() {
        let l = Layout::contiguous(&[2, 3, 4]);
        assert_eq!(l.view(&[6, 4]).unwrap().strides(), &[4, 1]);
        let t = l.transpose(0, 2); // [4,3,2] strides [1,4,12]
        assert!(t.view(&[24]).is_none());
        assert_eq!(t.view(&[4, 3, 2, 1]).unwrap().shape(), &[4, 3, 2, 1]);
        let flipped_all = Layout::contiguous(&[2, 3]).flip(&[0, 1]);
        let v = flipped_all.view(&[6]).unwrap();
        assert_eq!(offsets(&v), vec![5, 4, 3, 2, 1, 0]);
        let flipped_one = Layout::contiguous(&[2, 3]).flip(&[1]);
        assert!(flipped_one.view(&[6]).is_none());
    }

    #[test]
    fn offsets_follow_row_major_order() {
        let l = Layout::contiguous(&[2, 3]).transpose(0, 1);
        assert_eq!(offsets(&l), vec![0, 3, 1, 4, 2, 5]);
        let b = Layout::contiguous(&[3]).broadcast_to(&[2, 3]).unwrap();
        assert_eq!(offsets(&b), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(Layout::contiguous(&[2, 3]).flip(&[0]).span(), (0, 6));
    }

    #[test]
    fn contiguity_ignores_unit_dims() {
        let l = Layout::new(vec![1, 3], vec![100, 1], 0);
        assert!(l.is_contiguous());
        assert!(!Layout::contiguous(&[2, 3]).transpose(0, 1).is_contiguous());
    }
}
