//! Matrix products with PyTorch's rules: [`MatmulOps`] (`matmul` with its
//! 1-D, 2-D and broadcast-batched cases, `mm`, `bmm`, `mv`, `dot`) and
//! [`linear`] (`x·Wᵀ + b` with the bias fused into the product).
//!
//! Operands are read through their strides: a transposed, flipped or
//! expanded operand is handed to the kernel as it is, never copied. `f32` and
//! `f64` multiply with the gemm crate's kernels (large products split
//! across rayon's threads, see `gemm`); the integer dtypes with a plain loop. Gradients are
//! written with these same products, so they can be differentiated again.

mod gemm;

pub(crate) use gemm::{gemm, self_threaded, Dims, Gemm, MatView, SharedOut};

use ferrograd_autograd::{check_same_device, reduce_grad, InputMeta, SavedTensor, Tensor};
use ferrograd_storage::cpu::for_each_offset_pair;
use ferrograd_storage::{broadcast_shapes, with_num_dtype, DType, Error, Result};

/// Matrix products as methods on [`Tensor`].
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_ops::prelude::*;
/// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let i = Tensor::from_vec(vec![0.0f32, 1.0, 1.0, 0.0], &[2, 2])?;
/// assert_eq!(a.mm(&i)?.to_vec::<f32>()?, vec![2.0, 1.0, 4.0, 3.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub trait MatmulOps {
    /// `torch.matmul`: the product of two tensors, by their ranks —
    /// 1-D·1-D is a dot product (0-d result), 2-D·2-D a matrix product, a 1-D
    /// operand is treated as a row (left) or column (right) vector and that
    /// dim removed from the result, and higher ranks are batches of matrices
    /// whose batch dims broadcast. Both operands must have the same dtype.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_ops::prelude::*;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// let b = Tensor::from_vec(vec![1.0f32, 0.0, -1.0], &[3])?;
    /// assert_eq!(a.matmul(&b)?.to_vec::<f32>()?, vec![-2.0, -2.0]);
    /// let batch = Tensor::ones(&[4, 1, 2, 3], a.dtype())?;
    /// assert_eq!(batch.matmul(&a.t()?)?.shape(), &[4, 1, 2, 2]);
    /// let e = a.matmul(&a).unwrap_err().to_string();
    /// assert!(e.contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"), "{e}");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn matmul(&self, other: &Tensor) -> Result<Tensor>;

    /// `torch.mm`: the product of two matrices (no broadcasting).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_ops::prelude::*;
    /// let a = Tensor::from_vec(vec![1i64, 2, 3, 4], &[2, 2])?;
    /// assert_eq!(a.mm(&a.t()?)?.to_vec::<i64>()?, vec![5, 11, 11, 25]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn mm(&self, other: &Tensor) -> Result<Tensor>;

    /// `torch.bmm`: products of two batches of matrices of the same batch size.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// use ferrograd_ops::prelude::*;
    /// let a = Tensor::ones(&[5, 2, 3], DType::F64)?;
    /// let b = Tensor::ones(&[5, 3, 4], DType::F64)?;
    /// let c = a.bmm(&b)?;
    /// assert_eq!(c.shape(), &[5, 2, 4]);
    /// assert!(c.to_vec::<f64>()?.iter().all(|&x| x == 3.0));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn bmm(&self, other: &Tensor) -> Result<Tensor>;

    /// `torch.mv`: a matrix times a vector.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_ops::prelude::*;
    /// let m = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let v = Tensor::from_vec(vec![1.0f32, 1.0], &[2])?;
    /// assert_eq!(m.mv(&v)?.to_vec::<f32>()?, vec![3.0, 7.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn mv(&self, vec: &Tensor) -> Result<Tensor>;

    /// `torch.dot`: the inner product of two 1-D tensors, as a 0-d tensor.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_ops::prelude::*;
    /// let v = Tensor::from_vec(vec![1i32, 2, 3], &[3])?;
    /// assert_eq!(v.dot(&v)?.item::<i32>()?, 14);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    fn dot(&self, other: &Tensor) -> Result<Tensor>;
}

impl MatmulOps for Tensor {
    fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        check_operands("matmul", self, other)?;
        let (a, b) = (self, other);
        match (a.dim(), b.dim()) {
            (0, _) | (_, 0) => Err(Error::invalid(
                "matmul",
                format!(
                    "both arguments to matmul need to be at least 1D, but they are {}D and {}D. Use mul (`*`) to scale by a 0-d tensor.",
                    a.dim(),
                    b.dim()
                ),
            )),
            (1, 1) => a.dot(b),
            (2, 1) => a.mv(b),
            (1, 2) => product(&a.unsqueeze(0)?, b, "MmBackward0")?.squeeze_dim(0),
            (2, 2) => product(a, b, "MmBackward0"),
            (ra, rb) if ra >= 3 && rb <= 2 => {
                // Fold the batch into the rows: one big product instead of many small ones.
                let k = a.shape()[ra - 1] as isize;
                let rows = a.reshape(&[-1, k])?;
                let b2 = if rb == 1 { b.unsqueeze(1)? } else { b.clone() };
                let out = product(&rows, &b2, "MmBackward0")?;
                let mut shape: Vec<isize> = a.shape()[..ra - 1].iter().map(|&s| s as isize).collect();
                if rb == 2 {
                    shape.push(b.shape()[1] as isize);
                }
                out.reshape(&shape)
            }
            (1, _) => product(&a.unsqueeze(0)?, b, "BmmBackward0")?.squeeze_dim(-2),
            (_, 1) => product(a, &b.unsqueeze(1)?, "BmmBackward0")?.squeeze_dim(-1),
            _ => product(a, b, "BmmBackward0"),
        }
    }

    fn mm(&self, other: &Tensor) -> Result<Tensor> {
        check_operands("mm", self, other)?;
        for (t, name) in [(self, "self"), (other, "mat2")] {
            if t.dim() != 2 {
                return Err(Error::invalid(
                    "mm",
                    format!("{name} must be a matrix, but got a {}-D tensor of shape {:?}. Use matmul for vectors and batches.", t.dim(), t.shape()),
                ));
            }
        }
        product(self, other, "MmBackward0")
    }

    fn bmm(&self, other: &Tensor) -> Result<Tensor> {
        check_operands("bmm", self, other)?;
        for (t, name) in [(self, "batch1"), (other, "batch2")] {
            if t.dim() != 3 {
                return Err(Error::invalid(
                    "bmm",
                    format!("{name} must be a 3D tensor, but got a {}-D tensor of shape {:?}. Use matmul to broadcast batches.", t.dim(), t.shape()),
                ));
            }
        }
        let (sa, sb) = (self.shape(), other.shape());
        if sa[0] != sb[0] || sa[2] != sb[1] {
            return Err(Error::ShapeMismatch {
                op: "bmm",
                lhs: sa.to_vec(),
                rhs: sb.to_vec(),
                msg: format!(
                    "Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but got: [{}, {}]. The batch sizes must be equal and batch1's columns must equal batch2's rows",
                    sa[0], sa[2], sb[0], sb[1]
                ),
            });
        }
        product(self, other, "BmmBackward0")
    }

    fn mv(&self, vec: &Tensor) -> Result<Tensor> {
        check_operands("mv", self, vec)?;
        if self.dim() != 2 || vec.dim() != 1 {
            return Err(Error::invalid(
                "mv",
                format!(
                    "vector + matrix @ vector expected, got a {}-D matrix and a {}-D vector (shapes {:?} and {:?})",
                    self.dim(),
                    vec.dim(),
                    self.shape(),
                    vec.shape()
                ),
            ));
        }
        if self.shape()[1] != vec.shape()[0] {
            return Err(Error::ShapeMismatch {
                op: "mv",
                lhs: self.shape().to_vec(),
                rhs: vec.shape().to_vec(),
                msg: format!(
                    "size mismatch, got input ({}), mat ({}x{}), vec ({}): the matrix's columns must equal the vector's length",
                    self.shape()[0],
                    self.shape()[0],
                    self.shape()[1],
                    vec.shape()[0]
                ),
            });
        }
        product(self, &vec.unsqueeze(1)?, "MvBackward0")?.squeeze_dim(1)
    }

    fn dot(&self, other: &Tensor) -> Result<Tensor> {
        check_operands("dot", self, other)?;
        if self.dim() != 1 || other.dim() != 1 {
            return Err(Error::invalid(
                "dot",
                format!(
                    "1D tensors expected, but got {}D and {}D tensors. Use matmul for matrices.",
                    self.dim(),
                    other.dim()
                ),
            ));
        }
        if self.numel() != other.numel() {
            return Err(Error::ShapeMismatch {
                op: "dot",
                lhs: self.shape().to_vec(),
                rhs: other.shape().to_vec(),
                msg: format!(
                    "inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements, but got {} and {} elements respectively",
                    self.numel(),
                    other.numel(),
                    self.numel(),
                    other.numel()
                ),
            });
        }
        product(&self.unsqueeze(0)?, &other.unsqueeze(1)?, "DotBackward0")?.reshape(&[])
    }
}

/// `torch.nn.functional.linear`: `input · weightᵀ + bias`, for `input` of
/// shape `(*, in_features)`, `weight` of shape `(out_features, in_features)`
/// and an optional `bias` broadcastable to `(*, out_features)`. The weight is
/// read transposed in place, and a 1-D bias is written into the output
/// before the product accumulates onto it (no separate add).
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_ops::matmul::linear;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
/// let w = Tensor::from_vec(vec![1.0f32, 1.0, 0.0, 2.0, -1.0, 0.0], &[3, 2])?;
/// let b = Tensor::from_vec(vec![0.5f32, 0.0, 1.0], &[3])?;
/// assert_eq!(linear(&x, &w, Some(&b))?.to_vec::<f32>()?, vec![3.5, 4.0, 0.0]);
/// let e = linear(&x, &w.t()?, None).unwrap_err().to_string();
/// assert!(e.contains("mat1 and mat2 shapes cannot be multiplied (1x2 and 3x2)"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn linear(input: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    check_operands("linear", input, weight)?;
    if weight.dim() != 2 || input.dim() == 0 {
        return Err(Error::invalid(
            "linear",
            format!(
                "expected input of shape (*, in_features) and a 2-D weight of shape (out_features, in_features), but got input {:?} and weight {:?}",
                input.shape(),
                weight.shape()
            ),
        ));
    }
    let (out_f, in_f) = (weight.shape()[0], weight.shape()[1]);
    let rows = input.numel() / input.shape()[input.dim() - 1].max(1);
    if input.shape()[input.dim() - 1] != in_f {
        return Err(inner_mismatch(
            "linear",
            input.shape(),
            &[in_f, out_f],
            (rows, input.shape()[input.dim() - 1]),
            (in_f, out_f),
        ));
    }
    // The fused bias kernel is CPU-only; on a GPU, linear is matmul + add.
    let fused = |b: &&Tensor| b.dim() == 1 && b.numel() == out_f && !input.device().is_cuda();
    let Some(bias) = bias.filter(fused) else {
        let out = input.matmul(&weight.t()?)?;
        return match bias {
            Some(b) => out.try_add(b),
            None => Ok(out),
        };
    };
    check_operands("linear", input, bias)?;
    let mut out_shape = input.shape().to_vec();
    *out_shape.last_mut().unwrap() = out_f;
    let x2 = input.reshape(&[rows as isize, in_f as isize])?;
    let out = linear_forward(&x2, weight, bias)?
        .reshape(&out_shape.iter().map(|&s| s as isize).collect::<Vec<_>>())?;
    Ok(record_linear(out, input, weight, bias))
}

/// `x2 · wᵀ + bias` for a 2-D `x2`, bias rows copied into the output first.
fn linear_forward(x2: &Tensor, w: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (rows, in_f, out_f) = (x2.shape()[0], x2.shape()[1], w.shape()[0]);
    let bias = bias.detach().contiguous()?;
    with_num_dtype!(x2.dtype(), T => {
        let data = x2.with_data(|x: &[T], lx| w.with_data(|wd: &[T], lw| bias.with_data(|bd: &[T], lb| {
            let bd = &bd[lb.offset()..lb.offset() + out_f];
            let mut out: Vec<T> = Vec::with_capacity(rows * out_f);
            for _ in 0..rows {
                out.extend_from_slice(bd);
            }
            // outᵀ = W · x2ᵀ: the weight, the larger operand, is the packed left one.
            let d = Dims { m: out_f, k: in_f, n: rows };
            let vout = MatView::row_major(0, out_f).t();
            gemm(d, wd, mat_view(lw), x, mat_view(lx).t(), <T as num_traits::One>::one(), &mut out, vout);
            out
        })))???;
        Tensor::from_vec(data, &[rows, out_f])
    }, bool => Err(bool_error("linear")))
}

/// Records `AddmmBackward0` on the output of the fused linear.
fn record_linear(out: Tensor, input: &Tensor, weight: &Tensor, bias: &Tensor) -> Tensor {
    if !Tensor::needs_grad(&[input, weight, bias]) {
        return out;
    }
    let (mi, mw, mb) = (
        InputMeta::of(input),
        InputMeta::of(weight),
        InputMeta::of(bias),
    );
    let (si, sw) = (SavedTensor::input(input), SavedTensor::input(weight));
    let saved = [&si, &sw];
    out.with_grad_fn("AddmmBackward0", &[input, weight, bias], &saved, {
        let (si, sw) = (si.clone(), sw.clone());
        move |g| {
            let out_f = mw.shape[0] as isize;
            let g2 = g.reshape(&[-1, out_f])?;
            Ok(vec![
                mi.grad(|| g.matmul(&sw.unpack()?))?,
                mw.grad(|| {
                    let x = si.unpack()?;
                    let x2 = x.reshape(&[-1, x.shape()[x.dim() - 1] as isize])?;
                    reduce_grad(&g2.t()?.mm(&x2)?, &mw)
                })?,
                mb.grad(|| reduce_grad(&g2.sum_dims(&[0], false)?, &mb))?,
            ])
        }
    })
}

/// The matrix view of the last two dims of a 2-D layout.
fn mat_view(l: &ferrograd_storage::Layout) -> MatView {
    MatView {
        offset: l.offset(),
        rs: l.strides()[0],
        cs: l.strides()[1],
    }
}

/// Same device and dtype, and not bool.
fn check_operands(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    check_same_device(a, b)?;
    if a.dtype() != b.dtype() {
        return Err(Error::DTypeMismatch {
            op,
            expected: a.dtype(),
            got: b.dtype(),
            hint: format!(
                "expected m1 and m2 to have the same dtype, but got: {} != {}. PyTorch does not promote here: convert one operand with .to_dtype(DType::{:?}) first.",
                a.dtype(),
                b.dtype(),
                a.dtype()
            ),
        });
    }
    if a.dtype() == DType::Bool {
        return Err(bool_error(op));
    }
    Ok(())
}

fn bool_error(op: &'static str) -> Error {
    Error::UnsupportedDType {
        op,
        dtype: DType::Bool,
        hint: "Convert the operands first with .long() or .float().".into(),
    }
}

/// PyTorch's message for operands whose inner dimensions differ.
fn inner_mismatch(
    op: &'static str,
    lhs: &[usize],
    rhs: &[usize],
    (m, k1): (usize, usize),
    (k2, n): (usize, usize),
) -> Error {
    Error::ShapeMismatch {
        op,
        lhs: lhs.to_vec(),
        rhs: rhs.to_vec(),
        msg: format!(
            "mat1 and mat2 shapes cannot be multiplied ({m}x{k1} and {k2}x{n}): the columns of the first ({k1}) must equal the rows of the second ({k2}); transpose an operand if it is the wrong way round"
        ),
    }
}

/// The product of two tensors of rank ≥ 2 whose batch dims broadcast,
/// recorded as `name`; its backward is made of the same products.
fn product(a: &Tensor, b: &Tensor, name: &'static str) -> Result<Tensor> {
    let out = product_forward(a, b)?;
    if !Tensor::needs_grad(&[a, b]) {
        return Ok(out);
    }
    let (ma, mb) = (InputMeta::of(a), InputMeta::of(b));
    let sa = mb.wanted.then(|| SavedTensor::input(a));
    let sb = ma.wanted.then(|| SavedTensor::input(b));
    let saved: Vec<&SavedTensor> = sa.iter().chain(sb.iter()).collect();
    let (sa2, sb2) = (sa.clone(), sb.clone());
    Ok(out.with_grad_fn(name, &[a, b], &saved, move |g| {
        let (sa, sb) = (&sa2, &sb2);
        Ok(vec![
            ma.grad(|| {
                let b = sb.as_ref().expect("saved when a wants a grad").unpack()?;
                reduce_grad(&product(g, &b.transpose(-1, -2)?, name)?, &ma)
            })?,
            mb.grad(|| {
                let a = sa.as_ref().expect("saved when b wants a grad").unpack()?;
                reduce_grad(&product(&a.transpose(-1, -2)?, g, name)?, &mb)
            })?,
        ])
    }))
}

/// The values of [`product`]: one kernel call per broadcast batch entry,
/// each reading its operands through their strides.
fn product_forward(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (ra, rb) = (a.dim(), b.dim());
    let (m, k, k2, n) = (
        a.shape()[ra - 2],
        a.shape()[ra - 1],
        b.shape()[rb - 2],
        b.shape()[rb - 1],
    );
    if k != k2 {
        return Err(inner_mismatch(
            "matmul",
            a.shape(),
            b.shape(),
            (m, k),
            (k2, n),
        ));
    }
    let batch = broadcast_shapes("matmul", &a.shape()[..ra - 2], &b.shape()[..rb - 2])?;
    let full = |rows, cols| [batch.as_slice(), &[rows, cols]].concat();
    let la = a.layout().broadcast_to(&full(m, k))?;
    let lb = b.layout().broadcast_to(&full(k, n))?;
    #[cfg(feature = "cuda")]
    if a.device().is_cuda() {
        return crate::cuda::product_forward((a, &la), (b, &lb), &batch, (m, k, n));
    }
    let nb = batch.len();
    let mut pairs = Vec::with_capacity(batch.iter().product());
    for_each_offset_pair(
        &batch,
        (&la.strides()[..nb], la.offset()),
        (&lb.strides()[..nb], lb.offset()),
        |oa, ob| pairs.push((oa, ob)),
    );
    let view = |l: &ferrograd_storage::Layout| MatView {
        offset: 0,
        rs: l.strides()[nb],
        cs: l.strides()[nb + 1],
    };
    let (va, vb) = (view(&la), view(&lb));
    let d = Dims { m, k, n };
    with_num_dtype!(a.dtype(), T => {
        let data = a.with_data(|x: &[T], _| b.with_data(|y: &[T], _| gemm::batched(d, x, va, y, vb, &pairs)))??;
        Tensor::from_vec(data, &full(m, n))
    }, bool => Err(bool_error("matmul")))
}
