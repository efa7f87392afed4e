//! The `blasrnn` command line: arguments in, the library's work out. Each command has its own
//! module under `cli/`; what only a command line needs (flags, the progress bar, plots, Ctrl-C)
//! lives there, and the library knows nothing of it.

#![forbid(unsafe_code)]

mod cli;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "blasrnn",
    version,
    about = "Recurrent networks (tanh RNN, LSTM, GRU) trained on the CPU, every product through CBLAS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a recurrent classifier (MNIST rows as time steps), a regression model or tagger on
    /// your sequences (--data), a forecaster (--series FILE.csv) or a character-level language
    /// model (--text FILE), and report how well it does on held-out data.
    Train(Box<cli::train::TrainArgs>),
    /// Accuracy and confusion matrix (classifier) or validation loss (language model) of a saved
    /// model.
    Eval(cli::eval::EvalArgs),
    /// Predict the classes of images (PNG or PGM) or of test-set images with a saved classifier
    /// (or the numbers of a regression model, or a class at every step).
    Predict(cli::predict::PredictArgs),
    /// Forecast the next steps of a series with a saved forecaster.
    Forecast(cli::forecast::ForecastArgs),
    /// Generate text with a saved language model.
    Sample(cli::sample::SampleArgs),
    /// Measure the engine on every workload against this machine's GEMM rate and the original
    /// algorithm.
    Bench(cli::bench::BenchArgs),
}

fn main() -> ExitCode {
    // Before any thread starts: BLIS reads its kernel choice from the environment once.
    blasrnn::blas::init();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Train(a) => {
            let sub = matches.subcommand_matches("train").expect("train matches");
            cli::train::run(*a, sub)
        }
        Command::Eval(a) => cli::eval::run(a).map(|()| ExitCode::SUCCESS),
        Command::Predict(a) => cli::predict::run(a).map(|()| ExitCode::SUCCESS),
        Command::Forecast(a) => cli::forecast::run(a).map(|()| ExitCode::SUCCESS),
        Command::Sample(a) => cli::sample::run(a).map(|()| ExitCode::SUCCESS),
        Command::Bench(a) => cli::bench::run(a).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("blasrnn: error: {}", cli::say_error(&e));
            ExitCode::FAILURE
        }
    }
}
