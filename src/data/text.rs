//! Text folders: one subfolder per class of `.txt` files (optionally under `train/` and `test/`),
//! read as token ids for an `Embedding` and a Conv1D.
//!
//! Each text becomes exactly `steps` ids (the experiment's input steps): cut after `steps`
//! tokens, padded with 0 after a short one. The vocabulary (see [`Vocabulary`]) keeps the most
//! frequent tokens of the training texts; every other token reads as 1, unknown. Files are read
//! twice (count, then encode) rather than kept, so memory is the ids only (and one text), and that is checked
//! before any file is read.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::budget::check_dataset_size;
use super::dataset::{Dataset, SampleKind, Split};
use super::error::DataError;
use super::files::{open_regular, special_kind};
use super::folder::{class_dirs, split_dirs};
use super::options::DataOptions;
use super::vocab::{TokenLevel, Vocabulary};

/// At most this much of each file is read: far more than any input length a lab model takes,
/// and a stray multi-gigabyte file cannot stall loading.
pub const MAX_TEXT_BYTES: u64 = 1 << 20;
/// Input length when the experiment does not say (no `--data` shape, or an image input).
pub const DEFAULT_STEPS: usize = 200;
/// Vocabulary caps when the path does not say (`#vocabulary=N`).
pub const DEFAULT_CHAR_VOCABULARY: usize = 100;
pub const DEFAULT_WORD_VOCABULARY: usize = 2000;

fn is_text_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// The `.txt` files directly inside `dir`, sorted; special files named `.txt` are skipped with a
/// warning (a FIFO would block the reader).
fn text_files(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<PathBuf>, DataError> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_text_file(p) && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    out.sort();
    out.retain(|p| match fs::metadata(p).ok().as_ref().and_then(special_kind) {
        Some(kind) => {
            warnings.push(format!("skipped {}: it is {kind}, not a regular file", p.display()));
            false
        }
        None => true,
    });
    Ok(out)
}

/// Whether `dir` is a text folder: a class subfolder (directly or under `train/`) holds `.txt`
/// files.
pub fn looks_like_text_folder(dir: &Path) -> bool {
    let has_texts =
        |d: &Path| fs::read_dir(d).is_ok_and(|rd| rd.filter_map(|e| e.ok()).any(|e| is_text_file(&e.path())));
    let root = split_dirs(dir).0.unwrap_or_else(|| dir.to_path_buf());
    class_dirs(&root).unwrap_or_default().iter().any(|(_, p)| has_texts(p))
}

/// The text of `path` (its first [`MAX_TEXT_BYTES`]), invalid UTF-8 replaced.
fn read_text(path: &Path, warnings: &mut Vec<String>) -> Result<String, DataError> {
    let (file, len) = open_regular(path)?;
    let mut bytes = Vec::with_capacity(len.min(MAX_TEXT_BYTES) as usize);
    file.take(MAX_TEXT_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    if len > MAX_TEXT_BYTES {
        warnings.push(format!("read only the first MiB of {} ({len} bytes)", path.display()));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            warnings.push(format!(
                "{} is not UTF-8; unreadable bytes became \u{fffd} (save it as UTF-8)",
                path.display()
            ));
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    })
}

/// `(file, class index)` of every text of a split, class by class.
fn split_files(
    root: &Path,
    classes: &[String],
    warnings: &mut Vec<String>,
    is_train: bool,
) -> Result<Vec<(PathBuf, u32)>, DataError> {
    let mut out = Vec::new();
    for (label, name) in classes.iter().enumerate() {
        let dir = root.join(name);
        if !dir.is_dir() {
            continue;
        }
        let files = text_files(&dir, warnings)?;
        if files.is_empty() && is_train {
            return Err(DataError::InvalidRequest(format!(
                "class folder {} has no .txt files; add some texts to it or remove the folder",
                dir.display()
            )));
        }
        out.extend(files.into_iter().map(|f| (f, label as u32)));
    }
    Ok(out)
}

fn encode_split(
    files: &[(PathBuf, u32)],
    vocabulary: &Vocabulary,
    steps: usize,
    warnings: &mut Vec<String>,
) -> Result<Split, DataError> {
    let mut split = Split {
        values: Vec::with_capacity(files.len() * steps),
        labels: Vec::with_capacity(files.len()),
        ..Split::default()
    };
    let mut cut = 0;
    for (path, label) in files {
        let text = read_text(path, warnings)?;
        cut += usize::from(vocabulary.encode(&text, steps, &mut split.values));
        split.labels.push(*label);
    }
    if cut > 0 {
        warnings.push(format!(
            "{cut} of {} texts are longer than {steps} {} and were cut (raise the input's steps to read more)",
            files.len(),
            vocabulary.level.name()
        ));
    }
    Ok(split)
}

/// Loads a text folder (see the module doc). `want`'s width is the number of steps when its
/// height is 1 (a sequence input), else [`DEFAULT_STEPS`].
pub fn load_text_folder(
    path: &Path,
    options: &DataOptions,
    want: Option<(usize, usize, usize)>,
) -> Result<Dataset, DataError> {
    let steps = match want {
        Some((_, 1, w)) if w > 0 => w,
        _ => DEFAULT_STEPS,
    };
    let level = options.tokens.unwrap_or_default();
    let cap = options.vocabulary.unwrap_or(match level {
        TokenLevel::Chars => DEFAULT_CHAR_VOCABULARY,
        TokenLevel::Words => DEFAULT_WORD_VOCABULARY,
    });
    let (train_dir, test_dir) = split_dirs(path);
    let train_root = train_dir.unwrap_or_else(|| path.to_path_buf());
    let classes: Vec<String> = class_dirs(&train_root)?.into_iter().map(|(n, _)| n).collect();
    if classes.is_empty() {
        return Err(DataError::NoClassFolders { path: train_root });
    }
    let mut warnings = Vec::new();
    let train_files = split_files(&train_root, &classes, &mut warnings, true)?;
    let test_files = match &test_dir {
        Some(dir) => split_files(dir, &classes, &mut warnings, false)?,
        None => Vec::new(),
    };
    check_dataset_size(
        (train_files.len() + test_files.len()) as u64,
        (1, 1, steps),
        "use fewer texts or a shorter input (the experiment's input steps)",
    )?;
    // The vocabulary sees the training texts only; a trained model brings its own.
    let vocabulary = match &options.fixed_vocabulary {
        Some(v) => v.clone(),
        None => {
            // Warnings about a file (cut at 1 MiB, not UTF-8) are given once, when it is encoded.
            let mut counts = HashMap::new();
            for (file, _) in &train_files {
                Vocabulary::count(level, &read_text(file, &mut Vec::new())?, &mut counts);
            }
            Vocabulary::from_counts(level, counts, cap)
        }
    };
    let train = encode_split(&train_files, &vocabulary, steps, &mut warnings)?;
    let test = match test_dir {
        Some(_) => Some(encode_split(&test_files, &vocabulary, steps, &mut warnings)?),
        None => None,
    };
    let name = path
        .file_name()
        .map_or_else(|| "texts".to_string(), |n| n.to_string_lossy().into_owned());
    let ds = Dataset {
        name,
        class_names: classes,
        channels: 1,
        height: 1,
        width: steps,
        kind: SampleKind::Tokens(vocabulary),
        train,
        test,
        warnings,
    };
    ds.validate(path)?;
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::TempDir;
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn texts_become_padded_ids_from_a_train_only_vocabulary() {
        let d = TempDir::new("text");
        let root = d.path();
        write(root, "train/pos/a.txt", "good good film");
        write(root, "train/neg/b.txt", "bad film");
        write(root, "train/neg/notes.md", "ignored");
        write(root, "test/pos/c.txt", "good unseen words here");
        assert!(looks_like_text_folder(root));
        let options = DataOptions {
            tokens: Some(TokenLevel::Words),
            ..DataOptions::default()
        };
        let ds = load_text_folder(root, &options, Some((1, 1, 3))).unwrap();
        assert_eq!(ds.class_names, ["neg", "pos"]);
        let vocab = ds.vocabulary().unwrap();
        assert_eq!(vocab.tokens, ["<pad>", "<unk>", "film", "good", "bad"]);
        assert_eq!(ds.train.values, [4.0, 2.0, 0.0, 3.0, 3.0, 2.0]);
        assert_eq!(ds.train.labels, [0, 1]);
        let test = ds.test.as_ref().unwrap();
        assert_eq!(
            (test.values.clone(), test.labels.clone()),
            (vec![3.0, 1.0, 1.0], vec![1])
        );
        assert!(
            ds.warnings.iter().any(|w| w.contains("1 of 1 texts")),
            "{:?}",
            ds.warnings
        );
        assert_eq!(ds.sample_shape(), crate::cnn::Shape::sequence(3, 1));
        // Character level with a cap: the rarest characters read as unknown.
        let options = DataOptions {
            vocabulary: Some(4),
            ..DataOptions::default()
        };
        let ds = load_text_folder(root, &options, None).unwrap();
        assert_eq!(ds.vocabulary().map(Vocabulary::len), Some(4));
        assert_eq!(ds.width, DEFAULT_STEPS);
        // Deterministic: the same folder gives the same mapping.
        assert_eq!(load_text_folder(root, &options, None).unwrap(), ds);
    }

    #[test]
    fn empty_classes_and_huge_requests_are_refused() {
        let d = TempDir::new("text-bad");
        let root = d.path();
        write(root, "pos/a.txt", "fine");
        fs::create_dir_all(root.join("neg")).unwrap();
        let err = load_text_folder(root, &DataOptions::default(), None).unwrap_err();
        assert!(
            err.to_string().contains("neg") && err.to_string().contains(".txt"),
            "{err}"
        );
        write(root, "neg/b.txt", "also fine");
        let err = load_text_folder(root, &DataOptions::default(), Some((1, 1, usize::MAX / 8))).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
        fs::write(root.join("neg/latin1.txt"), b"caf\xe9").unwrap();
        let ds = load_text_folder(root, &DataOptions::default(), Some((1, 1, 8))).unwrap();
        let said: Vec<&String> = ds.warnings.iter().filter(|w| w.contains("not UTF-8")).collect();
        assert_eq!(said.len(), 1, "{:?}", ds.warnings);
        assert!(said[0].contains("latin1.txt"));
        let none = TempDir::new("text-none");
        assert!(matches!(
            load_text_folder(none.path(), &DataOptions::default(), None),
            Err(DataError::NoClassFolders { .. })
        ));
    }
}
