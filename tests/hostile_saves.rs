//! Saves never lose work (issue 12): `cnn-lab train` checks its destination before training,
//! keeps comments, permissions and symlinks, cleans up after killed saves, rewrites relative
//! paths for a new folder, treats SIGTERM like Ctrl-C, checkpoints every epoch, and does not
//! replace a trained file with a stopped `--fresh` run unless asked. Killing it at any moment
//! leaves the previous file or a newer complete one.

mod support;

use cnn_lab::data::SyntheticSpec;
use cnn_lab::experiment::{self, DatasetSource, Experiment};
use cnn_lab::training::RunOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::cli::*;
use support::*;

/// The tiny experiment trained in-process for `epochs` epochs, saved at `dir/name`.
fn trained_file(dir: &Path, name: &str, epochs: usize) -> (Experiment, PathBuf) {
    let mut e = tiny_experiment();
    e.training.epochs = epochs;
    let (trained, _) = train(e, RunOptions::default());
    let path = dir.join(name);
    experiment::save(&trained, &path).unwrap();
    (trained, path)
}

/// `e` with a training set large enough that an epoch takes a while (a stop lands inside it).
fn slow(mut e: Experiment) -> Experiment {
    e.dataset = DatasetSource::Synthetic(SyntheticSpec {
        n_train: 20_000,
        n_test: 20,
        channels: 1,
        height: 12,
        width: 12,
        seed: 3,
    });
    e.training.batch_size = 8;
    e
}

/// Temporary files of saves left in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Starts `cnn-lab train ARGS` with stderr piped (no timeout: the caller kills it).
fn spawn_train(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cnn-lab"))
        .arg("train")
        .args(args)
        .env("RAYON_NUM_THREADS", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the child's stderr until a line starts with `prefix`; returns what was read (and the
/// reader, which must stay alive so the child never blocks on a full pipe).
fn wait_for_line(child: &mut Child, prefix: &str) -> (String, BufReader<std::process::ChildStderr>) {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "train ended before {prefix:?}:\n{seen}");
        seen += &line;
        if line.starts_with(prefix) {
            return (seen, stderr);
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child (at most `TIMEOUT`), returning its exit code and all its output.
fn finish(mut child: Child, mut stderr: BufReader<std::process::ChildStderr>, seen: String) -> (Option<i32>, String) {
    let reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < TIMEOUT, "train did not stop after a signal");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout);
    (status.code(), format!("{stdout}\n{seen}{}", reader.join().unwrap()))
}

#[test]
fn a_stopped_fresh_run_does_not_replace_a_trained_file_unless_asked() {
    let dir = TempDir::new("saves-fresh");
    let (trained, path) = trained_file(dir.path(), "model.ron", 4);
    experiment::save(&slow(trained), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    for signal_name in ["TERM", "INT"] {
        let mut child = spawn_train(&[s(&path), "--fresh", "--epochs", "100"]);
        let (seen, stderr) = wait_for_line(&mut child, "training epochs");
        signal(&child, signal_name);
        let (code, out) = finish(child, stderr, seen);
        assert!(matches!(code, Some(c) if c != 0 && c != 101), "{code:?}\n{out}");
        for words in ["was kept", "4 epoch(s)", "--overwrite", "--out"] {
            assert!(out.contains(words), "{words:?} missing:\n{out}");
        }
        assert!(std::fs::read(&path).unwrap() == before, "the trained file was changed");
        assert!(temporaries(dir.path()).is_empty(), "{:?}", temporaries(dir.path()));
    }
    // Asked for: the stopped fresh run replaces the file.
    let mut child = spawn_train(&[s(&path), "--fresh", "--epochs", "100", "--overwrite"]);
    let (seen, stderr) = wait_for_line(&mut child, "training epochs");
    signal(&child, "TERM");
    let (code, out) = finish(child, stderr, seen);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("stopped early"), "{out}");
    let saved = experiment::load(&path).unwrap();
    assert!(saved.history.len() < 4, "{}", saved.history.len());
}

#[test]
fn sigterm_stops_like_ctrl_c_and_every_epoch_is_checkpointed() {
    let dir = TempDir::new("saves-sigterm");
    let (trained, source) = trained_file(dir.path(), "source.ron", 1);
    experiment::save(&slow(trained), &source).unwrap();
    let out = dir.join("out.ron");
    let mut e = tiny_experiment();
    e.training.epochs = 200;
    let tiny = dir.join("tiny.ron");
    experiment::save(&e, &tiny).unwrap();

    // SIGTERM: stops after the batch and saves, with the state to resume.
    let mut child = spawn_train(&[s(&tiny), "--out", s(&out)]);
    let (seen, stderr) = wait_for_line(&mut child, "epoch 1:");
    signal(&child, "TERM");
    let (code, text) = finish(child, stderr, seen);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("stopped early"), "{text}");
    let saved = experiment::load(&out).unwrap();
    assert!(saved.resume.is_some() && !saved.history.is_empty());

    // SIGKILL after two epochs: the checkpoint of the second (or a later one) is on disk.
    std::fs::remove_file(&out).unwrap();
    let mut child = spawn_train(&[s(&tiny), "--out", s(&out)]);
    let (_, _stderr) = wait_for_line(&mut child, "epoch 2:");
    child.kill().unwrap();
    child.wait().unwrap();
    let saved = experiment::load(&out).expect("a complete checkpoint");
    assert!(!saved.history.is_empty());
    let resume = saved.resume.expect("a checkpoint can be resumed");
    assert_eq!(resume.epochs_done, saved.history.len());
    // It resumes where it stopped.
    let next = run(&["train", s(&out), "--epochs", "1", "--json"]);
    next.assert_clean();
    assert_eq!(next.code, Some(0), "{}", next.output());
    assert_eq!(experiment::load(&out).unwrap().history.len(), saved.history.len() + 1);
    assert!(temporaries(dir.path()).is_empty(), "{:?}", temporaries(dir.path()));
}

#[test]
fn killing_train_at_any_moment_leaves_a_complete_file_and_no_temporary_after_the_next_run() {
    let dir = TempDir::new("saves-kill");
    let (_, path) = trained_file(dir.path(), "model.ron", 1);
    let mut epochs = 1;
    for round in 0..6u64 {
        let mut child = spawn_train(&[s(&path), "--epochs", "30"]);
        // Different moments: during loading, mid-epoch, around a checkpoint.
        std::thread::sleep(Duration::from_millis(150 + 230 * round));
        if round % 2 == 0 {
            child.kill().unwrap();
        } else {
            signal(&child, "TERM");
        }
        let status = child.wait().unwrap();
        assert_ne!(status.code(), Some(101), "panicked");
        let saved = experiment::load(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(saved.weights.is_some());
        assert!(saved.history.len() >= epochs, "round {round}: history went back");
        epochs = saved.history.len();
    }
    // A save killed midway leaves its temporary file; pretend one of a dead process is there.
    let stale = dir.join(".model.ron.4000000000.tmp");
    std::fs::write(&stale, "half a file").unwrap();
    let live = dir.join(format!(".model.ron.{}.tmp", std::process::id()));
    std::fs::write(&live, "another process saving").unwrap();
    let next = run(&["train", s(&path), "--epochs", "1", "--json"]);
    next.assert_clean();
    assert_eq!(next.code, Some(0), "{}", next.output());
    assert!(!stale.exists(), "the stale temporary file was not removed");
    assert!(live.exists(), "a live process's temporary file was removed");
    std::fs::remove_file(&live).unwrap();
    assert!(temporaries(dir.path()).is_empty(), "{:?}", temporaries(dir.path()));
}

#[test]
fn a_destination_that_cannot_be_written_is_refused_before_training() {
    let dir = TempDir::new("saves-destination");
    let (_, path) = trained_file(dir.path(), "model.ron", 1);
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    run(&["train", s(&path), "--out", s(&folder)]).assert_refused(&["folder", "is a folder", "name a file inside it"]);
    let missing = dir.join("no-such-folder").join("x.ron");
    run(&["train", s(&path), "--out", s(&missing)]).assert_refused(&["no-such-folder", "does not exist"]);
    let not_experiment = dir.join("notes.txt");
    std::fs::write(&not_experiment, "my notes").unwrap();
    run(&["train", s(&path), "--out", s(&not_experiment)]).assert_refused(&[
        "notes.txt",
        "not an experiment",
        "--overwrite",
    ]);
    assert_eq!(std::fs::read_to_string(&not_experiment).unwrap(), "my notes");

    // Permissions: root may write anywhere, so these cases need an ordinary user.
    use std::os::unix::fs::PermissionsExt;
    let locked = dir.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    let root = std::fs::write(locked.join("probe"), "x").is_ok();
    let read_only = dir.join("read-only.ron");
    std::fs::copy(&path, &read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
    let in_locked = locked.join("x.ron");
    let cases = [
        (
            vec!["train", s(&path), "--out", s(&in_locked)],
            ["locked", "nothing can be written"],
        ),
        (vec!["train", s(&read_only)], ["read-only.ron", "cannot be written"]),
    ];
    for (args, words) in cases {
        if !root {
            let out = run(&args);
            out.assert_refused(&words);
            assert!(!out.output().contains("epoch 1"), "it trained first:\n{}", out.output());
        } else if let Some(out) = as_nobody(&args) {
            // As root, the same cases as an ordinary user (where `setpriv` exists).
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
            for word in words {
                assert!(text.contains(word), "{args:?}: {word:?} missing: {text}");
            }
        }
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Runs the binary with `args` as the user `nobody` (65534); `None` where `setpriv` is missing.
fn as_nobody(args: &[&str]) -> Option<std::process::Output> {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_cnn-lab"),
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| !String::from_utf8_lossy(&o.stderr).contains("setpriv:"))
}

#[test]
fn comments_permissions_and_symlinks_survive_a_save() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("saves-keep");
    let text = "// My experiment: keep this line.\n(\n  version: 1,\n  name: \"commented\", // the name\n  seed: 1,\n  \
                input: (height: 12, width: 12, channels: 1),\n  // shapes, small\n  \
                dataset: Synthetic(n_train: 48, n_test: 12, height: 12, width: 12),\n  layers: [\n    \
                // one small filter bank\n    Conv2D(filters: 2, kernel_size: (3, 3), activation: relu),\n    Flatten,\n    \
                Dense(units: 6),\n  ],\n  training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 8, epochs: 1, \
                validation_split: 0.0), /* one epoch */\n)\n";
    let real = dir.join("real");
    std::fs::create_dir_all(&real).unwrap();
    let target = real.join("target.ron");
    std::fs::write(&target, text).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.join("link.ron");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for round in 0..2 {
        let out = run(&["train", s(&link)]);
        out.assert_clean();
        assert_eq!(out.code, Some(0), "{}", out.output());
        assert!(
            !out.output().contains("comments"),
            "comments reported lost:\n{}",
            out.output()
        );
        assert!(
            link.symlink_metadata().unwrap().file_type().is_symlink(),
            "the link was replaced"
        );
        let saved = std::fs::read_to_string(&target).unwrap();
        for comment in [
            "// My experiment: keep this line.",
            "// the name",
            "// shapes, small",
            "// one small filter bank",
            "/* one epoch */",
        ] {
            assert!(saved.contains(comment), "round {round}: {comment:?} lost:\n{saved}");
        }
        let loaded = experiment::load(&target).unwrap();
        assert_eq!(loaded.history.len(), round + 1);
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "permissions changed to {mode:o}");
    }
    assert!(temporaries(&real).is_empty() && temporaries(dir.path()).is_empty());
}

#[test]
fn saving_elsewhere_rewrites_a_relative_dataset_path() {
    let dir = TempDir::new("saves-relative");
    let data = dir.join("digits");
    std::fs::create_dir_all(&data).unwrap();
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    let pixels: Vec<u8> = (0..20 * 16).map(|i| (i * 7) as u8).collect();
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        idx_images(0x803, 20, 4, 4, &pixels),
    )
    .unwrap();
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    std::fs::write(
        data.join("t10k-images-idx3-ubyte"),
        idx_images(0x803, 20, 4, 4, &pixels),
    )
    .unwrap();
    std::fs::write(data.join("t10k-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    let text = "(\n  version: 1,\n  name: \"relative\",\n  input: (height: 4, width: 4, channels: 1),\n  \
                dataset: Path(\"digits\"),\n  layers: [Flatten, Dense(units: 10)],\n  \
                training: (batch_size: 4, epochs: 1, validation_split: 0.0),\n)\n";
    let source = dir.join("source.ron");
    std::fs::write(&source, text).unwrap();
    std::fs::create_dir_all(dir.join("elsewhere").join("deeper")).unwrap();
    let out = dir.join("elsewhere").join("deeper").join("x.ron");
    let trained = run(&["train", s(&source), "--out", s(&out)]);
    trained.assert_clean();
    assert_eq!(trained.code, Some(0), "{}", trained.output());
    assert!(trained.output().contains("rewritten"), "{}", trained.output());
    let saved = experiment::load(&out).unwrap();
    assert_eq!(saved.dataset, DatasetSource::Path(PathBuf::from("../../digits")));
    let eval = run(&["eval", s(&out), "--json"]);
    eval.assert_clean();
    assert_eq!(eval.code, Some(0), "{}", eval.output());
    // The source itself is unchanged.
    assert_eq!(std::fs::read_to_string(&source).unwrap(), text);
}
