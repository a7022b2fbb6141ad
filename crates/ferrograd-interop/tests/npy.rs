//! `.npy` / `.npz` behaviour checked in Rust alone: round trips over every
//! dtype, order, byte order and version; strided writes against a naive
//! walk; header bytes against what NumPy wrote; and hostile files, which
//! must fail cleanly without allocating what their header claims.

#[path = "support/npy_values.rs"]
mod npy_values;

use ferrograd_autograd::{DType, Tensor};
use ferrograd_interop::npy::{
    load_npy, read_npy, save_npy, save_npy_with, write_npy, write_npy_with, Endian, NpyHeader,
    NpyOrder, NpyWriteOptions,
};
use ferrograd_interop::npz::{
    load_npz, save_npz, save_npz_compressed, write_npz, NpzCompression, NpzReader,
};
use npy_values::{column_major, elements, expected, test_tensor, Kind, KINDS, SHAPES};
use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::io::{Cursor, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

type R = Result<(), Box<dyn std::error::Error>>;

/// Records the largest single allocation this test binary makes.
struct LargestAlloc;
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestAlloc {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: LargestAlloc = LargestAlloc;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn to_bytes(t: &Tensor, options: &NpyWriteOptions) -> Vec<u8> {
    let mut out = Vec::new();
    write_npy_with(&mut out, t, options).unwrap();
    out
}

#[test]
fn every_dtype_layout_order_byte_order_and_version_round_trips() {
    let orders = [NpyOrder::Auto, NpyOrder::C, NpyOrder::Fortran];
    let versions = [None, Some((1, 0)), Some((2, 0)), Some((3, 0))];
    let mut cases = 0;
    for dtype in DType::ALL {
        for &shape in SHAPES {
            for (i, kind) in KINDS.into_iter().enumerate() {
                let t = test_tensor(dtype, shape, kind);
                for order in orders {
                    for endian in [Endian::Little, Endian::Big] {
                        let version = versions[(cases + i) % versions.len()];
                        let options = NpyWriteOptions {
                            order,
                            endian,
                            version,
                        };
                        let bytes = to_bytes(&t, &options);
                        let (header, offset) = NpyHeader::parse(&bytes).unwrap();
                        assert_eq!(offset % 64, 0);
                        assert_eq!(bytes.len() - offset, header.data_len());
                        assert_eq!(header.version, Some(version.unwrap_or((1, 0))));
                        let back = read_npy(&bytes[..]).unwrap();
                        let what = format!("{dtype} {shape:?} {kind:?} {options:?}");
                        assert_eq!(back.dtype(), dtype, "{what}");
                        assert_eq!(back.shape(), shape, "{what}");
                        assert_eq!(elements(&back), expected(dtype, shape), "{what}");
                        if header.fortran_order {
                            assert_eq!(back.strides(), &column_major(shape)[..], "{what}");
                        } else {
                            assert!(back.is_contiguous(), "{what}");
                        }
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 6 * SHAPES.len() * 4 * 3 * 2);
}

#[test]
fn headers_are_byte_for_byte_what_numpy_writes() {
    // Files written by `np.save` (NumPy 2.4) for the arrays named in each case.
    let pad = |n: usize| " ".repeat(n);
    // np.array(3.5, dtype='<f8')
    let zero_d = [
        &b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (), }"[..],
        pad(62).as_bytes(),
        b"\n\x00\x00\x00\x00\x00\x00\x0c@",
    ]
    .concat();
    // np.arange(6, dtype='>i4').reshape(2, 3)
    let big_endian = [
        &b"\x93NUMPY\x01\x00v\x00{'descr': '>i4', 'fortran_order': False, 'shape': (2, 3), }"[..],
        pad(58).as_bytes(),
        b"\n\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05",
    ]
    .concat();
    // np.asfortranarray(np.arange(6, dtype=np.uint8).reshape(2, 3))
    let fortran = [
        &b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }"[..],
        pad(59).as_bytes(),
        b"\n\x00\x03\x01\x04\x02\x05",
    ]
    .concat();
    // np.zeros((2, 0, 3), bool)
    let empty = [
        &b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (2, 0, 3), }"[..],
        pad(55).as_bytes(),
        b"\n",
    ]
    .concat();

    let big = NpyWriteOptions {
        endian: Endian::Big,
        ..Default::default()
    };
    let arange_u8 = Tensor::from_vec(vec![0u8, 3, 1, 4, 2, 5], &[3, 2])
        .unwrap()
        .t()
        .unwrap();
    assert_eq!(
        to_bytes(&Tensor::scalar(3.5f64), &Default::default()),
        zero_d
    );
    assert_eq!(
        to_bytes(
            &Tensor::from_vec((0..6i32).collect(), &[2, 3]).unwrap(),
            &big
        ),
        big_endian
    );
    // A transposed tensor is column-major: Auto writes it as Fortran from its memory.
    assert_eq!(to_bytes(&arange_u8, &Default::default()), fortran);
    assert_eq!(
        to_bytes(
            &Tensor::zeros(&[2, 0, 3], DType::Bool).unwrap(),
            &Default::default()
        ),
        empty
    );

    for file in [&zero_d, &big_endian, &fortran, &empty] {
        let t = read_npy(&file[..]).unwrap();
        let (header, _) = NpyHeader::parse(file).unwrap();
        let mut again = Vec::new();
        write_npy_with(
            &mut again,
            &t,
            &NpyWriteOptions {
                endian: header.endian,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(&again, file);
    }
}

#[test]
fn fortran_files_load_as_column_major_views_of_the_file_data() {
    let t = test_tensor(DType::F64, &[3, 4, 5], Kind::Contiguous);
    let fortran = NpyWriteOptions {
        order: NpyOrder::Fortran,
        ..Default::default()
    };
    let back = read_npy(&to_bytes(&t, &fortran)[..]).unwrap();
    assert_eq!(back.strides(), &[1, 3, 12]);
    assert!(!back.is_contiguous());
    // The storage holds the file's column-major data as it was.
    let storage: Vec<f64> = back.with_data(|d: &[f64], _| d.to_vec()).unwrap();
    let want: Vec<f64> = (0..60)
        .map(|j| npy_values::value(DType::F64, (j % 3) * 20 + (j / 3 % 4) * 5 + j / 12))
        .collect();
    assert_eq!(storage, want);
}

#[test]
fn strided_tensors_are_written_in_logical_order() {
    let base = Tensor::from_vec((0..60i64).collect(), &[3, 4, 5]).unwrap();
    let views = [
        base.flip(&[0, 2]).unwrap(),
        base.permute(&[2, 0, 1]).unwrap(),
        base.slice(2, None, None, -2).unwrap(),
        base.select(1, 2).unwrap(),
        base.narrow(0, 1, 2)
            .unwrap()
            .broadcast_to(&[2, 2, 4, 5])
            .unwrap(),
    ];
    for view in views {
        // A naive walk over every index of the view, by its strides.
        let (shape, strides, offset) = (
            view.shape().to_vec(),
            view.strides().to_vec(),
            view.storage_offset(),
        );
        let mut want = Vec::new();
        for k in 0..view.numel() {
            let (mut rest, mut at) = (k, offset as isize);
            for d in (0..shape.len()).rev() {
                at += (rest % shape[d]) as isize * strides[d];
                rest /= shape[d];
            }
            want.push(at as i64);
        }
        let bytes = to_bytes(
            &view,
            &NpyWriteOptions {
                order: NpyOrder::C,
                ..Default::default()
            },
        );
        let (_, offset) = NpyHeader::parse(&bytes).unwrap();
        let got: Vec<i64> = bytes[offset..]
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(got, want, "{shape:?} {strides:?}");
    }
}

#[test]
fn tensors_that_require_grad_save_their_data() -> R {
    let w = Tensor::from_vec(vec![1.5f32, -2.0], &[2])?.requires_grad_(true)?;
    let back = read_npy(&to_bytes(&w, &Default::default())[..])?;
    assert_eq!(back.to_vec::<f32>()?, vec![1.5, -2.0]);
    assert!(!back.requires_grad());
    Ok(())
}

#[test]
fn consecutive_arrays_read_from_one_stream() -> R {
    let a = Tensor::from_vec(vec![1u8, 2, 3], &[3])?;
    let b = Tensor::from_vec(vec![true, false], &[1, 2])?;
    let mut stream = Vec::new();
    write_npy(&mut stream, &a)?;
    write_npy(&mut stream, &b)?;
    let mut reader = &stream[..];
    assert_eq!(read_npy(&mut reader)?.to_vec::<u8>()?, vec![1, 2, 3]);
    assert_eq!(read_npy(&mut reader)?.to_vec::<bool>()?, vec![true, false]);
    assert!(reader.is_empty());
    Ok(())
}

#[test]
fn files_round_trip_through_paths() -> R {
    let dir = dir();
    for dtype in DType::ALL {
        let t = test_tensor(dtype, &[5, 6], Kind::Gapped);
        let path = dir.path().join(format!("{dtype}.npy"));
        save_npy(&path, &t)?;
        let back = load_npy(&path)?;
        assert_eq!((back.dtype(), back.shape()), (dtype, &[5, 6][..]));
        assert_eq!(elements(&back), expected(dtype, &[5, 6]));
    }
    let big = NpyWriteOptions {
        endian: Endian::Big,
        order: NpyOrder::Fortran,
        version: Some((3, 0)),
    };
    let path = dir.path().join("big.npy");
    save_npy_with(
        &path,
        &test_tensor(DType::I64, &[4, 3], Kind::Flipped),
        &big,
    )?;
    assert_eq!(elements(&load_npy(&path)?), expected(DType::I64, &[4, 3]));
    Ok(())
}

#[test]
fn a_failed_save_leaves_the_old_file_and_no_temporary() -> R {
    let dir = dir();
    let path = dir.path().join("weights.npy");
    let old = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    save_npy(&path, &old)?;
    let t = Tensor::from_vec(vec![9.0f32; 4], &[4])?;
    let lock = t.storage().write()?;
    let err = save_npy(&path, &t).unwrap_err().to_string();
    assert!(err.contains("borrowed"), "{err}");
    drop(lock);
    assert_eq!(load_npy(&path)?.to_vec::<f32>()?, vec![1.0, 2.0]);
    let names: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["weights.npy"]);
    save_npy(&path, &t)?;
    assert_eq!(load_npy(&path)?.to_vec::<f32>()?, vec![9.0; 4]);

    let err = save_npy(dir.path().join("missing/x.npy"), &t)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing/x.npy") && err.contains("No such file"),
        "{err}"
    );
    Ok(())
}

#[test]
#[cfg(unix)]
fn saving_through_a_symlink_replaces_its_target() -> R {
    let dir = dir();
    let target = dir.path().join("real.npy");
    let link = dir.path().join("link.npy");
    save_npy(&target, &Tensor::scalar(1i64))?;
    std::os::unix::fs::symlink(&target, &link)?;
    save_npy(&link, &Tensor::scalar(2i64))?;
    assert!(std::fs::symlink_metadata(&link)?.file_type().is_symlink());
    assert_eq!(load_npy(&target)?.item::<i64>()?, 2);
    Ok(())
}

/// A `.npy` file with `dict` as its header and `data` after it.
fn handmade(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

fn read_err(bytes: &[u8]) -> String {
    read_npy(bytes).unwrap_err().to_string()
}

#[test]
fn hostile_headers_fail_with_clear_messages() {
    let dict = |descr: &str, shape: &str| {
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n")
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"\x93NUMPX\x01\x00".to_vec(), "not a .npy file"),
        (b"\x93NU".to_vec(), "truncated inside the magic string"),
        (
            b"\x93NUMPY\x04\x00\x10\x00".to_vec(),
            "format version 4.0 is not supported",
        ),
        (
            b"\x93NUMPY\x02\x00\xff\xff\xff\x7f".to_vec(),
            "more than the 10000",
        ),
        (handmade(&dict("<f4", "(3,)"), &[0; 11]), "truncated"),
        (handmade(&dict("<f4", "(3,)"), &[]), "truncated"),
        (
            handmade(&dict("<f4", "(3,)"), &[])[..20].to_vec(),
            "truncated inside the header",
        ),
        (
            handmade(&dict("<c8", "(3,)"), &[0; 24]),
            "unsupported dtype \"<c8\" (complex numbers)",
        ),
        (handmade(&dict("|O", "(3,)"), &[0; 24]), "Python objects"),
        (handmade(&dict("<U5", "(3,)"), &[0; 60]), "unicode strings"),
        (handmade(&dict("<f2", "(3,)"), &[0; 6]), "float width"),
        (
            handmade(
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                &[0; 4],
            ),
            "structured",
        ),
        (handmade("[1, 2, 3]", &[]), "not a Python dict"),
        (
            handmade("{'descr': '<f4', 'shape': (3,)}", &[]),
            "no 'fortran_order' key",
        ),
        (
            handmade("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", &[]),
            "fortran_order must be True or False",
        ),
        (
            handmade(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}",
                &[],
            ),
            "unexpected header key",
        ),
        (
            handmade(
                "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
                &[],
            ),
            "repeats the key",
        ),
        (
            handmade(&dict("<f4", "(-3,)"), &[]),
            "non-negative integers",
        ),
        (handmade(&dict("<f4", "(3)"), &[]), "tuple"),
        (
            handmade(&dict("<f4", "(1099511627776, 1099511627776)"), &[]),
            "overflows",
        ),
        (
            handmade(&dict("<f4", "(99999999999999999999999,)"), &[]),
            "out of range",
        ),
        (
            handmade(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk",
                &[],
            ),
            "cannot parse the header",
        ),
    ];
    for (bytes, want) in cases {
        let err = read_err(&bytes);
        assert!(
            err.starts_with("npy format error") && err.contains(want),
            "{err:?} should say {want:?}"
        );
    }
}

#[test]
fn lying_sizes_never_become_allocations() -> R {
    let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1152921504606846976,), }\n";
    let file = handmade(dict, &[7; 100]);
    // From a reader: the data is read in steps bounded by what arrived.
    assert!(read_err(&file).contains("truncated"));
    // From a path: the claim is checked against the file's length first.
    let dir = dir();
    let path = dir.path().join("liar.npy");
    std::fs::write(&path, &file)?;
    let err = load_npy(&path).unwrap_err().to_string();
    assert!(
        err.contains("liar.npy")
            && err.contains("promises 1152921504606846976 bytes")
            && err.contains("only 100"),
        "{err}"
    );
    // From an archive entry.
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("x.npy", zip::write::SimpleFileOptions::default())?;
    zip.write_all(&file)?;
    let mut archive = NpzReader::new(zip.finish()?)?;
    let err = archive.read("x").unwrap_err().to_string();
    assert!(
        err.contains("array \"x\"") && err.contains("truncated"),
        "{err}"
    );
    // From a stored entry, whose size the archive's length bounds: the claim
    // is checked against the entry's size before the data is read in one go.
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("x.npy", stored)?;
    zip.write_all(&file)?;
    let mut archive = NpzReader::new(zip.finish()?)?;
    let err = archive.read("x").unwrap_err().to_string();
    assert!(
        err.contains("array \"x\"")
            && err.contains("the entry is truncated")
            && err.contains("promises 1152921504606846976 bytes"),
        "{err}"
    );
    assert!(
        LARGEST.load(Ordering::Relaxed) < 1 << 28,
        "an allocation of {} bytes",
        LARGEST.load(Ordering::Relaxed)
    );
    Ok(())
}

fn archive_arrays() -> Vec<(String, Tensor)> {
    DType::ALL
        .into_iter()
        .zip(KINDS.into_iter().cycle())
        .enumerate()
        .map(|(i, (dtype, kind))| (format!("a{i}_{dtype}"), test_tensor(dtype, &[3, 5], kind)))
        .collect()
}

#[test]
fn npz_archives_round_trip_stored_and_deflated() -> R {
    let dir = dir();
    let arrays = archive_arrays();
    let named: Vec<(&str, &Tensor)> = arrays.iter().map(|(n, t)| (n.as_str(), t)).collect();
    for (file, compression) in [
        ("s.npz", NpzCompression::Stored),
        ("d.npz", NpzCompression::Deflated),
    ] {
        let path = dir.path().join(file);
        match compression {
            NpzCompression::Stored => save_npz(&path, &named)?,
            NpzCompression::Deflated => save_npz_compressed(&path, &named)?,
        }
        let loaded = load_npz(&path)?;
        assert_eq!(
            loaded.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            named.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
        for ((_, got), (_, want)) in loaded.iter().zip(&arrays) {
            assert_eq!((got.dtype(), got.shape()), (want.dtype(), want.shape()));
            assert_eq!(elements(got), expected(want.dtype(), want.shape()));
        }
    }
    let stored = std::fs::metadata(dir.path().join("s.npz"))?.len();
    let deflated = std::fs::metadata(dir.path().join("d.npz"))?.len();
    assert!(deflated < stored, "{deflated} >= {stored}");
    Ok(())
}

#[test]
fn npz_names_must_be_distinct_and_known() -> R {
    let t = Tensor::scalar(1i32);
    let err = write_npz(
        Cursor::new(Vec::new()),
        &[("a", &t), ("a", &t)],
        NpzCompression::Stored,
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"a\" is given twice"), "{err}");
    let archive = write_npz(
        Cursor::new(Vec::new()),
        &[("a", &t)],
        NpzCompression::Stored,
    )?;
    let err = NpzReader::new(archive)?.read("b").unwrap_err().to_string();
    assert!(
        err.contains("no array named \"b\"") && err.contains("[\"a\"]"),
        "{err}"
    );
    let err = NpzReader::new(Cursor::new(b"not a zip at all".to_vec()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("npz format error: not a valid .npz"),
        "{err}"
    );
    Ok(())
}

#[test]
fn corrupted_npz_entries_fail_their_crc_check() -> R {
    let t = Tensor::from_vec(vec![5i64; 100], &[100])?;
    let mut bytes = write_npz(
        Cursor::new(Vec::new()),
        &[("t", &t)],
        NpzCompression::Stored,
    )?
    .into_inner();
    // Flip one data byte in the stored entry (its .npy data follows the local header).
    let at = bytes
        .windows(8)
        .position(|w| w == 5i64.to_le_bytes())
        .unwrap()
        + 3;
    bytes[at] ^= 0x40;
    let err = NpzReader::new(Cursor::new(bytes))?
        .read("t")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("array \"t\"") && err.to_lowercase().contains("checksum"),
        "{err}"
    );
    Ok(())
}
