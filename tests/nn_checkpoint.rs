//! Checkpoints of the example CNN: PyTorch's state_dict (tests/fixtures/
//! nn_cnn_state.npz and .safetensors, written by make_nn.py) loads under the
//! same names and gives PyTorch's output and activations; state dicts round
//! trip through both formats; files are replaced atomically; and every
//! mismatch or corrupt file is an error that names the problem.

use ferrograd::interop::npz::{load_npz, NpzReader};
use ferrograd::nn::checkpoint::{self, load_state_dict, read_tensors, write_tensors, LoadOptions};
use ferrograd::nn::layers::{BatchNorm2d, Conv2dConfig};
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn reference(name: &str) -> Tensor {
    load_npz(fixture_path("nn.npz"))
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in nn.npz"))
        .1
}

/// conv(1→32, 3×3, pad 1) → relu → maxpool 2 → conv(32→64) → relu →
/// maxpool 2 → flatten → linear(3136→128) → relu → linear(128→10), with the
/// names of make_nn.py's model; `in_channels` lets a test build a mismatch.
fn cnn_with(in_channels: usize) -> Sequential {
    let conv = |i, o| Conv2d::with_config(i, o, 3, Conv2dConfig::new().padding(1)).unwrap();
    let features = Sequential::new()
        .append(conv(in_channels, 32))
        .append(ReLU::new())
        .append(MaxPool2d::new(2))
        .append(conv(32, 64))
        .append(ReLU::new())
        .append(MaxPool2d::new(2));
    let classifier = Sequential::new()
        .append(Linear::new(3136, 128).unwrap())
        .append(ReLU::new())
        .append(Linear::new(128, 10).unwrap());
    Sequential::new()
        .add_module("features", features)
        .and_then(|m| m.add_module("flatten", Flatten::new()))
        .and_then(|m| m.add_module("classifier", classifier))
        .unwrap()
}

fn cnn() -> Sequential {
    cnn_with(1)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.double().unwrap(), b.double().unwrap());
    let (a, b) = (a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A scratch directory of this test, empty.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fg-nn-ckpt-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn keys(state: &[(String, Tensor)]) -> Vec<String> {
    state.iter().map(|(k, _)| k.clone()).collect()
}

#[test]
fn cnn_names_match_pytorch_state_dict() {
    let archive = NpzReader::open(fixture_path("nn_cnn_state.npz")).unwrap();
    let torch_keys: Vec<String> = archive.names().iter().map(|s| s.to_string()).collect();
    let model = cnn();
    assert_eq!(keys(&model.state_dict()), torch_keys);
    let params: Vec<String> = keys(&model.named_parameters());
    assert_eq!(params, torch_keys);
    assert_eq!(params[0], "features.0.weight");
    assert_eq!(model.parameters().len(), 8);
}

#[test]
fn cnn_repr_matches_pytorch() {
    let bytes = reference("cnn.repr").to_vec::<u8>().unwrap();
    assert_eq!(cnn().repr(), String::from_utf8(bytes).unwrap());
}

fn check_pytorch_parity(file: &str) {
    let model = cnn();
    let keys = checkpoint::load(&model, fixture_path(file)).unwrap();
    assert_eq!(keys, Default::default());
    model.eval();
    let x = reference("cnn.input");
    let out = model.forward(&x).unwrap();
    let diff = max_abs_diff(&out, &reference("cnn.output"));
    assert!(
        diff <= 1e-5,
        "{file}: output differs from PyTorch's by {diff}"
    );
    let names = ["features.2", "features.5", "flatten", "classifier.1"];
    for (name, act) in capture_activations(&model, &x, &names).unwrap() {
        let diff = max_abs_diff(&act, &reference(&format!("cnn.act.{name}")));
        assert!(diff <= 1e-5, "{file}: {name} differs by {diff}");
    }
}

#[test]
fn pytorch_npz_weights_give_pytorch_outputs() {
    check_pytorch_parity("nn_cnn_state.npz");
}

#[test]
fn pytorch_safetensors_weights_give_pytorch_outputs() {
    check_pytorch_parity("nn_cnn_state.safetensors");
}

#[test]
fn loaded_weights_have_pytorch_layouts() {
    let model = cnn();
    checkpoint::load(&model, fixture_path("nn_cnn_state.npz")).unwrap();
    let state: HashMap<String, Tensor> = model.state_dict().into_iter().collect();
    assert_eq!(state["features.0.weight"].shape(), &[32, 1, 3, 3]);
    assert_eq!(state["features.3.weight"].shape(), &[64, 32, 3, 3]);
    assert_eq!(state["classifier.0.weight"].shape(), &[128, 3136]);
    assert_eq!(state["classifier.2.bias"].shape(), &[10]);
    // features.0.weight[5, 0, 1, 2], read straight from the archive
    let torch = load_npz(fixture_path("nn_cnn_state.npz")).unwrap();
    let w = &torch
        .iter()
        .find(|(k, _)| k == "features.0.weight")
        .unwrap()
        .1;
    let want = w.to_vec::<f32>().unwrap()[5 * 9 + 3 + 2];
    let got = state["features.0.weight"].to_vec::<f32>().unwrap()[5 * 9 + 3 + 2];
    assert_eq!(got, want);
}

fn assert_same_state(a: &dyn Module, b: &dyn Module) {
    let (sa, sb) = (a.state_dict(), b.state_dict());
    assert_eq!(keys(&sa), keys(&sb));
    for ((k, x), (_, y)) in sa.iter().zip(&sb) {
        assert_eq!(x.dtype(), y.dtype(), "{k}");
        assert_eq!(max_abs_diff(x, y), 0.0, "{k}");
    }
}

fn round_trip(ext: &str) {
    let dir = scratch(&format!("round-{ext}"));
    let path = dir.join(format!("cnn.{ext}"));
    let (a, b) = (cnn(), cnn());
    checkpoint::save(&a, &path).unwrap();
    let params_before = b.parameters();
    checkpoint::load(&b, &path).unwrap();
    assert_same_state(&a, &b);
    for (p, q) in params_before.iter().zip(b.parameters()) {
        assert!(p.same_tensor(&q) && q.requires_grad() && q.is_leaf());
    }
    let x = Tensor::randn(&[2, 1, 28, 28], DType::F32).unwrap();
    let diff = max_abs_diff(&a.forward(&x).unwrap(), &b.forward(&x).unwrap());
    assert_eq!(diff, 0.0);
    assert_eq!(entries(&dir), [format!("cnn.{ext}")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn state_dict_round_trips_through_npz() {
    round_trip("npz");
}

#[test]
fn state_dict_round_trips_through_safetensors() {
    round_trip("safetensors");
}

#[test]
fn buffers_round_trip_with_their_dtypes() {
    for ext in ["npz", "safetensors"] {
        let dir = scratch(&format!("buffers-{ext}"));
        let path = dir.join(format!("bn.{ext}"));
        let a = BatchNorm2d::new(3).unwrap();
        for _ in 0..3 {
            a.forward(&Tensor::randn(&[4, 3, 2, 2], DType::F32).unwrap())
                .unwrap();
        }
        checkpoint::save(&a, &path).unwrap();
        let saved = read_tensors(&path).unwrap();
        let nbt = &saved
            .iter()
            .find(|(k, _)| k == "num_batches_tracked")
            .unwrap()
            .1;
        assert_eq!((nbt.dtype(), nbt.shape()), (DType::I64, &[][..]));
        let b = BatchNorm2d::new(3).unwrap();
        checkpoint::load(&b, &path).unwrap();
        assert_same_state(&a, &b);
        assert_eq!(
            b.num_batches_tracked
                .as_ref()
                .unwrap()
                .item::<i64>()
                .unwrap(),
            3
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn saving_replaces_the_file_atomically() {
    let dir = scratch("atomic");
    let path = dir.join("model.npz");
    std::fs::write(&path, b"old contents").unwrap();
    let model = cnn();
    checkpoint::save(&model, &path).unwrap();
    assert_eq!(entries(&dir), ["model.npz"]);
    assert_eq!(
        keys(&read_tensors(&path).unwrap()),
        keys(&model.state_dict())
    );
    // A save that fails (duplicate names) leaves the old file and no temp file.
    let before = std::fs::read(&path).unwrap();
    let t = Tensor::zeros(&[2], DType::F32).unwrap();
    let dup = vec![("a".to_string(), t.clone()), ("a".to_string(), t)];
    assert!(write_tensors(&path, &dup).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(entries(&dir), ["model.npz"]);
    let e = checkpoint::save(&model, dir.join("missing/model.npz")).unwrap_err();
    assert!(e.to_string().contains("missing/model.npz"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The message of a strict load of `state` into a fresh CNN.
fn strict_load_error(state: &[(String, Tensor)]) -> String {
    cnn().load_state_dict(state).unwrap_err().to_string()
}

#[test]
fn missing_key_is_named() {
    let mut state = cnn().state_dict();
    state.retain(|(k, _)| k != "features.0.bias");
    let e = strict_load_error(&state);
    assert!(
        e.contains("Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: \"features.0.bias\"."),
        "{e}"
    );
}

#[test]
fn unexpected_key_is_named() {
    let mut state = cnn().state_dict();
    let extra = Tensor::zeros(&[2], DType::F32).unwrap();
    state.push(("classifier.4.weight".into(), extra));
    let e = strict_load_error(&state);
    assert!(
        e.contains("Unexpected key(s) in state_dict: \"classifier.4.weight\"."),
        "{e}"
    );
}

#[test]
fn size_mismatch_is_named_and_nothing_is_copied() {
    let model = cnn_with(3);
    let before: Vec<Vec<f32>> = model
        .parameters()
        .iter()
        .map(|p| p.to_vec::<f32>().unwrap())
        .collect();
    let e = model
        .load_state_dict(&cnn().state_dict())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("size mismatch for features.0.weight: copying a param with shape [32, 1, 3, 3] from checkpoint, the shape in current model is [32, 3, 3, 3]."),
        "{e}"
    );
    for (p, b) in model.parameters().iter().zip(before) {
        assert_eq!(p.to_vec::<f32>().unwrap(), b);
    }
    // a size mismatch is an error even without strict
    assert!(model
        .load_state_dict_with(&cnn().state_dict(), LoadOptions::new().strict(false))
        .is_err());
}

#[test]
fn all_problems_are_reported_together_in_pytorch_order() {
    let model = cnn_with(3);
    let mut state: Vec<_> = cnn()
        .state_dict()
        .into_iter()
        .filter(|(k, _)| !k.ends_with("bias"))
        .collect();
    state.push(("extra".into(), Tensor::zeros(&[1], DType::F32).unwrap()));
    let e = model.load_state_dict(&state).unwrap_err().to_string();
    let missing = e.find("Missing key(s) in state_dict: \"features.0.bias\", \"features.3.bias\", \"classifier.0.bias\", \"classifier.2.bias\".").expect(&e);
    let unexpected = e
        .find("Unexpected key(s) in state_dict: \"extra\".")
        .expect(&e);
    let size = e.find("size mismatch for features.0.weight").expect(&e);
    assert!(missing < unexpected && unexpected < size, "{e}");
}

#[test]
fn non_strict_loads_matching_keys_and_reports_the_rest() {
    let (a, b) = (cnn(), cnn());
    let mut state: Vec<_> = a
        .state_dict()
        .into_iter()
        .filter(|(k, _)| k.starts_with("features"))
        .collect();
    state.push((
        "head.weight".into(),
        Tensor::zeros(&[3], DType::F32).unwrap(),
    ));
    let keys = b
        .load_state_dict_with(&state, LoadOptions::new().strict(false))
        .unwrap();
    assert_eq!(
        keys.missing_keys,
        [
            "classifier.0.weight",
            "classifier.0.bias",
            "classifier.2.weight",
            "classifier.2.bias"
        ]
    );
    assert_eq!(keys.unexpected_keys, ["head.weight"]);
    let fa = a.get_submodule("features").unwrap();
    let fb = b.get_submodule("features").unwrap();
    assert_same_state(fa, fb);
}

#[test]
fn loading_converts_dtypes_as_copy_does() {
    let model = cnn();
    let state: Vec<_> = cnn()
        .state_dict()
        .into_iter()
        .map(|(k, t)| (k, t.double().unwrap()))
        .collect();
    model.load_state_dict(&state).unwrap();
    for ((k, p), (_, s)) in model.state_dict().iter().zip(&state) {
        assert_eq!(p.dtype(), DType::F32, "{k}");
        assert!(max_abs_diff(p, s) < 1e-6, "{k}");
    }
}

#[test]
fn file_errors_name_the_file() {
    let dir = scratch("corrupt");
    let model = cnn();
    for (name, bytes) in [
        ("garbage.npz", b"definitely not a zip".to_vec()),
        (
            "garbage.safetensors",
            b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}".to_vec(),
        ),
        ("empty.safetensors", Vec::new()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = checkpoint::load(&model, &path).unwrap_err().to_string();
        assert!(e.contains(name), "{name}: {e}");
    }
    // A truncated copy of a real checkpoint.
    for ext in ["npz", "safetensors"] {
        let whole = std::fs::read(fixture_path(&format!("nn_cnn_state.{ext}"))).unwrap();
        let path = dir.join(format!("truncated.{ext}"));
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        assert!(checkpoint::load(&model, &path).is_err(), "{ext}");
    }
    let e = checkpoint::load(&model, dir.join("absent.npz")).unwrap_err();
    assert!(e.to_string().contains("absent.npz"), "{e}");
    let e = checkpoint::save(&model, dir.join("model.pt")).unwrap_err();
    assert!(
        e.to_string()
            .contains("use a file name ending in .npz or .safetensors"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mismatched_checkpoint_file_names_file_and_key() {
    let model = cnn_with(3);
    let path = fixture_path("nn_cnn_state.safetensors");
    let e = checkpoint::load(&model, &path).unwrap_err().to_string();
    assert!(e.contains("nn_cnn_state.safetensors"), "{e}");
    assert!(e.contains("size mismatch for features.0.weight"), "{e}");
}

#[test]
fn loaded_model_trains() {
    let model = cnn();
    load_state_dict(
        &model,
        &read_tensors(fixture_path("nn_cnn_state.npz")).unwrap(),
        LoadOptions::default(),
    )
    .unwrap();
    let x = reference("cnn.input");
    model
        .forward(&x)
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    for (name, p) in model.named_parameters() {
        let g = p.grad().unwrap_or_else(|| panic!("{name} has no grad"));
        assert_eq!(g.shape(), p.shape(), "{name}");
    }
    model.zero_grad();
    assert!(model.parameters().iter().all(|p| p.grad().is_none()));
}
