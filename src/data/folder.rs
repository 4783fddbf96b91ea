//! Image-folder loader: one subfolder of PNG/JPEG/BMP/GIF files per class, optionally under `train/` and `test/`.
//!
//! Every image is decoded, resized to the requested size (aspect ratio is
//! not kept: CNN inputs are fixed-size) and converted to 1 or 3 channels. A
//! file that fails to decode is skipped with a warning rather than failing
//! the whole load, because real photo folders nearly always hold a few.

use std::fs;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};

use super::budget::check_dataset_size;
use super::dataset::{Dataset, SampleKind, Split};
use super::error::{DataError, ImageFileError};
use super::files::special_kind;

/// Extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "bmp", "gif"];
/// Image formats people commonly have that we cannot decode: reported, not silently ignored.
const UNSUPPORTED_IMAGE_EXTENSIONS: [&str; 7] = ["webp", "tif", "tiff", "heic", "avif", "svg", "ico"];
/// Without a requested size, images larger than this (on either side) are
/// scaled down to it: a 4000x3000 photo would make a useless CNN input.
const DEFAULT_MAX_SIDE: usize = 64;
/// What to change when the decoded images would not fit in memory.
const TOO_LARGE_FIX: &str = "use a smaller input size (the experiment's input height and width) or fewer images";

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !is_hidden(p))
        .collect();
    v.sort();
    Ok(v)
}

/// Subfolders of `dir` as `(class name, path)`, sorted by name so class
/// indices are stable across machines.
pub fn class_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, p))
        })
        .collect())
}

/// Image files directly inside `dir`; unsupported image formats are
/// reported in `warnings`, other files (notes, thumbnails DBs) ignored.
fn image_files(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    for p in sorted_entries(dir)? {
        let ext = extension(&p);
        let kind = fs::metadata(&p).ok().as_ref().and_then(special_kind);
        if let Some(kind) = kind {
            // Sub-folders are not images; a FIFO or device named like one would block the decoder.
            if kind != "a folder" && IMAGE_EXTENSIONS.contains(&ext.as_str()) {
                warnings.push(format!("skipped {}: it is {kind}, not a regular file", p.display()));
            }
            continue;
        }
        if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
            out.push(p);
        } else if UNSUPPORTED_IMAGE_EXTENSIONS.contains(&ext.as_str()) {
            warnings.push(format!(
                "skipped {}: .{ext} images are not supported (convert to PNG or JPEG)",
                p.display()
            ));
        }
    }
    Ok(out)
}

/// Whether `dir` looks like an image-folder dataset (has a subfolder that
/// holds image files, directly or under `train/`).
pub fn looks_like_image_folder(dir: &Path) -> bool {
    let has_images = |d: &Path| {
        fs::read_dir(d).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok()).any(|e| {
                let p = e.path();
                p.is_file() && IMAGE_EXTENSIONS.contains(&extension(&p).as_str())
            })
        })
    };
    let classes = |d: &Path| class_dirs(d).unwrap_or_default();
    classes(dir).iter().any(|(_, p)| has_images(p))
        || split_dirs(dir)
            .0
            .is_some_and(|t| classes(&t).iter().any(|(_, p)| has_images(p)))
}

/// `(train, test)` subfolders if `dir` uses that layout.
pub(crate) fn split_dirs(dir: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
    let find = |names: &[&str]| {
        class_dirs(dir)
            .unwrap_or_default()
            .into_iter()
            .find(|(n, _)| names.contains(&n.to_ascii_lowercase().as_str()))
            .map(|(_, p)| p)
    };
    let train = find(&["train", "training"]);
    let test = train
        .as_ref()
        .and_then(|_| find(&["test", "testing", "val", "valid", "validation"]));
    (train, test)
}

/// How many image files the class folders of `root` hold (nothing is decoded).
fn count_images(root: &Path) -> u64 {
    class_dirs(root)
        .unwrap_or_default()
        .iter()
        .flat_map(|(_, dir)| sorted_entries(dir).unwrap_or_default())
        .filter(|p| p.is_file() && IMAGE_EXTENSIONS.contains(&extension(p).as_str()))
        .count() as u64
}

fn decode(path: &Path) -> Result<DynamicImage, ImageFileError> {
    if let Some(kind) = special_kind(&fs::metadata(path)?) {
        return Err(ImageFileError::NotAFile(kind));
    }
    // Sniff the format from the bytes: a PNG saved as .jpg still loads.
    Ok(ImageReader::open(path)?.with_guessed_format()?.decode()?)
}

/// Resizes and converts one image to CHW bytes appended to `out`.
fn push_chw(img: &DynamicImage, channels: usize, h: usize, w: usize, out: &mut Vec<u8>) {
    let resized = if (img.height() as usize, img.width() as usize) == (h, w) {
        img.clone()
    } else {
        img.resize_exact(w as u32, h as u32, FilterType::Triangle)
    };
    if channels == 1 {
        out.extend_from_slice(resized.to_luma8().as_raw());
    } else {
        let rgb = resized.to_rgb8();
        let raw = rgb.as_raw();
        for c in 0..3 {
            out.extend(raw.iter().skip(c).step_by(3));
        }
    }
}

/// Shape to use when the caller did not ask for one: taken from the first
/// readable image (grayscale stays 1 channel), capped at `DEFAULT_MAX_SIDE`.
fn default_shape(first: &DynamicImage) -> (usize, usize, usize) {
    let channels = if first.color().has_color() { 3 } else { 1 };
    let (h, w) = (first.height() as usize, first.width() as usize);
    let scale = (DEFAULT_MAX_SIDE as f64 / h.max(w) as f64).min(1.0);
    let side = |x: usize| ((x as f64 * scale).round() as usize).max(1);
    (channels, side(h), side(w))
}

/// Decodes `files` on all cores, preserving order; `Err` entries carry
/// the decoder's message.
fn decode_all(files: &[PathBuf], shape: (usize, usize, usize)) -> Vec<Result<Vec<u8>, ImageFileError>> {
    let (c, h, w) = shape;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        let jobs: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let job = s.spawn(move || {
                    part.iter()
                        .map(|p| {
                            decode(p).map(|img| {
                                let mut v = Vec::with_capacity(c * h * w);
                                push_chw(&img, c, h, w, &mut v);
                                v
                            })
                        })
                        .collect::<Vec<_>>()
                });
                (part.len(), job)
            })
            .collect();
        // A decoder that panics on a hostile file takes only its worker
        // down; its files are reported as unreadable, one result per file
        // so results stay aligned with `files`.
        jobs.into_iter()
            .flat_map(|(n, job)| {
                job.join()
                    .unwrap_or_else(|_| (0..n).map(|_| Err(ImageFileError::DecoderCrashed)).collect())
            })
            .collect()
    })
}

/// Loads the class folders of `dir` into a split. `shape` is fixed by the
/// first readable image if still `None`. Empty classes are an error when
/// `strict` (training data), a warning otherwise.
fn load_split(
    dir: &Path,
    classes: &[(String, PathBuf)],
    shape: &mut Option<(usize, usize, usize)>,
    strict: bool,
    total_images: u64,
    warnings: &mut Vec<String>,
) -> Result<Split, DataError> {
    let mut split = Split::default();
    for (label, (name, class_dir)) in classes.iter().enumerate() {
        let files = image_files(class_dir, warnings)?;
        if shape.is_none()
            && let Some(img) = files.iter().find_map(|f| decode(f).ok())
        {
            let s = default_shape(&img);
            warnings.push(format!(
                "no image size requested; using {}x{}x{} from the first image in {}",
                s.0,
                s.1,
                s.2,
                class_dir.display()
            ));
            check_dataset_size(total_images, s, TOO_LARGE_FIX)?;
            *shape = Some(s);
        }
        let loaded = match *shape {
            Some(s) => decode_all(&files, s),
            None => files.iter().map(|_| Err(ImageFileError::Unreadable)).collect(),
        };
        let mut ok = 0usize;
        for (file, result) in files.iter().zip(loaded) {
            match result {
                Ok(bytes) => {
                    split.pixels.extend_from_slice(&bytes);
                    split.labels.push(label as u32);
                    ok += 1;
                }
                Err(e) => warnings.push(format!("skipped unreadable image {}: {e}", file.display())),
            }
        }
        if ok == 0 {
            if strict {
                return Err(DataError::EmptyClass {
                    path: class_dir.clone(),
                });
            }
            warnings.push(format!("class \"{name}\" has no readable images in {}", dir.display()));
        }
    }
    Ok(split)
}

/// Loads an image-folder dataset. `want` is `(channels, height, width)`;
/// `None` takes the shape from the first image (see [`default_shape`]).
pub fn load_folder(path: &Path, want: Option<(usize, usize, usize)>) -> Result<Dataset, DataError> {
    if let Some((c, h, w)) = want
        && (!matches!(c, 1 | 3) || h == 0 || w == 0)
    {
        return Err(DataError::InvalidRequest(format!(
            "images cannot be loaded as {c}x{h}x{w}: use 1 (grayscale) or 3 (RGB) channels and a non-zero size"
        )));
    }
    let (train_dir, test_dir) = split_dirs(path);
    let train_root = train_dir.clone().unwrap_or_else(|| path.to_path_buf());
    let classes = class_dirs(&train_root)?;
    if classes.is_empty() {
        return Err(DataError::NoClassFolders { path: train_root });
    }
    // Every image becomes `want`'s size: refuse before decoding one what would not fit.
    let total_images = count_images(&train_root) + test_dir.as_deref().map_or(0, count_images);
    if let Some(want) = want {
        check_dataset_size(total_images, want, TOO_LARGE_FIX)?;
    }
    let mut warnings = Vec::new();
    let mut shape = want;
    let train = load_split(&train_root, &classes, &mut shape, true, total_images, &mut warnings)?;

    let test = match &test_dir {
        Some(td) => {
            let test_classes = class_dirs(td)?;
            for (name, _) in &test_classes {
                if !classes.iter().any(|(n, _)| n == name) {
                    warnings.push(format!(
                        "ignored test class \"{name}\": it has no folder under {}",
                        train_root.display()
                    ));
                }
            }
            // Same class order as training so labels agree; classes the test
            // folder lacks simply get no test images.
            let (present, to_label): (Vec<(String, PathBuf)>, Vec<u32>) = classes
                .iter()
                .enumerate()
                .map(|(label, (n, _))| ((n.clone(), td.join(n)), label as u32))
                .filter(|((_, p), _)| p.is_dir())
                .unzip();
            let mut split = load_split(td, &present, &mut shape, false, total_images, &mut warnings)?;
            // load_split numbers classes by position in `present`; map back.
            for l in &mut split.labels {
                *l = to_label[*l as usize];
            }
            Some(split)
        }
        None => None,
    };

    // `shape` is set: the training split loaded at least one image.
    let (channels, height, width) = shape.unwrap_or((1, 1, 1));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "images".to_string());
    let ds = Dataset {
        name,
        class_names: classes.into_iter().map(|(n, _)| n).collect(),
        channels,
        height,
        width,
        kind: SampleKind::Image,
        train,
        test,
        warnings,
    };
    ds.validate(path)?;
    Ok(ds)
}

/// Decodes one image file into CHW bytes of shape `(channels, height, width)` (resized and
/// converted to grayscale or RGB as needed), for predicting on a user's own picture.
pub fn load_image(path: &Path, (channels, height, width): (usize, usize, usize)) -> Result<Vec<u8>, DataError> {
    check_dataset_size(1, (channels, height, width), TOO_LARGE_FIX)?;
    let img = decode(path).map_err(|source| DataError::Image {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::with_capacity(channels * height * width);
    push_chw(&img, channels, height, width, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{TempDir, write_image};
    use super::*;

    #[test]
    fn loads_classes_resizes_and_converts() {
        let d = TempDir::new("folder");
        let p = d.path();
        for (class, color) in [("cat", [255, 0, 0]), ("dog", [0, 0, 255])] {
            fs::create_dir_all(p.join(class)).unwrap();
            for (i, ext) in ["png", "jpg", "bmp", "gif"].iter().enumerate() {
                write_image(&p.join(class).join(format!("{i}.{ext}")), 10 + i as u32, 8, color);
            }
        }
        fs::write(p.join("cat").join("notes.txt"), "not an image").unwrap();
        let ds = load_folder(p, Some((3, 6, 5))).unwrap();
        assert_eq!(ds.class_names, vec!["cat", "dog"]);
        assert_eq!(ds.train.len(), 8);
        assert_eq!(ds.shape(), (3, 6, 5));
        assert_eq!(ds.train.labels, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        // First cat image (PNG, exact colour): red plane full, blue plane empty.
        let img = ds.train.image(0);
        assert!(img[..30].iter().all(|&v| v == 255));
        assert!(img[60..].iter().all(|&v| v == 0));
        assert!(ds.warnings.is_empty(), "{:?}", ds.warnings);

        let gray = load_folder(p, Some((1, 4, 4))).unwrap();
        assert_eq!(gray.train.image_len(), 16);
        // Pure red in Rec. 709 luma is about 54.
        assert!((50..=58).contains(&gray.train.image(0)[0]));
    }

    #[test]
    fn unreadable_images_are_skipped_with_a_warning() {
        let d = TempDir::new("folder-bad");
        let p = d.path();
        fs::create_dir_all(p.join("a")).unwrap();
        fs::create_dir_all(p.join("b")).unwrap();
        write_image(&p.join("a/ok.png"), 4, 4, [9, 9, 9]);
        fs::write(p.join("a/broken.png"), b"definitely not a png").unwrap();
        fs::write(p.join("a/photo.webp"), b"RIFF").unwrap();
        write_image(&p.join("b/ok.png"), 4, 4, [200, 200, 200]);
        let ds = load_folder(p, Some((1, 4, 4))).unwrap();
        assert_eq!(ds.train.len(), 2);
        assert_eq!(ds.warnings.len(), 2, "{:?}", ds.warnings);
        assert!(ds.warnings.iter().any(|w| w.contains("broken.png")));
        assert!(ds.warnings.iter().any(|w| w.contains("photo.webp")));
    }

    #[test]
    fn absurd_sizes_are_refused_before_decoding_and_special_files_skipped() {
        let d = TempDir::new("folder-huge");
        let p = d.path();
        for class in ["a", "b"] {
            fs::create_dir_all(p.join(class)).unwrap();
            write_image(&p.join(class).join("1.png"), 8, 8, [9, 9, 9]);
        }
        // 2 images of 2^31 × 2^31: the estimate saturates instead of overflowing.
        let err = load_folder(p, Some((1, 1 << 31, 1 << 31))).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { images: 2, .. }), "{err}");
        assert!(err.to_string().contains("input height and width"), "{err}");
        let fifo = p.join("a").join("2.png");
        if std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
        {
            let ds = load_folder(p, Some((1, 4, 4))).unwrap();
            assert_eq!(ds.train.len(), 2);
            assert!(
                ds.warnings.iter().any(|w| w.contains("2.png") && w.contains("FIFO")),
                "{:?}",
                ds.warnings
            );
            let err = load_image(&fifo, (1, 4, 4)).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
    }

    #[test]
    fn empty_class_and_no_classes_are_errors() {
        let d = TempDir::new("folder-empty");
        let p = d.path();
        assert!(matches!(load_folder(p, None), Err(DataError::NoClassFolders { .. })));
        fs::create_dir_all(p.join("a")).unwrap();
        fs::create_dir_all(p.join("b")).unwrap();
        write_image(&p.join("a/x.png"), 3, 3, [1, 2, 3]);
        fs::write(p.join("b/y.png"), b"garbage").unwrap();
        match load_folder(p, None) {
            Err(DataError::EmptyClass { path }) => assert!(path.ends_with("b")),
            other => panic!("expected EmptyClass, got {other:?}"),
        }
        assert!(matches!(
            load_folder(p, Some((2, 3, 3))),
            Err(DataError::InvalidRequest(_))
        ));
    }

    #[test]
    fn an_unreadable_picture_names_the_file_and_keeps_the_decoder_error() {
        use std::error::Error;
        let d = TempDir::new("folder-image");
        let path = d.path().join("broken.png");
        fs::write(&path, b"definitely not a png").unwrap();
        let err = load_image(&path, (1, 4, 4)).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with("cannot read the image ") && shown.contains("broken.png: "),
            "{shown}"
        );
        let cause = err.source().expect("the decoder error is the source");
        assert!(matches!(
            cause.downcast_ref::<ImageFileError>(),
            Some(ImageFileError::Decode(_))
        ));
        assert!(shown.ends_with(&cause.to_string()), "{shown}");
        // Every deeper cause is already in the sentence (the CLI prints each cause only once).
        let mut next = cause.source();
        while let Some(deeper) = next {
            assert!(shown.contains(&deeper.to_string()), "{shown} lacks {deeper}");
            next = deeper.source();
        }
        let missing = load_image(&d.path().join("missing.png"), (1, 4, 4)).unwrap_err();
        assert!(matches!(
            missing,
            DataError::Image {
                source: ImageFileError::Io(_),
                ..
            }
        ));
    }

    #[test]
    fn train_test_layout_and_default_shape() {
        let d = TempDir::new("folder-split");
        let p = d.path();
        for split in ["train", "test"] {
            for class in ["x", "y"] {
                fs::create_dir_all(p.join(split).join(class)).unwrap();
            }
        }
        write_image(&p.join("train/x/1.png"), 200, 100, [10, 20, 30]);
        write_image(&p.join("train/y/1.png"), 50, 50, [10, 20, 30]);
        write_image(&p.join("test/y/1.png"), 50, 50, [10, 20, 30]);
        // Test lacks class x's images: allowed, with a warning.
        let ds = load_folder(p, None).unwrap();
        assert_eq!(ds.shape(), (3, 32, 64));
        assert_eq!(ds.class_names, vec!["x", "y"]);
        assert_eq!(ds.test.as_ref().map(|t| t.labels.clone()), Some(vec![1]));
        assert!(ds.warnings.iter().any(|w| w.contains("no image size requested")));
        assert!(ds.warnings.iter().any(|w| w.contains("\"x\"")));
    }
}
