//! NumPy-style indexing: the `s!` macro and `Tensor::index`.
