//! `blasrnn eval`: a saved model on held-out data — a classifier, regression model or tagger on
//! the test split of `--data` (accuracy and confusion matrix, or RMSE, MAE and R²), a forecaster
//! on the held-out end of `--series` (against the seasonal naive forecast), a language model on
//! the validation part of `--text` (loss in nats and bits per character).

use super::banner;
use super::console::Console;
use super::results::Reached;
use anyhow::{Result, bail};
use blasrnn::Model;
use blasrnn::data::DataInfo;
use blasrnn::data::series::{Forecasting, SeasonFrom, read_csv};
use blasrnn::data::text::Corpus;
use blasrnn::network::Task;
use blasrnn::train::{Data, default_threads};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct EvalArgs {
    /// A model saved by `train --save`.
    #[arg(long)]
    model: PathBuf,
    /// Classifiers, regression and tagging: the data set (MNIST's directory, a .ts pair, an
    /// .npz); only its test split is read.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Language model: the text file whose last --val-frac is evaluated.
    #[arg(long)]
    text: Option<PathBuf>,
    /// Fraction of the text, its last characters, that is evaluated (as in training).
    #[arg(long, default_value_t = 0.1)]
    val_frac: f64,
    /// Forecaster: the series (CSV) whose held-out end is forecast, as in training.
    #[arg(long)]
    series: Option<PathBuf>,
    /// Forecaster: the season of the seasonal naive forecast it is measured against [default:
    /// the one it corrects, else the one detected in the series' training part, else 1].
    #[arg(long, requires = "series", value_parser = clap::value_parser!(u32).range(1..))]
    season: Option<u32>,
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
    let shown = a.model.display();
    let task = model.task();
    let (reached, eval, classes) = match model.info() {
        DataInfo::Text(vocab) => {
            let Some(path) = &a.text else {
                bail!(
                    "{shown}: a language model; give the text to evaluate it on with --text FILE"
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
            (Reached::of(&eval, &task), eval, Vec::new())
        }
        info @ DataInfo::Series { .. } => {
            let Some(path) = &a.series else {
                bail!(
                    "{shown}: a forecaster; give the series to evaluate it on with --series FILE"
                );
            };
            if !matches!(task, Task::Regress { .. }) {
                bail!("{shown}: a forecaster's task must be regress");
            }
            let Some(cut) = info.cut(a.season.map(|m| m as usize)) else {
                bail!("{shown}: not a forecaster");
            };
            let f = Forecasting::new(&read_csv(path)?, &cut)?;
            let eval = model.evaluate(Data::Labelled(&f.sets.test), threads)?;
            let season = match a.season {
                Some(m) => (m as usize, SeasonFrom::Given),
                None => (f.season, f.season_from),
            };
            (
                Reached::forecast(&model, &f, &eval, season)?,
                eval,
                Vec::new(),
            )
        }
        _ => {
            if a.text.is_some() || a.series.is_some() {
                bail!("{shown}: a model of labelled sequences; --data names what it is tested on");
            }
            let test = model.load_test(&a.data)?;
            // In the dtype the model was trained in, so that eval repeats training's final figure.
            let eval = model
                .evaluate(Data::Labelled(&test), threads)
                .map_err(|e| anyhow::anyhow!("{shown}: {e} ({})", a.data.display()))?;
            (Reached::of(&eval, &task), eval, test.classes.clone())
        }
    };
    banner(&console, threads);
    describe(&console, &a, &model);
    reached.say(&console, &eval);
    if !classes.is_empty() {
        print_confusion(&console, &eval.confusion, &classes);
    }
    if a.json {
        let c = model.config();
        let mut out = serde_json::to_value(&reached)?;
        let obj = out.as_object_mut().expect("an object");
        for (k, v) in [
            ("model", json!(a.model.display().to_string())),
            ("task", json!(task.name())),
            ("cell", json!(c.cell.name())),
            ("hidden", json!(c.hidden)),
            ("layers", json!(c.layers)),
            ("bidirectional", json!(c.bidirectional)),
            ("dtype", json!(model.dtype().name())),
            ("count", json!(eval.count)),
        ] {
            obj.insert(k.into(), v);
        }
        if let DataInfo::Text(_) = model.info() {
            obj.insert("characters".into(), json!(eval.count));
        }
        if !classes.is_empty() {
            let rows: Vec<&[usize]> = eval.confusion.chunks(classes.len()).collect();
            obj.insert("confusion".into(), json!(rows));
            obj.insert("classes".into(), json!(classes));
        }
        println!("{out}");
    }
    Ok(())
}

fn describe(console: &Console, a: &EvalArgs, model: &Model) {
    let c = model.config();
    let head = match c.task {
        Task::Classify { readout, .. } | Task::Regress { readout, .. } => {
            format!(", {}, readout {}", c.task.name(), readout.name())
        }
        Task::Tag { .. } => ", a class at every step".to_string(),
        Task::NextToken => ", language model".to_string(),
    };
    console.say(format_args!(
        "model {}: {} cell, {}×{}{}{head}, {}, trained {} iterations",
        a.model.display(),
        c.cell.name(),
        c.layers,
        c.hidden,
        if c.bidirectional {
            " bidirectional"
        } else {
            ""
        },
        model.dtype().name(),
        model.iteration()
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
