//! [`DataInfo`]: what a model remembers of the data it was trained on, to read new data as it
//! read that.

use super::series::Cut;
use super::text::Vocab;
use super::{Dataset, Norm, Targets};

/// What a model reads and what its outputs mean, beyond its shape.
#[derive(Debug, Clone, PartialEq)]
pub enum DataInfo {
    /// Classes (of a sequence, or of each step): how raw values become inputs, the classes'
    /// names, and whether it reads 8-bit images (MNIST).
    Classes {
        /// Per-dimension normalisation of the raw values.
        norm: Norm,
        /// Names of the classes, in output order.
        names: Vec<String>,
        /// Whether the inputs are image pixels (0..255 bytes).
        images: bool,
    },
    /// Real numbers per sequence (regression): how raw values become inputs, and how the
    /// targets were standardised (undone at prediction).
    Values {
        /// Per-dimension normalisation of the raw values.
        norm: Norm,
        /// The targets' standardisation: `(y − shift)·scale` is what the model predicts.
        targets: Norm,
        /// Names of the targets, in output order.
        names: Vec<String>,
    },
    /// A forecaster of one column of a series: the columns it reads (each normalised by
    /// `norm`), the one it forecasts, and how many past steps it reads.
    Series {
        /// Per-column normalisation.
        norm: Norm,
        /// The forecast column's standardisation (the same for each step ahead).
        targets: Norm,
        /// The series' columns, in the order the model reads them.
        columns: Vec<String>,
        /// Which column is forecast.
        target: usize,
        /// Past steps read for a forecast.
        window: usize,
        /// Steps the training held out at the end of its series.
        test_len: usize,
        /// The season of the seasonal naive forecast the model corrects, if it does.
        seasonal: Option<usize>,
    },
    /// A language model's vocabulary.
    Text(Vocab),
}

impl DataInfo {
    /// What a model trained on `data` must remember to read new data as it read this.
    pub fn of(data: &Dataset) -> DataInfo {
        match data {
            Dataset::Labelled(l) => match &l.train.targets {
                Targets::Values { names, norm, .. } => DataInfo::Values {
                    norm: l.train.norm.clone(),
                    targets: norm.clone(),
                    names: names.clone(),
                },
                _ => DataInfo::Classes {
                    norm: l.train.norm.clone(),
                    names: l.train.classes.clone(),
                    images: l.images,
                },
            },
            Dataset::Series(f) => DataInfo::Series {
                norm: f.sets.train.norm.clone(),
                targets: f.target_norm().clone(),
                columns: f.columns.clone(),
                target: f.target,
                window: f.window,
                test_len: f.test_len,
                seasonal: f.seasonal,
            },
            Dataset::Text(c) => DataInfo::Text(c.vocab.clone()),
        }
    }

    /// How raw input values become inputs (none for a language model).
    pub fn norm(&self) -> Option<&Norm> {
        match self {
            DataInfo::Classes { norm, .. }
            | DataInfo::Values { norm, .. }
            | DataInfo::Series { norm, .. } => Some(norm),
            DataInfo::Text(_) => None,
        }
    }

    /// The cut of a series that gives a saved forecaster's windows again: its target column,
    /// window, horizon, held-out part and the season it corrects (or, when it corrects none,
    /// `season`: the one its forecasts are measured against). `None` for other models.
    pub fn cut(&self, season: Option<usize>) -> Option<Cut> {
        let DataInfo::Series {
            targets: scale,
            columns,
            target,
            window,
            test_len,
            seasonal,
            ..
        } = self
        else {
            return None;
        };
        Some(Cut {
            target: Some(columns[*target].clone()),
            window: Some(*window),
            horizon: scale.shift.len(),
            test_len: Some(*test_len),
            season: seasonal.or(season),
            residual: Some(seasonal.is_some()),
        })
    }

    /// How the targets of a regression (or forecast) were standardised.
    pub fn target_norm(&self) -> Option<&Norm> {
        match self {
            DataInfo::Values { targets, .. } | DataInfo::Series { targets, .. } => Some(targets),
            _ => None,
        }
    }
}
