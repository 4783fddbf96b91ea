//! Training in the background: a worker thread that owns the model and the data, takes
//! commands and streams events; plus evaluation (accuracy, per-class, confusion matrix).

pub mod error;
pub mod evaluate;
pub mod events;
pub mod worker;

pub use error::TrainingError;
pub use evaluate::{Evaluation, evaluate, evaluate_with};
pub use events::{Checkpoint, Control, Event, Progress, RunSummary};
pub use worker::{RunOptions, Trainer, panic_message};
