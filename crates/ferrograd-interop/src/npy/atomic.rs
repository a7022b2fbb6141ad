//! Atomic file replacement: write a temporary file beside the target, then
//! rename it over the target, so readers see the old file or the whole new
//! one and a failed save leaves nothing behind.

use ferrograd_storage::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Removes the temporary file unless the rename went through.
struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates a fresh file named `.{name}.{pid}-{n}.tmp` in `path`'s directory
/// (with the same permissions a plain create would give).
fn create_temp(path: &Path) -> Result<(File, TempFile)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            format!("saving to {}", path.display()),
            io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".{}.{}-{n}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => {
                return Ok((
                    file,
                    TempFile {
                        path: tmp,
                        committed: false,
                    },
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("creating {}", tmp.display()), e)),
        }
    }
}

/// Runs `write` on a temporary file beside `path`, then renames it to `path`.
/// On any error the temporary file is removed and `path` is untouched.
/// Not an fsync: like `np.save`, durability across a power cut is left to
/// the OS; atomicity for readers and against failed writes is what it gives.
/// A symlink is written through, as a plain save would: its target is replaced.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let resolved = if is_link {
        fs::canonicalize(path).ok()
    } else {
        None
    };
    let path = resolved.as_deref().unwrap_or(path);
    let (mut file, mut temp) = create_temp(path)?;
    write(&mut file)?;
    drop(file);
    fs::rename(&temp.path, path).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", temp.path.display(), path.display()),
            e,
        )
    })?;
    temp.committed = true;
    Ok(())
}
