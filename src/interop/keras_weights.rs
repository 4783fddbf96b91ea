//! Weights in Keras layout, both ways: `weights.npz` holds one array per Keras weight, named
//! `<layer>.<weight>` (e.g. `conv2d_0.kernel`, `batch_normalization_1.moving_mean`), where
//! `<layer>` is the layer's name in `train.py`.
//!
//! Conv2D kernels are HWIO (KH, KW, C, F) in Keras and (F, C, KH, KW) here; Conv1D kernels
//! (K, C, F) and (F, C, K). Sequences flatten steps-major in Keras, channel by channel here. Flatten reads an
//! image channel by channel here (NCHW) and pixel by pixel in Keras (channels last), so the
//! first Dense after a Flatten (and a BatchNormalization between them) has its input rows
//! permuted; everything else is the same in both.

use super::error::InteropError;
use super::npz::{NpyArray, read_npz};
use crate::cnn::{LayerSpec, Model, Shape};
use crate::experiment::{Experiment, WeightArray};
use std::collections::HashMap;
use std::path::Path;

/// The Keras name of layer `index`: its kind in snake case and its index, e.g. `conv2d_0`.
pub fn keras_layer_name(index: usize, spec: &LayerSpec) -> String {
    let kind = spec.kind();
    let mut snake = String::new();
    let mut prev_lower = false;
    for ch in kind.chars() {
        if ch.is_ascii_uppercase() && prev_lower {
            snake.push('_');
        }
        prev_lower = ch.is_ascii_lowercase();
        snake.push(ch.to_ascii_lowercase());
    }
    format!("{snake}_{index}")
}

/// How one engine array maps onto its Keras array.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Same,
    /// (F, C, KH, KW) ↔ (KH, KW, C, F).
    Hwio {
        f: usize,
        c: usize,
        kh: usize,
        kw: usize,
    },
    /// Rows in NCHW flatten order ↔ channels-last order, `cols` values per row.
    FlatRows {
        c: usize,
        h: usize,
        w: usize,
        cols: usize,
    },
}

impl Layout {
    fn keras_dims(self, dims: &[usize]) -> Vec<usize> {
        match self {
            // A Conv1D kernel (F, C, K) is (K, C, F) in Keras.
            Layout::Hwio { f, c, kw, .. } if dims.len() == 3 => vec![kw, c, f],
            Layout::Hwio { f, c, kh, kw } => vec![kh, kw, c, f],
            _ => dims.to_vec(),
        }
    }

    /// The Keras position of engine position `i`.
    fn keras_index(self, i: usize) -> usize {
        match self {
            Layout::Same => i,
            Layout::Hwio { f, c, kh, kw } => {
                let (fi, rest) = (i / (c * kh * kw), i % (c * kh * kw));
                let (ci, rest) = (rest / (kh * kw), rest % (kh * kw));
                let (y, x) = (rest / kw, rest % kw);
                ((y * kw + x) * c + ci) * f + fi
            }
            Layout::FlatRows { c, h, w, cols } => {
                let (row, col) = (i / cols, i % cols);
                let (ci, rest) = (row / (h * w), row % (h * w));
                ((rest * c) + ci) * cols + col
            }
        }
    }

    fn engine_to_keras(self, values: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; values.len()];
        for (i, v) in values.iter().enumerate() {
            out[self.keras_index(i)] = *v;
        }
        out
    }

    fn keras_to_engine(self, values: &[f32]) -> Vec<f32> {
        (0..values.len()).map(|i| values[self.keras_index(i)]).collect()
    }
}

/// One slot of the model: engine layer, engine name, engine dims, Keras name, layout.
struct Slot {
    layer: usize,
    name: &'static str,
    dims: Vec<usize>,
    keras_name: String,
    layout: Layout,
}

fn slots(experiment: &Experiment, model: &Model) -> Vec<Slot> {
    let infos = &model.summary().layers;
    let mut pending: Option<(usize, usize, usize)> = None;
    let mut out = Vec::new();
    for (i, (spec, layer)) in experiment.layers.iter().zip(model.layers()).enumerate() {
        let input = infos[i].input;
        // A sequence flattens like an image of one row: steps-major in Keras.
        let (c, h, w) = match input {
            Shape::Sequence { c, steps } => (c, 1, steps),
            other => (other.channels(), other.spatial().0, other.spatial().1),
        };
        if matches!(spec, LayerSpec::Flatten(_)) && !matches!(input, Shape::Flat { .. }) && c > 1 && h * w > 1 {
            pending = Some((c, h, w));
        }
        for p in layer.params() {
            let layout = match (spec, p.name, pending) {
                (LayerSpec::Conv2D(_), "kernel", _) => Layout::Hwio {
                    f: p.dims[0],
                    c: p.dims[1],
                    kh: p.dims[2],
                    kw: p.dims[3],
                },
                // (F, C, K) ↔ Keras (K, C, F): HWIO with one row.
                (LayerSpec::Conv1D(_), "kernel", _) => Layout::Hwio {
                    f: p.dims[0],
                    c: p.dims[1],
                    kh: 1,
                    kw: p.dims[2],
                },
                (LayerSpec::Dense(_), "kernel", Some((c, h, w))) => Layout::FlatRows {
                    c,
                    h,
                    w,
                    cols: p.dims[1],
                },
                (LayerSpec::BatchNormalization(_), _, Some((c, h, w))) => Layout::FlatRows { c, h, w, cols: 1 },
                _ => Layout::Same,
            };
            out.push(Slot {
                layer: i,
                name: p.name,
                dims: p.dims.clone(),
                keras_name: format!("{}.{}", keras_layer_name(i, spec), p.name),
                layout,
            });
        }
        if matches!(spec, LayerSpec::Dense(_)) {
            pending = None;
        }
    }
    out
}

/// The model's weights in Keras layout: (name, Keras dims, values), in layer order.
pub fn keras_arrays(experiment: &Experiment, model: &Model) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let params: Vec<Vec<f32>> = model.params().iter().map(|p| p.value.clone()).collect();
    slots(experiment, model)
        .into_iter()
        .zip(params)
        .map(|(s, values)| {
            (
                s.keras_name.clone(),
                s.layout.keras_dims(&s.dims),
                s.layout.engine_to_keras(&values),
            )
        })
        .collect()
}

/// The engine's weight arrays from Keras-layout `arrays`, every name and shape checked.
pub fn weights_from_keras(
    experiment: &Experiment,
    model: &Model,
    arrays: &[NpyArray],
) -> Result<Vec<WeightArray>, InteropError> {
    let by_name: HashMap<&str, &NpyArray> = arrays.iter().map(|a| (a.name.as_str(), a)).collect();
    let slots = slots(experiment, model);
    let mut out = Vec::with_capacity(slots.len());
    for s in &slots {
        let want = s.layout.keras_dims(&s.dims);
        let kind = experiment.layers[s.layer].kind();
        let Some(a) = by_name.get(s.keras_name.as_str()) else {
            return Err(InteropError::Weights(format!(
                "there is no array \"{}\" for layer {} {kind} (its {} of shape {want:?}); the file holds {}",
                s.keras_name,
                s.layer + 1,
                s.name,
                list(arrays)
            )));
        };
        if a.dims != want || a.values.len() != want.iter().product::<usize>() {
            return Err(InteropError::Weights(format!(
                "array \"{}\" has shape {:?} but layer {} {kind} needs {want:?}; the file was made for another model",
                s.keras_name,
                a.dims,
                s.layer + 1
            )));
        }
        if let Some(bad) = a.values.iter().find(|v| !v.is_finite()) {
            return Err(InteropError::Weights(format!(
                "array \"{}\" holds {bad}; the training that made it diverged",
                s.keras_name
            )));
        }
        out.push(WeightArray::encode(
            s.layer,
            s.name,
            &s.dims,
            &s.layout.keras_to_engine(&a.values),
        ));
    }
    if let Some(extra) = arrays.iter().find(|a| !slots.iter().any(|s| s.keras_name == a.name)) {
        return Err(InteropError::Weights(format!(
            "array \"{}\" belongs to no layer of this model (it expects {})",
            extra.name,
            slots
                .iter()
                .map(|s| s.keras_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(out)
}

fn list(arrays: &[NpyArray]) -> String {
    if arrays.is_empty() {
        return "no arrays".into();
    }
    arrays.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// `experiment` with the weights of a Keras-layout `.npz` (e.g. `trained_weights.npz` from
/// `train.py`). The optimizer state of a stopped run no longer fits them and is dropped.
pub fn import_weights(experiment: &Experiment, base_dir: &Path, npz: &Path) -> Result<Experiment, InteropError> {
    let classes = super::onnx_export::output_len(experiment)?;
    let model = experiment.build_model(classes, base_dir)?;
    let arrays = read_npz(npz)?;
    let weights = weights_from_keras(experiment, &model, &arrays).map_err(|e| e.in_file(npz))?;
    let mut out = experiment.clone();
    out.weights = Some(weights);
    out.resume = None;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_names_are_snake_case_with_the_index() {
        use crate::cnn::spec::{BatchNormalization, Conv2D, GlobalAveragePooling2D};
        assert_eq!(keras_layer_name(0, &LayerSpec::Conv2D(Conv2D::new(4, 3))), "conv2d_0");
        assert_eq!(
            keras_layer_name(3, &LayerSpec::BatchNormalization(BatchNormalization::default())),
            "batch_normalization_3"
        );
        assert_eq!(
            keras_layer_name(5, &LayerSpec::GlobalAveragePooling2D(GlobalAveragePooling2D)),
            "global_average_pooling2d_5"
        );
    }

    #[test]
    fn layouts_are_permutations_that_invert() {
        let v: Vec<f32> = (0..2 * 3 * 4 * 5).map(|i| i as f32).collect();
        for layout in [
            Layout::Hwio {
                f: 2,
                c: 3,
                kh: 4,
                kw: 5,
            },
            Layout::FlatRows {
                c: 3,
                h: 4,
                w: 5,
                cols: 2,
            },
        ] {
            let k = layout.engine_to_keras(&v);
            assert_eq!(layout.keras_to_engine(&k), v);
            let mut sorted = k.clone();
            sorted.sort_by(f32::total_cmp);
            assert_eq!(sorted, v);
        }
        // HWIO: kernel[f=1][c=2][y=3][x=4] goes to [3][4][2][1].
        let hwio = Layout::Hwio {
            f: 2,
            c: 3,
            kh: 4,
            kw: 5,
        };
        let engine = ((3 + 2) * 4 + 3) * 5 + 4;
        assert_eq!(hwio.keras_index(engine), ((3 * 5 + 4) * 3 + 2) * 2 + 1);
        // Flatten: channel 1, pixel (2, 3) of a 4×5 map with 3 channels is row 1·20 + 13 here,
        // row 13·3 + 1 in Keras.
        let rows = Layout::FlatRows {
            c: 3,
            h: 4,
            w: 5,
            cols: 1,
        };
        assert_eq!(rows.keras_index(20 + 13), 13 * 3 + 1);
    }
}
