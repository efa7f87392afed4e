//! Reading a checkpoint back, in named parts: the header and metadata, the model's shape and
//! what it reads ([`config`], in `meta.rs`), its parameters ([`params`]), the optimizer's state
//! ([`optimizer`]) and the streams' carried state ([`state`]). Every part adds what does not
//! match to one list of problems, so that a file's error says everything wrong at once; a tensor
//! that no part claims is one of them.

use super::Best;
use super::Checkpoint;
use super::meta::{Meta, config};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::network::{Network, NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::params::rnn_name;
use crate::real::Dtype;
use safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};
use std::collections::{HashMap, HashSet};
use std::path::Path;

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
