//! Models in and out: ONNX export and import, and the Keras route (a training script with the
//! weights in Keras layout, and the trained weights brought back). One file per format; they
//! convert between the format and `Experiment` (layers via `LayerSpec`, weights via
//! `WeightArray`), and the engine does not change.
//!
//! Files depend one way: `onnx_proto` (generated) and `error` ← `onnx_read` ← `onnx_export` ←
//! `onnx_import`; `npz` ← `keras_weights` (which asks `onnx_export` for the output size) ← `keras`.

pub mod error;
pub mod keras;
pub mod keras_weights;
pub mod npz;
pub mod onnx_export;
pub mod onnx_import;
pub mod onnx_proto;
pub mod onnx_read;

pub use error::InteropError;
pub use keras::export_keras;
pub use keras_weights::import_weights;
pub use onnx_export::{OnnxOptions, export_onnx, onnx_bytes, onnx_model};
pub use onnx_import::{ImportOptions, import_onnx, import_onnx_bytes};
