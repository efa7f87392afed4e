//! The `blasrnn` command line: `train` (the batched engine, or `--algo reference` for the original
//! program's algorithm) and `bench` (both side by side, against this machine's dgemm rate).

use anyhow::{Context, Result, bail};
use blasrnn::bench;
use blasrnn::cell::CellKind;
use blasrnn::checkpoint::{self, Checkpoint};
use blasrnn::head::Readout;
use blasrnn::mnist::CLASSES;
use blasrnn::mnist::Mnist;
use blasrnn::model::{Init, Model};
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::real::{Dtype, Real};
use blasrnn::reference::{IMAGES_PER_ITER, Reference};
use blasrnn::report::{self, Row};
use blasrnn::train::{TrainConfig, Trainer};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Measure the engine against the original algorithm and this machine's dgemm rate.
    Bench(BenchArgs),
    /// Test accuracy and confusion matrix of a saved model.
    Eval(EvalArgs),
    /// Predict the digits of images (PNG or PGM) or of test-set images with a saved model.
    Predict(PredictArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Algo {
    /// The batched engine.
    Engine,
    /// The original program's algorithm replayed: one image at a time, raw pixels, SGD at 0.01
    /// updating in place during BPTT, ten BPTT passes per image.
    Reference,
}

#[derive(Args)]
struct TrainArgs {
    /// Directory holding the MNIST IDX files (gzip'd or not).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Which algorithm trains.
    #[arg(long, value_enum, default_value = "engine")]
    algo: Algo,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value = "tanh")]
    cell: CellKind,
    /// Hidden units.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=65536))]
    hidden: u32,
    /// Training iterations (mini-batches; of 100 images for the reference).
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
    optimizer: OptimizerKind,
    /// Base learning rate [default: adam 0.004, momentum 0.02, sgd 0.1; reference 0.01].
    #[arg(long)]
    lr: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value = "cosine")]
    lr_schedule: Schedule,
    /// Iterations of linear learning-rate warm-up (from lr/N to lr) before the schedule.
    #[arg(long, default_value_t = 100)]
    warmup: u64,
    /// Clip the gradient's global norm to this value (0 = no clipping).
    #[arg(long, default_value_t = 1.0)]
    clip: f64,
    /// What feeds the softmax classifier.
    #[arg(long, value_enum, default_value = "seq")]
    readout: Readout,
    /// Initialisation scheme.
    #[arg(long, value_enum, default_value = "seed")]
    init: Init,
    /// LSTM only: start the forget gate's bias at this value (bias_ih; bias_hh's slice is 0).
    #[arg(long)]
    forget_bias: Option<f64>,
    /// Seed of all randomness (initialisation, batch order).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (each batch is split across them) [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Feed raw pixels 0..255 as the seed did (default scales them to 0..1).
    #[arg(long)]
    raw_pixels: bool,
    /// Number type of parameters, activations and gradients [default: f64 for the tanh cell (the
    /// seed's design), f32 for LSTM and GRU (PyTorch's default; sgemm does twice the work of
    /// dgemm per instruction)].
    #[arg(long, value_enum)]
    dtype: Option<Dtype>,
    /// Report progress every this many iterations (0 = never).
    #[arg(long, default_value_t = 100)]
    log_every: u64,
    /// Print progress to stderr and one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar or progress lines (the bar also stays off when stdout is not a terminal).
    #[arg(long)]
    quiet: bool,
    /// Save the model (safetensors, PyTorch names) here at the end, atomically.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Also save to --save every N iterations (0 = only at the end).
    #[arg(long, default_value_t = 0)]
    save_every: u64,
    /// Continue training a saved model (its parameters and optimizer state) up to --iters.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Evaluate on the test set every N iterations (0 = only at the end).
    #[arg(long, default_value_t = 0)]
    eval_every: u64,
    /// Write one CSV row per report interval here.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Draw loss and accuracy against samples seen as an SVG file here.
    #[arg(long)]
    plot: Option<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// A model saved by `train --save`.
    #[arg(long)]
    model: PathBuf,
    /// Directory holding the MNIST IDX files.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Worker threads [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Print one JSON object (accuracy, loss, confusion matrix) as the last line of stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct PredictArgs {
    /// A model saved by `train --save`.
    #[arg(long)]
    model: PathBuf,
    /// 8-bit grayscale PNG or PGM images of the model's size (28×28 for MNIST), white on black.
    files: Vec<PathBuf>,
    /// Predict test-set image N instead (repeatable).
    #[arg(long)]
    test_index: Vec<usize>,
    /// Directory holding the MNIST IDX files (for --test-index).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Print the predictions as one JSON array as the last line of stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BenchArgs {
    /// Directory holding the MNIST IDX files.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Threads for the engine and for the dgemm peak [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Samples the engine trains on (seed model, batch 100), split into 5 timed segments; the
    /// LSTM and GRU at H = 128 train on an eighth of it.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(2500..))]
    engine_samples: u64,
    /// Images the reference algorithm trains on, split into 5 timed segments.
    #[arg(long, default_value_t = 2500, value_parser = clap::value_parser!(u64).range(500..))]
    reference_samples: u64,
    /// Size n of the n×n×n dgemm that measures this machine's peak.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(64..=8192))]
    dgemm_size: u32,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Train(a) => {
            let sub = matches.subcommand_matches("train").expect("train matches");
            match a.algo {
                Algo::Engine => train_engine(a, sub),
                Algo::Reference => reference_flags_ok(sub).and_then(|()| train_reference(a)),
            }
        }
        Command::Bench(a) => run_bench(a),
        Command::Eval(a) => run_eval(a),
        Command::Predict(a) => run_predict(a),
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

/// The test-set line every command ends with.
fn say_accuracy(json: bool, accuracy: f64, n: usize, loss: Option<f64>) {
    say(
        json,
        format_args!(
            "test accuracy {:.2}% ({} / {n}){}",
            100.0 * accuracy,
            (accuracy * n as f64).round() as usize,
            loss.map(|l| format!(", test loss {l:.4}"))
                .unwrap_or_default()
        ),
    );
}

fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

fn load(dir: &Path) -> Result<Mnist> {
    Mnist::load(dir)
        .with_context(|| format!("cannot load MNIST from {} (see --data)", dir.display()))
}

/// Peak resident memory of this process in MB, where the OS reports it (Linux: VmHWM).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn check_lr(lr: f64) -> Result<f64> {
    if !(lr.is_finite() && lr > 0.0) {
        bail!("--lr must be a positive number, got {lr}");
    }
    Ok(lr)
}

/// The first line every command prints: version, BLAS backend and its own description, threads.
fn banner(json: bool, threads: usize) {
    say(
        json,
        format_args!(
            "blasrnn {} | BLAS: {}{} | threads: {threads}",
            env!("CARGO_PKG_VERSION"),
            blasrnn::blas::backend(),
            blasrnn::blas::config()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default()
        ),
    );
}

/// The number type a cell trains in unless `--dtype` says otherwise: the seed's tanh model keeps
/// the original design's f64; the gated cells use PyTorch's f32.
fn default_dtype(cell: CellKind) -> Dtype {
    match cell {
        CellKind::Tanh => Dtype::F64,
        CellKind::Lstm | CellKind::Gru => Dtype::F32,
    }
}

/// The engine's configuration from the command line.
fn engine_config(a: &TrainArgs, train_len: usize) -> Result<TrainConfig> {
    let lr = check_lr(a.lr.unwrap_or(match a.optimizer {
        OptimizerKind::Adam => 0.004,
        OptimizerKind::Momentum => 0.02,
        OptimizerKind::Sgd => 0.1,
    }))?;
    if !(a.clip.is_finite() && a.clip >= 0.0) {
        bail!(
            "--clip must be 0 (off) or a positive number, got {}",
            a.clip
        );
    }
    if a.forget_bias.is_some() && a.cell != CellKind::Lstm {
        bail!("--forget-bias applies to --cell lstm only");
    }
    if a.forget_bias.is_some_and(|v| !v.is_finite()) {
        bail!("--forget-bias must be a finite number");
    }
    let batch = a.batch as usize;
    if batch > train_len {
        bail!("--batch {batch} is larger than the {train_len} training images");
    }
    Ok(TrainConfig {
        cell: a.cell,
        hidden: a.hidden as usize,
        readout: a.readout,
        iters: match a.epochs {
            Some(e) => e as usize * (train_len / batch),
            None => a.iters as usize,
        },
        batch,
        optimizer: a.optimizer,
        lr,
        lr_schedule: a.lr_schedule,
        warmup: a.warmup as usize,
        clip: (a.clip > 0.0).then_some(a.clip),
        init: a.init,
        forget_bias: a.forget_bias,
        seed: a.seed,
        threads: (a.threads.unwrap_or_else(default_threads) as usize).min(batch),
        raw_pixels: a.raw_pixels,
        dtype: a.dtype.unwrap_or(default_dtype(a.cell)),
    })
}

/// Flags that fix the model's shape: taken from the file on `--resume` unless given, and then
/// they must agree with it.
fn resume_into(a: &mut TrainArgs, m: &ArgMatches, ckpt: &Checkpoint) -> Result<()> {
    let given = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    let c = &ckpt.config;
    let clash = |flag: &str, file: String, asked: String| {
        anyhow::anyhow!("--resume: the saved model has {flag} {file}, but {flag} {asked} was given")
    };
    if given("cell") && a.cell != c.cell {
        return Err(clash("--cell", c.cell.name().into(), a.cell.name().into()));
    }
    if given("hidden") && a.hidden as usize != c.hidden {
        return Err(clash(
            "--hidden",
            c.hidden.to_string(),
            a.hidden.to_string(),
        ));
    }
    if given("readout") && a.readout != c.readout {
        return Err(clash(
            "--readout",
            c.readout.name().into(),
            a.readout.name().into(),
        ));
    }
    if given("raw_pixels") && a.raw_pixels != ckpt.raw_pixels {
        return Err(clash(
            "--raw-pixels",
            ckpt.raw_pixels.to_string(),
            a.raw_pixels.to_string(),
        ));
    }
    if let Some(d) = a.dtype
        && d != ckpt.dtype
    {
        return Err(clash("--dtype", ckpt.dtype.name().into(), d.name().into()));
    }
    (a.cell, a.hidden, a.readout, a.raw_pixels, a.dtype) = (
        c.cell,
        c.hidden as u32,
        c.readout,
        ckpt.raw_pixels,
        Some(ckpt.dtype),
    );
    Ok(())
}

fn train_engine(mut a: TrainArgs, m: &ArgMatches) -> Result<()> {
    if a.save_every > 0 && a.save.is_none() {
        bail!("--save-every needs --save PATH");
    }
    let resume = match &a.resume {
        Some(path) => Some(checkpoint::load(path)?),
        None => None,
    };
    if let Some(ckpt) = &resume {
        resume_into(&mut a, m, ckpt)?;
    }
    let data = load(&a.data)?;
    let config = engine_config(&a, data.train.len())?;
    match config.dtype {
        Dtype::F32 => train_in::<f32>(a, config, data, resume),
        Dtype::F64 => train_in::<f64>(a, config, data, resume),
    }
}

/// The training run of `train_engine`, computing in `T`.
fn train_in<T: Real>(
    a: TrainArgs,
    config: TrainConfig,
    data: Mnist,
    resume: Option<Checkpoint>,
) -> Result<()> {
    let (json, iters, batch) = (a.json, config.iters, config.batch);
    let (t, d) = (data.train.rows, data.train.cols);
    let mut trainer = Trainer::<T>::new(config.clone(), t, d, data.train.len());
    let first = match &resume {
        Some(ckpt) => {
            trainer.restore(ckpt).map_err(|e| {
                anyhow::anyhow!(
                    "--resume {}: {e}",
                    a.resume.as_ref().expect("resume").display()
                )
            })?;
            if ckpt.iteration >= iters {
                bail!(
                    "--resume: the saved model has trained {} iterations already; pass a larger --iters",
                    ckpt.iteration
                );
            }
            ckpt.iteration
        }
        None => 0,
    };
    let quiet = a.quiet || json;
    let bar = (!quiet && std::io::stdout().is_terminal()).then(|| {
        let bar = ProgressBar::new(iters as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} iters  ETA {eta}  {msg}")
                .expect("valid template"),
        );
        bar.set_position(first as u64);
        bar
    });
    let line = |text: std::fmt::Arguments| match &bar {
        Some(bar) => bar.println(text.to_string()),
        None => say(json, text),
    };
    banner(json, config.threads);
    line(format_args!(
        "model: {} cell, H={}, readout {}, {} parameters ({}); data: {} train / {} test images of {t}×{d}",
        config.cell.name(),
        config.hidden,
        config.readout.name(),
        trainer.model.num_params(),
        config.dtype.name(),
        data.train.len(),
        data.test.len()
    ));
    line(format_args!(
        "training: {iters} iterations × batch {batch} ({:.2} epochs){}, {} lr {} ({}, warm-up {}), clip {}, init {:?}, seed {}, pixels {}",
        (iters * batch) as f64 / data.train.len() as f64,
        if first > 0 {
            format!(", resuming at {first}")
        } else {
            String::new()
        },
        config.optimizer.name(),
        config.lr,
        config.lr_schedule.name(),
        config.warmup,
        config.clip.map_or("off".to_string(), |c| c.to_string()),
        config.init,
        config.seed,
        if config.raw_pixels { "0..255" } else { "0..1" },
    ));

    let save = |trainer: &Trainer<T>, path: &Path, iteration: usize| -> Result<()> {
        checkpoint::save(
            path,
            &trainer.model,
            &trainer.params,
            config.raw_pixels,
            iteration,
            Some(trainer.optimizer()),
        )?;
        Ok(())
    };
    // The loop runs on a worker thread of the trainer, so that no step allocates.
    let (rows, train_seconds) = trainer.in_pool(|trainer| -> Result<(Vec<Row>, f64)> {
        let mut rows: Vec<Row> = Vec::new();
        let mut train_seconds = 0.0;
        let (mut win_loss, mut win_correct, mut win_n, mut win_secs) = (0.0, 0, 0, 0.0);
        for it in first..iters {
            let start = Instant::now();
            let st = trainer.step(&data.train, it, iters);
            let secs = start.elapsed().as_secs_f64();
            (train_seconds, win_secs) = (train_seconds + secs, win_secs + secs);
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
            let done = it + 1;
            let every = |n: u64| n > 0 && done % n as usize == 0;
            let evaluate = every(a.eval_every);
            if every(a.log_every) || evaluate || done == iters {
                let eval_accuracy = evaluate.then(|| trainer.evaluate(&data.test).accuracy);
                let row = Row {
                    iteration: done,
                    samples: done * batch,
                    loss: win_loss / win_n as f64,
                    batch_accuracy: win_correct as f64 / (win_n * batch) as f64,
                    eval_accuracy,
                    elapsed_seconds: train_seconds,
                };
                let msg = format!(
                    "loss {:.4}  batch acc {:.4}{}",
                    row.loss,
                    row.batch_accuracy,
                    eval_accuracy
                        .map(|e| format!("  test acc {e:.4}"))
                        .unwrap_or_default()
                );
                if let Some(bar) = &bar {
                    bar.set_message(msg.clone());
                }
                if !quiet || json {
                    line(format_args!(
                        "iter {done:>6}/{iters}  {msg}  |g| {:.3}  lr {:.2e}  {:.0} samples/s",
                        st.grad_norm,
                        st.lr,
                        (win_n * batch) as f64 / win_secs
                    ));
                }
                rows.push(row);
                (win_loss, win_correct, win_n, win_secs) = (0.0, 0, 0, 0.0);
            }
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            if let Some(path) = &a.save
                && every(a.save_every)
                && done < iters
            {
                save(trainer, path, done)?;
            }
        }
        Ok((rows, train_seconds))
    })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let samples = (iters - first) * batch;
    let sps = samples as f64 / train_seconds;
    let eval = trainer.evaluate(&data.test);
    say_accuracy(json, eval.accuracy, data.test.len(), Some(eval.loss));
    say(
        json,
        format_args!("trained {samples} samples in {train_seconds:.2} s: {sps:.0} samples/s"),
    );
    if let Some(path) = &a.save {
        save(&trainer, path, iters)?;
        say(json, format_args!("saved {}", path.display()));
    }
    if let Some(path) = &a.log {
        report::write_csv(path, &rows)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &a.plot {
        let title = format!(
            "{} H={} — test accuracy {:.2}%",
            config.cell.name(),
            config.hidden,
            100.0 * eval.accuracy
        );
        report::write_plot(path, &rows, &title)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if json {
        let mut out = serde_json::to_value(&config)?;
        let obj = out.as_object_mut().expect("config serialises to an object");
        obj.insert("algo".into(), "engine".into());
        obj.insert("test_accuracy".into(), eval.accuracy.into());
        obj.insert("test_loss".into(), eval.loss.into());
        obj.insert("train_loss".into(), rows.last().map(|r| r.loss).into());
        obj.insert("train_seconds".into(), train_seconds.into());
        obj.insert("train_samples".into(), samples.into());
        obj.insert("train_samples_per_sec".into(), sps.into());
        obj.insert("start_iteration".into(), first.into());
        obj.insert("backend".into(), blasrnn::blas::backend().into());
        obj.insert("parameters".into(), trainer.model.num_params().into());
        obj.insert("peak_rss_mb".into(), peak_rss_mb().into());
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}

fn print_confusion(json: bool, confusion: &[[usize; CLASSES]; CLASSES]) {
    say(
        json,
        format_args!("confusion matrix (rows: true digit, columns: predicted)"),
    );
    say(
        json,
        format_args!(
            "      {}",
            (0..CLASSES).map(|k| format!("{k:>6}")).collect::<String>()
        ),
    );
    for (k, row) in confusion.iter().enumerate() {
        say(
            json,
            format_args!(
                "{k:>4}  {}",
                row.iter().map(|c| format!("{c:>6}")).collect::<String>()
            ),
        );
    }
}

/// `blasrnn train`'s defaults for a cell of `hidden` units (what `bench` and `eval` build on).
fn default_train_args(cell: CellKind, hidden: usize) -> TrainArgs {
    let hidden = hidden.to_string();
    let argv = [
        "blasrnn",
        "train",
        "--cell",
        cell.name(),
        "--hidden",
        &hidden,
    ];
    match Cli::try_parse_from(argv)
        .expect("default train arguments parse")
        .command
    {
        Command::Train(args) => args,
        _ => unreachable!("parsed a train command"),
    }
}

/// A trainer holding a saved model's parameters (for evaluation), computing in `T`.
fn trainer_for<T: Real>(ckpt: &Checkpoint, threads: usize, data: &Mnist) -> Result<Trainer<T>> {
    let c = &ckpt.config;
    if (c.steps, c.input) != (data.test.rows, data.test.cols) {
        bail!(
            "the model reads {}×{} images but the data set holds {}×{}",
            c.steps,
            c.input,
            data.test.rows,
            data.test.cols
        );
    }
    let mut args = default_train_args(c.cell, c.hidden);
    (args.readout, args.raw_pixels, args.threads, args.dtype) = (
        c.readout,
        ckpt.raw_pixels,
        Some(threads as u32),
        Some(T::DTYPE),
    );
    let config = engine_config(&args, data.train.len())?;
    let mut trainer = Trainer::new(config, c.steps, c.input, data.train.len());
    blasrnn::real::convert(&ckpt.params, &mut trainer.params);
    Ok(trainer)
}

fn run_eval(a: EvalArgs) -> Result<()> {
    let ckpt = checkpoint::load(&a.model)?;
    let data = load(&a.data)?;
    let threads = a.threads.unwrap_or_else(default_threads) as usize;
    // In the dtype the model was trained in, so that eval repeats training's final figure.
    let eval = match ckpt.dtype {
        Dtype::F32 => trainer_for::<f32>(&ckpt, threads, &data)?.evaluate(&data.test),
        Dtype::F64 => trainer_for::<f64>(&ckpt, threads, &data)?.evaluate(&data.test),
    };
    banner(a.json, threads);
    say(
        a.json,
        format_args!(
            "model {}: {} cell, H={}, readout {}, {}, trained {} iterations",
            a.model.display(),
            ckpt.config.cell.name(),
            ckpt.config.hidden,
            ckpt.config.readout.name(),
            ckpt.dtype.name(),
            ckpt.iteration
        ),
    );
    say_accuracy(a.json, eval.accuracy, data.test.len(), Some(eval.loss));
    print_confusion(a.json, &eval.confusion);
    if a.json {
        let out = json!({
            "model": a.model.display().to_string(),
            "test_accuracy": eval.accuracy,
            "test_loss": eval.loss,
            "confusion": eval.confusion,
            "cell": ckpt.config.cell.name(),
            "hidden": ckpt.config.hidden,
            "readout": ckpt.config.readout.name(),
            "dtype": ckpt.dtype.name(),
        });
        println!("{out}");
    }
    Ok(())
}

/// A 28×28 (the model's size) 8-bit grayscale PNG or PGM as pixel bytes.
fn read_image(path: &Path, rows: usize, cols: usize) -> Result<Vec<u8>> {
    let img = image::open(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the image: {e}", path.display()))?;
    if img.color() != image::ColorType::L8 {
        bail!(
            "{}: colour type {:?}; the model reads 8-bit grayscale images (PNG or PGM, white digit on black)",
            path.display(),
            img.color()
        );
    }
    if (img.height() as usize, img.width() as usize) != (rows, cols) {
        bail!(
            "{}: {}×{} pixels; the model reads {cols}×{rows} images",
            path.display(),
            img.width(),
            img.height()
        );
    }
    Ok(img.into_luma8().into_raw())
}

fn run_predict(a: PredictArgs) -> Result<()> {
    if a.files.is_empty() && a.test_index.is_empty() {
        bail!("nothing to predict: give image files and/or --test-index N");
    }
    let ckpt = checkpoint::load(&a.model)?;
    match ckpt.dtype {
        Dtype::F32 => predict_in::<f32>(a, ckpt),
        Dtype::F64 => predict_in::<f64>(a, ckpt),
    }
}

/// The predictions of `run_predict`, computing in `T` (the dtype the model was saved in).
fn predict_in<T: Real>(a: PredictArgs, ckpt: Checkpoint) -> Result<()> {
    let c = ckpt.config;
    let model = Model::<T>::new(c);
    let mut params = vec![T::ZERO; model.num_params()];
    blasrnn::real::convert(&ckpt.params, &mut params);
    let scale = if ckpt.raw_pixels { 1.0 } else { 1.0 / 255.0 };
    let mut inputs: Vec<(String, Vec<u8>, Option<u8>)> = Vec::new();
    for f in &a.files {
        inputs.push((
            f.display().to_string(),
            read_image(f, c.steps, c.input)?,
            None,
        ));
    }
    if !a.test_index.is_empty() {
        let data = load(&a.data)?;
        for &i in &a.test_index {
            if i >= data.test.len() {
                bail!(
                    "--test-index {i}: the test set holds {} images (0..{})",
                    data.test.len(),
                    data.test.len() - 1
                );
            }
            inputs.push((
                format!("test image {i}"),
                data.test.image(i).to_vec(),
                Some(data.test.labels[i]),
            ));
        }
    }
    let mut ws = model.workspace(1);
    let mut results = Vec::new();
    for (name, pixels, label) in inputs {
        for (x, &p) in ws.x.iter_mut().zip(&pixels) {
            *x = T::from_f64(f64::from(p) * scale);
        }
        ws.labels[0] = label.unwrap_or(0);
        model.forward(&params, &mut ws, 1);
        let probs: Vec<f64> = ws.probs(1, CLASSES).iter().map(|p| p.to_f64()).collect();
        let digit = blasrnn::head::argmax(&probs);
        let shown: Vec<String> = probs.iter().map(|p| format!("{p:.4}")).collect();
        say(
            a.json,
            format_args!(
                "{name}: {digit}{}  p = [{}]",
                label.map(|l| format!(" (label {l})")).unwrap_or_default(),
                shown.join(", ")
            ),
        );
        results
            .push(json!({"input": name, "digit": digit, "label": label, "probabilities": probs}));
    }
    if a.json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(())
}

/// `--algo reference` replays the original exactly; flags that would change it are refused.
fn reference_flags_ok(m: &ArgMatches) -> Result<()> {
    let fixed = [
        "cell",
        "epochs",
        "batch",
        "optimizer",
        "lr_schedule",
        "warmup",
        "clip",
        "readout",
        "init",
        "forget_bias",
        "dtype",
        "save",
        "save_every",
        "resume",
        "eval_every",
        "log",
        "plot",
        "threads",
        "raw_pixels",
    ];
    for id in fixed {
        if m.value_source(id) == Some(ValueSource::CommandLine) {
            bail!(
                "--{} does not apply to --algo reference, which replays the original program \
                 (tanh cell, seed readout and initialisation, SGD one image at a time, raw pixels, \
                 one thread); it takes --iters, --hidden, --lr, --seed, --log-every, --json, --data",
                id.replace('_', "-")
            );
        }
    }
    Ok(())
}

fn train_reference(a: TrainArgs) -> Result<()> {
    let data = load(&a.data)?;
    let lr = check_lr(a.lr.unwrap_or(0.01))?;
    let (json, iters, h) = (a.json, a.iters as usize, a.hidden as usize);
    banner(json, 1);
    say(
        json,
        format_args!(
            "reference: the original algorithm, H={h}, {iters} iterations of {IMAGES_PER_ITER} consecutive images \
         from a random offset, one image at a time with 10 BPTT passes each, SGD lr {lr}, raw pixels, seed {}",
            a.seed
        ),
    );
    let mut r = Reference::new(h, data.train.rows, data.train.cols, lr, a.seed);
    let mut train_seconds = 0.0;
    for it in 0..iters {
        let start = Instant::now();
        r.iteration(&data.train);
        train_seconds += start.elapsed().as_secs_f64();
        if a.log_every > 0 && ((it + 1) % a.log_every as usize == 0 || it + 1 == iters) {
            // As the original: accuracy on 100 random training images (not timed).
            let acc = r.sample_accuracy(&data.train, 100);
            say(
                json,
                format_args!(
                    "iter {:>5}/{iters}  accuracy on 100 random training images {:.2}  {:.0} images/s",
                    it + 1,
                    acc,
                    ((it + 1) * IMAGES_PER_ITER) as f64 / train_seconds
                ),
            );
        }
    }
    let samples = iters * IMAGES_PER_ITER;
    let sps = samples as f64 / train_seconds;
    let test_acc = r.accuracy(&data.test);
    say_accuracy(json, test_acc, data.test.len(), None);
    say(
        json,
        format_args!("trained {samples} images in {train_seconds:.2} s: {sps:.0} images/s"),
    );
    if json {
        let out = json!({
            "algo": "reference",
            "test_accuracy": test_acc,
            "train_seconds": train_seconds,
            "train_samples": samples,
            "train_samples_per_sec": sps,
            "backend": blasrnn::blas::backend(),
            "threads": 1,
            "hidden": h,
            "iters": iters,
            "lr": lr,
            "seed": a.seed,
            "peak_rss_mb": peak_rss_mb(),
        });
        println!("{out}");
    }
    Ok(())
}

/// The model a training configuration builds for this data set.
fn model_of(config: &TrainConfig, data: &Mnist) -> Model {
    Model::new(config.model_config(data.train.rows, data.train.cols))
}

fn run_bench(a: BenchArgs) -> Result<()> {
    let data = load(&a.data)?;
    let threads = a.threads.unwrap_or_else(default_threads) as usize;
    let plural = if threads == 1 { "" } else { "s" };
    let json = a.json;
    banner(json, threads);
    if let Ok(core) = std::env::var("OPENBLAS_CORETYPE") {
        say(
            json,
            format_args!(
                "note: OPENBLAS_CORETYPE={core} is set: OpenBLAS runs that kernel family whatever this CPU supports"
            ),
        );
    }
    let n = a.dgemm_size as usize;
    let peak = bench::gemm_peak::<f64>(n, threads, 7);
    let speak = bench::gemm_peak::<f32>(n, threads, 7);
    say(
        json,
        format_args!(
            "dgemm {n}×{n}×{n}, {threads} BLAS thread{plural}: {peak:.1} GFLOP/s; sgemm: {speak:.1} GFLOP/s (medians of 7)"
        ),
    );

    // The engine on the seed model (H = 50, batch 100, the default training settings), then the
    // gated cells at H = 128.
    let engine_config_for = |cell: CellKind, hidden: usize| -> Result<TrainConfig> {
        let mut args = default_train_args(cell, hidden);
        args.threads = Some(threads as u32);
        engine_config(&args, data.train.len())
    };
    let config = engine_config_for(CellKind::Tanh, 50)?;
    let flops = bench::flops_per_sample(&model_of(&config, &data), config.batch);
    let seg_iters = (a.engine_samples as usize / config.batch / 5).max(1);
    // With several threads, the same work on one thread too, interleaved in the same run.
    let mut configs = vec![config.clone()];
    if threads > 1 {
        configs.push(TrainConfig {
            threads: 1,
            ..config.clone()
        });
    }
    let rates = bench::engine_throughputs::<f64>(&data.train, &configs, 20, 5, seg_iters);
    let engine = rates[0];
    let gflops = engine * flops / 1e9;
    say(
        json,
        format_args!(
            "engine (tanh, H=50, batch 100, f64, {threads} thread{plural}): {engine:.0} samples/s, \
         {:.3} MFLOP/sample, {gflops:.1} GFLOP/s = {:.0}% of the dgemm peak",
            flops / 1e6,
            100.0 * gflops / peak
        ),
    );
    let mut extra = serde_json::Map::new();
    if let Some(&single) = rates.get(1) {
        say(
            json,
            format_args!(
                "engine on 1 thread: {single:.0} samples/s; {threads} thread{plural} / 1 thread = {:.2}×",
                engine / single
            ),
        );
        extra.insert("engine_1thread_samples_per_sec".into(), single.into());
        extra.insert("thread_scaling".into(), (engine / single).into());
    }
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let config = engine_config_for(cell, 128)?;
        let flops = bench::flops_per_sample(&model_of(&config, &data), config.batch);
        let iters = (a.engine_samples as usize / config.batch / 5 / 8).max(1);
        for dtype in [Dtype::F64, Dtype::F32] {
            let config = TrainConfig {
                dtype,
                ..config.clone()
            };
            let (sps, peak, routine) = match dtype {
                Dtype::F64 => {
                    let r = bench::engine_throughputs::<f64>(&data.train, &[config], 5, 5, iters);
                    (r[0], peak, "dgemm")
                }
                Dtype::F32 => {
                    let r = bench::engine_throughputs::<f32>(&data.train, &[config], 5, 5, iters);
                    (r[0], speak, "sgemm")
                }
            };
            say(
                json,
                format_args!(
                    "engine ({}, H=128, batch 100, {}, {threads} thread{plural}): {sps:.0} samples/s, \
                 {:.2} MFLOP/sample, {:.1} GFLOP/s = {:.0}% of the {routine} peak",
                    cell.name(),
                    dtype.name(),
                    flops / 1e6,
                    sps * flops / 1e9,
                    100.0 * sps * flops / 1e9 / peak
                ),
            );
            let key = match dtype {
                Dtype::F64 => format!("{}_h128", cell.name()),
                Dtype::F32 => format!("{}_h128_f32", cell.name()),
            };
            extra.insert(format!("{key}_samples_per_sec"), sps.into());
            extra.insert(format!("{key}_gflops"), (sps * flops / 1e9).into());
        }
    }

    let ref_iters = (a.reference_samples as usize / IMAGES_PER_ITER / 5).max(1);
    let reference = bench::reference_throughput(&data.train, config.hidden, 5, ref_iters);
    let speedup = engine / reference;
    say(
        json,
        format_args!(
            "reference (the original algorithm, one image at a time, 1 thread): {reference:.0} images/s"
        ),
    );
    say(
        json,
        format_args!("speedup engine / reference: {speedup:.1}×"),
    );
    if json {
        let mut out = json!({
            "engine_samples_per_sec": engine,
            "reference_samples_per_sec": reference,
            "speedup": speedup,
            "engine_gflops": gflops,
            "engine_flops_per_sample": flops,
            "dgemm_peak_gflops": peak,
            "sgemm_peak_gflops": speak,
            "dgemm_size": n,
            "peak_fraction": gflops / peak,
            "threads": threads,
            "backend": blasrnn::blas::backend(),
        });
        out.as_object_mut().expect("object").extend(extra);
        println!("{out}");
    }
    Ok(())
}
