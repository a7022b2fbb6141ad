//! The basic differentiable arithmetic the graph is built and tested with:
//! `+ - * /` and negation with NumPy broadcasting and PyTorch's type
//! promotion, the `&a + &b` operators (which panic with the error's message;
//! the `try_` methods return it), and the in-place forms `add_`, `sub_`,
//! `mul_`, `div_`, `zero_`, `fill_`, `copy_` that follow the version-counter
//! and leaf rules. Backward rules are written with these same ops, so they
//! can themselves be differentiated.

use crate::graph::SavedTensor;
use crate::scalar::{Operand, Scalar};
use crate::Tensor;
use ferrograd_storage::cpu::{binary_map, binary_map_inplace, unary_map, unary_map_inplace};
use ferrograd_storage::{broadcast_shapes, with_num_dtype, DType, Error, NumElement, Result};

/// One elementwise binary operation, written once for every numeric type.
trait BinaryKernel {
    const NAME: &'static str;
    /// The grad_fn name of the op's node.
    const NODE: &'static str;
    fn num<T: NumElement>(a: T, b: T) -> T;
    /// The result on booleans, `None` if PyTorch refuses the op on them.
    fn boolean(a: bool, b: bool) -> Option<bool>;
    /// The dtype the op computes in, given the promoted input dtype.
    fn compute_dtype(promoted: DType) -> DType {
        promoted
    }
}

struct AddK;
struct SubK;
struct MulK;
struct DivK;

impl BinaryKernel for AddK {
    const NODE: &'static str = "AddBackward0";
    const NAME: &'static str = "add";
    fn num<T: NumElement>(a: T, b: T) -> T {
        a.add_wrap(b)
    }
    fn boolean(a: bool, b: bool) -> Option<bool> {
        Some(a | b)
    }
}

impl BinaryKernel for SubK {
    const NODE: &'static str = "SubBackward0";
    const NAME: &'static str = "sub";
    fn num<T: NumElement>(a: T, b: T) -> T {
        a.sub_wrap(b)
    }
    fn boolean(_: bool, _: bool) -> Option<bool> {
        None
    }
}

impl BinaryKernel for MulK {
    const NODE: &'static str = "MulBackward0";
    const NAME: &'static str = "mul";
    fn num<T: NumElement>(a: T, b: T) -> T {
        a.mul_wrap(b)
    }
    fn boolean(a: bool, b: bool) -> Option<bool> {
        Some(a & b)
    }
}

impl BinaryKernel for DivK {
    const NODE: &'static str = "DivBackward0";
    const NAME: &'static str = "div";
    fn num<T: NumElement>(a: T, b: T) -> T {
        a / b
    }
    fn boolean(_: bool, _: bool) -> Option<bool> {
        None
    }
    /// True division: integers divide as `f32`.
    fn compute_dtype(promoted: DType) -> DType {
        if promoted.is_floating_point() {
            promoted
        } else {
            DType::F32
        }
    }
}

fn bool_refused(op: &'static str) -> Error {
    Error::UnsupportedDType {
        op,
        dtype: DType::Bool,
        hint: "Use logical ops on bool tensors, or convert first with .long() or .float().".into(),
    }
}

/// Errors unless both tensors are on one device.
///
/// ```
/// use ferrograd_autograd::{check_same_device, DType, Tensor};
/// let a = Tensor::zeros(&[2], DType::F32)?;
/// let b = Tensor::from_vec(vec![1i64], &[1])?;
/// assert!(check_same_device(&a, &b).is_ok()); // both on the CPU
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn check_same_device(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.device() != b.device() {
        return Err(Error::DeviceMismatch {
            a: a.device(),
            b: b.device(),
        });
    }
    Ok(())
}

/// Forward only: `K(a, b)` broadcast, computed in `dtype`.
fn binary_forward<K: BinaryKernel>(a: &Tensor, b: &Tensor, dtype: DType) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if a.device().is_cuda() || b.device().is_cuda() {
        return crate::cuda::binary_forward(K::NAME, a, b, dtype);
    }
    check_same_device(a, b)?;
    let shape = broadcast_shapes(K::NAME, a.shape(), b.shape())?;
    let a = a.cast_forward(dtype)?;
    let b = b.cast_forward(dtype)?;
    let la = a.layout().broadcast_to(&shape)?;
    let lb = b.layout().broadcast_to(&shape)?;
    let ga = a.storage().read()?;
    let gb = b.storage().read()?;
    with_num_dtype!(dtype, T => {
        let (x, y) = (ga.as_slice::<T>().unwrap(), gb.as_slice::<T>().unwrap());
        Ok(Tensor::from_kernel(binary_map(x, &la, y, &lb, K::num::<T>), &shape))
    }, bool => {
        K::boolean(false, false).ok_or_else(|| bool_refused(K::NAME))?;
        let (x, y) = (ga.as_slice::<bool>().unwrap(), gb.as_slice::<bool>().unwrap());
        Ok(Tensor::from_kernel(binary_map(x, &la, y, &lb, |p, q| K::boolean(p, q).unwrap()), &shape))
    })
}

fn binary<K: BinaryKernel>(a: &Tensor, b: &Tensor) -> Result<(Tensor, DType)> {
    let dtype = K::compute_dtype(DType::promote(a.dtype(), b.dtype()));
    Ok((binary_forward::<K>(a, b, dtype)?, dtype))
}

/// True when `a op s` computes in `a`'s own dtype, so the scalar can be
/// applied inside the kernel without materialising a tensor for it.
fn scalar_keeps_dtype<K: BinaryKernel>(a: &Tensor, s: Scalar) -> bool {
    let d = a.dtype();
    d != DType::Bool && DType::promote_with_scalar(d, s.category()) == d && K::compute_dtype(d) == d
}

/// Forward only: `K(a, s)` for a scalar that keeps `a`'s dtype.
///
/// Callers take `s` out of their operand with a by-value `match`: an
/// `if let` on a borrowed operand copied it through memory right after it
/// was written as a tag byte and a value, a store-forwarding stall that cost
/// a visible share of a small op under `no_grad`.
#[inline]
fn scalar_forward<K: BinaryKernel>(a: &Tensor, s: Scalar) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if a.device().is_cuda() {
        return crate::cuda::scalar_forward(K::NAME, a, s);
    }
    with_num_dtype!(a.dtype(), T => {
        let y: T = s.to_element();
        a.map_elements(move |v: T| K::num(v, y))
    }, bool => unreachable!("scalar_keeps_dtype excludes bool"))
}

/// The gradient of a broadcast input: summed over the broadcast dims and
/// cast back to the input's dtype.
///
/// ```
/// use ferrograd_autograd::{reduce_grad, DType, InputMeta, Tensor};
/// let bias = Tensor::zeros(&[3], DType::F64)?;
/// let g = Tensor::ones(&[4, 3], DType::F32)?; // gradient of `x + bias`, x: [4, 3]
/// let gb = reduce_grad(&g, &InputMeta::of(&bias))?;
/// assert_eq!(gb.dtype(), DType::F64);
/// assert_eq!(gb.to_vec::<f64>()?, vec![4.0, 4.0, 4.0]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn reduce_grad(g: &Tensor, like: &InputMeta) -> Result<Tensor> {
    g.sum_to_size(&like.shape)?.to_dtype(like.dtype)
}

/// What a backward rule remembers of an input it does not otherwise save:
/// its shape, its dtype, and whether it wants a gradient.
///
/// ```
/// use ferrograd_autograd::{DType, InputMeta, Tensor};
/// let x = Tensor::zeros(&[2, 3], DType::F64)?.requires_grad_(true)?;
/// let m = InputMeta::of(&x);
/// assert_eq!((&m.shape[..], m.dtype, m.wanted), (&[2, 3][..], DType::F64, true));
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct InputMeta {
    /// The input's shape.
    pub shape: ferrograd_storage::Shape,
    /// The input's dtype.
    pub dtype: DType,
    /// Whether the input requires grad.
    pub wanted: bool,
}

impl InputMeta {
    /// Records `t`'s shape, dtype and requires_grad.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, InputMeta, Tensor};
    /// let m = InputMeta::of(&Tensor::from_vec(vec![1i64, 2], &[2])?);
    /// assert_eq!(m.dtype, DType::I64);
    /// assert!(!m.wanted); // integers never require grad
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn of(t: &Tensor) -> Self {
        InputMeta {
            shape: t.shape().into(),
            dtype: t.dtype(),
            wanted: t.requires_grad(),
        }
    }

    /// `Some(f())` when this input wants a gradient.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, InputMeta, Tensor};
    /// let x = Tensor::zeros(&[1], DType::F32)?;
    /// let one = || Tensor::ones(&[1], DType::F32);
    /// assert!(InputMeta::of(&x).grad(one)?.is_none());
    /// assert!(InputMeta::of(&x.requires_grad_(true)?).grad(one)?.is_some());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn grad(&self, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
        if self.wanted {
            f().map(Some)
        } else {
            Ok(None)
        }
    }
}

impl Tensor {
    /// `self + other` with broadcasting and type promotion.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![1i64, 2, 3], &[3])?;
    /// let b = Tensor::from_vec(vec![0.5f32], &[1])?;
    /// let c = a.try_add(&b)?;
    /// assert_eq!(c.dtype(), DType::F32);
    /// assert_eq!(c.to_vec::<f32>()?, vec![1.5, 2.5, 3.5]);
    /// assert_eq!(a.try_add(1)?.to_vec::<i64>()?, vec![2, 3, 4]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn try_add<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = match other.into() {
            Operand::Scalar(s) if scalar_keeps_dtype::<AddK>(self, s) => {
                let out = scalar_forward::<AddK>(self, s)?;
                return Ok(
                    out.with_grad_fn(AddK::NODE, &[self], &[], move |g| Ok(vec![Some(g.clone())]))
                );
            }
            other => other.to_tensor_against(self.dtype()),
        };
        let (out, _) = binary::<AddK>(self, &b)?;
        let (ma, mb) = (InputMeta::of(self), InputMeta::of(&b));
        Ok(out.with_grad_fn(AddK::NODE, &[self, &b], &[], move |g| {
            Ok(vec![
                ma.grad(|| reduce_grad(g, &ma))?,
                mb.grad(|| reduce_grad(g, &mb))?,
            ])
        }))
    }

    /// `self - other` with broadcasting and type promotion.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let a = Tensor::from_vec(vec![5i64, 7], &[2])?;
    /// assert_eq!(a.try_sub(2)?.to_vec::<i64>()?, vec![3, 5]);
    /// let c = a.try_sub(&Tensor::from_vec(vec![0.5f64], &[1])?)?;
    /// assert_eq!((c.dtype(), c.to_vec::<f64>()?), (DType::F64, vec![4.5, 6.5]));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn try_sub<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = match other.into() {
            Operand::Scalar(s) if scalar_keeps_dtype::<SubK>(self, s) => {
                let out = scalar_forward::<SubK>(self, s)?;
                return Ok(
                    out.with_grad_fn(SubK::NODE, &[self], &[], move |g| Ok(vec![Some(g.clone())]))
                );
            }
            other => other.to_tensor_against(self.dtype()),
        };
        let (out, _) = binary::<SubK>(self, &b)?;
        let (ma, mb) = (InputMeta::of(self), InputMeta::of(&b));
        Ok(out.with_grad_fn(SubK::NODE, &[self, &b], &[], move |g| {
            Ok(vec![
                ma.grad(|| reduce_grad(g, &ma))?,
                mb.grad(|| reduce_grad(&g.try_neg()?, &mb))?,
            ])
        }))
    }

    /// `self * other` with broadcasting and type promotion.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1])?;
    /// let b = Tensor::from_vec(vec![10.0f32, 100.0], &[2])?;
    /// let c = a.try_mul(&b)?; // broadcast to [3, 2]
    /// assert_eq!(c.shape(), &[3, 2]);
    /// assert_eq!(c.to_vec::<f32>()?, vec![10.0, 100.0, 20.0, 200.0, 30.0, 300.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn try_mul<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = match other.into() {
            Operand::Scalar(s) if scalar_keeps_dtype::<MulK>(self, s) => {
                let out = scalar_forward::<MulK>(self, s)?;
                return Ok(out.with_grad_fn(MulK::NODE, &[self], &[], move |g| {
                    Ok(vec![Some(g.try_mul(s)?)])
                }));
            }
            other => other.to_tensor_against(self.dtype()),
        };
        let (out, _) = binary::<MulK>(self, &b)?;
        if !Tensor::needs_grad(&[self, &b]) {
            return Ok(out);
        }
        let (sa, sb) = (SavedTensor::input(self), SavedTensor::input(&b));
        let (ma, mb) = (InputMeta::of(self), InputMeta::of(&b));
        Ok(out.with_grad_fn(MulK::NODE, &[self, &b], &[&sa, &sb], {
            let (sa, sb) = (sa.clone(), sb.clone());
            move |g| {
                let (a, b) = (sa.unpack()?, sb.unpack()?);
                Ok(vec![
                    ma.grad(|| reduce_grad(&g.try_mul(&b)?, &ma))?,
                    mb.grad(|| reduce_grad(&g.try_mul(&a)?, &mb))?,
                ])
            }
        }))
    }

    /// `self / other`: true division (integers divide as `f32`), broadcasting.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![1i64, 2, 3], &[3])?;
    /// let q = a.try_div(2)?;
    /// assert_eq!(q.dtype(), DType::F32);
    /// assert_eq!(q.to_vec::<f32>()?, vec![0.5, 1.0, 1.5]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn try_div<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = match other.into() {
            Operand::Scalar(s) if scalar_keeps_dtype::<DivK>(self, s) => {
                let out = scalar_forward::<DivK>(self, s)?;
                return Ok(out.with_grad_fn(DivK::NODE, &[self], &[], move |g| {
                    Ok(vec![Some(g.try_div(s)?)])
                }));
            }
            other => other.to_tensor_against(self.dtype()),
        };
        let (out, _) = binary::<DivK>(self, &b)?;
        if !Tensor::needs_grad(&[self, &b]) {
            return Ok(out);
        }
        let (sa, sb) = (SavedTensor::input(self), SavedTensor::input(&b));
        let (ma, mb) = (InputMeta::of(self), InputMeta::of(&b));
        Ok(out.with_grad_fn(DivK::NODE, &[self, &b], &[&sa, &sb], {
            let (sa, sb) = (sa.clone(), sb.clone());
            move |g| {
                let (a, b) = (sa.unpack()?, sb.unpack()?);
                Ok(vec![
                    ma.grad(|| reduce_grad(&g.try_div(&b)?, &ma))?,
                    // d(a/b)/db = -a / b²
                    mb.grad(|| {
                        reduce_grad(&g.try_mul(&a)?.try_div(&b.try_mul(&b)?)?.try_neg()?, &mb)
                    })?,
                ])
            }
        }))
    }

    /// `-self`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1i64, -2], &[2])?;
    /// assert_eq!(t.try_neg()?.to_vec::<i64>()?, vec![-1, 2]);
    /// assert!(Tensor::from_vec(vec![true], &[1])?.try_neg().is_err()); // use logical_not
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn try_neg(&self) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() {
            let out = crate::cuda::unary_forward(ferrograd_cuda::UnaryOp::Neg, self)?;
            return Ok(out.with_grad_fn("NegBackward0", &[self], &[], |g| {
                Ok(vec![Some(g.try_neg()?)])
            }));
        }
        let out = self.with_read(|buf, layout| {
            with_num_dtype!(self.dtype(), T => {
                let v = buf.as_slice::<T>().unwrap();
                Ok(Tensor::from_kernel(unary_map(v, layout, |x: T| T::default().sub_wrap(x)), layout.shape()))
            }, bool => Err(Error::UnsupportedDType {
                op: "neg",
                dtype: DType::Bool,
                hint: "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the logical_not() operator instead.".into(),
            }))
        })??;
        Ok(out.with_grad_fn("NegBackward0", &[self], &[], |g| {
            Ok(vec![Some(g.try_neg()?)])
        }))
    }

    /// Borrows the storage and hands the whole buffer and the layout to `f`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::arange(0, 6)?.reshape(&[2, 3])?.t()?;
    /// let (len, shape) = t.with_read(|buf, layout| (buf.len(), layout.shape().to_vec()))?;
    /// assert_eq!((len, shape), (6, vec![3, 2]));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn with_read<R>(
        &self,
        f: impl FnOnce(&ferrograd_storage::CpuBuffer, &ferrograd_storage::Layout) -> R,
    ) -> Result<R> {
        let guard = self.storage().read()?;
        Ok(f(&guard, self.layout()))
    }
}

// ----- in-place forms -----

/// Checks that `result` (the promoted dtype of an in-place op) can be stored in `dst`.
fn check_inplace_cast(op: &'static str, result: DType, dst: DType) -> Result<()> {
    if result.category() > dst.category() {
        return Err(Error::DTypeMismatch {
            op,
            expected: dst,
            got: result,
            hint: format!(
                "result type {} can't be cast to the desired output type {}; use the out-of-place op, or convert the tensor first",
                result.legacy_name(),
                dst.legacy_name()
            ),
        });
    }
    Ok(())
}

impl Tensor {
    /// Writes `K(self, other)` into `self`'s memory (no graph work).
    fn inplace_forward<K: BinaryKernel>(&self, other: &Tensor) -> Result<()> {
        self.check_inplace()?;
        #[cfg(feature = "cuda")]
        let other = &crate::cuda::follow_device(self, other)?;
        check_same_device(self, other)?;
        let dtype = self.dtype();
        check_inplace_cast(
            K::NAME,
            K::compute_dtype(DType::promote(dtype, other.dtype())),
            dtype,
        )?;
        let shape = broadcast_shapes(K::NAME, self.shape(), other.shape())?;
        if shape != self.shape() {
            return Err(Error::ShapeMismatch {
                op: K::NAME,
                lhs: self.shape().to_vec(),
                rhs: other.shape().to_vec(),
                msg: format!(
                    "output with shape {:?} doesn't match the broadcast shape {shape:?}",
                    self.shape()
                ),
            });
        }
        // An aliasing operand is copied first so reads never see half-written data.
        let src = if other.shares_storage(self) || other.dtype() != dtype {
            other.cast_forward(dtype)?.contiguous_owned()?
        } else {
            other.clone()
        };
        let ls = src.layout().broadcast_to(&shape)?;
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() {
            return crate::cuda::inplace_binary(K::NAME, self, &src, &ls);
        }
        let gs = src.storage().read()?;
        let mut gd = self.storage().write()?;
        with_num_dtype!(dtype, T => {
            let s = gs.as_slice::<T>().unwrap();
            binary_map_inplace(gd.as_mut_slice::<T>().unwrap(), self.layout(), s, &ls, K::num::<T>);
            Ok(())
        }, bool => {
            K::boolean(false, false).ok_or_else(|| bool_refused(K::NAME))?;
            let s = gs.as_slice::<bool>().unwrap();
            binary_map_inplace(gd.as_mut_slice::<bool>().unwrap(), self.layout(), s, &ls, |p, q| K::boolean(p, q).unwrap());
            Ok(())
        })
    }

    /// In-place `self += other`; returns a handle to `self`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let v0 = t.version();
    /// t.add_(1.0)?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![2.0, 3.0]);
    /// assert_eq!(t.version(), v0 + 1);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn add_<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = other.into().to_tensor_against(self.dtype());
        self.inplace_forward::<AddK>(&b)?;
        let mb = InputMeta::of(&b);
        self.record_inplace(AddK::NODE, &[&b], &[], move |g| {
            Ok(vec![Some(g.clone()), mb.grad(|| reduce_grad(g, &mb))?])
        });
        Ok(self.clone())
    }

    /// In-place `self -= other`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![5.0f32, 6.0], &[2])?;
    /// t.sub_(&Tensor::from_vec(vec![1.0f32, 2.0], &[2])?)?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![4.0, 4.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn sub_<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = other.into().to_tensor_against(self.dtype());
        self.inplace_forward::<SubK>(&b)?;
        let mb = InputMeta::of(&b);
        self.record_inplace(SubK::NODE, &[&b], &[], move |g| {
            Ok(vec![
                Some(g.clone()),
                mb.grad(|| reduce_grad(&g.try_neg()?, &mb))?,
            ])
        });
        Ok(self.clone())
    }

    /// In-place `self *= other`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1i64, 2, 3], &[3])?;
    /// t.mul_(2)?;
    /// assert_eq!(t.to_vec::<i64>()?, vec![2, 4, 6]);
    /// assert!(t.mul_(0.5).is_err()); // a float result can't be stored in int64
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn mul_<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = other.into().to_tensor_against(self.dtype());
        let mb = InputMeta::of(&b);
        // The old value is needed for b's gradient; keep a copy only then.
        let old = (mb.wanted && crate::is_grad_enabled())
            .then(|| {
                self.detach()
                    .contiguous_owned()
                    .map(|t| SavedTensor::input(&t))
            })
            .transpose()?;
        self.inplace_forward::<MulK>(&b)?;
        let sb = SavedTensor::input(&b);
        let saved: Vec<&SavedTensor> = std::iter::once(&sb).chain(old.as_ref()).collect();
        let (sb2, old2) = (sb.clone(), old.clone());
        self.record_inplace(MulK::NODE, &[&b], &saved, move |g| {
            let b = sb2.unpack()?;
            let gb = match &old2 {
                Some(o) => Some(reduce_grad(&g.try_mul(&o.unpack()?)?, &mb)?),
                None => None,
            };
            Ok(vec![Some(g.try_mul(&b)?), gb])
        });
        Ok(self.clone())
    }

    /// In-place `self /= other` (`self` must be floating: true division).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 3.0], &[2])?;
    /// t.div_(2.0)?;
    /// assert_eq!(t.to_vec::<f64>()?, vec![0.5, 1.5]);
    /// assert!(Tensor::from_vec(vec![4i64], &[1])?.div_(2).is_err()); // true division
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn div_<'a>(&self, other: impl Into<Operand<'a>>) -> Result<Tensor> {
        let b = other.into().to_tensor_against(self.dtype());
        let mb = InputMeta::of(&b);
        let old = (mb.wanted && crate::is_grad_enabled())
            .then(|| {
                self.detach()
                    .contiguous_owned()
                    .map(|t| SavedTensor::input(&t))
            })
            .transpose()?;
        self.inplace_forward::<DivK>(&b)?;
        let sb = SavedTensor::input(&b);
        let saved: Vec<&SavedTensor> = std::iter::once(&sb).chain(old.as_ref()).collect();
        let (sb2, old2) = (sb.clone(), old.clone());
        self.record_inplace(DivK::NODE, &[&b], &saved, move |g| {
            let b = sb2.unpack()?;
            let gb = match &old2 {
                Some(o) => {
                    let t = g
                        .try_mul(&o.unpack()?)?
                        .try_div(&b.try_mul(&b)?)?
                        .try_neg()?;
                    Some(reduce_grad(&t, &mb)?)
                }
                None => None,
            };
            Ok(vec![Some(g.try_div(&b)?), gb])
        });
        Ok(self.clone())
    }

    /// Sets every element to `value` in place.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Tensor};
    /// let t = Tensor::zeros(&[2, 2], DType::I32)?;
    /// t.fill_(7)?;
    /// assert_eq!(t.to_vec::<i32>()?, vec![7; 4]);
    /// assert!(t.fill_(0.5).is_err()); // a float can't be stored in int32
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn fill_(&self, value: impl Into<Scalar>) -> Result<Tensor> {
        self.check_inplace()?;
        let value = value.into();
        check_inplace_cast(
            "fill_",
            DType::promote_with_scalar(self.dtype(), value.category()),
            self.dtype(),
        )?;
        if self.device().is_cuda() {
            #[cfg(feature = "cuda")]
            crate::cuda::fill_inplace(self, value)?;
        } else {
            let v = value.to_tensor(self.dtype());
            let mut gd = self.storage().write()?;
            ferrograd_storage::with_dtype!(self.dtype(), T => {
                let x = v.item::<T>()?;
                unary_map_inplace(gd.as_mut_slice::<T>().unwrap(), self.layout(), move |_| x);
            });
        }
        self.record_inplace("FillBackward0", &[], &[], |g| {
            Ok(vec![Some(g.zeros_like_grad()?)])
        });
        Ok(self.clone())
    }

    /// Sets every element to zero in place.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let v0 = t.version();
    /// t.zero_()?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![0.0, 0.0]);
    /// assert_eq!(t.version(), v0 + 1);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn zero_(&self) -> Result<Tensor> {
        self.fill_(0)
    }

    /// Copies `src` (broadcast to this shape, any dtype) into this tensor's memory.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// let dst = Tensor::zeros(&[2, 2], ferrograd_autograd::DType::F32)?;
    /// dst.copy_(&Tensor::from_vec(vec![1i64, 2], &[2])?)?;
    /// assert_eq!(dst.to_vec::<f32>()?, vec![1.0, 2.0, 1.0, 2.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn copy_(&self, src: &Tensor) -> Result<Tensor> {
        self.check_inplace()?;
        #[cfg(feature = "cuda")]
        let src = &crate::cuda::copy_source(self, src)?;
        check_same_device(self, src)?;
        let layout = src
            .layout()
            .broadcast_to(self.shape())
            .map_err(|_| Error::ShapeMismatch {
                op: "copy_",
                lhs: self.shape().to_vec(),
                rhs: src.shape().to_vec(),
                msg: "the source must broadcast to the destination's shape".into(),
            })?;
        let values = src.cast_forward(self.dtype())?.contiguous_owned()?;
        let vl = values.layout().broadcast_to(layout.shape())?;
        if self.device().is_cuda() {
            #[cfg(feature = "cuda")]
            crate::cuda::copy_inplace(self, &values, &vl)?;
        } else {
            let gv = values.storage().read()?;
            let mut gd = self.storage().write()?;
            ferrograd_storage::with_dtype!(self.dtype(), T => {
                ferrograd_storage::cpu::copy_into_strided(
                    gd.as_mut_slice::<T>().unwrap(), self.layout(), gv.as_slice::<T>().unwrap(), &vl);
            });
        }
        let ms = InputMeta::of(src);
        self.record_inplace("CopyBackwards", &[src], &[], move |g| {
            Ok(vec![
                Some(g.zeros_like_grad()?),
                ms.grad(|| reduce_grad(g, &ms))?,
            ])
        });
        Ok(self.clone())
    }

    /// Zeros shaped like this gradient (used by backward rules of overwrites).
    fn zeros_like_grad(&self) -> Result<Tensor> {
        Tensor::zeros_like(self)
    }
}

// ----- operators -----

macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $try:ident) => {
        impl std::ops::$Trait<&Tensor> for &Tensor {
            type Output = Tensor;
            /// Panics with the error's message on bad input; use the `try_` method to get it as `Err`.
            fn $method(self, rhs: &Tensor) -> Tensor {
                self.$try(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl std::ops::$Trait<Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                (&self).$method(&rhs)
            }
        }
        impl std::ops::$Trait<&Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                (&self).$method(rhs)
            }
        }
        impl std::ops::$Trait<Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                self.$method(&rhs)
            }
        }
        binary_operator!(@scalars $Trait, $method, $try, f64, i64);
    };
    (@scalars $Trait:ident, $method:ident, $try:ident, $($s:ty),*) => {$(
        impl std::ops::$Trait<$s> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: $s) -> Tensor {
                self.$try(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl std::ops::$Trait<$s> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: $s) -> Tensor {
                (&self).$method(rhs)
            }
        }
        impl std::ops::$Trait<&Tensor> for $s {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                let lhs = Scalar::from(self).to_tensor(DType::promote_with_scalar(rhs.dtype(), Scalar::from(self).category()));
                lhs.$try(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl std::ops::$Trait<Tensor> for $s {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                self.$method(&rhs)
            }
        }
    )*};
}

binary_operator!(Add, add, try_add);
binary_operator!(Sub, sub, try_sub);
binary_operator!(Mul, mul, try_mul);
binary_operator!(Div, div, try_div);

impl std::ops::Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        self.try_neg().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl std::ops::Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        -&self
    }
}
