//! Random tensors: a seedable process-global generator ([`manual_seed`]),
//! explicit [`Generator`] objects, the creation functions `rand`, `randn`,
//! `randint`, `normal`, `uniform` (each with a `_with` form taking a
//! generator) and the in-place fills `uniform_` / `normal_` that weight
//! initialisation uses.

use crate::Tensor;
use ferrograd_storage::{DType, Error, FloatElement, Result};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// A seeded pseudo-random number generator (`torch.Generator`).
///
/// It wraps rand's [`StdRng`] (ChaCha12). The same seed gives the same
/// numbers, in the same order, for a given ferrograd version; a new version
/// may change the algorithm, so do not store sequences as test data.
///
/// ```
/// use ferrograd_autograd::{DType, Generator, Tensor};
/// let mut a = Generator::new(7);
/// let mut b = Generator::new(7);
/// let x = Tensor::rand_with(&[3], DType::F32, &mut a)?;
/// let y = Tensor::rand_with(&[3], DType::F32, &mut b)?;
/// assert_eq!(x.to_vec::<f32>()?, y.to_vec::<f32>()?);
/// assert_eq!(a.initial_seed(), 7);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone)]
pub struct Generator {
    seed: u64,
    rng: StdRng,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("initial_seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Generator {
    /// A generator seeded with `seed`.
    ///
    /// ```
    /// use ferrograd_autograd::Generator;
    /// assert_eq!(Generator::new(42).initial_seed(), 42);
    /// ```
    pub fn new(seed: u64) -> Self {
        Generator {
            seed,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A generator seeded from the operating system's entropy; its seed can
    /// still be read back with [`initial_seed`](Self::initial_seed).
    ///
    /// ```
    /// use ferrograd_autograd::Generator;
    /// let g = Generator::from_entropy();
    /// let again = Generator::new(g.initial_seed());
    /// # let _ = again;
    /// ```
    pub fn from_entropy() -> Self {
        Generator::new(rand::random())
    }

    /// The seed this generator was created or last re-seeded with.
    ///
    /// ```
    /// use ferrograd_autograd::Generator;
    /// let mut g = Generator::new(3);
    /// assert_eq!(g.initial_seed(), 3);
    /// g.manual_seed(9);
    /// assert_eq!(g.initial_seed(), 9);
    /// ```
    pub fn initial_seed(&self) -> u64 {
        self.seed
    }

    /// Restarts the generator's sequence from `seed`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let mut g = Generator::new(1);
    /// let first = Tensor::randn_with(&[2], DType::F64, &mut g)?.to_vec::<f64>()?;
    /// g.manual_seed(1);
    /// assert_eq!(Tensor::randn_with(&[2], DType::F64, &mut g)?.to_vec::<f64>()?, first);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn manual_seed(&mut self, seed: u64) {
        *self = Generator::new(seed);
    }
}

/// The default generator, created on first use.
static DEFAULT: Mutex<Option<Generator>> = Mutex::new(None);

/// Runs `f` with the process-global default generator, the one every random
/// function without a `_with` suffix draws from. Unless [`manual_seed`] was
/// called first, it is seeded from entropy the first time it is used. Other
/// threads drawing at the same time wait for `f` to return.
///
/// ```
/// use ferrograd_autograd::{with_default_generator, DType, Tensor};
/// let t = with_default_generator(|g| Tensor::rand_with(&[2], DType::F32, g))?;
/// assert_eq!(t.shape(), &[2]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn with_default_generator<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut guard = DEFAULT.lock();
    f(guard.get_or_insert_with(Generator::from_entropy))
}

/// Seeds the default generator (`torch.manual_seed`), so that the random
/// functions without a `_with` suffix repeat their sequence.
///
/// ```
/// use ferrograd_autograd::{manual_seed, DType, Tensor};
/// manual_seed(123);
/// let a = Tensor::randn(&[4], DType::F32)?.to_vec::<f32>()?;
/// manual_seed(123);
/// assert_eq!(Tensor::randn(&[4], DType::F32)?.to_vec::<f32>()?, a);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn manual_seed(seed: u64) {
    *DEFAULT.lock() = Some(Generator::new(seed));
}

/// The seed of the default generator (`torch.initial_seed`): the one given
/// to [`manual_seed`], or the entropy seed drawn on first use.
///
/// ```
/// use ferrograd_autograd::{initial_seed, manual_seed};
/// manual_seed(5);
/// assert_eq!(initial_seed(), 5);
/// ```
pub fn initial_seed() -> u64 {
    with_default_generator(|g| g.initial_seed())
}

/// The distribution of a floating fill.
#[derive(Clone, Copy)]
enum FloatDist {
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
}

impl FloatDist {
    /// The op name PyTorch reports for this distribution.
    fn op(self) -> &'static str {
        match self {
            FloatDist::Uniform { .. } => "uniform_",
            FloatDist::Normal { .. } => "normal",
        }
    }

    /// Checks the parameters, with PyTorch's messages.
    fn checked(self) -> Result<Self> {
        match self {
            FloatDist::Uniform { low, high } if low > high => Err(Error::invalid(
                "uniform_",
                format!("expects to return a [from, to) range, but found from={low} > to={high}"),
            )),
            FloatDist::Uniform { low, high } if !low.is_finite() || !high.is_finite() => {
                Err(Error::invalid(
                    "uniform_",
                    format!("expects finite bounds, but found from={low}, to={high}"),
                ))
            }
            FloatDist::Normal { std, .. } if std < 0.0 || std.is_nan() => Err(Error::invalid(
                "normal",
                format!("expects std >= 0.0, but found std {std}"),
            )),
            _ => Ok(self),
        }
    }
}

/// A float type the generator can draw.
trait RandomFloat: FloatElement {
    fn draw(dist: FloatDist, rng: &mut StdRng) -> Self;
}

macro_rules! random_float {
    ($t:ty) => {
        impl RandomFloat for $t {
            fn draw(dist: FloatDist, rng: &mut StdRng) -> Self {
                match dist {
                    FloatDist::Uniform { low, high } => {
                        let (low, high) = (low as $t, high as $t);
                        low + (high - low) * rng.random::<$t>()
                    }
                    FloatDist::Normal { mean, std } => {
                        let z: $t = rng.sample(StandardNormal);
                        mean as $t + std as $t * z
                    }
                }
            }
        }
    };
}

random_float!(f32);
random_float!(f64);

/// Overwrites every element of `t` with draws from `dist`, in row-major
/// order. No autograd bookkeeping: the callers do it.
fn write_random(t: &Tensor, dist: FloatDist, gen: &mut Generator) -> Result<()> {
    fn fill<T: RandomFloat>(t: &Tensor, dist: FloatDist, gen: &mut Generator) -> Result<()> {
        let mut guard = t.storage().write()?;
        let data = guard
            .as_mut_slice::<T>()
            .ok_or_else(|| t.dtype_error::<T>(dist.op()))?;
        t.layout()
            .for_each_offset(|o| data[o] = T::draw(dist, &mut gen.rng));
        Ok(())
    }
    match t.dtype() {
        DType::F32 => fill::<f32>(t, dist, gen),
        DType::F64 => fill::<f64>(t, dist, gen),
        other => Err(not_floating(dist.op(), other)),
    }
}

fn not_floating(op: &'static str, dtype: DType) -> Error {
    Error::UnsupportedDType {
        op,
        dtype,
        hint: "Random floats need a floating dtype: use DType::F32 or DType::F64 (Tensor::randint draws integers).".into(),
    }
}

/// A fresh tensor of `shape` and floating `dtype` filled from `dist`; `op`
/// names the public function in errors.
fn random_tensor(
    op: &'static str,
    shape: &[usize],
    dtype: DType,
    dist: FloatDist,
    gen: &mut Generator,
) -> Result<Tensor> {
    if !dtype.is_floating_point() {
        return Err(not_floating(op, dtype));
    }
    let t = Tensor::empty(shape, dtype)?;
    write_random(&t, dist.checked()?, gen)?;
    Ok(t)
}

impl Tensor {
    /// Uniform samples from `[0, 1)` drawn from the default generator (`torch.rand`).
    /// `dtype` must be floating.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::rand(&[2, 3], DType::F32)?;
    /// assert!(t.to_vec::<f32>()?.iter().all(|&x| (0.0..1.0).contains(&x)));
    /// assert!(Tensor::rand(&[2], DType::I64).unwrap_err().to_string().contains("int64"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        with_default_generator(|g| Tensor::rand_with(shape, dtype, g))
    }

    /// [`rand`](Self::rand) drawing from `gen`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let (mut a, mut b) = (Generator::new(0), Generator::new(0));
    /// let x = Tensor::rand_with(&[4], DType::F64, &mut a)?.to_vec::<f64>()?;
    /// assert_eq!(x, Tensor::rand_with(&[4], DType::F64, &mut b)?.to_vec::<f64>()?);
    /// assert!(x.iter().all(|v| (0.0..1.0).contains(v)));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn rand_with(shape: &[usize], dtype: DType, gen: &mut Generator) -> Result<Tensor> {
        random_tensor(
            "rand",
            shape,
            dtype,
            FloatDist::Uniform {
                low: 0.0,
                high: 1.0,
            },
            gen,
        )
    }

    /// Standard normal samples from the default generator (`torch.randn`).
    /// `dtype` must be floating.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::randn(&[1000], DType::F64)?;
    /// assert!(t.to_vec::<f64>()?.iter().any(|&x| x < 0.0));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        with_default_generator(|g| Tensor::randn_with(shape, dtype, g))
    }

    /// [`randn`](Self::randn) drawing from `gen`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let mut g = Generator::new(11);
    /// let a = Tensor::randn_with(&[3], DType::F32, &mut g)?.to_vec::<f32>()?;
    /// assert_ne!(Tensor::randn_with(&[3], DType::F32, &mut g)?.to_vec::<f32>()?, a); // advanced
    /// assert_eq!(Tensor::randn_with(&[3], DType::F32, &mut Generator::new(11))?.to_vec::<f32>()?, a);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn randn_with(shape: &[usize], dtype: DType, gen: &mut Generator) -> Result<Tensor> {
        random_tensor(
            "randn",
            shape,
            dtype,
            FloatDist::Normal {
                mean: 0.0,
                std: 1.0,
            },
            gen,
        )
    }

    /// Normal samples with mean `mean` and standard deviation `std`
    /// (`torch.normal(mean, std, size)`). `std` must be non-negative and
    /// `dtype` floating.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::normal(5.0, 0.0, &[2], DType::F32)?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![5.0, 5.0]);
    /// let e = Tensor::normal(0.0, -1.0, &[2], DType::F32).unwrap_err();
    /// assert_eq!(e.to_string(), "normal: expects std >= 0.0, but found std -1");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn normal(mean: f64, std: f64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        with_default_generator(|g| Tensor::normal_with(mean, std, shape, dtype, g))
    }

    /// [`normal`](Self::normal) drawing from `gen`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let mut g = Generator::new(5);
    /// let t = Tensor::normal_with(10.0, 0.001, &[100], DType::F64, &mut g)?;
    /// assert!(t.to_vec::<f64>()?.iter().all(|&v| (v - 10.0).abs() < 0.1));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn normal_with(
        mean: f64,
        std: f64,
        shape: &[usize],
        dtype: DType,
        gen: &mut Generator,
    ) -> Result<Tensor> {
        random_tensor("normal", shape, dtype, FloatDist::Normal { mean, std }, gen)
    }

    /// Uniform samples from `[low, high)` (`torch.empty(size).uniform_(low, high)`).
    /// Needs `low <= high` and a floating `dtype`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::uniform(-2.0, 2.0, &[100], DType::F64)?;
    /// assert!(t.to_vec::<f64>()?.iter().all(|&x| (-2.0..2.0).contains(&x)));
    /// assert!(Tensor::uniform(2.0, 1.0, &[1], DType::F32).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn uniform(low: f64, high: f64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        with_default_generator(|g| Tensor::uniform_with(low, high, shape, dtype, g))
    }

    /// [`uniform`](Self::uniform) drawing from `gen`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let t = Tensor::uniform_with(3.0, 4.0, &[50], DType::F32, &mut Generator::new(2))?;
    /// assert!(t.to_vec::<f32>()?.iter().all(|v| (3.0..4.0).contains(v)));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn uniform_with(
        low: f64,
        high: f64,
        shape: &[usize],
        dtype: DType,
        gen: &mut Generator,
    ) -> Result<Tensor> {
        random_tensor(
            "uniform",
            shape,
            dtype,
            FloatDist::Uniform { low, high },
            gen,
        )
    }

    /// Uniform `i64` integers from `[low, high)` (`torch.randint`).
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::randint(-3, 3, &[50])?;
    /// assert_eq!(t.dtype(), DType::I64);
    /// assert!(t.to_vec::<i64>()?.iter().all(|&x| (-3..3).contains(&x)));
    /// let e = Tensor::randint(5, 5, &[1]).unwrap_err();
    /// assert_eq!(e.to_string(), "random_: expects 'from' to be less than 'to', but got from=5 >= to=5");
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn randint(low: i64, high: i64, shape: &[usize]) -> Result<Tensor> {
        with_default_generator(|g| Tensor::randint_with(low, high, shape, g))
    }

    /// [`randint`](Self::randint) drawing from `gen`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let t = Tensor::randint_with(0, 2, &[64], &mut Generator::new(8))?;
    /// assert_eq!(t.dtype(), DType::I64);
    /// assert!(t.to_vec::<i64>()?.iter().all(|&v| v == 0 || v == 1));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn randint_with(
        low: i64,
        high: i64,
        shape: &[usize],
        gen: &mut Generator,
    ) -> Result<Tensor> {
        if low >= high {
            return Err(Error::invalid(
                "random_",
                format!("expects 'from' to be less than 'to', but got from={low} >= to={high}"),
            ));
        }
        let n = crate::creation::checked_numel(shape)?;
        let data: Vec<i64> = (0..n).map(|_| gen.rng.random_range(low..high)).collect();
        Tensor::from_vec(data, shape)
    }

    /// Uniform `[0, 1)` samples with the shape and (floating) dtype of `other`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::rand_like(&Tensor::zeros(&[2, 2], DType::F64)?)?;
    /// assert_eq!((t.shape(), t.dtype()), (&[2, 2][..], DType::F64));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn rand_like(other: &Tensor) -> Result<Tensor> {
        Tensor::rand(other.shape(), other.dtype())
    }

    /// Standard normal samples with the shape and (floating) dtype of `other`.
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// assert!(Tensor::randn_like(&Tensor::zeros(&[3], DType::I32)?).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn randn_like(other: &Tensor) -> Result<Tensor> {
        Tensor::randn(other.shape(), other.dtype())
    }

    /// Fills this floating tensor in place with uniform samples from
    /// `[low, high)` drawn from the default generator (`tensor.uniform_`).
    /// Follows the in-place rules: on a leaf that requires grad it needs
    /// [`no_grad`](crate::no_grad), as weight initialisation does.
    ///
    /// ```
    /// use ferrograd_autograd::{no_grad, Tensor, DType};
    /// let w = Tensor::zeros(&[3, 4], DType::F32)?.requires_grad_(true)?;
    /// assert!(w.uniform_(-0.5, 0.5).is_err());
    /// {
    ///     let _guard = no_grad();
    ///     w.uniform_(-0.5, 0.5)?;
    /// }
    /// assert!(w.to_vec::<f32>()?.iter().all(|&x| (-0.5..0.5).contains(&x)));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn uniform_(&self, low: f64, high: f64) -> Result<Tensor> {
        with_default_generator(|g| self.uniform_with_(low, high, g))
    }

    /// [`uniform_`](Self::uniform_) drawing from `gen`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let a = Tensor::zeros(&[10], DType::F64)?.uniform_with_(-1.0, 1.0, &mut Generator::new(4))?;
    /// let b = Tensor::zeros(&[10], DType::F64)?.uniform_with_(-1.0, 1.0, &mut Generator::new(4))?;
    /// assert_eq!(a.to_vec::<f64>()?, b.to_vec::<f64>()?);
    /// assert!(a.to_vec::<f64>()?.iter().all(|v| (-1.0..1.0).contains(v)));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn uniform_with_(&self, low: f64, high: f64, gen: &mut Generator) -> Result<Tensor> {
        self.random_inplace(FloatDist::Uniform { low, high }, "UniformBackward0", gen)
    }

    /// Fills this floating tensor in place with normal samples (`tensor.normal_`),
    /// under the same rules as [`uniform_`](Self::uniform_).
    ///
    /// ```
    /// use ferrograd_autograd::{Tensor, DType};
    /// let t = Tensor::zeros(&[2], DType::F64)?;
    /// t.normal_(3.0, 0.0)?;
    /// assert_eq!(t.to_vec::<f64>()?, vec![3.0, 3.0]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn normal_(&self, mean: f64, std: f64) -> Result<Tensor> {
        with_default_generator(|g| self.normal_with_(mean, std, g))
    }

    /// [`normal_`](Self::normal_) drawing from `gen`.
    ///
    /// ```
    /// use ferrograd_autograd::{DType, Generator, Tensor};
    /// let t = Tensor::zeros(&[3], DType::F32)?;
    /// t.normal_with_(2.0, 0.0, &mut Generator::new(6))?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![2.0; 3]);
    /// assert!(t.normal_with_(0.0, -1.0, &mut Generator::new(6)).is_err()); // std < 0
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn normal_with_(&self, mean: f64, std: f64, gen: &mut Generator) -> Result<Tensor> {
        self.random_inplace(FloatDist::Normal { mean, std }, "NormalBackward0", gen)
    }

    /// Checks, overwrites with draws from `dist`, and records the write.
    fn random_inplace(
        &self,
        dist: FloatDist,
        node: &'static str,
        gen: &mut Generator,
    ) -> Result<Tensor> {
        if !self.dtype().is_floating_point() {
            return Err(not_floating(dist.op(), self.dtype()));
        }
        self.check_inplace()?;
        write_random(self, dist.checked()?, gen)?;
        self.record_inplace(node, &[], &[], |g| Ok(vec![Some(Tensor::zeros_like(g)?)]));
        Ok(self.clone())
    }
}
