//! Random tensors: seeding repeats sequences, explicit generators are
//! independent of the default one, sample statistics match the distribution,
//! argument and dtype checks, and the in-place fills' autograd rules.

use ferrograd_autograd::{manual_seed, no_grad, DType, Generator, Tensor};
use parking_lot::Mutex;

/// Serialises the tests that seed or draw from the process-global generator,
/// which the test harness would otherwise run on several threads at once.
static DEFAULT_GENERATOR: Mutex<()> = Mutex::new(());

fn values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap()
}

/// Mean and (population) standard deviation computed with a naive loop.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn manual_seed_repeats_the_default_sequence() {
    let _lock = DEFAULT_GENERATOR.lock();
    manual_seed(2024);
    let a = values(&Tensor::rand(&[16], DType::F32).unwrap());
    let b = values(&Tensor::randn(&[4, 4], DType::F64).unwrap());
    manual_seed(2024);
    assert_eq!(values(&Tensor::rand(&[16], DType::F32).unwrap()), a);
    assert_eq!(values(&Tensor::randn(&[4, 4], DType::F64).unwrap()), b);
    assert_eq!(ferrograd_autograd::initial_seed(), 2024);
}

#[test]
fn different_seeds_give_different_numbers() {
    let a = Tensor::rand_with(&[32], DType::F32, &mut Generator::new(1)).unwrap();
    let b = Tensor::rand_with(&[32], DType::F32, &mut Generator::new(2)).unwrap();
    assert_ne!(values(&a), values(&b));
}

#[test]
fn consecutive_draws_differ() {
    let mut g = Generator::new(9);
    let a = Tensor::randn_with(&[32], DType::F32, &mut g).unwrap();
    let b = Tensor::randn_with(&[32], DType::F32, &mut g).unwrap();
    assert_ne!(values(&a), values(&b));
}

#[test]
fn explicit_generators_ignore_the_default_one() {
    let _lock = DEFAULT_GENERATOR.lock();
    let mut g = Generator::new(77);
    let alone = values(&Tensor::randn_with(&[8], DType::F32, &mut g).unwrap());
    manual_seed(77);
    let mut g = Generator::new(77);
    let _ = Tensor::rand(&[5], DType::F32).unwrap();
    let first = values(&Tensor::randn_with(&[4], DType::F32, &mut g).unwrap());
    let _ = Tensor::randn(&[3], DType::F32).unwrap();
    let second = values(&Tensor::randn_with(&[4], DType::F32, &mut g).unwrap());
    assert_eq!([first, second].concat(), alone);
}

#[test]
fn drawing_from_a_generator_leaves_the_default_sequence_alone() {
    let _lock = DEFAULT_GENERATOR.lock();
    manual_seed(5);
    let expected = values(&Tensor::rand(&[6], DType::F64).unwrap());
    manual_seed(5);
    let _ = Tensor::rand_with(&[100], DType::F64, &mut Generator::new(5)).unwrap();
    assert_eq!(values(&Tensor::rand(&[6], DType::F64).unwrap()), expected);
}

#[test]
fn rand_is_uniform_on_zero_one() {
    for dtype in [DType::F32, DType::F64] {
        let v = values(&Tensor::rand_with(&[100_000], dtype, &mut Generator::new(11)).unwrap());
        assert!(v.iter().all(|&x| (0.0..1.0).contains(&x)));
        let (mean, std) = mean_std(&v);
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert!((std - (1.0f64 / 12.0).sqrt()).abs() < 0.01, "{std}");
    }
}

#[test]
fn randn_is_standard_normal() {
    for dtype in [DType::F32, DType::F64] {
        let v = values(&Tensor::randn_with(&[100_000], dtype, &mut Generator::new(12)).unwrap());
        let (mean, std) = mean_std(&v);
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((std - 1.0).abs() < 0.02, "{std}");
        let within_one = v.iter().filter(|x| x.abs() < 1.0).count() as f64 / v.len() as f64;
        assert!((within_one - 0.6827).abs() < 0.01, "{within_one}");
    }
}

#[test]
fn normal_and_uniform_take_their_parameters() {
    let mut g = Generator::new(13);
    let v = values(&Tensor::normal_with(3.0, 2.0, &[100_000], DType::F32, &mut g).unwrap());
    let (mean, std) = mean_std(&v);
    assert!(
        (mean - 3.0).abs() < 0.04 && (std - 2.0).abs() < 0.04,
        "{mean} {std}"
    );

    let v = values(&Tensor::uniform_with(-4.0, 6.0, &[100_000], DType::F64, &mut g).unwrap());
    assert!(v.iter().all(|&x| (-4.0..6.0).contains(&x)));
    let (mean, std) = mean_std(&v);
    assert!((mean - 1.0).abs() < 0.05, "{mean}");
    assert!((std - 10.0 / 12.0f64.sqrt()).abs() < 0.05, "{std}");
}

#[test]
fn randint_respects_its_range_and_hits_every_value() {
    let t = Tensor::randint_with(-2, 3, &[10, 100], &mut Generator::new(14)).unwrap();
    assert_eq!((t.shape(), t.dtype()), (&[10, 100][..], DType::I64));
    let v = t.to_vec::<i64>().unwrap();
    let mut counts = [0usize; 5];
    for x in v {
        assert!((-2..3).contains(&x), "{x}");
        counts[(x + 2) as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| (150..250).contains(&c)),
        "{counts:?}"
    );
    let one = Tensor::randint_with(7, 8, &[20], &mut Generator::new(1)).unwrap();
    assert_eq!(one.to_vec::<i64>().unwrap(), vec![7; 20]);
}

#[test]
fn bad_arguments_are_errors_with_pytorch_messages() {
    let mut g = Generator::new(0);
    let e = Tensor::randint_with(3, 1, &[2], &mut g).unwrap_err();
    assert_eq!(
        e.to_string(),
        "random_: expects 'from' to be less than 'to', but got from=3 >= to=1"
    );
    let e = Tensor::uniform_with(1.0, 0.0, &[2], DType::F32, &mut g).unwrap_err();
    assert_eq!(
        e.to_string(),
        "uniform_: expects to return a [from, to) range, but found from=1 > to=0"
    );
    assert!(Tensor::uniform_with(0.0, f64::INFINITY, &[2], DType::F32, &mut g).is_err());
    let e = Tensor::normal_with(0.0, -0.5, &[2], DType::F64, &mut g).unwrap_err();
    assert_eq!(
        e.to_string(),
        "normal: expects std >= 0.0, but found std -0.5"
    );
    assert!(Tensor::normal_with(0.0, f64::NAN, &[2], DType::F64, &mut g).is_err());
}

#[test]
fn only_floating_dtypes_are_drawn() {
    let mut g = Generator::new(0);
    for dtype in [DType::I64, DType::I32, DType::U8, DType::Bool] {
        let e = Tensor::rand_with(&[2], dtype, &mut g).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("rand is not implemented for dtype {dtype}")),
            "{e}"
        );
        let e = Tensor::randn_with(&[2], dtype, &mut g).unwrap_err();
        assert!(e.to_string().contains(dtype.name()), "{e}");
        assert!(Tensor::normal_with(0.0, 1.0, &[2], dtype, &mut g).is_err());
        let t = Tensor::zeros(&[2], dtype).unwrap();
        assert!(t.uniform_with_(0.0, 1.0, &mut g).is_err());
        assert!(t.normal_with_(0.0, 1.0, &mut g).is_err());
    }
}

#[test]
fn like_forms_copy_shape_and_dtype() {
    let _lock = DEFAULT_GENERATOR.lock();
    let base = Tensor::zeros(&[3, 2], DType::F64).unwrap();
    for t in [
        Tensor::rand_like(&base).unwrap(),
        Tensor::randn_like(&base).unwrap(),
    ] {
        assert_eq!((t.shape(), t.dtype()), (&[3, 2][..], DType::F64));
    }
    assert!(Tensor::rand_like(&Tensor::zeros(&[2], DType::I64).unwrap()).is_err());
}

#[test]
fn inplace_fills_follow_the_leaf_rules() {
    let w = Tensor::zeros(&[4, 5], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let mut g = Generator::new(3);
    assert!(w.uniform_with_(-1.0, 1.0, &mut g).is_err());
    let v0 = w.version();
    {
        let _guard = no_grad();
        w.uniform_with_(-1.0, 1.0, &mut g).unwrap();
        w.normal_with_(0.0, 0.1, &mut g).unwrap();
    }
    assert_eq!(w.version(), v0 + 2);
    assert!(w.is_leaf() && w.requires_grad());
    assert!(values(&w).iter().any(|&x| x != 0.0));
}

#[test]
fn inplace_fills_write_through_strided_views() {
    let base = Tensor::zeros(&[3, 4], DType::F64).unwrap();
    let col = base.select(1, 2).unwrap();
    col.uniform_with_(5.0, 6.0, &mut Generator::new(4)).unwrap();
    let v = base.to_vec::<f64>().unwrap();
    for (i, x) in v.iter().enumerate() {
        assert_eq!((5.0..6.0).contains(x), i % 4 == 2, "element {i} = {x}");
    }
}

#[test]
fn inplace_fill_on_a_graph_result_cuts_the_gradient() {
    let x = Tensor::ones(&[3], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let y = &x * 2.0;
    y.normal_with_(0.0, 1.0, &mut Generator::new(8)).unwrap();
    assert_eq!(y.grad_fn().unwrap().name(), "NormalBackward0");
    y.sum().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f32>().unwrap(), vec![0.0; 3]);
}

#[test]
fn generators_can_be_reseeded_and_cloned() {
    let mut g = Generator::new(21);
    let mut fork = g.clone();
    let a = values(&Tensor::rand_with(&[5], DType::F32, &mut g).unwrap());
    assert_eq!(
        values(&Tensor::rand_with(&[5], DType::F32, &mut fork).unwrap()),
        a
    );
    g.manual_seed(21);
    assert_eq!(
        values(&Tensor::rand_with(&[5], DType::F32, &mut g).unwrap()),
        a
    );
    assert_eq!(g.initial_seed(), 21);
}
