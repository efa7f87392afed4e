//! NumPy arrays in and out: a C-contiguous `(n, t, d)` array of float32 or float64 read in
//! place (no copy between NumPy and the engine's set), and results handed back as arrays.

use crate::to_py;
use blasrnn::SeqSet;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// `x`, `(n, t, d)` float32 or float64 in C order, with each sequence's length (`None`: all
/// `t`), as a set of sequences without targets.
pub fn sequences(
    x: &Bound<'_, PyAny>,
    lens: Option<Vec<usize>>,
    labels: Option<Vec<usize>>,
) -> PyResult<SeqSet> {
    let lens = lens.as_deref();
    let labels = labels.as_deref();
    if let Ok(a) = x.extract::<PyReadonlyArray3<f32>>() {
        let shape = shape(a.shape());
        let values = a.as_slice().map_err(not_contiguous)?;
        return SeqSet::from_arrays(values, shape, lens, labels).map_err(to_py);
    }
    if let Ok(a) = x.extract::<PyReadonlyArray3<f64>>() {
        let shape = shape(a.shape());
        let values = a.as_slice().map_err(not_contiguous)?;
        return SeqSet::from_arrays(values, shape, lens, labels).map_err(to_py);
    }
    Err(PyValueError::new_err(
        "X must be a 3-D array of float32 or float64: (n_cases, n_timepoints, n_channels)",
    ))
}

/// A 3-D array's shape as the engine's `[n, t, d]`.
fn shape(s: &[usize]) -> [usize; 3] {
    [s[0], s[1], s[2]]
}

fn not_contiguous(_: numpy::AsSliceError) -> PyErr {
    PyValueError::new_err("X must be C-contiguous")
}

/// `rows` of `k` numbers each as an `(rows, k)` float64 array.
pub fn matrix<'py>(py: Python<'py>, values: Vec<f64>, k: usize) -> PyResult<Bound<'py, PyAny>> {
    let rows = values.len().checked_div(k).unwrap_or(0);
    Ok(PyArray1::from_vec(py, values)
        .reshape([rows, k])?
        .into_any())
}
