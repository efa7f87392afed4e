//! `blasrnn predict`: the classes a saved classifier gives images (PNG or PGM) or test-set images.

use super::with_dtype;
use anyhow::{Result, bail};
use blasrnn::checkpoint::{Checkpoint, DataInfo};
use blasrnn::data::image::read_gray;
use blasrnn::data::{SeqSet, mnist};
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
    /// 8-bit grayscale PNG or PGM images of the model's size (28×28 for MNIST), white on black.
    files: Vec<PathBuf>,
    /// Predict test-set image N instead (repeatable).
    #[arg(long)]
    test_index: Vec<usize>,
    /// Directory holding the MNIST IDX files (for --test-index; only the test split is read).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Print the predictions as one JSON array as the last line of stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: PredictArgs) -> Result<()> {
    if a.files.is_empty() && a.test_index.is_empty() {
        bail!("nothing to predict: give image files and/or --test-index N");
    }
    let ck = super::load_model(&a.model)?;
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
    let DataInfo::Classes { norm, names, .. } = &ck.data else {
        unreachable!("checked: a classifier")
    };
    let d = ck.config.input;
    let model = Model::<T>::new(ck.config);
    let mut params = vec![T::ZERO; model.num_params()];
    blasrnn::real::convert(&ck.params, &mut params);
    // Every input as a one-sequence set of bytes, with its label when known.
    let mut inputs: Vec<(String, Vec<u8>, Option<u32>)> = Vec::new();
    for f in &a.files {
        inputs.push((f.display().to_string(), read_gray(f, steps, d)?, None));
    }
    if !a.test_index.is_empty() {
        let test = mnist::load_split(&a.data, "t10k")?;
        if (test.steps, test.dims) != (steps, d) {
            bail!(
                "{}: images of {}×{}, but the model reads {steps}×{d}",
                a.data.display(),
                test.steps,
                test.dims
            );
        }
        for &i in &a.test_index {
            if i >= test.len() {
                bail!(
                    "--test-index {i}: the test set holds {} images (0..{})",
                    test.len(),
                    test.len() - 1
                );
            }
            let pixels = test.bytes(i).expect("MNIST is bytes").to_vec();
            inputs.push((format!("test image {i}"), pixels, Some(test.labels[i])));
        }
    }
    let console = Console::new(a.json, false);
    let mut ws = model.workspace(1, steps, false);
    let mut results = Vec::new();
    for (name, pixels, label) in inputs {
        let mut one = SeqSet::from_bytes(pixels, vec![label.unwrap_or(0)], steps, d, classes);
        one.norm = norm.clone();
        one.load_batch(&mut [0], &mut ws);
        model.forward(&params, &mut ws, None);
        let probs: Vec<f64> = ws.probs(1, classes).iter().map(|p| p.to_f64()).collect();
        let k = argmax(&probs);
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
            "probabilities": probs,
        }));
    }
    if a.json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(())
}
