//! IDX format parsing: the MNIST file format (also Fashion-MNIST, KMNIST, EMNIST), gzipped or plain.
//!
//! An IDX file is a big-endian header (magic `0x0000_08_NN`: u8 data with NN
//! dimensions, then one u32 per dimension) followed by the raw data. Images
//! are idx3 (count, rows, cols), labels idx1 (count). Finding the files of a
//! dataset in a folder is `idx_dir`'s job.

use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::budget::check_dataset_size;
use super::dataset::Split;
use super::error::DataError;
use super::files::open_regular;

pub const IMAGES_MAGIC: u32 = 0x0000_0803;
pub const LABELS_MAGIC: u32 = 0x0000_0801;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Decoded bytes reserved up front for a gzipped file; the rest grows as data really arrives,
/// so a header that lies costs nothing.
const GZIP_RESERVE: u64 = 64 << 20;

/// Reads into `buf` until it is full or the stream ends; returns how many bytes arrived.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The dimensions an IDX header declares, and exactly the data they describe.
struct IdxFile {
    dims: Vec<usize>,
    data: Vec<u8>,
}

/// Reads an IDX file of `magic` (plain, or gzipped whatever its name) through a reader bounded
/// by its header: the header's sizes are checked against what the file holds before the data is
/// allocated; fewer bytes is `Truncated`, more is `Oversized`. `expected_count`, when given,
/// must be the first dimension (the labels of a known number of images).
fn read_idx(
    path: &Path,
    magic: u32,
    kind: &'static str,
    expected_count: Option<(&Path, usize)>,
) -> Result<IdxFile, DataError> {
    let (mut file, file_len) = open_regular(path)?;
    let io = |e| DataError::io(path, e);
    let gz_err = |source| DataError::Gzip {
        path: path.to_path_buf(),
        source,
    };
    let mut sniff = [0u8; 2];
    let compressed = read_up_to(&mut file, &mut sniff).map_err(io)? == 2 && sniff == GZIP_MAGIC;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut reader: Box<dyn Read> = if compressed {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let stream_err = |e| if compressed { gz_err(e) } else { io(e) };
    let ndim = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndim;
    let mut header = vec![0u8; header_len];
    let got = read_up_to(&mut reader, &mut header[..4]).map_err(stream_err)?;
    if got < 4 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            got: got as u64,
        });
    }
    let found = be_u32(&header, 0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            kind,
            found,
            expected: magic,
        });
    }
    let got = 4 + read_up_to(&mut reader, &mut header[4..]).map_err(stream_err)?;
    if got < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            got: got as u64,
        });
    }
    let dims: Vec<usize> = (0..ndim).map(|d| be_u32(&header, 4 + 4 * d) as usize).collect();
    // u64 and saturating: a corrupt header claiming billions of images must give a clean
    // error, not an overflow.
    let data_len = dims.iter().fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
    let expected = data_len.saturating_add(header_len as u64);
    if !compressed {
        if file_len < expected {
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected,
                got: file_len,
            });
        }
        if file_len > expected {
            return Err(DataError::Oversized {
                path: path.to_path_buf(),
                expected,
                compressed,
            });
        }
    }
    if let Some((images_path, images)) = expected_count
        && dims.first() != Some(&images)
    {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            images,
            labels_path: path.to_path_buf(),
            labels: dims.first().copied().unwrap_or(0),
        });
    }
    if let [count, rows, cols] = dims[..] {
        if rows == 0 || cols == 0 {
            return Err(DataError::InvalidRequest(format!(
                "{} declares {rows}x{cols} images; the header is corrupt",
                path.display()
            )));
        }
        check_dataset_size(
            count as u64,
            (1, rows, cols),
            &format!(
                "{} declares more images than fit in memory; use a smaller dataset",
                path.display()
            ),
        )?;
    }
    let reserve = if compressed {
        data_len.min(GZIP_RESERVE)
    } else {
        data_len
    };
    let mut data = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    reader
        .by_ref()
        .take(data_len)
        .read_to_end(&mut data)
        .map_err(stream_err)?;
    if (data.len() as u64) < data_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            got: header_len as u64 + data.len() as u64,
        });
    }
    // One byte more than declared means the file lies about its size (for gzip, this read also
    // checks the stream's CRC).
    if read_up_to(&mut reader, &mut [0u8; 1]).map_err(stream_err)? > 0 {
        return Err(DataError::Oversized {
            path: path.to_path_buf(),
            expected,
            compressed,
        });
    }
    Ok(IdxFile { dims, data })
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_be_bytes(b)
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
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    let IdxFile { dims, data } = read_idx(path, IMAGES_MAGIC, "images", None)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: data,
    })
}

/// Parses an idx1 u8 labels file (gzipped or plain).
pub fn read_labels(path: &Path) -> Result<Vec<u32>, DataError> {
    let IdxFile { data, .. } = read_idx(path, LABELS_MAGIC, "labels", None)?;
    Ok(data.into_iter().map(u32::from).collect())
}

/// Loads an images file and its labels file into a split.
/// Returns the split with `(rows, cols)`.
pub fn read_pair(images: &Path, labels: &Path) -> Result<(Split, usize, usize), DataError> {
    let img = read_images(images)?;
    // The labels header must declare as many labels as there are images before its data is read.
    let IdxFile { data, .. } = read_idx(labels, LABELS_MAGIC, "labels", Some((images, img.count)))?;
    Ok((
        Split {
            pixels: img.pixels,
            labels: data.into_iter().map(u32::from).collect(),
            values: Vec::new(),
        },
        img.rows,
        img.cols,
    ))
}

/// The first four bytes of a file as a big-endian u32, after gunzipping if
/// needed; reads only what it needs, so probing a large file is cheap.
pub fn peek_magic(path: &Path) -> Option<u32> {
    let (mut file, _) = open_regular(path).ok()?;
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
        let a = read_images(&plain).unwrap();
        let b = read_images(&gz).unwrap();
        assert_eq!((a.count, a.rows, a.cols, &a.pixels), (2, 3, 4, &pixels));
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(peek_magic(&gz), Some(IMAGES_MAGIC));
    }

    #[test]
    fn header_problems_are_typed_errors() {
        let d = TempDir::new("idx-header");
        let p = d.path().join("l");
        fs::write(&p, idx_labels(&[1, 2])).unwrap();
        assert_eq!(read_labels(&p).unwrap(), vec![1, 2]);
        assert!(matches!(
            read_images(&p),
            Err(DataError::BadMagic {
                found: LABELS_MAGIC,
                expected: IMAGES_MAGIC,
                ..
            })
        ));
        // A file must hold exactly what its header declares: trailing bytes are refused.
        fs::write(&p, [idx_labels(&[1, 2]), vec![0, 0]].concat()).unwrap();
        assert!(matches!(
            read_labels(&p),
            Err(DataError::Oversized {
                expected: 10,
                compressed: false,
                ..
            })
        ));
        fs::write(&p, &idx_labels(&[1, 2])[..9]).unwrap();
        assert!(matches!(
            read_labels(&p),
            Err(DataError::Truncated {
                expected: 10,
                got: 9,
                ..
            })
        ));
        assert!(matches!(
            read_labels(&d.path().join("missing")),
            Err(DataError::Io { .. })
        ));
    }

    #[test]
    fn gzip_is_read_only_as_far_as_the_header_declares() {
        let d = TempDir::new("idx-gz-bound");
        let p = d.path().join("train-images-idx3-ubyte.gz");
        // The header declares 2 images of 4x4 but the stream holds 1 MiB of pixels after them.
        let mut raw = idx_images(2, 4, 4, &[7; 32]);
        raw.extend(std::iter::repeat_n(0u8, 1 << 20));
        fs::write(&p, gzip(&raw)).unwrap();
        let err = read_images(&p).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Oversized {
                    expected: 48,
                    compressed: true,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("train-images-idx3-ubyte.gz"), "{err}");
        // Fewer bytes than declared.
        fs::write(&p, gzip(&idx_images(3, 4, 4, &[7; 32]))).unwrap();
        assert!(matches!(
            read_images(&p),
            Err(DataError::Truncated {
                expected: 64,
                got: 48,
                ..
            })
        ));
        // A header declaring far more than memory holds is refused before anything is read.
        let mut huge = idx_images(0, 60000, 60000, &[]);
        huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        fs::write(&p, gzip(&huge)).unwrap();
        assert!(matches!(read_images(&p), Err(DataError::TooLarge { .. })));
        // Labels must match the images' count before their data is read.
        let labels = d.path().join("l");
        fs::write(&labels, idx_labels(&[1, 2, 3])).unwrap();
        fs::write(&p, gzip(&idx_images(2, 4, 4, &[7; 32]))).unwrap();
        assert!(matches!(
            read_pair(&p, &labels),
            Err(DataError::CountMismatch {
                images: 2,
                labels: 3,
                ..
            })
        ));
    }
}
