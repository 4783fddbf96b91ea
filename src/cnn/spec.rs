//! What the user writes: layers with Keras names, fields and defaults (validated, then built).

use serde::{Deserialize, Serialize};

/// Spatial padding, as Keras spells it, plus the course's explicit `p`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// No padding: output = floor((n − f)/s) + 1.
    #[default]
    Valid,
    /// TensorFlow's rule: output = ceil(n/s), zeros split with the odd pixel on the bottom/right.
    Same,
    /// `p` zeros on every side: output = floor((n + 2p − f)/s) + 1.
    Explicit(usize),
}

impl Padding {
    pub fn keras_name(&self) -> String {
        match self {
            Padding::Valid => "valid".into(),
            Padding::Same => "same".into(),
            Padding::Explicit(p) => format!("{p}"),
        }
    }
}

/// Element-wise (or, for softmax, per-sample) non-linearities, Keras names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Linear,
    Relu,
    /// Keras 3's default negative slope is 0.2.
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Softmax,
}

impl Activation {
    pub fn keras_name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// All activations a user can pick, with Keras defaults.
    pub const ALL: [Activation; 6] = [
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
    ];
}

/// Weight initializers (biases always start at zero, as in Keras).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initializer {
    #[default]
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
}

fn yes() -> bool {
    true
}
fn is_true(v: &bool) -> bool {
    *v
}
fn one_by_one() -> (usize, usize) {
    (1, 1)
}
fn bn_momentum() -> f32 {
    0.99
}
fn bn_epsilon() -> f32 {
    1e-3
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2D {
    pub filters: usize,
    /// (height, width)
    pub kernel_size: (usize, usize),
    #[serde(default = "one_by_one")]
    pub strides: (usize, usize),
    #[serde(default)]
    pub padding: Padding,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub use_bias: bool,
    #[serde(default)]
    pub kernel_initializer: Initializer,
    /// `false` freezes the layer: it still runs, but its weights never change.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

impl Conv2D {
    pub fn new(filters: usize, kernel: usize) -> Self {
        Conv2D {
            filters,
            kernel_size: (kernel, kernel),
            strides: (1, 1),
            padding: Padding::Valid,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            trainable: true,
        }
    }
    pub fn same(mut self) -> Self {
        self.padding = Padding::Same;
        self
    }
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = (s, s);
        self
    }
    pub fn relu(mut self) -> Self {
        self.activation = Activation::Relu;
        self
    }
}

/// `MaxPooling2D` / `AveragePooling2D`: `strides` default to `pool_size`, padding to `valid`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool2D {
    pub pool_size: (usize, usize),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strides: Option<(usize, usize)>,
    #[serde(default)]
    pub padding: Padding,
}

impl Pool2D {
    pub fn new(pool: usize) -> Self {
        Pool2D {
            pool_size: (pool, pool),
            strides: None,
            padding: Padding::Valid,
        }
    }
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = Some((s, s));
        self
    }
    pub fn effective_strides(&self) -> (usize, usize) {
        self.strides.unwrap_or(self.pool_size)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dense {
    pub units: usize,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub use_bias: bool,
    #[serde(default)]
    pub kernel_initializer: Initializer,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

impl Dense {
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            trainable: true,
        }
    }
    pub fn relu(mut self) -> Self {
        self.activation = Activation::Relu;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormalization {
    #[serde(default = "bn_momentum")]
    pub momentum: f32,
    #[serde(default = "bn_epsilon")]
    pub epsilon: f32,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization {
            momentum: bn_momentum(),
            epsilon: bn_epsilon(),
            trainable: true,
        }
    }
}

/// One layer as the user wrote it. Variant names are Keras class names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerSpec {
    Conv2D(Conv2D),
    MaxPooling2D(Pool2D),
    AveragePooling2D(Pool2D),
    GlobalAveragePooling2D,
    Flatten,
    Dense(Dense),
    Dropout { rate: f32 },
    BatchNormalization(BatchNormalization),
    Activation(Activation),
}

impl LayerSpec {
    /// The Keras class name.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Conv2D(_) => "Conv2D",
            LayerSpec::MaxPooling2D(_) => "MaxPooling2D",
            LayerSpec::AveragePooling2D(_) => "AveragePooling2D",
            LayerSpec::GlobalAveragePooling2D => "GlobalAveragePooling2D",
            LayerSpec::Flatten => "Flatten",
            LayerSpec::Dense(_) => "Dense",
            LayerSpec::Dropout { .. } => "Dropout",
            LayerSpec::BatchNormalization(_) => "BatchNormalization",
            LayerSpec::Activation(_) => "Activation",
        }
    }

    /// The fused or standalone activation this layer ends with, if any.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            LayerSpec::Conv2D(c) => Some(c.activation),
            LayerSpec::Dense(d) => Some(d.activation),
            LayerSpec::Activation(a) => Some(*a),
            _ => None,
        }
    }

    /// Whether the layer may update its weights (layers without weights are always "trainable").
    pub fn trainable(&self) -> bool {
        match self {
            LayerSpec::Conv2D(c) => c.trainable,
            LayerSpec::Dense(d) => d.trainable,
            LayerSpec::BatchNormalization(b) => b.trainable,
            _ => true,
        }
    }

    pub fn set_trainable(&mut self, trainable: bool) {
        match self {
            LayerSpec::Conv2D(c) => c.trainable = trainable,
            LayerSpec::Dense(d) => d.trainable = trainable,
            LayerSpec::BatchNormalization(b) => b.trainable = trainable,
            _ => {}
        }
    }

    pub fn has_weights(&self) -> bool {
        matches!(
            self,
            LayerSpec::Conv2D(_) | LayerSpec::Dense(_) | LayerSpec::BatchNormalization(_)
        )
    }

    /// A one-line Keras-like description, e.g. `Conv2D(10, 5×5, strides 1, padding same, relu)`.
    pub fn describe(&self) -> String {
        let act = |a: &Activation| match a {
            Activation::Linear => String::new(),
            other => format!(", {}", other.keras_name()),
        };
        match self {
            LayerSpec::Conv2D(c) => format!(
                "Conv2D({}, {}×{}, strides {}, padding {}{})",
                c.filters,
                c.kernel_size.0,
                c.kernel_size.1,
                pair(c.strides),
                c.padding.keras_name(),
                act(&c.activation)
            ),
            LayerSpec::MaxPooling2D(p) | LayerSpec::AveragePooling2D(p) => format!(
                "{}({}, strides {}, padding {})",
                self.kind(),
                pair(p.pool_size),
                pair(p.effective_strides()),
                p.padding.keras_name()
            ),
            LayerSpec::Dense(d) => format!("Dense({}{})", d.units, act(&d.activation)),
            LayerSpec::Dropout { rate } => format!("Dropout({rate})"),
            LayerSpec::Activation(a) => format!("Activation({})", a.keras_name()),
            other => other.kind().to_string(),
        }
    }
}

fn pair((a, b): (usize, usize)) -> String {
    if a == b { format!("{a}") } else { format!("{a}×{b}") }
}
