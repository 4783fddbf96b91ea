//! The `cnn-lab` binary as a user runs it.

use std::process::Command;

#[test]
fn bench_json_reports_positive_speeds_for_both_models_and_the_conv_layer() {
    let out = Command::new(env!("CARGO_BIN_EXE_cnn-lab"))
        .args(["bench", "--seconds", "0.05", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "lenet_train_img_s",
        "lenet_infer_img_s",
        "cifar_train_img_s",
        "cifar_infer_img_s",
        "signals_train_samples_s",
        "signals_infer_samples_s",
        "conv_fwd_bwd_gflops",
        "fma_peak_gflops",
        "conv_fwd_bwd_peak_share",
        "cifar_train_peak_share",
        "cifar_infer_single_img_s",
    ] {
        let v = json[key].as_f64().unwrap_or_else(|| panic!("missing {key} in {json}"));
        assert!(v.is_finite() && v > 0.0, "{key} = {v}");
    }
    let isa = json["isa"].as_str().unwrap_or_else(|| panic!("missing isa in {json}"));
    assert!(["avx512", "avx2", "portable"].contains(&isa), "isa = {isa}");
    assert_eq!(
        (json["batch"].as_u64(), json["infer_batch"].as_u64()),
        (Some(64), Some(256))
    );
    // Inference does a third of a training step's work, so it must be faster per image.
    assert!(json["cifar_infer_img_s"].as_f64() > json["cifar_train_img_s"].as_f64());
}
