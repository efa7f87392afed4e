//! Reading a checkpoint back, in named parts: the header and metadata, the model's shape and
//! what it reads ([`config`]), its parameters ([`params`]), the optimizer's state
//! ([`optimizer`]) and the streams' carried state ([`state`]). Every part adds what does not
//! match to one list of problems, so that a file's error says everything wrong at once; a tensor
//! that no part claims is one of them.

use super::Best;
use super::Checkpoint;
use crate::config::TrainConfig;
use crate::data::DataInfo;
use crate::data::Norm;
use crate::data::text::Vocab;
use crate::error::{Error, Result};
use crate::network::{Network, NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::{Loss, Readout};
use crate::nn::params::rnn_name;
use crate::real::Dtype;
use safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The largest size a file may claim for one dimension of a model.
const MAX_DIM: usize = 1 << 20;

/// Loads a model saved by [`super::save`] (or by PyTorch with the same names and metadata),
/// checking every name, shape, dtype and metadata entry; says exactly what does not match.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Format`] naming every problem of its
/// contents.
pub fn load(path: impl AsRef<Path>) -> Result<Checkpoint> {
    let path = path.as_ref();
    if path.is_dir() {
        return Err(Error::format(path, "is a directory, not a model file"));
    }
    let bytes = std::fs::read(path).map_err(Error::io_at(path))?;
    decode(&bytes, path)
}

/// Reads a checkpoint from the bytes of a file that [`super::save`] writes (or
/// [`super::encode`] makes), checking it as [`load`] does; errors name it `name`.
///
/// # Errors
/// [`Error::Format`] naming `name` and every problem of the contents.
pub fn decode(bytes: &[u8], name: impl AsRef<Path>) -> Result<Checkpoint> {
    let path = name.as_ref();
    let bad = |problem: String| Error::format(path, problem);
    let (st, map) = header(bytes, path)?;
    let meta = Meta { map: &map, path };
    let (config, data) = config(&meta)?;
    // The parameters must be in the file (4 bytes each at least): a header cannot make this
    // allocate much more than the file's size. (Below a million, the tensors' own checks say
    // more precisely what is missing.)
    let net: Network = Network::new(config);
    if net.num_params() > (bytes.len() / 4).max(1 << 20) {
        return Err(bad(format!(
            "the metadata describe {} parameters, more than the file's {} bytes can hold",
            net.num_params(),
            bytes.len()
        )));
    }
    let mut file = Tensors {
        st: &st,
        claimed: HashSet::new(),
        problems: Vec::new(),
    };
    let (params, dtype) = params(&mut file, &net);
    let optimizer_state = optimizer(&mut file, net.num_params());
    let state = state(&mut file, &config);
    let current = match file.take("resume.params").map(|v| values(&v)) {
        None => None,
        Some(Some(p)) if p.len() == net.num_params() && p.iter().all(|x| x.is_finite()) => Some(p),
        Some(_) => {
            file.problems.push(format!(
                "\"resume.params\": expected {} finite F64 or F32 values",
                net.num_params()
            ));
            None
        }
    };
    let mut problems = file.problems;
    for name in st.names() {
        if !file.claimed.contains(name) {
            problems.push(format!("unexpected tensor {name:?}"));
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(bad(problems.join("; ")));
    }
    let optimizer = match map.get("optimizer") {
        Some(kind) => Some((kind.clone(), meta.num("optimizer_steps", false)? as u64)),
        None => None,
    };
    let training = match map.get("training") {
        Some(_) => Some(meta.json::<TrainConfig>("training")?),
        None => None,
    };
    let resume = match current {
        Some(p) => {
            let loss = meta.get("best_loss")?;
            let loss = loss
                .parse::<f64>()
                .ok()
                .filter(|l| l.is_finite())
                .ok_or_else(|| {
                    meta.bad(format!(
                        "metadata `best_loss` = {loss:?} is not a finite number"
                    ))
                })?;
            let iteration = meta.num("best_iteration", true)?;
            Some((p, Best { iteration, loss }))
        }
        None => None,
    };
    Ok(Checkpoint {
        resume,
        path: path.to_path_buf(),
        config,
        data,
        params,
        dtype,
        iteration: meta.num("iteration", false)?,
        training,
        optimizer,
        optimizer_state,
        state,
    })
}

/// The tensors and the metadata of a safetensors file.
fn header<'b>(bytes: &'b [u8], path: &Path) -> Result<(SafeTensors<'b>, HashMap<String, String>)> {
    let bad = |problem: String| Error::format(path, problem);
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        bad(format!(
            "not a valid safetensors file (truncated or corrupted?): {e:?}"
        ))
    })?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file: {e:?}")))?;
    let map = header.metadata().clone().ok_or_else(|| {
        bad("no metadata: not a blasrnn model (needs cell, hidden, readout, …)".into())
    })?;
    match map.get("format") {
        None => return Err(bad("metadata lacks `format`".into())),
        Some(f) if f != "blasrnn" => {
            return Err(bad(format!("metadata `format` is {f:?}, not \"blasrnn\"")));
        }
        Some(_) => {}
    }
    Ok((st, map))
}

/// The model's shape and what it reads, from the metadata.
fn config(meta: &Meta) -> Result<(NetworkConfig, DataInfo)> {
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

/// The tensors of a file, which of them a part has read, and the problems found so far.
struct Tensors<'a, 'b> {
    st: &'a SafeTensors<'b>,
    claimed: HashSet<String>,
    problems: Vec<String>,
}

impl<'b> Tensors<'_, 'b> {
    /// Tensor `name`, marked as read, if the file has it.
    fn take(&mut self, name: &str) -> Option<TensorView<'b>> {
        let v = self.st.tensor(name).ok()?;
        self.claimed.insert(name.to_string());
        Some(v)
    }
}

/// The parameters in `net`'s flat layout (as `f64`), and the dtype they were stored in (F32
/// when every one is F32). The seed's tanh cell has one bias: a PyTorch-style `bias_hh` is
/// added to `bias_ih`.
fn params(file: &mut Tensors, net: &Network) -> (Vec<f64>, Dtype) {
    let mut params = vec![0.0; net.num_params()];
    let mut all_f32 = true;
    let (cell, hidden) = (net.config.cell, net.config.hidden);
    for (spec, range) in net.layout().iter() {
        match file.take(&spec.name) {
            None => file.problems.push(format!(
                "missing tensor {} (shape {:?})",
                spec.name, spec.shape
            )),
            Some(v) if v.shape() != spec.shape.as_slice() => file.problems.push(format!(
                "{}: shape {:?} in the file, {:?} expected for {} H={hidden}",
                spec.name,
                v.shape(),
                spec.shape,
                cell.name(),
            )),
            Some(v) => match values(&v) {
                Some(vals) => match vals.iter().position(|x| !x.is_finite()) {
                    Some(at) => file.problems.push(format!(
                        "{}: value {at} is {}, not a finite number",
                        spec.name, vals[at]
                    )),
                    None => {
                        all_f32 &= v.dtype() == StDtype::F32;
                        params[range].copy_from_slice(&vals)
                    }
                },
                None => file.problems.push(format!(
                    "{}: dtype {:?}, expected F64 or F32",
                    spec.name,
                    v.dtype()
                )),
            },
        }
    }
    if cell == CellKind::Tanh {
        for id in net.stack().cells() {
            let name = rnn_name("bias_hh", id);
            let Some(v) = file.take(&name) else { continue };
            match values(&v) {
                Some(vals) if v.shape() == [hidden] && vals.iter().all(|x| x.is_finite()) => {
                    let b = net
                        .layout()
                        .range(&rnn_name("bias_ih", id))
                        .expect("tanh has bias_ih");
                    for (p, x) in params[b].iter_mut().zip(vals) {
                        *p += x;
                    }
                }
                _ => file.problems.push(format!(
                    "{name}: shape {:?} dtype {:?}, expected [{hidden}] finite F64 or F32",
                    v.shape(),
                    v.dtype(),
                )),
            }
        }
    }
    (params, if all_f32 { Dtype::F32 } else { Dtype::F64 })
}

/// The optimizer's buffers (`optimizer.<name>`), each of `n` values.
fn optimizer(file: &mut Tensors, n: usize) -> HashMap<String, Vec<f64>> {
    let names: Vec<String> = file
        .st
        .names()
        .into_iter()
        .filter(|name| name.starts_with("optimizer."))
        .map(|name| name.to_string())
        .collect();
    let mut state = HashMap::new();
    for name in names {
        match file.take(&name).as_ref().and_then(values) {
            Some(v) if v.len() == n => {
                state.insert(name["optimizer.".len()..].to_string(), v);
            }
            _ => file
                .problems
                .push(format!("{name:?}: expected {n} F64 or F32 values")),
        }
    }
    state
}

/// The state each text stream carries, per layer `[B][state_len]`, from `state.h_n` and (LSTM)
/// `state.c_n`, `[L][B][H]` each, when saved.
fn state(file: &mut Tensors, config: &NetworkConfig) -> Option<Vec<Vec<f64>>> {
    let (layers, hidden, cell) = (config.layers, config.hidden, config.cell);
    let mut batch = None;
    let mut parts: HashMap<&str, Vec<f64>> = HashMap::new();
    for part in ["h_n", "c_n"] {
        let name = format!("state.{part}");
        let Some(v) = file.take(&name) else { continue };
        let ok = config.task == Task::NextToken && (part == "h_n" || cell == CellKind::Lstm);
        let shape = v.shape();
        if !(ok && shape.len() == 3 && shape[0] == layers && shape[2] == hidden) {
            file.problems.push(format!(
                "{name}: shape {shape:?}, expected [{layers}, B, {hidden}] of a language model",
            ));
            continue;
        }
        if *batch.get_or_insert(shape[1]) != shape[1] {
            file.problems.push(format!(
                "{name}: batch {} differs from the other state's",
                shape[1]
            ));
        }
        match values(&v) {
            Some(vals) => {
                parts.insert(part, vals);
            }
            None => file.problems.push(format!(
                "{name}: dtype {:?}, expected F64 or F32",
                v.dtype()
            )),
        }
    }
    match (parts.remove("h_n"), parts.remove("c_n")) {
        (None, None) => None,
        (Some(h), c) if (cell == CellKind::Lstm) == c.is_some() => {
            let b = batch.unwrap_or(0);
            Some(
                (0..layers)
                    .map(|l| {
                        (0..b)
                            .flat_map(|s| {
                                let at = (l * b + s) * hidden;
                                let c_row = c.as_ref().map(|c| &c[at..at + hidden]);
                                h[at..at + hidden]
                                    .iter()
                                    .chain(c_row.into_iter().flatten())
                                    .copied()
                            })
                            .collect()
                    })
                    .collect(),
            )
        }
        _ => {
            file.problems.push(
                "state.h_n and state.c_n must both be saved for an LSTM (and only h_n otherwise)"
                    .into(),
            );
            None
        }
    }
}

/// Reads the values of a tensor as f64 (F64 as stored, F32 widened).
fn values(view: &TensorView) -> Option<Vec<f64>> {
    let d = view.data();
    match view.dtype() {
        StDtype::F64 => Some(
            d.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        StDtype::F32 => Some(
            d.chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect(),
        ),
        _ => None,
    }
}

/// The metadata of a file, with the checks every entry needs.
struct Meta<'a> {
    map: &'a HashMap<String, String>,
    path: &'a Path,
}

impl Meta<'_> {
    fn bad(&self, problem: String) -> Error {
        Error::format(self.path, problem)
    }

    fn get(&self, k: &str) -> Result<&str> {
        self.map
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| self.bad(format!("metadata lacks `{k}`")))
    }

    /// A whole number; a size (`positive`) may not be zero.
    fn num(&self, k: &str, positive: bool) -> Result<usize> {
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
    fn size(&self, k: &str, max: usize) -> Result<usize> {
        let n = self.num(k, true)?;
        if n > max {
            return Err(self.bad(format!("metadata `{k}` = {n} is larger than {max}")));
        }
        Ok(n)
    }

    fn json<V: serde::de::DeserializeOwned>(&self, k: &str) -> Result<V> {
        serde_json::from_str(self.get(k)?)
            .map_err(|e| self.bad(format!("metadata `{k}` is not valid: {e}")))
    }

    /// A normalisation of `n` numbers: `{what}_shift` and `{what}_scale` (JSON), finite.
    fn norm(&self, what: &str, n: usize) -> Result<Norm> {
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
    fn choice<V: crate::choice::Choice>(&self, k: &str) -> Result<V> {
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
