//! Saving and loading models in the safetensors format, with PyTorch's parameter names.
//!
//! Tensors: every parameter under its PyTorch name — `rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`,
//! `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}` for each layer k, then `out.weight`, `out.bias` (the
//! seed readout's output layer, or a language model's Linear(H, V)) and `classifier.weight`,
//! `classifier.bias` — so that a module of `torch.nn.RNN/LSTM/GRU(num_layers=L)` (`rnn`) and
//! `nn.Linear` layers (`out`, `classifier`) loads them. The seed's tanh cell has one hidden bias:
//! it is saved as `bias_ih` with a zero `bias_hh`, and on load the two are added (so a
//! PyTorch-trained `nn.RNN` loads too). What `--resume` needs sits beside: the optimizer's state
//! under `optimizer.<name>` (flat, parameter order) and, for a language model, the state each
//! stream carries into its next chunk, `state.h_n` and (LSTM) `state.c_n`, `[L][B][H]` as
//! PyTorch returns them.
//!
//! Metadata (strings): `format = blasrnn`, `blasrnn_version`, `task` (`classify` or `lm`),
//! `cell`, `layers`, `hidden`, `input`; a classifier's `steps`, `outputs`, `classes`, `readout`,
//! `class_names` (JSON), `input_shift` and `input_scale` (JSON, per input dimension) and, for
//! images, `pixel_scale`; a language model's `vocab` (its characters, in order); `iteration`,
//! `training` (the run's settings, JSON), `optimizer`, `optimizer_steps`. Tensors are stored in
//! the model's dtype (F64, or F32); either loads, into `f64` values.
//!
//! Writes are atomic and durable: a temporary file in the same directory, written and synced,
//! renamed over the target, then the directory synced. An interrupted save never leaves a broken
//! file where a good one was.

use crate::data::Norm;
use crate::data::text::Vocab;
use crate::error::FileError;
use crate::model::{Model, ModelConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::Readout;
use crate::nn::params::rnn_name;
use crate::optim::Optimizer;
use crate::real::{Dtype, Real};
use crate::train::TrainConfig;
use safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// What a model reads and what its outputs mean, beyond its shape.
#[derive(Debug, Clone, PartialEq)]
pub enum DataInfo {
    /// A classifier: how raw values become inputs, the classes' names, and whether it reads
    /// 8-bit images (MNIST).
    Classes {
        /// Per-dimension normalisation of the raw values.
        norm: Norm,
        /// Names of the classes, in output order.
        names: Vec<String>,
        /// Whether the inputs are image pixels (0..255 bytes).
        images: bool,
    },
    /// A language model's vocabulary.
    Text(Vocab),
}

/// A model read back from a file.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The model's shape.
    pub config: ModelConfig,
    /// What it reads.
    pub data: DataInfo,
    /// The parameters in [`Model`]'s flat layout (widened to `f64` when stored as F32).
    pub params: Vec<f64>,
    /// How the parameters were stored: F32 when every parameter tensor is F32, else F64.
    pub dtype: Dtype,
    /// Training iterations done when it was saved.
    pub iteration: usize,
    /// The settings of the run that saved it, when recorded.
    pub training: Option<TrainConfig>,
    /// The optimizer's name and update count, when its state was saved.
    pub optimizer: Option<(String, u64)>,
    /// The optimizer's buffers by name (`exp_avg`, …).
    pub optimizer_state: HashMap<String, Vec<f64>>,
    /// The state each text stream carries, per layer `[B][state_len]`, when saved.
    pub state: Option<Vec<Vec<f64>>>,
}

/// Everything [`save`] writes.
pub struct Snapshot<'a, T: Real> {
    /// The model (its shape and names).
    pub model: &'a Model<T>,
    /// Its parameters.
    pub params: &'a [T],
    /// What it reads.
    pub data: &'a DataInfo,
    /// Training iterations done.
    pub iteration: usize,
    /// The run's settings (for `--resume`).
    pub training: Option<&'a TrainConfig>,
    /// The optimizer (for `--resume`).
    pub optimizer: Option<&'a Optimizer<T>>,
    /// Text streams' carried state per layer `[B][state_len]` (for `--resume`).
    pub state: Option<&'a [Vec<T>]>,
}

/// Writes `bytes` to `path` atomically and durably: a temporary file in the same directory,
/// written and synced, renamed over `path`, then the directory synced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is.
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn to_bytes<T: Real>(v: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(std::mem::size_of_val(v));
    for &x in v {
        x.put_le(&mut out);
    }
    out
}

fn json<S: serde::Serialize>(v: &S) -> String {
    serde_json::to_string(v).expect("serialisable")
}

/// The metadata describing `config` and `data`.
fn describe(config: &ModelConfig, data: &DataInfo) -> Vec<(String, String)> {
    let mut m = vec![
        ("format", "blasrnn".to_string()),
        ("blasrnn_version", env!("CARGO_PKG_VERSION").to_string()),
        ("task", config.task.name().to_string()),
        ("cell", config.cell.name().to_string()),
        ("layers", config.layers.to_string()),
        ("hidden", config.hidden.to_string()),
        ("input", config.input.to_string()),
    ];
    if let Task::Classify {
        readout,
        steps,
        outputs,
        classes,
    } = config.task
    {
        m.push(("steps", steps.to_string()));
        m.push(("outputs", outputs.to_string()));
        m.push(("classes", classes.to_string()));
        m.push(("readout", readout.name().to_string()));
    }
    match data {
        DataInfo::Classes {
            norm,
            names,
            images,
        } => {
            m.push(("class_names", json(names)));
            m.push(("input_shift", json(&norm.shift)));
            m.push(("input_scale", json(&norm.scale)));
            if *images {
                let raw = norm.scale.first() == Some(&1.0);
                m.push(("pixel_scale", if raw { "1" } else { "1/255" }.to_string()));
            }
        }
        DataInfo::Text(vocab) => m.push(("vocab", vocab.as_string())),
    }
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Saves `snap` to `path`, atomically, as tensors of `T`'s dtype.
pub fn save<T: Real>(path: &Path, snap: &Snapshot<T>) -> Result<(), FileError> {
    let model = snap.model;
    let c = &model.config;
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (spec, range) in model.layout().iter() {
        tensors.push((
            spec.name.clone(),
            spec.shape.clone(),
            to_bytes(&snap.params[range]),
        ));
    }
    if c.cell == CellKind::Tanh {
        for l in 0..c.layers {
            let zero = vec![T::ZERO; c.hidden];
            tensors.push((rnn_name("bias_hh", l), vec![c.hidden], to_bytes(&zero)));
        }
    }
    let mut meta: HashMap<String, String> = describe(c, snap.data).into_iter().collect();
    meta.insert("iteration".into(), snap.iteration.to_string());
    if let Some(t) = snap.training {
        meta.insert("training".into(), json(t));
    }
    if let Some(opt) = snap.optimizer {
        let (named, steps) = opt.state();
        meta.insert("optimizer".into(), opt.kind().name().into());
        meta.insert("optimizer_steps".into(), steps.to_string());
        for (name, buf) in named {
            tensors.push((format!("optimizer.{name}"), vec![buf.len()], to_bytes(buf)));
        }
    }
    if let Some(state) = snap.state {
        let h = c.hidden;
        let sl = model.stack().state_len();
        let b = state.first().map_or(0, |s| s.len() / sl);
        let part = |off: usize| -> Vec<T> {
            state
                .iter()
                .flat_map(|s| {
                    s.chunks_exact(sl)
                        .flat_map(move |r| r[off..off + h].iter().copied())
                })
                .collect()
        };
        tensors.push(("state.h_n".into(), vec![c.layers, b, h], to_bytes(&part(0))));
        if sl == 2 * h {
            tensors.push(("state.c_n".into(), vec![c.layers, b, h], to_bytes(&part(h))));
        }
    }
    let format = |problem: String| FileError::format(path, problem);
    let views = tensors
        .iter()
        .map(|(n, shape, bytes)| {
            TensorView::new(st_dtype(T::DTYPE), shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| format(format!("cannot encode {n}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| format(format!("cannot encode the model: {e}")))?;
    write_atomic(path, &bytes).map_err(FileError::io_at(path))
}

/// The safetensors dtype that stores `d`.
fn st_dtype(d: Dtype) -> StDtype {
    match d {
        Dtype::F32 => StDtype::F32,
        Dtype::F64 => StDtype::F64,
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
    fn bad(&self, problem: String) -> FileError {
        FileError::format(self.path, problem)
    }

    fn get(&self, k: &str) -> Result<&str, FileError> {
        self.map
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| self.bad(format!("metadata lacks `{k}`")))
    }

    /// A whole number; a size (`positive`) may not be zero.
    fn num(&self, k: &str, positive: bool) -> Result<usize, FileError> {
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
    fn size(&self, k: &str, max: usize) -> Result<usize, FileError> {
        let n = self.num(k, true)?;
        if n > max {
            return Err(self.bad(format!("metadata `{k}` = {n} is larger than {max}")));
        }
        Ok(n)
    }

    fn json<V: serde::de::DeserializeOwned>(&self, k: &str) -> Result<V, FileError> {
        serde_json::from_str(self.get(k)?)
            .map_err(|e| self.bad(format!("metadata `{k}` is not valid: {e}")))
    }

    fn choice<V>(
        &self,
        k: &str,
        parse: fn(&str) -> Option<V>,
        expected: &str,
    ) -> Result<V, FileError> {
        let v = self.get(k)?;
        parse(v).ok_or_else(|| self.bad(format!("metadata `{k}` = {v:?}; expected {expected}")))
    }
}

/// The largest size a file may claim for one dimension of a model.
const MAX_DIM: usize = 1 << 20;

/// Loads a model saved by [`save`] (or by PyTorch with the same names and metadata), checking
/// every name, shape, dtype and metadata entry; says exactly what does not match.
pub fn load(path: &Path) -> Result<Checkpoint, FileError> {
    let bad = |problem: String| FileError::format(path, problem);
    if path.is_dir() {
        return Err(bad("is a directory, not a model file".into()));
    }
    let bytes = std::fs::read(path).map_err(FileError::io_at(path))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        bad(format!(
            "not a valid safetensors file (truncated or corrupted?): {e:?}"
        ))
    })?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a valid safetensors file: {e:?}")))?;
    let map = header.metadata().clone().ok_or_else(|| {
        bad("no metadata: not a blasrnn model (needs cell, hidden, readout, …)".into())
    })?;
    let meta = Meta { map: &map, path };
    if meta.get("format")? != "blasrnn" {
        return Err(bad(format!(
            "metadata `format` is {:?}, not \"blasrnn\"",
            meta.get("format")?
        )));
    }
    let cell = meta.choice("cell", CellKind::from_name, "tanh, lstm or gru")?;
    // Files of blasrnn 0.1 have no task and one layer.
    let task = map.get("task").map_or("classify", String::as_str);
    let layers = if map.contains_key("layers") {
        meta.size("layers", 64)?
    } else {
        1
    };
    let hidden = meta.size("hidden", MAX_DIM)?;
    let input = meta.size("input", MAX_DIM)?;
    let (task, data) = match task {
        "classify" => {
            let readout = meta.choice("readout", Readout::from_name, "seq, last or mean")?;
            let steps = meta.size("steps", MAX_DIM)?;
            let outputs = meta.size("outputs", MAX_DIM)?;
            let classes = meta.size("classes", MAX_DIM)?;
            let data = classes_info(&meta, input, classes)?;
            let task = Task::Classify {
                readout,
                steps,
                outputs,
                classes,
            };
            (task, data)
        }
        "lm" => {
            let vocab = Vocab::from_string(meta.get("vocab")?).ok_or_else(|| {
                bad("metadata `vocab` is not a list of distinct characters in order".into())
            })?;
            if vocab.len() != input {
                return Err(bad(format!(
                    "metadata `vocab` holds {} characters but `input` = {input}",
                    vocab.len()
                )));
            }
            (Task::NextToken, DataInfo::Text(vocab))
        }
        other => {
            return Err(bad(format!(
                "metadata `task` = {other:?}; expected classify or lm"
            )));
        }
    };
    let config = ModelConfig {
        cell,
        input,
        hidden,
        layers,
        task,
    };
    // The parameters' total size, before building anything of it.
    // The parameters must be in the file (4 bytes each at least): a header cannot make this
    // allocate much more than the file's size. (Below a million, the tensors' own checks say
    // more precisely what is missing.)
    let model: Model = Model::new(config);
    if model.num_params() > (bytes.len() / 4).max(1 << 20) {
        return Err(bad(format!(
            "the metadata describe {} parameters, more than the file's {} bytes can hold",
            model.num_params(),
            bytes.len()
        )));
    }
    let mut params = vec![0.0; model.num_params()];
    let mut problems = Vec::new();
    let mut all_f32 = true;
    let mut expected: Vec<String> = Vec::new();
    for (spec, range) in model.layout().iter() {
        expected.push(spec.name.clone());
        match st.tensor(&spec.name) {
            Err(_) => problems.push(format!(
                "missing tensor {} (shape {:?})",
                spec.name, spec.shape
            )),
            Ok(v) if v.shape() != spec.shape.as_slice() => problems.push(format!(
                "{}: shape {:?} in the file, {:?} expected for {} H={}",
                spec.name,
                v.shape(),
                spec.shape,
                cell.name(),
                hidden
            )),
            Ok(v) => match values(&v) {
                Some(vals) => {
                    all_f32 &= v.dtype() == StDtype::F32;
                    params[range].copy_from_slice(&vals)
                }
                None => problems.push(format!(
                    "{}: dtype {:?}, expected F64 or F32",
                    spec.name,
                    v.dtype()
                )),
            },
        }
    }
    if cell == CellKind::Tanh {
        // The seed's single bias: bias_ih + bias_hh.
        for l in 0..layers {
            let name = rnn_name("bias_hh", l);
            expected.push(name.clone());
            if let Ok(v) = st.tensor(&name) {
                match values(&v) {
                    Some(vals) if v.shape() == [hidden] => {
                        let b = model
                            .layout()
                            .range(&rnn_name("bias_ih", l))
                            .expect("tanh has bias_ih");
                        for (p, x) in params[b].iter_mut().zip(vals) {
                            *p += x;
                        }
                    }
                    _ => problems.push(format!(
                        "{name}: shape {:?} dtype {:?}, expected [{hidden}] F64 or F32",
                        v.shape(),
                        v.dtype(),
                    )),
                }
            }
        }
    }
    let mut optimizer_state = HashMap::new();
    let mut state_parts: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut batch = None;
    for name in st.names() {
        if let Some(opt_name) = name.strip_prefix("optimizer.") {
            match st.tensor(name).ok().as_ref().and_then(values) {
                Some(v) if v.len() == model.num_params() => {
                    optimizer_state.insert(opt_name.to_string(), v);
                }
                _ => problems.push(format!(
                    "{name:?}: expected {} F64 or F32 values",
                    model.num_params()
                )),
            }
        } else if let Some(part @ ("h_n" | "c_n")) = name.strip_prefix("state.") {
            let ok = task == Task::NextToken && (part == "h_n" || cell == CellKind::Lstm);
            match st.tensor(name) {
                Ok(v)
                    if ok
                        && v.shape().len() == 3
                        && v.shape()[0] == layers
                        && v.shape()[2] == hidden =>
                {
                    if *batch.get_or_insert(v.shape()[1]) != v.shape()[1] {
                        problems.push(format!(
                            "{name}: batch {} differs from the other state's",
                            v.shape()[1]
                        ));
                    }
                    match values(&v) {
                        Some(vals) => {
                            state_parts.insert(part, vals);
                        }
                        None => problems.push(format!(
                            "{name}: dtype {:?}, expected F64 or F32",
                            v.dtype()
                        )),
                    }
                }
                Ok(v) => problems.push(format!(
                    "{name}: shape {:?}, expected [{layers}, B, {hidden}] of a language model",
                    v.shape()
                )),
                Err(e) => problems.push(format!("{name}: {e:?}")),
            }
        } else if !expected.iter().any(|e| e == name) {
            problems.push(format!("unexpected tensor {name:?}"));
        }
    }
    let state = match (state_parts.remove("h_n"), state_parts.remove("c_n")) {
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
            problems.push(
                "state.h_n and state.c_n must both be saved for an LSTM (and only h_n otherwise)"
                    .into(),
            );
            None
        }
    };
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
    Ok(Checkpoint {
        config,
        data,
        params,
        dtype: if all_f32 { Dtype::F32 } else { Dtype::F64 },
        iteration: meta.num("iteration", false)?,
        training,
        optimizer,
        optimizer_state,
        state,
    })
}

/// A classifier's normalisation and class names: `input_shift`/`input_scale` and `class_names`
/// (JSON), or, in files of blasrnn 0.1, `pixel_scale` and the digits.
fn classes_info(meta: &Meta, input: usize, classes: usize) -> Result<DataInfo, FileError> {
    let images = meta.map.contains_key("pixel_scale");
    let norm = if meta.map.contains_key("input_scale") {
        let norm = Norm {
            shift: meta.json("input_shift")?,
            scale: meta.json("input_scale")?,
        };
        if norm.shift.len() != input || norm.scale.len() != input {
            return Err(meta.bad(format!(
                "metadata `input_shift` and `input_scale` must hold {input} numbers each"
            )));
        }
        if norm.shift.iter().chain(&norm.scale).any(|v| !v.is_finite()) {
            return Err(
                meta.bad("metadata `input_shift`/`input_scale` hold a non-finite number".into())
            );
        }
        norm
    } else {
        let scale = match meta.get("pixel_scale")? {
            "1" => 1.0,
            "1/255" => 1.0 / 255.0,
            other => {
                return Err(meta.bad(format!(
                    "metadata `pixel_scale` = {other:?}; expected 1/255 or 1"
                )));
            }
        };
        Norm::scaled(input, scale)
    };
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
