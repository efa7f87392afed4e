//! `blasrnn eval`: a saved classifier on the test split (accuracy, loss, confusion matrix), or a
//! saved language model on the validation part of a text (loss in nats and bits per character).

use super::banner;
use super::console::Console;
use anyhow::{Result, bail};
use blasrnn::Model;
use blasrnn::checkpoint::DataInfo;
use blasrnn::data::Source;
use blasrnn::data::text::Corpus;
use blasrnn::network::Task;
use blasrnn::train::{Data, Evaluation, default_threads};
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

pub fn run(a: EvalArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let threads = a.threads.map_or_else(default_threads, |t| t as usize);
    let console = Console::new(a.json, false);
    match model.info() {
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
            let eval = model.evaluate(Data::Text(&corpus.val), threads)?;
            banner(&console, threads);
            describe(&console, &a, &model);
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
                        "dtype": model.dtype().name(),
                    })
                );
            }
        }
        DataInfo::Classes { norm, names, .. } => {
            if a.text.is_some() {
                bail!(
                    "{}: a classifier; --text evaluates language models",
                    a.model.display()
                );
            }
            let test = Source::find(&a.data)?.load_test(norm, names)?;
            // In the dtype the model was trained in, so that eval repeats training's final figure.
            let eval = model
                .evaluate(Data::Labelled(&test), threads)
                .map_err(|e| {
                    anyhow::anyhow!("{}: {e} ({})", a.model.display(), a.data.display())
                })?;
            banner(&console, threads);
            describe(&console, &a, &model);
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
                        "cell": model.config().cell.name(),
                        "hidden": model.config().hidden,
                        "layers": model.config().layers,
                        "dtype": model.dtype().name(),
                    })
                );
            }
        }
    }
    Ok(())
}

fn describe(console: &Console, a: &EvalArgs, model: &Model) {
    let c = model.config();
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
        model.dtype().name(),
        model.iteration()
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
