//! The inspection computations behind the viewers: feature maps, activation maximization,
//! Grad-CAM and saliency on a case with a known answer, and the confusion matrix against
//! `cnn-lab eval`.

mod support;

use cnn_lab::cnn::spec::{Conv2D, Dense, GlobalAveragePooling2D};
use cnn_lab::cnn::{LayerSpec, Mode, Model, Optimizer, OptimizerKind, Shape, Tensor};
use cnn_lab::experiment::{self, load_dataset};
use cnn_lab::inspect::{self, MaximizeSettings};
use cnn_lab::training::evaluate;
use rand::RngExt;
use support::tensors::rng;

fn pretrained_lenet() -> (Model, experiment::Experiment) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/projects/pretrained/mnist_lenet.ron");
    let e = experiment::load(std::path::Path::new(path)).unwrap();
    (e.build_model(10, std::path::Path::new(".")).unwrap(), e)
}

#[test]
fn feature_maps_are_the_engines_forward_activations() {
    let (mut model, _) = pretrained_lenet();
    let batch = support::tensors::random_tensor(&mut rng(1), 3, Shape::image(28, 28, 1));
    model.forward(&batch, Mode::Infer);
    let whole: Vec<Tensor> = model.activations().to_vec();
    for i in 0..3 {
        let maps = inspect::feature_maps(&mut model, &batch.take_samples(i + 1).take_samples(1));
        let one = inspect::feature_maps(
            &mut model,
            &Tensor::from_vec(1, batch.shape(), batch.sample(i).to_vec()).unwrap(),
        );
        assert_eq!(maps.len(), whole.len());
        for (layer, (act, batch_act)) in one.iter().zip(&whole).enumerate() {
            assert_eq!(act.shape(), batch_act.shape(), "layer {layer}");
            assert_eq!(act.sample(0), batch_act.sample(i), "layer {layer}, sample {i}");
        }
    }
}

#[test]
fn activation_maximization_raises_a_filters_response_many_times_over() {
    let (mut model, _) = pretrained_lenet();
    let settings = MaximizeSettings {
        seed: 3,
        ..MaximizeSettings::default()
    };
    let mut steps_seen = 0;
    // Two first-layer filters and two of the second convolution's that answer at all (a relu
    // filter that never fires on any start has no gradient to climb).
    let noise = support::tensors::random_tensor(&mut rng(9), 1, Shape::image(28, 28, 1));
    let noise = Tensor::from_vec(1, noise.shape(), noise.data().iter().map(|v| 0.5 + 0.5 * v).collect()).unwrap();
    let alive: Vec<usize> = (0..50)
        .filter(|&c| inspect::maximize::mean_of_channel(&mut model, &noise, 2, c) > 0.0)
        .take(2)
        .collect();
    assert_eq!(alive.len(), 2, "the pretrained LeNet has live second-layer filters");
    for (layer, channel) in [(0, 0), (0, 7), (2, alive[0]), (2, alive[1])] {
        let result = inspect::maximize_channel(&mut model, layer, channel, &settings, |done, total| {
            assert!(done <= total);
            steps_seen += 1;
            true
        });
        let (start, end) = (result.start_activation, result.final_activation);
        assert!(
            end > 5.0 * start.max(1e-3),
            "layer {layer} filter {channel}: {start} → {end}"
        );
        assert!(result.image.iter().all(|v| v.is_finite()));
    }
    assert_eq!(steps_seen, 4 * settings.steps, "progress is reported every step");
}

/// 16×16 images with faint noise everywhere and one bright bar somewhere in the left half:
/// horizontal (2×6) for class 0, vertical (6×2) for class 1. Returns the images, labels and each
/// bar's box (top, left, height, width).
/// A box in an image: (top, left, height, width).
type Box4 = (usize, usize, usize, usize);

fn bars(n: usize, seed: u64) -> (Tensor, Vec<u32>, Vec<Box4>) {
    let mut r = rng(seed);
    let shape = Shape::image(16, 16, 1);
    let mut data = Vec::with_capacity(n * 256);
    let (mut labels, mut boxes) = (Vec::new(), Vec::new());
    for i in 0..n {
        let mut img: Vec<f32> = (0..256).map(|_| r.random_range(0.0f32..0.2)).collect();
        let label = (i % 2) as u32;
        let (bh, bw) = if label == 0 { (2, 6) } else { (6, 2) };
        let (top, left) = (r.random_range(0..=16 - bh), r.random_range(0..=8 - bw));
        for y in top..top + bh {
            for x in left..left + bw {
                img[y * 16 + x] = 1.0;
            }
        }
        data.extend(img);
        labels.push(label);
        boxes.push((top, left, bh, bw));
    }
    (Tensor::from_vec(n, shape, data).unwrap(), labels, boxes)
}

#[test]
fn grad_cam_points_at_the_object_a_model_learned_to_find() {
    let specs = vec![
        LayerSpec::Conv2D(Conv2D::new(8, 3).same().relu()),
        LayerSpec::Conv2D(Conv2D::new(8, 3).same().relu()),
        LayerSpec::GlobalAveragePooling2D(GlobalAveragePooling2D),
        LayerSpec::Dense(Dense::new(2)),
    ];
    let mut model = Model::build(Shape::image(16, 16, 1), &specs, Some(2), 4).unwrap();
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.0);
    for step in 0..150 {
        let (x, labels, _) = bars(32, 100 + step);
        model.train_step(&x, &labels, &mut opt, 0.005);
    }
    let (x, labels, boxes) = bars(40, 7);
    assert!(
        model.evaluate(&x, &labels).accuracy() > 0.95,
        "the model learned the task"
    );
    let mut checked = 0;
    for (i, &(top, left, bh, bw)) in boxes.iter().enumerate() {
        let xi = Tensor::from_vec(1, x.shape(), x.sample(i).to_vec()).unwrap();
        let class = labels[i] as usize;
        let cam = inspect::grad_cam(&mut model, &xi, class, 1).expect("layer 1 outputs feature maps");
        // Saliency (the input gradient's magnitude, checked against finite differences in
        // tests/engine.rs) is a normalized map of the same size.
        let sal = inspect::saliency(&mut model, &xi, class);
        assert_eq!(sal.len(), 256);
        assert!(sal.iter().all(|v| (0.0..=1.0).contains(v)) && sal.contains(&1.0));
        let (name, map) = ("Grad-CAM", &cam);
        assert_eq!(map.len(), 256);
        let total: f32 = map.iter().sum();
        // The bar, widened by 2 px for the blur of upsampling and receptive fields.
        let near = |y: usize, x: usize| y + 2 >= top && y < top + bh + 2 && x + 2 >= left && x < left + bw + 2;
        let inside: f32 = (0..256).filter(|p| near(p / 16, p % 16)).map(|p| map[p]).sum();
        let peak = (0..256).max_by(|a, b| map[*a].total_cmp(&map[*b])).unwrap();
        assert!(total > 0.0, "{name}, sample {i}: empty map");
        assert!(
            near(peak / 16, peak % 16),
            "{name}, sample {i}: peak at {peak} is not near the bar at {top},{left}"
        );
        // Grad-CAM works at the 8×8 resolution of layer 2 and is upsampled, so it is blurrier.
        // The box covers 23% of the image; Grad-CAM puts at least half its mass there.
        assert!(
            inside > 0.5 * total,
            "{name}, sample {i}: {inside} of {total} near the bar at {top},{left}"
        );
        checked += 1;
    }
    assert_eq!(checked, 40);
}

#[test]
fn the_confusion_matrix_sums_to_the_test_split_and_matches_cnn_lab_eval() {
    let dir = std::env::temp_dir().join(format!("cnn-lab-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trained = dir.join("shapes.ron");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/projects/shapes_edges.ron");
    let cli = env!("CARGO_BIN_EXE_cnn-lab");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(cli).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&[
        "train",
        project,
        "--epochs",
        "1",
        "--out",
        trained.to_str().unwrap(),
        "--json",
    ]);
    let eval: serde_json::Value = serde_json::from_str(&run(&["eval", trained.to_str().unwrap(), "--json"])).unwrap();
    let e = experiment::load(&trained).unwrap();
    let data = load_dataset(&e, &dir, None).unwrap();
    let test = data.test.as_ref().unwrap();
    let mut model = e.build_model(data.num_classes(), &dir).unwrap();
    let result = evaluate(&mut model, test, e.input.shape(), &e.training.normalization).unwrap();
    let total: usize = result.confusion.iter().flatten().sum();
    assert_eq!(total, test.len());
    let cli_matrix: Vec<Vec<usize>> = serde_json::from_value(eval["confusion_matrix"].clone()).unwrap();
    assert_eq!(cli_matrix, result.confusion);
    // Each cell's gallery holds exactly that cell's samples, most confident first.
    for t in 0..data.num_classes() {
        for p in 0..data.num_classes() {
            let members = inspect::cell_members(&result, &test.labels, t, p);
            assert_eq!(members.len(), result.confusion[t][p]);
            assert!(members.windows(2).all(|w| w[0].1 >= w[1].1));
            assert!(members.iter().all(|(i, _)| test.labels[*i] as usize == t));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn saliency_grad_cam_feature_maps_and_maximization_work_over_steps() {
    let (input, specs) = cnn_lab::cnn::zoo::signals();
    let mut model = Model::build(input, &specs, Some(10), 3).unwrap();
    let mut r = rng(8);
    let x = Tensor::from_vec(
        2,
        input,
        (0..2 * input.len()).map(|_| r.random_range(-1.0f32..1.0)).collect(),
    )
    .unwrap();
    let maps = inspect::feature_maps(&mut model, &x);
    assert_eq!(maps[1].shape(), Shape::sequence(128, 16));
    let saliency = inspect::saliency(&mut model, &x, 3);
    assert_eq!(saliency.len(), 128, "one value per step");
    assert!(saliency.iter().all(|v| (0.0..=1.0).contains(v)) && saliency.contains(&1.0));
    // Grad-CAM of the last convolution (32 pooled steps) spread back over the 128 input steps.
    let cam = inspect::grad_cam(&mut model, &x, 3, 4).expect("a sequence has maps");
    assert_eq!(cam.len(), 128);
    assert!(
        inspect::grad_cam(&mut model, &x, 3, 5).is_none(),
        "after global pooling: no maps"
    );
    let settings = MaximizeSettings {
        steps: 10,
        ..MaximizeSettings::default()
    };
    let result = inspect::maximize_channel(&mut model, 0, 2, &settings, |_, _| true);
    assert_eq!(result.image.len(), 128);
    assert!(result.final_activation >= result.start_activation);
}
