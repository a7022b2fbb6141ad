//! View ops: results share the input's storage and cost O(1) — only the
//! [`Layout`](ferrograd_storage::Layout) changes. Each is differentiable;
//! slicing-style views send gradients back by scattering into zeros through
//! the same view ([`Tensor::view_scatter`]).

use crate::grad_mode::no_grad;
use crate::Tensor;
use ferrograd_storage::{infer_shape, normalize_dim, Error, Result};
use smallvec::SmallVec;
use std::sync::Arc;

/// Dim lists of view ops, inline for the ranks tensors usually have.
type Dims = SmallVec<[usize; 6]>;

/// A view applied again to another tensor of the input's shape (used by backward).
type ViewFn = Arc<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>;

fn to_isize(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&s| s as isize).collect()
}

impl Tensor {
    /// Records `out` (a view of `self`) with a backward that reshapes the
    /// gradient back to this tensor's shape.
    fn reshape_like_backward(&self, out: Tensor, name: &'static str) -> Tensor {
        if !Tensor::needs_grad(&[self]) {
            return out;
        }
        let shape = to_isize(self.shape());
        out.with_grad_fn(name, &[self], &[], move |g| {
            Ok(vec![Some(g.reshape(&shape)?)])
        })
    }

    /// Records `out = view(self)` with a scatter backward.
    fn record_scatter_view(
        &self,
        out: Tensor,
        name: &'static str,
        view: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Tensor {
        if !Tensor::needs_grad(&[self]) {
            return out;
        }
        let view: ViewFn = Arc::new(view);
        let (shape, dtype) = (self.shape().to_vec(), self.dtype());
        out.with_grad_fn(name, &[self], &[], move |g| {
            Ok(vec![Some(Tensor::view_scatter(
                g,
                &shape,
                dtype,
                view.clone(),
            )?)])
        })
    }

    /// Zeros of `shape` with `values` written through `view` of them. Its
    /// gradient is `view(grad)`, so slicing views stay twice differentiable.
    fn view_scatter(
        values: &Tensor,
        shape: &[usize],
        dtype: ferrograd_storage::DType,
        view: ViewFn,
    ) -> Result<Tensor> {
        let out = {
            let _g = no_grad();
            let out = Tensor::zeros(shape, dtype)?;
            view(&out)?.copy_(values)?;
            out.detach()
        };
        Ok(
            out.with_grad_fn("ViewScatterBackward", &[values], &[], move |g| {
                Ok(vec![Some(view(g)?)])
            }),
        )
    }

    /// A tensor of `shape` with the same elements (`-1` infers one size).
    /// A view when the strides allow it, else a copy — like PyTorch.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 6)?;
    /// let r = t.reshape(&[2, -1])?;
    /// assert_eq!(r.shape(), &[2, 3]);
    /// assert!(r.shares_storage(&t));
    /// let copy = r.t()?.reshape(&[6])?; // transposed: must copy
    /// assert!(!copy.shares_storage(&t));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let target = infer_shape(shape, self.numel())?;
        if target == self.shape() {
            return Ok(self.clone());
        }
        match self.layout().view(&target) {
            Some(layout) => {
                let out = self.view_with_layout(layout);
                Ok(self.reshape_like_backward(out, "ViewBackward0"))
            }
            None => self.contiguous()?.reshape(shape),
        }
    }

    /// Like [`reshape`](Self::reshape) but never copies: errors when the
    /// strides cannot express `shape`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 6)?.reshape(&[2, 3])?;
    /// let e = t.t()?.view(&[6]).unwrap_err();
    /// assert!(e.to_string().contains("Use .reshape(...) instead."));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn view(&self, shape: &[isize]) -> Result<Tensor> {
        let target = infer_shape(shape, self.numel())?;
        let layout = self
            .layout()
            .view(&target)
            .ok_or_else(|| Error::ViewIncompatible {
                shape: self.shape().to_vec(),
                strides: self.strides().to_vec(),
                target: target.clone(),
            })?;
        let out = self.view_with_layout(layout);
        Ok(self.reshape_like_backward(out, "ViewBackward0"))
    }

    /// Reorders dims: output dim `i` is input dim `dims[i]`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::zeros(&[2, 3, 4], ferrograd_autograd::DType::F32)?;
    /// assert_eq!(t.permute(&[2, 0, 1])?.shape(), &[4, 2, 3]);
    /// assert_eq!(t.permute(&[-1, 0, 1])?.strides(), &[1, 12, 4]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn permute(&self, dims: &[isize]) -> Result<Tensor> {
        let n = self.dim();
        let dims: Dims = dims
            .iter()
            .map(|&d| normalize_dim(d, n))
            .collect::<Result<_>>()?;
        let out = self.view_with_layout(self.layout().permute(&dims)?);
        if !Tensor::needs_grad(&[self]) {
            return Ok(out);
        }
        let mut inverse = vec![0isize; n];
        for (i, &d) in dims.iter().enumerate() {
            inverse[d] = i as isize;
        }
        Ok(
            out.with_grad_fn("PermuteBackward0", &[self], &[], move |g| {
                Ok(vec![Some(g.permute(&inverse)?)])
            }),
        )
    }

    /// Swaps two dims.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 6)?.reshape(&[2, 3])?;
    /// let tt = t.transpose(0, -1)?;
    /// assert_eq!(tt.shape(), &[3, 2]);
    /// assert_eq!(tt.to_vec::<i64>()?, vec![0, 3, 1, 4, 2, 5]);
    /// assert!(tt.shares_storage(&t));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Result<Tensor> {
        let (a, b) = (
            normalize_dim(dim0, self.dim())?,
            normalize_dim(dim1, self.dim())?,
        );
        if self.dim() == 0 {
            return Ok(self.clone());
        }
        let out = self.view_with_layout(self.layout().transpose(a, b));
        Ok(
            out.with_grad_fn("TransposeBackward0", &[self], &[], move |g| {
                Ok(vec![Some(g.transpose(a as isize, b as isize)?)])
            }),
        )
    }

    /// Transposes a matrix; 0-d and 1-d tensors come back as they are.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let m = Tensor::arange(0, 6)?.reshape(&[3, 2])?;
    /// assert_eq!(m.t()?.to_vec::<i64>()?, vec![0, 2, 4, 1, 3, 5]);
    /// assert_eq!(Tensor::arange(0, 3)?.t()?.shape(), &[3]); // 1-d: unchanged
    /// assert!(Tensor::zeros(&[1, 2, 3], DType::F32)?.t().is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn t(&self) -> Result<Tensor> {
        if self.dim() > 2 {
            return Err(Error::invalid(
                "t",
                format!("t() expects a tensor with <= 2 dimensions, but self is {}D. Use transpose(dim0, dim1) or permute.", self.dim()),
            ));
        }
        if self.dim() < 2 {
            return Ok(self.clone());
        }
        let out = self.view_with_layout(self.layout().transpose(0, 1));
        Ok(out.with_grad_fn("TBackward0", &[self], &[], |g| Ok(vec![Some(g.t()?)])))
    }

    /// Removes every size-1 dim.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::zeros(&[1, 3, 1, 2], DType::F32)?;
    /// assert_eq!(t.squeeze().shape(), &[3, 2]);
    /// assert!(t.squeeze().shares_storage(&t));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn squeeze(&self) -> Tensor {
        let out = self.view_with_layout(self.layout().squeeze_all());
        self.reshape_like_backward(out, "SqueezeBackward0")
    }

    /// Removes `dim` if its size is 1 (otherwise returns the tensor unchanged).
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::zeros(&[1, 3, 1], DType::F32)?;
    /// assert_eq!(t.squeeze_dim(-1)?.shape(), &[1, 3]);
    /// assert_eq!(t.squeeze_dim(1)?.shape(), &[1, 3, 1]); // size 3: unchanged
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn squeeze_dim(&self, dim: isize) -> Result<Tensor> {
        let d = normalize_dim(dim, self.dim())?;
        if self.dim() == 0 {
            return Ok(self.clone());
        }
        let out = self.view_with_layout(self.layout().squeeze_dim(d));
        Ok(self.reshape_like_backward(out, "SqueezeBackward1"))
    }

    /// Inserts a size-1 dim at `dim` (`-1` appends).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 3)?;
    /// assert_eq!(t.unsqueeze(0)?.shape(), &[1, 3]);
    /// assert_eq!(t.unsqueeze(-1)?.shape(), &[3, 1]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn unsqueeze(&self, dim: isize) -> Result<Tensor> {
        let d = normalize_dim(dim, self.dim() + 1)?;
        let out = self.view_with_layout(self.layout().unsqueeze(d));
        Ok(
            out.with_grad_fn("UnsqueezeBackward0", &[self], &[], move |g| {
                Ok(vec![Some(g.squeeze_dim(d as isize)?)])
            }),
        )
    }

    /// Repeats size-1 dims (and adds leading dims) without copying: the
    /// repeated dims get stride 0. `-1` keeps a size.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 3)?.expand(&[2, -1])?;
    /// assert_eq!(t.strides(), &[0, 1]);
    /// assert_eq!(t.to_vec::<i64>()?, vec![0, 1, 2, 0, 1, 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn expand(&self, shape: &[isize]) -> Result<Tensor> {
        let lead = shape.len().checked_sub(self.dim()).ok_or_else(|| Error::ShapeMismatch {
            op: "expand",
            lhs: self.shape().to_vec(),
            rhs: vec![],
            msg: format!(
                "the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({})",
                shape.len(),
                self.dim()
            ),
        })?;
        let target: Vec<usize> = shape
            .iter()
            .enumerate()
            .map(|(i, &s)| match (s, i >= lead) {
                (-1, true) => Ok(self.shape()[i - lead]),
                (s, _) if s >= 0 => Ok(s as usize),
                _ => Err(Error::invalid(
                    "expand",
                    format!("the expanded size {s} is not allowed in a leading, non-existing dimension {i}"),
                )),
            })
            .collect::<Result<_>>()?;
        self.broadcast_to(&target)
    }

    /// Broadcasts to `shape` under NumPy's rules (a stride-0 view).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1i64, 2], &[2, 1])?;
    /// let b = t.broadcast_to(&[2, 3])?;
    /// assert_eq!(b.strides(), &[1, 0]);
    /// assert_eq!(b.to_vec::<i64>()?, vec![1, 1, 1, 2, 2, 2]);
    /// assert!(t.broadcast_to(&[3, 3]).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let out = self.view_with_layout(self.layout().broadcast_to(shape)?);
        if !Tensor::needs_grad(&[self]) {
            return Ok(out);
        }
        let input_shape = self.shape().to_vec();
        Ok(out.with_grad_fn("ExpandBackward0", &[self], &[], move |g| {
            Ok(vec![Some(g.sum_to_size(&input_shape)?)])
        }))
    }

    /// Elements `start..start + length` of `dim` (negative `start` counts from the end).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 10)?;
    /// assert_eq!(t.narrow(0, -3, 2)?.to_vec::<i64>()?, vec![7, 8]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn narrow(&self, dim: isize, start: isize, length: usize) -> Result<Tensor> {
        let d = normalize_dim(dim, self.dim())?;
        let size = self.shape()[d];
        let start = if start < 0 {
            start + size as isize
        } else {
            start
        };
        if start < 0 || start as usize > size {
            return Err(Error::IndexOutOfBounds {
                index: start,
                dim: d,
                size,
            });
        }
        let start = start as usize;
        let out = self.view_with_layout(self.layout().narrow(d, start, length)?);
        Ok(
            self.record_scatter_view(out, "NarrowBackward0", move |t: &Tensor| {
                t.narrow(d as isize, start as isize, length)
            }),
        )
    }

    /// Python slicing `start:stop:step` of `dim`. Any non-zero step works;
    /// a negative step is a view with a negative stride (PyTorch refuses these,
    /// NumPy allows them).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 6)?;
    /// let r = t.slice(0, None, None, -2)?;
    /// assert_eq!(r.to_vec::<i64>()?, vec![5, 3, 1]);
    /// assert_eq!(r.strides(), &[-2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn slice(
        &self,
        dim: isize,
        start: Option<isize>,
        stop: Option<isize>,
        step: isize,
    ) -> Result<Tensor> {
        let d = normalize_dim(dim, self.dim())?;
        if self.dim() == 0 {
            return Err(Error::invalid("slice", "cannot slice a 0-d tensor"));
        }
        let out = self.view_with_layout(self.layout().slice(d, start, stop, step)?);
        Ok(
            self.record_scatter_view(out, "SliceBackward0", move |t: &Tensor| {
                t.slice(d as isize, start, stop, step)
            }),
        )
    }

    /// Removes `dim` by taking element `index` of it (negative counts from the end).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 6)?.reshape(&[2, 3])?;
    /// assert_eq!(t.select(1, -1)?.to_vec::<i64>()?, vec![2, 5]);
    /// assert_eq!(t.select(0, 2).unwrap_err().to_string(),
    ///            "index 2 is out of bounds for dimension 0 with size 2");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn select(&self, dim: isize, index: isize) -> Result<Tensor> {
        if self.dim() == 0 {
            return Err(Error::invalid(
                "select",
                "select() cannot be applied to a 0-dim tensor.",
            ));
        }
        let d = normalize_dim(dim, self.dim())?;
        let out = self.view_with_layout(self.layout().select(d, index)?);
        Ok(
            self.record_scatter_view(out, "SelectBackward0", move |t: &Tensor| {
                t.select(d as isize, index)
            }),
        )
    }

    /// Reverses the order of elements along `dims` — a view with negative
    /// strides, no copy (PyTorch's `flip` copies).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 4)?.reshape(&[2, 2])?;
    /// let f = t.flip(&[0, 1])?;
    /// assert!(f.shares_storage(&t));
    /// assert_eq!(f.to_vec::<i64>()?, vec![3, 2, 1, 0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn flip(&self, dims: &[isize]) -> Result<Tensor> {
        let n = self.dim();
        let mut ds = Dims::new();
        for &d in dims {
            let d = normalize_dim(d, n)?;
            if ds.contains(&d) {
                return Err(Error::invalid(
                    "flip",
                    format!("dim {d} appears multiple times in the list of dims"),
                ));
            }
            ds.push(d);
        }
        if n == 0 {
            return Ok(self.clone());
        }
        let out = self.view_with_layout(self.layout().flip(&ds));
        if !Tensor::needs_grad(&[self]) {
            return Ok(out);
        }
        let back: Vec<isize> = ds.iter().map(|&d| d as isize).collect();
        Ok(out.with_grad_fn("FlipBackward0", &[self], &[], move |g| {
            Ok(vec![Some(g.flip(&back)?)])
        }))
    }

    /// Merges dims `start_dim..=end_dim` into one.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::zeros(&[2, 3, 4], ferrograd_autograd::DType::F32)?;
    /// assert_eq!(t.flatten(1, -1)?.shape(), &[2, 12]);
    /// assert_eq!(t.flatten(0, -1)?.shape(), &[24]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Result<Tensor> {
        if self.dim() == 0 {
            return self.reshape(&[1]);
        }
        let (s, e) = (
            normalize_dim(start_dim, self.dim())?,
            normalize_dim(end_dim, self.dim())?,
        );
        if s > e {
            return Err(Error::invalid(
                "flatten",
                "flatten() has invalid args: start_dim cannot come after end_dim",
            ));
        }
        let mut shape: Vec<isize> = to_isize(&self.shape()[..s]);
        shape.push(self.shape()[s..=e].iter().product::<usize>() as isize);
        shape.extend(to_isize(&self.shape()[e + 1..]));
        self.reshape(&shape)
    }

    /// Splits `dim` into `sizes` (one may be `-1`).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::zeros(&[2, 12], ferrograd_autograd::DType::F32)?;
    /// assert_eq!(t.unflatten(1, &[3, -1])?.shape(), &[2, 3, 4]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn unflatten(&self, dim: isize, sizes: &[isize]) -> Result<Tensor> {
        let d = normalize_dim(dim, self.dim())?;
        let inner = infer_shape(sizes, self.shape()[d]).map_err(|_| {
            Error::invalid(
                "unflatten",
                format!("provided sizes {sizes:?} don't multiply up to the size of dim {d} ({}) in the input tensor", self.shape()[d]),
            )
        })?;
        let mut shape: Vec<isize> = to_isize(&self.shape()[..d]);
        shape.extend(to_isize(&inner));
        shape.extend(to_isize(&self.shape()[d + 1..]));
        self.reshape(&shape)
    }
}
