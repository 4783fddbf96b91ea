//! Exact, compact text encoding of f32 arrays: base64 of little-endian bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

/// Why saved text does not decode to f32 values.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("weights are not valid base64 ({0})")]
    Base64(#[from] base64::DecodeError),
    #[error("weights hold {0} bytes, not a whole number of 4-byte floats")]
    PartialFloat(usize),
}

pub fn encode_f32(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

pub fn decode_f32(text: &str) -> Result<Vec<f32>, CodecError> {
    let bytes = STANDARD.decode(text.trim())?;
    if bytes.len() % 4 != 0 {
        return Err(CodecError::PartialFloat(bytes.len()));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact_including_special_values() {
        let v = vec![0.1f32, -3.5e-38, f32::MAX, f32::MIN_POSITIVE, 0.0, -0.0, 1.0 / 3.0];
        let back = decode_f32(&encode_f32(&v)).unwrap();
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(matches!(decode_f32("abc$"), Err(CodecError::Base64(_))));
        assert!(
            decode_f32("abc$")
                .unwrap_err()
                .to_string()
                .starts_with("weights are not valid base64 (")
        );
        assert_eq!(decode_f32("AAAA"), Err(CodecError::PartialFloat(3)));
        assert!(decode_f32("AAAA").unwrap_err().to_string().contains("4-byte"));
    }
}
