//! `.npy` / `.npz` files checked against real NumPy, both ways, over dtypes ×
//! shapes × memory layouts × orders × byte orders × versions. Each test
//! writes all its files first and runs Python once to check or write them
//! all. Python is `$FERROGRAD_PYTHON`, else the workspace's `.venv` (made by
//! `scripts/setup-python.sh`), else `python3`. Without NumPy the tests skip
//! loudly — except under `CI=true`, where that is a failure.

#[path = "support/npy_values.rs"]
mod npy_values;

use ferrograd_autograd::{DType, Tensor};
use ferrograd_interop::npy::{
    load_npy, save_npy_with, Endian, NpyHeader, NpyOrder, NpyWriteOptions,
};
use ferrograd_interop::npz::{load_npz, save_npz, save_npz_compressed};
use npy_values::{
    column_major, elements, expected, test_tensor, type_code, Kind, KINDS, PY_VALUES, SHAPES,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A matrix big enough that strided writes take several blocks.
const LARGE: &[usize] = &[300, 1000];

fn has_numpy(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Python to use, or `None` (after saying so) when no NumPy is found.
fn python_or_skip(test: &str) -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let candidates: Vec<PathBuf> = match std::env::var_os("FERROGRAD_PYTHON") {
        Some(p) => vec![p.into()],
        None => vec![venv, "python3".into()],
    };
    if let Some(p) = candidates.iter().find(|p| has_numpy(p)) {
        return Some(p.clone());
    }
    let why = format!("no Python with numpy among {candidates:?}; run scripts/setup-python.sh");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {why} (CI=true requires the NumPy cross-check)");
    }
    eprintln!("SKIPPED {test}: {why}");
    None
}

/// Runs `script` (after the shared `values` helper) with `args`; returns stdout.
fn run_python(python: &Path, script: &str, args: &[&Path]) -> String {
    let program = format!("import sys, io, zipfile\nimport numpy as np\n{PY_VALUES}\n{script}");
    // One thread: the scripts do no linear algebra, and idle BLAS threads spin.
    let out = Command::new(python)
        .env("OPENBLAS_NUM_THREADS", "1")
        .arg("-c")
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn shape_text(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn descr(dtype: DType, endian: Endian) -> String {
    let order = match (dtype.size_in_bytes(), endian) {
        (1, _) => '|',
        (_, Endian::Little) => '<',
        (_, Endian::Big) => '>',
    };
    format!("{order}{}", type_code(dtype))
}

fn kind_letter(kind: Kind) -> char {
    match kind {
        Kind::Contiguous => 'C',
        Kind::Transposed => 'T',
        Kind::Flipped => 'R',
        Kind::Gapped => 'G',
    }
}

/// Checks each file Rust wrote. Manifest lines, tab-separated:
/// `npy file descr shape layout order version` or `npz file name descr shape method`.
const CHECK_SCRIPT: &str = r#"
def expected(descr, shape):
    n = int(np.prod(shape))
    return values(descr[1:], n).astype(descr).reshape(shape)

checked, failures = 0, []
def check(ok, what):
    if not ok:
        failures.append(what)

for line in open(sys.argv[1]).read().splitlines():
    f = line.split('\t')
    shape = tuple(int(x) for x in f[4 if f[0] == 'npz' else 3].split(',') if x)
    if f[0] == 'npz':
        _, path, name, descr, _, method = f
        with np.load(path) as z:
            a = z[name]
        info = zipfile.ZipFile(path).getinfo(name + '.npy')
        want_method = zipfile.ZIP_DEFLATED if method == 'deflated' else zipfile.ZIP_STORED
        check(info.compress_type == want_method, f'{path}:{name} compression {info.compress_type}')
    else:
        _, path, descr, _, layout, order, version = f
        a = np.load(path)
        ref = expected(descr, shape)
        if layout == 'T' and ref.ndim:  # asfortranarray makes 0-d arrays 1-d
            ref = np.asfortranarray(ref)
        numpy_fortran = bool(ref.flags.f_contiguous and not ref.flags.c_contiguous)
        want_fortran = {'C': False, 'F': True, 'A': numpy_fortran}[order]
        with open(path, 'rb') as fh:
            major, minor = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            _, fortran, _ = read_header(fh)
        check(fortran == want_fortran, f'{path}: fortran_order {fortran}, expected {want_fortran}')
        check(f'{major}.{minor}' == version, f'{path}: version {major}.{minor}, expected {version}')
        if fortran == numpy_fortran:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, ref, version=None if version == '1.0' else (major, minor))
            check(buf.getvalue() == open(path, 'rb').read(), f'{path}: bytes differ from np.save')
    check(a.dtype.str == descr, f'{path}: dtype {a.dtype.str}, expected {descr}')
    check(a.shape == shape, f'{path}: shape {a.shape}, expected {shape}')
    check(a.shape == shape and np.array_equal(a, expected(descr, shape)), f'{path}: values differ')
    checked += 1

for fail in failures:
    print('FAIL', fail)
print('checked', checked)
"#;

fn assert_all_checked(stdout: &str, cases: usize) {
    let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(stdout.contains(&format!("checked {cases}\n")), "{stdout}");
}

#[test]
fn numpy_reads_what_ferrograd_writes() {
    let Some(python) = python_or_skip("numpy_reads_what_ferrograd_writes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = String::new();
    let mut cases = 0;
    // Each tensor is written in two of the six order × byte-order combinations,
    // rotating so that every dtype and layout meets all six across the shapes.
    let mut combos = Vec::new();
    for (order, letter) in [
        (NpyOrder::Auto, 'A'),
        (NpyOrder::C, 'C'),
        (NpyOrder::Fortran, 'F'),
    ] {
        for endian in [Endian::Little, Endian::Big] {
            combos.push((order, letter, endian));
        }
    }
    let versions = [None, Some((2, 0)), Some((3, 0))];
    let mut tensors = 0;
    for dtype in DType::ALL {
        let large = (dtype == DType::F64).then_some(LARGE);
        for shape in SHAPES.iter().copied().chain(large) {
            for kind in KINDS {
                let t = test_tensor(dtype, shape, kind);
                for pick in [tensors % 6, (tensors + 3) % 6] {
                    let (order, order_letter, endian) = combos[pick];
                    let version = versions[cases % versions.len()];
                    let path = dir.path().join(format!("w{cases}.npy"));
                    let options = NpyWriteOptions {
                        order,
                        endian,
                        version,
                    };
                    save_npy_with(&path, &t, &options).unwrap();
                    let (major, minor) = version.unwrap_or((1, 0));
                    writeln!(
                        manifest,
                        "npy\t{}\t{}\t{}\t{}\t{order_letter}\t{major}.{minor}",
                        path.display(),
                        descr(dtype, endian),
                        shape_text(shape),
                        kind_letter(kind)
                    )
                    .unwrap();
                    cases += 1;
                }
                tensors += 1;
            }
        }
    }
    cases += write_archives(dir.path(), &mut manifest);
    let manifest_path = dir.path().join("manifest.tsv");
    std::fs::write(&manifest_path, manifest).unwrap();
    assert_all_checked(&run_python(&python, CHECK_SCRIPT, &[&manifest_path]), cases);
}

/// Writes one stored and one deflated archive of every dtype; returns the entry count.
fn write_archives(dir: &Path, manifest: &mut String) -> usize {
    let shapes: [&[usize]; 6] = [&[3, 4], &[], &[0, 2], &[5], &[2, 3, 2], &[4, 4]];
    let names = ["poids", "arr_0", "métrique", "b", "mask_1", "z"];
    let arrays: Vec<(String, Tensor, DType, &[usize])> = DType::ALL
        .into_iter()
        .zip(shapes)
        .zip(KINDS.into_iter().cycle())
        .zip(names)
        .map(|(((dtype, shape), kind), name)| {
            (
                name.to_string(),
                test_tensor(dtype, shape, kind),
                dtype,
                shape,
            )
        })
        .collect();
    let named: Vec<(&str, &Tensor)> = arrays.iter().map(|(n, t, _, _)| (n.as_str(), t)).collect();
    for method in ["stored", "deflated"] {
        let path = dir.join(format!("{method}.npz"));
        if method == "stored" {
            save_npz(&path, &named).unwrap();
        } else {
            save_npz_compressed(&path, &named).unwrap();
        }
        for (name, _, dtype, shape) in &arrays {
            let line = [
                "npz",
                &path.display().to_string(),
                name,
                &descr(*dtype, Endian::native()),
                &shape_text(shape),
                method,
            ];
            writeln!(manifest, "{}", line.join("\t")).unwrap();
        }
    }
    2 * arrays.len()
}

/// Writes each file the manifest names. Lines, tab-separated:
/// `npy path descr shape order version` or `npz path method name descr shape order`.
const WRITE_SCRIPT: &str = r#"
def make(descr, shape, order):
    a = values(descr[1:], int(np.prod(shape))).astype(descr).reshape(shape)
    return np.asfortranarray(a) if order == 'F' and a.ndim else a

archives = {}
for line in open(sys.argv[1]).read().splitlines():
    f = line.split('\t')
    if f[0] == 'npy':
        _, path, descr, shape, order, version = f
        shape = tuple(int(x) for x in shape.split(',') if x)
        with open(path, 'wb') as fh:
            np.lib.format.write_array(fh, make(descr, shape, order), version=tuple(int(v) for v in version.split('.')))
    else:
        _, path, method, name, descr, shape, order = f
        shape = tuple(int(x) for x in shape.split(',') if x)
        archives.setdefault((path, method), {})[name] = make(descr, shape, order)
for (path, method), arrays in archives.items():
    (np.savez_compressed if method == 'deflated' else np.savez)(path, **arrays)
print('wrote', len(archives))
"#;

/// What a test file should hold.
struct Want {
    path: PathBuf,
    name: Option<String>,
    dtype: DType,
    shape: &'static [usize],
}

fn check_loaded(t: &Tensor, want: &Want, fortran_order: bool) {
    let what = format!("{} {:?}", want.path.display(), want.name);
    assert_eq!(t.dtype(), want.dtype, "{what}");
    assert_eq!(t.shape(), want.shape, "{what}");
    assert_eq!(elements(t), expected(want.dtype, want.shape), "{what}");
    if fortran_order {
        assert_eq!(t.strides(), &column_major(want.shape)[..], "{what}");
    } else {
        assert!(t.is_contiguous(), "{what}");
    }
}

#[test]
fn ferrograd_reads_what_numpy_writes() {
    let Some(python) = python_or_skip("ferrograd_reads_what_numpy_writes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = String::new();
    let mut wants = Vec::new();
    for dtype in DType::ALL {
        let large = (dtype == DType::I32).then_some(LARGE);
        for shape in SHAPES.iter().copied().chain(large) {
            for order in ['C', 'F'] {
                for endian in [Endian::Little, Endian::Big] {
                    let version = ["1.0", "2.0", "3.0"][wants.len() % 3];
                    let path = dir.path().join(format!("n{}.npy", wants.len()));
                    let d = descr(dtype, endian);
                    let line = [
                        "npy",
                        &path.display().to_string(),
                        &d,
                        &shape_text(shape),
                        &order.to_string(),
                        version,
                    ];
                    writeln!(manifest, "{}", line.join("\t")).unwrap();
                    wants.push(Want {
                        path,
                        name: None,
                        dtype,
                        shape,
                    });
                }
            }
        }
    }
    let names = ["arr_0", "x", "métrique", "m", "u", "flag"];
    for method in ["stored", "deflated"] {
        let path = dir.path().join(format!("{method}.npz"));
        for (i, (dtype, name)) in DType::ALL.into_iter().zip(names).enumerate() {
            let (shape, order) = (SHAPES[i + 3], if i % 2 == 0 { 'F' } else { 'C' });
            let d = descr(
                dtype,
                if i % 3 == 0 {
                    Endian::Big
                } else {
                    Endian::Little
                },
            );
            let line = [
                "npz",
                &path.display().to_string(),
                method,
                name,
                &d,
                &shape_text(shape),
                &order.to_string(),
            ];
            writeln!(manifest, "{}", line.join("\t")).unwrap();
            wants.push(Want {
                path: path.clone(),
                name: Some(name.to_string()),
                dtype,
                shape,
            });
        }
    }
    let manifest_path = dir.path().join("manifest.tsv");
    std::fs::write(&manifest_path, manifest).unwrap();
    assert!(run_python(&python, WRITE_SCRIPT, &[&manifest_path]).contains("wrote 2"));

    let mut fortran_files = 0;
    for want in wants.iter().filter(|w| w.name.is_none()) {
        let bytes = std::fs::read(&want.path).unwrap();
        let (header, _) = NpyHeader::parse(&bytes).unwrap();
        fortran_files += usize::from(header.fortran_order);
        check_loaded(&load_npy(&want.path).unwrap(), want, header.fortran_order);
    }
    assert!(fortran_files > 0);
    for method in ["stored", "deflated"] {
        let loaded = load_npz(dir.path().join(format!("{method}.npz"))).unwrap();
        let mut got: Vec<&str> = loaded.iter().map(|(n, _)| n.as_str()).collect();
        got.sort_unstable();
        let mut want_names = names.to_vec();
        want_names.sort_unstable();
        assert_eq!(got, want_names);
        for want in wants
            .iter()
            .filter(|w| w.path.ends_with(format!("{method}.npz")))
        {
            let (_, t) = loaded
                .iter()
                .find(|(n, _)| Some(n) == want.name.as_ref())
                .unwrap();
            let fortran = t.dim() > 1 && !t.is_contiguous();
            check_loaded(t, want, fortran);
        }
    }
}
