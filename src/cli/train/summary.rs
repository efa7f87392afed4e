//! What `train` says: the model and run lines before training, the result after it, and the
//! `--json` summary (every setting, the results, the run's figures).

use super::{Loaded, TrainArgs};
use crate::cli::console::Console;
use crate::cli::peak_rss_mb;
use crate::cli::results::Reached;
use blasrnn::data::{Dataset, Targets};
use blasrnn::train::{Evaluation, Outcome, TrainConfig, Training};
use serde::Serialize;

/// The model and run lines every training prints first.
pub fn describe(console: &Console, c: &TrainConfig, data: &Loaded, params: usize, first: usize) {
    let shape = format!(
        "{} cell, {} layer{} of H={}",
        c.cell.name(),
        c.layers,
        if c.layers == 1 { "" } else { "s" },
        c.hidden
    );
    let resuming = if first > 0 {
        format!(", resuming at {first}")
    } else {
        String::new()
    };
    // How long: a number of iterations (and the passes they make over `n` items of `per`
    // each), or a time budget not yet turned into one.
    let length = |per: usize, n: usize| match c.time_budget {
        Some(b) if !b.fixed => format!("{} of training", human_duration(b.seconds)),
        _ => format!(
            "{} iterations × {} ({:.2} epochs)",
            c.iters,
            if per == c.batch {
                format!("batch {}", c.batch)
            } else {
                format!("{} streams × {} characters", c.batch, c.seq_len)
            },
            (c.iters * per) as f64 / n.max(1) as f64
        ),
    };
    let schedule = format!(
        "{} lr {} ({}, warm-up {}), clip {}, init {}, seed {}",
        c.optimizer.name(),
        c.lr,
        c.lr_schedule.name(),
        c.warmup,
        c.clip.map_or("off".to_string(), |c| c.to_string()),
        c.init.name(),
        c.seed
    );
    let patched = match c.patch {
        1 => String::new(),
        p => format!(", reading patches of {p} steps"),
    };
    match &data.data {
        Dataset::Series(f) => {
            let sets = &f.sets;
            console.say(format_args!(
                "model: {shape}{}{}, readout {}, {params} parameters ({}); data: {}: {} steps of {} columns, \
                 forecasting {:?} {} steps ahead from {} past steps; {} training windows, {} test forecasts",
                if c.bidirectional { ", bidirectional" } else { "" },
                patched,
                c.readout.name(),
                c.dtype.name(),
                data.path.display(),
                f.y.len(),
                f.columns.len(),
                f.columns[f.target],
                f.horizon,
                f.window,
                sets.train.len(),
                sets.test.len(),
            ));
            console.say(format_args!(
                "training: {}{resuming}, {schedule}, loss {}, columns standardised",
                length(c.batch, sets.train.len()),
                c.loss
            ));
        }
        Dataset::Labelled(sets) => {
            let (train, test) = (&sets.train, &sets.test);
            let (lo, hi) = train.length_range();
            let steps = if lo == hi {
                format!("{hi}")
            } else {
                format!("{lo}..{hi}")
            };
            let targets = match &train.targets {
                Targets::Values { k, .. } => {
                    format!("{k} target{}", if *k == 1 { "" } else { "s" })
                }
                Targets::Steps(_) => format!("{} classes at every step", train.classes.len()),
                _ => format!("{} classes", train.classes.len()),
            };
            console.say(format_args!(
                "model: {shape}{}{}, readout {}, {params} parameters ({}); data: {}: {} train / {} test sequences of {steps} steps × {}, {targets}",
                if c.bidirectional { ", bidirectional" } else { "" },
                patched,
                c.readout.name(),
                c.dtype.name(),
                data.path.display(),
                train.len(),
                test.len(),
                train.dims,
            ));
            let inputs = match (sets.images, &train.targets) {
                (true, _) if train.norm.scale[0] == 1.0 => "pixels 0..255".to_string(),
                (true, _) => "pixels 0..1".to_string(),
                (false, Targets::Values { .. }) => {
                    format!("inputs and targets standardised, loss {}", c.loss)
                }
                (false, _) => "inputs standardised per dimension".to_string(),
            };
            console.say(format_args!(
                "training: {}{resuming}, {schedule}, {inputs}",
                length(c.batch, train.len()),
            ));
            for note in &sets.notes {
                console.say(format_args!("note: {note}"));
            }
        }
        Dataset::Text(t) => {
            console.say(format_args!(
                "model: language model, {shape}, vocabulary {}, {params} parameters ({}); data: {}: {} train / {} validation characters",
                t.vocab.len(),
                c.dtype.name(),
                t.path.display(),
                t.train.len(),
                t.val.len()
            ));
            console.say(format_args!(
                "training: {}{resuming}, {schedule}, dropout {}{}",
                length(c.batch * c.seq_len, t.train.len()),
                c.dropout,
                match c.output_dropout {
                    0.0 => String::new(),
                    p => format!(", output dropout {p}"),
                }
            ));
        }
    }
}

/// `seconds` as a person writes it: `90s`, `30m`, `2h`, `1h30m`.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// The held-out result and the training rate.
pub fn say_result(console: &Console, reached: &Reached, eval: &Evaluation, outcome: &Outcome) {
    if let Some(b) = outcome.best {
        console.say(format_args!(
            "kept the parameters of iteration {} (validation loss {:.4}, the lowest)",
            b.iteration, b.loss
        ));
    }
    reached.say(console, eval);
    let unit = outcome.reports.first().map_or("samples", |r| r.unit);
    console.say(format_args!(
        "trained {} {unit} in {:.2} s: {:.0} {unit}/s",
        outcome.samples,
        outcome.train_seconds,
        outcome.rate()
    ));
}

/// The `--json` summary: every setting, then what the run reached and how fast.
#[derive(Serialize)]
pub struct Summary<'a> {
    #[serde(flatten)]
    config: &'a TrainConfig,
    algo: &'static str,
    task: &'static str,
    #[serde(flatten)]
    reached: &'a Reached,
    #[serde(flatten)]
    trained: Trained,
    train_loss: Option<f64>,
    train_seconds: f64,
    start_iteration: usize,
    iterations_done: usize,
    /// The iterations a time budget bought (the schedule's length it fixed).
    budget_iters: Option<usize>,
    /// Sequences (or windows) held out as the validation part, when there is one.
    validation_sequences: Option<usize>,
    /// The iteration whose parameters the model keeps (early stopping), and their loss on the
    /// validation part.
    best_iteration: Option<usize>,
    best_validation_loss: Option<f64>,
    stopped: Option<String>,
    backend: &'static str,
    parameters: usize,
    peak_rss_mb: Option<f64>,
}

/// How much the run trained on, by kind of data.
#[derive(Serialize)]
#[serde(untagged)]
enum Trained {
    Text {
        train_tokens: usize,
        train_tokens_per_sec: f64,
        vocab: usize,
    },
    Sequences {
        train_samples: usize,
        train_samples_per_sec: f64,
        raw_pixels: bool,
    },
}

impl<'a> Summary<'a> {
    /// The summary of a finished (or stopped) run.
    pub fn new(
        config: &'a TrainConfig,
        run: &Training,
        data: &Loaded,
        reached: &'a Reached,
        outcome: &Outcome,
        a: &TrainArgs,
        stopped: Option<String>,
    ) -> Summary<'a> {
        let trained = match &data.data {
            Dataset::Text(c) => Trained::Text {
                train_tokens: outcome.samples,
                train_tokens_per_sec: outcome.rate(),
                vocab: c.vocab.len(),
            },
            _ => Trained::Sequences {
                train_samples: outcome.samples,
                train_samples_per_sec: outcome.rate(),
                raw_pixels: a.raw_pixels,
            },
        };
        Summary {
            config,
            algo: "engine",
            task: run.network_config().task.name(),
            reached,
            trained,
            train_loss: outcome.reports.last().map(|r| r.loss),
            train_seconds: outcome.train_seconds,
            start_iteration: outcome.first,
            iterations_done: outcome.done,
            budget_iters: config.time_budget.filter(|b| b.fixed).map(|_| config.iters),
            validation_sequences: run.validation_part().map(|(_, v)| v.len()),
            best_iteration: run.best().map(|b| b.iteration),
            best_validation_loss: run.best().map(|b| b.loss),
            stopped,
            backend: blasrnn::blas::backend(),
            parameters: run.num_params(),
            peak_rss_mb: peak_rss_mb(),
        }
    }
}
