//! Layers and the Module trait: dotted names in nested models, train/eval
//! and what it changes in BatchNorm2d and Dropout (against statistics
//! computed here by hand), PyTorch's default initialisations (bounds and
//! moments derived here from the formulas), the `init` functions, values of
//! models with BatchNorm2d/LayerNorm/GELU/AvgPool2d/Embedding against
//! PyTorch's (tests/fixtures/nn.npz, written by make_nn.py), gradients
//! through a composed model, and every bad-input message.

use ferrograd::autograd::gradcheck;
use ferrograd::interop::npz::load_npz;
use ferrograd::nn::init::*;
use ferrograd::nn::layers::*;
use ferrograd::nn::module::ModuleState;
use ferrograd::prelude::*;

fn reference(name: &str) -> Tensor {
    load_npz(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/nn.npz"
    ))
    .unwrap()
    .into_iter()
    .find(|(n, _)| n == name)
    .unwrap_or_else(|| panic!("no {name} in nn.npz"))
    .1
}

/// The entries of nn.npz under `prefix.`, with the prefix removed.
fn reference_state(prefix: &str) -> Vec<(String, Tensor)> {
    load_npz(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/nn.npz"
    ))
    .unwrap()
    .into_iter()
    .filter_map(|(n, t)| Some((n.strip_prefix(&format!("{prefix}."))?.to_string(), t)))
    .collect()
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

fn names(pairs: Vec<(String, Tensor)>) -> Vec<String> {
    pairs.into_iter().map(|(n, _)| n).collect()
}

fn error_of<T>(r: ferrograd::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
}

// ----- names and structure -----

fn nested() -> Sequential {
    let inner = Sequential::new()
        .append(Linear::new(8, 8).unwrap())
        .append(LayerNorm::new(&[8]).unwrap());
    let encoder = Sequential::new()
        .append(Linear::new(4, 8).unwrap())
        .append(ReLU::new())
        .append(inner);
    Sequential::new()
        .add_module("encoder", encoder)
        .unwrap()
        .add_module("head", Linear::new(8, 2).unwrap())
        .unwrap()
}

#[test]
fn nested_sequentials_have_dotted_names() {
    let model = nested();
    assert_eq!(
        names(model.named_parameters()),
        [
            "encoder.0.weight",
            "encoder.0.bias",
            "encoder.2.0.weight",
            "encoder.2.0.bias",
            "encoder.2.1.weight",
            "encoder.2.1.bias",
            "head.weight",
            "head.bias"
        ]
    );
    let modules: Vec<String> = model.named_modules().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        modules,
        [
            "",
            "encoder",
            "encoder.0",
            "encoder.1",
            "encoder.2",
            "encoder.2.0",
            "encoder.2.1",
            "head"
        ]
    );
    let ln = model.get_submodule("encoder.2.1").unwrap();
    assert_eq!(ln.type_name(), "LayerNorm");
    assert_eq!(ln.state().path(), "encoder.2.1");
    assert_eq!(model.get_submodule("").unwrap().type_name(), "Sequential");
    let e = error_of(model.get_submodule("encoder.5"));
    assert!(
        e.contains("Sequential 'encoder' has no submodule '5' (looking up 'encoder.5'); its submodules are [0, 1, 2]"),
        "{e}"
    );
    let x = Tensor::randn(&[3, 4], DType::F32).unwrap();
    assert_eq!(model.forward(&x).unwrap().shape(), &[3, 2]);
}

#[test]
fn parameters_are_the_layers_tensors() {
    let fc = Linear::new(3, 2).unwrap();
    let params = fc.parameters();
    assert!(params[0].same_tensor(&fc.weight));
    assert!(params[1].same_tensor(fc.bias.as_ref().unwrap()));
    assert!(params.iter().all(|p| p.is_leaf() && p.requires_grad()));
    let bn = BatchNorm2d::new(3).unwrap();
    assert!(bn.buffers().iter().all(|b| !b.requires_grad()));
    assert_eq!(names(bn.named_parameters()), ["weight", "bias"]);
}

#[test]
fn sequential_builds_replaces_and_passes_through() {
    let mut seq = Sequential::new();
    assert!(seq.is_empty());
    let x = Tensor::from_vec(vec![-1.0f32, 2.0], &[1, 2]).unwrap();
    assert!(seq.forward(&x).unwrap().same_tensor(&x));
    seq.push(ReLU::new());
    seq.push_named("act", Tanh::new()).unwrap();
    seq.push_named("act", Sigmoid::new()).unwrap();
    assert_eq!(seq.len(), 2);
    let kinds: Vec<(&str, &str)> = seq.iter().map(|(n, m)| (n, m.type_name())).collect();
    assert_eq!(kinds, [("0", "ReLU"), ("act", "Sigmoid")]);
    let y = seq.forward(&x).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(y[0], 0.5);
    assert!((y[1] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
    let e = error_of(Sequential::new().add_module("", ReLU::new()));
    assert!(e.contains("module name can't be empty string \"\""), "{e}");
}

struct Net {
    state: ModuleState,
    body: Sequential,
    fc: Linear,
}

impl Module for Net {
    fn forward_impl(&self, x: &Tensor) -> ferrograd::Result<Tensor> {
        self.fc.forward(&self.body.forward(x)?)
    }
    fn state(&self) -> &ModuleState {
        &self.state
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("body".into(), &self.body), ("fc".into(), &self.fc)]
    }
}

#[test]
fn custom_modules_name_their_children_on_first_forward() {
    let net = Net {
        state: ModuleState::new(),
        body: Sequential::new()
            .append(Linear::new(4, 6).unwrap())
            .append(ReLU::new()),
        fc: Linear::new(5, 1).unwrap(),
    };
    assert_eq!(net.type_name(), "Net");
    assert_eq!(
        names(net.named_parameters()),
        ["body.0.weight", "body.0.bias", "fc.weight", "fc.bias"]
    );
    let e = error_of(net.forward(&Tensor::zeros(&[2, 4], DType::F32).unwrap()));
    assert_eq!(
        e,
        "Linear: fc (Linear(in_features=5, out_features=1, bias=True)) expected input of shape (*, 5), but got input of shape [2, 6]"
    );
    let e = error_of(net.forward(&Tensor::zeros(&[2, 3], DType::F32).unwrap()));
    assert!(e.starts_with("Linear: body.0 (Linear(in_features=4"), "{e}");
    assert_eq!(
        net.repr(),
        "Net(\n  (body): Sequential(\n    (0): Linear(in_features=4, out_features=6, bias=True)\n    (1): ReLU()\n  )\n  (fc): Linear(in_features=5, out_features=1, bias=True)\n)"
    );
}

// ----- train / eval -----

#[test]
fn train_and_eval_reach_every_submodule() {
    let model = Sequential::new()
        .append(Sequential::new().append(Dropout::new(0.5).unwrap()))
        .append(BatchNorm2d::new(2).unwrap());
    let flags = |m: &Sequential| -> Vec<bool> {
        m.named_modules()
            .iter()
            .map(|(_, m)| m.is_training())
            .collect()
    };
    assert_eq!(flags(&model), [true; 4]);
    model.eval();
    assert_eq!(flags(&model), [false; 4]);
    model.get_submodule("0").unwrap().train(true);
    assert_eq!(flags(&model), [false, true, true, false]);
    model.train(true);
    assert_eq!(flags(&model), [true; 4]);
}

/// `(N=2, C=2, H=1, W=3)` with distinct channels.
fn bn_input() -> (Tensor, Vec<Vec<f64>>) {
    let data = vec![1.0, 2.0, 6.0, -1.0, 0.0, 4.0, 3.0, 5.0, 7.0, 2.0, 2.0, 8.0];
    let x = Tensor::from_vec(data.clone(), &[2, 2, 1, 3]).unwrap();
    let channel = |c: usize| -> Vec<f64> {
        (0..2)
            .flat_map(|n| data[n * 6 + c * 3..n * 6 + c * 3 + 3].to_vec())
            .collect()
    };
    (x, vec![channel(0), channel(1)])
}

#[test]
fn batchnorm_uses_batch_statistics_in_training_and_running_ones_in_eval() {
    let (x, channels) = bn_input();
    let cfg = BatchNormConfig::new().dtype(DType::F64);
    let bn = BatchNorm2d::with_config(2, cfg).unwrap();
    let y = values(&bn.forward(&x).unwrap());
    let stats: Vec<(f64, f64)> = channels.iter().map(|c| mean_var(c)).collect();
    for (i, (&got, &v)) in y.iter().zip(values(&x).iter()).enumerate() {
        let (mean, var) = stats[(i / 3) % 2];
        assert!(
            (got - (v - mean) / (var + 1e-5).sqrt()).abs() < 1e-12,
            "y[{i}]"
        );
    }
    let rm = values(bn.running_mean.as_ref().unwrap());
    let rv = values(bn.running_var.as_ref().unwrap());
    for c in 0..2 {
        let (mean, var) = stats[c];
        assert!((rm[c] - 0.1 * mean).abs() < 1e-12);
        assert!((rv[c] - (0.9 + 0.1 * var * 6.0 / 5.0)).abs() < 1e-12);
    }
    let nbt = bn.num_batches_tracked.as_ref().unwrap();
    assert_eq!(nbt.item::<i64>().unwrap(), 1);
    bn.eval();
    let y = values(&bn.forward(&x).unwrap());
    for (i, (&got, &v)) in y.iter().zip(values(&x).iter()).enumerate() {
        let c = (i / 3) % 2;
        assert!(
            (got - (v - rm[c]) / (rv[c] + 1e-5).sqrt()).abs() < 1e-12,
            "eval y[{i}]"
        );
    }
    assert_eq!(nbt.item::<i64>().unwrap(), 1);
    assert_eq!(values(bn.running_mean.as_ref().unwrap()), rm);
}

#[test]
fn batchnorm_without_momentum_averages_all_batches() {
    let (x, channels) = bn_input();
    let bn = BatchNorm2d::with_config(2, BatchNormConfig::new().momentum(None).dtype(DType::F64))
        .unwrap();
    let shifted = x.try_mul(3.0).unwrap().try_add(1.0).unwrap();
    bn.forward(&x).unwrap();
    bn.forward(&shifted).unwrap();
    let rm = values(bn.running_mean.as_ref().unwrap());
    for c in 0..2 {
        let m1 = mean_var(&channels[c]).0;
        assert!((rm[c] - (m1 + (3.0 * m1 + 1.0)) / 2.0).abs() < 1e-12);
    }
    assert_eq!(
        bn.num_batches_tracked
            .as_ref()
            .unwrap()
            .item::<i64>()
            .unwrap(),
        2
    );
}

#[test]
fn batchnorm_without_running_stats_always_uses_the_batch() {
    let (x, _) = bn_input();
    let cfg = BatchNormConfig::new()
        .track_running_stats(false)
        .dtype(DType::F64);
    let bn = BatchNorm2d::with_config(2, cfg).unwrap();
    assert!(bn.named_buffers().is_empty());
    let train = values(&bn.forward(&x).unwrap());
    bn.eval();
    assert_eq!(values(&bn.forward(&x).unwrap()), train);
}

#[test]
fn dropout_drops_only_in_training() {
    let x = Tensor::ones(&[20000], DType::F32).unwrap();
    let drop = Dropout::new(0.5).unwrap();
    let y = drop.forward(&x).unwrap().to_vec::<f32>().unwrap();
    let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
    assert!((zeros - 0.5).abs() < 0.03, "dropped {zeros}");
    assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
    drop.eval();
    assert!(drop.forward(&x).unwrap().same_tensor(&x));
    let all = Dropout::new(1.0).unwrap();
    assert!(all
        .forward(&x)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .all(|&v| v == 0.0));
    assert_eq!(
        Dropout::new(0.25).unwrap().repr(),
        "Dropout(p=0.25, inplace=False)"
    );
}

// ----- initialisation -----

/// Checks that `t` looks like `U(-bound, bound)`: inside, reaching near
/// the edges, with the uniform's mean and variance. Samples are computed in
/// `t`'s dtype, so an f32 sample may round to the f32 nearest `bound`
/// (PyTorch's `uniform_` does the same): that is the ceiling checked.
fn assert_uniform(t: &Tensor, bound: f64, what: &str) {
    let v = values(t);
    let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let ceiling = match t.dtype() {
        DType::F32 => bound as f32 as f64,
        _ => bound,
    };
    assert!(max <= ceiling, "{what}: {max} > {ceiling}");
    assert!(max > 0.9 * bound, "{what}: max {max} far below {bound}");
    let (mean, var) = mean_var(&v);
    let n = v.len() as f64;
    let want_var = bound * bound / 3.0;
    assert!(
        mean.abs() < 5.0 * (want_var / n).sqrt(),
        "{what}: mean {mean}"
    );
    assert!(
        (var / want_var - 1.0).abs() < 10.0 / n.sqrt() + 0.01,
        "{what}: var {var} vs {want_var}"
    );
}

/// Checks that `t` looks like `N(0, std²)`.
fn assert_normal(t: &Tensor, std: f64, what: &str) {
    let v = values(t);
    let (mean, var) = mean_var(&v);
    let n = v.len() as f64;
    assert!(mean.abs() < 5.0 * std / n.sqrt(), "{what}: mean {mean}");
    assert!(
        (var / (std * std) - 1.0).abs() < 8.0 * (2.0 / n).sqrt(),
        "{what}: var {var}"
    );
}

#[test]
fn linear_and_conv_start_as_pytorch_does() {
    // kaiming_uniform_(a=√5): gain √(2 / (1 + 5)), std gain/√fan_in,
    // bound √3·std; the bias bound is 1/√fan_in.
    let kaiming_bound = |fan_in: f64| 3f64.sqrt() * (2.0 / 6.0f64).sqrt() / fan_in.sqrt();
    let fc = Linear::new(400, 300).unwrap();
    assert_uniform(&fc.weight, kaiming_bound(400.0), "Linear weight");
    assert!((kaiming_bound(400.0) - 0.05).abs() < 1e-15);
    assert_uniform(fc.bias.as_ref().unwrap(), 1.0 / 20.0, "Linear bias");
    let conv = Conv2d::new(16, 64, 3).unwrap();
    assert_uniform(&conv.weight, kaiming_bound(144.0), "Conv2d weight");
    let cfg = Conv2dConfig::new().groups(4).dtype(DType::F64);
    let grouped = Conv2d::with_config(16, 512, [3, 5], cfg).unwrap();
    assert_eq!(grouped.weight.shape(), &[512, 4, 3, 5]);
    assert_uniform(
        grouped.bias.as_ref().unwrap(),
        1.0 / 60f64.sqrt(),
        "grouped Conv2d bias",
    );
}

#[test]
fn embedding_and_norm_layers_start_as_pytorch_does() {
    let emb = Embedding::new(1000, 64).unwrap();
    assert_normal(&emb.weight, 1.0, "Embedding weight");
    let bn = BatchNorm2d::new(5).unwrap();
    assert_eq!(values(bn.weight.as_ref().unwrap()), [1.0; 5]);
    assert_eq!(values(bn.bias.as_ref().unwrap()), [0.0; 5]);
    assert_eq!(values(bn.running_mean.as_ref().unwrap()), [0.0; 5]);
    assert_eq!(values(bn.running_var.as_ref().unwrap()), [1.0; 5]);
    let nbt = bn.num_batches_tracked.as_ref().unwrap();
    assert_eq!(
        (nbt.dtype(), nbt.shape(), nbt.item::<i64>().unwrap()),
        (DType::I64, &[][..], 0)
    );
    let ln = LayerNorm::new(&[2, 3]).unwrap();
    assert_eq!(ln.weight.as_ref().unwrap().shape(), &[2, 3]);
    assert_eq!(values(ln.weight.as_ref().unwrap()), [1.0; 6]);
    assert_eq!(values(ln.bias.as_ref().unwrap()), [0.0; 6]);
}

#[test]
fn init_functions_follow_their_formulas() {
    let w = Tensor::zeros(&[256, 128, 3, 3], DType::F64).unwrap();
    let (fan_in, fan_out) = (128.0f64 * 9.0, 256.0f64 * 9.0);
    kaiming_normal_(&w, 0.0, FanMode::FanOut, Nonlinearity::Relu).unwrap();
    assert_normal(&w, (2.0 / fan_out).sqrt(), "kaiming_normal_ fan_out");
    kaiming_uniform_(&w, 0.0, FanMode::FanIn, Nonlinearity::Relu).unwrap();
    assert_uniform(&w, (6.0 / fan_in).sqrt(), "kaiming_uniform_ relu");
    xavier_uniform_(&w, 2.0).unwrap();
    assert_uniform(
        &w,
        2.0 * (6.0 / (fan_in + fan_out)).sqrt(),
        "xavier_uniform_",
    );
    xavier_normal_(&w, 1.0).unwrap();
    assert_normal(&w, (2.0 / (fan_in + fan_out)).sqrt(), "xavier_normal_");
    uniform_(&w, -3.0, -1.0).unwrap();
    let v = values(&w);
    assert!(v.iter().all(|x| (-3.0..-1.0).contains(x)));
    normal_(&w, 4.0, 0.5).unwrap();
    let (mean, var) = mean_var(&values(&w));
    assert!((mean - 4.0).abs() < 0.01 && (var - 0.25).abs() < 0.01);
    let empty = Tensor::zeros(&[0, 3], DType::F32).unwrap();
    assert!(kaiming_uniform_(&empty, 0.0, FanMode::FanIn, Nonlinearity::Relu).is_ok());
}

#[test]
fn init_works_on_parameters_and_keeps_them_leaves() {
    let p = Tensor::zeros(&[3, 4], DType::F32)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    for f in [ones_, zeros_] {
        f(&p).unwrap();
    }
    constant_(&p, 0.5).unwrap();
    assert_eq!(values(&p), [0.5; 12]);
    xavier_uniform_(&p, 1.0).unwrap();
    assert!(p.is_leaf() && p.requires_grad() && p.grad_fn().is_none());
}

#[test]
fn gains_and_fans_match_pytorch() {
    use Nonlinearity::*;
    for nl in [Linear, Conv1d, Conv2d, Conv3d, ConvTranspose2d, Sigmoid] {
        assert_eq!(calculate_gain(nl, None), 1.0);
    }
    assert_eq!(calculate_gain(Tanh, None), 5.0 / 3.0);
    assert_eq!(calculate_gain(Relu, None), 2f64.sqrt());
    assert_eq!(calculate_gain(Selu, None), 0.75);
    assert_eq!(
        calculate_gain(LeakyRelu, None),
        (2.0f64 / (1.0 + 0.01 * 0.01)).sqrt()
    );
    assert_eq!(
        "conv_transpose3d".parse::<Nonlinearity>().unwrap(),
        ConvTranspose3d
    );
    let t = |shape: &[usize]| Tensor::zeros(shape, DType::F32).unwrap();
    assert_eq!(
        calculate_fan_in_and_fan_out(&t(&[10, 20])).unwrap(),
        (20, 10)
    );
    assert_eq!(
        calculate_fan_in_and_fan_out(&t(&[8, 4, 2, 3])).unwrap(),
        (24, 48)
    );
    let e = error_of(calculate_fan_in_and_fan_out(&t(&[7])));
    assert!(e.contains("fewer than 2 dimensions (got shape [7])"), "{e}");
    let e = error_of(xavier_normal_(&t(&[7]), 1.0));
    assert!(e.contains("Fan in and fan out can not be computed"), "{e}");
}

// ----- values against PyTorch -----

fn bn_model() -> Sequential {
    Sequential::new()
        .append(Conv2d::with_config(3, 4, 3, Conv2dConfig::new().padding(1)).unwrap())
        .append(BatchNorm2d::new(4).unwrap())
        .append(GELU::new())
        .append(AvgPool2d::new(2))
        .append(Flatten::new())
        .append(LayerNorm::new(&[16]).unwrap())
        .append(Dropout::new(0.0).unwrap())
        .append(Tanh::new())
        .append(Linear::new(16, 5).unwrap())
        .append(Sigmoid::new())
}

fn text(name: &str) -> String {
    String::from_utf8(reference(name).to_vec::<u8>().unwrap()).unwrap()
}

#[test]
fn batchnorm_model_matches_pytorch_in_eval_and_train() {
    let model = bn_model();
    assert_eq!(model.repr(), text("bn.repr"));
    model.load_state_dict(&reference_state("bn.state")).unwrap();
    let x = reference("bn.input");
    model.eval();
    assert_close(
        &model.forward(&x).unwrap(),
        &reference("bn.eval_output"),
        1e-5,
        "eval",
    );
    model.train(true);
    assert_close(
        &model.forward(&x).unwrap(),
        &reference("bn.train_output"),
        1e-5,
        "train",
    );
    let after = reference_state("bn.after");
    let state = model.state_dict();
    assert_eq!(names(state.clone()), names(after.clone()));
    for ((k, got), (_, want)) in state.iter().zip(&after) {
        assert_eq!(got.dtype(), want.dtype(), "{k}");
        assert_close(got, want, 1e-5, k);
    }
    assert_eq!(state[6].0, "1.num_batches_tracked");
    assert_eq!(state[6].1.item::<i64>().unwrap(), 4);
}

#[test]
fn embedding_model_matches_pytorch() {
    let cfg = EmbeddingConfig::new().padding_idx(Some(0));
    let model = Sequential::new()
        .append(Embedding::with_config(10, 4, cfg).unwrap())
        .append(LayerNorm::new(&[4]).unwrap())
        .append(Linear::new(4, 2).unwrap());
    assert_eq!(model.repr(), text("emb.repr"));
    model
        .load_state_dict(&reference_state("emb.state"))
        .unwrap();
    let ids = reference("emb.input");
    assert_close(
        &model.forward(&ids).unwrap(),
        &reference("emb.output"),
        1e-5,
        "emb",
    );
    let ids32 = ids.int().unwrap();
    assert_close(
        &model.forward(&ids32).unwrap(),
        &reference("emb.output"),
        1e-5,
        "int32 ids",
    );
}

#[test]
fn embedding_padding_row_gets_no_gradient() {
    let emb = Embedding::with_config(5, 3, EmbeddingConfig::new().padding_idx(Some(2))).unwrap();
    assert_eq!(values(&emb.weight)[6..9], [0.0; 3]);
    let ids = Tensor::from_vec(vec![2i64, 0, 2, 4, 0, 0], &[2, 3]).unwrap();
    let out = emb.forward(&ids).unwrap();
    assert_eq!(out.shape(), &[2, 3, 3]);
    out.sum().unwrap().backward().unwrap();
    let g = values(&emb.weight.grad().unwrap());
    let counts = [3.0, 0.0, 0.0, 0.0, 1.0];
    for (row, count) in counts.iter().enumerate() {
        assert_eq!(g[row * 3..row * 3 + 3], [*count; 3], "row {row}");
    }
}

#[test]
fn gradients_flow_through_a_composed_f64_model() {
    let c = Conv2dConfig::new().padding(1).dtype(DType::F64);
    let model = Sequential::new()
        .append(Conv2d::with_config(2, 3, 3, c).unwrap())
        .append(BatchNorm2d::with_config(3, BatchNormConfig::new().dtype(DType::F64)).unwrap())
        .append(GELU::tanh())
        .append(MaxPool2d::new(2))
        .append(Flatten::new())
        .append(LayerNorm::with_config(&[12], LayerNormConfig::new().dtype(DType::F64)).unwrap())
        .append(Linear::with_config(12, 2, LinearConfig::new().dtype(DType::F64)).unwrap())
        .append(Tanh::new());
    let x = Tensor::randn(&[3, 2, 4, 4], DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    gradcheck(|t| model.forward(&t[0]), &[x], 1e-6, 1e-5, 1e-3).unwrap();
}

// ----- bad input -----

#[test]
fn wrong_input_shapes_name_the_layer_and_both_shapes() {
    let f32_zeros = |shape: &[usize]| Tensor::zeros(shape, DType::F32).unwrap();
    let conv = Conv2d::with_config(1, 32, 3, Conv2dConfig::new().padding(1)).unwrap();
    assert_eq!(
        error_of(conv.forward(&f32_zeros(&[2, 3, 28, 28]))),
        "Conv2d: Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)) expected input of shape (N, 1, H, W) or (1, H, W), but got input of shape [2, 3, 28, 28]"
    );
    let model = Sequential::new()
        .add_module("features", Sequential::new().append(conv))
        .unwrap();
    assert_eq!(
        error_of(model.forward(&f32_zeros(&[2, 3, 28, 28]))),
        "Conv2d: features.0 (Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))) expected input of shape (N, 1, H, W) or (1, H, W), but got input of shape [2, 3, 28, 28]"
    );
    let cases: Vec<(Box<dyn Module>, Vec<usize>, &str)> = vec![
        (
            Box::new(Linear::new(3136, 10).unwrap()),
            vec![2, 784],
            "(*, 3136), but got input of shape [2, 784]",
        ),
        (
            Box::new(Linear::new(3, 1).unwrap()),
            vec![],
            "(*, 3), but got input of shape []",
        ),
        (
            Box::new(BatchNorm2d::new(4).unwrap()),
            vec![2, 4, 5],
            "(N, 4, H, W), but got input of shape [2, 4, 5]",
        ),
        (
            Box::new(LayerNorm::new(&[2, 3]).unwrap()),
            vec![4, 3, 2],
            "(*, 2, 3), but got input of shape [4, 3, 2]",
        ),
        (
            Box::new(MaxPool2d::new(2)),
            vec![8],
            "(N, C, H, W) or (C, H, W), but got input of shape [8]",
        ),
        (
            Box::new(AvgPool2d::new(2)),
            vec![1, 1, 1, 4, 4],
            "(N, C, H, W) or (C, H, W), but got input of shape [1, 1, 1, 4, 4]",
        ),
    ];
    for (layer, shape, want) in cases {
        let e = error_of(layer.forward(&f32_zeros(&shape)));
        let head = format!(
            "{}: {} expected input of shape {want}",
            layer.type_name(),
            layer.repr()
        );
        assert_eq!(e, head);
    }
    let e = error_of(Flatten::with_dims(0, 2).forward(&f32_zeros(&[4, 4])));
    assert_eq!(
        e,
        "Flatten: Flatten(start_dim=0, end_dim=2) expected an input with at least 3 dims, but got input of shape [4, 4]"
    );
}

#[test]
fn embedding_rejects_bad_ids() {
    let emb = Embedding::new(10, 4).unwrap();
    let e = error_of(emb.forward(&Tensor::zeros(&[2], DType::F32).unwrap()));
    assert_eq!(
        e,
        "Embedding: Embedding(10, 4) expected indices of dtype int64 or int32, but got float32; convert them with .long()"
    );
    for bad in [10i64, -1] {
        let e = error_of(emb.forward(&Tensor::from_vec(vec![1, bad], &[2]).unwrap()));
        assert!(
            e.ends_with(&format!(
                "index {bad} is out of range for 10 embeddings (index out of range in self)"
            )),
            "{e}"
        );
    }
    let e = error_of(Embedding::with_config(
        3,
        2,
        EmbeddingConfig::new().padding_idx(Some(3)),
    ));
    assert!(
        e.contains(
            "Padding_idx must be within num_embeddings (got padding_idx=3, num_embeddings=3)"
        ),
        "{e}"
    );
}

#[test]
fn bad_layer_arguments_are_errors() {
    let e = error_of(Dropout::new(-0.1));
    assert!(
        e.contains("dropout probability has to be between 0 and 1, but got -0.1"),
        "{e}"
    );
    let e = error_of(Conv2d::with_config(4, 6, 3, Conv2dConfig::new().groups(4)));
    assert!(
        e.contains("out_channels must be divisible by groups (got out_channels=6, groups=4)"),
        "{e}"
    );
    let e = error_of(Conv2d::with_config(4, 6, 3, Conv2dConfig::new().groups(0)));
    assert!(e.contains("groups must be a positive integer"), "{e}");
    let e = error_of(Conv2d::with_config(4, 6, [3, 0], Conv2dConfig::new()));
    assert!(
        e.contains("kernel_size must be positive, but got [3, 0]"),
        "{e}"
    );
    let e = error_of(Conv2d::with_config(4, 6, 3, Conv2dConfig::new().stride(0)));
    assert!(e.contains("stride must be positive, but got [0, 0]"), "{e}");
    let e = error_of(Sequential::new().add_module("a.b", ReLU::new()));
    assert!(
        e.contains("module name can't contain \".\", got: a.b"),
        "{e}"
    );
    let e = error_of("fan_avg".parse::<FanMode>());
    assert!(
        e.contains("Mode fan_avg not supported, please use one of fan_in, fan_out"),
        "{e}"
    );
    let e = error_of("swish".parse::<Nonlinearity>());
    assert!(e.contains("Unsupported nonlinearity swish"), "{e}");
}

#[test]
fn layers_print_as_pytorch_does() {
    let cases: Vec<(Box<dyn Module>, &str)> = vec![
        (Box::new(Linear::with_config(3, 2, LinearConfig::new().bias(false)).unwrap()), "Linear(in_features=3, out_features=2, bias=False)"),
        (
            Box::new(Conv2d::with_config(4, 8, [3, 5], Conv2dConfig::new().stride(2).dilation([1, 2]).groups(2).bias(false)).unwrap()),
            "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), dilation=(1, 2), groups=2, bias=False)",
        ),
        (Box::new(BatchNorm2d::with_config(3, BatchNormConfig::new().eps(1e-3).momentum(Some(0.01))).unwrap()), "BatchNorm2d(3, eps=0.001, momentum=0.01, affine=True, bias=True, track_running_stats=True)"),
        (Box::new(LayerNorm::with_config(&[2, 3], LayerNormConfig::new().elementwise_affine(false)).unwrap()), "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, bias=False)"),
        (Box::new(GELU::new()), "GELU(approximate='none')"),
        (Box::new(Flatten::new()), "Flatten(start_dim=1, end_dim=-1)"),
        (Box::new(Embedding::new(7, 2).unwrap()), "Embedding(7, 2)"),
        (Box::new(MaxPool2d::new([2, 3])), "MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False)"),
        (Box::new(Sequential::new()), "Sequential()"),
    ];
    for (layer, want) in cases {
        assert_eq!(layer.repr(), want);
        assert_eq!(format!("{layer:?}"), want);
    }
}
