//! A fitted model for Python: what it predicts and reads, its answers for arrays of sequences
//! (computed without the GIL), a series' next steps, text drawn from a language model, its
//! stream, and its bytes — the safetensors file the command line writes and reads.

use crate::stream::PyStream;
use crate::{arrays, to_py};
use blasrnn::data::DataInfo;
use blasrnn::{Model, SampleOptions, Series, Task};
use numpy::{PyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use std::sync::Arc;

/// A trained model (shared with its streams).
#[pyclass(name = "Model", module = "blasrnn._core", frozen)]
pub struct PyModel {
    pub(crate) model: Arc<Model>,
}

impl PyModel {
    /// A trained model, for Python.
    pub fn of(model: Model) -> PyModel {
        PyModel {
            model: Arc::new(model),
        }
    }
}

#[pymethods]
impl PyModel {
    /// Reads a model file (`blasrnn train --save`, `Model.save`).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
        py.detach(|| Model::load(&path))
            .map(PyModel::of)
            .map_err(to_py)
    }

    /// A model from the bytes of a model file.
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<PyModel> {
        Model::from_bytes(bytes).map(PyModel::of).map_err(to_py)
    }

    /// Writes the model file (safetensors), atomically.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.model.save(&path)).map_err(to_py)
    }

    /// The bytes of the model file.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.model.to_bytes().map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// What it predicts: `"classes"` (a class per sequence), `"values"` (numbers per
    /// sequence), `"series"` (a series' next steps), `"steps"` (a class per step) or `"text"`.
    #[getter]
    fn task(&self) -> &'static str {
        match (self.model.task(), self.model.info()) {
            (Task::Classify { .. }, _) => "classes",
            (Task::Regress { .. }, DataInfo::Series { .. }) => "series",
            (Task::Regress { .. }, _) => "values",
            (Task::Tag { .. }, _) => "steps",
            (Task::NextToken, _) => "text",
        }
    }

    /// The classes' names, in the order of `predict`'s columns.
    #[getter]
    fn classes(&self) -> Option<Vec<String>> {
        self.model.classes().map(<[String]>::to_vec)
    }

    /// The names of the numbers a regression predicts, or a series' columns.
    #[getter]
    fn names(&self) -> Option<Vec<String>> {
        match self.model.info() {
            DataInfo::Values { names, .. } => Some(names.clone()),
            DataInfo::Series { columns, .. } => Some(columns.clone()),
            _ => None,
        }
    }

    /// Numbers a step of a sequence (the channels), or `None` for a language model.
    #[getter]
    fn n_features(&self) -> Option<usize> {
        self.model.info().norm().map(|n| n.shift.len())
    }

    /// A forecaster's `(window, horizon, target column)`.
    #[getter]
    fn forecasting(&self) -> Option<(usize, usize, usize)> {
        match self.model.info() {
            DataInfo::Series { window, target, .. } => {
                let horizon = self.model.info().target_norm().map_or(0, |t| t.shift.len());
                Some((*window, horizon, *target))
            }
            _ => None,
        }
    }

    /// The settings of the run that trained it, as JSON (`None` when the file has none).
    #[getter]
    fn training(&self) -> Option<String> {
        self.model
            .training()
            .and_then(|t| serde_json::to_string(t).ok())
    }

    /// Training iterations done.
    #[getter]
    fn iteration(&self) -> usize {
        self.model.iteration()
    }

    /// Parameters.
    #[getter]
    fn num_params(&self) -> usize {
        self.model.num_params()
    }

    /// Every parameter, in the engine's flat layout, as float64.
    fn params<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.model.params())
    }

    /// For `x` `(n, t, d)` (each sequence `lens[i]` steps long): the probability of each class
    /// `(n, K)`, or the numbers predicted `(n, k)`.
    #[pyo3(signature = (x, lens=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        lens: Option<Vec<usize>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let set = arrays::sequences(x, lens, None)?;
        let model = &*self.model;
        let (values, k) = py
            .detach(|| -> blasrnn::Result<_> {
                match model.task() {
                    Task::Classify { classes, .. } => {
                        let p = model.classify(&set)?;
                        Ok((
                            p.into_iter().flat_map(|p| p.probabilities).collect(),
                            classes,
                        ))
                    }
                    Task::Regress { targets, .. } => {
                        let v = model.regress_at(&set, 0..set.len())?;
                        Ok((v.into_iter().flatten().collect(), targets))
                    }
                    other => Err(blasrnn::Error::Task(format!(
                        "the model predicts {}: not one answer per sequence",
                        other.answers()
                    ))),
                }
            })
            .map_err(to_py)?;
        arrays::matrix(py, values, k)
    }

    /// A forecaster's next `horizon` values after the end of `recent` `(n, c)` (the series'
    /// columns, at least its window of steps).
    fn forecast<'py>(
        &self,
        py: Python<'py>,
        recent: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let Some(columns) = self.names().filter(|_| self.task() == "series") else {
            return Err(PyValueError::new_err("the model is not a forecaster"));
        };
        if recent.shape()[1] != columns.len() {
            return Err(PyValueError::new_err(format!(
                "the series has {} columns; the model reads {}",
                recent.shape()[1],
                columns.len()
            )));
        }
        let series = Series {
            path: "(series)".into(),
            columns,
            values: recent.as_array().iter().copied().collect(),
        };
        let model = &*self.model;
        let next = py.detach(|| model.forecast(&series)).map_err(to_py)?;
        Ok(PyArray1::from_vec(py, next))
    }

    /// `length` characters drawn after `prime` from a language model.
    #[pyo3(signature = (prime, length, temperature=1.0, top_k=None, seed=1))]
    fn sample(
        &self,
        py: Python<'_>,
        prime: &str,
        length: usize,
        temperature: f64,
        top_k: Option<usize>,
        seed: u64,
    ) -> PyResult<String> {
        let options = SampleOptions {
            temperature,
            top_k,
            seed,
            ..SampleOptions::default()
        };
        let model = &*self.model;
        py.detach(|| model.sample(prime, length, &options))
            .map_err(to_py)
    }

    /// A stream: one step at a time, the state carried.
    fn stream(&self) -> PyResult<PyStream> {
        PyStream::of(Arc::clone(&self.model))
    }
}
