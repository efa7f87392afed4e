//! `blasrnn eval`: a saved classifier on the test split (accuracy, loss, confusion matrix), or a
//! saved language model on the validation part of a text (loss in nats and bits per character).

use super::train::{Kind, defaults};
use super::{banner, default_threads, with_dtype};
use anyhow::{Result, bail};
use blasrnn::checkpoint::{Checkpoint, DataInfo};
use blasrnn::data::Source;
use blasrnn::data::text::Corpus;
use blasrnn::model::Task;
use blasrnn::real::Real;
use blasrnn::report::Console;
use blasrnn::train::threads::ThreadsError;
use blasrnn::train::{Data, Evaluation, TrainConfig, Trainer};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct EvalArgs {
    /// A model saved by `train --save`.
    #[arg(long)]
    model: PathBuf,
    /// Classifier: the directory of the MNIST files (only the test split is read).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Language model: the text file whose last --val-frac is evaluated.
    #[arg(long)]
    text: Option<PathBuf>,
    /// Fraction of the text, its last characters, that is evaluated (as in training).
    #[arg(long, default_value_t = 0.1)]
    val_frac: f64,
    /// Worker threads [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
}

/// A trainer holding a saved model's parameters, for evaluation with `threads` workers, computing
/// in `T`; an error when the operating system refuses to start the threads.
pub fn evaluator<T: Real>(ck: &Checkpoint, threads: usize) -> Result<Trainer<T>, ThreadsError> {
    let text = ck.config.task == Task::NextToken;
    let base = defaults(if text { Kind::Text } else { Kind::Images });
    let saved = ck.training.as_ref();
    let config = TrainConfig {
        cell: ck.config.cell,
        hidden: ck.config.hidden,
        layers: ck.config.layers,
        readout: match ck.config.task {
            Task::Classify { readout, .. } => readout,
            Task::NextToken => base.readout,
        },
        // Workspaces hold one batch: 100 sequences, or one chunk per worker for text.
        batch: if text {
            threads
        } else {
            base.batch.max(threads)
        },
        seq_len: saved.map_or(base.seq_len, |s| s.seq_len),
        dropout: 0.0,
        forget_bias: None,
        threads,
        dtype: T::DTYPE,
        ..base
    };
    let mut trainer = Trainer::new(config, ck.config)?;
    blasrnn::real::convert(&ck.params, &mut trainer.params);
    Ok(trainer)
}

pub fn run(a: EvalArgs) -> Result<()> {
    let ck = blasrnn::checkpoint::load(&a.model)?;
    let threads = a.threads.map_or_else(default_threads, |t| t as usize);
    let console = Console::new(a.json, false);
    match &ck.data {
        DataInfo::Text(vocab) => {
            let Some(path) = &a.text else {
                bail!(
                    "{}: a language model; give the text to evaluate it on with --text FILE",
                    a.model.display()
                );
            };
            if !(a.val_frac > 0.0 && a.val_frac < 1.0) {
                bail!("--val-frac must be between 0 and 1, got {}", a.val_frac);
            }
            let corpus = Corpus::load(path, a.val_frac, Some(vocab))?;
            if corpus.val.len() < 2 {
                bail!(
                    "{}: the validation part holds fewer than 2 characters",
                    path.display()
                );
            }
            let eval = with_dtype!(ck.dtype, evaluate(&ck, threads, Data::Text(&corpus.val)))?;
            banner(&console, threads);
            describe(&console, &a, &ck);
            console.say(format_args!(
                "validation loss {:.4} nats/char = {:.4} bits/char, next-char accuracy {:.2}% ({} characters of {})",
                eval.loss,
                eval.bits(),
                100.0 * eval.accuracy,
                eval.count,
                path.display()
            ));
            if a.json {
                println!(
                    "{}",
                    json!({
                        "model": a.model.display().to_string(),
                        "task": "lm",
                        "val_loss": eval.loss,
                        "val_bpc": eval.bits(),
                        "val_accuracy": eval.accuracy,
                        "characters": eval.count,
                        "dtype": ck.dtype.name(),
                    })
                );
            }
        }
        DataInfo::Classes { norm, .. } => {
            if a.text.is_some() {
                bail!(
                    "{}: a classifier; --text evaluates language models",
                    a.model.display()
                );
            }
            let DataInfo::Classes { names, .. } = &ck.data else {
                unreachable!("a classifier")
            };
            let test = Source::find(&a.data)?.load_test(norm, names)?;
            let mut ck = ck.clone();
            ck.config = super::fit_model(&ck, &test, &a.model, &a.data)?;
            // In the dtype the model was trained in, so that eval repeats training's final figure.
            let eval = with_dtype!(ck.dtype, evaluate(&ck, threads, Data::Labelled(&test)))?;
            banner(&console, threads);
            describe(&console, &a, &ck);
            say_accuracy(&console, &eval);
            print_confusion(&console, &eval.confusion, &test.classes);
            if a.json {
                println!(
                    "{}",
                    json!({
                        "model": a.model.display().to_string(),
                        "task": "classify",
                        "test_accuracy": eval.accuracy,
                        "test_loss": eval.loss,
                        "confusion": eval.confusion.chunks(test.classes.len()).collect::<Vec<_>>(),
                        "classes": test.classes,
                        "cell": ck.config.cell.name(),
                        "hidden": ck.config.hidden,
                        "layers": ck.config.layers,
                        "dtype": ck.dtype.name(),
                    })
                );
            }
        }
    }
    Ok(())
}

fn evaluate<T: Real>(ck: &Checkpoint, threads: usize, data: Data) -> Result<Evaluation> {
    Ok(evaluator::<T>(ck, threads)?.in_pool(|tr| tr.evaluate(data)))
}

fn describe(console: &Console, a: &EvalArgs, ck: &Checkpoint) {
    let c = &ck.config;
    let readout = match c.task {
        Task::Classify { readout, .. } => format!(", readout {}", readout.name()),
        Task::NextToken => ", language model".to_string(),
    };
    console.say(format_args!(
        "model {}: {} cell, {}×{}{readout}, {}, trained {} iterations",
        a.model.display(),
        c.cell.name(),
        c.layers,
        c.hidden,
        ck.dtype.name(),
        ck.iteration
    ));
}

/// The test-set line of a classifier.
pub fn say_accuracy(console: &Console, e: &Evaluation) {
    console.say(format_args!(
        "test accuracy {:.2}% ({} / {}), test loss {:.4}",
        100.0 * e.accuracy,
        (e.accuracy * e.count as f64).round() as usize,
        e.count,
        e.loss
    ));
}

fn print_confusion(console: &Console, confusion: &[usize], names: &[String]) {
    let k = names.len();
    let w = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(1)
        .max(5)
        + 1;
    console.say(format_args!(
        "confusion matrix (rows: true class, columns: predicted)"
    ));
    console.say(format_args!(
        "{:w$}{}",
        "",
        names.iter().map(|c| format!("{c:>w$}")).collect::<String>()
    ));
    for (name, row) in names.iter().zip(confusion.chunks(k)) {
        console.say(format_args!(
            "{name:>w$}{}",
            row.iter().map(|n| format!("{n:>w$}")).collect::<String>()
        ));
    }
}
