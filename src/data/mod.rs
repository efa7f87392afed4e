//! The data the models read: labelled sequence sets ([`SeqSet`]: MNIST images read row by row,
//! UCR/UEA `.ts` pairs, NumPy `.npz` archives, or a caller's own arrays) and text for language
//! models ([`text`]). A [`Dataset`] is one of them with its training and held-out parts; each
//! part writes a batch into a network's [`Workspace`](crate::network::Workspace) without
//! allocating.

mod batch;
pub mod idx;
#[cfg(feature = "image")]
pub mod image;
mod info;
pub mod mnist;
pub mod npz;
mod seqset;
pub mod series;
mod source;
pub mod text;
pub mod ts;

pub use batch::Batch;
pub use info::DataInfo;
pub(crate) use seqset::pad;
pub use seqset::{MAX_CLASSES, SeqSet, Targets};
pub use source::{Labelled, Source};

use crate::error::{Error, Result};
use std::path::Path;
use text::Corpus;

/// What kind of data a run trains on, which decides its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// MNIST's images, read row by row: the seed's model.
    Images,
    /// Other labelled sequences (UCR/UEA `.ts`, `.npz`, arrays): variable lengths, many
    /// dimensions; classes, real numbers, or a class at every step.
    Sequences,
    /// A series to forecast: windows of its past, the next steps of one column.
    Series,
    /// Text: a character-level language model.
    Text,
}

/// What a trainer trains on or evaluates: one part of a [`Dataset`].
#[derive(Clone, Copy)]
pub enum Data<'a> {
    /// A labelled set of sequences: batches from a fresh shuffle every epoch.
    Labelled(&'a SeqSet),
    /// A token sequence: B streams, chunk after chunk, the state carried.
    Text(&'a [u32]),
}

/// A data set: what trains, and what measures how well it learned.
#[derive(Debug, Clone)]
// One per program: the variants' sizes do not matter, and unboxed they are matched on directly.
#[allow(clippy::large_enum_variant)]
pub enum Dataset {
    /// Labelled sequences: a training and a test split.
    Labelled(Labelled),
    /// A series cut into windows for forecasting.
    Series(series::Forecasting),
    /// A text: its first part trains a language model, its last part validates it.
    Text(Corpus),
}

impl Dataset {
    /// A UTF-8 text held in memory, for a language model, as [`load_text`] reads a file: its distinct
    /// characters are the vocabulary, its last `val_frac` of characters validates. Errors name it
    /// `(text)`.
    ///
    /// ```
    /// # fn main() -> blasrnn::Result<()> {
    /// let data = blasrnn::Dataset::from_text(&"to be or not to be, that is the question. ".repeat(40), 0.1)?;
    /// let blasrnn::Dataset::Text(corpus) = &data else { unreachable!() };
    /// assert_eq!(corpus.vocab.len(), 15);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When the text is empty, or `val_frac` is not in (0, 1).
    pub fn from_text(text: &str, val_frac: f64) -> Result<Dataset> {
        let name = Path::new("(text)");
        check_val_frac(val_frac)?;
        if text.is_empty() {
            return Err(Error::format(name, "is empty"));
        }
        Ok(Dataset::Text(Corpus::of_text(text, name, val_frac, None)?))
    }

    /// Which kind of data this is.
    pub fn kind(&self) -> Kind {
        match self {
            Dataset::Labelled(l) if l.images => Kind::Images,
            Dataset::Labelled(_) => Kind::Sequences,
            Dataset::Series(_) => Kind::Series,
            Dataset::Text(_) => Kind::Text,
        }
    }

    /// The labelled sequences that train and test: a data set's splits, or a series' windows.
    pub fn sets(&self) -> Option<&Labelled> {
        match self {
            Dataset::Labelled(l) => Some(l),
            Dataset::Series(f) => Some(&f.sets),
            Dataset::Text(_) => None,
        }
    }

    /// The part that trains.
    pub fn train(&self) -> Data<'_> {
        match self {
            Dataset::Labelled(l) => Data::Labelled(&l.train),
            Dataset::Series(f) => Data::Labelled(&f.sets.train),
            Dataset::Text(c) => Data::Text(&c.train),
        }
    }

    /// The held-out part: the test split, or the validation text.
    pub fn eval(&self) -> Data<'_> {
        match self {
            Dataset::Labelled(l) => Data::Labelled(&l.test),
            Dataset::Series(f) => Data::Labelled(&f.sets.test),
            Dataset::Text(c) => Data::Text(&c.val),
        }
    }
}

/// Reads a labelled data set: a directory of MNIST's IDX files (pixels scaled to 0..1), a
/// UCR/UEA pair (`NAME_TRAIN.ts` and `NAME_TEST.ts`, given as their directory, their common
/// prefix or one of them), or an `.npz` archive; every input dimension but MNIST's is
/// standardised with the training split's statistics.
///
/// # Errors
/// When the path is none of these, or a file is missing, unreadable or malformed: the error names
/// the file and what is wrong.
pub fn load(path: impl AsRef<Path>) -> Result<Dataset> {
    let path = path.as_ref();
    Ok(Dataset::Labelled(Source::find(path)?.load(1.0 / 255.0)?))
}

/// Reads a series from a CSV file (see [`series`]) and cuts it for forecasting as `cut` says.
///
/// # Errors
/// As [`series::read_csv`] and [`series::Forecasting::new`].
pub fn load_series(path: impl AsRef<Path>, cut: &series::Cut) -> Result<Dataset> {
    let path = path.as_ref();
    let s = series::read_csv(path)?;
    Ok(Dataset::Series(series::Forecasting::new(&s, cut)?))
}

/// Reads a UTF-8 text for a language model: its distinct characters are the vocabulary, its
/// last `val_frac` of characters validates.
///
/// # Errors
/// When the file cannot be read, is empty or is not UTF-8, or `val_frac` is not in (0, 1).
pub fn load_text(path: impl AsRef<Path>, val_frac: f64) -> Result<Dataset> {
    check_val_frac(val_frac)?;
    Ok(Dataset::Text(Corpus::load(path.as_ref(), val_frac, None)?))
}

/// A text's validation fraction must be in (0, 1).
fn check_val_frac(val_frac: f64) -> Result<()> {
    if val_frac > 0.0 && val_frac < 1.0 {
        Ok(())
    } else {
        Err(Error::config(format!(
            "`val_frac` must be between 0 and 1, got {val_frac}"
        )))
    }
}

/// How raw values become inputs, per dimension: `x = (v − shift[d]) · scale[d]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Norm {
    /// Subtracted from each dimension (its training mean, or 0).
    pub shift: Vec<f64>,
    /// Then multiplied (1/std, or MNIST's 1/255).
    pub scale: Vec<f64>,
}

impl Norm {
    /// The same scale for each of `dims` dimensions, no shift (MNIST's pixels: 1/255, or 1).
    pub fn scaled(dims: usize, scale: f64) -> Norm {
        Norm {
            shift: vec![0.0; dims],
            scale: vec![scale; dims],
        }
    }

    /// The standardisation of the columns of `values` (`[n][c]`): each column's mean and
    /// (population) standard deviation; a column that never varies is only shifted.
    pub fn of_columns(values: &[f64], c: usize) -> Norm {
        let n = (values.len() / c.max(1)).max(1) as f64;
        let column = |j: usize| values.iter().skip(j).step_by(c);
        let shift: Vec<f64> = (0..c).map(|j| column(j).sum::<f64>() / n).collect();
        let scale = (0..c)
            .map(|j| {
                let sd = (column(j).map(|v| (v - shift[j]).powi(2)).sum::<f64>() / n).sqrt();
                if sd > 1e-12 { 1.0 / sd } else { 1.0 }
            })
            .collect();
        Norm { shift, scale }
    }
}

/// Names from a user's file, for a one-line message: each quoted, control characters escaped.
pub(crate) fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
