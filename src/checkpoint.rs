//! Saving and loading models in the safetensors format, with PyTorch's parameter names.
//!
//! Tensors: every parameter under its PyTorch name (`rnn.weight_ih_l0`, `rnn.weight_hh_l0`,
//! `rnn.bias_ih_l0`, `rnn.bias_hh_l0`, `out.weight`, `out.bias`, `classifier.weight`,
//! `classifier.bias`) as F64, so that a module made of `torch.nn.RNN/LSTM/GRU` (`rnn`), a
//! `Linear(H, O)` (`out`, seed readout only) and a `Linear(T·O or H, 10)` (`classifier`) loads
//! them. The seed's tanh cell has one hidden bias: it is saved as `bias_ih` with a zero `bias_hh`,
//! and on load the two are added (so a PyTorch-trained `nn.RNN` loads too). The optimizer's state,
//! when saved, sits under `optimizer.<name>` (flat, parameter order).
//!
//! Metadata (strings): `format = blasrnn`, `blasrnn_version`, `cell`, `hidden`, `input`, `steps`,
//! `outputs`, `classes`, `readout`, `pixel_scale` (`1/255` or `1` for raw pixels), `iteration`,
//! `optimizer`, `optimizer_steps`. Tensors are stored in the model's dtype (F64, or F32 for a
//! model trained with `--dtype f32`); either loads, into `f64` values ([`Checkpoint::dtype`]
//! says which it was).
//!
//! Writes go to a temporary file in the same directory, then a rename: an interrupted save never
//! leaves a broken file where a good one was.

use crate::cell::CellKind;
use crate::head::Readout;
use crate::model::{Model, ModelConfig};
use crate::optim::Optimizer;
use crate::real::{Dtype, Real};
use safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What went wrong saving or loading a model; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid blasrnn model, or does not match what was asked.
    #[error("{path}: {problem}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
}

/// A model read back from a file.
pub struct Checkpoint {
    /// The model's shape.
    pub config: ModelConfig,
    /// Whether the model was trained on raw 0..255 pixels.
    pub raw_pixels: bool,
    /// The parameters in [`Model`]'s flat layout (widened to `f64` when stored as F32).
    pub params: Vec<f64>,
    /// How the parameters were stored: F32 when every parameter tensor is F32, else F64.
    pub dtype: Dtype,
    /// Training iterations done when it was saved.
    pub iteration: usize,
    /// The optimizer's name and update count, when its state was saved.
    pub optimizer: Option<(String, u64)>,
    /// The optimizer's buffers by name (`exp_avg`, …).
    pub optimizer_state: HashMap<String, Vec<f64>>,
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
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
        std::fs::rename(&tmp, path)
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

/// Saves `params` of `model` (and the optimizer's state, if given) to `path`, atomically, as
/// tensors of `T`'s dtype.
pub fn save<T: Real>(
    path: &Path,
    model: &Model<T>,
    params: &[T],
    raw_pixels: bool,
    iteration: usize,
    optimizer: Option<&Optimizer<T>>,
) -> Result<(), CheckpointError> {
    let c = &model.config;
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (spec, &off) in model.specs().iter().zip(model.offsets()) {
        tensors.push((
            spec.name.clone(),
            spec.shape.clone(),
            to_bytes(&params[off..off + spec.len()]),
        ));
    }
    if c.cell == CellKind::Tanh {
        tensors.push((
            "rnn.bias_hh_l0".into(),
            vec![c.hidden],
            to_bytes(&vec![T::ZERO; c.hidden]),
        ));
    }
    let mut meta: HashMap<String, String> = [
        ("format", "blasrnn".to_string()),
        ("blasrnn_version", env!("CARGO_PKG_VERSION").to_string()),
        ("cell", c.cell.name().to_string()),
        ("hidden", c.hidden.to_string()),
        ("input", c.input.to_string()),
        ("steps", c.steps.to_string()),
        ("outputs", c.outputs.to_string()),
        ("classes", c.classes.to_string()),
        ("readout", c.readout.name().to_string()),
        (
            "pixel_scale",
            if raw_pixels { "1" } else { "1/255" }.to_string(),
        ),
        ("iteration", iteration.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(opt) = optimizer {
        let (named, steps) = opt.state();
        meta.insert("optimizer".into(), opt.kind().name().into());
        meta.insert("optimizer_steps".into(), steps.to_string());
        for (name, buf) in named {
            tensors.push((format!("optimizer.{name}"), vec![buf.len()], to_bytes(buf)));
        }
    }
    let format = |problem: String| CheckpointError::Format {
        path: path.to_path_buf(),
        problem,
    };
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
    write_atomic(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
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

/// Loads a model saved by [`save`] (or by PyTorch with the same names and metadata), checking
/// every name, shape, dtype and metadata entry; says exactly what does not match.
pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let bad = |problem: String| CheckpointError::Format {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        bad(format!(
            "not a valid safetensors file (truncated or corrupted?): {e:?}"
        ))
    })?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a valid safetensors file: {e:?}")))?;
    let meta = header.metadata().clone().ok_or_else(|| {
        bad("no metadata: not a blasrnn model (needs cell, hidden, readout, …)".into())
    })?;
    let get = |k: &str| {
        meta.get(k)
            .map(String::as_str)
            .ok_or_else(|| bad(format!("metadata lacks `{k}`")))
    };
    // Counts may be zero; sizes may not.
    let num = |k: &str| -> Result<usize, CheckpointError> {
        let v = get(k)?;
        let count = k == "iteration" || k == "optimizer_steps";
        v.parse().ok().filter(|&n| n > 0 || count).ok_or_else(|| {
            bad(format!(
                "metadata `{k}` = {v:?} is not a positive whole number"
            ))
        })
    };
    if get("format")? != "blasrnn" {
        return Err(bad(format!(
            "metadata `format` is {:?}, not \"blasrnn\"",
            get("format")?
        )));
    }
    let cell = match get("cell")? {
        "tanh" => CellKind::Tanh,
        "lstm" => CellKind::Lstm,
        "gru" => CellKind::Gru,
        other => {
            return Err(bad(format!(
                "metadata `cell` = {other:?}; expected tanh, lstm or gru"
            )));
        }
    };
    let readout = match get("readout")? {
        "seq" => Readout::Seq,
        "last" => Readout::Last,
        other => {
            return Err(bad(format!(
                "metadata `readout` = {other:?}; expected seq or last"
            )));
        }
    };
    let raw_pixels = match get("pixel_scale")? {
        "1" => true,
        "1/255" => false,
        other => {
            return Err(bad(format!(
                "metadata `pixel_scale` = {other:?}; expected 1/255 or 1"
            )));
        }
    };
    let config = ModelConfig {
        cell,
        input: num("input")?,
        steps: num("steps")?,
        hidden: num("hidden")?,
        outputs: num("outputs")?,
        classes: num("classes")?,
        readout,
    };
    if config.classes != crate::mnist::CLASSES {
        return Err(bad(format!(
            "metadata `classes` = {}, expected {}",
            config.classes,
            crate::mnist::CLASSES
        )));
    }
    let model: Model = Model::new(config);
    let mut params = vec![0.0; model.num_params()];
    let mut problems = Vec::new();
    let mut all_f32 = true;
    let mut expected: Vec<String> = Vec::new();
    for (spec, &off) in model.specs().iter().zip(model.offsets()) {
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
                config.hidden
            )),
            Ok(v) => match values(&v) {
                Some(vals) => {
                    all_f32 &= v.dtype() == StDtype::F32;
                    params[off..off + spec.len()].copy_from_slice(&vals)
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
        expected.push("rnn.bias_hh_l0".into());
        if let Ok(v) = st.tensor("rnn.bias_hh_l0") {
            match values(&v) {
                Some(vals) if v.shape() == [config.hidden] => {
                    let b = model
                        .view_range("rnn.bias_ih_l0")
                        .expect("tanh has bias_ih");
                    for (p, x) in params[b].iter_mut().zip(vals) {
                        *p += x;
                    }
                }
                _ => problems.push(format!(
                    "rnn.bias_hh_l0: shape {:?} dtype {:?}, expected [{}] F64 or F32",
                    v.shape(),
                    v.dtype(),
                    config.hidden
                )),
            }
        }
    }
    let mut optimizer_state = HashMap::new();
    for name in st.names() {
        if let Some(opt_name) = name.strip_prefix("optimizer.") {
            match st.tensor(name).ok().as_ref().and_then(values) {
                Some(v) if v.len() == model.num_params() => {
                    optimizer_state.insert(opt_name.to_string(), v);
                }
                _ => problems.push(format!(
                    "{name}: expected {} F64 or F32 values",
                    model.num_params()
                )),
            }
        } else if !expected.iter().any(|e| e == name) {
            problems.push(format!("unexpected tensor {name}"));
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(bad(problems.join("; ")));
    }
    let optimizer = match meta.get("optimizer") {
        Some(kind) => Some((kind.clone(), num("optimizer_steps")? as u64)),
        None => None,
    };
    Ok(Checkpoint {
        config,
        raw_pixels,
        params,
        dtype: if all_f32 { Dtype::F32 } else { Dtype::F64 },
        iteration: num("iteration")?,
        optimizer,
        optimizer_state,
    })
}
