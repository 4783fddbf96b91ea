//! Reference architectures used by benchmarks, tests and the bundled experiments.

use super::Shape;
use super::spec::{Conv2D, Dense, Flatten, LayerSpec, Pool2D};

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
