//! The background trainer (`cnn_lab::training::Trainer`) as the app and the CLI drive it: the
//! event stream, pause / step / resume / stop, changing the learning rate, divergence, a crashing
//! worker, dropping the handle, resuming a stopped run, and determinism.

mod support;

use cnn_lab::cnn::{LrSchedule, OptimizerKind};
use cnn_lab::data::SHAPE_CLASSES;
use cnn_lab::experiment::{DatasetSource, Experiment};
use cnn_lab::training::{Control, Event, Progress, RunOptions, Trainer, TrainingError};
use std::time::Duration;
use support::*;

/// Guards against a hung worker; never reached when things work.
const HANG: Duration = Duration::from_secs(60);
/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_millis(300);

fn next(trainer: &Trainer) -> Event {
    trainer
        .recv_timeout(HANG)
        .unwrap_or_else(|e| panic!("no event from the trainer: {e:?}"))
}

/// Reads events until `Paused`; returns the events before it and the paused position.
fn until_paused(trainer: &Trainer) -> (Vec<Event>, Progress) {
    let mut seen = Vec::new();
    loop {
        match next(trainer) {
            Event::Paused(p) => return (seen, p),
            Event::Finished(r) => panic!("finished while waiting for Paused: {:?}", r.map(|b| b.1)),
            e => seen.push(e),
        }
    }
}

fn batches(events: &[Event]) -> Vec<(Progress, f32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Batch {
                progress,
                learning_rate,
                ..
            } => Some((*progress, *learning_rate)),
            _ => None,
        })
        .collect()
}

/// Events arriving until `QUIET` passes without one (a paused worker sends none); at most 50.
fn quiet_events(trainer: &Trainer) -> Vec<Event> {
    let mut seen = Vec::new();
    while seen.len() < 50
        && let Ok(e) = trainer.recv_timeout(QUIET)
    {
        seen.push(e);
    }
    seen
}

/// A tiny run long enough that it never ends on its own during a test.
fn endless() -> Experiment {
    let mut e = tiny_experiment();
    e.training.epochs = 100_000;
    e
}

/// Like [`tiny_experiment`] but with 90 batches per epoch (2,400 images, 2,160 after the
/// validation split, batches of 24), so that a pause requested right after spawning lands well
/// inside the first epoch.
fn long_epochs() -> Experiment {
    let mut e = tiny_experiment();
    if let cnn_lab::experiment::DatasetSource::Synthetic(spec) = &mut e.dataset {
        spec.n_train = 2400;
    }
    e
}
const LONG_BATCHES: usize = 90;

/// Where a freshly spawned, paused trainer stopped.
struct PausedAt {
    trainer: Trainer,
    at: Progress,
    /// Batches that ran before the Pause command was read.
    batches_before: usize,
}

/// Spawns and asks for a pause at once. The worker reads commands between batches, so it may
/// run a batch or a few before it sees the request (there is no way to start paused); tests
/// work from wherever it paused.
fn spawn_paused(e: Experiment) -> PausedAt {
    // A run resumed mid-epoch starts where it stopped.
    let start_batch = e
        .resume
        .as_ref()
        .and_then(|r| r.position.as_ref())
        .map_or(0, |p| p.batches_done);
    let trainer = Trainer::spawn(e, RunOptions::default()).unwrap();
    trainer.send(Control::Pause);
    let (before, at) = until_paused(&trainer);
    assert!(
        matches!(before.as_slice(), [Event::Preparing(_), Event::Started { .. }, ..]),
        "{before:?}"
    );
    let ran = batches(&before);
    if let Some((last, _)) = ran.last() {
        assert_eq!(
            (last.epoch, last.batch),
            (at.epoch, at.batch),
            "paused after the last batch"
        );
    } else {
        assert_eq!(
            at.batch, start_batch,
            "paused before the run's first batch: {before:?} {at:?}"
        );
    }
    PausedAt {
        trainer,
        at,
        batches_before: ran.len(),
    }
}

/// Spawns paused inside epoch 1 (see [`long_epochs`]).
fn spawn_paused_in_first_epoch(e: Experiment) -> PausedAt {
    let p = spawn_paused(e);
    assert!(
        p.at.epoch == 1 && p.at.batch + 10 < p.at.batches,
        "the pause landed too late to test from: {:?}",
        p.at
    );
    p
}

/// One Step: the events it caused and where it paused again.
fn step(trainer: &Trainer) -> (Vec<Event>, Progress) {
    trainer.send(Control::Step);
    until_paused(trainer)
}

fn stop(trainer: Trainer) -> (Experiment, cnn_lab::training::RunSummary) {
    trainer.send(Control::Stop);
    trainer.wait(|_| {}).unwrap()
}

#[test]
fn events_arrive_in_order_and_agree_with_the_result() {
    let (events, result) = run_collect(tiny_experiment(), RunOptions::default());
    let (trained, summary) = result.unwrap();
    let mut it = events.iter();
    assert!(matches!(it.next(), Some(Event::Preparing(_))));
    match it.next() {
        Some(Event::Started {
            first_epoch,
            last_epoch,
            batches_per_epoch,
            train_samples,
            val_samples,
            test_samples,
            class_names,
        }) => {
            assert_eq!((*first_epoch, *last_epoch), (1, 3));
            assert_eq!(*batches_per_epoch, TINY_BATCHES);
            assert_eq!((*train_samples, *val_samples, *test_samples), (216, 24, 60));
            assert_eq!(class_names, &SHAPE_CLASSES.map(String::from).to_vec());
        }
        other => panic!("expected Started, got {other:?}"),
    }
    let mut records = Vec::new();
    let mut last_weights = None;
    for epoch in 1..=3 {
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for batch in 1..=TINY_BATCHES {
            match it.next() {
                Some(Event::Batch {
                    progress,
                    loss,
                    accuracy,
                    images_per_sec,
                    learning_rate,
                }) => {
                    let want = Progress {
                        epoch,
                        last_epoch: 3,
                        batch,
                        batches: TINY_BATCHES,
                    };
                    assert_eq!(*progress, want);
                    assert!(loss.is_finite() && *loss > 0.0);
                    assert!((0.0..=1.0).contains(accuracy));
                    assert!(*images_per_sec > 0.0);
                    assert_eq!(*learning_rate, 0.01);
                    loss_sum += *loss as f64 * 24.0;
                    correct += (accuracy * 24.0).round() as usize;
                }
                other => panic!("expected batch {batch} of epoch {epoch}, got {other:?}"),
            }
        }
        match it.next() {
            Some(Event::Epoch(r)) => {
                assert_eq!(r.epoch, epoch);
                assert_eq!(r.train_loss, (loss_sum / 216.0) as f32, "the mean of the batch losses");
                assert_eq!(r.train_accuracy, correct as f32 / 216.0);
                assert!(r.val_loss.is_some_and(f32::is_finite));
                assert!(r.val_accuracy.is_some_and(|a| (0.0..=1.0).contains(&a)));
                assert_eq!(r.learning_rate, 0.01);
                records.push(r.clone());
            }
            other => panic!("expected the record of epoch {epoch}, got {other:?}"),
        }
        match it.next() {
            Some(Event::Weights { progress, values }) => {
                assert_eq!((progress.epoch, progress.batch), (epoch, TINY_BATCHES));
                assert_eq!(values.len(), 4);
                last_weights = Some(values.clone());
            }
            other => panic!("expected weights after epoch {epoch}, got {other:?}"),
        }
    }
    assert!(matches!(it.next(), Some(Event::Preparing(m)) if m.contains("test")));
    // Scoring the test split reports its progress, batch by batch, up to every sample.
    let mut scored = 0;
    let finished = loop {
        match it.next() {
            Some(Event::Scoring { done, total }) => {
                assert!(*done > scored && done <= total, "{done} of {total} after {scored}");
                scored = *done;
                assert_eq!(*total, 60);
            }
            other => break other,
        }
    };
    assert_eq!(scored, 60, "the scoring reached the last test image");
    assert!(matches!(finished, Some(Event::Finished(Ok(_)))));
    assert!(it.next().is_none(), "Finished is the last event");

    assert_eq!(trained.history, records);
    assert_bit_identical(
        &decoded_weights(&trained),
        &last_weights.unwrap(),
        "result vs last Weights event",
    );
    assert_eq!(trained.filter_snapshots.len(), 4, "initial + one per epoch");
    assert_eq!(
        trained.filter_snapshots.iter().map(|s| s.epoch).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert_eq!(trained.class_names, SHAPE_CLASSES.map(String::from).to_vec());
    assert!(trained.resume.is_none(), "a finished run leaves nothing to resume");
    assert_eq!(summary.epochs_run, 3);
    assert_eq!(summary.train_loss, records[2].train_loss);
    assert_eq!(summary.train_accuracy, records[2].train_accuracy);
    assert_eq!(summary.val_accuracy, records[2].val_accuracy);
    assert!(summary.test_accuracy.is_some_and(|a| (0.0..=1.0).contains(&a)));
    assert!(!summary.stopped && summary.diverged.is_none());
    assert!(summary.images_per_sec > 0.0 && summary.wall_secs > 0.0);
    assert!(records[2].train_loss < records[0].train_loss, "it learns: {records:?}");
}

#[test]
fn pause_stops_the_batches_and_resume_continues_them() {
    let PausedAt { trainer, at, .. } = spawn_paused_in_first_epoch(long_epochs());
    let quiet = quiet_events(&trainer);
    assert!(quiet.is_empty(), "a paused worker sends nothing: {quiet:?}");

    trainer.send(Control::Resume);
    assert!(matches!(next(&trainer), Event::Resumed));
    let mut seen = Vec::new();
    while batches(&seen).len() < 3 {
        seen.push(next(&trainer));
    }
    let progress: Vec<_> = batches(&seen).iter().map(|(p, _)| (p.epoch, p.batch)).collect();
    let b = at.batch;
    assert_eq!(
        progress,
        vec![(1, b + 1), (1, b + 2), (1, b + 3)],
        "batches continue in order"
    );

    // Pausing a running worker: a Paused event, then silence.
    trainer.send(Control::Pause);
    let (before, at) = until_paused(&trainer);
    let last = batches(&before).last().map(|(p, _)| *p);
    if let Some(last) = last {
        // Right after the last batch, or at the start of the next epoch if that batch ended one.
        let right_after = (last.epoch, last.batch) == (at.epoch, at.batch)
            || (last.batch == last.batches && (at.epoch, at.batch) == (last.epoch + 1, 0));
        assert!(right_after, "paused at {at:?} after batch {last:?}");
    }
    let quiet = quiet_events(&trainer);
    assert!(batches(&quiet).is_empty(), "no batches while paused: {quiet:?}");

    trainer.send(Control::Resume);
    assert!(matches!(next(&trainer), Event::Resumed));
    let mut seen = Vec::new();
    while batches(&seen).len() < 2 {
        seen.push(next(&trainer));
    }
    let first = batches(&seen)[0].0;
    let after = |p: Progress| (p.epoch, p.batch) > (at.epoch, at.batch);
    assert!(
        after(first),
        "training resumes after the pause point: {first:?} vs {at:?}"
    );
    let (_, summary) = stop(trainer);
    assert!(summary.stopped);
}

#[test]
fn step_while_paused_runs_exactly_one_batch_then_pauses_again() {
    let PausedAt {
        trainer,
        at: start,
        batches_before,
    } = spawn_paused_in_first_epoch(long_epochs());
    for k in 1..=4 {
        let (events, at) = step(&trainer);
        let b = batches(&events);
        assert_eq!(b.len(), 1, "step {k}: exactly one batch, got {events:?}");
        assert_eq!((b[0].0.epoch, b[0].0.batch), (1, start.batch + k));
        assert_eq!((at.epoch, at.batch), (1, start.batch + k));
        let quiet = quiet_events(&trainer);
        assert!(quiet.is_empty(), "step {k}: paused again, nothing more: {quiet:?}");
    }
    let (e, summary) = stop(trainer);
    assert!(summary.stopped);
    assert_eq!(
        e.resume.as_ref().map(|r| r.iterations),
        Some(batches_before as u64 + 4),
        "one update per batch"
    );
}

/// Stepping through the end of an epoch must still run one batch per step: the step after the
/// last batch of epoch 1 runs batch 1 of epoch 2.
#[test]
fn step_runs_one_batch_per_step_across_an_epoch_boundary() {
    let PausedAt { trainer, at, .. } = spawn_paused(endless());
    let mut ran = Vec::new();
    let mut now = at;
    while ran.len() < 2 * TINY_BATCHES && now.epoch < 3 {
        let (events, at) = step(&trainer);
        let b = batches(&events);
        assert_eq!(
            b.len(),
            1,
            "a step from epoch {}, batch {} (after stepping through {ran:?}) ran {} batches; now paused at epoch {}, batch {}",
            now.epoch,
            now.batch,
            b.len(),
            at.epoch,
            at.batch
        );
        ran.push((b[0].0.epoch, b[0].0.batch));
        now = at;
    }
    assert!(
        ran.iter().any(|&(epoch, _)| epoch > at.epoch),
        "crossed an epoch: {ran:?}"
    );
    stop(trainer);
}

#[test]
fn request_weights_sends_the_current_weights_after_the_next_batch() {
    let PausedAt { trainer, at, .. } = spawn_paused_in_first_epoch(long_epochs());
    trainer.send(Control::RequestWeights);
    let (events, _) = step(&trainer);
    let values = match events.as_slice() {
        [Event::Batch { progress: b, .. }, Event::Weights { progress: w, values }] => {
            assert_eq!(b, w);
            assert_eq!((w.epoch, w.batch), (1, at.batch + 1));
            values.clone()
        }
        other => panic!("expected Batch then Weights, got {other:?}"),
    };
    let (e, _) = stop(trainer);
    assert_bit_identical(&decoded_weights(&e), &values, "nothing ran after the request");
}

#[test]
fn set_learning_rate_changes_the_rate_of_the_next_batches() {
    let PausedAt { trainer, .. } = spawn_paused_in_first_epoch(long_epochs());
    let lr_of_step = |t: &Trainer| {
        let (events, _) = step(t);
        let b = batches(&events);
        assert_eq!(b.len(), 1);
        b[0].1
    };
    assert_eq!(lr_of_step(&trainer), 0.01);
    trainer.send(Control::SetLearningRate(0.002));
    assert_eq!(lr_of_step(&trainer), 0.002);
    // Nonsense rates are ignored.
    for bad in [f32::NAN, f32::INFINITY, -1.0, 0.0] {
        trainer.send(Control::SetLearningRate(bad));
    }
    assert_eq!(lr_of_step(&trainer), 0.002);
    // The epoch record shows the new rate too.
    trainer.send(Control::Resume);
    let record = loop {
        if let Event::Epoch(r) = next(&trainer) {
            break r;
        }
    };
    assert_eq!(record.learning_rate, 0.002);
    stop(trainer);
}

#[test]
fn set_learning_rate_changes_the_base_of_the_schedule() {
    let mut e = long_epochs();
    e.training.epochs = 4;
    e.training.schedule = LrSchedule::Cosine { final_fraction: 0.1 };
    let schedule = e.training.schedule.clone();
    let PausedAt { trainer, .. } = spawn_paused_in_first_epoch(e);
    let expected =
        |base: f32, p: Progress| schedule.lr(base, (p.epoch - 1) as f32 + p.batch as f32 / p.batches as f32, 4);
    let (events, _) = step(&trainer);
    let (p, lr) = batches(&events)[0];
    assert_eq!(lr, expected(0.01, p));
    assert!(lr < 0.01, "the cosine has started to fall: {lr}");
    trainer.send(Control::SetLearningRate(0.5));
    let (events, _) = step(&trainer);
    let (p, lr) = batches(&events)[0];
    assert_eq!(lr, expected(0.5, p));
    stop(trainer);
}

#[test]
fn stop_keeps_what_was_learned_and_a_second_run_resumes_to_the_asked_epochs() {
    let PausedAt {
        trainer,
        batches_before,
        ..
    } = spawn_paused(tiny_experiment());
    // Step into epoch 2 so that epoch 1 is complete and recorded.
    let mut steps_run = batches_before as u64;
    loop {
        let (events, at) = step(&trainer);
        steps_run += batches(&events).len() as u64;
        if at.epoch == 2 {
            break;
        }
    }
    let (stopped, summary) = stop(trainer);
    assert!(summary.stopped);
    assert!(summary.diverged.is_none());
    assert_eq!(stopped.history.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1]);
    assert!(stopped.weights.is_some());
    let resume = stopped.resume.clone().expect("a stopped run saves where it was");
    assert_eq!((resume.epochs_done, resume.last_epoch), (1, 3));
    assert_eq!(resume.iterations, steps_run);
    let moments = resume.decode().unwrap();
    let sizes = [4 * 9, 4, 100 * 6, 6];
    assert_eq!(moments.m.iter().map(Vec::len).collect::<Vec<_>>(), sizes);
    assert_eq!(
        moments.v.iter().map(Vec::len).collect::<Vec<_>>(),
        sizes,
        "Adam's second moments"
    );
    assert!(moments.m.iter().flatten().any(|&x| x != 0.0));
    assert!(moments.v.iter().flatten().all(|&x| x >= 0.0) && moments.v.iter().flatten().any(|&x| x > 0.0));

    // The saved file resumes: the optimizer state continues (more steps on top of it).
    let text = cnn_lab::experiment::to_text(&stopped);
    let reloaded = cnn_lab::experiment::parse(&text, std::path::Path::new("stopped.ron")).unwrap();
    assert_eq!(reloaded, stopped);
    let PausedAt {
        trainer,
        at,
        batches_before,
    } = spawn_paused(reloaded.clone());
    assert_eq!(at.epoch, 2, "the second run starts at epoch 2: {at:?}");
    let mut more = batches_before as u64;
    for _ in 0..2 {
        let (events, at) = step(&trainer);
        more += batches(&events).len() as u64;
        assert_eq!(at.epoch, 2);
    }
    let (again, _) = stop(trainer);
    let r = again.resume.unwrap();
    assert_eq!((r.epochs_done, r.last_epoch), (1, 3));
    assert_eq!(
        r.iterations,
        steps_run + more,
        "the update count continues from the saved state"
    );

    // Resumed to the end: the history continues its numbering and ends at the asked 3 epochs.
    let (events, result) = run_collect(reloaded, RunOptions::default());
    let (done, summary) = result.unwrap();
    let started = events.iter().find_map(|e| match e {
        Event::Started {
            first_epoch,
            last_epoch,
            ..
        } => Some((*first_epoch, *last_epoch)),
        _ => None,
    });
    assert_eq!(started, Some((2, 3)));
    assert_eq!(done.history.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(done.history[0], stopped.history[0], "the first epoch's record is kept");
    assert!(done.resume.is_none());
    assert_eq!(summary.epochs_run, 2);
    assert!(!summary.stopped);
}

/// "The optimizer state of a stopped run so it resumes exactly" (README): stopping a few batches
/// into epoch 1 and training the result again must end where an uninterrupted run ends.
#[test]
fn a_run_stopped_mid_epoch_resumes_exactly() {
    let mut e = long_epochs();
    e.training.epochs = 2;
    let (uninterrupted, _) = train(e.clone(), RunOptions::default());

    let PausedAt {
        trainer,
        batches_before,
        ..
    } = spawn_paused_in_first_epoch(e);
    for _ in 0..3 {
        step(&trainer);
    }
    let (stopped, _) = stop(trainer);
    let ran = batches_before as u64 + 3;
    assert_eq!(stopped.resume.as_ref().map(|r| r.iterations), Some(ran));
    let (resumed, _) = train(stopped, RunOptions::default());
    assert_eq!(resumed.history.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1, 2]);
    assert_bit_identical(
        &decoded_weights(&resumed),
        &decoded_weights(&uninterrupted),
        &format!("stopped after {ran} of {LONG_BATCHES} batches, resumed, vs uninterrupted"),
    );
}

/// Stopping while paused after the last batch of an epoch: every batch of that epoch ran, so the
/// epoch counts (it is recorded, and a resumed run does not train it again).
#[test]
fn stopping_after_the_last_batch_of_an_epoch_keeps_that_epoch() {
    let mut e = tiny_experiment();
    e.training.epochs = 2;
    let PausedAt { trainer, mut at, .. } = spawn_paused(e);
    assert_eq!(at.epoch, 1, "paused in epoch 1: {at:?}");
    while at.batch < TINY_BATCHES {
        let (_, now) = step(&trainer);
        at = now;
    }
    assert_eq!((at.epoch, at.batch), (1, TINY_BATCHES));
    let (stopped, _) = stop(trainer);
    let resume = stopped.resume.clone().unwrap();
    assert_eq!(resume.iterations, TINY_BATCHES as u64);
    assert_eq!(
        (stopped.history.len(), resume.epochs_done),
        (1, 1),
        "all {TINY_BATCHES} batches of epoch 1 ran, but the epoch was not recorded"
    );
}

#[test]
fn explicit_epochs_extend_a_finished_run_and_numbering_continues() {
    let mut e = tiny_experiment();
    e.training.epochs = 2;
    let (first, _) = train(e, RunOptions::default());
    assert_eq!(first.history.len(), 2);
    let options = RunOptions {
        epochs: Some(2),
        ..RunOptions::default()
    };
    let (second, summary) = train(first.clone(), options);
    assert_eq!(
        second.history.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(summary.epochs_run, 2);
    assert_bits_differ(
        &decoded_weights(&second),
        &decoded_weights(&first),
        "more epochs changed the weights",
    );
    // `fresh` starts over from the seed.
    let options = RunOptions {
        epochs: Some(1),
        fresh: true,
        ..RunOptions::default()
    };
    let (fresh, _) = train(second, options);
    assert_eq!(fresh.history.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1]);
}

fn diverged_messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Diverged(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Arrays holding non-finite values, as (array index, how many).
fn non_finite(weights: &[Vec<f32>]) -> Vec<(usize, usize)> {
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| (i, w.iter().filter(|v| !v.is_finite()).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn a_huge_learning_rate_diverges_with_a_message_and_finite_weights() {
    let mut e = project("shapes_edges.ron");
    e.training.optimizer = OptimizerKind::sgd(0.9);
    e.training.learning_rate = 1e6;
    e.training.epochs = 2;
    e.training.max_train_samples = Some(512);
    let (events, result) = run_collect(e, RunOptions::default());
    let diverged = diverged_messages(&events);
    assert_eq!(diverged.len(), 1, "one Diverged event");
    let message = &diverged[0];
    assert!(message.contains("learning rate 1000000"), "{message}");
    assert!(message.contains("lower it (try 100000)"), "{message}");
    let (e, summary) = result.unwrap();
    assert_eq!(summary.diverged.as_ref(), Some(message));
    assert!(!summary.stopped);
    // Nothing trained after the divergence, and Finished still comes last.
    let at = events.iter().position(|e| matches!(e, Event::Diverged(_))).unwrap();
    assert!(batches(&events[at..]).is_empty());
    assert!(matches!(events.last(), Some(Event::Finished(Ok(_)))));
    assert_eq!(non_finite(&decoded_weights(&e)), vec![], "non-finite weights were kept");
}

/// The Diverged event promises "the weights from before that batch": they must be weights that
/// still compute something, i.e. give a finite loss, not the ones that produced the NaN.
#[test]
fn after_divergence_the_kept_weights_still_give_a_finite_loss() {
    let mut e = tiny_experiment();
    e.training.optimizer = OptimizerKind::sgd(0.9);
    e.training.learning_rate = 1e20;
    let (events, result) = run_collect(e, RunOptions::default());
    assert_eq!(diverged_messages(&events).len(), 1);
    let (e, _) = result.unwrap();
    assert_eq!(non_finite(&decoded_weights(&e)), vec![]);
    let data = cnn_lab::experiment::load_dataset(&e, std::path::Path::new("."), None).unwrap();
    let mut model = e.build_model(6, std::path::Path::new(".")).unwrap();
    let scored = cnn_lab::training::evaluate(
        &mut model,
        data.test.as_ref().unwrap(),
        e.input.shape(),
        &e.training.normalization,
    )
    .unwrap();
    assert!(
        scored.loss.is_finite(),
        "the kept weights give a test loss of {} (largest |weight| {:e})",
        scored.loss,
        decoded_weights(&e).iter().flatten().fold(0f32, |m, v| m.max(v.abs()))
    );
}

/// With a piecewise-linear model the loss can explode by ten orders of magnitude without ever
/// overflowing: SGD at 1e6 on the tiny model goes from about 1.8 to about 1e11 in one batch.
/// That is divergence too, and the user should be told.
#[test]
fn a_loss_that_explodes_without_overflowing_is_reported_as_divergence() {
    let mut e = tiny_experiment();
    e.training.optimizer = OptimizerKind::sgd(0.9);
    e.training.learning_rate = 1e6;
    e.training.epochs = 2;
    let (events, result) = run_collect(e, RunOptions::default());
    let losses: Vec<f32> = events
        .iter()
        .filter_map(|e| match e {
            Event::Batch { loss, .. } => Some(*loss),
            _ => None,
        })
        .collect();
    let (_, summary) = result.unwrap();
    assert!(
        summary.diverged.is_some() && diverged_messages(&events).len() == 1,
        "no divergence reported; batch losses {:?}…, final train loss {}, accuracy {}",
        &losses[..losses.len().min(4)],
        summary.train_loss,
        summary.train_accuracy
    );
}

#[test]
fn filter_snapshots_start_at_the_initial_weights_and_stay_bounded() {
    let mut e = tiny_experiment();
    e.training.epochs = 60;
    let initial = cnn_lab::cnn::Model::build(e.input.shape(), &e.layers, Some(6), e.seed).unwrap();
    let (trained, _) = train(e, RunOptions::default());
    let snaps = &trained.filter_snapshots;
    assert!(
        snaps.len() <= cnn_lab::experiment::MAX_SNAPSHOTS,
        "{} snapshots",
        snaps.len()
    );
    assert!(snaps.len() >= 20, "thinned, not emptied: {}", snaps.len());
    let epochs: Vec<usize> = snaps.iter().map(|s| s.epoch).collect();
    assert_eq!(epochs.first(), Some(&0));
    assert_eq!(epochs.last(), Some(&60));
    assert!(epochs.windows(2).all(|w| w[0] < w[1]), "{epochs:?}");
    for s in snaps {
        assert_eq!((s.layer, s.weights.layer, s.weights.name.as_str()), (0, 0, "kernel"));
        assert_eq!(s.weights.dims, vec![4, 1, 3, 3]);
    }
    let kernel = |s: &cnn_lab::experiment::FilterSnapshot| s.weights.decode().unwrap();
    assert_bit_identical(
        &[kernel(&snaps[0])],
        &[initial.weights()[0].clone()],
        "snapshot 0 vs the initial kernel",
    );
    assert_bit_identical(
        &[kernel(snaps.last().unwrap())],
        &[decoded_weights(&trained)[0].clone()],
        "last snapshot vs the final kernel",
    );
}

#[test]
fn a_crash_in_the_worker_becomes_an_error_and_the_caller_carries_on() {
    let trainer = Trainer::spawn(endless(), RunOptions::default()).unwrap();
    loop {
        if let Event::Batch { .. } = next(&trainer) {
            break;
        }
    }
    trainer.send(Control::InjectPanic);
    let result = trainer.wait(|_| {});
    let error = result.expect_err("the crash is an error");
    assert!(matches!(error, TrainingError::Panicked(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("crashed"), "{message}");
    assert!(message.contains("injected by a test"), "{message}");
    // The caller's thread is fine, and so is the next run.
    let (e, summary) = train(tiny_experiment(), RunOptions::default());
    assert_eq!(summary.epochs_run, 3);
    assert!(e.weights.is_some());
}

#[test]
fn setup_errors_finish_with_a_message_and_no_training() {
    let cases: Vec<(Experiment, &str)> = vec![
        (
            {
                let mut e = tiny_experiment();
                e.training.batch_size = 0;
                e
            },
            "batch_size",
        ),
        (
            {
                let mut e = tiny_experiment();
                e.training.learning_rate = f32::NAN;
                e
            },
            "learning_rate",
        ),
        (
            {
                let mut e = tiny_experiment();
                e.training.validation_split = 1.0;
                e
            },
            "validation_split",
        ),
        (
            {
                let mut e = tiny_experiment();
                e.dataset = DatasetSource::Bundled("cifar-1000".into());
                e
            },
            "cifar-1000",
        ),
        (
            {
                let mut e = tiny_experiment();
                e.dataset = DatasetSource::Path("/definitely/not/here".into());
                e
            },
            "/definitely/not/here",
        ),
        (
            {
                let mut e = tiny_experiment();
                e.layers.pop();
                e
            },
            "Dense(6)",
        ),
    ];
    for (e, needle) in cases {
        let (events, result) = run_collect(e, RunOptions::default());
        let message = result
            .err()
            .unwrap_or_else(|| panic!("{needle}: expected an error"))
            .to_string();
        assert!(message.contains(needle), "{needle}: {message}");
        assert!(batches(&events).is_empty(), "{needle}: nothing trained");
        assert!(matches!(events.last(), Some(Event::Finished(Err(_)))));
    }
}

#[test]
fn the_same_file_and_seed_give_bit_identical_weights() {
    let mut e = project("shapes_edges.ron");
    e.training.epochs = 1;
    e.training.max_train_samples = Some(256);
    let (a, sa) = train(e.clone(), RunOptions::default());
    let (b, sb) = train(e.clone(), RunOptions::default());
    assert_bit_identical(&decoded_weights(&a), &decoded_weights(&b), "two runs of one file");
    assert_eq!(a.history[0].train_loss.to_bits(), b.history[0].train_loss.to_bits());
    assert_eq!(sa.test_accuracy, sb.test_accuracy);
    // The seed given as an option is the seed in the file: same result.
    let same_seed = RunOptions {
        seed: Some(e.seed),
        ..RunOptions::default()
    };
    let (c, _) = train(e.clone(), same_seed);
    assert_bit_identical(&decoded_weights(&c), &decoded_weights(&a), "seed option = file seed");
    // Another seed: other weights (so the comparison above can fail).
    let other_seed = RunOptions {
        seed: Some(e.seed + 1),
        ..RunOptions::default()
    };
    let (d, _) = train(e, other_seed);
    assert_eq!(d.seed, 2);
    assert_bits_differ(&decoded_weights(&d), &decoded_weights(&a), "another seed");
}

#[test]
fn two_runs_at_the_same_time_do_not_disturb_each_other() {
    let (alone, _) = train(tiny_experiment(), RunOptions::default());
    let t1 = Trainer::spawn(tiny_experiment(), RunOptions::default()).unwrap();
    let t2 = Trainer::spawn(tiny_experiment(), RunOptions::default()).unwrap();
    let (r2, _) = t2.wait(|_| {}).unwrap();
    let (r1, _) = t1.wait(|_| {}).unwrap();
    assert_bit_identical(
        &decoded_weights(&r1),
        &decoded_weights(&alone),
        "run 1 next to run 2 vs alone",
    );
    assert_bit_identical(
        &decoded_weights(&r2),
        &decoded_weights(&alone),
        "run 2 next to run 1 vs alone",
    );
}

// ---------------------------------------------------------------------------------------------
// Dropping the handle. Checked in a child process running only this test, so that the
// trainer threads of other tests (running in parallel) are not counted.

const CHILD_ENV: &str = "CNN_LAB_TEST_DROP_CHILD";

/// Live threads named like the worker, from /proc (Linux).
fn trainer_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc is available")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "cnn-lab-trainer")
        .count()
}

fn drop_scenarios() {
    // Start rayon's pool from this thread: its threads inherit the name of the thread that
    // starts them, and must not be counted as trainers.
    assert!(rayon::current_num_threads() >= 1);
    assert_eq!(trainer_threads(), 0);
    // Mid-run, after a batch.
    let trainer = Trainer::spawn(endless(), RunOptions::default()).unwrap();
    while !matches!(next(&trainer), Event::Batch { .. }) {}
    assert_eq!(trainer_threads(), 1, "the worker thread is visible while it runs");
    drop(trainer);
    assert_eq!(trainer_threads(), 0, "dropped mid-run: the worker has ended");

    // While paused (the worker is blocked waiting for a command).
    let paused = spawn_paused(endless());
    drop(paused.trainer);
    assert_eq!(trainer_threads(), 0, "dropped while paused: the worker has ended");

    // Nobody ever reads the events: they pile up (the queue may fill and block the worker).
    let trainer = Trainer::spawn(endless(), RunOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(trainer);
    assert_eq!(trainer_threads(), 0, "dropped with unread events: the worker has ended");

    // After it finished on its own.
    let trainer = Trainer::spawn(tiny_experiment(), RunOptions::default()).unwrap();
    while !matches!(next(&trainer), Event::Finished(_)) {}
    drop(trainer);
    assert_eq!(trainer_threads(), 0);
    println!("drop scenarios passed");
}

#[test]
fn dropping_a_trainer_ends_its_worker() {
    if std::env::var_os(CHILD_ENV).is_some() {
        drop_scenarios();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "dropping_a_trainer_ends_its_worker",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("drop scenarios passed"),
        "the child ran the scenarios:\n{stdout}"
    );
}

#[test]
fn a_run_stopped_with_score_after_stop_hands_its_result_over_before_scoring_and_a_second_stop_cancels() {
    let options = RunOptions {
        score_after_stop: true,
        ..RunOptions::default()
    };
    let trainer = Trainer::spawn(tiny_experiment(), options).unwrap();
    // The first Stop ends the training, the second (read after the first batch of scoring)
    // cancels the scoring of the test split.
    trainer.send(Control::Stop);
    trainer.send(Control::Stop);
    let mut stopped = None;
    let mut scoring_events = 0;
    while let Some(event) = trainer.recv() {
        match event {
            Event::Stopped(result) => stopped = Some(result),
            Event::Scoring { .. } => {
                assert!(stopped.is_some(), "the result comes before the scoring");
                scoring_events += 1;
            }
            Event::Finished(result) => {
                let (experiment, summary) = *result.unwrap();
                let (early, early_summary) = *stopped.expect("Stopped came before Finished");
                assert_eq!(experiment.weights, early.weights, "the same result, twice");
                assert!(early.weights.is_some());
                assert!(early_summary.stopped && early_summary.test_accuracy.is_none());
                assert!(summary.stopped);
                assert!(summary.test_accuracy.is_none(), "the second Stop cancelled the scoring");
                assert_eq!(scoring_events, 1, "cancelled after its first batch");
                return;
            }
            _ => {}
        }
    }
    panic!("no Finished event");
}

#[test]
fn a_pause_sends_the_weights_it_pauses_on() {
    let p = spawn_paused_in_first_epoch(long_epochs());
    let (events, at) = step(&p.trainer);
    let weights: Vec<Progress> = events
        .iter()
        .filter_map(|e| match e {
            Event::Weights { progress, .. } => Some(*progress),
            _ => None,
        })
        .collect();
    // The listener (the app's rooms) sees the weights of the batch the run paused after, not
    // the ones it last asked for.
    assert_eq!(weights.last(), Some(&at), "{events:?}");
    stop(p.trainer);
}
