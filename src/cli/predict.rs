//! `blasrnn predict`: what a saved model says of images (PNG or PGM), of the series of a `.ts`
//! file, or of sequences of a data set's test split — a class, real numbers, or a class at every
//! step.

use super::console::Console;
use anyhow::{Result, bail};
use blasrnn::Model;
use blasrnn::data::DataInfo;
use blasrnn::data::image::read_gray;
use blasrnn::data::{SeqSet, Targets, ts};
use blasrnn::network::Task;
use clap::Args;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Args)]
pub struct PredictArgs {
    /// A model saved by `train --save` (a classifier, regression model or tagger).
    #[arg(long)]
    model: PathBuf,
    /// 8-bit grayscale PNG or PGM images of the model's size (28×28 for MNIST), white on black
    /// (models trained on images only).
    files: Vec<PathBuf>,
    /// Predict sequence N of the test split of --data (repeatable).
    #[arg(long)]
    test_index: Vec<usize>,
    /// The data set of --test-index (MNIST's directory, a .ts pair, an .npz; only its test split
    /// is read), or, without --test-index, a .ts file whose every series to predict.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Print the predictions as one JSON array as the last line of stdout.
    #[arg(long)]
    json: bool,
}

/// What is predicted: a name for it, and where it is (a set and an index in it), with whether
/// its target is known.
struct Item {
    name: String,
    set: usize,
    index: usize,
    labelled: bool,
}

pub fn run(a: PredictArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let shown = a.model.display();
    let task = model.task();
    let info = model.info();
    match (info, task) {
        (DataInfo::Text(_), _) => bail!(
            "{shown}: a language model, which predicts text: use `blasrnn sample --model {shown}`"
        ),
        (DataInfo::Series { .. }, _) => bail!(
            "{shown}: a forecaster, which predicts what follows a series: use `blasrnn forecast \
             --model {shown} --series FILE.csv`"
        ),
        _ => {}
    }
    let images = matches!(info, DataInfo::Classes { images: true, .. });
    let d = model.config().input;
    let mut sets: Vec<SeqSet> = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    for f in &a.files {
        let Task::Classify { steps, classes, .. } = task else {
            bail!(
                "{}: image files need a model trained on MNIST's images",
                f.display()
            );
        };
        if !images {
            bail!(
                "{}: image files need a model trained on MNIST's images; this one reads sequences \
                 of {d} numbers a step: give them with --data FILE.ts",
                f.display()
            );
        }
        let one = SeqSet::from_bytes(read_gray(f, steps, d)?, vec![0], steps, d, classes)?;
        items.push(Item {
            name: f.display().to_string(),
            set: sets.len(),
            index: 0,
            labelled: false,
        });
        sets.push(one);
    }
    let series_file = a.data.extension().is_some_and(|e| e == "ts") && a.data.is_file();
    if !a.test_index.is_empty() {
        let test = model.load_test(&a.data)?;
        for &i in &a.test_index {
            if i >= test.len() {
                bail!(
                    "--test-index {i}: the test set of {} holds {} sequences (0..{})",
                    a.data.display(),
                    test.len(),
                    test.len() - 1
                );
            }
            let what = if images { "image" } else { "sequence" };
            items.push(Item {
                name: format!("test {what} {i}"),
                set: sets.len(),
                index: i,
                labelled: true,
            });
        }
        sets.push(test);
    } else if series_file {
        let file = ts::read(&a.data)?;
        let set = match info {
            DataInfo::Values { .. } => file.into_values(&a.data)?,
            DataInfo::Classes { names, .. } => file.into_set(&a.data, names)?,
            _ => unreachable!("refused above"),
        };
        let labelled = set.targets != Targets::None;
        for i in 0..set.len() {
            items.push(Item {
                name: format!("{} #{i}", a.data.display()),
                set: sets.len(),
                index: i,
                labelled,
            });
        }
        sets.push(set);
    }
    if items.is_empty() {
        bail!("nothing to predict: give image files, --data FILE.ts, or --test-index N");
    }
    let console = Console::new(a.json, false);
    let mut results = Vec::new();
    for item in items {
        let set = &sets[item.set];
        let fail = |e: blasrnn::Error| anyhow::anyhow!("{shown}: {e} ({})", a.data.display());
        let result = match task {
            Task::Regress { .. } => values(&model, set, &item, &console).map_err(fail)?,
            Task::Tag { .. } => steps(&model, set, &item, &console).map_err(fail)?,
            _ => class(&model, set, &item, &console).map_err(fail)?,
        };
        results.push(result);
    }
    if a.json {
        println!("{}", Value::Array(results));
    }
    Ok(())
}

/// A classifier's answer for one sequence: its line, and its JSON.
fn class(model: &Model, set: &SeqSet, item: &Item, console: &Console) -> blasrnn::Result<Value> {
    let names = model.classes().expect("a classifier's classes");
    let p = model.classify_at(set, [item.index])?.remove(0);
    let label = item.labelled.then(|| set.labels[item.index]);
    let shown: Vec<String> = p.probabilities.iter().map(|p| format!("{p:.4}")).collect();
    console.say(format_args!(
        "{}: {}{}  p = [{}]",
        item.name,
        p.name,
        label
            .map(|l| format!(" (label {})", names[l as usize]))
            .unwrap_or_default(),
        shown.join(", ")
    ));
    Ok(json!({
        "input": item.name,
        "class": p.class,
        "name": p.name,
        "digit": p.class,
        "label": label,
        "label_name": label.map(|l| names[l as usize].clone()),
        "probabilities": p.probabilities,
    }))
}

/// A regression model's numbers for one sequence (and its targets, when known).
fn values(model: &Model, set: &SeqSet, item: &Item, console: &Console) -> blasrnn::Result<Value> {
    let v = model.regress_at(set, [item.index])?.remove(0);
    let target = match (&set.targets, item.labelled) {
        (Targets::Values { y, k, .. }, true) => {
            Some(y[item.index * k..(item.index + 1) * k].to_vec())
        }
        _ => None,
    };
    let shown = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    console.say(format_args!(
        "{}: [{}]{}",
        item.name,
        shown(&v),
        target
            .as_ref()
            .map(|t| format!(" (target [{}])", shown(t)))
            .unwrap_or_default()
    ));
    Ok(json!({"input": item.name, "values": v, "targets": target}))
}

/// A tagger's class at every step of one sequence (and the labels, when known).
fn steps(model: &Model, set: &SeqSet, item: &Item, console: &Console) -> blasrnn::Result<Value> {
    let per = model.tag_at(set, [item.index])?.remove(0);
    let labels = match (&set.targets, item.labelled) {
        (Targets::Steps(l), true) => {
            Some(l[item.index * set.steps..item.index * set.steps + per.len()].to_vec())
        }
        _ => None,
    };
    let names: Vec<&str> = per.iter().map(|p| p.name.as_str()).collect();
    let right = labels.as_ref().map(|l| {
        per.iter()
            .zip(l)
            .filter(|(p, l)| p.class == **l as usize)
            .count()
    });
    console.say(format_args!(
        "{}: {}{}",
        item.name,
        names.join(" "),
        right
            .map(|r| format!("  ({r} of {} steps right)", per.len()))
            .unwrap_or_default()
    ));
    Ok(json!({
        "input": item.name,
        "classes": per.iter().map(|p| p.class).collect::<Vec<_>>(),
        "names": names,
        "labels": labels,
    }))
}
