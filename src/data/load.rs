//! `load_path`: recognise whether a user-chosen path is IDX, CIFAR-10 binary, an image folder, a
//! CSV file of sequences or a folder of texts, and load it.

use std::path::Path;

use super::cifar;
use super::csv;
use super::dataset::Dataset;
use super::error::DataError;
use super::files::special_kind;
use super::folder;
use super::idx_dir;
use super::options::split_options;
use super::text;
use super::vocab::Vocabulary;

/// The on-disk formats `load_path` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Idx,
    Cifar10,
    ImageFolder,
    /// One sequence per row (`data.csv`, or a folder with `train.csv` and `test.csv`).
    Csv,
    /// One subfolder of `.txt` files per class.
    TextFolder,
}

/// Decides which loader handles `path` (options after a `#` aside), without decoding any images.
pub fn detect_format(path: &Path) -> Result<Format, DataError> {
    let (path, _) = split_options(path)?;
    let path = path.as_path();
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if meta.is_file() {
        if idx_dir::looks_like_idx_file(path) {
            return Ok(Format::Idx);
        }
        let has_extension = |ext: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext));
        if has_extension("bin") {
            return Ok(Format::Cifar10);
        }
        if has_extension("csv") {
            return Ok(Format::Csv);
        }
        let reason = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase) {
            Some(e) if ["zip", "tar", "tgz", "gz", "7z"].contains(&e.as_str()) => {
                "it looks like an archive; extract it first and open the extracted folder".to_string()
            }
            Some(e) if folder::IMAGE_EXTENSIONS.contains(&e.as_str()) => {
                "it is a single image; open the folder that holds one subfolder per class".to_string()
            }
            Some(e) if ["tsv", "txt", "xlsx", "xls", "ods"].contains(&e.as_str()) => format!(
                "a .{e} file is not read as data; save the table as CSV (comma-separated, one sample per row), \
                 or put texts in one subfolder per class"
            ),
            _ => "the file is neither IDX, a CIFAR-10 batch nor CSV".to_string(),
        };
        return Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason,
        });
    }
    if let Some(kind) = special_kind(&meta).filter(|_| !meta.is_dir()) {
        return Err(DataError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    if !idx_dir::find_idx_files(path)?.is_empty() {
        return Ok(Format::Idx);
    }
    if cifar::find_cifar_files(path).is_some() {
        return Ok(Format::Cifar10);
    }
    if csv::csv_files(path).is_some() {
        return Ok(Format::Csv);
    }
    if folder::looks_like_image_folder(path) {
        return Ok(Format::ImageFolder);
    }
    if text::looks_like_text_folder(path) {
        return Ok(Format::TextFolder);
    }
    // Say the most helpful thing about a folder that matched nothing.
    if folder::class_dirs(path)?.is_empty() {
        return Err(DataError::NoClassFolders {
            path: path.to_path_buf(),
        });
    }
    Err(DataError::UnknownFormat {
        path: path.to_path_buf(),
        reason: "its subfolders contain no PNG, JPEG, BMP or GIF images and no .txt texts".into(),
    })
}

/// Loads whatever dataset `path` holds. `want = Some((channels, height,
/// width))` converts the images to that shape (folder images are resized
/// while decoding; IDX and CIFAR data afterwards, with a warning); for
/// sequences (height 1) it gives texts their length and CSV rows their channels.
///
/// Options follow the path after a `#` (see [`split_options`]): `data.csv#label` names the CSV's
/// label column, `texts#tokens=words,vocabulary=5000` sets how texts become tokens.
pub fn load_path(path: &Path, want: Option<(usize, usize, usize)>) -> Result<Dataset, DataError> {
    load_path_with(path, want, None)
}

/// [`load_path`], texts encoded with `vocabulary` (a trained model's) when given, so the ids
/// mean what they meant in training.
pub fn load_path_with(
    path: &Path,
    want: Option<(usize, usize, usize)>,
    vocabulary: Option<&Vocabulary>,
) -> Result<Dataset, DataError> {
    let format = detect_format(path)?;
    let (path, mut options) = split_options(path)?;
    options.fixed_vocabulary = vocabulary.cloned();
    let path = path.as_path();
    let ds = match format {
        Format::ImageFolder => return folder::load_folder(path, want),
        Format::Csv => return csv::load_csv(path, &options, want),
        Format::TextFolder => return text::load_text_folder(path, &options, want),
        Format::Idx => idx_dir::load_idx(path)?,
        Format::Cifar10 => cifar::load_cifar(path)?,
    };
    match want {
        Some((c, h, w)) if (c, h, w) != ds.shape() => ds.resampled(c, h, w),
        _ => Ok(ds),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{TempDir, gzip, idx_images, idx_labels, write_image};
    use super::*;
    use std::fs;

    #[test]
    fn detects_each_format() {
        let d = TempDir::new("detect");
        let p = d.path();
        let idx_dir = p.join("idx");
        fs::create_dir_all(&idx_dir).unwrap();
        fs::write(
            idx_dir.join("train-images-idx3-ubyte.gz"),
            gzip(&idx_images(2, 2, 2, &[1; 8])),
        )
        .unwrap();
        fs::write(idx_dir.join("train-labels-idx1-ubyte.gz"), gzip(&idx_labels(&[0, 1]))).unwrap();
        // An IDX file with an unhelpful name is still recognised by content.
        fs::write(p.join("digits.dat"), idx_images(1, 1, 1, &[0])).unwrap();
        let cifar_dir = p.join("c");
        fs::create_dir_all(&cifar_dir).unwrap();
        fs::write(cifar_dir.join("data_batch_1.bin"), vec![0u8; 3073]).unwrap();
        let img_dir = p.join("imgs");
        fs::create_dir_all(img_dir.join("a")).unwrap();
        write_image(&img_dir.join("a/1.png"), 3, 3, [1, 1, 1]);
        fs::create_dir_all(p.join("empty")).unwrap();
        fs::write(p.join("x.zip"), b"PK").unwrap();

        assert_eq!(detect_format(&idx_dir).unwrap(), Format::Idx);
        assert_eq!(detect_format(&p.join("digits.dat")).unwrap(), Format::Idx);
        assert_eq!(detect_format(&cifar_dir).unwrap(), Format::Cifar10);
        assert_eq!(
            detect_format(&cifar_dir.join("data_batch_1.bin")).unwrap(),
            Format::Cifar10
        );
        assert_eq!(detect_format(&img_dir).unwrap(), Format::ImageFolder);
        assert!(matches!(
            detect_format(&p.join("empty")),
            Err(DataError::NoClassFolders { .. })
        ));
        match detect_format(&p.join("x.zip")) {
            Err(DataError::UnknownFormat { reason, .. }) => assert!(reason.contains("extract")),
            other => panic!("expected UnknownFormat, got {other:?}"),
        }
        assert!(matches!(detect_format(&p.join("missing")), Err(DataError::Io { .. })));

        let ds = load_path(&idx_dir, Some((3, 4, 4))).unwrap();
        assert_eq!(ds.shape(), (3, 4, 4));
        assert_eq!(ds.train.pixels.len(), 2 * 48);
        assert!(ds.warnings.iter().any(|w| w.contains("converted")));
        let ds = load_path(&img_dir, Some((1, 5, 5))).unwrap();
        assert_eq!(ds.shape(), (1, 5, 5));
        let ds = load_path(&cifar_dir, None).unwrap();
        assert_eq!(ds.shape(), (3, 32, 32));
    }

    #[test]
    fn detects_csv_files_and_text_folders_with_their_options() {
        let d = TempDir::new("detect-seq");
        let p = d.path();
        fs::write(p.join("rows.csv"), "a,b,kind\n1,2,x\n3,4,y\n").unwrap();
        let pair = p.join("pair");
        fs::create_dir_all(&pair).unwrap();
        fs::write(pair.join("train.csv"), "1,2,x\n3,4,y\n").unwrap();
        let texts = p.join("texts");
        fs::create_dir_all(texts.join("a")).unwrap();
        fs::write(texts.join("a/1.txt"), "hello").unwrap();
        fs::write(p.join("table.tsv"), "1\t2\n").unwrap();

        assert_eq!(detect_format(&p.join("rows.csv")).unwrap(), Format::Csv);
        assert_eq!(detect_format(&p.join("rows.csv#kind")).unwrap(), Format::Csv);
        assert_eq!(detect_format(&pair).unwrap(), Format::Csv);
        assert_eq!(detect_format(&texts).unwrap(), Format::TextFolder);
        assert_eq!(
            detect_format(Path::new(&format!("{}#tokens=words", texts.display()))).unwrap(),
            Format::TextFolder
        );
        match detect_format(&p.join("table.tsv")) {
            Err(DataError::UnknownFormat { reason, .. }) => {
                assert!(reason.contains("save the table as CSV"), "{reason}")
            }
            other => panic!("expected UnknownFormat, got {other:?}"),
        }
        let ds = load_path(&p.join("rows.csv#kind"), Some((1, 1, 2))).unwrap();
        assert_eq!(
            (ds.class_names.len(), ds.sample_shape()),
            (2, crate::cnn::Shape::sequence(2, 1))
        );
        let ds = load_path(&texts, Some((1, 1, 8))).unwrap();
        assert_eq!(ds.train.values.len(), 8);
    }
}
