//! CIFAR-10 loader for the "binary version": `data_batch_*.bin` + `test_batch.bin`, 3073-byte records.
//!
//! Each record is 1 label byte followed by 3072 pixel bytes: the 1024 red
//! values, then green, then blue, rows top to bottom, which is already the
//! CHW layout `Split` uses, so records are copied without reordering.

use std::fs;
use std::path::{Path, PathBuf};

use super::budget::check_dataset_size;
use super::dataset::{Dataset, SampleKind, Split};
use super::error::DataError;
use super::files::{open_regular, read_optional_text, read_regular};

pub const SIDE: usize = 32;
pub const IMAGE_BYTES: usize = 3 * SIDE * SIDE;
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;

pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The batch files of a CIFAR-10 binary directory.
#[derive(Debug, Clone, PartialEq)]
pub struct CifarFiles {
    pub dir: PathBuf,
    /// `data_batch_1.bin` ... in numeric order.
    pub train: Vec<PathBuf>,
    pub test: Option<PathBuf>,
}

/// Finds CIFAR-10 batches in `dir`, or in its `cifar-10-batches-bin`
/// subfolder (the name the official archive extracts to).
pub fn find_cifar_files(dir: &Path) -> Option<CifarFiles> {
    let scan = |dir: &Path| -> Option<CifarFiles> {
        let mut train: Vec<(u32, PathBuf)> = Vec::new();
        let mut test = None;
        for entry in fs::read_dir(dir).ok()?.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
            if name == "test_batch.bin" {
                test = Some(entry.path());
            } else if let Some(num) = name.strip_prefix("data_batch_").and_then(|r| r.strip_suffix(".bin")) {
                // Numeric sort: data_batch_10 must follow data_batch_9.
                train.push((num.parse().unwrap_or(u32::MAX), entry.path()));
            }
        }
        train.sort();
        (!train.is_empty() || test.is_some()).then(|| CifarFiles {
            dir: dir.to_path_buf(),
            train: train.into_iter().map(|(_, p)| p).collect(),
            test,
        })
    };
    scan(dir).or_else(|| scan(&dir.join("cifar-10-batches-bin")))
}

/// Appends the records of one batch file to `split`.
///
/// `num_classes` bounds the labels so a CIFAR-100 file (whose first byte is
/// a coarse label and whose records are 3074 bytes) is rejected, not misread.
pub fn read_batch(path: &Path, num_classes: usize, split: &mut Split) -> Result<(), DataError> {
    let (_, len) = open_regular(path)?;
    // The file's size fixes its record count: check what it decodes to before reading it.
    check_dataset_size(
        (split.len() as u64).saturating_add(len / RECORD_BYTES as u64),
        (3, SIDE, SIDE),
        "use fewer batch files",
    )?;
    let bytes = read_regular(path)?;
    if bytes.is_empty() || bytes.len() % RECORD_BYTES != 0 {
        return Err(DataError::CifarRecordSize {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            record: RECORD_BYTES as u64,
        });
    }
    let n = bytes.len() / RECORD_BYTES;
    split.pixels.reserve(n * IMAGE_BYTES);
    split.labels.reserve(n);
    for (i, rec) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = u32::from(rec[0]);
        if label as usize >= num_classes {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index: i,
                label,
                classes: num_classes,
            });
        }
        split.labels.push(label);
        split.pixels.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

/// Class names from `batches.meta.txt` (one per line), else the standard ten.
fn class_names(dir: &Path) -> Result<Vec<String>, DataError> {
    let from_meta: Vec<String> = read_optional_text(&dir.join("batches.meta.txt"))?
        .map(|t| {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(if from_meta.is_empty() {
        CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect()
    } else {
        from_meta
    })
}

/// Loads a CIFAR-10 binary dataset from a directory, or a single batch file
/// (then it becomes the training split and there is no test split).
pub fn load_cifar(path: &Path) -> Result<Dataset, DataError> {
    let files = if path.is_file() {
        CifarFiles {
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            train: vec![path.to_path_buf()],
            test: None,
        }
    } else {
        find_cifar_files(path).ok_or_else(|| DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason: "no data_batch_*.bin or test_batch.bin files found".into(),
        })?
    };
    let class_names = class_names(&files.dir)?;
    let mut warnings = Vec::new();
    let mut train = Split::default();
    let mut test = None;
    if files.train.is_empty() {
        // Only test_batch.bin: still useful (e.g. to evaluate a model).
        warnings.push("no data_batch_*.bin files; test_batch.bin is used as the training split".into());
    }
    let train_files: Vec<&PathBuf> = if files.train.is_empty() {
        files.test.iter().collect()
    } else {
        files.train.iter().collect()
    };
    for f in train_files {
        read_batch(f, class_names.len(), &mut train)?;
    }
    if let (false, Some(t)) = (files.train.is_empty(), files.test.as_ref()) {
        let mut split = Split::default();
        read_batch(t, class_names.len(), &mut split)?;
        test = Some(split);
    }
    let name = files
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.eq_ignore_ascii_case("cifar-10-batches-bin"))
        .unwrap_or_else(|| "cifar-10".to_string());
    let ds = Dataset {
        name,
        class_names,
        channels: 3,
        height: SIDE,
        width: SIDE,
        kind: SampleKind::Image,
        train,
        test,
        warnings,
    };
    ds.validate(&files.dir)?;
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::TempDir;
    use super::*;

    fn record(label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![label];
        // R plane = fill, G plane = fill+1, B plane = fill+2.
        for c in 0..3u8 {
            r.extend(std::iter::repeat_n(fill.wrapping_add(c), SIDE * SIDE));
        }
        r
    }

    #[test]
    fn loads_batches_in_order_with_meta_names() {
        let d = TempDir::new("cifar");
        let batches = d.path().join("cifar-10-batches-bin");
        fs::create_dir_all(&batches).unwrap();
        fs::write(
            batches.join("data_batch_2.bin"),
            [record(3, 20), record(4, 30)].concat(),
        )
        .unwrap();
        fs::write(batches.join("data_batch_1.bin"), record(1, 10)).unwrap();
        fs::write(batches.join("test_batch.bin"), record(9, 90)).unwrap();
        let names: String = (0..10).map(|i| format!("c{i}\n")).collect();
        fs::write(batches.join("batches.meta.txt"), names + "\n").unwrap();

        // The parent folder is accepted too.
        let ds = load_cifar(d.path()).unwrap();
        assert_eq!(ds.shape(), (3, 32, 32));
        assert_eq!(ds.train.labels, vec![1, 3, 4]);
        assert_eq!(ds.class_names[9], "c9");
        assert_eq!(ds.class_names.len(), 10);
        let img = ds.train.image(0);
        assert_eq!((img[0], img[1024], img[2048]), (10, 11, 12));
        assert_eq!(ds.test.as_ref().map(|t| t.labels.clone()), Some(vec![9]));
        assert_eq!(ds.name, "cifar-10");
    }

    #[test]
    fn wrong_record_size_and_bad_label_are_errors() {
        let d = TempDir::new("cifar-bad");
        let p = d.path();
        let mut rec = record(1, 0);
        rec.pop();
        fs::write(p.join("data_batch_1.bin"), &rec).unwrap();
        match load_cifar(p) {
            Err(DataError::CifarRecordSize { len, record, .. }) => {
                assert_eq!((len, record), (3072, 3073))
            }
            other => panic!("expected CifarRecordSize, got {other:?}"),
        }
        fs::write(p.join("data_batch_1.bin"), [record(1, 0), record(12, 0)].concat()).unwrap();
        assert!(matches!(
            load_cifar(p),
            Err(DataError::LabelOutOfRange {
                label: 12,
                index: 1,
                classes: 10,
                ..
            })
        ));
    }

    #[test]
    fn special_files_are_refused_by_name() {
        let d = TempDir::new("cifar-fifo");
        let p = d.path();
        fs::write(p.join("data_batch_1.bin"), record(1, 0)).unwrap();
        fs::create_dir(p.join("batches.meta.txt")).unwrap();
        match load_cifar(p) {
            Err(e @ DataError::NotAFile { .. }) => assert!(e.to_string().contains("batches.meta.txt"), "{e}"),
            other => panic!("expected NotAFile, got {other:?}"),
        }
        fs::remove_dir(p.join("batches.meta.txt")).unwrap();
        fs::create_dir(p.join("data_batch_2.bin")).unwrap();
        match load_cifar(p) {
            Err(e @ DataError::NotAFile { .. }) => assert!(e.to_string().contains("data_batch_2.bin"), "{e}"),
            other => panic!("expected NotAFile, got {other:?}"),
        }
    }

    #[test]
    fn single_file_becomes_train() {
        let d = TempDir::new("cifar-one");
        let f = d.path().join("test_batch.bin");
        fs::write(&f, [record(0, 1), record(5, 2)].concat()).unwrap();
        let ds = load_cifar(&f).unwrap();
        assert_eq!(ds.train.len(), 2);
        assert!(ds.test.is_none());
    }
}
