//! The Keras route without Keras: `export --format keras` writes `train.py` and `weights.npz`
//! in Keras layout (HWIO kernels; the first Dense after a Flatten in channels-last order),
//! checked by computing what Keras computes from those arrays; `import-weights` brings them
//! back bit for bit and refuses arrays whose names or shapes do not fit, naming them.
//! `scripts/check_keras_route.py` runs the same route through a real Keras (by hand).

mod support;

use cnn_lab::cnn::{Mode, Tensor};
use cnn_lab::experiment::{self, Experiment};
use cnn_lab::interop::npz::{NpyArray, NpyData, read_npz, write_npz};
use cnn_lab::interop::{export_keras, import_weights};
use std::collections::HashMap;
use std::path::Path;
use support::{TempDir, decoded_weights, projects_dir};

fn lenet() -> (Experiment, std::path::PathBuf) {
    let path = projects_dir().join("pretrained/mnist_lenet.ron");
    (experiment::load(&path).unwrap(), experiment::base_dir(&path))
}

fn digits(e: &Experiment, n: usize) -> Tensor {
    let data = cnn_lab::data::load_bundled("mnist", &cnn_lab::data::assets_dir()).unwrap();
    let test = data.test.unwrap();
    let len = e.input.shape().len();
    let mut x = vec![0.0; n * len];
    for (i, out) in x.chunks_mut(len).enumerate() {
        e.training.normalization.apply(test.image(i), 1, out);
    }
    Tensor::from_vec(n, e.input.shape(), x).unwrap()
}

#[test]
fn weights_npz_is_in_keras_layout_and_computes_what_the_engine_computes() {
    let (e, base) = lenet();
    let dir = TempDir::new("keras-layout");
    let files = export_keras(&e, &base, dir.path()).unwrap();
    assert!(files.iter().any(|f| f.ends_with("train.py")));
    assert!(dir.join("data/mnist/train-images-idx3-ubyte.gz").exists());
    let arrays: HashMap<String, NpyArray> = read_npz(&dir.join("weights.npz"))
        .unwrap()
        .into_iter()
        .map(|a| (a.name.clone(), a))
        .collect();
    let mut names: Vec<_> = arrays.keys().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "conv2d_0.bias",
            "conv2d_0.kernel",
            "conv2d_2.bias",
            "conv2d_2.kernel",
            "dense_6.bias",
            "dense_6.kernel",
            "dense_7.bias",
            "dense_7.kernel"
        ]
    );
    assert_eq!(arrays["conv2d_0.kernel"].dims, [5, 5, 1, 20]); // HWIO
    assert_eq!(arrays["conv2d_2.kernel"].dims, [5, 5, 20, 50]);
    assert_eq!(arrays["dense_6.kernel"].dims, [800, 256]);

    let mut model = e.build_model(10, &base).unwrap();
    let x = digits(&e, 3);
    model.forward(&x, Mode::Infer);
    let acts = model.activations();
    // Conv2D 2 at output (y, x, f), from the HWIO kernel over channels-last input, as Keras does.
    let (input, output) = (&acts[2], &acts[3]); // after pool 1 (20×12×12), after conv 2 (50×8×8)
    let k = &arrays["conv2d_2.kernel"].values;
    let b = &arrays["conv2d_2.bias"].values;
    for (n, y, xx, f) in [(0, 0, 0, 0), (1, 3, 5, 17), (2, 7, 7, 49)] {
        let mut sum = b[f];
        for ky in 0..5 {
            for kx in 0..5 {
                for c in 0..20 {
                    let v = input.sample(n)[(c * 12 + y + ky) * 12 + xx + kx];
                    sum += v * k[((ky * 5 + kx) * 20 + c) * 50 + f];
                }
            }
        }
        let engine = output.sample(n)[(f * 8 + y) * 8 + xx];
        assert!(
            (sum.max(0.0) - engine).abs() < 1e-4,
            "conv at {n},{y},{xx},{f}: {sum} vs {engine}"
        );
    }
    // Dense 6 on Keras's channels-last flatten of the 50×4×4 maps.
    let (maps, dense) = (&acts[4], &acts[7]);
    let k = &arrays["dense_6.kernel"].values;
    let b = &arrays["dense_6.bias"].values;
    for n in 0..3 {
        let hwc: Vec<f32> = (0..16)
            .flat_map(|p| (0..50).map(move |c| (p, c)))
            .map(|(p, c)| maps.sample(n)[c * 16 + p])
            .collect();
        for o in [0, 100, 255] {
            let sum: f32 = b[o] + hwc.iter().enumerate().map(|(i, v)| v * k[i * 256 + o]).sum::<f32>();
            let engine = dense.sample(n)[o];
            assert!(
                (sum.max(0.0) - engine).abs() < 1e-3,
                "dense at {n},{o}: {sum} vs {engine}"
            );
        }
    }
}

#[test]
fn import_weights_brings_the_exported_weights_back_bit_for_bit() {
    let (e, base) = lenet();
    let dir = TempDir::new("keras-back");
    export_keras(&e, &base, dir.path()).unwrap();
    let mut blank = e.clone();
    blank.weights = None;
    let back = import_weights(&blank, &base, &dir.join("weights.npz")).unwrap();
    support::assert_bit_identical(&decoded_weights(&back), &decoded_weights(&e), "import-weights");
}

#[test]
fn mismatched_arrays_are_refused_by_name_and_shape() {
    let (e, base) = lenet();
    let dir = TempDir::new("keras-bad");
    export_keras(&e, &base, dir.path()).unwrap();
    let arrays = read_npz(&dir.join("weights.npz")).unwrap();
    let write = |name: &str, arrays: &[NpyArray]| {
        let path = dir.join(name);
        let views: Vec<_> = arrays
            .iter()
            .map(|a| (a.name.clone(), a.dims.clone(), NpyData::F32(&a.values)))
            .collect();
        write_npz(&path, &views).unwrap();
        path
    };
    let mut wrong_shape = arrays.clone();
    let k = wrong_shape.iter_mut().find(|a| a.name == "dense_7.kernel").unwrap();
    k.dims = vec![10, 256];
    let err = import_weights(&e, &base, &write("shape.npz", &wrong_shape))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("shape.npz: array \"dense_7.kernel\" has shape [10, 256] but layer 8 Dense needs [256, 10]; the file was made for another model"),
        "{err}"
    );
    let missing: Vec<_> = arrays.iter().filter(|a| a.name != "conv2d_0.bias").cloned().collect();
    let err = import_weights(&e, &base, &write("missing.npz", &missing))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("there is no array \"conv2d_0.bias\" for layer 1 Conv2D (its bias of shape [20])"),
        "{err}"
    );
    let mut extra = arrays.clone();
    extra.push(NpyArray {
        name: "dense_9.kernel".into(),
        dims: vec![1],
        values: vec![0.0],
    });
    let err = import_weights(&e, &base, &write("extra.npz", &extra))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("array \"dense_9.kernel\" belongs to no layer of this model"),
        "{err}"
    );
    std::fs::write(dir.join("text.npz"), "not a zip").unwrap();
    let err = import_weights(&e, &base, &dir.join("text.npz"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("it is not an .npz (zip) file"), "{err}");
}

#[test]
fn the_cli_exports_a_script_and_imports_weights() {
    let dir = TempDir::new("keras-cli");
    let lenet = projects_dir().join("pretrained/mnist_lenet.ron");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-lab"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out_dir = dir.join("keras");
    run(&[
        "export",
        lenet.to_str().unwrap(),
        "--format",
        "keras",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let script = std::fs::read_to_string(out_dir.join("train.py")).unwrap();
    for line in [
        "def build_model():",
        "def load_weights(model, path):",
        "keras.layers.Conv2D(20, (5, 5), strides=(1, 1), padding=\"valid\", activation=\"relu\"",
        "keras.layers.Dropout(0.4, name=\"dropout_5\"),",
        "keras.layers.RandomTranslation(",
        "keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=0.9, beta_2=0.999, epsilon=1e-7)",
        "ENDS_IN_SOFTMAX = False",
        "from_logits=not ENDS_IN_SOFTMAX",
        "keras.distribution.DataParallel()",
        "np.savez(path, **arrays)",
    ] {
        assert!(script.contains(line), "train.py lacks {line}");
    }
    let copy = dir.join("copy.ron");
    let v: serde_json::Value = serde_json::from_str(&run(&[
        "import-weights",
        lenet.to_str().unwrap(),
        out_dir.join("weights.npz").to_str().unwrap(),
        "--out",
        copy.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["arrays"], 8);
    let back = experiment::load(&copy).unwrap();
    let original = experiment::load(Path::new(&lenet)).unwrap();
    assert_eq!(back.weights, original.weights);
}

#[test]
fn sequence_weights_are_in_keras_layout_conv1d_kernels_kcf_and_flatten_steps_major() {
    use cnn_lab::cnn::spec::{Conv1D, Dense, Embedding, Flatten};
    use cnn_lab::cnn::{LayerSpec, Model, Padding};
    use cnn_lab::experiment::{DatasetSource, Input, Training};
    use cnn_lab::interop::keras_weights::{keras_arrays, weights_from_keras};
    let (steps, c, f) = (10, 2, 4);
    let e = Experiment::new(
        "signals",
        3,
        Input::sequence(steps, c),
        DatasetSource::Path("signals.csv".into()),
        vec![
            LayerSpec::Conv1D(Conv1D::new(f, 3).padding(Padding::Same).dilation(2)),
            LayerSpec::Flatten(Flatten),
            LayerSpec::Dense(Dense::new(3)),
        ],
        Training::default(),
    );
    let mut model = Model::build(e.input.shape(), &e.layers, Some(3), 3).unwrap();
    let arrays: HashMap<String, (Vec<usize>, Vec<f32>)> = keras_arrays(&e, &model)
        .into_iter()
        .map(|(name, dims, values)| (name, (dims, values)))
        .collect();
    let (kdims, k) = &arrays["conv1d_0.kernel"];
    assert_eq!(
        kdims,
        &[3, c, f],
        "Keras Conv1D kernels are (kernel_size, channels, filters)"
    );
    let b = &arrays["conv1d_0.bias"].1;
    let (ddims, dk) = &arrays["dense_2.kernel"];
    assert_eq!(ddims, &[steps * f, 3]);
    let x = Tensor::from_vec(
        2,
        e.input.shape(),
        (0..2 * steps * c).map(|i| (i as f32 * 0.37).sin()).collect(),
    )
    .unwrap();
    model.forward(&x, Mode::Infer);
    let acts = model.activations();
    // Keras: y[t, f] = b[f] + Σ x[t + 2·j − 2, c] · K[j, c, f] (same, span 5: 2 zeros each side).
    for n in 0..2 {
        for t in 0..steps {
            for fi in 0..f {
                let mut sum = b[fi];
                for j in 0..3 {
                    let at = (t + 2 * j) as isize - 2;
                    if (0..steps as isize).contains(&at) {
                        for ci in 0..c {
                            sum += x.sample(n)[ci * steps + at as usize] * k[(j * c + ci) * f + fi];
                        }
                    }
                }
                let engine = acts[1].sample(n)[fi * steps + t];
                assert!((sum - engine).abs() < 1e-5, "conv1d at {n},{t},{fi}: {sum} vs {engine}");
            }
        }
        // Dense on Keras's steps-major flatten of (steps, filters).
        let flat: Vec<f32> = (0..steps)
            .flat_map(|t| (0..f).map(move |fi| (t, fi)))
            .map(|(t, fi)| acts[1].sample(n)[fi * steps + t])
            .collect();
        for o in 0..3 {
            let sum: f32 =
                arrays["dense_2.bias"].1[o] + flat.iter().enumerate().map(|(i, v)| v * dk[i * 3 + o]).sum::<f32>();
            let engine = acts[3].sample(n)[o];
            assert!((sum - engine).abs() < 1e-4, "dense at {n},{o}: {sum} vs {engine}");
        }
    }
    // And back: the engine's arrays from Keras layout, bit for bit.
    let npy: Vec<NpyArray> = keras_arrays(&e, &model)
        .into_iter()
        .map(|(name, dims, values)| NpyArray { name, dims, values })
        .collect();
    let back = weights_from_keras(&e, &model, &npy).unwrap();
    let decoded: Vec<Vec<f32>> = back.iter().map(|w| w.decode().unwrap()).collect();
    assert_eq!(decoded, model.weights());

    // Embedding's table is (input_dim, output_dim) in both.
    let mut text = e.clone();
    text.input = Input::sequence(steps, 1);
    text.layers[0] = LayerSpec::Embedding(Embedding::new(30, 5));
    let model = Model::build(text.input.shape(), &text.layers, Some(3), 3).unwrap();
    let arrays = keras_arrays(&text, &model);
    assert_eq!(arrays[0].0, "embedding_0.embeddings");
    assert_eq!(arrays[0].1, [30, 5]);
}
