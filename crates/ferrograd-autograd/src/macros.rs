//! The `tensor!` macro for nested literals.
