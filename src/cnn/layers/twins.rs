//! Twins across dimensions: Conv2D ↔ Conv1D, MaxPooling2D ↔ MaxPooling1D, … The one-click fix
//! for a 2-D layer fed a sequence (or a 1-D layer fed an image) swaps the layer for its twin,
//! keeping its settings; this is the only place that knows which kinds pair up.

use super::LayerSpec;
use super::conv1d::Conv1D;
use super::conv2d::Conv2D;
use super::global_average_pooling1d::GlobalAveragePooling1D;
use super::global_average_pooling2d::GlobalAveragePooling2D;
use super::global_max_pooling1d::GlobalMaxPooling1D;
use super::global_max_pooling2d::GlobalMaxPooling2D;
use super::pooling1d::Pool1D;
use super::pooling2d::{Pool2D, PoolKind};
use crate::cnn::geometry::Padding;

impl LayerSpec {
    /// This layer as its twin `kind` of the other dimension, settings kept (a square window
    /// from a 1-D one, the columns of a 2-D one); `None` if `kind` is not its twin.
    pub fn twin(&self, kind: &str) -> Option<LayerSpec> {
        let twin = match self {
            LayerSpec::Conv2D(c) => LayerSpec::Conv1D(Conv1D {
                filters: c.filters,
                kernel_size: c.kernel_size.1,
                strides: c.strides.1,
                padding: c.padding,
                dilation_rate: 1,
                activation: c.activation,
                use_bias: c.use_bias,
                kernel_initializer: c.kernel_initializer,
                trainable: c.trainable,
            }),
            LayerSpec::Conv1D(c) => LayerSpec::Conv2D(Conv2D {
                filters: c.filters,
                kernel_size: (c.kernel_size, c.kernel_size),
                strides: (c.strides, c.strides),
                // Images have no past to pad: 'same' keeps the size as 'causal' did.
                padding: if c.padding == Padding::Causal {
                    Padding::Same
                } else {
                    c.padding
                },
                activation: c.activation,
                use_bias: c.use_bias,
                kernel_initializer: c.kernel_initializer,
                trainable: c.trainable,
            }),
            LayerSpec::MaxPooling2D(p) => LayerSpec::MaxPooling1D(to_1d(p)),
            LayerSpec::MaxPooling1D(p) => LayerSpec::MaxPooling2D(to_2d(p)),
            LayerSpec::AveragePooling2D(p) => LayerSpec::AveragePooling1D(to_1d(p)),
            LayerSpec::AveragePooling1D(p) => LayerSpec::AveragePooling2D(to_2d(p)),
            LayerSpec::GlobalAveragePooling2D(_) => LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
            LayerSpec::GlobalAveragePooling1D(_) => LayerSpec::GlobalAveragePooling2D(GlobalAveragePooling2D),
            LayerSpec::GlobalMaxPooling2D(_) => LayerSpec::GlobalMaxPooling1D(GlobalMaxPooling1D),
            LayerSpec::GlobalMaxPooling1D(_) => LayerSpec::GlobalMaxPooling2D(GlobalMaxPooling2D),
            _ => return None,
        };
        (twin.kind() == kind).then_some(twin)
    }
}

fn to_1d<K: PoolKind>(p: &Pool2D<K>) -> Pool1D<K> {
    let pool = Pool1D::new(p.pool_size.1).padding(p.padding);
    match p.strides {
        Some((_, s)) => pool.strides(s),
        None => pool,
    }
}

fn to_2d<K: PoolKind>(p: &Pool1D<K>) -> Pool2D<K> {
    let (k, padding) = (p.pool_size, p.padding);
    Pool2D::with((k, k), p.strides.map(|s| (s, s)), padding)
}
