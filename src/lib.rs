//! CNN Lab: build, train and look inside convolutional neural networks.
//!
//! Dependencies point one way: `cnn` (engine) ← `data` ← `experiment` ← `training` ← app.
//! `interop` (ONNX, Keras) converts experiments to and from other tools; the CLI and the app use it.
//! `perf` (measurement) sits beside them and drives the engine, the trainer and the window.
pub mod app;
pub mod cli;
pub mod cnn;
pub mod data;
pub mod experiment;
pub mod inspect;
pub mod interop;
pub mod perf;
pub mod training;
