//! The `blasrnn` command line: `train` (the batched engine, or `--algo reference` for the original
//! program's algorithm) and `bench` (both side by side, against this machine's dgemm rate).

use anyhow::{Context, Result, bail};
use blasrnn::bench;
use blasrnn::cell::CellKind;
use blasrnn::head::Readout;
use blasrnn::mnist::Mnist;
use blasrnn::model::{Init, Model};
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::reference::{IMAGES_PER_ITER, Reference};
use blasrnn::train::{TrainConfig, Trainer};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde_json::json;
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
    /// Report progress every this many iterations (0 = never).
    #[arg(long, default_value_t = 100)]
    log_every: u64,
    /// Print progress to stderr and one JSON object as the last line of stdout.
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
        Command::Train(a) => match a.algo {
            Algo::Engine => train_engine(a),
            Algo::Reference => {
                let sub = matches.subcommand_matches("train").expect("train matches");
                reference_flags_ok(sub).and_then(|()| train_reference(a))
            }
        },
        Command::Bench(a) => run_bench(a),
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
    })
}

fn train_engine(a: TrainArgs) -> Result<()> {
    let data = load(&a.data)?;
    let config = engine_config(&a, data.train.len())?;
    let (json, iters, batch) = (a.json, config.iters, config.batch);
    banner(json, config.threads);
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
            "training: {iters} iterations × batch {batch} ({:.2} epochs), {} lr {} ({}, warm-up {}), clip {}, init {:?}, seed {}, pixels {}",
            (iters * batch) as f64 / data.train.len() as f64,
            config.optimizer.name(),
            config.lr,
            config.lr_schedule.name(),
            config.warmup,
            config.clip.map_or("off".to_string(), |c| c.to_string()),
            config.init,
            config.seed,
            if config.raw_pixels { "0..255" } else { "0..1" },
        ),
    );

    let start = Instant::now();
    let (mut since, mut win_loss, mut win_correct, mut win_n) = (Instant::now(), 0.0, 0, 0);
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
            last_loss = win_loss / win_n as f64;
            say(
                json,
                format_args!(
                    "iter {:>6}/{iters}  loss {last_loss:.4}  batch acc {:.4}  |g| {:.3}  lr {:.2e}  {:.0} samples/s",
                    it + 1,
                    win_correct as f64 / (win_n * batch) as f64,
                    st.grad_norm,
                    st.lr,
                    (win_n * batch) as f64 / since.elapsed().as_secs_f64()
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
        obj.insert("algo".into(), "engine".into());
        obj.insert("test_accuracy".into(), test_acc.into());
        obj.insert("test_loss".into(), test_loss.into());
        obj.insert("train_loss".into(), last_loss.into());
        obj.insert("train_seconds".into(), train_seconds.into());
        obj.insert("train_samples".into(), samples.into());
        obj.insert("train_samples_per_sec".into(), sps.into());
        obj.insert("backend".into(), blasrnn::blas::backend().into());
        obj.insert("parameters".into(), trainer.model.num_params().into());
        obj.insert("peak_rss_mb".into(), peak_rss_mb().into());
        println!("{}", serde_json::to_string(&out)?);
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
    say(
        json,
        format_args!(
            "test accuracy {:.2}% ({} / {})",
            100.0 * test_acc,
            (test_acc * data.test.len() as f64).round() as usize,
            data.test.len()
        ),
    );
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
    let json = a.json;
    banner(json, threads);
    let n = a.dgemm_size as usize;
    let peak = bench::dgemm_peak(n, threads, 7);
    say(
        json,
        format_args!("dgemm {n}×{n}×{n}, {threads} BLAS threads: {peak:.1} GFLOP/s (median of 7)"),
    );

    // The engine on the seed model (H = 50, batch 100, the default training settings), then the
    // gated cells at H = 128.
    let engine_config_for = |cell: CellKind, hidden: u32| -> Result<TrainConfig> {
        let (threads, hidden) = (threads.to_string(), hidden.to_string());
        let argv = [
            "blasrnn",
            "train",
            "--threads",
            &threads,
            "--cell",
            cell.name(),
            "--hidden",
            &hidden,
        ];
        let Command::Train(args) = Cli::try_parse_from(argv)
            .expect("bench arguments parse")
            .command
        else {
            unreachable!("parsed a train command")
        };
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
    let rates = bench::engine_throughputs(&data.train, &configs, 20, 5, seg_iters);
    let engine = rates[0];
    let gflops = engine * flops / 1e9;
    say(
        json,
        format_args!(
            "engine (tanh, H=50, batch 100, {threads} threads): {engine:.0} samples/s, \
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
                "engine on 1 thread: {single:.0} samples/s; {threads} threads / 1 thread = {:.2}×",
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
        let sps = bench::engine_throughputs(&data.train, &[config], 5, 5, iters)[0];
        say(
            json,
            format_args!(
                "engine ({}, H=128, batch 100, {threads} threads): {sps:.0} samples/s, {:.2} MFLOP/sample, \
             {:.1} GFLOP/s = {:.0}% of the dgemm peak",
                cell.name(),
                flops / 1e6,
                sps * flops / 1e9,
                100.0 * sps * flops / 1e9 / peak
            ),
        );
        extra.insert(format!("{}_h128_samples_per_sec", cell.name()), sps.into());
        extra.insert(
            format!("{}_h128_gflops", cell.name()),
            (sps * flops / 1e9).into(),
        );
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
