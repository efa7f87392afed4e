//! A model's stream for Python: frames pushed one at a time, the state carried in Rust, no
//! allocation per step. The stream borrows its model; the two live together in one object.

use crate::to_py;
use blasrnn::stream::Output;
use blasrnn::{Model, Stream};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Arc;

self_cell::self_cell!(
    /// A model and its stream.
    struct Live {
        owner: Arc<Model>,
        #[not_covariant]
        dependent: Stream,
    }
);

/// A model's stream: `push` one step of `n_features` numbers, get the answer so far.
#[pyclass(name = "Stream", module = "blasrnn._core")]
pub struct PyStream {
    live: Live,
    /// The answer of the last push: the class probabilities, or the numbers.
    answer: Vec<f64>,
    /// The class of the last answer, for a classifier.
    class: Option<usize>,
}

impl PyStream {
    /// A stream of `model`, from the start of a sequence.
    pub fn of(model: Arc<Model>) -> PyResult<PyStream> {
        let live = Live::try_new(model, |m| m.stream()).map_err(to_py)?;
        Ok(PyStream {
            live,
            answer: Vec::new(),
            class: None,
        })
    }
}

/// What a push answers: the class (a classifier) or `None`, and the numbers (the class
/// probabilities, or the values predicted).
type Answer<'py> = (Option<usize>, Bound<'py, PyArray1<f64>>);

#[pymethods]
impl PyStream {
    /// Feeds one step (`n_features` raw numbers). Returns `None` while the model has no answer
    /// (inside a patch), else `(class, probabilities)` for a classifier or `(None, numbers)`.
    fn push<'py>(
        &mut self,
        py: Python<'py>,
        frame: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Option<Answer<'py>>> {
        let frame = frame
            .as_slice()
            .map_err(|_| PyValueError::new_err("the frame must be contiguous"))?;
        let (answer, class) = (&mut self.answer, &mut self.class);
        let got = self.live.with_dependent_mut(|_, stream| {
            let out = stream.push(frame).map_err(to_py)?;
            Ok::<_, PyErr>(out.map(|o| {
                answer.clear();
                *class = match o {
                    Output::Class {
                        class,
                        probabilities,
                        ..
                    } => {
                        answer.extend_from_slice(probabilities);
                        Some(class)
                    }
                    Output::Values { values, .. } => {
                        answer.extend_from_slice(values);
                        None
                    }
                    Output::NextChar(p) => {
                        answer.extend_from_slice(p);
                        None
                    }
                };
            }))
        })?;
        Ok(got.map(|()| (self.class, PyArray1::from_slice(py, &self.answer))))
    }

    /// Starts a new sequence: the state back to zero.
    fn reset(&mut self) {
        self.live.with_dependent_mut(|_, stream| stream.reset());
        self.answer.clear();
        self.class = None;
    }

    /// The answer of the last push (empty before the first).
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.answer)
    }
}
