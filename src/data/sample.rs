//! One sequence from a file, for predicting on it: a text (as token ids of the training
//! vocabulary) or a signal (numbers separated by commas, spaces or line breaks).

use std::io::Read;
use std::path::Path;

use super::error::DataError;
use super::files::open_regular;
use super::text::MAX_TEXT_BYTES;
use super::vocab::Vocabulary;

/// The `channels × steps` values (CL) of the sequence in `path`: with a `vocabulary`, the file is
/// a text, encoded (cut or padded to `steps`) exactly as training encoded its texts; without,
/// it holds the numbers of one sample, channel by channel.
pub fn read_sequence(
    path: &Path,
    channels: usize,
    steps: usize,
    vocabulary: Option<&Vocabulary>,
) -> Result<Vec<f32>, DataError> {
    // A sample is small: a text's first MiB is all training read, and numbers a lab model takes
    // fit in far less.
    let (file, _) = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(16 * MAX_TEXT_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    let mut out = Vec::new();
    if let Some(vocabulary) = vocabulary {
        bytes.truncate(MAX_TEXT_BYTES as usize);
        vocabulary.encode(&String::from_utf8_lossy(&bytes), steps, &mut out);
        return Ok(out);
    }
    let text = String::from_utf8_lossy(&bytes);
    let want = channels.saturating_mul(steps);
    for (index, line) in text.lines().enumerate() {
        for cell in line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
        {
            let value = cell.parse::<f32>().ok().filter(|v| v.is_finite());
            let Some(value) = value else {
                return Err(DataError::Table {
                    path: path.to_path_buf(),
                    line: index + 1,
                    column: None,
                    problem: format!("\"{cell}\" is not a finite number"),
                    fix: "a sample to classify holds only its values (no header, no label)".into(),
                });
            };
            if out.len() == want {
                return Err(sample_length(path, index + 1, "more", want, channels, steps));
            }
            out.push(value);
        }
    }
    if out.len() != want {
        return Err(sample_length(
            path,
            text.lines().count().max(1),
            "fewer",
            want,
            channels,
            steps,
        ));
    }
    Ok(out)
}

fn sample_length(path: &Path, line: usize, more: &str, want: usize, channels: usize, steps: usize) -> DataError {
    DataError::Table {
        path: path.to_path_buf(),
        line,
        column: None,
        problem: format!(
            "the file holds {more} than the {want} values the model reads ({steps} steps × {channels} channels)"
        ),
        fix: "give exactly one sample, channel by channel".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::TempDir;
    use super::super::vocab::TokenLevel;
    use super::*;

    #[test]
    fn numbers_and_texts_become_one_sample() {
        let d = TempDir::new("sample");
        let p = d.path().join("s.csv");
        std::fs::write(&p, "1, 2\n3 4\n").unwrap();
        assert_eq!(read_sequence(&p, 2, 2, None).unwrap(), [1.0, 2.0, 3.0, 4.0]);
        let s = read_sequence(&p, 1, 3, None).unwrap_err().to_string();
        assert!(s.contains("line 2") && s.contains("more than the 3 values"), "{s}");
        assert!(read_sequence(&p, 1, 5, None).unwrap_err().to_string().contains("fewer"));
        std::fs::write(&p, "1,x\n").unwrap();
        assert!(read_sequence(&p, 1, 2, None).unwrap_err().to_string().contains("\"x\""));
        let v = Vocabulary::build(TokenLevel::Words, ["good film"], 10);
        std::fs::write(&p, "Good good!").unwrap();
        assert_eq!(read_sequence(&p, 1, 3, Some(&v)).unwrap(), [3.0, 3.0, 0.0]);
    }
}
