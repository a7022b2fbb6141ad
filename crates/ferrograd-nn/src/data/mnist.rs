//! MNIST from its IDX files ([`Mnist`]), and the IDX reader ([`read_idx`])
//! that also reads Fashion-MNIST, KMNIST and EMNIST files, plain or gzipped.

use super::TensorDataset;
use ferrograd_autograd::{Error, Result, Tensor};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The contents of an IDX file of unsigned bytes: its dimensions and its
/// elements in row-major order.
///
/// ```
/// use ferrograd_nn::data::read_idx;
/// let path = std::env::temp_dir().join("ferrograd_doc_idx_array");
/// std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])?;
/// let idx = read_idx(&path)?;
/// assert_eq!((idx.magic, idx.dims, idx.data), (0x801, vec![3], vec![7, 8, 9]));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// The 4-byte magic number: `0x0000_08NN` for `NN` dimensions of bytes
    /// (`2051` for MNIST images, `2049` for labels).
    pub magic: u32,
    /// The size of each dimension.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes (`0x08` element type), decompressing
/// it first if it starts with the gzip magic bytes. `Err` for a missing
/// file, a magic number that is not IDX bytes, or fewer (or more) data bytes
/// than the header promises.
///
/// ```
/// use ferrograd_nn::data::read_idx;
/// let path = std::env::temp_dir().join("ferrograd_doc_read_idx");
/// std::fs::write(&path, [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3])?;
/// let e = read_idx(&path).unwrap_err().to_string();
/// assert!(e.contains("truncated"), "{e}");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let raw =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::io(format!("decompressing {}", path.display()), e))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|msg| Error::Format {
        format: "idx",
        msg: format!("{}: {msg}", path.display()),
    })
}

fn parse_idx(bytes: &[u8]) -> std::result::Result<IdxArray, String> {
    let header = bytes.get(..4).ok_or_else(|| {
        format!(
            "the file has {} bytes, fewer than the 4-byte magic number",
            bytes.len()
        )
    })?;
    if header[0] != 0 || header[1] != 0 || header[2] != 0x08 {
        return Err(format!(
            "bad magic number {header:02x?}: an IDX file of unsigned bytes starts with 00 00 08 <ndim>"
        ));
    }
    let ndim = header[3] as usize;
    let data_start = 4 + 4 * ndim;
    let dim_bytes = bytes.get(4..data_start).ok_or_else(|| {
        format!(
            "truncated header: {ndim} dimensions need {data_start} bytes, the file has {}",
            bytes.len()
        )
    })?;
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected: usize = dims.iter().product();
    let got = bytes.len() - data_start;
    if got != expected {
        let what = if got < expected {
            "truncated"
        } else {
            "has trailing bytes"
        };
        return Err(format!(
            "the file is {what}: dimensions {dims:?} need {expected} data bytes, found {got}"
        ));
    }
    Ok(IdxArray {
        magic: u32::from_be_bytes([0, 0, 8, ndim as u8]),
        dims,
        data: bytes[data_start..].to_vec(),
    })
}

/// The MNIST digits (`torchvision.datasets.MNIST`) from the four IDX files
/// of <http://yann.lecun.com/exdb/mnist/>, as a [`TensorDataset`] of
/// `f32` images `[N, 1, 28, 28]` scaled to `[0, 1]` (`ToTensor()`) and `i64`
/// labels `[N]`.
///
/// ```no_run
/// use ferrograd_nn::data::{Dataset, Mnist};
/// let train = Mnist::load("data", true)?;
/// assert_eq!(train.len(), 60_000);
/// let test = Mnist::load_normalized("data", false)?;
/// assert_eq!(test.inputs().shape(), &[10_000, 1, 28, 28]);
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct Mnist;

impl Mnist {
    /// The mean of the training pixels in `[0, 1]`, as in PyTorch's MNIST example.
    ///
    /// ```
    /// use ferrograd_nn::data::Mnist;
    /// let dir = std::env::temp_dir().join(format!("fg-nn-mnist-mean-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let (images, labels) = Mnist::file_names(false);
    /// std::fs::write(dir.join(images), [&[0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28][..], &[0; 784]].concat())?;
    /// std::fs::write(dir.join(labels), [0, 0, 8, 1, 0, 0, 0, 1, 7])?;
    /// let x = Mnist::load_normalized(&dir, false)?.inputs().to_vec::<f32>()?;
    /// std::fs::remove_dir_all(&dir)?;
    /// assert_eq!(x[0], -Mnist::MEAN / Mnist::STD); // a black pixel
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const MEAN: f32 = 0.1307;
    /// Their standard deviation.
    ///
    /// ```
    /// use ferrograd_nn::data::Mnist;
    /// // normalized pixels span PyTorch's familiar [-0.4242, 2.8215]
    /// assert!(((0.0 - Mnist::MEAN) / Mnist::STD + 0.4242).abs() < 1e-4);
    /// assert!(((1.0 - Mnist::MEAN) / Mnist::STD - 2.8215).abs() < 1e-4);
    /// ```
    pub const STD: f32 = 0.3081;

    /// The (images, labels) file names of a split.
    ///
    /// ```
    /// use ferrograd_nn::data::Mnist;
    /// assert_eq!(Mnist::file_names(false), ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"));
    /// ```
    pub fn file_names(train: bool) -> (&'static str, &'static str) {
        if train {
            ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
        } else {
            ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        }
    }

    /// Loads the training (`train = true`) or test split from `dir`, which
    /// holds the files as named by [`file_names`](Mnist::file_names), or
    /// those names with `.gz`, directly or under `MNIST/raw/` (torchvision's
    /// layout). `Err` naming every path tried when a file is missing, and for
    /// malformed files or image and label counts that differ.
    ///
    /// ```
    /// use ferrograd_nn::data::Mnist;
    /// let e = Mnist::load("/nonexistent", true).unwrap_err().to_string();
    /// assert!(e.contains("/nonexistent/train-images-idx3-ubyte.gz"), "{e}");
    /// ```
    pub fn load(dir: impl AsRef<Path>, train: bool) -> Result<TensorDataset> {
        load_scaled(dir.as_ref(), train, |p| p as f32 / 255.0)
    }

    /// [`load`](Mnist::load), then `(x - MEAN) / STD` on the pixels
    /// (`Normalize((0.1307,), (0.3081,))`).
    ///
    /// ```
    /// use ferrograd_nn::data::Mnist;
    /// assert!(Mnist::load_normalized("/nonexistent", false).is_err());
    /// ```
    pub fn load_normalized(dir: impl AsRef<Path>, train: bool) -> Result<TensorDataset> {
        load_scaled(dir.as_ref(), train, |p| {
            (p as f32 / 255.0 - Self::MEAN) / Self::STD
        })
    }
}

/// The split `train` of MNIST in `dir`, each pixel byte mapped by `scale`.
fn load_scaled(dir: &Path, train: bool, scale: impl Fn(u8) -> f32) -> Result<TensorDataset> {
    let (image_name, label_name) = Mnist::file_names(train);
    let images = read_idx(find_file(dir, image_name)?)?;
    let labels = read_idx(find_file(dir, label_name)?)?;
    if images.dims.len() != 3 || labels.dims.len() != 1 {
        return Err(Error::Format {
            format: "idx",
            msg: format!(
                "MNIST images must have 3 dimensions and labels 1, got {:?} and {:?}",
                images.dims, labels.dims
            ),
        });
    }
    if images.dims[0] != labels.dims[0] {
        return Err(Error::Format {
            format: "idx",
            msg: format!(
                "{} holds {} images but {} holds {} labels",
                image_name, images.dims[0], label_name, labels.dims[0]
            ),
        });
    }
    let (n, h, w) = (images.dims[0], images.dims[1], images.dims[2]);
    let pixels: Vec<f32> = images.data.iter().map(|&p| scale(p)).collect();
    let labels: Vec<i64> = labels.data.iter().map(|&l| l as i64).collect();
    TensorDataset::new(
        Tensor::from_vec(pixels, &[n, 1, h, w])?,
        Tensor::from_vec(labels, &[n])?,
    )
}

/// The first of `dir/name`, `dir/name.gz`, `dir/MNIST/raw/name`,
/// `dir/MNIST/raw/name.gz` that exists.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let gz = format!("{name}.gz");
    let raw = dir.join("MNIST").join("raw");
    let candidates = [dir.join(name), dir.join(&gz), raw.join(name), raw.join(&gz)];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(Error::io(
        format!(
            "MNIST file {name} not found; looked for {}. Download the four files from http://yann.lecun.com/exdb/mnist/ (or a mirror) into that directory",
            tried.join(", ")
        ),
        std::io::ErrorKind::NotFound.into(),
    ))
}
