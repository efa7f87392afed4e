//! What a model answers for sequences: a class ([`Model::classify`]), numbers
//! ([`Model::regress_at`]), a class at every step ([`Model::tag_at`]) or the next steps of a series
//! ([`Model::forecast`]); and the network and buffers a prediction keeps for the next one.

use super::{Model, Net};
use crate::blas::{Blas, FlushScope};
use crate::data::series::{Series, last_window};
use crate::data::{Data, DataInfo, SeqSet};
use crate::error::{Error, Result};
use crate::network::{Network, NetworkConfig, Task, Workspace};
use crate::real::{Real, by_dtype};

/// A classifier's answer for one sequence (or one step).
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The most likely class.
    pub class: usize,
    /// Its name.
    pub name: String,
    /// Every class's probability, in the model's class order.
    pub probabilities: Vec<f64>,
}

impl Prediction {
    /// The prediction of these probabilities over classes `names`.
    fn of(probabilities: Vec<f64>, names: &[String]) -> Prediction {
        let class = crate::nn::head::argmax(&probabilities);
        Prediction {
            class,
            name: names[class].clone(),
            probabilities,
        }
    }
}

/// A network fitted to a set's length and its buffers for one sequence of up to `steps` steps
/// at a time.
pub(super) struct Forward<T: Real> {
    net: Network<T>,
    ws: Workspace<T>,
    steps: usize,
}

impl<T: Real> Net<T> {
    /// The forward network and buffers for `config` (the network fitted to a set of `steps`
    /// steps): the kept ones when they are of that shape and no other prediction holds them,
    /// else new ones.
    fn forward_for(&self, config: NetworkConfig, steps: usize) -> Forward<T> {
        if let Ok(mut kept) = self.kept.try_lock()
            && let Some(f) = kept.take_if(|f| f.net.config == config && f.steps == steps)
        {
            return f;
        }
        let net = Network::new(config);
        let ws = net.forward_workspace(1, steps, false);
        Forward { net, ws, steps }
    }

    /// Keeps `f` for the next prediction.
    fn keep(&self, f: Forward<T>) {
        if let Ok(mut kept) = self.kept.try_lock() {
            *kept = Some(f);
        }
    }
}

impl Model {
    /// The class of every sequence of `set` (its values normalised as the model's training data
    /// were), with the probabilities.
    ///
    /// # Errors
    /// When the model is not a classifier of sequences, or the set does not fit it.
    pub fn classify(&self, set: &SeqSet) -> Result<Vec<Prediction>> {
        self.classify_at(set, 0..set.len())
    }

    /// The class of one sequence given as raw numbers: `x` holds `steps` steps of `dims` numbers,
    /// `[steps][dims]` in C order (normalised here as the model's training data were).
    ///
    /// # Errors
    /// As [`Model::classify`]; [`Error::Shape`] when `x` does not hold `steps·dims` finite
    /// numbers.
    pub fn classify_one<V: Copy + Into<f64>>(
        &self,
        x: &[V],
        [steps, dims]: [usize; 2],
    ) -> Result<Prediction> {
        let set = SeqSet::from_arrays(x, [1, steps, dims], None, None)?;
        Ok(self.classify(&set)?.remove(0))
    }

    /// The numbers a regression model predicts for one sequence given as raw numbers (as
    /// [`Model::classify_one`] takes it), on the targets' own scale.
    ///
    /// # Errors
    /// As [`Model::regress_at`]; [`Error::Shape`] when `x` does not hold `steps·dims` finite
    /// numbers.
    pub fn regress_one<V: Copy + Into<f64>>(
        &self,
        x: &[V],
        [steps, dims]: [usize; 2],
    ) -> Result<Vec<f64>> {
        let set = SeqSet::from_arrays(x, [1, steps, dims], None, None)?;
        Ok(self.regress_at(&set, [0])?.remove(0))
    }

    /// [`Model::classify`] of the sequences `indices` of `set` only.
    ///
    /// # Errors
    /// As [`Model::classify`]; [`Error::Shape`] for an index past the set's end.
    pub fn classify_at(
        &self,
        set: &SeqSet,
        indices: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<Prediction>> {
        let Task::Classify { .. } = self.task() else {
            return Err(Error::task(format!(
                "the model predicts {}, not a class per sequence",
                self.task().answers()
            )));
        };
        let names = self.classes().expect("a classifier's classes");
        Ok(self
            .outputs(set, indices)?
            .into_iter()
            .map(|p| Prediction::of(p, names))
            .collect())
    }

    /// The class of every step of the sequences `indices` of `set` (a model with a class at every
    /// step): one prediction a step, as many as each sequence's length.
    ///
    /// # Errors
    /// When the model does not predict a class per step, or the set does not fit it.
    pub fn tag_at(
        &self,
        set: &SeqSet,
        indices: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<Vec<Prediction>>> {
        let Task::Tag { classes: k, .. } = self.task() else {
            return Err(Error::task(format!(
                "the model predicts {}, not a class per step",
                self.task().answers()
            )));
        };
        let names = self.classes().expect("a tagger's classes");
        Ok(self
            .outputs(set, indices)?
            .into_iter()
            .map(|rows| {
                rows.chunks_exact(k)
                    .map(|p| Prediction::of(p.to_vec(), names))
                    .collect()
            })
            .collect())
    }

    /// The numbers a regression model (or forecaster) gives each of the sequences `indices` of
    /// `set`, on the targets' own scale (the standardisation undone).
    ///
    /// # Errors
    /// When the model does not predict numbers, or the set does not fit it.
    pub fn regress_at(
        &self,
        set: &SeqSet,
        indices: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<Vec<f64>>> {
        let Some(t) = self.info.target_norm() else {
            return Err(Error::task(format!(
                "the model predicts {}, not numbers",
                self.task().answers()
            )));
        };
        let mut all = self.outputs(set, indices)?;
        for v in all.iter_mut().flat_map(|row| row.iter_mut().enumerate()) {
            *v.1 = *v.1 / t.scale[v.0] + t.shift[v.0];
        }
        Ok(all)
    }

    /// The next `horizon` values of a forecaster's column after the end of `series` (which has
    /// its columns, by name, and at least its window of steps).
    ///
    /// # Errors
    /// [`Error::Task`] for a model that is not a forecaster; [`Error::Format`] naming the file
    /// when the series lacks a column the model reads or is shorter than its window.
    pub fn forecast(&self, series: &Series) -> Result<Vec<f64>> {
        let DataInfo::Series {
            columns,
            target,
            window,
            seasonal,
            ..
        } = &self.info
        else {
            return Err(Error::task(format!(
                "the model predicts {}, not the next steps of a series",
                self.task().answers()
            )));
        };
        let horizon = self.info.target_norm().map_or(0, |t| t.shift.len());
        let (x, base) = last_window(series, columns, *target, *window, (horizon, *seasonal))?;
        let width = self.config().input;
        let set = SeqSet::from_arrays(&x, [1, *window, width], None, None)?;
        let predicted = self.regress_at(&set, [0])?.remove(0);
        Ok(predicted.iter().zip(base).map(|(p, b)| p + b).collect())
    }

    /// The head's outputs (probabilities, or standardised numbers) for each of the sequences
    /// `indices` of `set`, as `f64`s: `[K]` each, or `[len][K]` for a class at every step.
    fn outputs(
        &self,
        set: &SeqSet,
        indices: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<Vec<f64>>> {
        let norm = self.info.norm().ok_or_else(|| {
            Error::task("a language model, which predicts text: sample from it instead")
        })?;
        let _flush = FlushScope::new(!self.keep_subnormals);
        by_dtype!(&self.net, n => {
            let config = n.net.config.fitted(Data::Labelled(set))?;
            let Forward {
                net: fitted,
                mut ws,
                steps,
            } = n.forward_for(config, set.steps);
            let k = fitted.head().outputs();
            let out = indices
                .into_iter()
                .map(|i| {
                    if i >= set.len() {
                        return Err(Error::shape(format!(
                            "sequence {i} of a set of {}",
                            set.len()
                        )));
                    }
                    set.load_batch_with(&mut [i], norm, &mut ws.batch);
                    fitted.forward(&n.params, &mut ws, None);
                    let rows = fitted.head().rows(1, ws.batch.steps());
                    Ok(ws.probs(rows, k).iter().map(|p| p.to_f64()).collect())
                })
                .collect();
            n.keep(Forward {
                net: fitted,
                ws,
                steps,
            });
            out
        })
    }
}
