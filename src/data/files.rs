//! Opening data files safely: only regular files are read, so a FIFO, a device or a folder with
//! a data file's name is refused with a sentence instead of blocking or reading forever.

use std::fs::{self, File, Metadata};
use std::io::Read;
use std::path::Path;

use super::error::DataError;

/// What `meta` describes when it is not a regular file ("a FIFO", "a folder", …), else `None`.
pub fn special_kind(meta: &Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a folder")
    } else if t.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

/// Opens `path` for reading after checking (symlinks followed) that it is a regular file;
/// returns the file and its length.
pub fn open_regular(path: &Path) -> Result<(File, u64), DataError> {
    let meta = fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if let Some(kind) = special_kind(&meta) {
        return Err(DataError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok((file, meta.len()))
}

/// The whole of a regular file.
pub fn read_regular(path: &Path) -> Result<Vec<u8>, DataError> {
    let (mut file, len) = open_regular(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 30));
    file.read_to_end(&mut bytes).map_err(|e| DataError::io(path, e))?;
    Ok(bytes)
}

/// The text of an optional side file (class names, mappings): `None` when it does not exist,
/// an error when it is not a regular file or cannot be read.
pub fn read_optional_text(path: &Path) -> Result<Option<String>, DataError> {
    match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let bytes = read_regular(path)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::TempDir;
    use super::*;

    #[test]
    fn folders_and_fifos_are_refused_and_missing_side_files_are_none() {
        let d = TempDir::new("files");
        let dir_err = read_regular(d.path()).unwrap_err();
        assert!(
            matches!(dir_err, DataError::NotAFile { kind: "a folder", .. }),
            "{dir_err}"
        );
        assert!(read_optional_text(&d.path().join("missing.txt")).unwrap().is_none());
        fs::write(d.path().join("names.txt"), "a\nb\n").unwrap();
        assert_eq!(
            read_optional_text(&d.path().join("names.txt")).unwrap().as_deref(),
            Some("a\nb\n")
        );
        let fifo = d.path().join("mapping.txt");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read_optional_text(&fifo).unwrap_err();
            assert!(err.to_string().contains("FIFO"), "{err}");
            assert!(err.to_string().contains("mapping.txt"), "{err}");
        }
    }
}
