//! IDX datasets on disk: finding the train/test image and label files in a folder, naming classes, and loading them.
//!
//! Handles the file-name conventions of MNIST (`train-images-idx3-ubyte`,
//! `t10k-...`), Fashion-MNIST and KMNIST (same names), Kaggle copies
//! (`train-images.idx3-ubyte`) and EMNIST (`emnist-<split>-train-...`, images
//! transposed, class names in `<prefix>mapping.txt`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::dataset::{Dataset, SampleKind, Split};
use super::error::DataError;
use super::files::read_optional_text;
use super::idx::{IMAGES_MAGIC, LABELS_MAGIC, peek_magic, read_pair};

pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The files of one IDX dataset found in a directory.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxFiles {
    /// Common file-name prefix, e.g. "" for MNIST, "emnist-balanced-" for EMNIST.
    pub prefix: String,
    pub train_images: PathBuf,
    pub train_labels: PathBuf,
    pub test: Option<(PathBuf, PathBuf)>,
}

#[derive(Default)]
struct Roles {
    train_images: Option<PathBuf>,
    train_labels: Option<PathBuf>,
    test_images: Option<PathBuf>,
    test_labels: Option<PathBuf>,
}

/// Classifies an IDX file name: `Some((prefix, is_train, is_images))`.
/// Accepts `train-images-idx3-ubyte`, `t10k-labels-idx1-ubyte.gz`,
/// `train-images.idx3-ubyte`, `emnist-letters-test-images-idx3-ubyte.gz`, ...
pub fn classify_name(name: &str) -> Option<(String, bool, bool)> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    if !stem.contains("ubyte") {
        return None;
    }
    let is_images = stem.contains("idx3");
    if !is_images && !stem.contains("idx1") {
        return None;
    }
    // The split word must start a name part ("contest-train-…" is train).
    let at_boundary = |p: usize| p == 0 || stem[..p].ends_with(['-', '_', '.']);
    let (pos, is_train) = [("train", true), ("t10k", false), ("test", false)]
        .iter()
        .flat_map(|&(key, train)| stem.match_indices(key).map(move |(p, _)| (p, train)))
        .filter(|&(p, _)| at_boundary(p))
        .min_by_key(|&(p, _)| p)?;
    Some((stem[..pos].to_string(), is_train, is_images))
}

/// Whether a file looks like part of an IDX dataset, by name or by content.
pub fn looks_like_idx_file(path: &Path) -> bool {
    let by_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| classify_name(n).is_some());
    by_name || matches!(peek_magic(path), Some(IMAGES_MAGIC | LABELS_MAGIC))
}

/// Finds the IDX datasets in `dir`, keyed by prefix; only complete
/// training pairs are returned. Plain files win over `.gz` twins.
pub fn find_idx_files(dir: &Path) -> Result<Vec<IdxFiles>, DataError> {
    let mut groups: BTreeMap<String, Roles> = BTreeMap::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    // Sorted, and plain before .gz, so the choice never depends on the
    // order the file system happens to list entries in.
    entries.sort_by_key(|p| (p.extension().is_some_and(|e| e == "gz"), p.clone()));
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((prefix, is_train, is_images)) = classify_name(name) else {
            continue;
        };
        let roles = groups.entry(prefix).or_default();
        let slot = match (is_train, is_images) {
            (true, true) => &mut roles.train_images,
            (true, false) => &mut roles.train_labels,
            (false, true) => &mut roles.test_images,
            (false, false) => &mut roles.test_labels,
        };
        slot.get_or_insert(path);
    }
    Ok(groups
        .into_iter()
        .filter_map(|(prefix, r)| {
            Some(IdxFiles {
                prefix,
                train_images: r.train_images?,
                train_labels: r.train_labels?,
                test: r.test_images.zip(r.test_labels),
            })
        })
        .collect())
}

/// Picks the dataset to load from `path` (a directory, or any one of the
/// dataset's files).
fn select_files(path: &Path) -> Result<IdxFiles, DataError> {
    let (dir, wanted_prefix) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let prefix = classify_name(name).map(|(p, _, _)| p);
        (path.parent().unwrap_or(Path::new(".")).to_path_buf(), prefix)
    };
    let mut found = find_idx_files(&dir)?;
    if let Some(prefix) = wanted_prefix {
        found.retain(|f| f.prefix == prefix);
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason: "no pair of IDX training files (…train-images-idx3-ubyte[.gz] and \
                     …train-labels-idx1-ubyte[.gz]) was found next to each other"
                .into(),
        }),
        _ => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason: format!(
                "it holds several IDX datasets ({}); open one of their files instead of the folder",
                found
                    .iter()
                    .map(|f| format!("{}train-images…", f.prefix))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// EMNIST stores every image transposed (column-major) relative to MNIST.
fn transpose_images(split: &mut Split, rows: usize, cols: usize) {
    let n = rows * cols;
    let mut tmp = vec![0u8; n];
    for img in split.pixels.chunks_exact_mut(n) {
        for r in 0..rows {
            for c in 0..cols {
                tmp[c * rows + r] = img[r * cols + c];
            }
        }
        img.copy_from_slice(&tmp);
    }
}

/// IDX labels are single bytes, so no class index beyond this can be used.
const MAX_LABEL: u32 = u8::MAX as u32;

/// Parses `text` line by line with `entry` (label and name, or `None` for a line that is not an
/// entry); a label no IDX file can hold is refused with its line.
fn parse_mapping(
    path: &Path,
    text: &str,
    entry: impl Fn(&str) -> Option<(u32, String)>,
) -> Result<Option<BTreeMap<u32, String>>, DataError> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some((label, name)) = entry(line) else {
            continue;
        };
        if label > MAX_LABEL {
            return Err(DataError::BadMapping {
                path: path.to_path_buf(),
                line: i + 1,
                problem: format!("class label {label} is out of range: IDX labels are single bytes (0 to {MAX_LABEL})"),
            });
        }
        map.insert(label, name);
    }
    Ok((!map.is_empty()).then_some(map))
}

/// Class names from a mapping file next to the data, if any:
/// EMNIST's `<prefix>mapping.txt` ("label ascii [ascii]") or KMNIST's
/// `*classmap*.csv` ("index,codepoint,char").
fn mapped_class_names(dir: &Path, prefix: &str) -> Result<Option<BTreeMap<u32, String>>, DataError> {
    let emnist = dir.join(format!("{prefix}mapping.txt"));
    if let Some(text) = read_optional_text(&emnist)? {
        return parse_mapping(&emnist, &text, |line| {
            let mut it = line.split_whitespace();
            let label = it.next()?.parse().ok()?;
            let code: u32 = it.next()?.parse().ok()?;
            Some((label, char::from_u32(code)?.to_string()))
        });
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(None);
    };
    let Some(classmap) = entries.filter_map(|e| e.ok()).find(|e| {
        let n = e.file_name().to_string_lossy().to_ascii_lowercase();
        n.contains("classmap") && n.ends_with(".csv")
    }) else {
        return Ok(None);
    };
    let path = classmap.path();
    let Some(text) = read_optional_text(&path)? else {
        return Ok(None);
    };
    parse_mapping(&path, &text, |line| {
        let mut it = line.split(',');
        let label = it.next()?.trim().parse().ok()?;
        let name = it.nth(1)?.trim();
        (!name.is_empty()).then(|| (label, name.to_string()))
    })
}

fn class_names(dir: &Path, files: &IdxFiles, hint: &str, max_label: Option<u32>) -> Result<Vec<String>, DataError> {
    let observed = max_label.map_or(0, |m| m as usize + 1);
    if let Some(map) = mapped_class_names(dir, &files.prefix)? {
        let n = map.keys().next_back().map_or(0, |&k| k as usize + 1);
        return Ok((0..n as u32)
            .map(|i| map.get(&i).cloned().unwrap_or_else(|| i.to_string()))
            .collect());
    }
    if hint.contains("fashion") {
        return Ok(FASHION_CLASSES.iter().map(|s| s.to_string()).collect());
    }
    // Digit-like sets always have 10 classes even if a small file lacks one.
    let n = if hint.contains("mnist") && !hint.contains("emnist") {
        observed.max(10)
    } else {
        observed
    };
    Ok((0..n).map(|i| i.to_string()).collect())
}

/// Loads an IDX dataset from a directory or from one of its files.
pub fn load_idx(path: &Path) -> Result<Dataset, DataError> {
    let files = select_files(path)?;
    let dir = files.train_images.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut warnings = Vec::new();

    // Decompressing is the slow part; do train and test on both cores.
    let (train, test) = std::thread::scope(|s| {
        let test_job = files.test.as_ref().map(|(ti, tl)| s.spawn(move || read_pair(ti, tl)));
        let train = read_pair(&files.train_images, &files.train_labels);
        let test = test_job.map(|j| {
            j.join().unwrap_or_else(|_| {
                Err(DataError::InvalidRequest(
                    "the IDX test-set reader thread crashed".into(),
                ))
            })
        });
        (train, test)
    });
    let (mut train, mut rows, mut cols) = train?;
    let mut test = match test {
        Some(r) => {
            let (split, r_rows, r_cols) = r?;
            if (r_rows, r_cols) != (rows, cols) {
                return Err(DataError::ShapeMismatch {
                    path: path.to_path_buf(),
                    train: format!("{rows}x{cols}"),
                    test: format!("{r_rows}x{r_cols}"),
                });
            }
            Some(split)
        }
        None => None,
    };

    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix_name = files.prefix.trim_end_matches(['-', '_', '.']).to_string();
    let name = if prefix_name.is_empty() {
        dir_name.clone()
    } else {
        prefix_name
    };
    let hint = format!("{} {}", files.prefix, dir_name).to_ascii_lowercase();

    if hint.contains("emnist") {
        transpose_images(&mut train, rows, cols);
        if let Some(t) = test.as_mut() {
            transpose_images(t, rows, cols);
        }
        std::mem::swap(&mut rows, &mut cols);
        warnings.push("EMNIST images are stored transposed; they were flipped upright".into());
    }

    let max_label = train
        .labels
        .iter()
        .chain(test.iter().flat_map(|t| t.labels.iter()))
        .max()
        .copied();
    let class_names = class_names(&dir, &files, &hint, max_label)?;
    let counts = train.class_counts(class_names.len());
    let missing: Vec<&str> = counts
        .iter()
        .zip(&class_names)
        .filter(|(c, _)| **c == 0)
        .map(|(_, n)| n.as_str())
        .collect();
    if !missing.is_empty() {
        warnings.push(format!("no training images for class(es) {}", missing.join(", ")));
    }
    if files.test.is_none() {
        warnings.push("no test files found; split a validation set off the training data".into());
    }

    let ds = Dataset {
        name,
        class_names,
        channels: 1,
        height: rows,
        width: cols,
        kind: SampleKind::Image,
        train,
        test,
        warnings,
    };
    ds.validate(&files.train_labels)?;
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{TempDir, gzip, idx_images, idx_labels};
    use super::*;

    fn write_mnist_like(dir: &Path, gz: bool, n_train: usize, n_test: usize) {
        let imgs = |n: usize, off: u8| -> Vec<u8> {
            (0..n * 4 * 3)
                .map(|i| (i as u8).wrapping_mul(7).wrapping_add(off))
                .collect()
        };
        let labs = |n: usize| -> Vec<u8> { (0..n).map(|i| (i % 10) as u8).collect() };
        let ext = if gz { ".gz" } else { "" };
        let put = |name: &str, data: Vec<u8>| {
            let data = if gz { gzip(&data) } else { data };
            fs::write(dir.join(format!("{name}{ext}")), data).unwrap();
        };
        put("train-images-idx3-ubyte", idx_images(n_train, 4, 3, &imgs(n_train, 0)));
        put("train-labels-idx1-ubyte", idx_labels(&labs(n_train)));
        put("t10k-images-idx3-ubyte", idx_images(n_test, 4, 3, &imgs(n_test, 1)));
        put("t10k-labels-idx1-ubyte", idx_labels(&labs(n_test)));
    }

    #[test]
    fn gzip_and_plain_give_identical_data() {
        let plain = TempDir::new("idx-plain");
        let gz = TempDir::new("idx-gz");
        write_mnist_like(plain.path(), false, 20, 10);
        write_mnist_like(gz.path(), true, 20, 10);
        let a = load_idx(plain.path()).unwrap();
        let b = load_idx(gz.path()).unwrap();
        assert_eq!(a.train, b.train);
        assert_eq!(a.test, b.test);
        assert_eq!((a.channels, a.height, a.width), (1, 4, 3));
        assert_eq!(a.train.len(), 20);
        assert_eq!(a.test.as_ref().map(Split::len), Some(10));
        let second: Vec<u8> = (12..24).map(|i| (i * 7) as u8).collect();
        assert_eq!(a.train.image(1), &second[..]);
        assert_eq!(a.class_names.len(), 10);
        // Loading via one of the files finds its siblings.
        let c = load_idx(&gz.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
        assert_eq!(c.train, a.train);
    }

    #[test]
    fn wrong_magic_is_reported_with_both_numbers() {
        let d = TempDir::new("idx-magic");
        write_mnist_like(d.path(), false, 5, 5);
        // A labels file where the images file should be.
        fs::write(d.path().join("train-images-idx3-ubyte"), idx_labels(&[1, 2, 3])).unwrap();
        match load_idx(d.path()) {
            Err(DataError::BadMagic { found, expected, .. }) => {
                assert_eq!((found, expected), (LABELS_MAGIC, IMAGES_MAGIC))
            }
            other => panic!("expected BadMagic, got {other:?}"),
        }
    }

    #[test]
    fn truncated_files_are_reported() {
        let d = TempDir::new("idx-trunc");
        write_mnist_like(d.path(), false, 5, 5);
        let p = d.path().join("train-images-idx3-ubyte");
        let mut bytes = fs::read(&p).unwrap();
        bytes.truncate(bytes.len() - 7);
        fs::write(&p, &bytes).unwrap();
        match load_idx(d.path()) {
            Err(DataError::Truncated { expected, got, .. }) => {
                assert_eq!((expected, got), (16 + 60, 16 + 53))
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        // Shorter than the header, and a header claiming 4 billion images.
        fs::write(&p, [0u8, 0, 8]).unwrap();
        assert!(matches!(load_idx(d.path()), Err(DataError::Truncated { .. })));
        let mut huge = idx_images(0, 4, 3, &[]);
        huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        fs::write(&p, huge).unwrap();
        assert!(matches!(load_idx(d.path()), Err(DataError::Truncated { .. })));
        // A cut-off gzip stream.
        let gz = gzip(&idx_images(5, 4, 3, &[9; 60]));
        fs::write(&p, &gz[..gz.len() / 2]).unwrap();
        assert!(matches!(load_idx(d.path()), Err(DataError::Gzip { .. })));
    }

    #[test]
    fn count_mismatch_is_reported() {
        let d = TempDir::new("idx-count");
        write_mnist_like(d.path(), false, 5, 5);
        fs::write(d.path().join("t10k-labels-idx1-ubyte"), idx_labels(&[0, 1, 2])).unwrap();
        match load_idx(d.path()) {
            Err(DataError::CountMismatch { images, labels, .. }) => {
                assert_eq!((images, labels), (5, 3))
            }
            other => panic!("expected CountMismatch, got {other:?}"),
        }
    }

    #[test]
    fn fashion_names_and_label_range() {
        let root = TempDir::new("idx-fashion");
        let d = root.path().join("fashion-mnist");
        fs::create_dir_all(&d).unwrap();
        write_mnist_like(&d, true, 10, 10);
        let ds = load_idx(&d).unwrap();
        assert_eq!(ds.class_names[9], "Ankle boot");
        assert_eq!(ds.name, "fashion-mnist");
        // A label 10 does not fit Fashion-MNIST's 10 classes.
        let gz = gzip(&idx_labels(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 10]));
        fs::write(d.join("train-labels-idx1-ubyte.gz"), gz).unwrap();
        assert!(matches!(
            load_idx(&d),
            Err(DataError::LabelOutOfRange {
                label: 10,
                index: 9,
                ..
            })
        ));
    }

    #[test]
    fn emnist_layout_is_transposed_and_named_from_mapping() {
        let d = TempDir::new("idx-emnist");
        let p = d.path();
        // One 2x3 image stored column-major, as EMNIST does.
        let stored = [1u8, 4, 2, 5, 3, 6];
        let put = |name: &str, data: Vec<u8>| fs::write(p.join(name), gzip(&data)).unwrap();
        put(
            "emnist-letters-train-images-idx3-ubyte.gz",
            idx_images(1, 3, 2, &stored),
        );
        put("emnist-letters-train-labels-idx1-ubyte.gz", idx_labels(&[2]));
        fs::write(p.join("emnist-letters-mapping.txt"), "1 65 97\n2 66 98\n").unwrap();
        // A second dataset in the same folder makes the folder ambiguous.
        put("emnist-digits-train-images-idx3-ubyte.gz", idx_images(1, 3, 2, &stored));
        put("emnist-digits-train-labels-idx1-ubyte.gz", idx_labels(&[2]));
        assert!(matches!(load_idx(p), Err(DataError::UnknownFormat { .. })));
        let ds = load_idx(&p.join("emnist-letters-train-images-idx3-ubyte.gz")).unwrap();
        assert_eq!(ds.name, "emnist-letters");
        assert_eq!((ds.height, ds.width), (2, 3));
        assert_eq!(ds.train.image(0), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(ds.class_names, vec!["0", "A", "B"]);
        assert!(ds.test.is_none());
    }

    #[test]
    fn a_mapping_with_an_impossible_label_or_that_is_not_a_file_is_refused() {
        let d = TempDir::new("idx-mapping");
        let p = d.path();
        write_mnist_like(p, false, 5, 5);
        fs::write(p.join("mapping.txt"), "0 48\n4294967294 65\n").unwrap();
        match load_idx(p) {
            Err(e @ DataError::BadMapping { line: 2, .. }) => {
                assert!(e.to_string().contains("4294967294"), "{e}")
            }
            other => panic!("expected BadMapping, got {other:?}"),
        }
        fs::remove_file(p.join("mapping.txt")).unwrap();
        fs::write(
            p.join("kmnist_classmap.csv"),
            "index,codepoint,char\n4294967294,U+3042,a\n",
        )
        .unwrap();
        assert!(matches!(load_idx(p), Err(DataError::BadMapping { line: 2, .. })));
        fs::remove_file(p.join("kmnist_classmap.csv")).unwrap();
        if std::process::Command::new("mkfifo")
            .arg(p.join("mapping.txt"))
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(matches!(load_idx(p), Err(DataError::NotAFile { .. })));
        }
    }

    #[test]
    fn name_classification() {
        assert_eq!(
            classify_name("train-images-idx3-ubyte.gz"),
            Some((String::new(), true, true))
        );
        assert_eq!(
            classify_name("t10k-labels.idx1-ubyte"),
            Some((String::new(), false, false))
        );
        assert_eq!(
            classify_name("emnist-byclass-test-images-idx3-ubyte"),
            Some(("emnist-byclass-".into(), false, true))
        );
        assert_eq!(
            classify_name("contest-train-labels-idx1-ubyte"),
            Some(("contest-".into(), true, false))
        );
        assert_eq!(classify_name("readme.txt"), None);
    }
}
