//! A five-minute tour: tensors, zero-copy views (negative strides too) and
//! autograd with PyTorch's rules.
//!
//! Run: `cargo run --release --example tour`

use ferrograd::prelude::*;

fn main() -> Result<()> {
    // Views never copy: reshape, transpose and a reversed slice share memory.
    let t = Tensor::arange(0, 12)?.reshape(&[3, 4])?;
    let reversed = t.slice(1, None, None, -1)?; // t[:, ::-1]
    println!("t[:, ::-1] = {:?}", reversed.to_vec::<i64>()?);
    println!(
        "strides {:?}, shares storage with t: {}",
        reversed.strides(),
        reversed.shares_storage(&t)
    );

    // Autograd: the graph records ops on tensors that require grad.
    let w = Tensor::from_vec(vec![0.5f32, -1.0, 2.0], &[3])?.requires_grad_(true)?;
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    let loss = (&(&w * &x) - 1.0).sum()?;
    loss.backward()?;
    println!(
        "loss = {}, d loss / d w = {:?}",
        loss.item::<f32>()?,
        w.grad().unwrap().to_vec::<f32>()?
    );

    // The rules are enforced: a leaf that requires grad can't be changed in place...
    match w.add_(1.0) {
        Err(e) => println!("w.add_(1.0) -> Err: {e}"),
        Ok(_) => unreachable!(),
    }
    // ...except under no_grad, which is how optimizers update weights.
    with_no_grad(|| w.sub_(&(&w.grad().unwrap() * 0.1)))?;
    println!("after one SGD step w = {:?}", w.to_vec::<f32>()?);
    Ok(())
}
