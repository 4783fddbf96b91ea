//! Why a model cannot go out to, or come in from, another tool: one sentence naming the problem
//! and what to do about it.

use crate::cnn::ArchError;
use crate::experiment::ExperimentError;
use std::path::PathBuf;
use thiserror::Error;

/// The largest `.onnx` file CNN Lab reads: far above any model it can train (the cifar model
/// is under 1 MB), small enough that a hostile file cannot make it allocate without bound.
pub const MAX_ONNX_BYTES: u64 = 512 * 1024 * 1024;

/// The most nodes a graph may have: a sequential CNN has a few dozen.
pub const MAX_NODES: usize = 10_000;

#[derive(Debug, Error)]
pub enum InteropError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}; nothing was written", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{} is {size} bytes, more than the {MAX_ONNX_BYTES} bytes CNN Lab opens; is it really a small CNN?", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{} is not an ONNX model ({reason}); export it again with torch.onnx.export or tf2onnx", path.display())]
    NotOnnx { path: PathBuf, reason: String },
    #[error("{}: {problem}", path.display())]
    In { path: PathBuf, problem: Box<InteropError> },
    /// A node CNN Lab cannot represent.
    #[error("node \"{node}\" ({op}): {problem}; CNN Lab supports {supported}")]
    Unsupported {
        node: String,
        op: String,
        problem: String,
        supported: String,
    },
    /// A graph that is not one chain of layers.
    #[error(
        "the graph is not one chain of layers: {0}; CNN Lab opens sequential models (one input, one output, each layer feeding the next)"
    )]
    NotSequential(String),
    /// A malformed value inside an otherwise readable model.
    #[error("{problem}; {fix}")]
    Malformed { problem: String, fix: String },
    #[error("the imported layers do not make a valid CNN Lab model: {0}")]
    Model(#[source] ArchError),
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    #[error("{0}")]
    Weights(String),
}

impl InteropError {
    pub(crate) fn malformed(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        InteropError::Malformed {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// The same problem, said of the file at `path`.
    pub fn in_file(self, path: &std::path::Path) -> Self {
        match self {
            e @ (InteropError::Read { .. }
            | InteropError::Write { .. }
            | InteropError::TooLarge { .. }
            | InteropError::NotOnnx { .. }
            | InteropError::In { .. }) => e,
            other => InteropError::In {
                path: path.into(),
                problem: Box::new(other),
            },
        }
    }
}
