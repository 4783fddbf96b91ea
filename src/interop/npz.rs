//! NumPy's `.npz`: a zip of `.npy` arrays (`np.savez`, stored; `np.savez_compressed`, deflated).
//! CNN Lab writes float32 arrays (and uint8 images) and reads float32 or float64 arrays in C
//! order, with every size checked before anything is allocated.

use super::error::InteropError;
use std::io::{Read, Write};
use std::path::Path;

/// The most bytes one array may hold when read (1 GiB).
pub const MAX_ARRAY_BYTES: u64 = 1 << 30;

/// One named array of an `.npz` file.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub name: String,
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

/// What an array to write holds.
pub enum NpyData<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
}

fn write_error(path: &Path, e: impl Into<std::io::Error>) -> InteropError {
    InteropError::Write {
        path: path.into(),
        source: e.into(),
    }
}

/// The bytes of one `.npy` file (format 1.0, little-endian, C order).
pub fn npy_bytes(dims: &[usize], data: &NpyData<'_>) -> Vec<u8> {
    let descr = match data {
        NpyData::F32(_) => "<f4",
        NpyData::U8(_) => "|u1",
    };
    let shape = match dims {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    match data {
        NpyData::F32(values) => out.extend(values.iter().flat_map(|v| v.to_le_bytes())),
        NpyData::U8(values) => out.extend_from_slice(values),
    }
    out
}

/// Writes `arrays` (name, dims, data) as an uncompressed `.npz`, as `np.savez` does.
pub fn write_npz(path: &Path, arrays: &[(String, Vec<usize>, NpyData<'_>)]) -> Result<(), InteropError> {
    let file = std::fs::File::create(path).map_err(|e| write_error(path, e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for (name, dims, data) in arrays {
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| write_error(path, std::io::Error::other(e)))?;
        zip.write_all(&npy_bytes(dims, data))
            .map_err(|e| write_error(path, e))?;
    }
    let mut inner = zip.finish().map_err(|e| write_error(path, std::io::Error::other(e)))?;
    inner.flush().map_err(|e| write_error(path, e))
}

/// Reads every array of an `.npz` file as float32 (float64 arrays are rounded).
pub fn read_npz(path: &Path) -> Result<Vec<NpyArray>, InteropError> {
    let bad = |problem: String| InteropError::In {
        path: path.into(),
        problem: Box::new(InteropError::malformed(
            problem,
            "write it with numpy.savez (float32 arrays in C order), as train.py does",
        )),
    };
    let file = std::fs::File::open(path).map_err(|source| InteropError::Read {
        path: path.into(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(format!("it is not an .npz (zip) file ({e})")))?;
    let mut arrays = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i} cannot be read ({e})")))?;
        let entry_name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let Some(name) = entry_name.strip_suffix(".npy").map(str::to_string) else {
            continue;
        };
        if entry.size() > MAX_ARRAY_BYTES {
            return Err(bad(format!(
                "array \"{name}\" is {} bytes, over {MAX_ARRAY_BYTES}",
                entry.size()
            )));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        (&mut entry)
            .take(MAX_ARRAY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("array \"{name}\" cannot be read ({e})")))?;
        let (dims, values) = parse_npy(&bytes).map_err(|p| bad(format!("array \"{name}\" {p}")))?;
        arrays.push(NpyArray { name, dims, values });
    }
    Ok(arrays)
}

/// (dims, values) of one `.npy` file's bytes.
pub fn parse_npy(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("is not a .npy array".into());
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("has .npy format version {v}, not 1, 2 or 3")),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("has a damaged header")?;
    let field = |key: &str| {
        let at = header.find(&format!("'{key}':"))? + key.len() + 3;
        Some(header[at..].trim_start())
    };
    let descr = field("descr")
        .and_then(|d| d.strip_prefix('\''))
        .and_then(|d| d.split('\'').next());
    let width = match descr {
        Some("<f4") => 4,
        Some("<f8") => 8,
        other => {
            return Err(format!(
                "holds {} values, not float32 ('<f4')",
                other.unwrap_or("unknown")
            ));
        }
    };
    if field("fortran_order").is_some_and(|f| f.starts_with("True")) {
        return Err("is in Fortran order; save it with numpy.ascontiguousarray".into());
    }
    let shape = field("shape")
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.split(')').next())
        .ok_or("has no shape")?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>().map_err(|_| format!("has a bad dimension \"{d}\"")))
        .collect::<Result<_, _>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("declares too many values")?;
    let data = &bytes[start + header_len..];
    if Some(data.len()) != count.checked_mul(width) {
        return Err(format!(
            "declares shape {dims:?} ({count} values) but holds {} bytes",
            data.len()
        ));
    }
    let values = if width == 4 {
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect()
    };
    Ok((dims, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip_and_header_alignment() {
        let values = [1.0f32, -2.5, 3.25, 0.0, 7.0, 8.0];
        let bytes = npy_bytes(&[2, 3], &NpyData::F32(&values));
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(parse_npy(&bytes).unwrap(), (vec![2, 3], values.to_vec()));
        let one = npy_bytes(&[6], &NpyData::F32(&values));
        assert_eq!(parse_npy(&one).unwrap().0, vec![6]);
        assert!(
            parse_npy(&bytes[..bytes.len() - 4])
                .unwrap_err()
                .contains("holds 20 bytes")
        );
        assert!(parse_npy(b"not numpy at all").unwrap_err().contains("not a .npy"));
    }
}
