//! Measurement, kept beside the code it measures rather than inside it: the engine benchmark
//! (`cnn-lab bench`), the window benchmark (`cnn-lab bench-ui`) and its frame statistics.
//! The app knows of a benchmark only through `app::FrameObserver`.

pub mod engine;
pub mod frames;
