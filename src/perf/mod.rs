//! Measurement, kept beside the code it measures rather than inside it: the engine benchmark
//! (`cnn-lab bench`) with the machine's FMA peak, the window benchmark (`cnn-lab bench-ui`) with its frame statistics and
//! CPU accounting, and per-layer timing of a training step. The app knows of a benchmark only
//! through `app::FrameObserver`; the engine only through `cnn::LayerObserver`.
//!
//! Files depend one way: `system` ← `meter` ← `window_report` ← `window`, with `frames` beside.

pub mod conv;
pub mod engine;
pub mod frames;
pub mod layers;
mod meter;
pub mod peak;
mod system;
pub mod window;
pub mod window_report;

pub use engine::BenchReport;
pub use frames::{FrameStats, FrameSummary, Spread};
pub use layers::{LayerTime, layer_times};
pub use meter::Throughput;
pub use peak::fma_peak_gflops;
pub use system::name_pool_threads;
pub use window::BenchUiOptions;
pub use window_report::{BenchUiReport, PhaseReport, WindowSummary};
