//! Saving and loading models in the safetensors format, with PyTorch's parameter names.
//!
//! Tensors: every parameter under its PyTorch name — `rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`,
//! `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}` for each layer k, then `out.weight`, `out.bias` (the
//! seed readout's output layer, or a language model's Linear(H, V)) and `classifier.weight`,
//! `classifier.bias` — so that a module of `torch.nn.RNN/LSTM/GRU(num_layers=L)` (`rnn`) and
//! `nn.Linear` layers (`out`, `classifier`) loads them. The seed's tanh cell has one hidden bias:
//! it is saved as `bias_ih` with a zero `bias_hh`, and on load the two are added (so a
//! PyTorch-trained `nn.RNN` loads too). What resuming a run needs sits beside: the optimizer's state
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

mod load;
mod meta;

pub use load::{decode, load};

use crate::config::TrainConfig;
use crate::data::DataInfo;
use crate::error::Error;
use crate::network::{Network, NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::params::rnn_name;
use crate::optim::Optimizer;
use crate::real::{Dtype, Real};
use safetensors::tensor::{Dtype as StDtype, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The best a run's validation part has seen (early stopping): what a checkpoint keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    /// The iteration (counted from 1) whose parameters are kept.
    pub iteration: usize,
    /// Their loss on the validation part.
    pub loss: f64,
}

/// A model read back from a file.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The file it was read from.
    pub path: PathBuf,
    /// The model's shape.
    pub config: NetworkConfig,
    /// What it reads.
    pub data: DataInfo,
    /// The parameters in [`Network`]'s flat layout (widened to `f64` when stored as F32).
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
    /// A run with a validation part: the parameters it continues from (`params` holds the
    /// kept ones, its best on the validation part) and when that best was.
    pub resume: Option<(Vec<f64>, Best)>,
}

/// Everything [`save`] writes.
pub struct Snapshot<'a, T: Real> {
    /// The model (its shape and names).
    pub model: &'a Network<T>,
    /// Its parameters.
    pub params: &'a [T],
    /// What it reads.
    pub data: &'a DataInfo,
    /// Training iterations done.
    pub iteration: usize,
    /// The run's settings (for resuming the run).
    pub training: Option<&'a TrainConfig>,
    /// The optimizer (for resuming the run).
    pub optimizer: Option<&'a Optimizer<T>>,
    /// Text streams' carried state per layer `[B][state_len]` (for resuming the run).
    pub state: Option<&'a [Vec<T>]>,
    /// A run with a validation part: the parameters it continues from, when `params` are the
    /// kept ones (its best on the validation part, of the iteration and loss given).
    pub resume: Option<(&'a [T], Best)>,
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
fn describe(config: &NetworkConfig, data: &DataInfo) -> Vec<(String, String)> {
    let mut m = vec![
        ("format", "blasrnn".to_string()),
        ("blasrnn_version", env!("CARGO_PKG_VERSION").to_string()),
        ("task", config.task.name().to_string()),
        ("cell", config.cell.name().to_string()),
        ("layers", config.layers.to_string()),
        ("hidden", config.hidden.to_string()),
        ("input", config.input.to_string()),
        ("bidirectional", config.bidirectional.to_string()),
        ("patch", config.patch.to_string()),
    ];
    match config.task {
        Task::Classify {
            readout,
            steps,
            outputs,
            classes,
        } => {
            m.push(("steps", steps.to_string()));
            m.push(("outputs", outputs.to_string()));
            m.push(("classes", classes.to_string()));
            m.push(("readout", readout.name().to_string()));
        }
        Task::Regress {
            readout,
            steps,
            outputs,
            targets,
            loss,
        } => {
            m.push(("steps", steps.to_string()));
            m.push(("outputs", outputs.to_string()));
            m.push(("targets", targets.to_string()));
            m.push(("readout", readout.name().to_string()));
            m.push(("loss", loss.name().to_string()));
        }
        Task::Tag { steps, classes } => {
            m.push(("steps", steps.to_string()));
            m.push(("classes", classes.to_string()));
        }
        Task::NextToken => {}
    }
    if let Some(norm) = data.norm() {
        m.push(("input_shift", json(&norm.shift)));
        m.push(("input_scale", json(&norm.scale)));
    }
    if let Some(t) = data.target_norm() {
        m.push(("target_shift", json(&t.shift)));
        m.push(("target_scale", json(&t.scale)));
    }
    match data {
        DataInfo::Classes {
            norm,
            names,
            images,
        } => {
            m.push(("class_names", json(names)));
            if *images {
                let raw = norm.scale.first() == Some(&1.0);
                m.push(("pixel_scale", if raw { "1" } else { "1/255" }.to_string()));
            }
        }
        DataInfo::Values { names, .. } => m.push(("target_names", json(names))),
        DataInfo::Series {
            columns,
            target,
            window,
            test_len,
            seasonal,
            ..
        } => {
            m.push(("columns", json(columns)));
            m.push(("target_column", target.to_string()));
            m.push(("window", window.to_string()));
            m.push(("test_len", test_len.to_string()));
            if let Some(season) = seasonal {
                m.push(("seasonal", season.to_string()));
            }
        }
        DataInfo::Text(vocab) => m.push(("vocab", vocab.as_string())),
    }
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Saves `snap` to `path`, atomically, as tensors of `T`'s dtype.
pub fn save<T: Real>(path: &Path, snap: &Snapshot<T>) -> Result<(), Error> {
    let bytes = encode(snap, path)?;
    write_atomic(path, &bytes).map_err(Error::io_at(path))
}

/// The bytes of the file [`save`] writes for `snap` (a safetensors file); an error names
/// `name`.
///
/// # Errors
/// [`Error::Format`] when a tensor cannot be encoded.
pub fn encode<T: Real>(snap: &Snapshot<T>, name: &Path) -> Result<Vec<u8>, Error> {
    let path = name;
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
        for id in model.stack().cells() {
            let zero = vec![T::ZERO; c.hidden];
            tensors.push((rnn_name("bias_hh", id), vec![c.hidden], to_bytes(&zero)));
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
    if let Some((current, best)) = snap.resume {
        tensors.push((
            "resume.params".into(),
            vec![current.len()],
            to_bytes(current),
        ));
        meta.insert("best_iteration".into(), best.iteration.to_string());
        meta.insert("best_loss".into(), best.loss.to_string());
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
    let format = |problem: String| Error::format(path, problem);
    let views = tensors
        .iter()
        .map(|(n, shape, bytes)| {
            TensorView::new(st_dtype(T::DTYPE), shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| format(format!("cannot encode {n}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, Some(meta))
        .map_err(|e| format(format!("cannot encode the model: {e}")))
}

/// The safetensors dtype that stores `d`.
fn st_dtype(d: Dtype) -> StDtype {
    match d {
        Dtype::F32 => StDtype::F32,
        Dtype::F64 => StDtype::F64,
    }
}
