//! The reductions the graph itself needs: `sum` (over everything or given
//! dims), `sum_to_size` (undoing a broadcast, for gradients) and `mean`.

use crate::Tensor;
use ferrograd_storage::cpu::reduce_dims;
use ferrograd_storage::{normalize_dim, with_num_dtype, DType, Element, Error, Result};

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

/// Sums `src` of element type `S` accumulating in `A`.
fn sum_kernel<S: Element, A: Element + std::ops::Add<Output = A>>(
    src: &[S],
    layout: &ferrograd_storage::Layout,
    dims: &[usize],
) -> Vec<A> {
    reduce_dims(src, layout, dims, |it| {
        it.fold(A::default(), |acc, x| acc + x.cast::<A>())
    })
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
        let out = self.with_read(|buf, layout| {
            with_num_dtype!(self.dtype(), T => {
                let src = buf.as_slice::<T>().unwrap();
                match T::DTYPE {
                    DType::F32 => Tensor::from_kernel(
                        sum_kernel::<T, f64>(src, layout, &dims).into_iter().map(|v| v as f32).collect(), &shape),
                    DType::F64 => Tensor::from_kernel(sum_kernel::<T, f64>(src, layout, &dims), &shape),
                    _ => Tensor::from_kernel(sum_kernel::<T, i64>(src, layout, &dims), &shape),
                }
            }, bool => Tensor::from_kernel(sum_kernel::<bool, i64>(buf.as_slice::<bool>().unwrap(), layout, &dims), &shape))
        })?;
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
    pub fn mean(&self) -> Result<Tensor> {
        self.mean_dims(&[], false)
    }

    /// The mean over `dims` (empty means all).
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
