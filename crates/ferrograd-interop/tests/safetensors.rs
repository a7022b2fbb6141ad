//! safetensors files: round trips of every dtype and of strided tensors,
//! files checked against the format by hand, atomic replacement, and errors
//! that name the path and the problem.

use ferrograd_autograd::{DType, Error, Tensor};
use ferrograd_interop::{load_safetensors, save_safetensors, TensorNumpyExt};
use std::path::Path;

type R = ferrograd_autograd::Result<()>;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A safetensors file built by hand from the spec: an 8-byte little-endian
/// header length, the JSON header, then the data.
fn handmade(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn names(loaded: &[(String, Tensor)]) -> Vec<&str> {
    loaded.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn every_dtype_round_trips_exactly() -> R {
    let d = dir();
    let path = d.path().join("all.safetensors");
    let f32s = Tensor::from_vec(
        vec![
            1.5f32,
            -0.0,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::INFINITY,
            -3.25,
        ],
        &[2, 3],
    )?;
    let f64s = Tensor::from_vec(vec![std::f64::consts::PI, -1e-300], &[2])?;
    let i64s = Tensor::from_vec(vec![i64::MIN, -1, 0, i64::MAX], &[2, 1, 2])?;
    let i32s = Tensor::from_vec(vec![i32::MIN, 7, i32::MAX], &[3])?;
    let u8s = Tensor::from_vec(vec![0u8, 1, 254, 255], &[4])?;
    let bools = Tensor::from_vec(vec![true, false, true], &[3, 1])?;
    let scalar = Tensor::scalar(42i64);
    let empty = Tensor::from_vec(Vec::<f32>::new(), &[0, 5])?;
    let all = [
        ("f32s", &f32s),
        ("f64s", &f64s),
        ("i64s", &i64s),
        ("i32s", &i32s),
        ("u8s", &u8s),
        ("bools", &bools),
        ("scalar", &scalar),
        ("empty", &empty),
    ];
    save_safetensors(&path, &all)?;
    let loaded = load_safetensors(&path)?;
    assert_eq!(
        names(&loaded),
        vec!["bools", "empty", "f32s", "f64s", "i32s", "i64s", "scalar", "u8s"]
    );
    for (name, original) in all {
        let (_, t) = loaded.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(t.dtype(), original.dtype(), "{name}");
        assert_eq!(t.shape(), original.shape(), "{name}");
        assert!(t.is_contiguous() && !t.requires_grad(), "{name}");
    }
    let get = |name: &str| loaded.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(
        get("f32s")
            .to_vec::<f32>()?
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        [
            1.5f32,
            -0.0,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::INFINITY,
            -3.25
        ]
        .map(f32::to_bits)
    );
    assert_eq!(
        get("f64s").to_vec::<f64>()?,
        vec![std::f64::consts::PI, -1e-300]
    );
    assert_eq!(
        get("i64s").to_vec::<i64>()?,
        vec![i64::MIN, -1, 0, i64::MAX]
    );
    assert_eq!(get("i32s").to_vec::<i32>()?, vec![i32::MIN, 7, i32::MAX]);
    assert_eq!(get("u8s").to_vec::<u8>()?, vec![0, 1, 254, 255]);
    assert_eq!(get("bools").to_vec::<bool>()?, vec![true, false, true]);
    assert_eq!(get("scalar").item::<i64>()?, 42);
    assert_eq!(get("empty").numel(), 0);
    Ok(())
}

#[test]
fn strided_tensors_are_written_in_logical_order() -> R {
    let d = dir();
    let path = d.path().join("strided.safetensors");
    let base: Vec<i32> = (0..12).collect();
    let t = Tensor::from_vec(base.clone(), &[3, 4])?;
    let cases = [
        ("transposed", t.t()?),
        ("flipped", t.slice(1, None, None, -1)?),
        ("stepped", t.slice(0, Some(2), None, -2)?.narrow(1, 1, 2)?),
        ("expanded", t.select(0, 1)?.unsqueeze(0)?.expand(&[2, 4])?),
    ];
    // The same elements, indexed by hand: tensor[i][j] = base[row(i) * 4 + col(j)].
    let want: [Vec<i32>; 4] = [
        (0..4)
            .flat_map(|j| (0..3).map(move |i| i * 4 + j))
            .collect(),
        (0..3)
            .flat_map(|i| (0..4).map(move |j| i * 4 + 3 - j))
            .collect(),
        [2, 0]
            .iter()
            .flat_map(|&i| (1..3).map(move |j| i * 4 + j))
            .collect(),
        (0..2).flat_map(|_| (4..8).collect::<Vec<_>>()).collect(),
    ];
    let named: Vec<(&str, &Tensor)> = cases.iter().map(|(n, t)| (*n, t)).collect();
    save_safetensors(&path, &named)?;
    let loaded = load_safetensors(&path)?;
    for ((name, original), want) in cases.iter().zip(want) {
        let (_, t) = loaded.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(t.shape(), original.shape(), "{name}");
        assert_eq!(
            t.to_vec::<i32>()?,
            want.iter().map(|&k| base[k as usize]).collect::<Vec<_>>(),
            "{name}"
        );
    }
    Ok(())
}

#[test]
fn written_files_follow_the_format() -> R {
    let d = dir();
    let path = d.path().join("w.safetensors");
    let t = Tensor::from_vec(vec![1i32, -2, 3, 4], &[2, 2])?;
    save_safetensors(&path, &[("w", &t.t()?)])?;
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        compact.contains(r#""w":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}"#),
        "{header}"
    );
    let data: Vec<i32> = bytes[8 + n..]
        .chunks(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data, vec![1, 3, -2, 4]);
    Ok(())
}

#[test]
fn handmade_files_load() -> R {
    let d = dir();
    let path = d.path().join("hand.safetensors");
    let header = r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"BOOL","shape":[2],"data_offsets":[16,18]},"a":{"dtype":"F64","shape":[1,2],"data_offsets":[0,16]}}"#;
    let mut data = 0.5f64.to_le_bytes().to_vec();
    data.extend_from_slice(&(-8.0f64).to_le_bytes());
    data.extend_from_slice(&[0, 1]);
    std::fs::write(&path, handmade(header, &data)).unwrap();
    let loaded = load_safetensors(&path)?;
    assert_eq!(names(&loaded), vec!["a", "b"]);
    assert_eq!(loaded[0].1.shape(), &[1, 2]);
    assert_eq!(loaded[0].1.to_vec::<f64>()?, vec![0.5, -8.0]);
    assert_eq!(loaded[1].1.to_vec::<bool>()?, vec![false, true]);
    Ok(())
}

#[test]
fn saving_replaces_the_file_and_leaves_nothing_else() -> R {
    let d = dir();
    let path = d.path().join("w.safetensors");
    save_safetensors(&path, &[("w", &Tensor::from_vec(vec![1.0f32], &[1])?)])?;
    save_safetensors(&path, &[("v", &Tensor::from_vec(vec![2u8, 3], &[2])?)])?;
    let loaded = load_safetensors(&path)?;
    assert_eq!(names(&loaded), vec!["v"]);
    assert_eq!(loaded[0].1.to_vec::<u8>()?, vec![2, 3]);
    let files: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, vec![std::ffi::OsString::from("w.safetensors")]);
    Ok(())
}

#[test]
fn a_failed_save_leaves_the_old_file() -> R {
    let d = dir();
    let path = d.path().join("w.safetensors");
    let w = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    save_safetensors(&path, &[("w", &w)])?;
    let before = std::fs::read(&path).unwrap();
    let view = w.numpy_mut::<f32>()?;
    assert!(matches!(
        save_safetensors(&path, &[("w", &w)]),
        Err(Error::StorageBorrowed { .. })
    ));
    drop(view);
    let e = save_safetensors(&path, &[("w", &w), ("w", &w)]).unwrap_err();
    assert!(
        e.to_string().contains("the tensor name 'w' appears twice"),
        "{e}"
    );
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    Ok(())
}

#[test]
fn tensors_that_require_grad_save_their_values() -> R {
    let d = dir();
    let path = d.path().join("w.safetensors");
    let w = Tensor::from_vec(vec![0.25f64, 4.0], &[2])?.requires_grad_(true)?;
    save_safetensors(&path, &[("w", &w)])?;
    let loaded = load_safetensors(&path)?;
    assert_eq!(loaded[0].1.dtype(), DType::F64);
    assert_eq!(loaded[0].1.to_vec::<f64>()?, vec![0.25, 4.0]);
    Ok(())
}

// ----- errors -----

fn assert_names_path(e: &Error, path: &Path) {
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

#[test]
fn a_missing_file_is_an_io_error_with_its_path() {
    let d = dir();
    let path = d.path().join("missing.safetensors");
    let e = load_safetensors(&path).unwrap_err();
    assert!(
        matches!(&e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{e}"
    );
    assert_names_path(&e, &path);
    let e = save_safetensors(
        d.path().join("no/such/dir/w.safetensors"),
        &[("w", &Tensor::scalar(1i32))],
    )
    .unwrap_err();
    assert!(matches!(&e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("no/such/dir/w.safetensors"), "{e}");
}

#[test]
fn corrupt_files_are_format_errors_with_their_path() -> R {
    let d = dir();
    let path = d.path().join("bad.safetensors");
    let good = handmade(
        r#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#,
        &[1, 0, 0, 0, 2, 0, 0, 0],
    );
    std::fs::write(&path, &good).unwrap();
    assert_eq!(load_safetensors(&path)?[0].1.to_vec::<i32>()?, vec![1, 2]);
    let corruptions: Vec<(Vec<u8>, &str)> = vec![
        (vec![1, 2, 3], "header too small"),
        (b"not a safetensors file at all".to_vec(), "header"),
        (good[..good.len() - 3].to_vec(), "incomplete metadata"),
        (handmade("{\"a\": nonsense}", &[]), "invalid JSON"),
        (
            handmade(
                r#"{"a":{"dtype":"I32","shape":[3],"data_offsets":[0,8]}}"#,
                &[0; 8],
            ),
            "invalid",
        ),
    ];
    for (bytes, why) in corruptions {
        std::fs::write(&path, &bytes).unwrap();
        let e = load_safetensors(&path).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Format {
                    format: "safetensors",
                    ..
                }
            ),
            "{e}"
        );
        assert_names_path(&e, &path);
        assert!(e.to_string().contains(why), "{e} lacks {why}");
    }
    Ok(())
}

#[test]
fn dtypes_ferrograd_cannot_hold_are_named() {
    let d = dir();
    let path = d.path().join("half.safetensors");
    std::fs::write(
        &path,
        handmade(
            r#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
    )
    .unwrap();
    let e = load_safetensors(&path).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("tensor 'h' has dtype F16, which ferrograd cannot hold"),
        "{e}"
    );
    assert_names_path(&e, &path);
}
