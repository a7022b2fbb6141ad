//! [`Scratch`]: working buffers (column matrices, products) taken from a
//! per-thread pool and given back on drop, so a training loop does not
//! allocate and zero megabytes per convolution. Their contents are left over
//! from earlier use: every user writes a buffer fully before reading it.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Buffers a thread keeps for reuse.
const POOL_SIZE: usize = 4;
/// Buffers above this many elements are freed, not kept.
const MAX_KEPT: usize = 1 << 24;

/// An element type with a per-thread pool of buffers.
pub(crate) trait PoolElement: Copy + Default + 'static {
    /// Runs `f` on this thread's pool.
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

macro_rules! pool_element {
    ($($t:ty),*) => {$(
        impl PoolElement for $t {
            fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R {
                thread_local! {
                    static POOL: RefCell<Vec<Vec<$t>>> = const { RefCell::new(Vec::new()) };
                }
                POOL.with(|p| f(&mut p.borrow_mut()))
            }
        }
    )*};
}

pool_element!(f32, f64);

/// A buffer of `len` elements with unspecified contents, from the pool.
pub(crate) struct Scratch<T: PoolElement> {
    buf: Vec<T>,
    len: usize,
}

impl<T: PoolElement> Scratch<T> {
    /// Takes a buffer of at least `len` elements from this thread's pool.
    pub fn new(len: usize) -> Self {
        let mut buf = T::with_pool(|p| p.pop()).unwrap_or_default();
        if buf.len() < len {
            buf.resize(len, T::default());
        }
        Scratch { buf, len }
    }
}

impl<T: PoolElement> Deref for Scratch<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf[..self.len]
    }
}

impl<T: PoolElement> DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf[..self.len]
    }
}

impl<T: PoolElement> Drop for Scratch<T> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if buf.len() <= MAX_KEPT {
            T::with_pool(|p| {
                if p.len() < POOL_SIZE {
                    p.push(buf);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_sized_on_demand() {
        let first = Scratch::<f64>::new(10);
        let ptr = first.as_ptr();
        drop(first);
        let again = Scratch::<f64>::new(5);
        assert_eq!((again.as_ptr(), again.len()), (ptr, 5));
        let both = (again, Scratch::<f64>::new(20));
        assert_ne!(both.0.as_ptr(), both.1.as_ptr());
        assert_eq!(both.1.len(), 20);
    }
}
