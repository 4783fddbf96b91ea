//! Layer kinds, one file each: the config the user writes (Keras names and defaults), its shape
//! rule, its runtime forward and backward passes, its editor fields and its tests. The list
//! below registers them; [`LayerKind`] is what each one provides.
//!
//! Every runtime layer writes its output into a tensor the model owns and reuses between steps,
//! so a training step allocates nothing once the batch size is fixed.

#[cfg(test)]
mod conv2d_paths;
mod im2col;
pub mod kind;
pub mod pooling1d;
pub mod pooling2d;
mod registry;
mod twins;

use super::tensor::Tensor;

pub use activation::ActivationLayer;
pub use average_pooling2d::AvgPool;
pub use batch_normalization::BatchNorm;
pub use conv2d::Conv2DLayer;
pub use dense::DenseLayer;
pub use dropout::DropoutLayer;
pub use embedding::EmbeddingLayer;
pub use flatten::FlattenLayer;
pub use global_average_pooling2d::GlobalAvgPool;
pub use kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind};
pub use max_pooling2d::MaxPool;

// The layer kinds, in palette order: `Name(module::Config)` declares the module (the kind's
// file), adds the `LayerSpec::Name` variant written in `.ron` files, and puts it in the palette.
registry::layer_kinds! {
    Conv2D(conv2d::Conv2D),
    MaxPooling2D(max_pooling2d::MaxPooling2D),
    AveragePooling2D(average_pooling2d::AveragePooling2D),
    BatchNormalization(batch_normalization::BatchNormalization),
    Activation(activation::Activation),
    GlobalAveragePooling2D(global_average_pooling2d::GlobalAveragePooling2D),
    GlobalMaxPooling2D(global_max_pooling2d::GlobalMaxPooling2D),
    Flatten(flatten::Flatten),
    Dense(dense::Dense),
    Dropout(dropout::Dropout),
    Conv1D(conv1d::Conv1D),
    MaxPooling1D(max_pooling1d::MaxPooling1D),
    AveragePooling1D(average_pooling1d::AveragePooling1D),
    GlobalAveragePooling1D(global_average_pooling1d::GlobalAveragePooling1D),
    GlobalMaxPooling1D(global_max_pooling1d::GlobalMaxPooling1D),
    Embedding(embedding::Embedding),
}

/// Training uses batch statistics and dropout; inference uses running statistics and no dropout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Infer,
}

/// What a parameter is for: the optimizer updates weights and biases, never running state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Kernels: updated, and decayed when weight decay is on.
    Weight,
    /// Biases, BatchNormalization's gamma and beta: updated, never decayed.
    Bias,
    /// BatchNormalization's moving mean and variance: saved, never updated by the optimizer.
    State,
}

/// A named array of values and, for trainable kinds, its gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: &'static str,
    /// Dimensions, e.g. (filters, c_in, kh, kw) for a conv kernel or (in, out) for a dense kernel.
    pub dims: Vec<usize>,
    pub kind: ParamKind,
    pub value: Vec<f32>,
    pub grad: Vec<f32>,
}

impl Param {
    pub fn new(name: &'static str, dims: Vec<usize>, kind: ParamKind) -> Self {
        let len = dims.iter().product();
        let grad = if kind == ParamKind::State {
            Vec::new()
        } else {
            vec![0.0; len]
        };
        Param {
            name,
            dims,
            kind,
            value: vec![0.0; len],
            grad,
        }
    }

    pub fn len(&self) -> usize {
        self.value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// One layer of a sequential model.
pub trait Layer: Send {
    /// Keras class name.
    fn kind(&self) -> &'static str;

    /// `y = layer(x)`. `y` is resized by the layer. Caches what `backward` needs.
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, mode: Mode);

    /// In inference, this layer's output followed by a plain max pool (2×2, stride 2 on
    /// images; 2 steps, stride 2 on sequences; no padding), written to `y` without keeping the
    /// layer's own output (the model asks where the next layer
    /// [`is_plain_max_pool`](Layer::is_plain_max_pool)). `false`, with nothing done, for a
    /// layer that cannot.
    fn forward_pooled(&mut self, _x: &Tensor, _y: &mut Tensor) -> bool {
        false
    }

    /// Whether this layer is a plain max pool (see [`Layer::forward_pooled`]), which the layer
    /// before it may compute along with its own output.
    fn is_plain_max_pool(&self) -> bool {
        false
    }

    /// In inference, `y` made from `x`'s storage (which the layer may exchange with `y`'s,
    /// leaving `x` stale) by a layer that only relabels its input's shape (Flatten).
    /// `false`, with nothing done, for the others.
    fn forward_taking(&mut self, _x: &mut Tensor, _y: &mut Tensor) -> bool {
        false
    }

    /// Given `dy` = dL/dy (which the layer may overwrite), sets parameter gradients (when the
    /// layer is trainable) and, when `dx` is given, writes dL/dx into it.
    fn backward(&mut self, x: &Tensor, y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>);

    /// Weights, biases and state, in a fixed order.
    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }

    /// Calls `f` on each of [`Layer::params`] in order without collecting them: the training
    /// step's path, which allocates nothing. Layers with parameters override both visitors.
    fn for_each_param(&self, f: &mut dyn FnMut(&Param)) {
        self.params().into_iter().for_each(f);
    }

    /// [`Layer::for_each_param`] for [`Layer::params_mut`].
    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.params_mut().into_iter().for_each(f);
    }

    /// Frozen layers keep running but their parameters never change.
    fn trainable(&self) -> bool {
        true
    }

    fn set_trainable(&mut self, _trainable: bool) {}
}

/// Samples per rayon task: one contiguous run of the batch per thread, so per-thread partial
/// sums (and therefore results) depend only on the batch size and the thread count.
pub(crate) fn samples_per_task(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}
