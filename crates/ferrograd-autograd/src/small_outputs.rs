//! Recycling of small tensors. When the last handle on a small CPU tensor
//! with no autograd state is dropped, the tensor (its header, its storage's
//! header and its data buffer: three allocations) goes to a pool of this
//! thread instead of back to the allocator, and the next elementwise output
//! of the same dtype and element count ([`Tensor::map_elements`]) is written
//! into it. A loop of ops on small tensors then allocates nothing (see
//! `benches/autograd_overhead.rs`: under `no_grad` a chain of scalar ops and
//! `tanh` on 4 elements costs about 1.02× its kernels on plain vectors, which
//! allocate each output).
//!
//! Only a tensor nothing else can see is taken: its last handle, no weak
//! references (graph nodes hold those on leaves), not a view, storage not
//! shared, no grad, grad_fn or hooks. A reused tensor is indistinguishable
//! from a new one: contiguous layout of the requested shape, version 0.

use crate::tensor::TensorImpl;
use ferrograd_storage::{CpuBuffer, DType, Layout};
use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

/// Tensors of at most this many elements are recycled.
pub(crate) const MAX_ELEMENTS: usize = 64;

/// Tensors a thread keeps at most (a few KiB).
const CAPACITY: usize = 16;

/// One thread's pooled tensors, oldest first, each beside its [`key`], so
/// a search compares integers and follows no pointer. The first `len`
/// slots hold tensors and the rest hold nothing (uninitialised), so taking
/// a tensor reads its slot without clearing it and storing one writes its
/// slot without reading the old contents: an `Option` per slot cost a store
/// and a reload of the same slot per op, which stalled the reload. Plain
/// cells: the pool is only ever reached from its own thread, and no code
/// runs while an entry is half moved (no `RefCell` flag to set and clear
/// per op).
struct Pool {
    len: Cell<usize>,
    keys: [Cell<u64>; CAPACITY],
    tensors: [UnsafeCell<MaybeUninit<Arc<TensorImpl>>>; CAPACITY],
}

impl Pool {
    const fn new() -> Self {
        Pool {
            len: Cell::new(0),
            keys: [const { Cell::new(0) }; CAPACITY],
            tensors: [const { UnsafeCell::new(MaybeUninit::uninit()) }; CAPACITY],
        }
    }

    /// Slot `i`, for reading a tensor out of (below `len`) or writing one
    /// into (at `len`). Taken from the whole array, so the eviction's copy
    /// may run from one slot over the next ones.
    #[inline]
    fn slot(&self, i: usize) -> *mut Arc<TensorImpl> {
        debug_assert!(i < CAPACITY);
        UnsafeCell::raw_get(self.tensors.as_ptr())
            .cast::<Arc<TensorImpl>>()
            .wrapping_add(i)
    }

    /// Takes the newest tensor stored under `key`; the last entry fills
    /// its place.
    #[inline]
    fn take(&self, key: u64) -> Option<Arc<TensorImpl>> {
        let len = self.len.get();
        let at = (0..len).rev().find(|&i| self.keys[i].get() == key)?;
        let last = len - 1;
        // SAFETY: `at` and `last` are below `len`, so their slots hold
        // tensors. `found` is moved out of `at`, `last`'s tensor (when it is
        // another slot) moves into `at`, and `len` then leaves `last` out:
        // every tensor is owned exactly once, and nothing runs in between.
        unsafe {
            let found = self.slot(at).read();
            if at != last {
                self.slot(at).write(self.slot(last).read());
                self.keys[at].set(self.keys[last].get());
            }
            self.len.set(last);
            Some(found)
        }
    }

    /// Stores `tensor` under `key`; a full pool hands back its oldest
    /// tensor, for the caller to drop once the pool is consistent again.
    #[inline]
    fn put(&self, key: u64, tensor: Arc<TensorImpl>) -> Option<Arc<TensorImpl>> {
        let mut len = self.len.get();
        let mut evicted = None;
        if len == CAPACITY {
            // SAFETY: a full pool's slots all hold tensors. The oldest is
            // moved out and the others move down one slot (`UnsafeCell` and
            // `MaybeUninit` keep `Arc`'s layout, so the slots are one array
            // of `Arc`s), leaving the last slot to be written below.
            unsafe {
                evicted = Some(self.slot(0).read());
                std::ptr::copy(self.slot(1), self.slot(0), CAPACITY - 1);
            }
            for i in 1..CAPACITY {
                self.keys[i - 1].set(self.keys[i].get());
            }
            len -= 1;
        }
        self.keys[len].set(key);
        // SAFETY: slot `len` holds nothing (it is past the pool's tensors, or
        // its tensor just moved down), so writing it overwrites no tensor.
        unsafe { self.slot(len).write(tensor) };
        self.len.set(len + 1);
        evicted
    }

    /// Takes the newest tensor whatever its key (for emptying the pool).
    fn pop(&self) -> Option<Arc<TensorImpl>> {
        let last = self.len.get().checked_sub(1)?;
        self.len.set(last);
        // SAFETY: `last` was below `len`, so its slot holds a tensor, which
        // the shorter `len` no longer counts: it is moved out once.
        Some(unsafe { self.slot(last).read() })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // A pooled tensor holds no tensor handle (no view base, no grad),
        // so freeing it does not come back to the pool.
        while let Some(tensor) = self.pop() {
            drop(tensor);
        }
    }
}

thread_local! {
    static POOL: Pool = const { Pool::new() };
}

/// What a pooled tensor is looked up by: its dtype and element count.
#[inline]
fn key(dtype: DType, numel: usize) -> u64 {
    ((numel as u64) << 8) | dtype as u64
}

/// The last step of dropping a tensor handle: keeps `inner` for reuse when
/// it qualifies, otherwise drops it.
#[inline]
pub(crate) fn offer(mut inner: Arc<TensorImpl>) {
    // Cheapest tests first: most dropped tensors are large or still shared.
    let numel = inner.layout.numel();
    if numel > MAX_ELEMENTS || !reusable(&mut inner, numel) {
        return;
    }
    // A full pool evicts its oldest tensor, so sizes no longer asked for
    // (a backward's scalars) give way to the ones in use.
    let key = key(inner.dtype, numel);
    let evicted = POOL.try_with(|pool| pool.put(key, inner));
    drop(evicted);
}

/// `Arc::get_mut` without its compare-and-swap (a visible cost per small
/// op) for a tensor that never had a `Weak` handle.
#[inline]
fn sole_owner(inner: &mut Arc<TensorImpl>) -> Option<&mut TensorImpl> {
    if Arc::strong_count(inner) != 1 {
        return None;
    }
    // Pairs with the release decrement of every handle dropped before: their
    // writes, `downgraded` among them, are visible from here on.
    fence(Ordering::Acquire);
    if inner.downgraded.load(Ordering::Relaxed) {
        let tensor = Arc::get_mut(inner)?;
        // The swap proved no `Weak` is left: the mark can go.
        *tensor.downgraded.get_mut() = false;
        return Some(tensor);
    }
    // SAFETY: `inner` is the only strong handle and is borrowed mutably
    // here. No `Weak` exists: the only code that makes one
    // (`TensorImpl::downgrade`) sets `downgraded` first, and any thread that
    // did so has since dropped its strong handle, which the fence above
    // synchronises with. So nothing else can reach the `TensorImpl`, and
    // `Arc::as_ptr` keeps the allocation's write permission.
    Some(unsafe { &mut *Arc::as_ptr(inner).cast_mut() })
}

/// True when nothing else can observe `inner`: see the module docs.
#[inline]
fn reusable(inner: &mut Arc<TensorImpl>, numel: usize) -> bool {
    let Some(tensor) = sole_owner(inner) else {
        return false;
    };
    // `requires_grad_cached` stands for `requires_grad || grad_fn`,
    // `meta_used` for a grad, hooks or `retains_grad` ever set (one flag, not
    // three fields: reading those cost about 1 ns per op), and an unshared
    // storage rules out a view (its base holds the storage too).
    let meta = tensor.meta.get_mut();
    let unobserved = numel > 0
        && !*tensor.requires_grad_cached.get_mut()
        && !*tensor.meta_used.get_mut()
        && tensor.storage.len() == numel
        && tensor.layout.offset() == 0
        && tensor.layout.is_contiguous()
        && tensor.storage.is_unique()
        && tensor.storage.device() == ferrograd_storage::Device::Cpu;
    debug_assert!(
        !unobserved
            || (tensor.view_base.is_none()
                && !meta.requires_grad
                && meta.grad_fn.is_none()
                && !meta.retains_grad
                && meta.grad.is_none()
                && meta.hooks.is_empty())
    );
    if unobserved {
        // A tensor that never required grad has no accumulator: skip the
        // out-of-line `Weak` drop for it.
        if meta.accumulator.strong_count() != 0 || meta.accumulator.weak_count() != 0 {
            meta.accumulator = std::sync::Weak::new();
        }
    }
    unobserved
}

/// A pooled tensor of `dtype` with `numel` (`shape`'s element count), laid out
/// contiguously as `shape`, whose buffer `fill` has written (the buffer's
/// old contents are stale: `fill` overwrites them all), as the only handle
/// on it; `None` when the pool has no such tensor.
#[inline]
pub(crate) fn take_filled(
    dtype: DType,
    numel: usize,
    shape: &[usize],
    fill: impl FnOnce(&mut CpuBuffer),
) -> Option<Arc<TensorImpl>> {
    let found = POOL.try_with(|pool| pool.take(key(dtype, numel))).ok()??;
    debug_assert!(Arc::strong_count(&found) == 1 && !found.downgraded.load(Ordering::Relaxed));
    // SAFETY: `offer` pools a tensor only once `sole_owner` proved it the
    // only handle with no `Weak`, and nothing can clone or downgrade it
    // while only the pool holds it: `found` is still the only handle.
    let tensor = unsafe { &mut *Arc::as_ptr(&found).cast_mut() };
    // Pooled layouts are contiguous from offset 0: the same shape is the
    // same layout (compared by hand: a slice `!=` calls memcmp).
    let old = tensor.layout.shape();
    if old.len() != shape.len() || old.iter().zip(shape).any(|(a, b)| a != b) {
        tensor.layout = Layout::contiguous(shape);
    }
    let buffer = tensor
        .storage
        .reuse_unique()
        .expect("pooled storages are unshared and on the CPU");
    fill(buffer);
    Some(found)
}

/// How many tensors this thread's pool holds (for tests).
#[cfg(test)]
pub(crate) fn pooled() -> usize {
    POOL.with(|pool| pool.len.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{no_grad, Tensor};

    fn address(t: &Tensor) -> usize {
        t.with_data(|d: &[f32], _| d.as_ptr() as usize).unwrap()
    }

    fn pooled_f32_of(numel: usize) -> usize {
        POOL.with(|pool| {
            let want = key(DType::F32, numel);
            (0..pool.len.get())
                .filter(|&i| pool.keys[i].get() == want)
                .count()
        })
    }

    fn drain() {
        POOL.with(|pool| while pool.pop().is_some() {})
    }

    #[test]
    fn a_dropped_small_tensor_becomes_the_next_output_of_its_size() {
        drain();
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
        let y = x.map_elements(|v: f32| v * 10.0).unwrap();
        let (memory, before) = (address(&y), pooled());
        y.storage().bump_version();
        drop(y);
        assert_eq!(pooled(), before + 1);
        // Same dtype and element count, another shape: reused, fresh in every way.
        let z = x
            .reshape(&[2, 2])
            .unwrap()
            .map_elements(|v: f32| v + 0.5)
            .unwrap();
        assert_eq!(address(&z), memory);
        assert_eq!(pooled(), before);
        assert_eq!(z.shape(), &[2, 2]);
        assert_eq!(z.strides(), &[2, 1]);
        assert_eq!(z.storage().version(), 0);
        assert!(!z.requires_grad() && z.grad_fn().is_none() && z.grad().is_none());
        assert_eq!(z.to_vec::<f32>().unwrap(), vec![1.5, 2.5, 3.5, 4.5]);
        // Another dtype or size takes nothing.
        drop(z);
        assert_eq!(pooled_f32_of(4), 1);
        let _f64 = x
            .to_dtype(DType::F64)
            .unwrap()
            .map_elements(|v: f64| v)
            .unwrap();
        let _five = Tensor::from_vec(vec![0.0f32; 5], &[5])
            .unwrap()
            .map_elements(|v: f32| v)
            .unwrap();
        assert_eq!(pooled_f32_of(4), 1);
    }

    #[test]
    fn the_pool_takes_from_any_slot_evicts_the_oldest_and_frees_the_rest() {
        let made: Vec<Tensor> = (0..=CAPACITY)
            .map(|i| Tensor::from_vec(vec![i as f32], &[1]).unwrap())
            .collect();
        let handle = |i: usize| Arc::clone(&made[i].inner);
        let same = |t: &Arc<TensorImpl>, i: usize| Arc::ptr_eq(t, &made[i].inner);
        let pool = Pool::new();
        for i in 0..CAPACITY {
            assert!(pool.put(i as u64, handle(i)).is_none());
        }
        let evicted = pool.put(CAPACITY as u64, handle(CAPACITY)).unwrap();
        assert!(same(&evicted, 0), "a full pool gives back its oldest");
        drop(evicted);
        // A middle slot: its tensor comes out and the newest takes its place.
        assert!(same(&pool.take(3).unwrap(), 3));
        assert!(pool.take(3).is_none());
        assert!(same(&pool.take(CAPACITY as u64).unwrap(), CAPACITY));
        for i in [1, 2, 4, 5] {
            assert!(same(&pool.take(i).unwrap(), i as usize));
        }
        assert_eq!(pool.len.get(), CAPACITY - 6);
        drop(pool);
        assert!(
            made.iter().all(|t| Arc::strong_count(&t.inner) == 1),
            "dropping the pool frees what it held"
        );
    }

    #[test]
    fn tensors_something_else_can_see_are_not_taken() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
        let fresh = || x.map_elements(|v: f32| v).unwrap();
        drain();
        let a = fresh();
        let alias = a.clone();
        drop(a);
        assert_eq!(pooled(), 0, "another handle is alive");
        drop(alias);
        assert_eq!(pooled(), 1, "the last handle went");
        drain();
        let v = fresh();
        let row = v.narrow(0, 0, 1).unwrap();
        drop(v);
        assert_eq!(pooled(), 0, "a view shares it");
        drop(row);
        drain();
        let leaf = fresh().requires_grad_(true).unwrap();
        let y = leaf.try_mul(2.0).unwrap();
        drop(y);
        assert_eq!(pooled(), 0, "y has a grad_fn");
        drop(leaf);
        assert_eq!(pooled(), 0, "a leaf that requires grad");
        drain();
        let with_grad = fresh();
        with_grad.set_grad(Some(fresh())).unwrap();
        drop(with_grad);
        assert_eq!(
            pooled(),
            1,
            "a tensor holding a .grad (only the grad is taken)"
        );
        drain();
        let hooked = fresh().requires_grad_(true).unwrap();
        hooked.register_hook(|g| Some(g.clone())).unwrap();
        hooked.requires_grad_(false).unwrap();
        drop(hooked);
        assert_eq!(pooled(), 0, "a tensor that keeps a hook");
        let leaf = fresh().requires_grad_(true).unwrap();
        let retained = leaf.try_mul(2.0).unwrap();
        retained.retain_grad().unwrap();
        retained.detach_();
        drop(leaf);
        drop(retained);
        assert_eq!(pooled(), 0, "a tensor that retains its grad");
        drain();
        let shared = fresh();
        let detached = shared.detach();
        drop(shared);
        assert_eq!(pooled(), 0, "detach() shares the storage");
        drop(detached);
        assert_eq!(pooled(), 1);
        drain();
        drop(Tensor::zeros(&[MAX_ELEMENTS + 1], DType::F32).unwrap());
        assert_eq!(pooled(), 0, "too large");
        drain();
        for _ in 0..2 * CAPACITY {
            drop(fresh().try_add(&fresh()).unwrap());
        }
        let kept: Vec<Tensor> = (0..2 * CAPACITY)
            .map(|_| Tensor::ones(&[2], DType::F32).unwrap())
            .collect();
        drop(kept);
        assert_eq!(pooled(), CAPACITY, "bounded");
        // The oldest give way: a pool full of 2-element tensors takes 3-element ones.
        let three = || Tensor::ones(&[3], DType::F32).unwrap();
        drop(three());
        assert_eq!(pooled_f32_of(3), 1);
        assert_eq!(pooled(), CAPACITY);
    }

    #[test]
    fn a_tensor_a_graph_node_still_points_to_is_not_taken() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
        let fresh = || x.map_elements(|v: f32| v).unwrap();
        drain();
        // `y`'s graph holds a weak handle on the leaf (its AccumulateGrad).
        let leaf = fresh().requires_grad_(true).unwrap();
        let y = leaf.try_mul(2.0).unwrap();
        leaf.requires_grad_(false).unwrap();
        assert!(leaf.inner.downgraded.load(Ordering::Relaxed));
        drop(leaf);
        assert_eq!(pooled(), 0, "a weak handle is alive");
        drop(y);
        // Once the graph is gone the same kind of tensor is taken, unmarked.
        let leaf = fresh().requires_grad_(true).unwrap();
        drop(leaf.try_mul(2.0).unwrap());
        leaf.requires_grad_(false).unwrap();
        drop(leaf);
        assert_eq!(pooled(), 1);
        let reused = fresh();
        assert_eq!(pooled(), 0);
        assert!(!reused.inner.downgraded.load(Ordering::Relaxed));
    }

    #[test]
    fn a_no_grad_chain_on_small_tensors_reaches_a_steady_state() {
        let x = Tensor::from_vec(vec![0.1f32, -0.2, 0.3, 0.4], &[4]).unwrap();
        let _guard = no_grad();
        drain();
        let mut h = x.clone();
        let mut want = vec![0.1f32, -0.2, 0.3, 0.4];
        for _ in 0..100 {
            h = h.try_mul(1.0001).unwrap().try_add(0.001).unwrap();
            want.iter_mut().for_each(|v| *v = *v * 1.0001 + 0.001);
        }
        assert!(pooled() <= 2);
        assert_eq!(h.to_vec::<f32>().unwrap(), want);
    }
}
