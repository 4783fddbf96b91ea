//! Measurement, kept beside the code it measures rather than inside it: the engine benchmark
//! (`cnn-lab bench`), the window benchmark (`cnn-lab bench-ui`) and its frame statistics, and
//! per-layer timing of a training step.

pub mod engine;
pub mod frames;
pub mod layers;
