//! A checkpoint's metadata: the model's shape and what it reads ([`config`]), each entry checked
//! as it is read ([`Meta`]).

use crate::data::DataInfo;
use crate::data::Norm;
use crate::data::text::Vocab;
use crate::error::{Error, Result};
use crate::network::{NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::{Loss, Readout};
use std::collections::HashMap;
use std::path::Path;

/// The largest size a file may claim for one dimension of a model.
const MAX_DIM: usize = 1 << 20;

/// The model's shape and what it reads, from the metadata.
pub(super) fn config(meta: &Meta) -> Result<(NetworkConfig, DataInfo)> {
    let cell = meta.choice::<CellKind>("cell")?;
    // Files of blasrnn 0.1 have no task and one layer.
    let task = meta.map.get("task").map_or("classify", String::as_str);
    let layers = if meta.map.contains_key("layers") {
        meta.size("layers", 64)?
    } else {
        1
    };
    let hidden = meta.size("hidden", MAX_DIM)?;
    let input = meta.size("input", MAX_DIM)?;
    // Files before patches read every step.
    let patch = if meta.map.contains_key("patch") {
        meta.size("patch", MAX_DIM)?
    } else {
        1
    };
    if input * patch > MAX_DIM {
        return Err(meta.bad(format!(
            "metadata `input` × `patch` = {input} × {patch} is larger than {MAX_DIM}"
        )));
    }
    let bidirectional = match meta.map.get("bidirectional").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(meta.bad(format!(
                "metadata `bidirectional` = {other:?}; expected true or false"
            )));
        }
    };
    let sequence_readout = || -> Result<Readout> {
        match meta.choice::<Readout>("readout")? {
            Readout::Step => Err(meta
                .bad("metadata `readout` = \"step\" belongs to task tag, not to this task".into())),
            r => Ok(r),
        }
    };
    let (task, data) = match task {
        "classify" => {
            let task = Task::Classify {
                readout: sequence_readout()?,
                steps: meta.size("steps", MAX_DIM)?,
                outputs: meta.size("outputs", MAX_DIM)?,
                classes: meta.size("classes", MAX_DIM)?,
            };
            (task, classes_info(meta, input)?)
        }
        "tag" => {
            let task = Task::Tag {
                steps: meta.size("steps", MAX_DIM)?,
                classes: meta.size("classes", MAX_DIM)?,
            };
            (task, classes_info(meta, input)?)
        }
        "regress" => {
            let targets = meta.size("targets", MAX_DIM)?;
            let task = Task::Regress {
                readout: sequence_readout()?,
                steps: meta.size("steps", MAX_DIM)?,
                outputs: meta.size("outputs", MAX_DIM)?,
                targets,
                loss: meta.choice::<Loss>("loss")?,
            };
            (task, values_info(meta, input, targets)?)
        }
        "lm" => {
            let vocab = Vocab::from_string(meta.get("vocab")?).ok_or_else(|| {
                meta.bad("metadata `vocab` is not a list of distinct characters in order".into())
            })?;
            if vocab.len() != input {
                return Err(meta.bad(format!(
                    "metadata `vocab` holds {} characters but `input` = {input}",
                    vocab.len()
                )));
            }
            (Task::NextToken, DataInfo::Text(vocab))
        }
        other => {
            return Err(meta.bad(format!(
                "metadata `task` = {other:?}; expected classify, regress, tag or lm"
            )));
        }
    };
    if bidirectional && task == Task::NextToken {
        return Err(meta.bad("a language model cannot be bidirectional".into()));
    }
    if patch > 1 && matches!(task, Task::NextToken | Task::Tag { .. }) {
        return Err(meta.bad(format!(
            "metadata `patch` = {patch}: a model that answers every step reads every step"
        )));
    }
    let config = NetworkConfig {
        cell,
        input,
        hidden,
        layers,
        bidirectional,
        task,
        patch,
    };
    Ok((config, data))
}

/// The metadata of a file, with the checks every entry needs.
pub(super) struct Meta<'a> {
    pub(super) map: &'a HashMap<String, String>,
    pub(super) path: &'a Path,
}

impl Meta<'_> {
    pub(super) fn bad(&self, problem: String) -> Error {
        Error::format(self.path, problem)
    }

    pub(super) fn get(&self, k: &str) -> Result<&str> {
        self.map
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| self.bad(format!("metadata lacks `{k}`")))
    }

    /// A whole number; a size (`positive`) may not be zero.
    pub(super) fn num(&self, k: &str, positive: bool) -> Result<usize> {
        let v = self.get(k)?;
        v.parse()
            .ok()
            .filter(|&n| n > 0 || !positive)
            .ok_or_else(|| {
                let what = if positive { "positive " } else { "" };
                self.bad(format!(
                    "metadata `{k}` = {v:?} is not a {what}whole number"
                ))
            })
    }

    /// A size no larger than `max` (so that a hostile file cannot ask for a huge model).
    pub(super) fn size(&self, k: &str, max: usize) -> Result<usize> {
        let n = self.num(k, true)?;
        if n > max {
            return Err(self.bad(format!("metadata `{k}` = {n} is larger than {max}")));
        }
        Ok(n)
    }

    pub(super) fn json<V: serde::de::DeserializeOwned>(&self, k: &str) -> Result<V> {
        serde_json::from_str(self.get(k)?)
            .map_err(|e| self.bad(format!("metadata `{k}` is not valid: {e}")))
    }

    /// A normalisation of `n` numbers: `{what}_shift` and `{what}_scale` (JSON), finite.
    pub(super) fn norm(&self, what: &str, n: usize) -> Result<Norm> {
        let (shift, scale) = (format!("{what}_shift"), format!("{what}_scale"));
        let norm = Norm {
            shift: self.json(&shift)?,
            scale: self.json(&scale)?,
        };
        if norm.shift.len() != n || norm.scale.len() != n {
            return Err(self.bad(format!(
                "metadata `{shift}` and `{scale}` must hold {n} numbers each"
            )));
        }
        if norm.shift.iter().chain(&norm.scale).any(|v| !v.is_finite()) {
            return Err(self.bad(format!(
                "metadata `{shift}`/`{scale}` hold a non-finite number"
            )));
        }
        Ok(norm)
    }

    /// One of a [`Choice`](crate::choice::Choice)'s names.
    pub(super) fn choice<V: crate::choice::Choice>(&self, k: &str) -> Result<V> {
        let v = self.get(k)?;
        V::from_name(v).ok_or_else(|| {
            self.bad(format!(
                "metadata `{k}` = {v:?}; expected one of {}",
                V::names()
            ))
        })
    }
}

/// The input normalisation: `input_shift`/`input_scale` (JSON, `input` numbers each), or, in
/// files of blasrnn 0.1, `pixel_scale`.
fn input_norm(meta: &Meta, input: usize) -> Result<Norm> {
    if meta.map.contains_key("input_scale") {
        return meta.norm("input", input);
    }
    let scale = match meta.get("pixel_scale")? {
        "1" => 1.0,
        "1/255" => 1.0 / 255.0,
        other => {
            return Err(meta.bad(format!(
                "metadata `pixel_scale` = {other:?}; expected 1/255 or 1"
            )));
        }
    };
    Ok(Norm::scaled(input, scale))
}

/// A classifier's (or tagger's) normalisation and class names: `class_names` (JSON), or, in files
/// of blasrnn 0.1, the digits.
fn classes_info(meta: &Meta, input: usize) -> Result<DataInfo> {
    let classes = meta.size("classes", MAX_DIM)?;
    let images = meta.map.contains_key("pixel_scale");
    let norm = input_norm(meta, input)?;
    let names: Vec<String> = if meta.map.contains_key("class_names") {
        meta.json("class_names")?
    } else {
        (0..classes).map(|k| k.to_string()).collect()
    };
    if names.len() != classes {
        return Err(meta.bad(format!(
            "metadata `class_names` holds {} names for {classes} classes",
            names.len()
        )));
    }
    Ok(DataInfo::Classes {
        norm,
        names,
        images,
    })
}

/// A regression model's normalisations and target names, or a forecaster's columns too.
fn values_info(meta: &Meta, input: usize, targets: usize) -> Result<DataInfo> {
    let norm = meta.norm("input", input)?;
    if meta.map.contains_key("columns") {
        let columns: Vec<String> = meta.json("columns")?;
        let seasonal = match meta.map.get("seasonal") {
            Some(_) => Some(meta.size("seasonal", MAX_DIM)?),
            None => None,
        };
        // A model correcting the seasonal naive forecast reads one more input: the change.
        let read = columns.len() + usize::from(seasonal.is_some());
        if read != input {
            return Err(meta.bad(format!(
                "metadata `columns` names {} columns, but the model reads {input} inputs",
                columns.len()
            )));
        }
        let target = meta.num("target_column", false)?;
        if target >= columns.len() {
            return Err(meta.bad(format!(
                "metadata `target_column` = {target} is not one of the {} columns",
                columns.len()
            )));
        }
        return Ok(DataInfo::Series {
            norm,
            targets: meta.norm("target", targets)?,
            columns,
            target,
            window: meta.size("window", MAX_DIM)?,
            test_len: meta.num("test_len", false)?,
            seasonal,
        });
    }
    let names: Vec<String> = meta.json("target_names")?;
    if names.len() != targets {
        return Err(meta.bad(format!(
            "metadata `target_names` holds {} names for {targets} targets",
            names.len()
        )));
    }
    Ok(DataInfo::Values {
        norm,
        targets: meta.norm("target", targets)?,
        names,
    })
}
