//! `cnn-lab export`, `import` and `predict --json`'s probabilities, as a user runs them: a
//! trained model goes out as ONNX, comes back, and predicts the same, class for class.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use support::{TempDir, projects_dir};

fn cnn_lab(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cnn-lab"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_ok(args: &[&str]) -> Value {
    let out = cnn_lab(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The first MNIST test digits as PNG files.
fn digits(dir: &TempDir, n: usize) -> Vec<String> {
    let data = cnn_lab::data::load_bundled("mnist", &cnn_lab::data::assets_dir()).unwrap();
    let test = data.test.unwrap();
    (0..n)
        .map(|i| {
            let path = dir.join(format!("digit{i}.png"));
            image::GrayImage::from_raw(28, 28, test.image(i).to_vec())
                .unwrap()
                .save(&path)
                .unwrap();
            s(&path).to_string()
        })
        .collect()
}

#[test]
fn predict_json_lists_every_class_probability_in_class_order() {
    let dir = TempDir::new("cli-probabilities");
    let lenet = projects_dir().join("pretrained/mnist_lenet.ron");
    let images = digits(&dir, 3);
    let mut args = vec!["predict", s(&lenet)];
    args.extend(images.iter().map(String::as_str));
    args.push("--json");
    let v = json_ok(&args);
    let names: Vec<String> = serde_json::from_value(v["class_names"].clone()).unwrap();
    assert_eq!(names.len(), 10);
    for p in v["predictions"].as_array().unwrap() {
        let probs: Vec<f64> = serde_json::from_value(p["probabilities"].clone()).unwrap();
        assert_eq!(probs.len(), 10);
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        let top = &p["top"][0];
        let index = top["index"].as_u64().unwrap() as usize;
        assert_eq!(probs[index], top["probability"].as_f64().unwrap());
        assert_eq!(names[index], top["class"].as_str().unwrap());
        assert!(probs.iter().all(|&q| q <= probs[index]));
    }
}

#[test]
fn exported_and_imported_back_the_model_predicts_the_same() {
    let dir = TempDir::new("cli-onnx");
    let lenet = projects_dir().join("pretrained/mnist_lenet.ron");
    let onnx = dir.join("lenet.onnx");
    let v = json_ok(&["export", s(&lenet), "--format", "onnx", "--out", s(&onnx), "--json"]);
    assert_eq!(v["output"], "probabilities");
    assert_eq!(v["trained"], true);
    assert!(std::fs::metadata(&onnx).unwrap().len() > 100_000);
    let back = dir.join("back.ron");
    let v = json_ok(&["import", s(&onnx), "--out", s(&back), "--json"]);
    // The experiment came back whole, Dropout included (the graph alone has no Dropout).
    assert_eq!(v["layers"].as_array().unwrap().len(), 8, "{v}");
    assert_eq!(v["layers"][5], "Dropout(0.4)");
    let images = digits(&dir, 4);
    let predict = |file: &Path| {
        let mut args = vec!["predict", s(file)];
        args.extend(images.iter().map(String::as_str));
        args.push("--json");
        let v = json_ok(&args);
        v["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["probabilities"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(predict(&lenet), predict(&back));
    let summary = cnn_lab(&["summary", s(&back)]);
    assert!(summary.status.success());

    // --logits names the output so.
    let logits = dir.join("logits.onnx");
    let v = json_ok(&["export", s(&lenet), "--out", s(&logits), "--logits", "--json"]);
    assert_eq!(v["output"], "logits");
}

#[test]
fn import_refusals_and_options_read_as_sentences() {
    let dir = TempDir::new("cli-import");
    let not_onnx = dir.join("notes.onnx");
    std::fs::write(&not_onnx, "hello, this is not a model").unwrap();
    let out = cnn_lab(&["import", s(&not_onnx), "--out", s(&dir.join("x.ron"))]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: {} is not an ONNX model (", not_onnx.display())),
        "{err}"
    );
    assert!(!dir.join("x.ron").exists());

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx_import/torch_cnn.onnx");
    let out_ron = dir.join("torch.ron");
    let v = json_ok(&[
        "import",
        s(&fixture),
        "--out",
        s(&out_ron),
        "--dataset",
        "fashion-mnist",
        "--normalization",
        "Standardize(mean: [0.5], std: [0.25])",
        "--json",
    ]);
    assert_eq!(v["dataset"], "fashion-mnist");
    let e = cnn_lab::experiment::load(&out_ron).unwrap();
    assert_eq!(
        e.training.normalization,
        cnn_lab::data::Normalization::Standardize {
            mean: vec![0.5],
            std: vec![0.25]
        }
    );
    let out = cnn_lab(&[
        "import",
        s(&fixture),
        "--out",
        s(&out_ron),
        "--normalization",
        "sideways",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: unknown normalization \"sideways\"; use zero-one, none"),
        "{err}"
    );
}
