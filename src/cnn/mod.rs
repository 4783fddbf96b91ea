//! The CNN engine: tensors, shapes, layers, shape inference, model, loss and optimizers.
//! Pure Rust on `ndarray` + `rayon`; no GUI and no file formats.

pub mod activation;
pub mod aligned;
pub mod conv_algo;
pub mod direct;
pub mod error;
pub mod gemm;
pub mod geometry;
pub mod init;
pub mod layers;
pub mod loss;
pub mod model;
pub mod numbers;
pub mod optim;
pub mod shape;
pub mod simd;
pub mod spec;
pub mod summary;
pub mod tensor;
pub mod winograd;
pub mod zoo;

pub use error::{ArchError, QuickFix, WeightsError};
pub use layers::{Family, Field, Footprint, Incoming, Inferred, Init, Layer, LayerKind, Mode, Param, ParamKind};
pub use loss::{LossStats, softmax_cross_entropy};
pub use model::{LayerObserver, Model, Objective, Pass};
pub use optim::{LrSchedule, Optimizer, OptimizerKind, OptimizerState};
pub use shape::Shape;
pub use spec::{Activation, Initializer, LayerSpec, Padding};
pub use summary::{Analysis, LayerInfo, ModelSummary, analyze, infer};
pub use tensor::Tensor;
