//! The background trainer: a named thread that owns the model and the data, obeys commands
//! between batches and streams events. The CLI's progress bar and the app's plots are two
//! listeners of the same loop.

use super::error::TrainingError;
use super::evaluate::{evaluate, evaluate_with};
use super::events::{Checkpoint, Control, Event, Progress, RunSummary};
use crate::cnn::{Model, Optimizer, Shape, Tensor};
use crate::data::{Batcher, Split, split_validation};
use crate::experiment::{
    EpochPosition, EpochRecord, Experiment, FilterSnapshot, MAX_SNAPSHOTS, MemoryUse, ResumeState, ValueError,
    WeightArray, load_dataset, weights_of,
};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Overrides for one run (the command line's flags).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Relative paths in the experiment are resolved from here (the file's folder).
    pub base_dir: PathBuf,
    /// Train this many epochs instead of `training.epochs`.
    pub epochs: Option<usize>,
    /// Use this dataset path instead of the experiment's.
    pub data: Option<PathBuf>,
    pub seed: Option<u64>,
    /// Ignore saved weights, history and resume state: train from the seed.
    pub fresh: bool,
    /// Wait for `Resume` or `Step` before the first batch (the app's step-by-step mode).
    pub start_paused: bool,
    /// When stopped, send the result at once (`Event::Stopped`) and score the test split
    /// after it (the app: Stop returns at once, scoring goes on in the background).
    pub score_after_stop: bool,
    /// Saves the run after every epoch but the last (see `Checkpoint`).
    pub checkpoint: Option<Checkpoint>,
}

/// Events waiting beyond this are dropped if they are per-batch (the listener is slow); all
/// other events wait for room.
const EVENT_QUEUE: usize = 4096;

/// The handle the caller keeps. Dropping it stops the worker and waits for it.
pub struct Trainer {
    commands: Sender<Control>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Trainer {
    pub fn spawn(experiment: Experiment, options: RunOptions) -> std::io::Result<Trainer> {
        let (command_tx, command_rx) = mpsc::channel();
        let (event_tx, event_rx) = mpsc::sync_channel(EVENT_QUEUE);
        let thread = std::thread::Builder::new()
            .name("cnn-lab-trainer".into())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(experiment, options, &command_rx, &event_tx)
                }));
                let result = match outcome {
                    Ok(result) => result.map(Box::new),
                    Err(panic) => Err(TrainingError::Panicked(panic_message(panic.as_ref()))),
                };
                let _ = event_tx.send(Event::Finished(result));
            })?;
        Ok(Trainer {
            commands: command_tx,
            events: event_rx,
            thread: Some(thread),
        })
    }

    /// Sends a command; a worker that has already finished ignores it.
    pub fn send(&self, command: Control) {
        let _ = self.commands.send(command);
    }

    pub fn try_recv(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// Waits for the next event; `None` once the worker is gone and every event was read.
    pub fn recv(&self) -> Option<Event> {
        self.events.recv().ok()
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Result<Event, RecvTimeoutError> {
        self.events.recv_timeout(timeout)
    }

    /// Reads events until `Finished` and returns its result (the CLI and tests use this).
    pub fn wait(self, mut on_event: impl FnMut(&Event)) -> Result<(Experiment, RunSummary), TrainingError> {
        while let Some(event) = self.recv() {
            on_event(&event);
            if let Event::Finished(result) = event {
                return result.map(|b| *b);
            }
        }
        Err(TrainingError::NoResult)
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        let _ = self.commands.send(Control::Stop);
        // Unblock a worker waiting for room in the event queue.
        while self.events.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let handle = std::thread::spawn(move || thread.join());
            // Give the worker a moment to finish its batch; never hang the caller forever.
            let deadline = Instant::now() + Duration::from_secs(10);
            while !handle.is_finished() && Instant::now() < deadline {
                while self.events.try_recv().is_ok() {}
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// What the command loop decided.
enum Flow {
    Continue,
    Stop,
}

struct Worker<'a> {
    commands: &'a Receiver<Control>,
    events: &'a SyncSender<Event>,
    paused: bool,
    step_once: bool,
    base_lr: f32,
    weights_requested: bool,
    /// A `Stop` read early (by `read_commands`), acted on at the next `between_batches`.
    stop_requested: bool,
}

impl Worker<'_> {
    /// Sends an event that must arrive; `false` if nobody listens any more.
    fn emit(&self, event: Event) -> bool {
        self.events.send(event).is_ok()
    }

    /// Per-batch events may be dropped when the listener falls behind.
    fn emit_lossy(&self, event: Event) -> bool {
        !matches!(self.events.try_send(event), Err(TrySendError::Disconnected(_)))
    }

    fn apply(&mut self, command: Control) -> Flow {
        match command {
            Control::Pause => self.paused = true,
            Control::Resume => {
                self.paused = false;
                self.emit(Event::Resumed);
            }
            Control::Stop => return Flow::Stop,
            Control::Step => {
                self.step_once = true;
            }
            Control::SetLearningRate(lr) if lr.is_finite() && lr > 0.0 => self.base_lr = lr,
            Control::SetLearningRate(_) => {}
            Control::RequestWeights => self.weights_requested = true,
            Control::InjectPanic => panic!("injected by a test"),
        }
        Flow::Continue
    }

    /// Applies the commands waiting, without blocking; a `Stop` is kept for `between_batches`.
    fn read_commands(&mut self) {
        while !self.stop_requested {
            match self.commands.try_recv() {
                Ok(c) => {
                    if let Flow::Stop = self.apply(c) {
                        self.stop_requested = true;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.stop_requested = true,
            }
        }
    }

    /// Whether the run is about to wait (pause, step) or end: the listener then gets the
    /// weights it will be looking at.
    fn about_to_wait(&self) -> bool {
        self.paused || self.step_once || self.stop_requested
    }

    /// Drains pending commands; while paused, blocks until told to resume, step or stop.
    fn between_batches(&mut self, progress: Progress) -> Flow {
        self.read_commands();
        if self.stop_requested {
            return Flow::Stop;
        }
        if self.step_once {
            self.step_once = false;
            self.paused = true;
            return Flow::Continue;
        }
        if self.paused {
            if !self.emit(Event::Paused(progress)) {
                return Flow::Stop;
            }
            while self.paused {
                match self.commands.recv() {
                    Ok(c) => {
                        if let Flow::Stop = self.apply(c) {
                            return Flow::Stop;
                        }
                        if self.step_once {
                            self.step_once = false;
                            return Flow::Continue;
                        }
                    }
                    Err(_) => return Flow::Stop,
                }
            }
        }
        Flow::Continue
    }
}

/// The first layer whose kernel is a stack of image filters (the filter room's timeline), or
/// else of 1-D filters (a sequence model's Conv1D).
fn first_conv(model: &Model) -> Option<usize> {
    let specs = model.specs();
    specs
        .iter()
        .position(|s| s.config().has_image_filters())
        .or_else(|| specs.iter().position(|s| s.config().has_sequence_filters()))
}

fn filter_snapshot(model: &Model, epoch: usize) -> Option<FilterSnapshot> {
    let layer = first_conv(model)?;
    let kernel = model.layers()[layer]
        .params()
        .into_iter()
        .find(|p| p.name == "kernel")?;
    Some(FilterSnapshot {
        epoch,
        layer,
        weights: WeightArray::encode(layer, "kernel", &kernel.dims, &kernel.value),
    })
}

/// The first parameter array holding NaN or infinity: (layer index, layer kind, parameter name).
fn first_non_finite(model: &Model) -> Option<(usize, &'static str, &'static str)> {
    model.layers().iter().enumerate().find_map(|(i, layer)| {
        layer
            .params()
            .into_iter()
            .find(|p| !p.value.iter().all(|v| v.is_finite()))
            .map(|p| (i, model.specs()[i].kind(), p.name))
    })
}

/// Keeps the snapshot list bounded: drops every other middle snapshot when it is full.
fn push_snapshot(snapshots: &mut Vec<FilterSnapshot>, snapshot: FilterSnapshot) {
    if snapshots.len() >= MAX_SNAPSHOTS {
        let last = snapshots.len() - 1;
        let mut i = 0;
        snapshots.retain(|_| {
            let keep = i == 0 || i == last || i % 2 == 0;
            i += 1;
            keep
        });
    }
    snapshots.push(snapshot);
}

fn run(
    mut experiment: Experiment,
    options: RunOptions,
    commands: &Receiver<Control>,
    events: &SyncSender<Event>,
) -> Result<(Experiment, RunSummary), TrainingError> {
    let started = Instant::now();
    if let Some(seed) = options.seed {
        experiment.seed = seed;
    }
    if options.fresh {
        experiment.forget_training();
    }
    experiment.check_values()?;
    experiment.check_memory(MemoryUse::Training)?;
    // The model first: a broken architecture or damaged weights are reported before any data
    // is decoded.
    let early_model = experiment.model_before_data(&options.base_dir, options.data.as_deref())?;
    let mut worker = Worker {
        commands,
        events,
        paused: options.start_paused,
        step_once: false,
        base_lr: experiment.training.learning_rate,
        weights_requested: false,
        stop_requested: false,
    };
    worker.emit(Event::Preparing(format!(
        "loading {}",
        options
            .data
            .as_ref()
            .map_or_else(|| experiment.dataset.label(), |p| p.display().to_string())
    )));
    let dataset = load_dataset(&experiment, &options.base_dir, options.data.as_deref())?;
    let input: Shape = experiment.input.shape();
    let classes = dataset.num_classes();
    let mut model = experiment.model_for(early_model, classes, &options.base_dir)?;
    experiment.class_names = dataset.class_names.clone();
    experiment.vocabulary = dataset.vocabulary().cloned();
    for warning in &dataset.warnings {
        worker.emit(Event::Warning(warning.clone()));
    }
    let t = experiment.training.clone();
    let (mut train, val) = split_validation(&dataset.train, t.validation_split, experiment.seed);
    if let Some(max) = t.max_train_samples.filter(|&m| m < train.len()) {
        // A stratified, seeded subset: the first `max` images could leave out whole classes
        // (image folders are stored class by class).
        let dropped = 1.0 - max as f32 / train.len() as f32;
        train = split_validation(&train, dropped, experiment.seed ^ 0x5EED).0;
    }
    if train.is_empty() {
        return Err(TrainingError::NoTrainingImages {
            dataset: experiment.dataset.label(),
        });
    }
    let mut optimizer = Optimizer::new(t.optimizer.clone(), t.weight_decay);
    let done = experiment.history.len();
    let first_epoch = done + 1;
    let last_epoch = match (&experiment.resume, options.epochs) {
        (Some(resume), None) if resume.last_epoch > done && experiment.weights.is_some() => resume.last_epoch,
        (_, Some(epochs)) => done.saturating_add(epochs),
        _ => done.saturating_add(t.epochs),
    };
    let mut resume_position = None;
    if let Some(resume) = experiment.resume.take().filter(|_| experiment.weights.is_some()) {
        optimizer.state = resume.decode().map_err(TrainingError::Resume)?;
        resume_position = resume.position.clone();
    }
    let (h, w) = input.spatial();
    let batcher = Batcher::new(&train, (input.channels(), h, w), t.batch_size)?
        .shuffle(experiment.seed)
        .normalization(&t.normalization)
        .augmentation(t.augmentation.clone());
    let batches = batcher.num_batches();
    if let Some(p) = resume_position.as_ref().filter(|p| p.batches_done >= batches) {
        return Err(crate::experiment::SetupError::from(ValueError {
            field: "resume position batches_done".into(),
            value: p.batches_done.to_string(),
            rule: format!(
                "an epoch has {batches} batches; the saved run cannot be resumed: train with --fresh, or remove the `resume` section"
            ),
        })
        .into());
    }
    if !worker.emit(Event::Started {
        first_epoch,
        last_epoch,
        batches_per_epoch: batches,
        train_samples: train.len(),
        val_samples: val.len(),
        test_samples: dataset.test.as_ref().map_or(0, Split::len),
        class_names: dataset.class_names.clone(),
    }) {
        return Err(TrainingError::NobodyListening);
    }
    if experiment.filter_snapshots.is_empty()
        && let Some(s) = filter_snapshot(&model, 0)
    {
        push_snapshot(&mut experiment.filter_snapshots, s);
    }

    let (mut images, mut labels) = (Vec::new(), Vec::new());
    let mut train_secs = 0.0f64;
    let mut trained_images = 0usize;
    let mut stopped = false;
    let mut diverged = None;
    let mut last_record: Option<EpochRecord> = None;
    // `good` holds the newest weights known to give a finite loss; `candidate` the weights about
    // to be tried. A diverging batch restores `good`.
    let (mut good, mut candidate) = (Vec::new(), Vec::new());
    model.weights_into(&mut good);
    let mut first_loss: Option<f32> = None;
    let mut stopped_at: Option<EpochPosition> = None;
    // Commands are read after every batch (and once before the first): a pause shows where the
    // run stands, and a stop after an epoch's last batch keeps that epoch.
    let start = Progress {
        epoch: first_epoch,
        last_epoch,
        batch: resume_position.as_ref().map_or(0, |p| p.batches_done),
        batches,
    };
    if let Flow::Stop = worker.between_batches(start) {
        stopped = true;
        stopped_at = resume_position.take();
    }
    'epochs: for epoch in first_epoch..=last_epoch {
        if stopped {
            break;
        }
        let epoch_start = Instant::now();
        let mut iter = batcher.epoch(epoch as u64);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut lr = worker.base_lr;
        let mut batch = 0;
        // A run stopped mid-epoch continues exactly: the epoch's order and augmentation are
        // replayed (and skipped) up to where it stopped.
        if let Some(pos) = resume_position.take().filter(|p| p.epoch == epoch) {
            while batch < pos.batches_done && iter.next_batch(&mut images, &mut labels).is_some() {
                batch += 1;
            }
            (loss_sum, correct, seen) = (pos.loss_sum, pos.correct, pos.seen);
        }
        while let Some(n) = iter.next_batch(&mut images, &mut labels) {
            batch += 1;
            let progress = Progress {
                epoch,
                last_epoch,
                batch,
                batches,
            };
            lr = t.schedule.lr(
                worker.base_lr,
                (epoch - 1) as f32 + batch as f32 / batches as f32,
                last_epoch,
            );
            model.weights_into(&mut candidate);
            let step_start = Instant::now();
            let x = Tensor::from_vec(n, input, std::mem::take(&mut images)).ok_or(TrainingError::BatchShape)?;
            let stats = model.train_step(&x, &labels, &mut optimizer, lr);
            images = x.into_vec();
            let step_secs = step_start.elapsed().as_secs_f64();
            let reference = *first_loss.get_or_insert(stats.loss);
            // Cross-entropy starts near ln(classes); a loss a thousand times its first value has
            // left any useful region even if it is still finite.
            let exploded = stats.loss.is_finite() && stats.loss > 1000.0 * reference.max(1.0);
            // A finite loss can hide NaN weights (ReLU's max(0, NaN) is 0): check them too.
            let broken = if stats.loss.is_finite() && !exploded {
                first_non_finite(&model)
            } else {
                None
            };
            if !stats.loss.is_finite() || exploded || broken.is_some() {
                model.set_weights(&good)?;
                let what = match broken {
                    Some((layer, kind, name)) => {
                        format!("weights of layer {} ({kind}) {name} became NaN or infinite", layer + 1)
                    }
                    None if exploded => format!("loss exploded to {:.3e}", stats.loss),
                    None => format!("loss became {}", stats.loss),
                };
                let message = format!(
                    "the {what} at epoch {epoch}, batch {batch}: training diverged, most likely because the learning rate {lr} is too high; \
                     lower it (try {}) and train again. The last weights that gave a finite loss are kept.",
                    lr / 10.0
                );
                worker.emit(Event::Diverged(message.clone()));
                diverged = Some(message);
                break 'epochs;
            }
            std::mem::swap(&mut good, &mut candidate);
            train_secs += step_secs;
            trained_images += n;
            loss_sum += stats.loss as f64 * n as f64;
            correct += stats.correct;
            seen += n;
            let event = Event::Batch {
                progress,
                loss: stats.loss,
                accuracy: stats.accuracy(),
                images_per_sec: (n as f64 / step_secs.max(1e-9)) as f32,
                learning_rate: lr,
            };
            if !worker.emit_lossy(event) {
                stopped = true;
                break 'epochs;
            }
            // A pause shows the weights it paused on, not the last ones asked for.
            worker.read_commands();
            if worker.weights_requested || worker.about_to_wait() {
                worker.weights_requested = false;
                worker.emit(Event::Weights {
                    progress,
                    values: model.weights(),
                });
            }
            // After an epoch's last batch, the epoch is recorded before commands are read.
            if batch < batches
                && let Flow::Stop = worker.between_batches(progress)
            {
                stopped = true;
                stopped_at = Some(EpochPosition {
                    epoch,
                    batches_done: batch,
                    loss_sum,
                    correct,
                    seen,
                });
                break 'epochs;
            }
        }
        let val_eval = if val.is_empty() {
            None
        } else {
            Some(evaluate(&mut model, &val, input, &t.normalization)?)
        };
        let record = EpochRecord {
            epoch,
            train_loss: (loss_sum / seen.max(1) as f64) as f32,
            train_accuracy: correct as f32 / seen.max(1) as f32,
            val_loss: val_eval.as_ref().map(|e| e.loss),
            val_accuracy: val_eval.as_ref().map(|e| e.accuracy),
            learning_rate: lr,
            seconds: epoch_start.elapsed().as_secs_f32(),
        };
        experiment.history.push(record.clone());
        if let Some(s) = filter_snapshot(&model, epoch) {
            push_snapshot(&mut experiment.filter_snapshots, s);
        }
        worker.emit(Event::Epoch(record.clone()));
        worker.emit(Event::Weights {
            progress: Progress {
                epoch,
                last_epoch,
                batch,
                batches,
            },
            values: model.weights(),
        });
        last_record = Some(record);
        if epoch < last_epoch
            && let Some(Checkpoint(save)) = &options.checkpoint
        {
            let mut state = experiment.clone();
            state.resume = Some(ResumeState::encode(state.history.len(), last_epoch, &optimizer.state));
            state.weights = Some(weights_of(&model));
            if let Err(message) = save(&state) {
                worker.emit(Event::Warning(message));
            }
        }
        if epoch < last_epoch
            && let Flow::Stop = worker.between_batches(Progress {
                epoch,
                last_epoch,
                batch,
                batches,
            })
        {
            stopped = true;
            break;
        }
    }

    let epochs_done = experiment.history.len();
    experiment.resume = (epochs_done < last_epoch).then(|| {
        let mut state = ResumeState::encode(epochs_done, last_epoch, &optimizer.state);
        state.position = stopped_at;
        state
    });
    experiment.weights = Some(weights_of(&model));
    let mut summary = RunSummary {
        epochs_run: epochs_done + 1 - first_epoch.min(epochs_done + 1),
        train_loss: last_record.as_ref().map_or(f32::NAN, |r| r.train_loss),
        train_accuracy: last_record.as_ref().map_or(0.0, |r| r.train_accuracy),
        val_accuracy: last_record.as_ref().and_then(|r| r.val_accuracy),
        test_accuracy: None,
        wall_secs: started.elapsed().as_secs_f64(),
        images_per_sec: trained_images as f64 / train_secs.max(1e-9),
        stopped,
        diverged,
    };
    if let Some(test) = dataset.test.as_ref().filter(|t| !t.is_empty()) {
        if stopped && options.score_after_stop {
            worker.emit(Event::Stopped(Box::new((experiment.clone(), summary.clone()))));
        }
        // The Stop that ended the run is spent; a new one cancels the scoring.
        worker.stop_requested = false;
        worker.emit(Event::Preparing("scoring the test split".into()));
        let scored = evaluate_with(&mut model, test, input, &t.normalization, &mut |done, total| {
            worker.emit_lossy(Event::Scoring { done, total });
            worker.read_commands();
            !worker.stop_requested
        })?;
        summary.test_accuracy = scored.map(|e| e.accuracy);
    }
    Ok((experiment, summary))
}

/// What a caught panic said (its `&str` or `String` payload), for error messages.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::LayerSpec;
    use crate::cnn::spec::{Conv1D, Dense, GlobalAveragePooling1D};

    #[test]
    fn a_sequence_model_snapshots_its_first_conv1d_kernels() {
        let specs = [
            LayerSpec::Dense(Dense::new(4)),
            LayerSpec::Conv1D(Conv1D::new(3, 5)),
            LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
            LayerSpec::Dense(Dense::new(2)),
        ];
        let model = Model::build(Shape::sequence(20, 2), &specs, Some(2), 1).unwrap();
        let snapshot = filter_snapshot(&model, 0).unwrap();
        assert_eq!(snapshot.layer, 1);
        assert_eq!(snapshot.weights.dims, [3, 4, 5]);
    }
}
