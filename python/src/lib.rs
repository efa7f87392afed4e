//! `blasrnn._core`: the engine for Python. Three ways to train (labelled sequences, a series, a
//! text), a fitted [`model::PyModel`] that predicts, forecasts, samples, saves and streams, and
//! the mapping of the engine's one error type onto Python's exceptions. The estimators in
//! `blasrnn/` are the public face; this module is theirs.

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

mod arrays;
mod model;
mod stream;
mod train;

/// The engine's error as the Python exception a caller expects: `OSError` for a file that
/// cannot be read or written, `RuntimeError` for a run that diverged or threads that would not
/// start, `ValueError` for everything about shapes, settings and data. The message is the
/// engine's one line, with its setting names turned into the estimators' parameters.
pub(crate) fn to_py(e: blasrnn::Error) -> PyErr {
    let message = parameters(&e.to_string());
    match e {
        blasrnn::Error::Io { .. } => PyOSError::new_err(message),
        blasrnn::Error::Diverged { .. } | blasrnn::Error::Threads { .. } => {
            PyRuntimeError::new_err(message)
        }
        _ => PyValueError::new_err(message),
    }
}

/// An engine message with each `` `setting` `` it names written as the estimators' parameter.
fn parameters(message: &str) -> String {
    const NAMES: [(&str, &str); 6] = [
        ("`lr`", "`learning_rate`"),
        ("`batch`", "`batch_size`"),
        ("`threads`", "`n_threads`"),
        ("`seed`", "`random_state`"),
        ("`iters`", "`max_iter`"),
        ("`validation`", "`validation_fraction`"),
    ];
    NAMES
        .iter()
        .fold(message.to_string(), |m, (engine, python)| {
            m.replace(engine, python)
        })
}

/// The BLAS the engine was built with and the kernels it runs (as `blasrnn bench` prints them).
#[pyfunction]
fn blas() -> String {
    let backend = blasrnn::blas::backend();
    match blasrnn::blas::config() {
        Some(config) => format!("{backend}: {config}"),
        None => backend.to_string(),
    }
}

/// The compiled core of the `blasrnn` package.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(blas, m)?)?;
    m.add_function(wrap_pyfunction!(train::fit_sequences, m)?)?;
    m.add_function(wrap_pyfunction!(train::fit_series, m)?)?;
    m.add_function(wrap_pyfunction!(train::fit_text, m)?)?;
    m.add_class::<model::PyModel>()?;
    m.add_class::<stream::PyStream>()?;
    Ok(())
}
