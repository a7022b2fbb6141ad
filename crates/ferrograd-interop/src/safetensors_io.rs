//! Weights in the [safetensors](https://github.com/huggingface/safetensors)
//! format that PyTorch and Hugging Face use: [`save_safetensors`] and
//! [`load_safetensors`], through the `safetensors` crate.
//!
//! The dtypes that map are `F32`, `F64`, `I64`, `I32`, `U8` and `BOOL`;
//! files holding others (`F16`, `BF16`...) load with an error naming the
//! tensor and its dtype. Any layout saves correctly (strided tensors are
//! written in logical row-major order). Saving writes a temporary file next
//! to the target and renames it over the target, so readers never see a
//! half-written file and a failed save leaves the old file as it was.

use ferrograd_autograd::{DType, Element, Error, Layout, Result, Tensor};
use ferrograd_storage::{cpu::gather_contiguous, with_buffer, with_dtype, OwnedReadGuard};
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, View};
use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

/// Element types with a little-endian byte form.
trait LeBytes: Element {
    const SIZE: usize;
    fn put(self, out: &mut [u8]);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! le_bytes {
    ($($t:ty),*) => {$(
        impl LeBytes for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("chunk of SIZE bytes"))
            }
        }
    )*};
}

le_bytes!(f32, f64, i64, i32, u8);

impl LeBytes for bool {
    const SIZE: usize = 1;
    #[inline]
    fn put(self, out: &mut [u8]) {
        out[0] = self as u8;
    }
    #[inline]
    fn get(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

fn to_le_bytes<T: LeBytes>(values: &[T]) -> Vec<u8> {
    let mut out = vec![0u8; values.len() * T::SIZE];
    for (chunk, &v) in out.chunks_exact_mut(T::SIZE).zip(values) {
        v.put(chunk);
    }
    out
}

fn from_le_bytes<T: LeBytes>(bytes: &[u8]) -> Vec<T> {
    bytes.chunks_exact(T::SIZE).map(T::get).collect()
}

fn file_dtype(dtype: DType) -> Dtype {
    match dtype {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::U8 => Dtype::U8,
        DType::Bool => Dtype::BOOL,
    }
}

fn tensor_dtype(dtype: Dtype) -> Option<DType> {
    DType::ALL.into_iter().find(|&d| file_dtype(d) == dtype)
}

/// One tensor being saved: a shared borrow of its storage, held for the
/// whole save so every tensor is written as it was when the save began.
struct Entry {
    guard: OwnedReadGuard,
    layout: Layout,
    dtype: Dtype,
    data_len: usize,
}

impl View for Entry {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        self.layout.shape()
    }

    fn data(&self) -> Cow<'_, [u8]> {
        let numel = self.layout.numel();
        with_buffer!(&*self.guard, v, T => Cow::Owned(match self.layout.contiguous_offset() {
            Some(start) => to_le_bytes::<T>(&v[start..start + numel]),
            None => to_le_bytes::<T>(&gather_contiguous(v, &self.layout)),
        }))
    }

    fn data_len(&self) -> usize {
        self.data_len
    }
}

fn format_error(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Format {
        format: "safetensors",
        msg: format!("{}: {msg}", path.display()),
    }
}

fn library_error(path: &Path, doing: &str, e: SafeTensorError) -> Error {
    match e {
        SafeTensorError::IoError(source) => {
            Error::io(format!("{doing} {}", path.display()), source)
        }
        e => format_error(path, e),
    }
}

/// Writes `tensors` to a safetensors file at `path`, replacing it
/// atomically. Names must be distinct; tensors may have any dtype that maps
/// (all of ferrograd's) and any layout. Each storage is borrowed for the
/// duration of the save, so a live `numpy_mut` view of one makes it fail.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::{load_safetensors, save_safetensors};
/// let dir = std::env::temp_dir().join(format!("fg-st-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("model.safetensors");
/// let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let steps = Tensor::scalar(1000i64);
/// save_safetensors(&path, &[("w_t", &w.t()?), ("steps", &steps)])?;
/// let loaded = load_safetensors(&path)?;
/// assert_eq!(loaded[0].0, "steps");
/// assert_eq!(loaded[0].1.item::<i64>()?, 1000);
/// assert_eq!(loaded[1].1.to_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub fn save_safetensors<S: AsRef<str>>(
    path: impl AsRef<Path>,
    tensors: &[(S, &Tensor)],
) -> Result<()> {
    let path = path.as_ref();
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let name = name.as_ref();
        if !seen.insert(name) {
            return Err(Error::invalid(
                "save_safetensors",
                format!(
                    "{}: the tensor name '{name}' appears twice; names must be unique",
                    path.display()
                ),
            ));
        }
        let entry = Entry {
            guard: t.storage().read_owned()?,
            layout: t.layout().clone(),
            dtype: file_dtype(t.dtype()),
            data_len: t.numel() * t.dtype().size_in_bytes(),
        };
        entries.push((name.to_string(), entry));
    }
    safetensors::serialize_to_file(entries, None, path)
        .map_err(|e| library_error(path, "writing", e))
}

/// Reads every tensor of a safetensors file, sorted by name. Each tensor is
/// a fresh contiguous CPU tensor of the file's dtype that does not require
/// grad.
///
/// ```
/// use ferrograd_interop::load_safetensors;
/// let e = load_safetensors("/no/such/weights.safetensors").unwrap_err();
/// assert!(e.to_string().starts_with("reading /no/such/weights.safetensors: "));
/// ```
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| library_error(path, "reading", e))?;
    let mut out = file
        .iter()
        .map(|(name, view)| {
            let dtype = tensor_dtype(view.dtype()).ok_or_else(|| {
                format_error(
                    path,
                    format!(
                        "tensor '{name}' has dtype {}, which ferrograd cannot hold (it holds F32, F64, I64, I32, U8 and BOOL); convert it before saving, e.g. tensor.float() in PyTorch",
                        view.dtype()
                    ),
                )
            })?;
            let t = with_dtype!(dtype, T => Tensor::from_vec(from_le_bytes::<T>(view.data()), view.shape()))
                .map_err(|e| format_error(path, format!("tensor '{name}': {e}")))?;
            Ok((name.to_string(), t))
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tensor_dtype_maps_to_a_file_dtype_and_back() {
        for d in DType::ALL {
            assert_eq!(tensor_dtype(file_dtype(d)), Some(d));
            assert_eq!(file_dtype(d).bitsize(), 8 * d.size_in_bytes());
        }
        assert_eq!(tensor_dtype(Dtype::BF16), None);
    }

    #[test]
    fn bytes_are_little_endian() {
        assert_eq!(
            to_le_bytes(&[1i32, -2]),
            vec![1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]
        );
        assert_eq!(to_le_bytes(&[true, false]), vec![1, 0]);
        assert_eq!(from_le_bytes::<f32>(&1.5f32.to_le_bytes()), vec![1.5]);
        assert_eq!(from_le_bytes::<bool>(&[0, 1, 2]), vec![false, true, true]);
    }
}
