//! Data options written after a path: `data.csv#species`, `reviews#tokens=words,vocabulary=5000`.
//!
//! One syntax serves both places a path is given, the `.ron` file's `Path("…")` and the CLI's
//! `--data`, so an option never needs a second flag. A path that exists as written (a file
//! whose name holds a `#`) is taken as it is.

use std::path::{Path, PathBuf};

use super::error::DataError;
use super::vocab::{TokenLevel, Vocabulary};

/// The options of a data path (all optional; each loader reads the ones it understands).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataOptions {
    /// CSV: the name of the label column (default: the last column).
    pub label_column: Option<String>,
    /// Text folders: characters or words (default: characters).
    pub tokens: Option<TokenLevel>,
    /// Text folders: the most token ids, `<pad>` and `<unk>` included.
    pub vocabulary: Option<usize>,
    /// Text folders: encode with this vocabulary (a trained model's) instead of building one.
    pub fixed_vocabulary: Option<Vocabulary>,
}

/// The largest vocabulary a text folder may ask for: an `Embedding` of this many rows is already
/// bigger than every other layer of a lab model.
pub const MAX_VOCABULARY: usize = 1_000_000;

/// Splits `path` into the file or folder and its options: `reviews#tokens=words` gives
/// `reviews` and `tokens: Words`; a bare option is the CSV label column (`data.csv#species`).
pub fn split_options(path: &Path) -> Result<(PathBuf, DataOptions), DataError> {
    let text = path.to_string_lossy();
    let Some((base, options)) = text.rsplit_once('#') else {
        return Ok((path.to_path_buf(), DataOptions::default()));
    };
    if path.exists() || base.is_empty() {
        return Ok((path.to_path_buf(), DataOptions::default()));
    }
    let base = PathBuf::from(base);
    let mut out = DataOptions::default();
    let unknown = |key: &str| DataError::UnknownOption {
        path: path.to_path_buf(),
        key: key.to_string(),
    };
    for item in options.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            None => out.label_column = Some(item.to_string()),
            Some(("label" | "label_column", v)) => out.label_column = Some(v.to_string()),
            Some(("tokens", "chars" | "char" | "characters")) => out.tokens = Some(TokenLevel::Chars),
            Some(("tokens", "words" | "word")) => out.tokens = Some(TokenLevel::Words),
            Some(("tokens", v)) => {
                return Err(DataError::InvalidRequest(format!(
                    "tokens={v} in {}: use tokens=chars or tokens=words",
                    path.display()
                )));
            }
            Some(("vocabulary" | "vocab", v)) => {
                let n = v.parse::<usize>().ok().filter(|n| (3..=MAX_VOCABULARY).contains(n));
                out.vocabulary = Some(n.ok_or_else(|| {
                    DataError::InvalidRequest(format!(
                        "vocabulary={v} in {}: give a whole number from 3 (padding, unknown and one token) to {MAX_VOCABULARY}",
                        path.display()
                    ))
                })?);
            }
            Some((key, _)) => return Err(unknown(item.split('=').next().unwrap_or(key))),
        }
    }
    Ok((base, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_follow_the_hash() {
        let (p, o) = split_options(Path::new("/no/such/data.csv#species")).unwrap();
        assert_eq!(p, PathBuf::from("/no/such/data.csv"));
        assert_eq!(o.label_column.as_deref(), Some("species"));
        let (p, o) = split_options(Path::new("texts#tokens=words, vocabulary=500")).unwrap();
        assert_eq!(p, PathBuf::from("texts"));
        assert_eq!((o.tokens, o.vocabulary), (Some(TokenLevel::Words), Some(500)));
        assert_eq!(split_options(Path::new("plain")).unwrap().1, DataOptions::default());
        let err = split_options(Path::new("texts#colour=red")).unwrap_err();
        assert!(err.to_string().contains("\"colour\""), "{err}");
        assert!(split_options(Path::new("texts#vocabulary=2")).is_err());
        assert!(split_options(Path::new("texts#tokens=bytes")).is_err());
    }
}
