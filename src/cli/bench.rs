//! `cnn-lab bench` and `cnn-lab bench-ui`: run the measurements in `crate::perf` and print them,
//! as a table or as one JSON object.

use crate::perf;
use anyhow::Result;
use std::path::PathBuf;

/// `cnn-lab bench [--seconds S] [--json]`: the engine's images/s and GFLOP/s; with `--conv`,
/// the two convolution algorithms side by side instead (a table only).
pub fn bench(seconds: f64, as_json: bool, conv: bool) -> Result<String> {
    if conv {
        return Ok(perf::conv::algorithm_table(seconds));
    }
    let report = perf::engine::run(seconds);
    Ok(if as_json {
        serde_json::to_string(&report).unwrap_or_default()
    } else {
        report.table()
    })
}

/// What `cnn-lab bench-ui` was asked to measure.
#[derive(Clone, Debug)]
pub struct BenchUiArgs {
    pub file: Option<PathBuf>,
    pub seconds: f64,
    pub rounds: usize,
    pub interact: bool,
    pub json: bool,
}

/// `cnn-lab bench-ui`: training with and without the window, and the window's frames. Without
/// `--json`, each phase's line goes to stderr as it ends.
pub fn bench_ui(args: BenchUiArgs) -> Result<String> {
    let options = perf::BenchUiOptions {
        file: args.file,
        seconds: args.seconds,
        rounds: args.rounds,
        interact: args.interact,
    };
    let mut number = 0;
    if !args.json {
        eprintln!("{}", perf::PhaseReport::HEADER);
    }
    let report = perf::window::run(&options, |phase| {
        number += 1;
        if !args.json {
            eprintln!("{}", phase.line(number));
        }
    })?;
    Ok(if args.json {
        serde_json::to_string(&report).unwrap_or_default()
    } else {
        report.table()
    })
}
