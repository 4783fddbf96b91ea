//! CNN Lab: build, train and look inside convolutional neural networks.
//!
//! Dependencies point one way: `cnn` (engine) ← `data` ← `experiment` ← `training` ← app.
//! `perf` (measurement) sits beside them and drives the engine, the trainer and the window.
pub mod app;
pub mod cli;
pub mod cnn;
pub mod data;
pub mod experiment;
pub mod inspect;
pub mod perf;
pub mod training;
