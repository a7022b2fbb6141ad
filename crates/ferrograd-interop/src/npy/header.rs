//! The `.npy` preamble and header: [`NpyHeader`] parses and formats the
//! magic string, format version, header length and the Python-literal dict
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`) exactly as
//! `numpy.lib.format` writes them. Parsing trusts nothing: sizes are checked
//! for overflow and the header length is capped before anything is read.

use super::literal::{parse_literal, Literal};
use ferrograd_storage::{DType, Error, Result};
use std::io::Read;

/// The magic string every `.npy` file starts with.
///
/// ```
/// use ferrograd_interop::npy::{NpyHeader, MAGIC};
/// use ferrograd_storage::DType;
/// assert!(NpyHeader::new(DType::F64, vec![2]).to_bytes()?.starts_with(MAGIC));
/// let e = NpyHeader::parse(b"\x93NUMPZ\x01\x00\x00\x00").unwrap_err().to_string();
/// assert!(e.contains("instead of the magic string"), "{e}");
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The largest header NumPy's `np.load` accepts by default (`max_header_size`).
///
/// ```
/// use ferrograd_interop::npy::{NpyHeader, MAGIC, MAX_HEADER_LEN};
/// let mut bytes = MAGIC.to_vec();
/// bytes.extend_from_slice(&[2, 0]);
/// bytes.extend_from_slice(&(MAX_HEADER_LEN as u32 + 1).to_le_bytes());
/// let e = NpyHeader::parse(&bytes).unwrap_err().to_string();
/// assert!(e.contains("the header claims 10001 bytes, more than the 10000"), "{e}");
/// ```
pub const MAX_HEADER_LEN: usize = 10_000;

/// The most dimensions a NumPy array may have (`NPY_MAXDIMS` in NumPy 2).
///
/// ```
/// use ferrograd_interop::npy::{NpyHeader, MAX_NDIM};
/// use ferrograd_storage::DType;
/// assert!(NpyHeader::new(DType::U8, vec![1; MAX_NDIM]).to_bytes().is_ok());
/// assert!(NpyHeader::new(DType::U8, vec![1; MAX_NDIM + 1]).to_bytes().is_err());
/// ```
pub const MAX_NDIM: usize = 64;

/// Headers are padded so the data starts on a multiple of this (NumPy's `ARRAY_ALIGN`).
const ARRAY_ALIGN: usize = 64;

/// Spare spaces NumPy leaves after the dict so the growing axis can be rewritten in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Byte order of the elements in a file.
///
/// ```
/// use ferrograd_interop::npy::{Endian, NpyHeader};
/// use ferrograd_storage::DType;
/// let mut h = NpyHeader::new(DType::F32, vec![1]);
/// h.endian = Endian::Big;
/// let (back, _) = NpyHeader::parse(&h.to_bytes()?)?;
/// assert_eq!((back.endian, back.descr()), (Endian::Big, ">f4".to_string()));
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// `<` in a descr: least significant byte first (x86, ARM).
    Little,
    /// `>` in a descr: most significant byte first.
    Big,
}

impl Endian {
    /// The byte order of this machine.
    ///
    /// ```
    /// use ferrograd_interop::npy::Endian;
    /// assert_eq!(Endian::native() == Endian::Little, cfg!(target_endian = "little"));
    /// ```
    pub fn native() -> Endian {
        if cfg!(target_endian = "little") {
            Endian::Little
        } else {
            Endian::Big
        }
    }

    fn symbol(self) -> char {
        match self {
            Endian::Little => '<',
            Endian::Big => '>',
        }
    }
}

/// Everything a `.npy` header says about the array that follows it.
///
/// ```
/// use ferrograd_interop::npy::{Endian, NpyHeader};
/// use ferrograd_storage::DType;
/// let h = NpyHeader::new(DType::F32, vec![3, 4]);
/// let bytes = h.to_bytes()?;
/// assert_eq!(bytes.len() % 64, 0);
/// assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
/// let (back, data_offset) = NpyHeader::parse(&bytes)?;
/// assert_eq!((back.dtype, &back.shape[..], back.fortran_order), (DType::F32, &[3, 4][..], false));
/// assert_eq!(data_offset, bytes.len());
/// assert_eq!(back.data_len(), 48);
/// # Ok::<(), ferrograd_storage::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: DType,
    /// Byte order of the data (always [`Endian::native`] for one-byte dtypes).
    pub endian: Endian,
    /// True when the data is stored column-major.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Format version `(major, minor)` to write, or that was read. `None` when
    /// writing picks the lowest that fits, as NumPy does.
    pub version: Option<(u8, u8)>,
}

/// A format error of the `npy` format.
pub(crate) fn npy_error(msg: impl Into<String>) -> Error {
    Error::Format {
        format: "npy",
        msg: msg.into(),
    }
}

impl NpyHeader {
    /// A C-order, native-endian header for `shape`, version chosen on write.
    ///
    /// ```
    /// use ferrograd_interop::npy::{Endian, NpyHeader};
    /// use ferrograd_storage::DType;
    /// let h = NpyHeader::new(DType::I32, vec![2, 3]);
    /// assert_eq!((h.endian, h.fortran_order, h.version), (Endian::native(), false, None));
    /// assert_eq!(NpyHeader::parse(&h.to_bytes()?)?.0.version, Some((1, 0)));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn new(dtype: DType, shape: Vec<usize>) -> NpyHeader {
        NpyHeader {
            dtype,
            endian: Endian::native(),
            fortran_order: false,
            shape,
            version: None,
        }
    }

    /// Number of elements (checked against overflow when parsed or formatted).
    ///
    /// ```
    /// use ferrograd_interop::npy::NpyHeader;
    /// use ferrograd_storage::DType;
    /// assert_eq!(NpyHeader::new(DType::F32, vec![2, 3, 4]).numel(), 24);
    /// assert_eq!(NpyHeader::new(DType::F32, vec![]).numel(), 1); // a 0-d array
    /// assert_eq!(NpyHeader::new(DType::F32, vec![5, 0]).numel(), 0);
    /// ```
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes of array data that follow the header.
    ///
    /// ```
    /// use ferrograd_interop::npy::NpyHeader;
    /// use ferrograd_storage::DType;
    /// assert_eq!(NpyHeader::new(DType::F64, vec![2, 3]).data_len(), 48);
    /// assert_eq!(NpyHeader::new(DType::Bool, vec![7]).data_len(), 7);
    /// ```
    pub fn data_len(&self) -> usize {
        self.numel() * self.dtype.size_in_bytes()
    }

    /// The NumPy descr string: `<f4`, `>i8`, `|b1`...
    ///
    /// ```
    /// use ferrograd_interop::npy::{Endian, NpyHeader};
    /// use ferrograd_storage::DType;
    /// let mut h = NpyHeader::new(DType::I64, vec![2]);
    /// h.endian = Endian::Big;
    /// assert_eq!(h.descr(), ">i8");
    /// assert_eq!(NpyHeader::new(DType::Bool, vec![]).descr(), "|b1");
    /// ```
    pub fn descr(&self) -> String {
        let kind = match self.dtype {
            DType::F32 | DType::F64 => 'f',
            DType::I64 | DType::I32 => 'i',
            DType::U8 => 'u',
            DType::Bool => 'b',
        };
        let size = self.dtype.size_in_bytes();
        let order = if size == 1 { '|' } else { self.endian.symbol() };
        format!("{order}{kind}{size}")
    }

    /// Checks the shape against overflow and NumPy's limits.
    fn check_shape(&self) -> Result<()> {
        if self.shape.len() > MAX_NDIM {
            return Err(npy_error(format!(
                "{} dimensions is more than the {MAX_NDIM} NumPy arrays may have",
                self.shape.len()
            )));
        }
        let bytes = self
            .shape
            .iter()
            .try_fold(self.dtype.size_in_bytes(), |acc, &n| acc.checked_mul(n))
            .filter(|&b| b <= isize::MAX as usize);
        match bytes {
            Some(_) => Ok(()),
            None => Err(npy_error(format!(
                "shape {:?} of {} elements overflows the address space",
                self.shape, self.dtype
            ))),
        }
    }

    /// The dict literal, with NumPy's key order and growth padding.
    fn dict_literal(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(usize::to_string).collect();
        let shape = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let fortran = if self.fortran_order { "True" } else { "False" };
        let mut dict = format!(
            "{{'descr': '{}', 'fortran_order': {fortran}, 'shape': {shape}, }}",
            self.descr()
        );
        let growth_axis = if self.fortran_order {
            dims.last()
        } else {
            dims.first()
        };
        if let Some(axis) = growth_axis {
            let spare = GROWTH_AXIS_MAX_DIGITS.saturating_sub(axis.len());
            dict.extend(std::iter::repeat_n(' ', spare));
        }
        dict
    }

    /// The full preamble and header, byte for byte what `np.save` writes for
    /// the same array: padded with spaces and a newline to a multiple of 64
    /// bytes, version 1.0 unless the header needs 2.0's longer length field.
    ///
    /// ```
    /// use ferrograd_interop::npy::NpyHeader;
    /// use ferrograd_storage::DType;
    /// let bytes = NpyHeader::new(DType::F32, vec![3]).to_bytes()?;
    /// assert_eq!(bytes.len(), 128);
    /// assert!(bytes.starts_with(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"));
    /// assert!(bytes.ends_with(b" \n"));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.check_shape()?;
        let dict = self.dict_literal();
        match self.version {
            None => Ok(wrap_dict(&dict, (1, 0)).unwrap_or_else(|| {
                wrap_dict(&dict, (2, 0)).expect("a header of our dtypes fits 2.0")
            })),
            Some(v @ ((1, 0) | (2, 0) | (3, 0))) => wrap_dict(&dict, v).ok_or_else(|| {
                npy_error(format!(
                    "a header of {} bytes does not fit format version 1.0; use 2.0",
                    dict.len()
                ))
            }),
            Some(v) => Err(unsupported_version(v)),
        }
    }

    /// Parses a header from the start of `bytes`; returns it with the offset
    /// where the array data begins.
    ///
    /// ```
    /// use ferrograd_interop::npy::NpyHeader;
    /// use ferrograd_storage::DType;
    /// let mut file = NpyHeader::new(DType::I64, vec![2, 2]).to_bytes()?;
    /// file.extend_from_slice(&[0; 32]);
    /// let (h, offset) = NpyHeader::parse(&file)?;
    /// assert_eq!((h.dtype, offset + h.data_len()), (DType::I64, file.len()));
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<(NpyHeader, usize)> {
        let mut reader = bytes;
        let header = Self::read_from(&mut reader)?;
        Ok((header, bytes.len() - reader.len()))
    }

    /// Reads exactly the preamble and header from `reader`, leaving it at the
    /// first byte of array data. Reads at most [`MAX_HEADER_LEN`] header bytes.
    ///
    /// ```
    /// use ferrograd_interop::npy::NpyHeader;
    /// use ferrograd_storage::DType;
    /// let mut h = NpyHeader::new(DType::U8, vec![2, 5]);
    /// h.fortran_order = true;
    /// let mut file = h.to_bytes()?;
    /// file.extend_from_slice(&[0; 10]);
    /// let mut reader = &file[..];
    /// let back = NpyHeader::read_from(&mut reader)?;
    /// assert_eq!((back.fortran_order, back.version, back.data_len()), (true, Some((1, 0)), 10));
    /// assert_eq!(reader.len(), 10);
    /// # Ok::<(), ferrograd_storage::Error>(())
    /// ```
    pub fn read_from(reader: &mut impl Read) -> Result<NpyHeader> {
        let mut preamble = [0u8; 8];
        read_header_bytes(reader, &mut preamble, "the magic string")?;
        if &preamble[..6] != MAGIC {
            return Err(npy_error(format!(
                "not a .npy file: it starts with {:?} instead of the magic string \\x93NUMPY",
                String::from_utf8_lossy(&preamble[..6])
            )));
        }
        let version = (preamble[6], preamble[7]);
        let header_len = match version {
            (1, 0) => {
                let mut len = [0u8; 2];
                read_header_bytes(reader, &mut len, "the header length")?;
                usize::from(u16::from_le_bytes(len))
            }
            (2, 0) | (3, 0) => {
                let mut len = [0u8; 4];
                read_header_bytes(reader, &mut len, "the header length")?;
                u32::from_le_bytes(len) as usize
            }
            v => return Err(unsupported_version(v)),
        };
        if header_len > MAX_HEADER_LEN {
            return Err(npy_error(format!(
                "the header claims {header_len} bytes, more than the {MAX_HEADER_LEN} that NumPy's np.load accepts (max_header_size)"
            )));
        }
        let mut raw = vec![0u8; header_len];
        read_header_bytes(reader, &mut raw, "the header")?;
        let text = match version.0 {
            3 => String::from_utf8(raw)
                .map_err(|_| npy_error("the version 3.0 header is not valid UTF-8"))?,
            _ => raw.iter().map(|&b| char::from(b)).collect(), // latin-1
        };
        let mut header = Self::from_dict_text(&text)?;
        header.version = Some(version);
        Ok(header)
    }

    /// Interprets the header text: a dict with exactly `descr`,
    /// `fortran_order` and `shape`.
    fn from_dict_text(text: &str) -> Result<NpyHeader> {
        let Literal::Dict(entries) = parse_literal(text)? else {
            return Err(npy_error(format!(
                "the header is not a Python dict: {}",
                text.trim_end()
            )));
        };
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        for (key, value) in entries {
            let slot = match &key {
                Literal::Str(k) if k == "descr" => &mut descr,
                Literal::Str(k) if k == "fortran_order" => &mut fortran,
                Literal::Str(k) if k == "shape" => &mut shape,
                other => {
                    return Err(npy_error(format!(
                        "unexpected header key {other}: a .npy header has exactly the keys 'descr', 'fortran_order' and 'shape'"
                    )))
                }
            };
            if slot.replace(value).is_some() {
                return Err(npy_error(format!("the header repeats the key {key}")));
            }
        }
        let missing = |k: &str| npy_error(format!("the header has no '{k}' key"));
        let (dtype, endian) = parse_descr(&descr.ok_or_else(|| missing("descr"))?)?;
        let fortran_order = match fortran.ok_or_else(|| missing("fortran_order"))? {
            Literal::Bool(b) => b,
            other => {
                return Err(npy_error(format!(
                    "fortran_order must be True or False, not {other}"
                )))
            }
        };
        let shape = parse_shape(&shape.ok_or_else(|| missing("shape"))?)?;
        let header = NpyHeader {
            dtype,
            endian,
            fortran_order,
            shape,
            version: None,
        };
        header.check_shape()?;
        Ok(header)
    }
}

/// Magic, version, length field and padded dict, as NumPy's `_wrap_header`;
/// `None` when the length does not fit the version's field.
fn wrap_dict(dict: &str, version: (u8, u8)) -> Option<Vec<u8>> {
    let len_field = if version.0 == 1 { 2 } else { 4 };
    let hlen = dict.len() + 1;
    let pad = ARRAY_ALIGN - (MAGIC.len() + 2 + len_field + hlen) % ARRAY_ALIGN;
    let total = hlen + pad;
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_field + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version.0, version.1]);
    if len_field == 2 {
        out.extend_from_slice(&u16::try_from(total).ok()?.to_le_bytes());
    } else {
        out.extend_from_slice(&u32::try_from(total).ok()?.to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    Some(out)
}

fn unsupported_version((major, minor): (u8, u8)) -> Error {
    npy_error(format!(
        "format version {major}.{minor} is not supported: NumPy writes 1.0, 2.0 and 3.0"
    ))
}

/// `read_exact` whose end-of-file becomes a format error naming what was cut off.
fn read_header_bytes(reader: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            npy_error(format!("the file is truncated inside {what}"))
        }
        _ => Error::io(format!("reading {what} of a .npy header"), e),
    })
}

fn parse_shape(value: &Literal) -> Result<Vec<usize>> {
    let invalid = || {
        npy_error(format!(
            "shape must be a tuple of non-negative integers, not {value}"
        ))
    };
    let Literal::Tuple(items) = value else {
        return Err(invalid());
    };
    items
        .iter()
        .map(|item| match item {
            Literal::Int(n) => usize::try_from(*n).map_err(|_| invalid()),
            _ => Err(invalid()),
        })
        .collect()
}

/// Maps a descr such as `<f4` to a dtype and byte order.
fn parse_descr(value: &Literal) -> Result<(DType, Endian)> {
    let descr = match value {
        Literal::Str(s) => s.as_str(),
        Literal::List(_) | Literal::Tuple(_) => {
            return Err(unsupported_dtype(
                &value.to_string(),
                "a structured (record) dtype",
            ))
        }
        other => {
            return Err(npy_error(format!(
                "descr must be a dtype string, not {other}"
            )))
        }
    };
    let (endian, code) = match descr.chars().next() {
        Some('<') => (Endian::Little, &descr[1..]),
        Some('>') => (Endian::Big, &descr[1..]),
        Some('|' | '=') => (Endian::native(), &descr[1..]),
        _ => (Endian::native(), descr),
    };
    let dtype = match code {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i8" => DType::I64,
        "i4" => DType::I32,
        "u1" => DType::U8,
        "b1" | "?" => DType::Bool,
        _ => return Err(unsupported_dtype(descr, describe_code(code))),
    };
    let endian = if dtype.size_in_bytes() == 1 {
        Endian::native()
    } else {
        endian
    };
    Ok((dtype, endian))
}

/// A human name for a NumPy type code that ferrograd cannot hold.
fn describe_code(code: &str) -> &'static str {
    match code.chars().next() {
        Some('c') => "complex numbers",
        Some('O') => "Python objects, which need pickle",
        Some('U') => "unicode strings",
        Some('S' | 'a') => "byte strings",
        Some('V') => "raw void records",
        Some('M' | 'm') => "datetimes or timedeltas",
        Some('f') => "a float width other than 4 or 8 bytes",
        Some('i') => "an int width other than 4 or 8 bytes",
        Some('u') => "an unsigned int wider than 1 byte",
        _ => "a type code NumPy's descr does not use",
    }
}

fn unsupported_dtype(descr: &str, what: &str) -> Error {
    npy_error(format!(
        "unsupported dtype {descr:?} ({what}): ferrograd tensors hold float32 (<f4), float64 (<f8), int64 (<i8), int32 (<i4), uint8 (|u1) and bool (|b1); convert the array in NumPy first, e.g. arr.astype(np.float32)"
    ))
}
