//! Checks on a database file before SQLite opens it, and the creation of a new file with
//! owner-only permissions (SQLite gives its `-wal`, `-shm` and `-journal` files the same).

use std::fs::OpenOptions;
use std::io::ErrorKind as IoKind;
use std::path::Path;

use txkit_core::{Error, Result};

use crate::options::OpenMode;

/// The permissions of a database file txkit creates: read and write for its owner only.
pub(crate) const DB_FILE_MODE: u32 = 0o600;

/// Makes sure `path` can be opened as `mode` asks, creating the file (mode 0600) when
/// `mode` allows and it does not exist yet. Every failure is a Config error that names the
/// path and what to do, rather than SQLite's "unable to open database file".
pub(crate) fn prepare(path: &Path, mode: OpenMode) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::config("the SQLite database path is empty"));
    }
    if path.is_dir() {
        return Err(Error::config(format!(
            "the SQLite database path {} is a directory; name a file inside it, e.g. {}",
            path.display(),
            path.join("app.db").display()
        )));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::config(format!(
                "{} (the directory of SQLite database {}) is not a directory",
                dir.display(),
                path.display()
            )));
        }
        Err(e) if e.kind() == IoKind::NotFound => {
            return Err(Error::config(format!(
                "directory {} of SQLite database {} does not exist; create it first (mkdir -p \
                 {}) or fix the path",
                dir.display(),
                path.display(),
                dir.display()
            )));
        }
        Err(e) => {
            return Err(Error::config(format!(
                "cannot use directory {} of SQLite database {}: {e}",
                dir.display(),
                path.display()
            ))
            .with_source(e));
        }
    }
    match mode {
        OpenMode::ReadWriteCreate => create_private(path),
        OpenMode::ReadWrite | OpenMode::ReadOnly => {
            if path.exists() {
                Ok(())
            } else {
                Err(Error::config(format!(
                    "SQLite database {} does not exist; mode={} opens an existing file only: \
                     create it, or use mode=rwc",
                    path.display(),
                    mode.as_str()
                )))
            }
        }
    }
}

/// Creates `path` empty with [`DB_FILE_MODE`] unless it exists; SQLite then takes an empty
/// file for a new database.
fn create_private(path: &Path) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(DB_FILE_MODE);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == IoKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::config(format!(
            "cannot create SQLite database {}: {e}",
            path.display()
        ))
        .with_source(e)),
    }
}

#[cfg(test)]
mod tests {
    use txkit_core::ErrorKind;

    use super::*;

    #[test]
    fn missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/deeper/app.db");
        let e = prepare(&path, OpenMode::ReadWriteCreate).expect_err("missing dir");
        assert_eq!(e.kind(), ErrorKind::Config);
        let text = e.to_string();
        assert!(text.contains(&dir.path().join("nope/deeper").display().to_string()));
        assert!(text.contains("create it"), "{text}");
        assert!(!path.exists());
    }

    #[test]
    fn existing_file_is_required_for_rw_and_ro() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        for mode in [OpenMode::ReadWrite, OpenMode::ReadOnly] {
            let e = prepare(&path, mode).expect_err("missing file");
            assert!(e.to_string().contains("mode=rwc"), "{e}");
        }
        prepare(&path, OpenMode::ReadWriteCreate).unwrap();
        prepare(&path, OpenMode::ReadWriteCreate).unwrap();
        prepare(&path, OpenMode::ReadOnly).unwrap();
    }

    #[test]
    fn directory_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = prepare(dir.path(), OpenMode::ReadWriteCreate).expect_err("dir");
        assert!(e.to_string().contains("is a directory"), "{e}");
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        let e = prepare(&file.join("x.db"), OpenMode::ReadWriteCreate).expect_err("file dir");
        assert!(e.to_string().contains("not a directory"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn new_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        prepare(&path, OpenMode::ReadWriteCreate).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
