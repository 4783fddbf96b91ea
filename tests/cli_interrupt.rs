//! Ctrl-C during `cnn-lab train` stops after the current batch and still saves the run, with
//! the optimizer state needed to resume.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn ctrl_c_stops_training_cleanly_and_saves() {
    let dir = std::env::temp_dir().join(format!("cnn-lab-interrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("interrupted.ron");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/projects/shapes_edges.ron");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cnn-lab"))
        .args(["train", project, "--epochs", "200", "--out"])
        .arg(&out)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a first epoch has been reported, then interrupt.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "training ended before an epoch was reported"
        );
        if line.starts_with("epoch 1:") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit {:?}: {rest}", output.status);
    assert!(rest.contains("stopping after this batch"), "{rest}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("stopped early"), "{stdout}");
    let saved = cnn_lab::experiment::load(&out).unwrap();
    assert!(saved.weights.is_some());
    assert!(!saved.history.is_empty() && saved.history.len() < 200);
    let resume = saved.resume.expect("a stopped run keeps its optimizer state");
    assert_eq!(resume.last_epoch, 200);
    assert_eq!(resume.epochs_done, saved.history.len());
    assert!(resume.iterations > 0 && !resume.m.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
