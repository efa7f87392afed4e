//! `blasrnn predict`: the classes a saved classifier gives images (PNG or PGM) or test-set images.

use super::with_dtype;
use anyhow::{Result, bail};
use blasrnn::checkpoint::{Checkpoint, DataInfo};
use blasrnn::data::image::read_gray;
use blasrnn::data::{SeqSet, Source, ts};
use blasrnn::model::{Model, Task};
use blasrnn::nn::head::argmax;
use blasrnn::real::Real;
use blasrnn::report::Console;
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

pub fn run(a: PredictArgs) -> Result<()> {
    let ck = blasrnn::checkpoint::load(&a.model)?;
    if let DataInfo::Text(_) = ck.data {
        bail!(
            "{}: a language model, which predicts text: use `blasrnn sample --model {}`",
            a.model.display(),
            a.model.display()
        );
    }
    with_dtype!(ck.dtype, predict_in(a, ck))
}

/// The predictions, computing in `T` (the dtype the model was saved in).
fn predict_in<T: Real>(a: PredictArgs, ck: Checkpoint) -> Result<()> {
    let Task::Classify { steps, classes, .. } = ck.config.task else {
        unreachable!("checked: a classifier")
    };
    let DataInfo::Classes {
        norm,
        names,
        images,
    } = &ck.data
    else {
        unreachable!("checked: a classifier")
    };
    let d = ck.config.input;
    // The sets the inputs come from, and each input: its name, set, index, whether it has a label.
    let mut sets: Vec<SeqSet> = Vec::new();
    let mut items: Vec<(String, usize, usize, bool)> = Vec::new();
    for f in &a.files {
        if !images {
            bail!(
                "{}: image files need a model trained on MNIST's images; this one reads sequences \
                 of {d} numbers a step: give them with --data FILE.ts",
                f.display()
            );
        }
        let mut one = SeqSet::from_bytes(read_gray(f, steps, d)?, vec![0], steps, d, classes);
        one.norm = norm.clone();
        items.push((f.display().to_string(), sets.len(), 0, false));
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
            items.push((format!("test {what} {i}"), sets.len(), i, true));
        }
        sets.push(test);
    } else if series_file {
        let file = ts::read(&a.data)?;
        let labelled = file.labels.is_some();
        let mut set = file.into_set(&a.data, names)?;
        set.norm = norm.clone();
        for i in 0..set.len() {
            items.push((
                format!("{} #{i}", a.data.display()),
                sets.len(),
                i,
                labelled,
            ));
        }
        sets.push(set);
    }
    if items.is_empty() {
        bail!("nothing to predict: give image files, --data FILE.ts, or --test-index N");
    }
    let mut config = ck.config;
    for set in &sets {
        let fitted = super::fit_model(&ck, set, &a.model, &a.data)?;
        if let (Task::Classify { steps: s, .. }, Task::Classify { steps: f, .. }) =
            (&mut config.task, fitted.task)
        {
            *s = (*s).max(f);
        }
    }
    let Task::Classify {
        steps: max_steps, ..
    } = config.task
    else {
        unreachable!("a classifier")
    };
    let model = Model::<T>::new(config);
    let mut params = vec![T::ZERO; model.num_params()];
    blasrnn::real::convert(&ck.params, &mut params);
    let console = Console::new(a.json, false);
    let mut ws = model.workspace(1, max_steps, false);
    let mut results = Vec::new();
    for (name, s, i, labelled) in items {
        let set = &sets[s];
        set.load_batch(&mut [i], &mut ws);
        model.forward(&params, &mut ws, None);
        let probs: Vec<f64> = ws.probs(1, classes).iter().map(|p| p.to_f64()).collect();
        let k = argmax(&probs);
        let label = labelled.then(|| set.labels[i]);
        let shown: Vec<String> = probs.iter().map(|p| format!("{p:.4}")).collect();
        console.say(format_args!(
            "{name}: {}{}  p = [{}]",
            names[k],
            label
                .map(|l| format!(" (label {})", names[l as usize]))
                .unwrap_or_default(),
            shown.join(", ")
        ));
        results.push(json!({
            "input": name,
            "class": k,
            "name": names[k],
            "digit": k,
            "label": label,
            "label_name": label.map(|l| names[l as usize].clone()),
            "probabilities": probs,
        }));
    }
    if a.json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(())
}
