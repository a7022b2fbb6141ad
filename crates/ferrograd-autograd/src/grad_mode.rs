//! Grad mode: a thread-local switch that decides whether ops record the
//! graph. [`no_grad`], [`enable_grad`] and [`set_grad_enabled`] return RAII
//! guards that nest and restore the previous mode when dropped — also when
//! the code under them panics.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// True when ops on this thread record the graph (the default).
///
/// ```
/// use ferrograd_autograd::{is_grad_enabled, no_grad};
/// assert!(is_grad_enabled());
/// let _guard = no_grad();
/// assert!(!is_grad_enabled());
/// ```
#[inline]
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Restores the previous grad mode when dropped.
///
/// ```
/// use ferrograd_autograd::{enable_grad, is_grad_enabled, no_grad};
/// let outer = no_grad();
/// {
///     let _inner = enable_grad();
///     assert!(is_grad_enabled());
/// }
/// assert!(!is_grad_enabled()); // back to the outer guard's mode
/// drop(outer);
/// assert!(is_grad_enabled());
/// ```
#[must_use = "grad mode is restored as soon as the guard is dropped; bind it with `let _guard = ...`"]
pub struct GradModeGuard {
    previous: bool,
    // Grad mode is per thread: the guard must be dropped where it was made.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Sets grad mode on this thread until the returned guard drops.
///
/// ```
/// use ferrograd_autograd::{is_grad_enabled, set_grad_enabled};
/// {
///     let _g = set_grad_enabled(false);
///     assert!(!is_grad_enabled());
/// }
/// assert!(is_grad_enabled());
/// ```
pub fn set_grad_enabled(enabled: bool) -> GradModeGuard {
    let previous = GRAD_ENABLED.with(|g| g.replace(enabled));
    GradModeGuard {
        previous,
        _not_send: std::marker::PhantomData,
    }
}

/// Turns graph recording off until the guard drops (`with torch.no_grad():`).
///
/// ```
/// use ferrograd_autograd::{no_grad, Tensor};
/// let w = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap().requires_grad_(true).unwrap();
/// let y = {
///     let _g = no_grad();
///     &w * 2.0
/// };
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad() -> GradModeGuard {
    set_grad_enabled(false)
}

/// Turns graph recording on until the guard drops (`with torch.enable_grad():`).
///
/// ```
/// use ferrograd_autograd::{enable_grad, no_grad, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32], &[1])?.requires_grad_(true)?;
/// let _off = no_grad();
/// assert!(!(&x * 2.0).requires_grad());
/// let y = {
///     let _on = enable_grad();
///     &x * 2.0
/// };
/// assert!(y.requires_grad());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn enable_grad() -> GradModeGuard {
    set_grad_enabled(true)
}

/// Runs `f` with graph recording off and returns its result.
///
/// ```
/// use ferrograd_autograd::{with_no_grad, is_grad_enabled};
/// assert!(!with_no_grad(is_grad_enabled));
/// ```
pub fn with_no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = no_grad();
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_nest_and_restore() {
        assert!(is_grad_enabled());
        {
            let _a = no_grad();
            assert!(!is_grad_enabled());
            {
                let _b = enable_grad();
                assert!(is_grad_enabled());
            }
            assert!(!is_grad_enabled());
        }
        assert!(is_grad_enabled());
    }

    #[test]
    fn a_panic_restores_the_mode() {
        let result = std::panic::catch_unwind(|| {
            let _g = no_grad();
            panic!("boom");
        });
        assert!(result.is_err());
        assert!(is_grad_enabled());
    }

    #[test]
    fn mode_is_per_thread() {
        let _g = no_grad();
        let other = std::thread::spawn(is_grad_enabled).join().unwrap();
        assert!(other);
        assert!(!is_grad_enabled());
    }
}
