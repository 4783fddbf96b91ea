//! A seeded mutation loop (issue 12): the bundled experiments, an IDX folder, a CIFAR batch and a
//! PNG image, mutated byte by byte and number by number, must each be refused with an error or
//! accepted — never a panic. Accepted experiments go further: their values and memory are
//! checked, the model is built and run on an image. Bounded by default (a few seconds);
//! `CNN_LAB_FUZZ_ITERATIONS=20000 cargo test --release --test fuzz` runs longer, and
//! `CNN_LAB_FUZZ_SEED` starts elsewhere.

mod support;

use cnn_lab::cnn::{Tensor, analyze};
use cnn_lab::data::load_path;
use cnn_lab::experiment::{self, MemoryUse};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use support::*;

/// Mutants of each kind per run, unless `CNN_LAB_FUZZ_ITERATIONS` says otherwise.
const DEFAULT_ITERATIONS: usize = 1000;

/// xorshift64*: deterministic, with no dependency on a crate's stream staying the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Values that are valid syntax but hostile.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "NaN",
    "inf",
    "-inf",
    "1e30",
    "1e-30",
    "3e38",
    "-0.0",
    "65536",
    "4294967295",
    "18446744073709551615",
    "2305843009213693952",
];

const SNIPPETS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    "\"",
    "//",
    "/*",
    "\u{1b}[2J",
    "padding: same",
    "activation: leaky_relu(NaN)",
    "Dense(units: 7000000)",
    "MaxPooling2D(pool_size: (65536, 65536), padding: same)",
];

/// One to three mutations of `bytes`; for text, numbers are often replaced by hostile ones.
fn mutate(rng: &mut Rng, bytes: &[u8], text: bool) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len());
        match rng.below(if text { 6 } else { 4 }) {
            0 => out[at] = rng.next() as u8,
            1 => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                let span = out[at..end].to_vec();
                out.splice(at..at, span);
            }
            3 => {
                // Header-sized integers (IDX counts, sizes) get extreme values.
                let end = (at + 4).min(out.len());
                let value = *rng.pick(&[0u8, 0x7f, 0x80, 0xff]);
                out[at..end].iter_mut().for_each(|b| *b = value);
            }
            4 => {
                let snippet = rng.pick(SNIPPETS).as_bytes();
                out.splice(at..at, snippet.iter().copied());
            }
            _ => {
                // Replace the number that starts at or after `at`.
                let Some(start) = (at..out.len()).find(|&i| out[i].is_ascii_digit()) else {
                    continue;
                };
                let end = (start..out.len())
                    .find(|&i| !(out[i].is_ascii_alphanumeric() || out[i] == b'.' || out[i] == b'_'))
                    .unwrap_or(out.len());
                let number = rng.pick(NUMBERS).as_bytes();
                out.splice(start..end, number.iter().copied());
            }
        }
        if out.is_empty() {
            out.push(b'(');
        }
    }
    out
}

/// Runs `f`, turning a panic into a test failure that names the case.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(panic) => {
            let message = cnn_lab::training::panic_message(panic.as_ref());
            panic!("{what} panicked: {message}");
        }
    }
}

/// Parses, checks, builds and runs a mutated experiment as far as it goes; `true` if it ran.
fn exercise_experiment(text: &str, base_dir: &Path) -> bool {
    let Ok(e) = experiment::parse(text, Path::new("mutant.ron")) else {
        return false;
    };
    let _ = experiment::to_text(&e);
    let _ = analyze(e.input.shape(), &e.effective_layers(), e.classes());
    if e.check_values().is_err() || e.check_memory(MemoryUse::Training).is_err() {
        return false;
    }
    let Ok(Some(mut model)) = e.model_before_data(base_dir, None) else {
        return false;
    };
    let shape = e.input.shape();
    let Some(x) = Tensor::from_vec(1, shape, vec![0.5; shape.len()]) else {
        return false;
    };
    let _ = model.predict_proba(&x);
    true
}

#[test]
fn mutated_experiments_and_data_files_are_refused_or_accepted_never_a_panic() {
    // A small budget, so an accepted mutant never allocates much (the refusal is what is tested).
    // SAFETY: this is the only test of this binary, and it sets the variable before any thread
    // that reads it starts.
    unsafe { std::env::set_var("CNN_LAB_MAX_MEMORY_MB", "64") };
    let iterations = env_number("CNN_LAB_FUZZ_ITERATIONS", DEFAULT_ITERATIONS as u64) as usize;
    let mut rng = Rng(env_number("CNN_LAB_FUZZ_SEED", 0x5EED_1234).max(1));
    let started = std::time::Instant::now();

    let projects = projects_dir();
    let mut sources: Vec<(String, String)> = std::fs::read_dir(&projects)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    sources.sort();
    assert!(sources.len() >= 5, "{sources:?}");
    let mut ran = 0;
    for i in 0..iterations {
        let (name, text) = &sources[i % sources.len()];
        let mutant = String::from_utf8_lossy(&mutate(&mut rng, text.as_bytes(), true)).into_owned();
        let what = format!("mutant {i} of {name}:\n{mutant}");
        ran += usize::from(no_panic(&what, || exercise_experiment(&mutant, &projects)));
    }

    // Data files: an IDX folder, a CIFAR batch and a PNG image.
    let dir = TempDir::new("fuzz-data");
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    let pixels: Vec<u8> = (0..20 * 16).map(|i| (i * 7) as u8).collect();
    let idx_images_file = idx_images(0x803, 20, 4, 4, &pixels);
    let idx_labels_file = idx_labels(&labels);
    let cifar: Vec<u8> = (0..10u8)
        .flat_map(|label| std::iter::once(label).chain(std::iter::repeat_n(label.wrapping_mul(20), 3072)))
        .collect();
    let mut png = Vec::new();
    image::GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 30 + y) as u8]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let data_iterations = iterations / 3 + 1;
    for i in 0..data_iterations {
        let case = dir.join(format!("case{}", i % 4));
        let _ = std::fs::remove_dir_all(&case);
        std::fs::create_dir_all(&case).unwrap();
        let (what, want) = match i % 3 {
            0 => {
                let (images, labels_file) = if rng.below(2) == 0 {
                    (mutate(&mut rng, &idx_images_file, false), idx_labels_file.clone())
                } else {
                    (idx_images_file.clone(), mutate(&mut rng, &idx_labels_file, false))
                };
                std::fs::write(case.join("train-images-idx3-ubyte"), images).unwrap();
                std::fs::write(case.join("train-labels-idx1-ubyte"), labels_file).unwrap();
                ("IDX", (1, 4, 4))
            }
            1 => {
                std::fs::write(case.join("data_batch_1.bin"), mutate(&mut rng, &cifar, false)).unwrap();
                ("CIFAR", (3, 32, 32))
            }
            _ => {
                for class in ["a", "b"] {
                    std::fs::create_dir_all(case.join(class)).unwrap();
                    std::fs::write(case.join(class).join("0.png"), &png).unwrap();
                    std::fs::write(case.join(class).join("1.png"), mutate(&mut rng, &png, false)).unwrap();
                }
                ("image folder", (1, 8, 8))
            }
        };
        no_panic(&format!("{what} mutant {i}"), || {
            let _ = load_path(&case, Some(want));
        });
    }
    eprintln!(
        "{iterations} experiment mutants ({ran} built and run) and {data_iterations} data mutants in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
