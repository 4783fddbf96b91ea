//! `cnn-lab train FILE`: trains in the background worker with a progress bar; Ctrl-C stops
//! cleanly and still saves.

use super::{load_experiment, printable};
use crate::experiment;
use crate::training::{Control, Event, RunOptions, RunSummary, Trainer, TrainingError};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct TrainArgs {
    pub file: PathBuf,
    pub epochs: Option<usize>,
    pub data: Option<PathBuf>,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub fresh: bool,
    pub json: bool,
}

/// Returns what to print on success.
pub fn train(args: TrainArgs) -> Result<String> {
    let (experiment, base_dir) = load_experiment(&args.file)?;
    let out = args.out.clone().unwrap_or_else(|| args.file.clone());
    // Check the destination before spending minutes training into a folder that is not there.
    let out_dir = crate::experiment::base_dir(&out);
    if !out_dir.is_dir() {
        anyhow::bail!(
            "cannot save to {}: the folder {} does not exist",
            out.display(),
            out_dir.display()
        );
    }
    let options = RunOptions {
        base_dir,
        epochs: args.epochs,
        data: args.data.clone(),
        seed: args.seed,
        fresh: args.fresh,
        start_paused: false,
        score_after_stop: false,
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // A second handler cannot be installed (e.g. in tests calling this twice); then Ctrl-C
        // keeps its default behaviour.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let trainer = Trainer::spawn(experiment, options).context("cannot start the training thread")?;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1)
    };
    // Without a terminal the bar draws nothing; the epoch lines then go to stderr as plain text
    // (logs, CI); with --json, stdout and stderr stay clean.
    let say = |text: String| {
        if args.json {
            return;
        }
        let text = printable(&text);
        if bar.is_hidden() {
            eprintln!("{text}");
        } else {
            bar.println(text);
        }
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg} (ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut stop_sent = false;
    let result = loop {
        if interrupted.load(Ordering::SeqCst) && !stop_sent {
            trainer.send(Control::Stop);
            stop_sent = true;
            say("stopping after this batch (Ctrl-C); the run so far will be saved".into());
        }
        let event = match trainer.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => event,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                break Err(TrainingError::NoResult);
            }
        };
        match event {
            Event::Preparing(what) => bar.set_message(printable(&what)),
            Event::Started {
                first_epoch,
                last_epoch,
                batches_per_epoch,
                train_samples,
                val_samples,
                test_samples,
                ..
            } => {
                bar.set_length(((last_epoch + 1 - first_epoch) * batches_per_epoch) as u64);
                say(format!(
                    "training epochs {first_epoch}–{last_epoch} on {train_samples} images ({val_samples} validation, {test_samples} test)"
                ));
            }
            Event::Batch {
                progress,
                loss,
                accuracy,
                images_per_sec,
                ..
            } => {
                bar.set_prefix(format!("epoch {}/{}", progress.epoch, progress.last_epoch));
                bar.inc(1);
                bar.set_message(format!(
                    "loss {loss:.4} acc {:.1}% {images_per_sec:.0} img/s",
                    accuracy * 100.0
                ));
            }
            Event::Epoch(r) => {
                let val = match (r.val_loss, r.val_accuracy) {
                    (Some(l), Some(a)) => format!(", validation loss {l:.4} accuracy {:.2}%", a * 100.0),
                    _ => String::new(),
                };
                say(format!(
                    "epoch {}: loss {:.4} accuracy {:.2}%{val} ({:.1} s)",
                    r.epoch,
                    r.train_loss,
                    r.train_accuracy * 100.0,
                    r.seconds
                ));
            }
            Event::Diverged(message) | Event::Warning(message) => say(format!("warning: {message}")),
            Event::Finished(result) => break result.map(|b| *b),
            Event::Weights { .. } | Event::Paused(_) | Event::Resumed | Event::Stopped(_) | Event::Scoring { .. } => {}
        }
    };
    bar.finish_and_clear();
    let (trained, summary) = result?;
    experiment::save(&trained, &out)?;
    Ok(report(&summary, &out, args.json))
}

fn report(s: &RunSummary, out: &std::path::Path, as_json: bool) -> String {
    if as_json {
        return json!({
            "epochs": s.epochs_run,
            "train_loss": s.train_loss,
            "train_accuracy": s.train_accuracy,
            "val_accuracy": s.val_accuracy,
            "test_accuracy": s.test_accuracy,
            "wall_secs": s.wall_secs,
            "images_per_sec": s.images_per_sec,
            "stopped": s.stopped,
            "diverged": s.diverged,
            "saved_to": out.display().to_string(),
        })
        .to_string();
    }
    let mut text = format!(
        "{} epoch(s) in {:.1} s ({:.0} images/s): train loss {:.4}, accuracy {:.2}%",
        s.epochs_run,
        s.wall_secs,
        s.images_per_sec,
        s.train_loss,
        s.train_accuracy * 100.0
    );
    if let Some(v) = s.val_accuracy {
        text += &format!(", validation {:.2}%", v * 100.0);
    }
    match s.test_accuracy {
        Some(t) => text += &format!("\ntest accuracy: {:.2}%", t * 100.0),
        None => text += "\n(the data has no test split)",
    }
    if s.stopped {
        text += "\nstopped early: `cnn-lab train` on the saved file resumes where it left off";
    }
    if let Some(d) = &s.diverged {
        text += &format!("\n{d}");
    }
    text + &format!("\nsaved to {}", out.display())
}
