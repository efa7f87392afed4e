//! The `blasrnn` command line: `train` (and the commands built on it).

use anyhow::{Context, Result, bail};
use blasrnn::cell::CellKind;
use blasrnn::head::Readout;
use blasrnn::mnist::Mnist;
use blasrnn::model::Init;
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::train::{TrainConfig, Trainer};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "blasrnn",
    version,
    about = "Recurrent networks on MNIST, every product through CBLAS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a recurrent classifier on MNIST (rows as time steps) and report test accuracy.
    Train(TrainArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum CellArg {
    /// The seed's tanh RNN.
    Tanh,
}

#[derive(Clone, Copy, ValueEnum)]
enum OptArg {
    /// Plain SGD (the seed's).
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// Adam (β₁ 0.9, β₂ 0.999, ε 1e-8).
    Adam,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScheduleArg {
    /// The same learning rate throughout.
    Constant,
    /// Cosine decay from --lr to zero over the run.
    Cosine,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReadoutArg {
    /// The seed's: an output layer per step, all 28 outputs (784 numbers) into the classifier.
    Seq,
    /// The last hidden state only.
    Last,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitArg {
    /// PyTorch's defaults: uniform in ±1/√fan_in.
    Uniform,
    /// The seed's: normal(0, 0.1) truncated at 2σ, biases 0.1, classifier zero.
    Seed,
}

#[derive(Args)]
struct TrainArgs {
    /// Directory holding the MNIST IDX files (gzip'd or not).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value = "tanh")]
    cell: CellArg,
    /// Hidden units.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=65536))]
    hidden: u32,
    /// Training iterations (mini-batches).
    #[arg(long, default_value_t = 2500, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "epochs")]
    iters: u64,
    /// Train for this many passes over the training set instead of --iters.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    epochs: Option<u32>,
    /// Sequences per mini-batch.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=60000))]
    batch: u32,
    /// Update rule.
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptArg,
    /// Base learning rate [default: adam 0.004, momentum 0.02, sgd 0.1].
    #[arg(long)]
    lr: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value = "cosine")]
    lr_schedule: ScheduleArg,
    /// Iterations of linear learning-rate warm-up (from lr/N to lr) before the schedule.
    #[arg(long, default_value_t = 100)]
    warmup: u64,
    /// Clip the gradient's global norm to this value (0 = no clipping).
    #[arg(long, default_value_t = 1.0)]
    clip: f64,
    /// What feeds the softmax classifier.
    #[arg(long, value_enum, default_value = "seq")]
    readout: ReadoutArg,
    /// Initialisation scheme.
    #[arg(long, value_enum, default_value = "seed")]
    init: InitArg,
    /// Seed of all randomness (initialisation, batch order).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (each batch is split across them) [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Feed raw pixels 0..255 as the seed did (default scales them to 0..1).
    #[arg(long)]
    raw_pixels: bool,
    /// Report progress every this many iterations (0 = never).
    #[arg(long, default_value_t = 100)]
    log_every: u64,
    /// Print progress to stderr and one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => train(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blasrnn: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where the human-readable lines go: stdout, or stderr when stdout carries JSON.
fn say(json: bool, line: std::fmt::Arguments) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
        let _ = std::io::stdout().flush();
    }
}

fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

fn train(a: TrainArgs) -> Result<()> {
    let optimizer = match a.optimizer {
        OptArg::Sgd => OptimizerKind::Sgd,
        OptArg::Momentum => OptimizerKind::Momentum,
        OptArg::Adam => OptimizerKind::Adam,
    };
    let lr = a.lr.unwrap_or(match optimizer {
        OptimizerKind::Adam => 0.004,
        OptimizerKind::Momentum => 0.02,
        OptimizerKind::Sgd => 0.1,
    });
    if !(lr.is_finite() && lr > 0.0) {
        bail!("--lr must be a positive number, got {lr}");
    }
    if !(a.clip.is_finite() && a.clip >= 0.0) {
        bail!(
            "--clip must be 0 (off) or a positive number, got {}",
            a.clip
        );
    }
    let data = Mnist::load(&a.data)
        .with_context(|| format!("cannot load MNIST from {} (see --data)", a.data.display()))?;
    let batch = a.batch as usize;
    if batch > data.train.len() {
        bail!(
            "--batch {batch} is larger than the {} training images",
            data.train.len()
        );
    }
    let iters = match a.epochs {
        Some(e) => e as usize * (data.train.len() / batch),
        None => a.iters as usize,
    };
    let threads = (a.threads.unwrap_or_else(default_threads) as usize).min(batch);
    let config = TrainConfig {
        cell: match a.cell {
            CellArg::Tanh => CellKind::Tanh,
        },
        hidden: a.hidden as usize,
        readout: match a.readout {
            ReadoutArg::Seq => Readout::Seq,
            ReadoutArg::Last => Readout::Last,
        },
        iters,
        batch,
        optimizer,
        lr,
        lr_schedule: match a.lr_schedule {
            ScheduleArg::Constant => Schedule::Constant,
            ScheduleArg::Cosine => Schedule::Cosine,
        },
        warmup: a.warmup as usize,
        clip: (a.clip > 0.0).then_some(a.clip),
        init: match a.init {
            InitArg::Uniform => Init::Uniform,
            InitArg::Seed => Init::Seed,
        },
        seed: a.seed,
        threads,
        raw_pixels: a.raw_pixels,
    };
    let json = a.json;
    let backend = blasrnn::blas::backend();
    say(
        json,
        format_args!(
            "blasrnn {} | BLAS: {backend}{} | threads: {threads}",
            env!("CARGO_PKG_VERSION"),
            blasrnn::blas::config()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default()
        ),
    );
    let (t, d) = (data.train.rows, data.train.cols);
    let mut trainer = Trainer::new(config.clone(), t, d, data.train.len());
    say(
        json,
        format_args!(
            "model: {} cell, H={}, readout {}, {} parameters; data: {} train / {} test images of {t}×{d}",
            config.cell.name(),
            config.hidden,
            config.readout.name(),
            trainer.model.num_params(),
            data.train.len(),
            data.test.len()
        ),
    );
    say(
        json,
        format_args!(
            "training: {iters} iterations × batch {batch} ({:.2} epochs), {} lr {lr} ({}, warm-up {}), clip {}, init {:?}, seed {}, pixels {}",
            (iters * batch) as f64 / data.train.len() as f64,
            optimizer.name(),
            config.lr_schedule.name(),
            config.warmup,
            config.clip.map_or("off".to_string(), |c| c.to_string()),
            config.init,
            config.seed,
            if config.raw_pixels { "0..255" } else { "0..1" },
        ),
    );

    let start = Instant::now();
    let (mut since, mut win_loss, mut win_correct, mut win_n) =
        (Instant::now(), 0.0, 0usize, 0usize);
    let mut last_loss = f64::NAN;
    for it in 0..iters {
        let st = trainer.step(&data.train, it, iters);
        if !st.loss.is_finite() {
            bail!(
                "training diverged at iteration {} (loss {}); try a smaller --lr or --clip",
                it + 1,
                st.loss
            );
        }
        win_loss += st.loss;
        win_correct += st.correct;
        win_n += 1;
        let report = a.log_every > 0 && ((it + 1) % a.log_every as usize == 0 || it + 1 == iters);
        if report {
            let secs = since.elapsed().as_secs_f64();
            last_loss = win_loss / win_n as f64;
            say(
                json,
                format_args!(
                    "iter {:>6}/{iters}  loss {:.4}  batch acc {:.4}  |g| {:.3}  lr {:.2e}  {:.0} samples/s",
                    it + 1,
                    last_loss,
                    win_correct as f64 / (win_n * batch) as f64,
                    st.grad_norm,
                    st.lr,
                    (win_n * batch) as f64 / secs
                ),
            );
            (since, win_loss, win_correct, win_n) = (Instant::now(), 0.0, 0, 0);
        }
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let samples = iters * batch;
    let sps = samples as f64 / train_seconds;
    let (test_loss, test_acc) = trainer.evaluate(&data.test);
    say(
        json,
        format_args!(
            "test accuracy {:.2}% ({} / {}), test loss {test_loss:.4}",
            100.0 * test_acc,
            (test_acc * data.test.len() as f64).round() as usize,
            data.test.len()
        ),
    );
    say(
        json,
        format_args!("trained {samples} samples in {train_seconds:.2} s: {sps:.0} samples/s"),
    );
    if json {
        let mut out = serde_json::to_value(&config)?;
        let obj = out.as_object_mut().expect("config serialises to an object");
        obj.insert("test_accuracy".into(), test_acc.into());
        obj.insert("test_loss".into(), test_loss.into());
        obj.insert("train_loss".into(), last_loss.into());
        obj.insert("train_seconds".into(), train_seconds.into());
        obj.insert("train_samples".into(), samples.into());
        obj.insert("train_samples_per_sec".into(), sps.into());
        obj.insert("backend".into(), backend.into());
        obj.insert("parameters".into(), trainer.model.num_params().into());
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}
