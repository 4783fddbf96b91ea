//! Reference architectures used by benchmarks, tests and the bundled experiments.

use super::Shape;
use super::spec::{Conv1D, Conv2D, Dense, Flatten, GlobalAveragePooling1D, LayerSpec, MaxPooling1D, Padding, Pool2D};

/// LeNet-style MNIST model: 28×28×1 → 10 classes, 27,562 parameters.
pub fn lenet() -> (Shape, Vec<LayerSpec>) {
    (
        Shape::image(28, 28, 1),
        vec![
            LayerSpec::Conv2D(Conv2D::new(8, 3).relu()),
            LayerSpec::MaxPooling2D(Pool2D::new(2)),
            LayerSpec::Conv2D(Conv2D::new(16, 3).relu()),
            LayerSpec::MaxPooling2D(Pool2D::new(2)),
            LayerSpec::Flatten(Flatten),
            LayerSpec::Dense(Dense::new(64).relu()),
            LayerSpec::Dense(Dense::new(10)),
        ],
    )
}

/// A VGG-style CIFAR-10 model: 32×32×3 → 10 classes, two blocks of two `same` convolutions.
pub fn cifar() -> (Shape, Vec<LayerSpec>) {
    (
        Shape::image(32, 32, 3),
        vec![
            LayerSpec::Conv2D(Conv2D::new(32, 3).same().relu()),
            LayerSpec::Conv2D(Conv2D::new(32, 3).same().relu()),
            LayerSpec::MaxPooling2D(Pool2D::new(2)),
            LayerSpec::Conv2D(Conv2D::new(64, 3).same().relu()),
            LayerSpec::Conv2D(Conv2D::new(64, 3).same().relu()),
            LayerSpec::MaxPooling2D(Pool2D::new(2)),
            LayerSpec::Flatten(Flatten),
            LayerSpec::Dense(Dense::new(128).relu()),
            LayerSpec::Dense(Dense::new(10)),
        ],
    )
}

/// A 1-D CNN for signals: 128 steps × 1 channel → 10 classes, three `same` convolutions (the
/// last dilated) with max pooling, then global average pooling.
pub fn signals() -> (Shape, Vec<LayerSpec>) {
    (
        Shape::sequence(128, 1),
        vec![
            LayerSpec::Conv1D(Conv1D::new(16, 7).padding(Padding::Same).relu()),
            LayerSpec::MaxPooling1D(MaxPooling1D::new(2)),
            LayerSpec::Conv1D(Conv1D::new(32, 5).padding(Padding::Same).relu()),
            LayerSpec::MaxPooling1D(MaxPooling1D::new(2)),
            LayerSpec::Conv1D(Conv1D::new(64, 3).padding(Padding::Same).dilation(2).relu()),
            LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
            LayerSpec::Dense(Dense::new(10)),
        ],
    )
}
