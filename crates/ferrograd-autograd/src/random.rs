//! Random tensors: a seedable global generator and explicit generators.
