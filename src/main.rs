//! The `cnn-lab` binary: parses arguments and runs a command.

use clap::{Parser, Subcommand};
use cnn_lab::app::ViewRequest;
use cnn_lab::cli;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cnn-lab",
    version,
    about = "Build, train and look inside convolutional neural networks",
    long_about = "Build, train and look inside convolutional neural networks.\n\nWithout a command, opens the app (on FILE, or on the last experiment).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Task>,
    /// Open this experiment in the app.
    file: Option<PathBuf>,
    /// Render the app's window to this PNG file and exit.
    #[arg(long, value_name = "OUT.png")]
    screenshot: Option<PathBuf>,
    /// With --screenshot: train first, and take the picture after N epochs.
    #[arg(long, value_name = "N", requires = "screenshot")]
    after_epochs: Option<usize>,
    /// With --screenshot the view also shows itself off (maximizes the filters, draws a digit,
    /// opens the most-confused cell).
    #[arg(long, value_name = "VIEW", value_parser = parse_view, help = view_help())]
    view: Option<ViewRequest>,
    /// Other experiments to set beside FILE: in Compare runs, or in the shift test with
    /// `--view shift-test`.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    compare: Vec<PathBuf>,
}

fn parse_view(name: &str) -> Result<ViewRequest, String> {
    ViewRequest::parse(name).ok_or_else(|| format!("unknown view \"{name}\"; use {}", ViewRequest::choices()))
}

fn view_help() -> String {
    format!("Open this view: {}", ViewRequest::choices())
}

// A headless task (without one, the app opens).
#[derive(Subcommand)]
enum Task {
    /// Print the layer table: output shapes, parameters (with the course formula), MACs,
    /// receptive fields, totals. Exits with 1 if the model is invalid.
    Summary {
        file: PathBuf,
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Train an experiment in the background worker, with a progress bar; Ctrl-C stops and saves.
    Train {
        file: PathBuf,
        /// Train this many epochs (default: the file's `training.epochs`).
        #[arg(long)]
        epochs: Option<usize>,
        /// Train on this dataset instead (IDX files, CIFAR-10 batches or an image folder).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
        /// Write the trained experiment here instead of back to FILE.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Ignore saved weights and history: start from the seed.
        #[arg(long)]
        fresh: bool,
        /// Save even when the destination holds more training than this run (a stopped or
        /// diverged --fresh run), or is not an experiment file.
        #[arg(long)]
        overwrite: bool,
        #[arg(long)]
        json: bool,
    },
    /// Score a trained experiment: accuracy, per-class accuracy, confusion matrix.
    Eval {
        file: PathBuf,
        /// Score this dataset instead of the experiment's own test split.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Also score the images moved by 1…K pixels (left, right, up, down; the mean of the
        /// four), or the sequences by 1…K steps (later, earlier): how well the model copes with
        /// a shift (JSON key `shift_accuracy`, 0…K).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(0..=16))]
        shifts: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Classify images with a trained experiment: top classes and probabilities.
    Predict {
        file: PathBuf,
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write the model for other tools: ONNX (opset 17; input "input" after the experiment's
    /// normalization, output "probabilities" or, with --logits, "logits"), or a Keras 3
    /// training script with the weights in Keras layout (--format keras --out DIR).
    Export {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "onnx")]
        format: cli::ExportFormat,
        /// The file (ONNX) or folder to write.
        #[arg(long)]
        out: PathBuf,
        /// Output the raw class scores instead of softmax probabilities.
        #[arg(long)]
        logits: bool,
        #[arg(long)]
        json: bool,
    },
    /// Turn an ONNX model (a sequential CNN, e.g. from torch.onnx.export) into an experiment.
    Import {
        model: PathBuf,
        /// The experiment file to write.
        #[arg(long)]
        out: PathBuf,
        /// The data to use with it: mnist, fashion-mnist, shapes, or a path (default: from the
        /// file's metadata, else mnist for 28×28×1 inputs with 10 classes, else images/).
        #[arg(long)]
        dataset: Option<String>,
        /// zero-one (pixels / 255), none, or Standardize(mean: [..], std: [..]) (default: from
        /// the file's metadata, else zero-one).
        #[arg(long)]
        normalization: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Load weights trained elsewhere (an .npz in Keras layout, e.g. train.py's
    /// trained_weights.npz) into an experiment, checking every array's name and shape.
    ImportWeights {
        file: PathBuf,
        weights: PathBuf,
        /// Write the experiment here instead of back to FILE.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Measure training and inference speed of the reference models (images/s, GFLOP/s).
    Bench {
        /// Seconds spent on each measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        #[arg(long)]
        json: bool,
        /// Instead: time both convolution algorithms (im2col, Winograd) on 3×3 layers.
        #[arg(long)]
        conv: bool,
    },
    /// Train the cifar model alternately headless and in the app's window: training images/s
    /// with and without the window, and the window's frame times (needs a display, e.g. xvfb-run).
    BenchUi {
        /// The experiment to train (default: projects/cifar_shapes.ron).
        file: Option<PathBuf>,
        /// Seconds measured in each phase, after a warm-up.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Rounds of (headless, window): the machine's speed drifts, so more rounds, steadier ratio.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Also measure, each round, the window redrawing continuously (as while the mouse moves).
        #[arg(long)]
        interact: bool,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        let launch = cnn_lab::app::LaunchOptions {
            file: cli.file,
            screenshot: cli.screenshot,
            after_epochs: cli.after_epochs,
            view: cli.view,
            compare: cli.compare,
            ..Default::default()
        };
        return match cnn_lab::app::run_native(launch) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        };
    };
    let json = match &command {
        Task::Summary { json, .. }
        | Task::Train { json, .. }
        | Task::Eval { json, .. }
        | Task::Predict { json, .. }
        | Task::Export { json, .. }
        | Task::Import { json, .. }
        | Task::ImportWeights { json, .. }
        | Task::Bench { json, .. }
        | Task::BenchUi { json, .. } => *json,
    };
    let outcome = match command {
        Task::Summary { file, json } => cli::summary(&file, json),
        Task::Train {
            file,
            epochs,
            data,
            seed,
            out,
            fresh,
            overwrite,
            json,
        } => cli::train(cli::TrainArgs {
            file,
            epochs,
            data,
            seed,
            out,
            fresh,
            overwrite,
            json,
        })
        .map(|t| (t, true)),
        Task::Eval {
            file,
            data,
            shifts,
            json,
        } => cli::eval(&file, data, shifts.map(|k| k as usize), json).map(|t| (t, true)),
        Task::Predict { file, images, json } => cli::predict(&file, &images, json).map(|t| (t, true)),
        Task::Export {
            file,
            format,
            out,
            logits,
            json,
        } => cli::export(&file, format, &out, logits, json).map(|t| (t, true)),
        Task::Import {
            model,
            out,
            dataset,
            normalization,
            json,
        } => cli::import(&cli::ImportArgs {
            model,
            out,
            dataset,
            normalization,
            json,
        })
        .map(|t| (t, true)),
        Task::ImportWeights {
            file,
            weights,
            out,
            json,
        } => cli::import_weights_cmd(&file, &weights, out, json).map(|t| (t, true)),
        Task::Bench { seconds, json, conv } => cli::bench(seconds, json, conv).map(|t| (t, true)),
        Task::BenchUi {
            file,
            seconds,
            rounds,
            interact,
            json,
        } => cli::bench_ui(cli::BenchUiArgs {
            file,
            seconds,
            rounds,
            interact,
            json,
        })
        .map(|t| (t, true)),
    };
    match outcome {
        Ok((text, ok)) => {
            println!("{}", text.trim_end());
            if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(err) => {
            if json {
                println!("{}", cli::json_error(&err));
            } else {
                eprintln!("error: {}", cli::describe(&err));
            }
            ExitCode::FAILURE
        }
    }
}
