//! Training from Python: a data set made of the caller's arrays (or series, or text), the run
//! the command line would make of the same settings ([`TrainConfig::with_overrides`]), trained
//! on a thread of its own while the calling thread waits without the GIL — so that other Python
//! threads run — and, every 50 ms, hands reports to the caller's callback and checks for
//! Ctrl-C, which stops the run after the step in progress.

use crate::model::PyModel;
use crate::{arrays, to_py};
use blasrnn::config::Overrides;
use blasrnn::data::Labelled;
use blasrnn::data::series::Forecasting;
use blasrnn::{
    Control, Cut, Dataset, Event, Model, Report, RunOptions, Series, TrainConfig, Training,
};
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// What a fit hands back: the model, one report per interval (as dicts), the iteration whose
/// parameters were kept (with a validation part), and the exception that stopped the run early
/// (Ctrl-C, or one the callback raised), for the caller to raise once it has kept the model.
type Fitted = (PyModel, Vec<Py<PyDict>>, Option<usize>, Option<Py<PyAny>>);

/// Trains on labelled sequences: `x` `(n, t, d)` with each sequence's length, and either class
/// indices `labels` (named `names`) or `values` (`n·k` numbers, `k` = `names.len()`, named
/// `names`).
#[pyfunction]
#[pyo3(signature = (x, lens, labels, values, names, settings, on_report=None))]
#[allow(clippy::too_many_arguments)]
pub fn fit_sequences(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    lens: Option<Vec<usize>>,
    labels: Option<Vec<usize>>,
    values: Option<Vec<f64>>,
    names: Vec<String>,
    settings: &Bound<'_, PyDict>,
    on_report: Option<Bound<'_, PyAny>>,
) -> PyResult<Fitted> {
    let overrides = overrides(settings)?;
    let classes = labels.is_some();
    let set = arrays::sequences(x, lens, labels)?;
    let set = match values {
        Some(v) if !classes => {
            let k = names.len();
            set.with_values(v, k, names).map_err(to_py)?
        }
        None if classes => set.with_class_names(names).map_err(to_py)?,
        _ => {
            return Err(PyValueError::new_err(
                "give either class labels or target values",
            ));
        }
    };
    // The run never evaluates a held-out part: one sequence stands in for it.
    let test = set.subset(&[0]);
    let data = Dataset::Labelled(Labelled::new(set, test).map_err(to_py)?);
    train(py, &data, &overrides, on_report)
}

/// Trains a forecaster on a series: `values` `(n, c)`, its columns named `columns`, cut for
/// `horizon` steps ahead; each setting of the cut left `None` is chosen by its rule.
#[pyfunction]
#[pyo3(signature = (values, columns, horizon, target, window, season, test_len, residual, settings, on_report=None))]
#[allow(clippy::too_many_arguments)]
pub fn fit_series(
    py: Python<'_>,
    values: PyReadonlyArray2<'_, f64>,
    columns: Vec<String>,
    horizon: usize,
    target: Option<String>,
    window: Option<usize>,
    season: Option<usize>,
    test_len: Option<usize>,
    residual: Option<bool>,
    settings: &Bound<'_, PyDict>,
    on_report: Option<Bound<'_, PyAny>>,
) -> PyResult<Fitted> {
    let overrides = overrides(settings)?;
    if values.shape()[1] != columns.len() {
        return Err(PyValueError::new_err(format!(
            "{} column names for a series of {} columns",
            columns.len(),
            values.shape()[1]
        )));
    }
    let series = Series {
        path: "(series)".into(),
        columns,
        values: values.as_array().iter().copied().collect(),
    };
    if let Some(i) = series.values.iter().position(|v| !v.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "the series holds {} at step {} (column {})",
            series.values[i],
            i / series.columns.len(),
            i % series.columns.len()
        )));
    }
    let cut = Cut {
        target,
        window,
        horizon,
        test_len,
        season,
        residual,
    };
    let data = Dataset::Series(Forecasting::new(&series, &cut).map_err(to_py)?);
    train(py, &data, &overrides, on_report)
}

/// Trains a character-level language model on `text`, its last `validation` fraction held out.
#[pyfunction]
#[pyo3(signature = (text, validation, settings, on_report=None))]
pub fn fit_text(
    py: Python<'_>,
    text: &str,
    validation: f64,
    settings: &Bound<'_, PyDict>,
    on_report: Option<Bound<'_, PyAny>>,
) -> PyResult<Fitted> {
    let overrides = overrides(settings)?;
    let data = Dataset::from_text(text, validation).map_err(to_py)?;
    train(py, &data, &overrides, on_report)
}

/// Trains the run `overrides` asks for on `data` (see the module's description).
fn train(
    py: Python<'_>,
    data: &Dataset,
    overrides: &Overrides,
    on_report: Option<Bound<'_, PyAny>>,
) -> PyResult<Fitted> {
    let config = TrainConfig::with_overrides(data, overrides).map_err(to_py)?;
    let options = RunOptions {
        log_every: match config.time_budget {
            Some(_) => 100,
            None => (config.iters / 20).max(1),
        },
        ..RunOptions::default()
    };
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Report>();
    let mut reports = Vec::new();
    let mut stopped_by: Option<PyErr> = None;
    let (config, stop_ref) = (&config, &stop);
    let result = std::thread::scope(|s| {
        let worker = s.spawn(move || -> blasrnn::Result<_> {
            let mut run = Training::new(config, data)?;
            let outcome = run.run(&options, |event| {
                if let Event::Report(r) = event {
                    // The receiver outlives the run: a send cannot fail.
                    tx.send((*r).clone()).ok();
                }
                match stop_ref.load(Ordering::Relaxed) {
                    true => Control::Stop,
                    false => Control::Continue,
                }
            })?;
            outcome.ending.diverged()?;
            Ok((run.model(), outcome.done, outcome.best.map(|b| b.iteration)))
        });
        let mut rx = rx;
        loop {
            let (back, got) = py.detach(move || {
                let got = rx.recv_timeout(Duration::from_millis(50));
                (rx, got)
            });
            rx = back;
            match got {
                Ok(report) => {
                    if let Some(callback) = &on_report
                        && stopped_by.is_none()
                        && let Err(e) =
                            report_dict(py, &report).and_then(|d| callback.call1((d,)).map(drop))
                    {
                        stopped_by = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                    reports.push(report);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if stopped_by.is_none()
                && let Err(e) = py.check_signals()
            {
                stopped_by = Some(e);
                stop.store(true, Ordering::Relaxed);
            }
        }
        worker.join()
    });
    let (model, _done, best): (Model, usize, Option<usize>) = result
        .map_err(|_| PyRuntimeError::new_err("the training thread panicked"))?
        .map_err(to_py)?;
    let history = reports
        .iter()
        .map(|r| report_dict(py, r).map(Bound::unbind))
        .collect::<PyResult<_>>()?;
    let stopped_by = stopped_by.map(|e| e.into_value(py).into_any());
    Ok((PyModel::of(model), history, best, stopped_by))
}

/// A report as a dict: `iteration`, `loss` (the interval's mean training loss), `accuracy` (of
/// its batches, for classes), `validation_loss`, `learning_rate`, `seconds` (of training so
/// far) and `rate` (samples or characters a second).
fn report_dict<'py>(py: Python<'py>, r: &Report) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("iteration", r.iteration)?;
    d.set_item("loss", r.loss)?;
    d.set_item("accuracy", r.batch_accuracy)?;
    d.set_item("validation_loss", r.validation_loss)?;
    d.set_item("learning_rate", r.lr)?;
    d.set_item("seconds", r.elapsed_seconds)?;
    d.set_item("rate", r.rate)?;
    Ok(d)
}

/// The estimators' settings (a dict of their parameters' engine names, `None` for a rule) as
/// the engine's [`Overrides`].
fn overrides(settings: &Bound<'_, PyDict>) -> PyResult<Overrides> {
    let mut o = Overrides::default();
    for (key, value) in settings.iter() {
        if value.is_none() {
            continue;
        }
        let key: String = key.extract()?;
        let named = |v: &Bound<'_, PyAny>| -> PyResult<String> { v.extract() };
        match key.as_str() {
            "cell" => o.cell = Some(named(&value)?.parse().map_err(choice)?),
            "readout" => o.readout = Some(named(&value)?.parse().map_err(choice)?),
            "loss" => o.loss = Some(named(&value)?.parse().map_err(choice)?),
            "optimizer" => o.optimizer = Some(named(&value)?.parse().map_err(choice)?),
            "dtype" => o.dtype = Some(named(&value)?.parse().map_err(choice)?),
            "bidirectional" => o.bidirectional = value.extract()?,
            "hidden" => o.hidden = Some(count(&value, "hidden")?),
            "layers" => o.layers = Some(count(&value, "layers")?),
            "patch" => o.patch = Some(count(&value, "patch")?),
            "epochs" => o.epochs = Some(count(&value, "epochs")?),
            "max_iter" => o.iters = Some(count(&value, "max_iter")?),
            "batch_size" => o.batch = Some(count(&value, "batch_size")?),
            "seq_len" => o.seq_len = Some(count(&value, "seq_len")?),
            "warmup" => o.warmup = Some(count(&value, "warmup")?),
            "n_threads" => o.threads = Some(count(&value, "n_threads")?),
            "random_state" => o.seed = Some(value.extract()?),
            "time_budget" => o.time_budget = Some(value.extract()?),
            "learning_rate" => o.lr = Some(value.extract()?),
            "dropout" => o.dropout = Some(value.extract()?),
            "output_dropout" => o.output_dropout = Some(value.extract()?),
            "validation_fraction" => o.validation = Some(value.extract()?),
            other => {
                return Err(PyValueError::new_err(format!("unknown setting {other:?}")));
            }
        }
    }
    Ok(o)
}

/// A whole number of at least 1 for the setting `name`.
fn count(v: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    match v.extract::<i64>() {
        Ok(n) if n >= 1 => Ok(n as usize),
        _ => Err(PyValueError::new_err(format!(
            "`{name}` must be a whole number of at least 1, not {v}"
        ))),
    }
}

/// An unknown name of a choice (a cell, a readout, …) as a `ValueError` that lists the known.
fn choice(e: blasrnn::choice::UnknownName) -> PyErr {
    PyValueError::new_err(e.to_string())
}
