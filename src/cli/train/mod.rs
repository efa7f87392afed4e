//! `blasrnn train`: a classifier on MNIST (the default), on a UCR/UEA `.ts` pair or an `.npz`
//! archive, or a character-level language model on a text file (`--text`); `--algo reference`
//! replays the original program. Flags become a [`TrainConfig`] (`settings`), the library trains,
//! this module shows it: the progress bar and lines, Ctrl-C, the log, the plot, the JSON summary
//! (`summary`).

mod data;
mod ranks;
mod reference;
mod settings;
mod summary;

use super::console::Console;
use super::results::Reached;
use super::{banner, check_output, choice, signals};
use anyhow::{Context, Result, bail};
use blasrnn::checkpoint::{self, Checkpoint};
use blasrnn::data::Dataset;
use blasrnn::network::Init;
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::{Loss, Readout};
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::real::Dtype;
use blasrnn::report;
use blasrnn::train::{Control, Ending, Event, Preset, RunOptions, TrainConfig, Training};
use clap::{ArgMatches, Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algo {
    /// The batched engine.
    Engine,
    /// The original program's algorithm replayed: one image at a time, raw pixels, SGD at 0.01
    /// updating in place during BPTT, ten BPTT passes per image.
    Reference,
}

/// Defaults that depend on the task are given as "[default: classifier; text: language model]".
#[derive(Args)]
pub struct TrainArgs {
    /// Directory holding the MNIST IDX files (gzip'd or not).
    #[arg(long, default_value = "data/mnist")]
    pub data: PathBuf,
    /// Train a character-level language model on this UTF-8 text file instead of a classifier.
    #[arg(long, conflicts_with = "data")]
    pub text: Option<PathBuf>,
    /// Forecast a series instead: a CSV file with a header, one column (or several) a time step.
    #[arg(long, conflicts_with_all = ["data", "text"])]
    pub series: Option<PathBuf>,
    /// Forecasting: the column to forecast [default: the first].
    #[arg(long, requires = "series")]
    pub target: Option<String>,
    /// Forecasting: past steps each forecast reads [default: one season if it is longer than 24
    /// steps, else two and at least --horizon and 12; at most half the training part].
    #[arg(long, requires = "series", value_parser = clap::value_parser!(u32).range(1..))]
    pub window: Option<u32>,
    /// Forecasting: steps forecast at once (a direct multi-output head) [default: 1].
    #[arg(long, requires = "series", value_parser = clap::value_parser!(u32).range(0..))]
    pub horizon: Option<u32>,
    /// Forecasting: the last steps held out for testing [default: 10% of the series, and at
    /// least --horizon].
    #[arg(long, requires = "series")]
    pub test_len: Option<u32>,
    /// Forecasting: the season m of the seasonal naive forecast the model corrects and the test
    /// is measured against (MASE) [default: detected in the training part; 1, the naive
    /// forecast, when none is found].
    #[arg(long, requires = "series", value_parser = clap::value_parser!(u32).range(1..))]
    pub season: Option<u32>,
    /// Forecasting: the model learns the change from the seasonal naive forecast (which its
    /// forecasts add back) [the default].
    #[arg(long, requires = "series", conflicts_with = "no_residual")]
    pub residual: bool,
    /// Forecasting: the model learns the values themselves, not their change from the seasonal
    /// naive forecast.
    #[arg(long, requires = "series")]
    pub no_residual: bool,
    /// `regression`: read an .npz's integer targets as numbers to predict (float targets and
    /// .ts files with @targetLabel true are regression anyway).
    #[arg(long, value_parser = ["regression"])]
    pub task: Option<String>,
    /// Regression and forecasting: the loss fitted on standardised targets [default: mse].
    #[arg(long, value_parser = choice::<Loss>())]
    pub loss: Option<Loss>,
    /// Every layer reads each sequence both ways, as nn.LSTM(bidirectional=True) (not for text).
    #[arg(long)]
    pub bidirectional: bool,
    /// Read this many consecutive steps as one input vector (a patch): long sequences train in
    /// fewer, wider steps [default: 1 up to 128 steps, else enough to make about 32 steps; 1 for
    /// a class at every step, series and text].
    #[arg(long)]
    pub patch: Option<u32>,
    /// Hold out this fraction of the training sequences (a series: its latest windows) as a
    /// validation part, and keep the parameters of its lowest loss (early stopping); 0: keep the
    /// last ones [default: 0].
    #[arg(long)]
    pub validation: Option<f64>,
    /// Fraction of the text, its last characters, held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val_frac: f64,
    /// Which algorithm trains.
    #[arg(long, value_enum, default_value = "engine")]
    pub algo: Algo,
    /// Recurrent cell [default: tanh; text: lstm].
    #[arg(long, value_parser = choice::<CellKind>())]
    pub cell: Option<CellKind>,
    /// Hidden units per layer [default: 50; text: 256].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub hidden: Option<u32>,
    /// Stacked recurrent layers [default: 1; text: 2].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub layers: Option<u32>,
    /// Training iterations (mini-batches; of 100 images for the reference): the length of the
    /// learning-rate schedule [default: 2500; text: 2000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "epochs")]
    pub iters: Option<u64>,
    /// Train for this many passes over the training data instead of --iters.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: Option<u32>,
    /// Train for this long instead of --iters or --epochs: `90s`, `30m`, `2h` (decimals too,
    /// `1.5h`). The run measures its speed over its first iterations and fixes the schedule's
    /// length so that it ends with the budget; the length is saved, and --resume continues it.
    #[arg(long, value_parser = settings::parse_duration, conflicts_with_all = ["iters", "epochs"])]
    pub time_budget: Option<f64>,
    /// Start from a named recipe instead of the defaults (other flags still override it):
    /// `shakespeare-30m`, the language model that reached the lowest validation loss on
    /// tiny-shakespeare in 30 minutes on 2 cores (GRU 2×768, dropout 0.4 between the layers and
    /// before the head, a 30-minute budget, an evaluation every 500 iterations).
    #[arg(long, value_parser = choice::<Preset>())]
    pub preset: Option<Preset>,
    /// Sequences (text: parallel streams) per mini-batch [default: 100; text: 64].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch: Option<u32>,
    /// Text only: characters per chunk of each stream (the BPTT length) [default: 100].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub seq_len: Option<u32>,
    /// Update rule [default: adam].
    #[arg(long, value_parser = choice::<OptimizerKind>())]
    pub optimizer: Option<OptimizerKind>,
    /// Base learning rate [default: adam 0.004 (text: 0.002), momentum 0.02, sgd 0.1; reference
    /// 0.01].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning-rate schedule [default: cosine].
    #[arg(long, value_parser = choice::<Schedule>())]
    pub lr_schedule: Option<Schedule>,
    /// Iterations of linear learning-rate warm-up (from lr/N to lr) before the schedule
    /// [default: 100].
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Clip the gradient's global norm to this value, 0 = no clipping [default: 1].
    #[arg(long)]
    pub clip: Option<f64>,
    /// What the head reads: seq (every step's output), last, mean; step: a class at every step
    /// [default: seq; sequences: last; labels per step: step].
    #[arg(long, value_parser = choice::<Readout>())]
    pub readout: Option<Readout>,
    /// Initialisation scheme [default: seed; text: uniform].
    #[arg(long, value_parser = choice::<Init>())]
    pub init: Option<Init>,
    /// LSTM only: start the forget gates' bias at this value (bias_ih; bias_hh's slice is 0).
    #[arg(long)]
    pub forget_bias: Option<f64>,
    /// Dropout between stacked layers, as nn.LSTM(dropout=p) (off at evaluation) [default: 0].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Dropout on the top layer's outputs before the head, as an nn.Dropout between a PyTorch
    /// RNN and its decoder (off at evaluation) [default: 0].
    #[arg(long)]
    pub output_dropout: Option<f64>,
    /// Seed of all randomness (initialisation, batch order, dropout) [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (each batch is split across them) [default: all cores; on --resume the
    /// saved run's].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,
    /// Threads each shard of a batch splits its steps across (a divisor of --threads; the
    /// others cut the batch into shards of rows) [default: chosen from the batch and the
    /// thread count].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub step_threads: Option<u32>,
    /// Feed raw pixels 0..255 as the seed did (default scales them to 0..1).
    #[arg(long)]
    pub raw_pixels: bool,
    /// Number type of parameters, activations and gradients [default: f64 for the tanh cell (the
    /// seed's design), f32 for LSTM and GRU (PyTorch's default; sgemm does twice the work of
    /// dgemm per instruction)].
    #[arg(long, value_parser = choice::<Dtype>())]
    pub dtype: Option<Dtype>,
    /// Keep subnormal numbers (IEEE gradual underflow) instead of flushing them to zero on every
    /// thread. Where gradients vanish into that range, this costs up to 5× on Intel cores.
    #[arg(long)]
    pub keep_subnormals: bool,
    /// Report progress every this many iterations (0 = never).
    #[arg(long, default_value_t = 100)]
    pub log_every: u64,
    /// Print progress to stderr and one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress bar or progress lines (the bar also stays off when stdout is not a terminal).
    #[arg(long)]
    pub quiet: bool,
    /// Save the model (safetensors, PyTorch names) here at the end, atomically; also on Ctrl-C.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Also save to --save every N iterations (0 = only at the end).
    #[arg(long, default_value_t = 0)]
    pub save_every: u64,
    /// Continue a saved run where it stopped: its parameters, optimizer state, iteration, settings
    /// (and, for text, the streams' state), so that it ends as the uninterrupted run would have.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Stop after this iteration, short of --iters (the schedule keeps its length): save and say
    /// how to resume.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub stop_at: Option<u64>,
    /// Evaluate on the held-out data every N iterations (0 = only at the end) [default: 0; with
    /// --preset, the preset's: shakespeare-30m 500].
    #[arg(long)]
    pub eval_every: Option<u64>,
    /// Write one CSV row per report interval here.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Draw loss and accuracy against samples seen as an SVG file here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// The data a run trains on, and how a command line names it.
pub struct Loaded {
    data: Dataset,
    /// `--data PATH`, `--text FILE` or `--series FILE …`.
    flag: String,
    /// The path as given.
    path: PathBuf,
}

pub fn run(mut a: TrainArgs, m: &ArgMatches) -> Result<ExitCode> {
    for (flag, path) in [("--save", &a.save), ("--log", &a.log), ("--plot", &a.plot)] {
        if let Some(p) = path {
            check_output(flag, p)?;
        }
    }
    if a.algo == Algo::Reference {
        reference::flags_ok(m)?;
        return reference::train(a).map(|()| ExitCode::SUCCESS);
    }
    if a.save_every > 0 && a.save.is_none() {
        bail!("--save-every needs --save PATH");
    }
    if a.stop_at.is_some() && a.save.is_none() {
        bail!("--stop-at needs --save PATH (to resume from)");
    }
    let resume = match &a.resume {
        Some(path) => Some(checkpoint::load(path)?),
        None => None,
    };
    if let Some(ck) = &resume {
        settings::resume_into(&mut a, m, ck)?;
    }
    let data = data::load(&a, resume.as_ref())?;
    let config = settings::resolve(&a, &data.data, resume.as_ref())?;
    train(a, config, data, resume)
}

/// The training run: the library trains; this shows it, saves it and reports it.
fn train(
    a: TrainArgs,
    config: TrainConfig,
    data: Loaded,
    resume: Option<Checkpoint>,
) -> Result<ExitCode> {
    let mut run = match &resume {
        Some(ck) => Training::resume(&config, &data.data, ck).context("--resume")?,
        None => Training::new(&config, &data.data)?,
    };
    let ranks = ranks::attach(&mut run)?;
    // Across ranks, rank 0 alone speaks and writes reports (every rank takes part in saving).
    let lead = ranks.as_ref().is_none_or(|r| r.rank() == 0);
    let a = if lead {
        a
    } else {
        TrainArgs {
            json: false,
            quiet: true,
            log: None,
            plot: None,
            ..a
        }
    };
    let mut console = match lead {
        true => Console::new(a.json, a.quiet),
        false => Console::silent(),
    };
    let first = run.iteration();
    let last = a
        .stop_at
        .map_or(config.iters, |s| (s as usize).min(config.iters));
    if first >= last {
        bail!(
            "--resume: the saved run has done {first} iterations already; pass a larger --iters (or --stop-at)"
        );
    }
    let text = matches!(data.data, Dataset::Text(_));
    banner(&console, config.threads);
    summary::describe(&console, &config, &data, run.num_params(), first);
    signals::install()?;
    let options = RunOptions {
        log_every: a.log_every as usize,
        eval_every: a
            .eval_every
            .map_or_else(|| a.preset.map_or(0, Preset::eval_every), |n| n as usize),
        save_every: a.save_every as usize,
        save_to: a.save.clone(),
        stop_at: Some(last),
    };
    // Under mpirun a rank's stdout is a pseudo-terminal that the launcher forwards: no bar.
    if ranks.is_none() {
        console.start_bar(last, first);
    }
    if let Some(b) = config.time_budget.filter(|b| !b.fixed) {
        console.start_clock(b.seconds);
    }
    let outcome = run.run(&options, |event| {
        match event {
            Event::Step { .. } => console.tick(),
            Event::Report(r) => {
                console.progress_line(format_args!("{r}"));
                console.message(r.metrics());
            }
            Event::Scheduled { iters } => {
                console.set_bar_length(*iters);
                console.say(format_args!("the time budget buys {iters} iterations"));
            }
            Event::Saved { .. } => {}
        }
        console.time_left();
        let stop = signals::pending().is_some();
        match (&ranks, event) {
            // Every rank stops after the same step: a stop any rank was asked for.
            (Some(r), Event::Step { .. }) if ranks::any(&**r, stop) => Control::Stop,
            (Some(_), _) => Control::Continue,
            (None, _) if stop => Control::Stop,
            (None, _) => Control::Continue,
        }
    })?;
    console.finish_bar();
    // A run on a time budget has fixed its schedule's length by now.
    let config = run.config().clone();
    let write_reports = |title: &str| -> Result<()> {
        if let Some(path) = &a.log {
            report::write_csv(path, &outcome.reports)?;
        }
        if let Some(path) = &a.plot {
            let unit = if text { "characters" } else { "samples" };
            super::plot::write_plot(path, &outcome.reports, title, unit)
                .map_err(blasrnn::Error::io_at(path))?;
        }
        Ok(())
    };
    let title = format!("{} {}×{}", config.cell.name(), config.layers, config.hidden);
    if let Ending::Diverged {
        iteration,
        loss,
        grad_norm,
    } = outcome.ending
    {
        write_reports(&format!("{title} — diverged at iteration {iteration}"))?;
        let kept = match (&a.save, outcome.saved_at, &a.resume) {
            (Some(p), Some(at), _) => format!(
                "the last checkpoint, {} (iteration {at}), is intact",
                p.display()
            ),
            (_, None, Some(r)) => {
                format!("nothing was saved in this run; {} is intact", r.display())
            }
            _ => "nothing was saved".to_string(),
        };
        bail!(
            "training diverged at iteration {iteration} (loss {loss}, gradient norm {grad_norm}); \
             try a smaller --lr or --clip; {kept}"
        );
    }
    let eval = run.evaluate();
    let reached = match &data.data {
        Dataset::Series(f) => Reached::forecast(&run.model(), f, &eval, (f.season, f.season_from))?,
        _ => Reached::of(&eval, &run.network_config().task),
    };
    summary::say_result(&console, &reached, &eval, &outcome);
    let done = outcome.done;
    if let Some(path) = &a.save {
        run.save(path)?;
        console.say(format_args!("saved {} (iteration {done})", path.display()));
    }
    let metric = match &reached {
        Reached::Text { val_bpc, .. } => format!("validation {val_bpc:.3} bits/char"),
        Reached::Values { test_rmse, .. } | Reached::Forecast { test_rmse, .. } => {
            format!("test RMSE {test_rmse:.4}")
        }
        _ => format!("test accuracy {:.2}%", 100.0 * eval.accuracy),
    };
    write_reports(&format!("{title} — {metric}"))?;
    let signal = signals::pending();
    let stopped = match (&outcome.ending, signal) {
        (Ending::Stopped, Some(sig)) => Some(signals::name(sig).to_string()),
        _ if done < config.iters => Some(format!("--stop-at {done}")),
        _ => None,
    };
    if let Some(why) = &stopped {
        match &a.save {
            Some(p) => console.say(format_args!(
                "stopped by {why} after iteration {done} of {}; continue with: blasrnn train --resume {} --save {} {}",
                config.iters,
                p.display(),
                p.display(),
                data.flag
            )),
            None => console.say(format_args!(
                "stopped by {why} after iteration {done} of {}; nothing was saved (no --save)",
                config.iters
            )),
        }
    }
    if a.json {
        let s = summary::Summary::new(&config, &run, &data, &reached, &outcome, &a, stopped);
        println!("{}", serde_json::to_string(&s)?);
    }
    Ok(match (&outcome.ending, signal) {
        (Ending::Stopped, Some(sig)) => ExitCode::from(signals::exit_status(sig)),
        _ => ExitCode::SUCCESS,
    })
}
