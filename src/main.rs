//! The `cnn-lab` binary: parses arguments and runs a command.

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cnn-lab",
    version,
    about = "Build, train and look inside convolutional neural networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Measure training and inference speed of the reference models (images/s, GFLOP/s).
    Bench {
        /// Seconds spent on each measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bench { seconds, json }) => {
            let report = cnn_lab::bench::run(seconds);
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.table());
            }
        }
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
        }
    }
    Ok(())
}
