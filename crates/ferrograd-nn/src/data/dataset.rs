//! The [`Dataset`] trait (`torch.utils.data.Dataset`) and [`TensorDataset`],
//! whose batches are one row gather per tensor.

use ferrograd_autograd::{Error, Result, Tensor};
use ferrograd_ops::shape::stack;
use ferrograd_storage::with_dtype;

/// An indexable collection of `(input, target)` samples.
///
/// [`get_batch`](Dataset::get_batch) is what a [`DataLoader`](super::DataLoader)
/// calls; its default stacks the samples of [`get`](Dataset::get) along a new
/// first dimension (`default_collate`). Datasets that hold their samples in
/// big tensors override it with a gather, as [`TensorDataset`] does.
///
/// ```
/// use ferrograd_nn::data::Dataset;
/// use ferrograd_autograd::{Result, Tensor};
/// /// The samples `(i, i²)`.
/// struct Squares(usize);
/// impl Dataset for Squares {
///     fn len(&self) -> usize { self.0 }
///     fn get(&self, index: usize) -> Result<(Tensor, Tensor)> {
///         let i = index as f32;
///         Ok((Tensor::from_vec(vec![i], &[1])?, Tensor::scalar(i * i)))
///     }
/// }
/// let (x, y) = Squares(5).get_batch(&[3, 1])?;
/// assert_eq!(x.shape(), &[2, 1]);
/// assert_eq!(y.to_vec::<f32>()?, vec![9.0, 1.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait Dataset: Send + Sync {
    /// The number of samples.
    fn len(&self) -> usize;

    /// Sample `index` as `(input, target)`; `Err` past the end.
    fn get(&self, index: usize) -> Result<(Tensor, Tensor)>;

    /// Whether there are no samples.
    ///
    /// ```
    /// use ferrograd_nn::data::{Dataset, TensorDataset};
    /// use ferrograd_autograd::{DType, Tensor};
    /// let empty = TensorDataset::new(Tensor::zeros(&[0, 3], DType::F32)?, Tensor::zeros(&[0], DType::I64)?)?;
    /// assert!(empty.is_empty());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples at `indices`, inputs and targets each stacked along a new
    /// first dimension of size `indices.len()`.
    ///
    /// ```
    /// use ferrograd_nn::data::{Dataset, TensorDataset};
    /// use ferrograd_autograd::Tensor;
    /// let ds = TensorDataset::new(
    ///     Tensor::from_vec(vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2])?,
    ///     Tensor::from_vec(vec![7i64, 8, 9], &[3])?,
    /// )?;
    /// let (x, y) = ds.get_batch(&[2, 0])?;
    /// assert_eq!(x.to_vec::<f32>()?, vec![4.0, 5.0, 0.0, 1.0]);
    /// assert_eq!(y.to_vec::<i64>()?, vec![9, 7]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn get_batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        let (inputs, targets): (Vec<Tensor>, Vec<Tensor>) = indices
            .iter()
            .map(|&i| self.get(i))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        if inputs.is_empty() {
            return Err(Error::invalid(
                "get_batch",
                "cannot collate an empty list of indices; ask for at least one sample",
            ));
        }
        Ok((stack(&inputs, 0)?, stack(&targets, 0)?))
    }
}

/// Samples that are the rows of two tensors with the same first dimension
/// (`torch.utils.data.TensorDataset(inputs, targets)`): sample `i` is
/// `(inputs[i], targets[i])`.
///
/// The tensors are detached and made contiguous once, at construction, so a
/// batch is one copy of the chosen rows into a new buffer per tensor. Cloning
/// a `TensorDataset` clones tensor handles, not data.
///
/// ```
/// use ferrograd_nn::data::{Dataset, TensorDataset};
/// use ferrograd_autograd::Tensor;
/// let ds = TensorDataset::new(
///     Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?,
///     Tensor::from_vec(vec![0i64, 1], &[2])?,
/// )?;
/// assert_eq!(ds.len(), 2);
/// let (x, y) = ds.get(1)?;
/// assert_eq!((x.to_vec::<f32>()?, y.item::<i64>()?), (vec![3.0, 4.0], 1));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TensorDataset {
    inputs: Tensor,
    targets: Tensor,
}

impl TensorDataset {
    /// Pairs the rows of `inputs` and `targets`; `Err` if either is 0-d or
    /// their first dimensions differ.
    ///
    /// ```
    /// use ferrograd_nn::data::TensorDataset;
    /// use ferrograd_autograd::{DType, Tensor};
    /// let e = TensorDataset::new(Tensor::zeros(&[3, 2], DType::F32)?, Tensor::zeros(&[4], DType::I64)?)
    ///     .unwrap_err();
    /// assert!(e.to_string().contains("Size mismatch between tensors"), "{e}");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(inputs: Tensor, targets: Tensor) -> Result<Self> {
        if inputs.dim() == 0 || targets.dim() == 0 {
            return Err(Error::invalid(
                "TensorDataset",
                "inputs and targets need a first (sample) dimension; got a 0-d tensor. Use .reshape(&[1]) for a single sample",
            ));
        }
        if inputs.shape()[0] != targets.shape()[0] {
            return Err(Error::ShapeMismatch {
                op: "TensorDataset",
                lhs: inputs.shape().to_vec(),
                rhs: targets.shape().to_vec(),
                msg: "Size mismatch between tensors: inputs and targets must have the same size in dimension 0".into(),
            });
        }
        Ok(TensorDataset {
            inputs: inputs.detach().contiguous()?,
            targets: targets.detach().contiguous()?,
        })
    }

    /// All inputs, one sample per row.
    ///
    /// ```
    /// use ferrograd_nn::data::SyntheticShapes;
    /// let shapes = SyntheticShapes::new(10, 0, 1)?;
    /// assert_eq!(shapes.train().inputs().shape(), &[10, 1, 28, 28]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn inputs(&self) -> &Tensor {
        &self.inputs
    }

    /// All targets, one sample per row.
    ///
    /// ```
    /// use ferrograd_nn::data::SyntheticShapes;
    /// let shapes = SyntheticShapes::new(10, 0, 1)?;
    /// assert_eq!(shapes.train().targets().to_vec::<i64>()?, (0..10).collect::<Vec<i64>>());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn targets(&self) -> &Tensor {
        &self.targets
    }

    /// The two tensors, inputs first.
    ///
    /// ```
    /// use ferrograd_nn::data::SyntheticShapes;
    /// let (x, y) = SyntheticShapes::generate(4, 0)?.into_tensors();
    /// assert_eq!((x.shape(), y.shape()), (&[4, 1, 28, 28][..], &[4][..]));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn into_tensors(self) -> (Tensor, Tensor) {
        (self.inputs, self.targets)
    }

    fn check_index(&self, index: usize) -> Result<()> {
        if index >= self.len() {
            return Err(Error::IndexOutOfBounds {
                index: index as isize,
                dim: 0,
                size: self.len(),
            });
        }
        Ok(())
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    fn get(&self, index: usize) -> Result<(Tensor, Tensor)> {
        self.check_index(index)?;
        Ok((
            gather_rows(&self.inputs, &[index], false)?,
            gather_rows(&self.targets, &[index], false)?,
        ))
    }

    fn get_batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        for &i in indices {
            self.check_index(i)?;
        }
        Ok((
            gather_rows(&self.inputs, indices, true)?,
            gather_rows(&self.targets, indices, true)?,
        ))
    }
}

/// Copies rows `indices` of the contiguous `t` into a new tensor of shape
/// `[indices.len(), rest...]` (or `rest` alone for one row when `!batched`).
/// Indices are checked by the caller.
fn gather_rows(t: &Tensor, indices: &[usize], batched: bool) -> Result<Tensor> {
    let row: usize = t.shape()[1..].iter().product();
    let mut shape = t.shape().to_vec();
    if batched {
        shape[0] = indices.len();
    } else {
        shape.remove(0);
    }
    with_dtype!(t.dtype(), T => {
        let data = t.with_data(|src: &[T], layout| {
            let src = &src[layout.offset()..];
            let mut out = Vec::with_capacity(indices.len() * row);
            for &i in indices {
                out.extend_from_slice(&src[i * row..(i + 1) * row]);
            }
            out
        })?;
        Tensor::from_vec(data, &shape)
    })
}
