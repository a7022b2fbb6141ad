//! Checkpoints: a module's `state_dict` saved to and loaded from `.npz` and
//! safetensors files under PyTorch's names and layouts, so weights saved by
//! `np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})`
//! or `safetensors.torch.save_file(model.state_dict(), path)` load into the
//! same architecture here, and the other way round. Files are written
//! atomically (a temporary file renamed over the target). Loading checks
//! every key and shape before it copies anything, and reports problems in
//! PyTorch's words.

use crate::module::Module;
use ferrograd_autograd::{no_grad, Error, Result, Tensor};
use std::path::Path;

/// How to load a state dict. The default is PyTorch's `strict=True`: the
/// state's keys must be exactly the model's. `strict(false)` loads the keys
/// both have and reports the others.
///
/// ```
/// use ferrograd_nn::checkpoint::LoadOptions;
/// assert!(LoadOptions::default().strict);
/// assert!(!LoadOptions::new().strict(false).strict);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Missing and unexpected keys are errors.
    pub strict: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { strict: true }
    }
}

impl LoadOptions {
    /// Strict loading.
    ///
    /// ```
    /// use ferrograd_nn::checkpoint::LoadOptions;
    /// assert!(LoadOptions::new().strict);
    /// assert_eq!(LoadOptions::new(), LoadOptions::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `strict`.
    ///
    /// ```
    /// use ferrograd_nn::checkpoint::LoadOptions;
    /// assert!(!LoadOptions::new().strict(false).strict);
    /// assert!(LoadOptions::new().strict(false).strict(true).strict);
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// The keys a non-strict load skipped (`load_state_dict`'s return value).
///
/// ```
/// use ferrograd_nn::checkpoint::LoadOptions;
/// use ferrograd_nn::module::Module;
/// use ferrograd_nn::layers::Linear;
/// let fc = Linear::new(3, 2)?;
/// let weight_only: Vec<_> = fc.state_dict().into_iter().filter(|(k, _)| k == "weight").collect();
/// assert!(fc.load_state_dict(&weight_only).is_err());
/// let keys = fc.load_state_dict_with(&weight_only, LoadOptions::new().strict(false))?;
/// assert_eq!(keys.missing_keys, ["bias"]);
/// assert!(keys.unexpected_keys.is_empty());
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncompatibleKeys {
    /// Keys of the model that the state did not have.
    pub missing_keys: Vec<String>,
    /// Keys of the state that the model does not have.
    pub unexpected_keys: Vec<String>,
}

/// Copies `state` into `model`'s parameters and buffers, in place (tensors
/// handed to an optimizer stay valid), converting dtypes as `copy_` does.
///
/// Every problem is found before anything is copied, and reported together
/// in PyTorch's words: a key whose shape differs from the model's is always
/// an error; when `opts.strict` (the default), so are keys the model has and
/// `state` lacks, and keys `state` has and the model lacks. Without `strict`
/// those are returned.
///
/// ```
/// use ferrograd_nn::checkpoint::{load_state_dict, LoadOptions};
/// use ferrograd_nn::module::Module;
/// use ferrograd_nn::layers::{Conv2d, Sequential};
/// let model = Sequential::new().append(Conv2d::new(3, 8, 3)?);
/// let other = Sequential::new().append(Conv2d::new(1, 8, 3)?);
/// let e = load_state_dict(&model, &other.state_dict(), LoadOptions::new()).unwrap_err().to_string();
/// assert!(e.contains("size mismatch for 0.weight: copying a param with shape [8, 1, 3, 3] from checkpoint, the shape in current model is [8, 3, 3, 3]."), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn load_state_dict<M: Module + ?Sized>(
    model: &M,
    state: &[(String, Tensor)],
    opts: LoadOptions,
) -> Result<IncompatibleKeys> {
    load_from(model, state, opts, "")
}

/// [`load_state_dict`], with `source` (` from <path>`) in the error header.
fn load_from<M: Module + ?Sized>(
    model: &M,
    state: &[(String, Tensor)],
    opts: LoadOptions,
    source: &str,
) -> Result<IncompatibleKeys> {
    let own = model.state_dict();
    let find = |key: &str| state.iter().find(|(k, _)| k == key).map(|(_, t)| t);
    let mut keys = IncompatibleKeys::default();
    let mut problems = Vec::new();
    let mut copies = Vec::new();
    for (key, dst) in &own {
        match find(key) {
            None => keys.missing_keys.push(key.clone()),
            Some(src) if src.shape() != dst.shape() => problems.push(format!(
                "size mismatch for {key}: copying a param with shape {:?} from checkpoint, the shape in current model is {:?}.",
                src.shape(),
                dst.shape()
            )),
            Some(src) => copies.push((dst, src)),
        }
    }
    for (key, _) in state {
        if !own.iter().any(|(k, _)| k == key) && !keys.unexpected_keys.contains(key) {
            keys.unexpected_keys.push(key.clone());
        }
    }
    if opts.strict {
        if !keys.unexpected_keys.is_empty() {
            problems.insert(0, key_list("Unexpected", &keys.unexpected_keys));
        }
        if !keys.missing_keys.is_empty() {
            problems.insert(0, key_list("Missing", &keys.missing_keys));
        }
    }
    if !problems.is_empty() {
        return Err(Error::invalid(
            "load_state_dict",
            format!(
                "Error(s) in loading state_dict for {}{source}:\n\t{}",
                model.type_name(),
                problems.join("\n\t")
            ),
        ));
    }
    let _guard = no_grad();
    for (dst, src) in copies {
        dst.copy_(src)?;
    }
    Ok(keys)
}

/// `Missing key(s) in state_dict: "a", "b".`
fn key_list(kind: &str, keys: &[String]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!("{kind} key(s) in state_dict: {}.", quoted.join(", "))
}

/// A checkpoint file format, chosen by the file's extension.
///
/// ```
/// use ferrograd_nn::checkpoint::Format;
/// assert_eq!(Format::from_path("model.safetensors")?, Format::Safetensors);
/// assert_eq!(Format::from_path("runs/cnn.npz")?, Format::Npz);
/// let e = Format::from_path("model.pt").unwrap_err().to_string();
/// assert!(e.contains("use a file name ending in .npz or .safetensors"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A NumPy `.npz` archive, one array per key (`np.savez`).
    Npz,
    /// A safetensors file (`safetensors.torch.save_file`).
    Safetensors,
}

impl Format {
    /// The format a path's extension names (`Err` for any other extension).
    ///
    /// ```
    /// use ferrograd_nn::checkpoint::Format;
    /// assert_eq!(Format::from_path(std::path::Path::new("ckpt/epoch3.npz"))?, Format::Npz);
    /// assert!(Format::from_path("weights").is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Format> {
        let path = path.as_ref();
        match path.extension().and_then(|e| e.to_str()) {
            Some("npz") => Ok(Format::Npz),
            Some("safetensors") => Ok(Format::Safetensors),
            _ => Err(Error::invalid(
                "checkpoint",
                format!(
                    "cannot tell the checkpoint format of {}: use a file name ending in .npz or .safetensors",
                    path.display()
                ),
            )),
        }
    }
}

/// Writes named tensors to `path` in the format its extension names,
/// atomically.
///
/// ```
/// use ferrograd_nn::checkpoint::{read_tensors, write_tensors};
/// use ferrograd_autograd::Tensor;
/// let path = std::env::temp_dir().join(format!("fg-nn-write-{}.safetensors", std::process::id()));
/// write_tensors(&path, &[("w".to_string(), Tensor::from_vec(vec![1.0f32, 2.0], &[2])?)])?;
/// assert_eq!(read_tensors(&path)?[0].1.to_vec::<f32>()?, vec![1.0, 2.0]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn write_tensors(path: impl AsRef<Path>, tensors: &[(String, Tensor)]) -> Result<()> {
    let path = path.as_ref();
    let named: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    match Format::from_path(path)? {
        Format::Npz => ferrograd_interop::npz::save_npz(path, &named),
        Format::Safetensors => ferrograd_interop::save_safetensors(path, &named),
    }
}

/// Reads every tensor of a `.npz` or safetensors file, with its name. A
/// missing, truncated or corrupt file is an `Err` naming it.
///
/// ```
/// use ferrograd_nn::checkpoint::read_tensors;
/// let path = std::env::temp_dir().join(format!("fg-nn-corrupt-{}.npz", std::process::id()));
/// std::fs::write(&path, b"not a zip archive").unwrap();
/// assert!(read_tensors(&path).is_err());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_tensors(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    match Format::from_path(path)? {
        Format::Npz => ferrograd_interop::npz::load_npz(path),
        Format::Safetensors => ferrograd_interop::load_safetensors(path),
    }
}

/// Saves `model.state_dict()` to `path` (`.npz` or `.safetensors`),
/// atomically.
///
/// ```
/// use ferrograd_nn::checkpoint::{load, save};
/// use ferrograd_nn::module::Module;
/// use ferrograd_nn::layers::Linear;
/// let path = std::env::temp_dir().join(format!("fg-nn-save-{}.npz", std::process::id()));
/// let (a, b) = (Linear::new(4, 2)?, Linear::new(4, 2)?);
/// save(&a, &path)?;
/// load(&b, &path)?;
/// assert_eq!(b.bias.as_ref().unwrap().to_vec::<f32>()?, a.bias.as_ref().unwrap().to_vec::<f32>()?);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn save<M: Module + ?Sized>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    write_tensors(path, &model.state_dict())
}

/// Loads a `.npz` or safetensors checkpoint into `model`, strictly (see
/// [`load_state_dict`]); errors name the file.
///
/// ```
/// use ferrograd_nn::checkpoint::{load, save};
/// use ferrograd_nn::layers::Linear;
/// let path = std::env::temp_dir().join(format!("fg-nn-load-{}.safetensors", std::process::id()));
/// save(&Linear::new(4, 2)?, &path)?;
/// let e = load(&Linear::new(4, 3)?, &path).unwrap_err().to_string();
/// assert!(e.contains("size mismatch for weight"), "{e}");
/// assert!(e.contains(&path.display().to_string()), "{e}");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn load<M: Module + ?Sized>(model: &M, path: impl AsRef<Path>) -> Result<IncompatibleKeys> {
    load_with(model, path, LoadOptions::default())
}

/// [`load`] with options (`LoadOptions::new().strict(false)`).
///
/// ```
/// use ferrograd_nn::checkpoint::{load_with, save, LoadOptions};
/// use ferrograd_nn::layers::{Linear, Sequential};
/// let path = std::env::temp_dir().join(format!("fg-nn-load-with-{}.npz", std::process::id()));
/// save(&Sequential::new().append(Linear::new(4, 2)?), &path)?;
/// let bigger = Sequential::new().append(Linear::new(4, 2)?).append(Linear::new(2, 1)?);
/// let keys = load_with(&bigger, &path, LoadOptions::new().strict(false))?;
/// assert_eq!(keys.missing_keys, ["1.weight", "1.bias"]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn load_with<M: Module + ?Sized>(
    model: &M,
    path: impl AsRef<Path>,
    opts: LoadOptions,
) -> Result<IncompatibleKeys> {
    let path = path.as_ref();
    let state = read_tensors(path)?;
    load_from(model, &state, opts, &format!(" from {}", path.display()))
}
