//! Linear regression with SGD: recovers the weights and bias that generated
//! noisy data, the way a first PyTorch tutorial does.
//!
//! Run: `cargo run --release --example linear_regression`

use ferrograd::prelude::*;

const TRUE_W: [f32; 3] = [2.0, -3.4, 0.5];
const TRUE_B: f32 = 4.2;

fn main() -> Result<()> {
    manual_seed(0);
    let n = 1000;
    // y = x · w + b + noise, with x ~ N(0, 1) and noise ~ N(0, 0.01²).
    let x = Tensor::randn(&[n, 3], DType::F32)?;
    let w = Tensor::from_vec(TRUE_W.to_vec(), &[3, 1])?;
    let noise = Tensor::randn(&[n, 1], DType::F32)? * 0.01;
    let y = x.matmul(&w)? + f64::from(TRUE_B) + noise;

    let model = Linear::new(3, 1)?;
    let mut opt = SGD::new(model.parameters(), SgdConfig::new().lr(0.05).momentum(0.9))?;
    let mut sched = StepLR::new(&opt, 10, 0.5)?;
    let batch = 100;
    for epoch in 1..=30 {
        let mut total = 0.0;
        for start in (0..n as isize).step_by(batch) {
            let xb = x.narrow(0, start, batch)?;
            let yb = y.narrow(0, start, batch)?;
            opt.zero_grad();
            let loss = mse_loss(&model.forward(&xb)?, &yb, Reduction::Mean)?;
            loss.backward()?;
            opt.step()?;
            total += loss.item::<f32>()?;
        }
        sched.step(&mut opt);
        if epoch <= 3 || epoch % 10 == 0 {
            let mean = total / (n / batch) as f32;
            println!("epoch {epoch:3}  loss {mean:.6}  lr {:.4}", opt.lr());
        }
    }

    let learned = model.weight.to_vec::<f32>()?;
    let bias = model
        .bias
        .as_ref()
        .expect("Linear has a bias")
        .item::<f32>()?;
    println!("learned w = {learned:.3?}  (true {TRUE_W:?})");
    println!("learned b = {bias:.3}  (true {TRUE_B})");
    Ok(())
}
