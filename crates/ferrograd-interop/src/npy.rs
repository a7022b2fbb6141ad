//! `.npy` files, the format of `np.save` / `np.load`: [`save_npy`] and
//! [`load_npy`] for paths, [`write_npy`] and [`read_npy`] for any
//! `Write`/`Read` (how [`npz`](crate::npz) archives stream their entries).
//!
//! - Every ferrograd dtype (`<f4 <f8 <i8 <i4 |u1 |b1`), little- and
//!   big-endian, C and Fortran order, format versions 1.0, 2.0 and 3.0, 0-d
//!   and empty arrays. Headers are byte for byte what NumPy writes.
//! - A Fortran-order file loads as a column-major strided view of the
//!   file's buffer, with no reordering copy; a transposed tensor saves as a
//!   Fortran-order file straight from its memory, as `np.save` does.
//! - Data is never buffered twice: loading reads the header, then reads the
//!   data straight into the tensor's final vector; saving writes a
//!   contiguous tensor straight from its memory and gathers any other
//!   layout (negative strides included) in bounded blocks.
//! - Files are replaced atomically: a temporary file in the same directory,
//!   then a rename.
//! - On Linux, saving reserves the file's blocks first (`fallocate`, as
//!   NumPy's `tofile` does) and loading backs large tensors with huge pages
//!   (as NumPy's allocator does): without these two hints each ran at about
//!   half of NumPy's speed.
//! - Hostile files get an `Err`, never a panic or an allocation sized by an
//!   unchecked header: a path's claimed data size is checked against the
//!   file's length before allocating, and a generic reader's data is read in
//!   steps that at most double what has actually arrived.
//!
//! There is no memory-mapped load: a tensor's storage owns a `Vec`, so the
//! data of a map would have to be copied into one, which is the single copy
//! `load_npy` already makes from the page cache with one `read`.

mod atomic;
mod body;
mod element;
mod header;
mod literal;
mod os_hints;

pub(crate) use atomic::write_atomically;
pub use header::{Endian, NpyHeader, MAGIC, MAX_HEADER_LEN, MAX_NDIM};

use element::NpyElement;
use ferrograd_autograd::Tensor;
use ferrograd_storage::{
    contiguous_strides, with_buffer, with_dtype, Element, Error, Layout, Result, Storage,
};
use header::npy_error;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// The order a file stores a tensor's elements in.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npy::{write_npy_with, NpyHeader, NpyOrder, NpyWriteOptions};
/// let t = Tensor::from_vec(vec![1u8, 2, 3, 4, 5, 6], &[2, 3])?.t()?;
/// let fortran_order = |order| -> ferrograd_storage::Result<bool> {
///     let mut bytes = Vec::new();
///     write_npy_with(&mut bytes, &t, &NpyWriteOptions { order, ..Default::default() })?;
///     Ok(NpyHeader::parse(&bytes)?.0.fortran_order)
/// };
/// assert!(fortran_order(NpyOrder::Auto)?); // a transpose is column-major
/// assert!(!fortran_order(NpyOrder::C)?);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NpyOrder {
    /// NumPy's choice: Fortran when the tensor is column-major and not
    /// row-major (a transposed matrix), else C. Either way no copy is needed
    /// for a tensor that is one of the two.
    #[default]
    Auto,
    /// Row-major (`fortran_order: False`).
    C,
    /// Column-major (`fortran_order: True`).
    Fortran,
}

/// How [`write_npy_with`] and [`save_npy_with`] lay out a file.
///
/// ```
/// use ferrograd_interop::npy::{Endian, NpyOrder, NpyWriteOptions};
/// let opts = NpyWriteOptions { endian: Endian::Big, order: NpyOrder::C, ..Default::default() };
/// assert_eq!(opts.version, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NpyWriteOptions {
    /// Element order in the file.
    pub order: NpyOrder,
    /// Byte order of the data (NumPy writes the machine's).
    pub endian: Endian,
    /// Format version; `None` picks the lowest that fits, as NumPy does.
    pub version: Option<(u8, u8)>,
}

impl Default for NpyWriteOptions {
    fn default() -> Self {
        NpyWriteOptions {
            order: NpyOrder::Auto,
            endian: Endian::native(),
            version: None,
        }
    }
}

/// Prefixes an error's message with `context` (a path, an archive entry).
pub(crate) fn in_context(err: Error, context: &str) -> Error {
    match err {
        Error::Format { format, msg } => Error::Format {
            format,
            msg: format!("{context}: {msg}"),
        },
        Error::Io {
            context: inner,
            source,
        } => Error::io(format!("{context}: {inner}"), source),
        other => other,
    }
}

/// The dims of `layout` reversed: iterating it row-major walks the tensor column-major.
fn reversed(layout: &Layout) -> Result<Layout> {
    let dims: Vec<usize> = (0..layout.ndim()).rev().collect();
    layout.permute(&dims)
}

/// Column-major strides of `shape`.
fn fortran_strides(shape: &[usize]) -> Vec<isize> {
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    contiguous_strides(&rev).iter().rev().copied().collect()
}

/// Writes `tensor` as a `.npy` stream with NumPy's defaults: native byte
/// order, Fortran order for a transposed (column-major) tensor, else C.
/// The tensor's gradient settings are ignored: only its data is written.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npy::{read_npy, write_npy};
/// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// let mut bytes = Vec::new();
/// write_npy(&mut bytes, &t)?;
/// assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
/// assert_eq!(bytes.len(), 128 + 6 * 4);
/// let back = read_npy(&bytes[..])?;
/// assert_eq!(back.to_vec::<f32>()?, t.to_vec::<f32>()?);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn write_npy(writer: impl Write, tensor: &Tensor) -> Result<()> {
    write_npy_with(writer, tensor, &NpyWriteOptions::default())
}

/// [`write_npy`] with a chosen element order, byte order and version.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npy::{read_npy, write_npy_with, Endian, NpyOrder, NpyWriteOptions};
/// let t = Tensor::from_vec(vec![1i32, 2, 3, 4], &[2, 2])?;
/// let opts = NpyWriteOptions { order: NpyOrder::Fortran, endian: Endian::Big, version: Some((2, 0)) };
/// let mut bytes = Vec::new();
/// write_npy_with(&mut bytes, &t, &opts)?;
/// // Column-major, big-endian: 1, 3, 2, 4 with the most significant byte first.
/// assert_eq!(&bytes[bytes.len() - 16..bytes.len() - 12], &[0, 0, 0, 1]);
/// assert_eq!(&bytes[bytes.len() - 12..bytes.len() - 8], &[0, 0, 0, 3]);
/// let back = read_npy(&bytes[..])?;
/// assert_eq!(back.strides(), &[1, 2]);
/// assert_eq!(back.to_vec::<i32>()?, vec![1, 2, 3, 4]);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn write_npy_with(
    mut writer: impl Write,
    tensor: &Tensor,
    options: &NpyWriteOptions,
) -> Result<()> {
    FilePlan::new(tensor, options)?.write(&mut writer, tensor)
}

/// What a tensor's file will hold: the header bytes, and the layout whose
/// row-major walk gives the data in file order.
struct FilePlan {
    header: Vec<u8>,
    layout: Layout,
    swap: bool,
}

impl FilePlan {
    fn new(tensor: &Tensor, options: &NpyWriteOptions) -> Result<FilePlan> {
        let layout = tensor.layout();
        let column_major = reversed(layout)?;
        let fortran_order = match options.order {
            NpyOrder::C => false,
            NpyOrder::Fortran => true,
            NpyOrder::Auto => {
                layout.ndim() > 1 && !layout.is_contiguous() && column_major.is_contiguous()
            }
        };
        let header = NpyHeader {
            dtype: tensor.dtype(),
            endian: options.endian,
            fortran_order,
            shape: tensor.shape().to_vec(),
            version: options.version,
        };
        Ok(FilePlan {
            header: header.to_bytes()?,
            layout: if fortran_order {
                column_major
            } else {
                layout.clone()
            },
            swap: options.endian != Endian::native(),
        })
    }

    /// Bytes of the whole file.
    fn len(&self, tensor: &Tensor) -> u64 {
        (self.header.len() + tensor.numel() * tensor.dtype().size_in_bytes()) as u64
    }

    fn write(&self, writer: &mut impl Write, tensor: &Tensor) -> Result<()> {
        let written = tensor.with_read(|buffer, _| -> io::Result<()> {
            writer.write_all(&self.header)?;
            with_buffer!(buffer, data, T => body::write_data(writer, data, &self.layout, self.swap))
        })?;
        written.map_err(|e| Error::io("writing .npy data", e))
    }
}

/// Saves `tensor` to `path` as NumPy's `np.save` would (see [`write_npy`]),
/// replacing the file atomically.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npy::{load_npy, save_npy};
/// let path = std::env::temp_dir().join(format!("ferrograd-doc-{}.npy", std::process::id()));
/// let t = Tensor::from_vec(vec![1i64, -2, 3], &[3])?;
/// save_npy(&path, &t)?;
/// assert_eq!(load_npy(&path)?.to_vec::<i64>()?, vec![1, -2, 3]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn save_npy(path: impl AsRef<Path>, tensor: &Tensor) -> Result<()> {
    save_npy_with(path, tensor, &NpyWriteOptions::default())
}

/// [`save_npy`] with a chosen element order, byte order and version.
///
/// ```
/// use ferrograd_autograd::Tensor;
/// use ferrograd_interop::npy::{load_npy, save_npy_with, Endian, NpyWriteOptions};
/// let path = std::env::temp_dir().join(format!("ferrograd-doc-be-{}.npy", std::process::id()));
/// let t = Tensor::from_vec(vec![1.5f64, -2.0], &[2])?;
/// save_npy_with(&path, &t, &NpyWriteOptions { endian: Endian::Big, ..Default::default() })?;
/// assert_eq!(&std::fs::read(&path).unwrap()[128..136], &1.5f64.to_be_bytes());
/// assert_eq!(load_npy(&path)?.to_vec::<f64>()?, vec![1.5, -2.0]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn save_npy_with(
    path: impl AsRef<Path>,
    tensor: &Tensor,
    options: &NpyWriteOptions,
) -> Result<()> {
    let path = path.as_ref();
    let context = format!("saving {}", path.display());
    let plan = FilePlan::new(tensor, options).map_err(|e| in_context(e, &context))?;
    write_atomically(path, |file| {
        os_hints::preallocate(file, plan.len(tensor))
            .map_err(|e| Error::io("reserving disk space", e))?;
        plan.write(file, tensor)
    })
    .map_err(|e| in_context(e, &context))
}

/// Reads a `.npy` stream: the header, then the data straight into the
/// tensor's memory, leaving `reader` just past the array. A Fortran-order
/// array becomes a column-major view. Since a reader's length is unknown,
/// the data is read in steps that at most double what already arrived.
///
/// ```
/// use ferrograd_interop::npy::read_npy;
/// let mut file = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
/// let dict = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }";
/// file.extend(format!("{dict:<117}\n").bytes());
/// for v in [1i32, 3, 2, 4] { file.extend(v.to_le_bytes()); }
/// let t = read_npy(&file[..])?;
/// assert_eq!((t.shape(), t.strides()), (&[2, 2][..], &[1, 2][..]));
/// assert_eq!(t.to_vec::<i32>()?, vec![1, 2, 3, 4]);
/// assert!(read_npy(&file[..file.len() - 1]).unwrap_err().to_string().contains("truncated"));
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub fn read_npy(mut reader: impl Read) -> Result<Tensor> {
    let header = NpyHeader::read_from(&mut reader)?;
    read_data(&mut reader, &header, false)
}

/// Loads a `.npy` file written by `np.save` (or [`save_npy`]). The data size
/// the header claims is checked against the file's length before anything is
/// allocated, then read with one `read` into the tensor's memory.
///
/// ```
/// use ferrograd_interop::npy::load_npy;
/// let path = std::env::temp_dir().join(format!("ferrograd-doc-bad-{}.npy", std::process::id()));
/// std::fs::write(&path, b"PK\x03\x04 not an npy")?;
/// let err = load_npy(&path).unwrap_err().to_string();
/// assert!(err.contains("not a .npy file"), "{err}");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_npy(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let context = format!("loading {}", path.display());
    let mut file = File::open(path).map_err(|e| Error::io(context.clone(), e))?;
    load_from_file(&mut file).map_err(|e| in_context(e, &context))
}

fn load_from_file(file: &mut File) -> Result<Tensor> {
    let len = file
        .metadata()
        .map_err(|e| Error::io("reading metadata", e))?
        .len();
    let header = NpyHeader::read_from(file)?;
    let position = file
        .stream_position()
        .map_err(|e| Error::io("seeking", e))?;
    check_available(&header, len.saturating_sub(position), "the file")?;
    read_data(file, &header, true)
}

/// [`read_npy`] for a reader that cannot hold more than `limit` bytes in
/// all (an archive entry whose size the archive's length bounds): a header
/// claiming more is refused before anything is allocated, and the data is
/// then read with one `read` into the tensor's memory.
pub(crate) fn read_npy_within(reader: &mut impl Read, limit: u64, what: &str) -> Result<Tensor> {
    let header = NpyHeader::read_from(reader)?;
    check_available(&header, limit, what)?;
    read_data(reader, &header, true)
}

/// Fails unless `available` bytes can hold the data `header` promises.
fn check_available(header: &NpyHeader, available: u64, what: &str) -> Result<()> {
    if header.data_len() as u64 > available {
        return Err(npy_error(format!(
            "{what} is truncated: its header promises {} bytes of data (shape {:?}, dtype {}) but only {available} follow the header",
            header.data_len(),
            header.shape,
            header.dtype
        )));
    }
    Ok(())
}

/// Reads the data the header describes; `trusted` when the caller checked
/// that many bytes are available.
fn read_data(reader: &mut impl Read, header: &NpyHeader, trusted: bool) -> Result<Tensor> {
    let swap = header.endian != Endian::native();
    let buffer = with_dtype!(header.dtype, T => {
        let mut data = T::read_vec(reader, header.numel(), trusted).map_err(|e| data_error(e, header))?;
        if swap {
            T::swap_in_place(&mut data);
        }
        T::into_buffer(data)
    });
    let strides = if header.fortran_order {
        fortran_strides(&header.shape)
    } else {
        contiguous_strides(&header.shape).to_vec()
    };
    Tensor::from_parts(
        Storage::new(buffer),
        Layout::new(header.shape.clone(), strides, 0),
    )
}

fn data_error(err: io::Error, header: &NpyHeader) -> Error {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => npy_error(format!(
            "the data is truncated: the header promises {} bytes (shape {:?}, dtype {}) and the stream ends before them",
            header.data_len(),
            header.shape,
            header.dtype
        )),
        _ => Error::io("reading .npy data", err),
    }
}
