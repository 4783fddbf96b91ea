//! IDX format parsing: the MNIST file format (also Fashion-MNIST, KMNIST, EMNIST), gzipped or plain.
//!
//! An IDX file is a big-endian header (magic `0x0000_08_NN`: u8 data with NN
//! dimensions, then one u32 per dimension) followed by the raw data. Images
//! are idx3 (count, rows, cols), labels idx1 (count). Finding the files of a
//! dataset in a folder is `idx_dir`'s job.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::dataset::Split;
use super::error::DataError;

pub const IMAGES_MAGIC: u32 = 0x0000_0803;
pub const LABELS_MAGIC: u32 = 0x0000_0801;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads a whole file, transparently gunzipping it when it starts with the
/// gzip magic bytes (the extension is not trusted: people rename files).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = fs::read(path).map_err(|e| DataError::io(path, e))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    // The gzip trailer stores the uncompressed size mod 2^32; using it as a
    // capacity hint avoids repeated reallocation of a 47 MB buffer. Capped so
    // a corrupt trailer cannot request absurd memory up front.
    let hint = raw
        .len()
        .checked_sub(4)
        .and_then(|i| raw.get(i..))
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b: [u8; 4]| u32::from_le_bytes(b) as usize)
        .min(1 << 30);
    let mut out = Vec::with_capacity(hint);
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_be_bytes(b)
}

/// Checks magic and length of a decoded IDX buffer; returns the dimensions.
fn check_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    kind: &'static str,
    warnings: &mut Vec<String>,
) -> Result<Vec<usize>, DataError> {
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header as u64,
            got: bytes.len() as u64,
        });
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            kind,
            found,
            expected: magic,
        });
    }
    if bytes.len() < header {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header as u64,
            got: bytes.len() as u64,
        });
    }
    let dims: Vec<usize> = (0..ndim).map(|d| be_u32(bytes, 4 + 4 * d) as usize).collect();
    // Saturating u64 arithmetic: a corrupt header claiming billions of
    // images must give a clean "truncated" error, not an overflow.
    let expected = dims
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
        .saturating_add(header as u64);
    let got = bytes.len() as u64;
    if got < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            got,
        });
    }
    if got > expected {
        warnings.push(format!(
            "{} has {} bytes after the data its header describes; they were ignored",
            path.display(),
            got - expected
        ));
    }
    Ok(dims)
}

/// Raw images of one IDX images file.
#[derive(Debug)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` bytes, row-major per image.
    pub pixels: Vec<u8>,
}

/// Parses an idx3 u8 images file (gzipped or plain).
pub fn read_images(path: &Path, warnings: &mut Vec<String>) -> Result<IdxImages, DataError> {
    let mut bytes = read_maybe_gz(path)?;
    let dims = check_header(path, &bytes, IMAGES_MAGIC, "images", warnings)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::InvalidRequest(format!(
            "{} declares {rows}x{cols} images; the header is corrupt",
            path.display()
        )));
    }
    // Reuse the decoded buffer instead of copying 47 MB: drop the header
    // and any trailing bytes in place.
    bytes.truncate(16 + count * rows * cols);
    bytes.drain(..16);
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes,
    })
}

/// Parses an idx1 u8 labels file (gzipped or plain).
pub fn read_labels(path: &Path, warnings: &mut Vec<String>) -> Result<Vec<u32>, DataError> {
    let bytes = read_maybe_gz(path)?;
    let dims = check_header(path, &bytes, LABELS_MAGIC, "labels", warnings)?;
    Ok(bytes[8..8 + dims[0]].iter().map(|&b| u32::from(b)).collect())
}

/// Loads an images file and its labels file into a split.
/// Returns the split with `(rows, cols)`.
pub fn read_pair(images: &Path, labels: &Path, warnings: &mut Vec<String>) -> Result<(Split, usize, usize), DataError> {
    let img = read_images(images, warnings)?;
    let lab = read_labels(labels, warnings)?;
    if img.count != lab.len() {
        return Err(DataError::CountMismatch {
            images_path: images.to_path_buf(),
            images: img.count,
            labels_path: labels.to_path_buf(),
            labels: lab.len(),
        });
    }
    Ok((
        Split {
            pixels: img.pixels,
            labels: lab,
        },
        img.rows,
        img.cols,
    ))
}

/// The first four bytes of a file as a big-endian u32, after gunzipping if
/// needed; reads only what it needs, so probing a large file is cheap.
pub fn peek_magic(path: &Path) -> Option<u32> {
    let mut file = fs::File::open(path).ok()?;
    let mut head = [0u8; 4];
    file.read_exact(&mut head).ok()?;
    if head[..2] == GZIP_MAGIC {
        let file = fs::File::open(path).ok()?;
        flate2::read::MultiGzDecoder::new(file).read_exact(&mut head).ok()?;
    }
    Some(u32::from_be_bytes(head))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{TempDir, gzip, idx_images, idx_labels};
    use super::*;

    #[test]
    fn parses_plain_and_gzip_alike() {
        let d = TempDir::new("idx-parse");
        let pixels: Vec<u8> = (0..24).collect();
        let plain = d.path().join("i");
        let gz = d.path().join("i.gz");
        fs::write(&plain, idx_images(2, 3, 4, &pixels)).unwrap();
        fs::write(&gz, gzip(&idx_images(2, 3, 4, &pixels))).unwrap();
        let mut w = Vec::new();
        let a = read_images(&plain, &mut w).unwrap();
        let b = read_images(&gz, &mut w).unwrap();
        assert_eq!((a.count, a.rows, a.cols, &a.pixels), (2, 3, 4, &pixels));
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(peek_magic(&gz), Some(IMAGES_MAGIC));
        assert!(w.is_empty());
    }

    #[test]
    fn header_problems_are_typed_errors() {
        let d = TempDir::new("idx-header");
        let p = d.path().join("l");
        let mut w = Vec::new();
        fs::write(&p, idx_labels(&[1, 2])).unwrap();
        assert_eq!(read_labels(&p, &mut w).unwrap(), vec![1, 2]);
        assert!(matches!(
            read_images(&p, &mut w),
            Err(DataError::BadMagic {
                found: LABELS_MAGIC,
                expected: IMAGES_MAGIC,
                ..
            })
        ));
        // Trailing bytes are tolerated with a warning.
        fs::write(&p, [idx_labels(&[1, 2]), vec![0, 0]].concat()).unwrap();
        assert_eq!(read_labels(&p, &mut w).unwrap(), vec![1, 2]);
        assert_eq!(w.len(), 1);
        fs::write(&p, &idx_labels(&[1, 2])[..9]).unwrap();
        assert!(matches!(
            read_labels(&p, &mut w),
            Err(DataError::Truncated {
                expected: 10,
                got: 9,
                ..
            })
        ));
        assert!(matches!(
            read_labels(&d.path().join("missing"), &mut w),
            Err(DataError::Io { .. })
        ));
    }
}
