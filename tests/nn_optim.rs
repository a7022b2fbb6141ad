//! Optimizers and schedulers: parameter values after 5 steps of SGD (plain,
//! momentum with dampening and weight decay, Nesterov, maximize), Adam
//! (L2 decay, both lerp branches, AMSGrad) and AdamW in f64 and f32, and
//! the rates of StepLR and CosineAnnealingLR over 30 steps, against
//! PyTorch's (tests/fixtures/optim.npz, written by make_optim.py); a
//! transposed parameter updated as a contiguous one; the threaded path of
//! a large parameter against a naive loop; skipped parameters, zero_grad,
//! the version-counter rule, and every bad-option message.

use ferrograd::interop::npz::load_npz;
use ferrograd::prelude::*;

fn fixture() -> Vec<(String, Tensor)> {
    load_npz(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/optim.npz"
    ))
    .unwrap()
}

fn reference(name: &str) -> Tensor {
    fixture()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in optim.npz"))
        .1
}

fn values(t: &Tensor) -> Vec<f64> {
    t.double().unwrap().to_vec::<f64>().unwrap()
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (a, b)) in values(got).iter().zip(values(want)).enumerate() {
        assert!((a - b).abs() <= tol, "{what}[{i}]: got {a}, want {b}");
    }
}

fn error_of<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// A fresh leaf holding `t`'s values in `dtype`.
fn leaf(t: &Tensor, dtype: DType) -> Tensor {
    t.to_dtype(dtype)
        .unwrap()
        .deep_clone()
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

/// make_optim.py's loss: sum(sin(p) * target) + 0.1 * sum(p * p) per parameter.
fn loss(params: &[(Tensor, Tensor)]) -> Tensor {
    let mut total: Option<Tensor> = None;
    for (p, target) in params {
        let t = target.to_dtype(p.dtype()).unwrap();
        let term = (p.sin().unwrap() * &t).sum().unwrap() + (p * p).sum().unwrap() * 0.1;
        total = Some(match total {
            Some(acc) => acc + term,
            None => term,
        });
    }
    total.unwrap()
}

/// Runs 5 steps of the optimizer on `a` and `b` and compares every step
/// with `case`'s PyTorch values.
fn check_steps<O: Optimizer>(
    case: &str,
    (a, b): (Tensor, Tensor),
    make: impl Fn(Vec<Tensor>) -> Result<O>,
    tol: f64,
) {
    let pairs = [
        (a.clone(), reference("target.a")),
        (b.clone(), reference("target.b")),
    ];
    let mut opt = make(vec![a.clone(), b.clone()]).unwrap();
    let want_a = reference(&format!("{case}.a"));
    let want_b = reference(&format!("{case}.b"));
    for step in 0..5 {
        opt.zero_grad();
        loss(&pairs).backward().unwrap();
        opt.step().unwrap();
        let (s, what) = (step as isize, format!("{case} step {}", step + 1));
        assert_close(&a, &want_a.select(0, s).unwrap(), tol, &format!("{what} a"));
        assert_close(&b, &want_b.select(0, s).unwrap(), tol, &format!("{what} b"));
    }
}

/// Float64 cases are compared to 1e-13, float32 ones (suffix `_f32`) to 2e-6.
fn check_case<O: Optimizer>(case: &str, make: impl Fn(Vec<Tensor>) -> Result<O>) {
    let (dtype, tol) = match case.ends_with("_f32") {
        true => (DType::F32, 2e-6),
        false => (DType::F64, 1e-13),
    };
    let params = (
        leaf(&reference("init.a"), dtype),
        leaf(&reference("init.b"), dtype),
    );
    check_steps(case, params, make, tol);
}

fn sgd_momentum() -> SgdConfig {
    SgdConfig::new()
        .lr(0.05)
        .momentum(0.9)
        .dampening(0.3)
        .weight_decay(0.01)
}

fn adam_l2() -> AdamConfig {
    AdamConfig::new()
        .lr(0.05)
        .betas((0.8, 0.95))
        .eps(1e-6)
        .weight_decay(0.01)
}

#[test]
fn sgd_matches_pytorch() {
    check_case("sgd_plain", |p| SGD::new(p, SgdConfig::new().lr(0.1)));
    check_case("sgd_momentum", |p| SGD::new(p, sgd_momentum()));
    check_case("sgd_momentum_f32", |p| SGD::new(p, sgd_momentum()));
    let nesterov = SgdConfig::new()
        .lr(0.05)
        .momentum(0.8)
        .nesterov(true)
        .weight_decay(0.02);
    check_case("sgd_nesterov", |p| SGD::new(p, nesterov));
    let maximize = SgdConfig::new().lr(0.02).momentum(0.5).maximize(true);
    check_case("sgd_maximize", |p| SGD::new(p, maximize));
}

#[test]
fn adam_matches_pytorch() {
    check_case("adam", |p| Adam::new(p, adam_l2()));
    let low_beta1 = AdamConfig::new().lr(0.05).betas((0.3, 0.9));
    check_case("adam_low_beta1", |p| Adam::new(p, low_beta1));
    let amsgrad = AdamConfig::new().lr(0.05).betas((0.9, 0.5)).amsgrad(true);
    check_case("adam_amsgrad", |p| Adam::new(p, amsgrad));
}

#[test]
fn adamw_matches_pytorch() {
    check_case("adamw", |p| {
        AdamW::new(p, AdamWConfig::new().lr(0.05).weight_decay(0.1))
    });
    let amsgrad = AdamWConfig::new().lr(0.05).betas((0.9, 0.5)).amsgrad(true);
    check_case("adamw_amsgrad_f32", |p| AdamW::new(p, amsgrad));
}

/// A leaf whose storage holds the values transposed: `a` is `(3, 4)` with
/// strides `(1, 3)`.
fn transposed_leaf(t: &Tensor) -> Tensor {
    let stored = t.t().unwrap().contiguous().unwrap().deep_clone().unwrap();
    let a = stored.t().unwrap().requires_grad_(true).unwrap();
    assert!(!a.is_contiguous() && a.is_leaf());
    a
}

#[test]
fn a_transposed_parameter_gets_the_same_update() {
    let b = || leaf(&reference("init.b"), DType::F64);
    let a = transposed_leaf(&reference("init.a"));
    check_steps(
        "sgd_momentum",
        (a, b()),
        |p| SGD::new(p, sgd_momentum()),
        1e-13,
    );
    let a = transposed_leaf(&reference("init.a"));
    check_steps("adam", (a, b()), |p| Adam::new(p, adam_l2()), 1e-13);
}

#[test]
fn schedulers_match_pytorch_exactly() {
    let w = Tensor::zeros(&[1], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let check = |name: &str, sched: &mut dyn LrScheduler, opt: &mut dyn Optimizer| {
        let want = values(&reference(name));
        let got: Vec<f64> = (0..want.len())
            .map(|_| {
                sched.step(opt);
                assert_eq!(opt.lr(), sched.get_last_lr());
                sched.get_last_lr()
            })
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(sched.last_epoch(), want.len() as u64);
    };
    let mut opt = SGD::new(vec![w.clone()], SgdConfig::new().lr(0.1)).unwrap();
    let mut step = StepLR::new(&opt, 7, 0.3).unwrap();
    check("sched.step", &mut step, &mut opt);
    let mut opt = SGD::new(vec![w], SgdConfig::new().lr(0.1)).unwrap();
    let mut cosine = CosineAnnealingLR::new(&opt, 10, 0.001).unwrap();
    check("sched.cosine", &mut cosine, &mut opt);
}

#[test]
fn schedulers_continue_from_a_rate_set_by_hand() {
    let w = Tensor::zeros(&[1], DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let mut opt = SGD::new(vec![w], SgdConfig::new().lr(1.0)).unwrap();
    let mut sched = StepLR::new(&opt, 2, 0.5).unwrap();
    sched.step(&mut opt);
    opt.set_lr(0.25);
    sched.step(&mut opt);
    assert_eq!(sched.get_last_lr(), 0.125);
    // The cosine closed form, eta_min + (base - eta_min) * (1 + cos(pi e / T)) / 2,
    // agrees with the recursive form while nobody sets the rate.
    let mut opt = SGD::new(vec![opt.params()[0].clone()], SgdConfig::new().lr(0.2)).unwrap();
    let mut cosine = CosineAnnealingLR::new(&opt, 6, 0.02).unwrap();
    for e in 1..=24 {
        cosine.step(&mut opt);
        let closed = 0.02 + 0.18 * (1.0 + (std::f64::consts::PI * e as f64 / 6.0).cos()) / 2.0;
        assert!(
            (opt.lr() - closed).abs() < 1e-12,
            "epoch {e}: {} vs {closed}",
            opt.lr()
        );
    }
}

/// Adam's update written out element by element, in f64.
fn naive_adam(p: &mut [f64], grads: &[Vec<f64>], lr: f64, (b1, b2): (f64, f64), eps: f64) {
    let (mut m, mut v) = (vec![0.0; p.len()], vec![0.0; p.len()]);
    for (t, g) in grads.iter().enumerate() {
        let t = (t + 1) as f64;
        let (bc1, bc2) = (1.0 - b1.powf(t), 1.0 - b2.powf(t));
        for i in 0..p.len() {
            m[i] += (1.0 - b1) * (g[i] - m[i]);
            v[i] = v[i] * b2 + (1.0 - b2) * g[i] * g[i];
            p[i] -= lr / bc1 * m[i] / (v[i].sqrt() / bc2.sqrt() + eps);
        }
    }
}

#[test]
fn a_large_parameter_is_updated_as_a_naive_loop_does() {
    let n = 100_003; // several parallel chunks, the last one partial
    let init: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let grads: Vec<Vec<f64>> = (0..3)
        .map(|s| {
            (0..n)
                .map(|i| ((i * 31 + s * 17) % 97) as f64 / 48.0 - 1.0)
                .collect()
        })
        .collect();
    let w = Tensor::from_vec(init.clone(), &[n])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let config = AdamConfig::new().lr(0.01).betas((0.9, 0.99)).eps(1e-8);
    let mut opt = Adam::new(vec![w.clone()], config).unwrap();
    for g in &grads {
        w.set_grad(Some(Tensor::from_vec(g.clone(), &[n]).unwrap()))
            .unwrap();
        opt.step().unwrap();
    }
    let mut want = init;
    naive_adam(&mut want, &grads, 0.01, (0.9, 0.99), 1e-8);
    let got = w.to_vec::<f64>().unwrap();
    for i in 0..n {
        assert!(
            (got[i] - want[i]).abs() < 1e-14,
            "[{i}]: {} vs {}",
            got[i],
            want[i]
        );
    }
}

#[test]
fn parameters_without_a_grad_are_skipped() {
    let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let frozen = Tensor::from_vec(vec![5.0f64], &[1])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let mut opt = Adam::new(vec![a.clone(), frozen.clone()], AdamConfig::new()).unwrap();
    let v0 = frozen.version();
    for _ in 0..3 {
        a.set_grad(Some(Tensor::from_vec(vec![1.0f64, -1.0], &[2]).unwrap()))
            .unwrap();
        opt.step().unwrap();
    }
    assert_eq!(frozen.to_vec::<f64>().unwrap(), vec![5.0]);
    assert_eq!(frozen.version(), v0);
    assert_eq!((opt.state()[0].step(), opt.state()[1].step()), (3, 0));
    assert!(opt.state()[1].buffers().is_empty());
    // Its own step count starts with its first gradient, as in PyTorch.
    frozen
        .set_grad(Some(Tensor::from_vec(vec![1.0f64], &[1]).unwrap()))
        .unwrap();
    opt.step().unwrap();
    assert_eq!(opt.state()[1].step(), 1);
    let moved = 5.0 - frozen.to_vec::<f64>().unwrap()[0];
    assert!(
        (moved - 1e-3).abs() < 1e-9,
        "first Adam step moves by lr: {moved}"
    );
}

#[test]
fn zero_grad_sets_grads_to_none() {
    let a = Tensor::from_vec(vec![1.0f32], &[1])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let opt = SGD::new(vec![a.clone()], SgdConfig::new()).unwrap();
    (&a * 2.0).sum().unwrap().backward().unwrap();
    assert!(a.grad().is_some());
    opt.zero_grad();
    assert!(a.grad().is_none());
}

#[test]
fn a_step_bumps_the_version_and_breaks_graphs_that_saved_the_parameter() {
    let w = Tensor::from_vec(vec![1.0f64, 2.0], &[2])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let mut opt = SGD::new(vec![w.clone()], SgdConfig::new().lr(0.1)).unwrap();
    let saved = (&w * &w).sum().unwrap(); // MulBackward saves w
    w.set_grad(Some(Tensor::ones(&[2], DType::F64).unwrap()))
        .unwrap();
    let v0 = w.version();
    opt.step().unwrap();
    assert_eq!(w.version(), v0 + 1);
    let e = error_of(saved.backward());
    assert!(e.contains("modified by an inplace operation"), "{e}");
    // Outside the step the leaf still refuses in-place writes under grad mode.
    assert!(error_of(w.add_(1.0)).contains("a leaf Variable that requires grad"));
    assert!(w.is_leaf() && w.requires_grad());
}

#[test]
fn a_gradient_of_another_dtype_is_an_error() {
    let w = Tensor::from_vec(vec![1.0f64], &[1])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let mut opt = SGD::new(vec![w.clone()], SgdConfig::new()).unwrap();
    w.set_grad(Some(Tensor::ones(&[1], DType::F32).unwrap()))
        .unwrap();
    let e = error_of(opt.step());
    assert!(e.contains("does not match its parameter"), "{e}");
}

#[test]
fn bad_options_fail_with_pytorchs_messages() {
    let w = || {
        Tensor::ones(&[2], DType::F32)
            .unwrap()
            .requires_grad_(true)
            .unwrap()
    };
    let sgd = |c: SgdConfig| error_of(SGD::new(vec![w()], c));
    let adam = |c: AdamConfig| error_of(Adam::new(vec![w()], c));
    let cases = [
        (
            sgd(SgdConfig::new().lr(-0.1)),
            "Invalid learning rate: -0.1",
        ),
        (
            sgd(SgdConfig::new().lr(f64::NAN)),
            "Invalid learning rate: nan",
        ),
        (
            sgd(SgdConfig::new().momentum(-0.5)),
            "Invalid momentum value: -0.5",
        ),
        (
            sgd(SgdConfig::new().weight_decay(-1e-5)),
            "Invalid weight_decay value: -1e-05",
        ),
        (
            sgd(SgdConfig::new().nesterov(true)),
            "Nesterov momentum requires a momentum and zero dampening",
        ),
        (
            sgd(SgdConfig::new().nesterov(true).momentum(0.9).dampening(0.1)),
            "Nesterov momentum requires a momentum and zero dampening",
        ),
        (
            adam(AdamConfig::new().lr(-1.0)),
            "Invalid learning rate: -1.0",
        ),
        (
            adam(AdamConfig::new().eps(-1e-8)),
            "Invalid epsilon value: -1e-08",
        ),
        (
            adam(AdamConfig::new().betas((1.0, 0.9))),
            "Invalid beta parameter at index 0: 1.0",
        ),
        (
            adam(AdamConfig::new().betas((0.9, -0.1))),
            "Invalid beta parameter at index 1: -0.1",
        ),
        (
            adam(AdamConfig::new().weight_decay(-0.1)),
            "Invalid weight_decay value: -0.1",
        ),
        (
            error_of(SGD::new(vec![], SgdConfig::new())),
            "optimizer got an empty parameter list",
        ),
        (
            error_of(SGD::new(vec![&w() * 2.0], SgdConfig::new())),
            "can't optimize a non-leaf Tensor",
        ),
        (
            error_of(StepLR::new(
                &SGD::new(vec![w()], SgdConfig::new()).unwrap(),
                0,
                0.1,
            )),
            "step_size",
        ),
    ];
    for (got, want) in cases {
        assert!(got.contains(want), "{got:?} should contain {want:?}");
    }
}

#[test]
fn a_parameter_given_twice_is_updated_once() {
    let w = Tensor::from_vec(vec![1.0f64], &[1])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let mut opt = SGD::new(vec![w.clone(), w.clone()], SgdConfig::new().lr(0.5)).unwrap();
    assert_eq!(opt.params().len(), 1);
    w.set_grad(Some(Tensor::ones(&[1], DType::F64).unwrap()))
        .unwrap();
    opt.step().unwrap();
    assert_eq!(w.to_vec::<f64>().unwrap(), vec![0.5]);
}
