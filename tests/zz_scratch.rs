mod support;
#[test]
fn scratch() {
    let dir = support::TempDir::new("scratch");
    let photos = dir.join("photos");
    support::write_pattern_folder(&photos, 40, 1);
    let fresh = dir.join("fresh");
    support::write_pattern_folder(&fresh, 10, 2);
    std::fs::remove_dir_all(fresh.join("checks")).unwrap();
    let renamed = dir.join("renamed");
    support::write_pattern_folder(&renamed, 10, 3);
    std::fs::rename(renamed.join("checks"), renamed.join("zz_checks")).unwrap();
    let file = dir.join("p.ron");
    std::fs::write(&file, r#"(name: "p", seed: 2, input: (height: 16, width: 16, channels: 3), dataset: Path("photos"),
  layers: [Conv2D(filters: 8, kernel_size: (3, 3), activation: relu), MaxPooling2D(pool_size: (2, 2)), Flatten, Dense(units: 3)],
  training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 16, epochs: 12))"#).unwrap();
    let bin = env!("CARGO_BIN_EXE_cnn-lab");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(bin).args(args).output().unwrap();
        println!(
            "{:?} -> {}\n{}{}",
            args,
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&["train", file.to_str().unwrap(), "--json"]);
    run(&[
        "eval",
        file.to_str().unwrap(),
        "--data",
        fresh.to_str().unwrap(),
        "--json",
    ]);
    run(&[
        "eval",
        file.to_str().unwrap(),
        "--data",
        renamed.to_str().unwrap(),
        "--json",
    ]);
}
