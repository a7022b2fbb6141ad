//! [`DataLoader`]: batches of a [`Dataset`] in a seeded order, prepared on a
//! background thread while the training loop works on the previous ones.

use super::{mix_seed, Dataset};
use crate::layers::config;
use ferrograd_autograd::{with_default_generator, Error, Result, Tensor};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

config! {
    /// How a [`DataLoader`] batches, with PyTorch's defaults: `batch_size=1,
    /// shuffle=False, drop_last=False`, no seed, and 2 batches prepared ahead
    /// on a background thread.
    ///
    /// ```
    /// use ferrograd_nn::data::DataLoaderConfig;
    /// let c = DataLoaderConfig::new().batch_size(64).shuffle(true).seed(7);
    /// assert_eq!((c.batch_size, c.shuffle, c.seed, c.prefetch), (64, true, Some(7), 2));
    /// ```
    DataLoaderConfig {
        /// Samples per batch; must be at least 1.
        batch_size: usize = 1,
        /// Visit the samples in a new random order each epoch.
        shuffle: bool = false,
        /// The seed of the shuffled orders (`generator=torch.Generator().manual_seed(seed)`).
        /// Without one, a seed is drawn from the default generator when the
        /// loader is built, so `manual_seed` makes the orders repeat.
        seed: Option<u64> = None; via Some, u64,
        /// Drop the last batch when it would be smaller than `batch_size`.
        drop_last: bool = false,
        /// Batches prepared ahead on a background thread; `0` prepares each
        /// batch on the calling thread when it is asked for.
        prefetch: usize = 2,
    }
}

/// Iterates over a [`Dataset`] in batches (`torch.utils.data.DataLoader`).
///
/// Each call to [`iter`](DataLoader::iter) (or `for batch in &loader`) is one
/// epoch. With `shuffle`, epoch `e` visits the samples in the order
/// [`epoch_indices(e)`](DataLoader::epoch_indices), a permutation that
/// depends only on the seed and `e`: the same seed gives the same sequence of
/// orders, and each epoch's order differs, as with a seeded generator in
/// PyTorch (the permutations themselves are not PyTorch's).
///
/// With `prefetch > 0` a background thread gathers the next batches while the
/// caller trains on the current one; the batches are the same, in the same
/// order, as with `prefetch = 0`. Dropping the iterator early stops the thread.
///
/// ```
/// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, TensorDataset};
/// use ferrograd_autograd::Tensor;
/// let x = Tensor::arange(0, 10)?.reshape(&[5, 2])?;
/// let y = Tensor::arange(0, 5)?;
/// let loader = DataLoader::new(TensorDataset::new(x, y)?, DataLoaderConfig::new().batch_size(2))?;
/// assert_eq!(loader.len(), 3);
/// let targets: Vec<Vec<i64>> = loader
///     .iter()
///     .map(|b| b.and_then(|(_, y)| y.to_vec::<i64>()))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(targets, vec![vec![0, 1], vec![2, 3], vec![4]]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct DataLoader<D> {
    dataset: Arc<D>,
    config: DataLoaderConfig,
    seed: u64,
    next_epoch: AtomicU64,
}

impl<D: Dataset + 'static> DataLoader<D> {
    /// A loader over `dataset`. `Err` for `batch_size = 0`, or for `shuffle`
    /// over an empty dataset (PyTorch's messages).
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let ds = SyntheticShapes::generate(10, 0)?;
    /// let e = DataLoader::new(ds, DataLoaderConfig::new().batch_size(0)).err().unwrap();
    /// assert!(e.to_string().contains("batch_size should be a positive integer value, but got batch_size=0"));
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(dataset: D, config: DataLoaderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(Error::invalid(
                "DataLoader",
                "batch_size should be a positive integer value, but got batch_size=0",
            ));
        }
        if config.shuffle && dataset.is_empty() {
            return Err(Error::invalid(
                "DataLoader",
                "num_samples should be a positive integer value, but got num_samples=0 (shuffle=True needs a non-empty dataset)",
            ));
        }
        let seed = match config.seed {
            Some(seed) => seed,
            None => with_default_generator(|g| {
                Tensor::randint_with(0, i64::MAX, &[], g).and_then(|t| t.item::<i64>())
            })? as u64,
        };
        Ok(DataLoader {
            dataset: Arc::new(dataset),
            config,
            seed,
            next_epoch: AtomicU64::new(0),
        })
    }

    /// The number of batches per epoch: `ceil(len / batch_size)`, or
    /// `floor(len / batch_size)` with `drop_last`.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let c = DataLoaderConfig::new().batch_size(4);
    /// assert_eq!(DataLoader::new(SyntheticShapes::generate(10, 0)?, c)?.len(), 3);
    /// assert_eq!(DataLoader::new(SyntheticShapes::generate(10, 0)?, c.drop_last(true))?.len(), 2);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        let (n, b) = (self.dataset.len(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// Whether an epoch yields no batch.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let c = DataLoaderConfig::new().batch_size(20).drop_last(true);
    /// assert!(DataLoader::new(SyntheticShapes::generate(10, 0)?, c)?.is_empty());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dataset.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, Dataset, SyntheticShapes};
    /// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, DataLoaderConfig::new())?;
    /// assert_eq!(loader.dataset().len(), 10);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn dataset(&self) -> &D {
        &self.dataset
    }

    /// The configuration.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, DataLoaderConfig::new().batch_size(3))?;
    /// assert_eq!(loader.config().batch_size, 3);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn config(&self) -> &DataLoaderConfig {
        &self.config
    }

    /// The seed of the shuffled orders (drawn from the default generator if
    /// the config had none).
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, DataLoaderConfig::new().seed(3))?;
    /// assert_eq!(loader.seed(), 3);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The epoch the next [`iter`](DataLoader::iter) call runs (0 at first).
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, DataLoaderConfig::new())?;
    /// drop(loader.iter());
    /// assert_eq!(loader.epoch(), 1);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn epoch(&self) -> u64 {
        self.next_epoch.load(Ordering::Relaxed)
    }

    /// Makes the next [`iter`](DataLoader::iter) call run epoch `epoch`, to
    /// resume training where a checkpoint left off.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let c = DataLoaderConfig::new().shuffle(true).seed(1);
    /// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, c)?;
    /// loader.set_epoch(5);
    /// assert_eq!(loader.epoch(), 5);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn set_epoch(&self, epoch: u64) {
        self.next_epoch.store(epoch, Ordering::Relaxed);
    }

    /// The sample indices of epoch `epoch` in visiting order: `0..len`
    /// without `shuffle`, else a permutation seeded by `(seed, epoch)`.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let c = DataLoaderConfig::new().shuffle(true).seed(1);
    /// let a = DataLoader::new(SyntheticShapes::generate(10, 0)?, c)?;
    /// let b = DataLoader::new(SyntheticShapes::generate(10, 0)?, c)?;
    /// assert_eq!(a.epoch_indices(3), b.epoch_indices(3));
    /// assert_ne!(a.epoch_indices(0), a.epoch_indices(1));
    /// let mut sorted = a.epoch_indices(0);
    /// sorted.sort();
    /// assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn epoch_indices(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.config.shuffle {
            order.shuffle(&mut StdRng::seed_from_u64(mix_seed(self.seed, epoch)));
        }
        order
    }

    /// The batches of the next epoch (then the epoch counter advances).
    /// Each item is `Ok((inputs, targets))` or the dataset's error.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let c = DataLoaderConfig::new().batch_size(4).shuffle(true).seed(0);
    /// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, c)?;
    /// let sizes: Vec<usize> = loader.iter().map(|b| b.unwrap().0.shape()[0]).collect();
    /// assert_eq!(sizes, vec![4, 4, 2]);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn iter(&self) -> Batches {
        let epoch = self.next_epoch.fetch_add(1, Ordering::Relaxed);
        self.iter_epoch(epoch)
    }

    /// The batches of epoch `epoch`, leaving the epoch counter alone.
    ///
    /// ```
    /// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
    /// let c = DataLoaderConfig::new().batch_size(5).shuffle(true).seed(0);
    /// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, c)?;
    /// let first = loader.iter_epoch(2).next().unwrap()?.1.to_vec::<i64>()?;
    /// let again = loader.iter_epoch(2).next().unwrap()?.1.to_vec::<i64>()?;
    /// assert_eq!(first, again);
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn iter_epoch(&self, epoch: u64) -> Batches {
        let plan = BatchPlan {
            order: self.epoch_indices(epoch),
            batch_size: self.config.batch_size,
            batches: self.len(),
        };
        let source = if self.config.prefetch == 0 {
            let dataset: Arc<dyn Dataset> = self.dataset.clone();
            Source::Inline { dataset, next: 0 }
        } else {
            Source::spawn(self.dataset.clone(), &plan, self.config.prefetch)
        };
        Batches {
            remaining: plan.batches,
            plan,
            source,
        }
    }
}

impl<D: Dataset + 'static> IntoIterator for &DataLoader<D> {
    type Item = Result<(Tensor, Tensor)>;
    type IntoIter = Batches;

    fn into_iter(self) -> Batches {
        self.iter()
    }
}

/// The sample order of one epoch cut into batches.
#[derive(Clone)]
struct BatchPlan {
    order: Vec<usize>,
    batch_size: usize,
    batches: usize,
}

impl BatchPlan {
    fn batch(&self, b: usize) -> &[usize] {
        let start = b * self.batch_size;
        &self.order[start..(start + self.batch_size).min(self.order.len())]
    }
}

enum Source {
    Inline {
        dataset: Arc<dyn Dataset>,
        next: usize,
    },
    Background {
        receiver: Option<Receiver<Result<(Tensor, Tensor)>>>,
        worker: Option<JoinHandle<()>>,
    },
}

impl Source {
    fn spawn<D: Dataset + 'static>(dataset: Arc<D>, plan: &BatchPlan, prefetch: usize) -> Source {
        let (sender, receiver) = sync_channel(prefetch);
        let plan = plan.clone();
        let worker = std::thread::spawn(move || {
            for b in 0..plan.batches {
                if sender.send(dataset.get_batch(plan.batch(b))).is_err() {
                    return;
                }
            }
        });
        Source::Background {
            receiver: Some(receiver),
            worker: Some(worker),
        }
    }
}

/// One epoch of a [`DataLoader`]: an iterator of `Result<(inputs, targets)>`
/// batches whose [`len`](ExactSizeIterator::len) is the number left.
///
/// ```
/// use ferrograd_nn::data::{DataLoader, DataLoaderConfig, SyntheticShapes};
/// let loader = DataLoader::new(SyntheticShapes::generate(10, 0)?, DataLoaderConfig::new().batch_size(3))?;
/// let mut batches = loader.iter();
/// assert_eq!(batches.len(), 4);
/// batches.next();
/// assert_eq!(batches.len(), 3);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct Batches {
    plan: BatchPlan,
    source: Source,
    remaining: usize,
}

impl Iterator for Batches {
    type Item = Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match &mut self.source {
            Source::Inline { dataset, next } => {
                *next += 1;
                Some(dataset.get_batch(self.plan.batch(*next - 1)))
            }
            Source::Background { receiver, .. } => match receiver.as_ref().map(|r| r.recv()) {
                Some(Ok(batch)) => Some(batch),
                _ => {
                    self.remaining = 0;
                    Some(Err(Error::invalid(
                            "DataLoader",
                            "the background thread preparing batches stopped early (the dataset panicked); use prefetch(0) to see the panic on this thread",
                        )))
                }
            },
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        if let Source::Background { receiver, worker } = &mut self.source {
            drop(receiver.take());
            if let Some(worker) = worker.take() {
                let _ = worker.join();
            }
        }
    }
}
