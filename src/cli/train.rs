//! `cnn-lab train FILE`: trains in the background worker with a progress bar; Ctrl-C or SIGTERM
//! stops cleanly and still saves. The destination is checked first, every epoch is
//! checkpointed, and a run never replaces a file holding more training unless asked.

use super::{load_experiment, printable};
use crate::experiment::{self, Destination, Experiment, MAX_EPOCHS, relocate};
use crate::training::{Checkpoint, Control, Event, RunOptions, RunSummary, Trainer, TrainingError};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct TrainArgs {
    pub file: PathBuf,
    pub epochs: Option<usize>,
    pub data: Option<PathBuf>,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub fresh: bool,
    /// Replace the destination even with a run that holds less training than it does, or
    /// when it is not an experiment.
    pub overwrite: bool,
    pub json: bool,
}

/// What the destination holds that a run must not throw away unless asked: its trained
/// epochs, when the run does not continue it (`--fresh`, or `--out` another trained file).
struct Guard {
    epochs: usize,
}

impl Guard {
    /// Whether `state` may replace the destination.
    fn allows(guard: Option<&Guard>, state: &Experiment) -> bool {
        guard.is_none_or(|g| state.history.len() >= g.epochs.max(1))
    }
}

/// Returns what to print on success.
pub fn train(args: TrainArgs) -> Result<String> {
    if let Some(epochs) = args.epochs
        && !(1..=MAX_EPOCHS).contains(&epochs)
    {
        anyhow::bail!("--epochs {epochs} is out of range; train for 1 to {MAX_EPOCHS} epochs");
    }
    let (experiment, base_dir) = load_experiment(&args.file)?;
    let out = args.out.clone().unwrap_or_else(|| args.file.clone());
    // The destination is checked before minutes are spent training into a folder, a read-only
    // file or a path that is not there.
    let destination = Destination::open(&out, args.overwrite)?;
    let same_file = match (
        std::fs::canonicalize(&args.file),
        std::fs::canonicalize(experiment::io::resolve_links(&out)),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let guard = destination
        .existing()
        .filter(|d| d.weights.is_some() && (args.fresh || !same_file) && !args.overwrite)
        .map(|d| Guard {
            epochs: d.history.len(),
        });
    let out_dir = experiment::base_dir(&out);
    let destination = Arc::new(destination);
    let guard = Arc::new(guard);
    let checkpoint = {
        let (destination, guard, from, to) = (destination.clone(), guard.clone(), base_dir.clone(), out_dir.clone());
        Checkpoint(Arc::new(move |state: &Experiment| {
            if !Guard::allows(guard.as_ref().as_ref(), state) {
                return Ok(());
            }
            let mut state = state.clone();
            relocate(&mut state, &from, &to);
            destination
                .save(&state)
                .map(|_| ())
                .map_err(|e| format!("the checkpoint after epoch {} was not saved: {e}", state.history.len()))
        }))
    };
    let options = RunOptions {
        base_dir: base_dir.clone(),
        epochs: args.epochs,
        data: args.data.clone(),
        seed: args.seed,
        fresh: args.fresh,
        start_paused: false,
        score_after_stop: false,
        checkpoint: Some(checkpoint),
    };
    // Ctrl-C and SIGTERM stop after the current batch and save; a second one quits at once
    // (saves are atomic: the file is then the previous one or the last checkpoint).
    let signals = Arc::new(AtomicUsize::new(0));
    {
        let count = signals.clone();
        // A second handler cannot be installed (e.g. in tests calling this twice); then Ctrl-C
        // keeps its default behaviour.
        let _ = ctrlc::set_handler(move || {
            if count.fetch_add(1, Ordering::SeqCst) >= 1 {
                eprintln!("interrupted again: quitting without saving this run");
                std::process::exit(130);
            }
        });
    }
    // What one sample is, in the progress lines.
    let (samples, per) = experiment.input.shape().sample_names();
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
    let mut warnings = Vec::new();
    let result = loop {
        if signals.load(Ordering::SeqCst) > 0 && !stop_sent {
            trainer.send(Control::Stop);
            stop_sent = true;
            let then = if guard.is_some() {
                // Whether it may replace the file is decided when it has stopped.
                "the run so far is saved unless the file holds more training"
            } else {
                "the run so far will be saved"
            };
            say(format!(
                "stopping after this batch (Ctrl-C or SIGTERM; again to quit at once); {then}"
            ));
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
                    "training epochs {first_epoch}–{last_epoch} on {train_samples} {samples} ({val_samples} validation, {test_samples} test)"
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
                    "loss {loss:.4} acc {:.1}% {images_per_sec:.0} {per}/s",
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
            Event::Diverged(message) => say(format!("warning: {message}")),
            Event::Warning(message) => {
                say(format!("warning: {message}"));
                warnings.push(message);
            }
            Event::Finished(result) => break result.map(|b| *b),
            Event::Weights { .. } | Event::Paused(_) | Event::Resumed | Event::Stopped(_) | Event::Scoring { .. } => {}
        }
    };
    bar.finish_and_clear();
    let (mut trained, summary) = result?;
    let finished = !summary.stopped && summary.diverged.is_none();
    if let Some(guard) = guard.as_ref()
        && !finished
        && !Guard::allows(Some(guard), &trained)
    {
        let how = if summary.stopped { "was stopped" } else { "diverged" };
        let why = summary.diverged.as_deref().map_or(String::new(), |d| format!(" ({d})"));
        anyhow::bail!(
            "the run {how} after {} finished epoch(s){why}, and {} holds a model trained for {} epoch(s): that file was \
             kept and this run was not saved; train again with --overwrite to replace it, or with --out NEW.ron to keep both",
            trained.history.len(),
            out.display(),
            guard.epochs
        );
    }
    let mut notes = relocate(&mut trained, &base_dir, &out_dir);
    notes.extend(destination.save(&trained)?);
    if !args.json {
        for note in &notes {
            eprintln!("note: {}", printable(note));
        }
    }
    Ok(report(&summary, &out, args.json, &warnings, &notes, samples))
}

/// The run in words (or JSON); `samples` names what was trained on ("images", "sequences").
fn report(
    s: &RunSummary,
    out: &std::path::Path,
    as_json: bool,
    warnings: &[String],
    notes: &[String],
    samples: &str,
) -> String {
    if as_json {
        return json!({
            "warnings": warnings,
            "notes": notes,
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
        "{} epoch(s) in {:.1} s ({:.0} {samples}/s): train loss {:.4}, accuracy {:.2}%",
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
