//! What the user writes: `LayerSpec`, one variant per layer kind with Keras names, fields and
//! defaults (each kind's config lives in its own file under `layers/`), and the values several
//! kinds share. Specs are validated by `summary` and built into runtime layers by `model`.

pub use super::activation::Activation;
pub use super::geometry::Padding;
pub use super::init::Initializer;
pub use super::layers::LayerSpec;
pub use super::layers::average_pooling1d::AveragePooling1D;
pub use super::layers::average_pooling2d::AveragePooling2D;
pub use super::layers::batch_normalization::BatchNormalization;
pub use super::layers::conv1d::Conv1D;
pub use super::layers::conv2d::Conv2D;
pub use super::layers::dense::Dense;
pub use super::layers::dropout::Dropout;
pub use super::layers::embedding::Embedding;
pub use super::layers::flatten::Flatten;
pub use super::layers::global_average_pooling1d::GlobalAveragePooling1D;
pub use super::layers::global_average_pooling2d::GlobalAveragePooling2D;
pub use super::layers::global_max_pooling1d::GlobalMaxPooling1D;
pub use super::layers::max_pooling1d::MaxPooling1D;
pub use super::layers::max_pooling2d::MaxPooling2D;
pub use super::layers::pooling1d::Pool1D;
pub use super::layers::pooling2d::Pool2D;

impl LayerSpec {
    /// The fused or standalone activation this layer ends with, if any.
    pub fn activation(&self) -> Option<Activation> {
        self.config().activation()
    }

    /// Whether the layer may update its weights (layers without weights are always "trainable").
    pub fn trainable(&self) -> bool {
        self.config().trainable()
    }

    pub fn set_trainable(&mut self, trainable: bool) {
        self.config_mut().set_trainable(trainable);
    }

    pub fn has_weights(&self) -> bool {
        self.config().has_weights()
    }

    /// A one-line Keras-like description, e.g. `Conv2D(10, 5×5, strides 1, padding same, relu)`.
    pub fn describe(&self) -> String {
        self.config().describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> Vec<LayerSpec> {
        let layers: Vec<LayerSpec> = ron::from_str(text).expect("parses");
        let written = ron::to_string(&layers).expect("writes");
        assert_eq!(ron::from_str::<Vec<LayerSpec>>(&written).expect("reads back"), layers);
        layers
    }

    #[test]
    fn every_kind_keeps_the_form_files_have_always_used() {
        let layers = round_trip(
            "[Conv2D((filters: 8, kernel_size: (3, 3), padding: same, activation: relu)), \
              MaxPooling2D((pool_size: (2, 2))), AveragePooling2D((pool_size: (3, 3), strides: Some((2, 2)))), \
              BatchNormalization((momentum: 0.9)), Activation(leaky_relu(0.2)), GlobalAveragePooling2D, \
              Flatten, Dense((units: 10, activation: softmax)), Dropout(rate: 0.5)]",
        );
        let kinds: Vec<_> = layers.iter().map(LayerSpec::kind).collect();
        let first_nine = [
            "Conv2D",
            "MaxPooling2D",
            "AveragePooling2D",
            "BatchNormalization",
            "Activation",
            "GlobalAveragePooling2D",
            "Flatten",
            "Dense",
            "Dropout",
        ];
        assert_eq!(kinds, first_nine);
        assert!(first_nine.iter().all(|k| LayerSpec::KINDS.contains(k)));
        assert_eq!(layers[8], LayerSpec::Dropout(Dropout::new(0.5)));
        assert_eq!(layers[6], LayerSpec::Flatten(Flatten));
        let written = ron::to_string(&layers).unwrap();
        assert!(
            written.contains("Flatten,") && written.contains("GlobalAveragePooling2D,"),
            "{written}"
        );
        assert!(written.contains("Dropout(rate:0.5)"), "{written}");
        assert!(written.contains("Conv2D((filters:8,"), "{written}");
    }

    #[test]
    fn unknown_kinds_and_fields_are_named() {
        let err = ron::from_str::<LayerSpec>("Conv2d((filters: 8))")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Conv2d") && err.contains("Conv2D"), "{err}");
        let err = ron::from_str::<LayerSpec>("Dropout(rates: 0.5)")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rates") && err.contains("rate"), "{err}");
        let err = ron::from_str::<LayerSpec>("Dropout()").unwrap_err().to_string();
        assert!(err.contains("rate"), "{err}");
    }

    #[test]
    fn the_palette_has_every_kind_once_with_valid_defaults() {
        let palette = LayerSpec::palette();
        let kinds: Vec<_> = palette.iter().map(LayerSpec::kind).collect();
        assert_eq!(kinds, LayerSpec::KINDS);
        for layer in palette {
            assert_eq!(LayerSpec::KINDS.iter().filter(|k| **k == layer.kind()).count(), 1);
        }
    }
}
