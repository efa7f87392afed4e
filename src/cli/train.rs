//! `blasrnn train`: a classifier on MNIST (the default; `--algo reference` replays the original
//! program), or a character-level language model on a text file (`--text`).

use super::{banner, check_lr, check_output, default_threads, peak_rss_mb, with_dtype};
use anyhow::{Result, bail};
use blasrnn::checkpoint::{self, Checkpoint, DataInfo, Snapshot};
use blasrnn::data::mnist::Mnist;
use blasrnn::data::text::Corpus;
use blasrnn::data::{Labelled, Source};
use blasrnn::error::FileError;
use blasrnn::model::{Init, ModelConfig, Task};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::real::{Dtype, Real};
use blasrnn::reference::{IMAGES_PER_ITER, Reference};
use blasrnn::report::{self, Console};
use blasrnn::train::run::{Ending, RunPlan};
use blasrnn::train::{Data, TrainConfig, Trainer};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

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
    /// Fraction of the text, its last characters, held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val_frac: f64,
    /// Which algorithm trains.
    #[arg(long, value_enum, default_value = "engine")]
    pub algo: Algo,
    /// Recurrent cell [default: tanh; text: lstm].
    #[arg(long, value_enum)]
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
    /// Sequences (text: parallel streams) per mini-batch [default: 100; text: 64].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch: Option<u32>,
    /// Text only: characters per chunk of each stream (the BPTT length) [default: 100].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub seq_len: Option<u32>,
    /// Update rule [default: adam].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Base learning rate [default: adam 0.004 (text: 0.002), momentum 0.02, sgd 0.1; reference
    /// 0.01].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning-rate schedule [default: cosine].
    #[arg(long, value_enum)]
    pub lr_schedule: Option<Schedule>,
    /// Iterations of linear learning-rate warm-up (from lr/N to lr) before the schedule
    /// [default: 100].
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Clip the gradient's global norm to this value, 0 = no clipping [default: 1].
    #[arg(long)]
    pub clip: Option<f64>,
    /// What feeds the softmax classifier [default: seq].
    #[arg(long, value_enum)]
    pub readout: Option<Readout>,
    /// Initialisation scheme [default: seed; text: uniform].
    #[arg(long, value_enum)]
    pub init: Option<Init>,
    /// LSTM only: start the forget gates' bias at this value (bias_ih; bias_hh's slice is 0).
    #[arg(long)]
    pub forget_bias: Option<f64>,
    /// Dropout between stacked layers, as nn.LSTM(dropout=p) (off at evaluation) [default: 0].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Seed of all randomness (initialisation, batch order, dropout) [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (each batch is split across them) [default: all cores; on --resume the
    /// saved run's].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,
    /// Feed raw pixels 0..255 as the seed did (default scales them to 0..1).
    #[arg(long)]
    pub raw_pixels: bool,
    /// Number type of parameters, activations and gradients [default: f64 for the tanh cell (the
    /// seed's design), f32 for LSTM and GRU (PyTorch's default; sgemm does twice the work of
    /// dgemm per instruction)].
    #[arg(long, value_enum)]
    pub dtype: Option<Dtype>,
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
    /// Evaluate on the held-out data every N iterations (0 = only at the end).
    #[arg(long, default_value_t = 0)]
    pub eval_every: u64,
    /// Write one CSV row per report interval here.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Draw loss and accuracy against samples seen as an SVG file here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// What kind of data a run trains on, which decides its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// MNIST's images, read row by row: the seed's model.
    Images,
    /// Other labelled sequences (UCR/UEA `.ts`, `.npz`): variable lengths, many dimensions.
    Sequences,
    /// Text: a character-level language model.
    Text,
}

/// The data a run trains on and evaluates with.
enum Loaded {
    Sets {
        data: Box<Labelled>,
        source: Source,
        path: PathBuf,
    },
    Text(Corpus),
}

impl Loaded {
    fn kind(&self) -> Kind {
        match self {
            Loaded::Sets { source, .. } if source.images() => Kind::Images,
            Loaded::Sets { .. } => Kind::Sequences,
            Loaded::Text(_) => Kind::Text,
        }
    }

    fn train(&self) -> Data<'_> {
        match self {
            Loaded::Sets { data, .. } => Data::Labelled(&data.train),
            Loaded::Text(c) => Data::Text(&c.train),
        }
    }

    fn eval(&self) -> Data<'_> {
        match self {
            Loaded::Sets { data, .. } => Data::Labelled(&data.test),
            Loaded::Text(c) => Data::Text(&c.val),
        }
    }

    fn model(&self, c: &TrainConfig) -> ModelConfig {
        match self {
            Loaded::Sets { data, .. } => {
                let mut m = c.classifier(&data.train);
                // Room for the longest sequence of either split.
                if let Task::Classify { steps, .. } = &mut m.task {
                    *steps = (*steps).max(data.test.steps);
                }
                m
            }
            Loaded::Text(t) => c.language_model(t.vocab.len()),
        }
    }

    fn info(&self) -> DataInfo {
        match self {
            Loaded::Sets { data, source, .. } => DataInfo::Classes {
                norm: data.train.norm.clone(),
                names: data.train.classes.clone(),
                images: source.images(),
            },
            Loaded::Text(c) => DataInfo::Text(c.vocab.clone()),
        }
    }

    /// How to name the data on a command line.
    fn flag(&self) -> String {
        match self {
            Loaded::Sets { path, .. } => format!("--data {}", path.display()),
            Loaded::Text(c) => format!("--text {}", c.path.display()),
        }
    }
}

pub fn run(mut a: TrainArgs, m: &ArgMatches) -> Result<ExitCode> {
    for (flag, path) in [("--save", &a.save), ("--log", &a.log), ("--plot", &a.plot)] {
        if let Some(p) = path {
            check_output(flag, p)?;
        }
    }
    if a.algo == Algo::Reference {
        reference_flags_ok(m)?;
        return train_reference(a).map(|()| ExitCode::SUCCESS);
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
        resume_into(&mut a, m, ck)?;
    }
    let data = load_data(&a, resume.as_ref())?;
    let config = resolve(&a, &data, resume.as_ref())?;
    with_dtype!(config.dtype, train_in(a, config, data, resume))
}

/// Reads the data the arguments name: the text (with a resumed model's vocabulary), or a
/// labelled set (MNIST, a `.ts` pair, an `.npz`).
fn load_data(a: &TrainArgs, resume: Option<&Checkpoint>) -> Result<Loaded> {
    if !(a.val_frac > 0.0 && a.val_frac < 1.0) {
        bail!("--val-frac must be between 0 and 1, got {}", a.val_frac);
    }
    match &a.text {
        Some(path) => {
            let vocab = match resume.map(|c| &c.data) {
                Some(DataInfo::Text(v)) => Some(v),
                _ => None,
            };
            Ok(Loaded::Text(Corpus::load(path, a.val_frac, vocab)?))
        }
        None => {
            let source = Source::find(&a.data)?;
            if a.raw_pixels && !source.images() {
                bail!(
                    "--raw-pixels applies to MNIST's images only; {} is standardised",
                    a.data.display()
                );
            }
            let scale = if a.raw_pixels { 1.0 } else { 1.0 / 255.0 };
            let mut data = source.load(scale)?;
            // A resumed run keeps the normalisation (and class order) it was trained with.
            if let Some(DataInfo::Classes { norm, names, .. }) = resume.map(|c| &c.data) {
                if *names != data.train.classes {
                    bail!(
                        "--resume: the saved model's classes ({}) are not those of {} ({})",
                        names.join(" ").escape_debug(),
                        a.data.display(),
                        data.train.classes.join(" ").escape_debug()
                    );
                }
                data.train.norm = norm.clone();
                data.test.norm = norm.clone();
            }
            Ok(Loaded::Sets {
                data: Box::new(data),
                source,
                path: a.data.clone(),
            })
        }
    }
}

/// Whether `id` was given on the command line.
fn given(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
}

/// On `--resume`, the saved model fixes the task, cell, sizes, readout, pixels and dtype: flags
/// that contradict it are refused; the others take the file's values.
fn resume_into(a: &mut TrainArgs, m: &ArgMatches, ck: &Checkpoint) -> Result<()> {
    let c = &ck.config;
    let path = a.resume.as_ref().expect("resume").display().to_string();
    let clash = |flag: &str, file: String, asked: String| {
        anyhow::anyhow!(
            "--resume {path}: the saved model has {flag} {file}, but {flag} {asked} was given"
        )
    };
    match (&ck.data, &a.text) {
        (DataInfo::Text(_), None) => {
            bail!(
                "--resume {path}: the saved model is a language model; give the text it trains on with --text FILE"
            )
        }
        (DataInfo::Classes { .. }, Some(_)) => {
            bail!("--resume {path}: the saved model is a classifier; --text trains language models")
        }
        _ => {}
    }
    if let Some(cell) = a.cell.filter(|&k| k != c.cell) {
        return Err(clash("--cell", c.cell.name().into(), cell.name().into()));
    }
    if let Some(h) = a.hidden.filter(|&h| h as usize != c.hidden) {
        return Err(clash("--hidden", c.hidden.to_string(), h.to_string()));
    }
    if let Some(l) = a.layers.filter(|&l| l as usize != c.layers) {
        return Err(clash("--layers", c.layers.to_string(), l.to_string()));
    }
    if let Task::Classify { readout, .. } = c.task {
        if let Some(r) = a.readout.filter(|&r| r != readout) {
            return Err(clash("--readout", readout.name().into(), r.name().into()));
        }
        a.readout = Some(readout);
    }
    if let DataInfo::Classes {
        norm, images: true, ..
    } = &ck.data
    {
        let raw = norm.scale.first() == Some(&1.0);
        if given(m, "raw_pixels") && a.raw_pixels != raw {
            return Err(clash(
                "--raw-pixels",
                raw.to_string(),
                a.raw_pixels.to_string(),
            ));
        }
        a.raw_pixels = raw;
    }
    if let Some(d) = a.dtype.filter(|&d| d != ck.dtype) {
        return Err(clash("--dtype", ck.dtype.name().into(), d.name().into()));
    }
    (a.cell, a.hidden, a.layers, a.dtype) = (
        Some(c.cell),
        Some(c.hidden as u32),
        Some(c.layers as u32),
        Some(ck.dtype),
    );
    Ok(())
}

/// The run's configuration: each setting from the command line, else (on `--resume`) the saved
/// run's, else the task's default.
fn resolve(a: &TrainArgs, data: &Loaded, resume: Option<&Checkpoint>) -> Result<TrainConfig> {
    let kind = data.kind();
    let text = kind == Kind::Text;
    let saved = resume.and_then(|c| c.training.as_ref());
    let base = defaults(kind);
    macro_rules! pick {
        ($arg:expr, $field:ident) => {
            $arg.or(saved.map(|s| s.$field)).unwrap_or(base.$field)
        };
    }
    let cell = pick!(a.cell, cell);
    let optimizer = pick!(a.optimizer, optimizer);
    let lr =
        a.lr.or(saved.filter(|s| s.optimizer == optimizer).map(|s| s.lr));
    let lr = check_lr(lr.unwrap_or(default_lr(optimizer, kind)))?;
    let clip = match a.clip {
        Some(c) if !(c.is_finite() && c >= 0.0) => {
            bail!("--clip must be 0 (off) or a positive number, got {c}")
        }
        Some(c) => (c > 0.0).then_some(c),
        None => saved.map_or(base.clip, |s| s.clip),
    };
    let forget_bias = a.forget_bias.or(saved.and_then(|s| s.forget_bias));
    if forget_bias.is_some() && cell != CellKind::Lstm {
        bail!("--forget-bias applies to --cell lstm only");
    }
    if forget_bias.is_some_and(|v| !v.is_finite()) {
        bail!("--forget-bias must be a finite number");
    }
    let dropout = pick!(a.dropout, dropout);
    if !(0.0..1.0).contains(&dropout) {
        bail!("--dropout must be at least 0 and below 1, got {dropout}");
    }
    let layers = pick!(a.layers.map(|l| l as usize), layers);
    if dropout > 0.0 && layers < 2 {
        bail!("--dropout acts between stacked layers: it needs --layers 2 or more");
    }
    if !text && a.seq_len.is_some() {
        bail!("--seq-len applies to language models (--text) only");
    }
    if text && a.readout.is_some() {
        bail!("--readout applies to classifiers only; a language model predicts at every step");
    }
    let batch = pick!(a.batch.map(|b| b as usize), batch);
    let seq_len = pick!(a.seq_len.map(|s| s as usize), seq_len);
    let readout = pick!(a.readout, readout);
    let per_epoch = match data {
        Loaded::Sets { data, .. } => {
            let n = data.train.len();
            if batch > n {
                bail!("--batch {batch} is larger than the {n} training sequences");
            }
            let (lo, hi) = data.train.length_range();
            let (tlo, thi) = data.test.length_range();
            if readout == Readout::Seq && (lo != hi || tlo != thi || hi != thi) {
                bail!(
                    "--readout seq reads every step of sequences of one length; these have {}..{} steps: \
                     use --readout last or mean",
                    lo.min(tlo),
                    hi.max(thi)
                );
            }
            n.div_ceil(batch)
        }
        Loaded::Text(c) => text_chunks(c, batch, seq_len, a.val_frac)?,
    };
    let iters = match (a.epochs, a.iters) {
        (Some(e), _) => e as usize * per_epoch,
        (None, Some(i)) => i as usize,
        // Sequence sets come in every size: a number of passes, not of batches.
        (None, None) if kind == Kind::Sequences && saved.is_none() => SEQUENCE_EPOCHS * per_epoch,
        (None, None) => pick!(None::<usize>, iters),
    };
    Ok(TrainConfig {
        cell,
        hidden: pick!(a.hidden.map(|h| h as usize), hidden),
        layers,
        readout,
        iters,
        batch,
        seq_len,
        optimizer,
        lr,
        lr_schedule: pick!(a.lr_schedule, lr_schedule),
        warmup: pick!(a.warmup.map(|w| w as usize), warmup),
        clip,
        init: pick!(a.init, init),
        forget_bias,
        dropout,
        seed: pick!(a.seed, seed),
        threads: pick!(a.threads.map(|t| t as usize), threads).min(batch),
        dtype: a.dtype.unwrap_or(default_dtype(cell, kind)),
    })
}

/// Chunks per pass over a text's training part for `b` streams of `s` characters; an error that
/// says how long the text must be when there is not one.
fn text_chunks(c: &Corpus, b: usize, s: usize, val_frac: f64) -> Result<usize> {
    let chunks = blasrnn::data::text::Streams::new(&c.train, b).chunks(s);
    if chunks == 0 {
        bail!(
            "{}: the training part holds {} characters, too few for --batch {b} streams of \
             --seq-len {s}: it needs at least {} (a file of at least {} characters with \
             --val-frac {val_frac})",
            c.path.display(),
            c.train.len(),
            b * s + 1,
            ((b * s + 1) as f64 / (1.0 - val_frac)).ceil(),
        );
    }
    if c.val.len() < 2 {
        bail!(
            "{}: the validation part (--val-frac {val_frac}) holds {} characters; it needs at least 2",
            c.path.display(),
            c.val.len()
        );
    }
    Ok(chunks)
}

/// The training run, computing in `T`.
fn train_in<T: Real>(
    a: TrainArgs,
    config: TrainConfig,
    data: Loaded,
    resume: Option<Checkpoint>,
) -> Result<ExitCode> {
    let mut console = Console::new(a.json, a.quiet);
    let mut trainer = Trainer::<T>::new(config.clone(), data.model(&config))?;
    let first = match &resume {
        Some(ck) => restore(&mut trainer, ck, &a)?,
        None => 0,
    };
    let last = a
        .stop_at
        .map_or(config.iters, |s| (s as usize).min(config.iters));
    if first >= last {
        bail!(
            "--resume: the saved run has done {first} iterations already; pass a larger --iters (or --stop-at)"
        );
    }
    let text = matches!(data, Loaded::Text(_));
    let unit = if text { "chars" } else { "samples" };
    banner(&console, config.threads);
    describe(&console, &config, &data, &trainer, first);
    let info = data.info();
    let save = |tr: &Trainer<T>, iteration: usize| -> Result<(), FileError> {
        let path = a.save.as_ref().expect("save path");
        let state = text.then(|| tr.stream_state());
        checkpoint::save(
            path,
            &Snapshot {
                model: &tr.model,
                params: &tr.params,
                data: &info,
                iteration,
                training: Some(&tr.config),
                optimizer: Some(tr.optimizer()),
                state: state.as_deref(),
            },
        )
    };
    blasrnn::signals::install()?;
    let plan = RunPlan {
        first,
        last,
        log_every: a.log_every as usize,
        eval_every: a.eval_every as usize,
        save_every: a.save_every as usize,
        unit,
    };
    console.start_bar(last, first);
    let outcome = blasrnn::train::run::run(
        &mut trainer,
        data.train(),
        data.eval(),
        &plan,
        &console,
        &save,
    )?;
    console.finish_bar();
    let write_reports = |title: &str| -> Result<()> {
        if let Some(path) = &a.log {
            report::write_csv(path, &outcome.rows).map_err(FileError::io_at(path))?;
        }
        if let Some(path) = &a.plot {
            let unit = if text { "characters" } else { "samples" };
            report::write_plot(path, &outcome.rows, title, unit).map_err(FileError::io_at(path))?;
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
    let samples = outcome.samples;
    let sps = samples as f64 / outcome.train_seconds;
    let eval = trainer.in_pool(|tr| tr.evaluate(data.eval()));
    let done = outcome.done;
    if text {
        console.say(format_args!(
            "validation loss {:.4} nats/char = {:.4} bits/char, next-char accuracy {:.2}% ({} characters)",
            eval.loss,
            eval.bits(),
            100.0 * eval.accuracy,
            eval.count
        ));
    } else {
        super::eval::say_accuracy(&console, &eval);
    }
    console.say(format_args!(
        "trained {samples} {unit} in {:.2} s: {sps:.0} {unit}/s",
        outcome.train_seconds
    ));
    if let Some(path) = &a.save {
        save(&trainer, done)?;
        console.say(format_args!("saved {} (iteration {done})", path.display()));
    }
    let metric = if text {
        format!("validation {:.3} bits/char", eval.bits())
    } else {
        format!("test accuracy {:.2}%", 100.0 * eval.accuracy)
    };
    write_reports(&format!("{title} — {metric}"))?;
    let stopped = match outcome.ending {
        Ending::Interrupted(sig) => Some(blasrnn::signals::name(sig).to_string()),
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
                data.flag()
            )),
            None => console.say(format_args!(
                "stopped by {why} after iteration {done} of {}; nothing was saved (no --save)",
                config.iters
            )),
        }
    }
    if a.json {
        let mut out = serde_json::to_value(&config)?;
        let obj = out.as_object_mut().expect("config serialises to an object");
        obj.insert("algo".into(), "engine".into());
        obj.insert("task".into(), trainer.model.config.task.name().into());
        if text {
            obj.insert("val_loss".into(), eval.loss.into());
            obj.insert("val_bpc".into(), eval.bits().into());
            obj.insert("val_accuracy".into(), eval.accuracy.into());
            obj.insert("train_tokens".into(), samples.into());
            obj.insert("train_tokens_per_sec".into(), sps.into());
            obj.insert("vocab".into(), eval_vocab(&data).into());
        } else {
            obj.insert("test_accuracy".into(), eval.accuracy.into());
            obj.insert("test_loss".into(), eval.loss.into());
            obj.insert("train_samples".into(), samples.into());
            obj.insert("train_samples_per_sec".into(), sps.into());
            obj.insert("raw_pixels".into(), a.raw_pixels.into());
        }
        obj.insert(
            "train_loss".into(),
            outcome.rows.last().map(|r| r.loss).into(),
        );
        obj.insert("train_seconds".into(), outcome.train_seconds.into());
        obj.insert("start_iteration".into(), first.into());
        obj.insert("iterations_done".into(), done.into());
        obj.insert("stopped".into(), stopped.clone().into());
        obj.insert("backend".into(), blasrnn::blas::backend().into());
        obj.insert("parameters".into(), trainer.model.num_params().into());
        obj.insert("peak_rss_mb".into(), peak_rss_mb().into());
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(match outcome.ending {
        Ending::Interrupted(sig) => ExitCode::from(blasrnn::signals::exit_status(sig)),
        _ => ExitCode::SUCCESS,
    })
}

/// The vocabulary size of a text run.
fn eval_vocab(data: &Loaded) -> usize {
    match data {
        Loaded::Text(c) => c.vocab.len(),
        Loaded::Sets { .. } => 0,
    }
}

/// Continues from a saved run: its parameters, the optimizer's state (when it was saved by the
/// same kind of optimizer), the streams' state; returns the iteration to continue at.
fn restore<T: Real>(trainer: &mut Trainer<T>, ck: &Checkpoint, a: &TrainArgs) -> Result<usize> {
    let path = a.resume.as_ref().expect("resume").display().to_string();
    if ck.config != trainer.model.config {
        bail!(
            "--resume {path}: the saved model is {:?}, this run builds {:?}",
            ck.config,
            trainer.model.config
        );
    }
    blasrnn::real::convert(&ck.params, &mut trainer.params);
    if let Some((kind, steps)) = &ck.optimizer
        && kind == trainer.config.optimizer.name()
    {
        trainer
            .optimizer_mut()
            .restore(*steps, |name| {
                ck.optimizer_state.get(name).map(Vec::as_slice)
            })
            .map_err(|name| {
                anyhow::anyhow!(
                    "--resume {path}: optimizer state `{name}` is missing or of the wrong size"
                )
            })?;
    }
    if let Some(state) = &ck.state {
        let want = trainer.config.batch * trainer.model.stack().state_len();
        if state.iter().any(|s| s.len() != want) {
            bail!(
                "--resume {path}: the saved streams' state is for another --batch than {}",
                trainer.config.batch
            );
        }
        trainer.set_stream_state(state);
    }
    Ok(ck.iteration)
}

/// The model and run lines every training prints first.
fn describe<T: Real>(
    console: &Console,
    c: &TrainConfig,
    data: &Loaded,
    tr: &Trainer<T>,
    first: usize,
) {
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
    match data {
        Loaded::Sets { data, path, source } => {
            let (train, test) = (&data.train, &data.test);
            let (lo, hi) = train.length_range();
            let steps = if lo == hi {
                format!("{hi}")
            } else {
                format!("{lo}..{hi}")
            };
            console.say(format_args!(
                "model: {shape}, readout {}, {} parameters ({}); data: {}: {} train / {} test sequences of {steps} steps × {}, {} classes",
                c.readout.name(),
                tr.model.num_params(),
                c.dtype.name(),
                path.display(),
                train.len(),
                test.len(),
                train.dims,
                train.classes.len()
            ));
            let inputs = match source.images() {
                true if train.norm.scale[0] == 1.0 => "pixels 0..255".to_string(),
                true => "pixels 0..1".to_string(),
                false => "inputs standardised per dimension".to_string(),
            };
            console.say(format_args!(
                "training: {} iterations × batch {} ({:.2} epochs){resuming}, {schedule}, {inputs}",
                c.iters,
                c.batch,
                (c.iters * c.batch) as f64 / train.len() as f64,
            ));
            for note in &data.notes {
                console.say(format_args!("note: {note}"));
            }
        }
        Loaded::Text(t) => {
            console.say(format_args!(
                "model: language model, {shape}, vocabulary {}, {} parameters ({}); data: {}: {} train / {} validation characters",
                t.vocab.len(),
                tr.model.num_params(),
                c.dtype.name(),
                t.path.display(),
                t.train.len(),
                t.val.len()
            ));
            console.say(format_args!(
                "training: {} iterations × {} streams × {} characters ({:.2} epochs){resuming}, {schedule}, dropout {}",
                c.iters,
                c.batch,
                c.seq_len,
                (c.iters * c.batch * c.seq_len) as f64 / t.train.len() as f64,
                c.dropout
            ));
        }
    }
}

/// `--algo reference` replays the original exactly; flags that would change it are refused.
fn reference_flags_ok(m: &ArgMatches) -> Result<()> {
    let fixed = [
        "text",
        "cell",
        "layers",
        "epochs",
        "batch",
        "seq_len",
        "optimizer",
        "lr_schedule",
        "warmup",
        "clip",
        "readout",
        "init",
        "forget_bias",
        "dropout",
        "dtype",
        "save",
        "save_every",
        "resume",
        "stop_at",
        "eval_every",
        "log",
        "plot",
        "threads",
        "raw_pixels",
    ];
    for id in fixed {
        if given(m, id) {
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
    let data = Mnist::load(&a.data)?;
    let lr = check_lr(a.lr.unwrap_or(0.01))?;
    let (iters, h, seed) = (
        a.iters.unwrap_or(2500) as usize,
        a.hidden.unwrap_or(50) as usize,
        a.seed.unwrap_or(1),
    );
    let console = Console::new(a.json, a.quiet);
    banner(&console, 1);
    console.say(format_args!(
        "reference: the original algorithm, H={h}, {iters} iterations of {IMAGES_PER_ITER} consecutive images \
         from a random offset, one image at a time with 10 BPTT passes each, SGD lr {lr}, raw pixels, seed {seed}"
    ));
    let mut r = Reference::new(h, data.train.steps, data.train.dims, lr, seed);
    let mut train_seconds = 0.0;
    for it in 0..iters {
        let start = Instant::now();
        r.iteration(&data.train);
        train_seconds += start.elapsed().as_secs_f64();
        if a.log_every > 0 && ((it + 1) % a.log_every as usize == 0 || it + 1 == iters) {
            // As the original: accuracy on 100 random training images (not timed).
            let acc = r.sample_accuracy(&data.train, 100);
            console.progress_line(format_args!(
                "iter {:>5}/{iters}  accuracy on 100 random training images {:.2}  {:.0} images/s",
                it + 1,
                acc,
                ((it + 1) * IMAGES_PER_ITER) as f64 / train_seconds
            ));
        }
    }
    let samples = iters * IMAGES_PER_ITER;
    let sps = samples as f64 / train_seconds;
    let test_acc = r.accuracy(&data.test);
    let n = data.test.len();
    console.say(format_args!(
        "test accuracy {:.2}% ({} / {n})",
        100.0 * test_acc,
        (test_acc * n as f64).round() as usize
    ));
    console.say(format_args!(
        "trained {samples} images in {train_seconds:.2} s: {sps:.0} images/s"
    ));
    if a.json {
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
            "seed": seed,
            "peak_rss_mb": peak_rss_mb(),
        });
        println!("{out}");
    }
    Ok(())
}

/// Passes over a sequence set (other than MNIST) when neither `--iters` nor `--epochs` is given.
const SEQUENCE_EPOCHS: usize = 100;

/// The default run on each kind of data: the seed's model on MNIST; two GRU layers reading each
/// sequence's last state on other sequence sets; a two-layer LSTM language model on text. What
/// `train` starts from and what `bench` measures.
pub fn defaults(kind: Kind) -> TrainConfig {
    let (text, seqs) = (kind == Kind::Text, kind == Kind::Sequences);
    let cell = match kind {
        Kind::Images => CellKind::Tanh,
        Kind::Sequences => CellKind::Gru,
        Kind::Text => CellKind::Lstm,
    };
    let optimizer = OptimizerKind::Adam;
    TrainConfig {
        cell,
        hidden: match kind {
            Kind::Images => 50,
            Kind::Sequences => 128,
            Kind::Text => 256,
        },
        layers: if kind == Kind::Images { 1 } else { 2 },
        readout: if seqs { Readout::Last } else { Readout::Seq },
        iters: if text { 2000 } else { 2500 },
        batch: match kind {
            Kind::Images => 100,
            Kind::Sequences => 32,
            Kind::Text => 64,
        },
        seq_len: if text { 100 } else { 0 },
        optimizer,
        lr: default_lr(optimizer, kind),
        lr_schedule: Schedule::Cosine,
        warmup: if seqs { 50 } else { 100 },
        clip: Some(1.0),
        init: if kind == Kind::Images {
            Init::Seed
        } else {
            Init::Uniform
        },
        forget_bias: None,
        dropout: 0.0,
        seed: 1,
        threads: default_threads(),
        dtype: default_dtype(cell, kind),
    }
}

/// The base learning rate of each update rule.
fn default_lr(optimizer: OptimizerKind, kind: Kind) -> f64 {
    match optimizer {
        OptimizerKind::Adam if kind == Kind::Images => 0.004,
        OptimizerKind::Adam => 0.002,
        OptimizerKind::Momentum => 0.02,
        OptimizerKind::Sgd => 0.1,
    }
}

/// The number type a cell trains in unless `--dtype` says otherwise: the seed's tanh classifier
/// on MNIST keeps the original design's f64; everything else uses PyTorch's f32.
fn default_dtype(cell: CellKind, kind: Kind) -> Dtype {
    if cell == CellKind::Tanh && kind == Kind::Images {
        Dtype::F64
    } else {
        Dtype::F32
    }
}
