//! `.npz` archives, the format of `np.savez` / `np.savez_compressed` /
//! `np.load`: a zip file holding one `.npy` entry per named array.
//! [`save_npz`] stores entries as they are, [`save_npz_compressed`] deflates
//! them, and [`load_npz`] / [`NpzReader`] read either kind. Entries stream
//! through the zip layer with [`write_npy`] and [`read_npy`], so no array is
//! buffered whole on its way in or out; reading an entry to its end also
//! checks its CRC. A stored entry, whose size the archive's length bounds,
//! is read like a file (`load_npy`): the header's claim checked against the
//! entry's size, then one `read` into the tensor's memory; a compressed
//! entry's data arrives in steps that grow with what has been inflated.

use crate::npy::{in_context, read_npy, read_npy_within, write_atomically, write_npy};
use ferrograd_autograd::Tensor;
use ferrograd_storage::{Error, Result};
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// How the entries of an archive are stored.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npz::{write_npz, NpzCompression};
/// let t = Tensor::zeros(&[256], ferrograd_storage::DType::I64)?;
/// let size = |c| write_npz(std::io::Cursor::new(Vec::new()), &[("t", &t)], c).map(|w| w.into_inner().len());
/// assert!(size(NpzCompression::Deflated)? < size(NpzCompression::Stored)? / 4);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NpzCompression {
    /// As they are (`np.savez`).
    #[default]
    Stored,
    /// Deflated (`np.savez_compressed`).
    Deflated,
}

fn npz_error(msg: impl Into<String>) -> Error {
    Error::Format {
        format: "npz",
        msg: msg.into(),
    }
}

fn zip_error(err: ZipError) -> Error {
    match err {
        ZipError::Io(e) => Error::io("reading or writing the zip archive", e),
        other => npz_error(other.to_string()),
    }
}

/// Writes `arrays` to `writer` as an `.npz` archive, one `{name}.npy` entry
/// per array in the order given; returns the writer once the archive is
/// complete. Names must be distinct.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npz::{write_npz, NpzCompression, NpzReader};
/// let w = Tensor::from_vec(vec![0.5f32; 6], &[2, 3])?;
/// let b = Tensor::from_vec(vec![1i64, 2], &[2])?;
/// let cursor = write_npz(std::io::Cursor::new(Vec::new()), &[("w", &w), ("b", &b)], NpzCompression::Deflated)?;
/// let mut archive = NpzReader::new(cursor)?;
/// assert_eq!(archive.names(), vec!["w", "b"]);
/// assert_eq!(archive.read("b")?.to_vec::<i64>()?, vec![1, 2]);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn write_npz<W: Write + Seek>(
    writer: W,
    arrays: &[(&str, &Tensor)],
    compression: NpzCompression,
) -> Result<W> {
    let mut seen = HashSet::new();
    if let Some((name, _)) = arrays.iter().find(|(name, _)| !seen.insert(*name)) {
        return Err(Error::invalid(
            "save_npz",
            format!("the name {name:?} is given twice; each array needs its own name"),
        ));
    }
    let method = match compression {
        NpzCompression::Stored => CompressionMethod::Stored,
        NpzCompression::Deflated => CompressionMethod::Deflated,
    };
    let mut zip = ZipWriter::new(writer);
    for (name, tensor) in arrays {
        // Zip64 sizes are needed past 4 GiB; the header adds well under 64 KiB.
        let bytes = (tensor.numel() * tensor.dtype().size_in_bytes()) as u64 + (1 << 16);
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(bytes > u64::from(u32::MAX));
        zip.start_file(format!("{name}.npy"), options)
            .map_err(zip_error)?;
        write_npy(&mut zip, tensor).map_err(|e| in_context(e, &format!("array {name:?}")))?;
    }
    zip.finish().map_err(zip_error)
}

fn save_with(path: &Path, arrays: &[(&str, &Tensor)], compression: NpzCompression) -> Result<()> {
    write_atomically(path, |file| {
        let buffered = write_npz(BufWriter::new(file), arrays, compression)?;
        buffered
            .into_inner()
            .map(|_| ())
            .map_err(|e| Error::io("flushing", e.into_error()))
    })
    .map_err(|e| in_context(e, &format!("saving {}", path.display())))
}

/// Saves named arrays to `path` uncompressed, as `np.savez(path, **arrays)`
/// does, replacing the file atomically.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npz::{load_npz, save_npz};
/// let path = std::env::temp_dir().join(format!("ferrograd-doc-{}.npz", std::process::id()));
/// let x = Tensor::from_vec(vec![true, false], &[2])?;
/// let y = Tensor::scalar(3.5f64);
/// save_npz(&path, &[("x", &x), ("y", &y)])?;
/// let arrays = load_npz(&path)?;
/// assert_eq!(arrays[0].0, "x");
/// assert_eq!(arrays[1].1.item::<f64>()?, 3.5);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn save_npz(path: impl AsRef<Path>, arrays: &[(&str, &Tensor)]) -> Result<()> {
    save_with(path.as_ref(), arrays, NpzCompression::Stored)
}

/// Saves named arrays to `path` with deflate, as `np.savez_compressed` does.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npz::{load_npz, save_npz_compressed};
/// let path = std::env::temp_dir().join(format!("ferrograd-doc-z-{}.npz", std::process::id()));
/// let zeros = Tensor::zeros(&[1000], ferrograd_storage::DType::F64)?;
/// save_npz_compressed(&path, &[("zeros", &zeros)])?;
/// assert!(std::fs::metadata(&path)?.len() < 1000);
/// assert_eq!(load_npz(&path)?[0].1.shape(), &[1000]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_npz_compressed(path: impl AsRef<Path>, arrays: &[(&str, &Tensor)]) -> Result<()> {
    save_with(path.as_ref(), arrays, NpzCompression::Deflated)
}

/// Loads every array of an `.npz` file, in archive order, with its name
/// (the entry name without `.npy`). Entries that are not `.npy` files are
/// skipped, as they are not arrays.
///
/// ```
/// use ferrograd_interop::npz::load_npz;
/// let path = std::env::temp_dir().join(format!("ferrograd-doc-missing-{}.npz", std::process::id()));
/// let err = load_npz(&path).unwrap_err().to_string();
/// assert!(err.starts_with("loading ") && err.contains("No such file"), "{err}");
/// ```
pub fn load_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let context = format!("loading {}", path.display());
    NpzReader::open(path)
        .and_then(|mut archive| archive.read_all())
        .map_err(|e| in_context(e, &context))
}

/// An open `.npz` archive whose arrays are read one at a time, by name.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npz::{save_npz, NpzReader};
/// let path = std::env::temp_dir().join(format!("ferrograd-doc-r-{}.npz", std::process::id()));
/// let t = Tensor::from_vec(vec![7u8, 8, 9], &[3])?;
/// save_npz(&path, &[("arr_0", &t)])?;
/// let mut archive = NpzReader::open(&path)?;
/// assert_eq!(archive.names(), vec!["arr_0"]);
/// assert_eq!(archive.read("arr_0")?.to_vec::<u8>()?, vec![7, 8, 9]);
/// let err = archive.read("arr_1").unwrap_err().to_string();
/// assert!(err.contains("no array named \"arr_1\""), "{err}");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub struct NpzReader<R: Read + Seek> {
    archive: ZipArchive<R>,
    /// The length of the reader's whole stream: no stored entry can hold more.
    len: u64,
}

impl NpzReader<BufReader<File>> {
    /// Opens the archive at `path` (reads only its directory).
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::npz::{save_npz, NpzReader};
    /// let path = std::env::temp_dir().join(format!("ferrograd-doc-open-{}.npz", std::process::id()));
    /// save_npz(&path, &[("x", &Tensor::scalar(1.5f64))])?;
    /// let opened = NpzReader::open(&path).map(|r| r.names());
    /// std::fs::remove_file(&path).unwrap();
    /// assert_eq!(opened?, vec!["x"]);
    /// assert!(NpzReader::open(&path).is_err()); // gone
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        Self::new(BufReader::new(file)).map_err(|e| in_context(e, &path.display().to_string()))
    }
}

impl<R: Read + Seek> NpzReader<R> {
    /// Reads the archive's directory from `reader`.
    ///
    /// ```
    /// use ferrograd_interop::npz::NpzReader;
    /// let e = NpzReader::new(std::io::Cursor::new(b"not a zip".to_vec())).err().unwrap().to_string();
    /// assert!(e.contains("not a valid .npz (zip) archive"), "{e}");
    /// ```
    pub fn new(mut reader: R) -> Result<Self> {
        let len = stream_len(&mut reader).map_err(|e| Error::io("seeking in the archive", e))?;
        let archive = ZipArchive::new(reader).map_err(|e| match e {
            ZipError::InvalidArchive(msg) => {
                npz_error(format!("not a valid .npz (zip) archive: {msg}"))
            }
            other => zip_error(other),
        })?;
        Ok(NpzReader { archive, len })
    }

    /// The names of the arrays, in archive order.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::npz::{write_npz, NpzCompression, NpzReader};
    /// let t = Tensor::scalar(0u8);
    /// let zip = write_npz(std::io::Cursor::new(Vec::new()), &[("z", &t), ("a", &t)], NpzCompression::Stored)?;
    /// assert_eq!(NpzReader::new(zip)?.names(), vec!["z", "a"]);
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn names(&self) -> Vec<String> {
        (0..self.archive.len())
            .filter_map(|i| {
                self.archive
                    .name_for_index(i)?
                    .strip_suffix(".npy")
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Reads the array called `name`.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::npz::{write_npz, NpzCompression, NpzReader};
    /// let w = Tensor::from_vec(vec![1i64, 2, 3, 4], &[2, 2])?;
    /// let zip = write_npz(std::io::Cursor::new(Vec::new()), &[("w", &w)], NpzCompression::Stored)?;
    /// let back = NpzReader::new(zip)?.read("w")?;
    /// assert_eq!((back.shape(), back.to_vec::<i64>()?), (&[2, 2][..], vec![1, 2, 3, 4]));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn read(&mut self, name: &str) -> Result<Tensor> {
        let entry_name = format!("{name}.npy");
        let known = self.names();
        let entry = match self.archive.by_name(&entry_name) {
            Err(ZipError::FileNotFound) => {
                return Err(npz_error(format!(
                    "no array named {name:?} in the archive; it holds {known:?}"
                )))
            }
            other => other.map_err(zip_error)?,
        };
        // A stored entry's size is bounded by the archive's length, so its
        // header's data size can be checked and the data read in one go; a
        // compressed entry's claimed size proves nothing, so its data is
        // read in steps that grow with what actually arrives.
        let limit = (entry.compression() == CompressionMethod::Stored
            && entry.compressed_size() == entry.size()
            && entry.size() <= self.len)
            .then(|| entry.size());
        read_entry(entry, limit).map_err(|e| in_context(e, &format!("array {name:?}")))
    }

    /// Reads every array, in archive order.
    ///
    /// ```
    /// use ferrograd_autograd::Tensor;
    /// use ferrograd_interop::npz::{write_npz, NpzCompression, NpzReader};
    /// let (a, b) = (Tensor::scalar(1.0f32), Tensor::scalar(2i32));
    /// let archive = write_npz(std::io::Cursor::new(Vec::new()), &[("b", &b), ("a", &a)], NpzCompression::Stored)?;
    /// let all = NpzReader::new(archive)?.read_all()?;
    /// assert_eq!((all[0].0.as_str(), all[0].1.item::<i32>()?), ("b", 2));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn read_all(&mut self) -> Result<Vec<(String, Tensor)>> {
        self.names()
            .into_iter()
            .map(|name| self.read(&name).map(|t| (name, t)))
            .collect()
    }
}

/// The length of `reader`'s whole stream (its position is kept).
fn stream_len(reader: &mut impl Seek) -> io::Result<u64> {
    let position = reader.stream_position()?;
    let end = reader.seek(io::SeekFrom::End(0))?;
    reader.seek(io::SeekFrom::Start(position))?;
    Ok(end)
}

/// Reads one entry's array (at most `limit` bytes when the entry's size is
/// known to be real), then the entry's end, which checks its CRC.
fn read_entry(mut entry: impl Read, limit: Option<u64>) -> Result<Tensor> {
    let tensor = match limit {
        Some(limit) => read_npy_within(&mut entry, limit, "the entry")?,
        None => read_npy(&mut entry)?,
    };
    io::copy(&mut entry, &mut io::sink()).map_err(|e| Error::io("checking the entry's CRC", e))?;
    Ok(tensor)
}
