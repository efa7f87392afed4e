//! `blasrnn predict`: the classes a saved classifier gives images (PNG or PGM), the series of a
//! `.ts` file, or sequences of a data set's test split.

use super::console::Console;
use anyhow::{Result, bail};
use blasrnn::checkpoint::DataInfo;
use blasrnn::data::image::read_gray;
use blasrnn::data::{SeqSet, Source, ts};
use blasrnn::network::Task;
use blasrnn::{Model, Prediction};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct PredictArgs {
    /// A classifier saved by `train --save`.
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
/// its label is known.
struct Item {
    name: String,
    set: usize,
    index: usize,
    labelled: bool,
}

pub fn run(a: PredictArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let DataInfo::Classes {
        norm,
        names,
        images,
    } = model.info()
    else {
        bail!(
            "{}: a language model, which predicts text: use `blasrnn sample --model {}`",
            a.model.display(),
            a.model.display()
        );
    };
    let Task::Classify { steps, classes, .. } = model.task() else {
        unreachable!("a classifier's model")
    };
    let d = model.config().input;
    let mut sets: Vec<SeqSet> = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    for f in &a.files {
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
        let test = Source::find(&a.data)?.load_test(norm, names)?;
        for &i in &a.test_index {
            if i >= test.len() {
                bail!(
                    "--test-index {i}: the test set of {} holds {} sequences (0..{})",
                    a.data.display(),
                    test.len(),
                    test.len() - 1
                );
            }
            let what = if *images { "image" } else { "sequence" };
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
        let labelled = file.labels.is_some();
        let set = file.into_set(&a.data, names)?;
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
        let [p]: [Prediction; 1] = model
            .classify_at(set, [item.index])
            .map_err(|e| anyhow::anyhow!("{}: {e} ({})", a.model.display(), a.data.display()))?
            .try_into()
            .expect("one prediction");
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
        results.push(json!({
            "input": item.name,
            "class": p.class,
            "name": p.name,
            "digit": p.class,
            "label": label,
            "label_name": label.map(|l| names[l as usize].clone()),
            "probabilities": p.probabilities,
        }));
    }
    if a.json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(())
}
