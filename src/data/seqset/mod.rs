//! [`SeqSet`]: N labelled sequences of up to T steps of D numbers, stored once (MNIST's pixels as
//! bytes), normalised as a batch is written.

mod build;

use super::Batch;
use super::Norm;
use crate::error::{Error, Result};
use crate::real::Real;
use std::path::Path;

/// The most classes a set may have (of a sequence, or of a step): a label is an index into
/// them, and a model has an output for each.
pub const MAX_CLASSES: usize = 1 << 16;

/// What the sequences of a set are to be mapped to.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Nothing: sequences to predict.
    None,
    /// One class per sequence: [`SeqSet::labels`], named by [`SeqSet::classes`].
    Classes,
    /// A class at every step, `[N][T]` (0 past a sequence's end), named by [`SeqSet::classes`].
    Steps(Vec<u32>),
    /// `k` real numbers per sequence, `[N][k]`, named `names`; standardised by `norm` as a batch
    /// is written (see [`SeqSet::standardise_targets`]).
    Values {
        /// The targets as given.
        y: Vec<f64>,
        /// Numbers per sequence.
        k: usize,
        /// Their names.
        names: Vec<String>,
        /// How they are standardised for training: `(y − shift)·scale`.
        norm: Norm,
    },
}

/// Stored values of a sequence set: bytes (MNIST's pixels, 1/8 of the memory) or floats.
#[derive(Debug, Clone)]
enum Values {
    Bytes(Vec<u8>),
    Floats(Vec<f64>),
}

/// A labelled set of sequences: N sequences of up to T steps of D numbers, each of one class.
/// Values are stored `[N][T][D]` (zeros past each sequence's end) and normalised by [`Norm`] as
/// a batch is written.
#[derive(Debug, Clone)]
pub struct SeqSet {
    /// Steps of the longest sequence, T.
    pub steps: usize,
    /// Numbers per step, D.
    pub dims: usize,
    /// Class of each sequence (an index into `classes`; 0 when the targets are not classes).
    pub labels: Vec<u32>,
    /// Names of the classes (of the sequences, or of the steps).
    pub classes: Vec<String>,
    /// What each sequence is to be mapped to.
    pub targets: Targets,
    /// How stored values become inputs.
    pub norm: Norm,
    values: Values,
    /// Steps of each sequence; `None` when all have `steps`.
    lens: Option<Vec<u32>>,
}

impl SeqSet {
    /// The sequences `idx` of this set (in that order, each index below [`SeqSet::len`]) as a
    /// set of their own, with the same steps, classes, target standardisation and
    /// normalisation.
    ///
    /// # Panics
    /// When an index is out of range.
    pub fn subset(&self, idx: &[usize]) -> SeqSet {
        let row = self.steps * self.dims;
        let values = match &self.values {
            Values::Bytes(b) => Values::Bytes(pick(idx, b, row)),
            Values::Floats(f) => Values::Floats(pick(idx, f, row)),
        };
        fn pick<V: Copy>(idx: &[usize], v: &[V], k: usize) -> Vec<V> {
            idx.iter()
                .flat_map(|&i| &v[i * k..(i + 1) * k])
                .copied()
                .collect()
        }
        let targets = match &self.targets {
            Targets::Steps(l) => Targets::Steps(pick(idx, l, self.steps)),
            Targets::Values { y, k, names, norm } => Targets::Values {
                y: pick(idx, y, *k),
                k: *k,
                names: names.clone(),
                norm: norm.clone(),
            },
            t @ (Targets::None | Targets::Classes) => t.clone(),
        };
        let lens = self.lens.as_ref().map(|l| pick(idx, l, 1));
        SeqSet {
            steps: self.steps,
            dims: self.dims,
            labels: pick(idx, &self.labels, 1),
            classes: self.classes.clone(),
            targets,
            norm: self.norm.clone(),
            values,
            lens,
        }
    }

    /// Every class label of the set: one per sequence, or one per step within each sequence.
    pub fn class_labels(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match &self.targets {
            Targets::Classes => Box::new(self.labels.iter().copied()),
            Targets::Steps(l) => Box::new((0..self.len()).flat_map(move |i| {
                l[i * self.steps..i * self.steps + self.len_of(i)]
                    .iter()
                    .copied()
            })),
            Targets::None | Targets::Values { .. } => Box::new(std::iter::empty()),
        }
    }

    /// The standardisation of a regression set's targets: per target, the training mean and
    /// (population) standard deviation (a target that never varies is only shifted).
    pub fn target_standardisation(&self) -> Option<Norm> {
        match &self.targets {
            Targets::Values { y, k, .. } => Some(Norm::of_columns(y, *k)),
            _ => None,
        }
    }

    /// Sets how a regression set's targets are standardised for training (the training set's
    /// [`SeqSet::target_standardisation`]); nothing for other sets.
    pub fn standardise_targets(&mut self, with: &Norm) {
        if let Targets::Values { norm, .. } = &mut self.targets {
            *norm = with.clone();
        }
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no sequence.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Steps of sequence `i`.
    pub fn len_of(&self, i: usize) -> usize {
        self.lens.as_ref().map_or(self.steps, |l| l[i] as usize)
    }

    /// The shortest and the longest sequence's steps.
    pub fn length_range(&self) -> (usize, usize) {
        match &self.lens {
            None => (self.steps, self.steps),
            Some(l) => (
                l.iter().copied().min().unwrap_or(0) as usize,
                l.iter().copied().max().unwrap_or(0) as usize,
            ),
        }
    }

    /// The normalisation that standardises this set: per dimension, the mean and (population)
    /// standard deviation over every step of every sequence, padding left out. A dimension that
    /// never varies is only shifted.
    pub fn standardisation(&self) -> Norm {
        let d = self.dims;
        let (mut sum, mut sq, mut n) = (vec![0.0f64; d], vec![0.0f64; d], 0usize);
        let mut raw = vec![0.0f64; self.steps * d];
        let plain = Norm::scaled(d, 1.0);
        for i in 0..self.len() {
            let len = self.len_of(i);
            self.widen_with(i, &plain, &mut raw);
            for step in raw[..len * d].chunks_exact(d) {
                for k in 0..d {
                    sum[k] += step[k];
                }
            }
            n += len;
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n.max(1) as f64).collect();
        for i in 0..self.len() {
            let len = self.len_of(i);
            self.widen_with(i, &plain, &mut raw);
            for step in raw[..len * d].chunks_exact(d) {
                for k in 0..d {
                    sq[k] += (step[k] - mean[k]).powi(2);
                }
            }
        }
        let scale = sq
            .iter()
            .map(|s| {
                let sd = (s / n.max(1) as f64).sqrt();
                if sd > 1e-12 { 1.0 / sd } else { 1.0 }
            })
            .collect();
        Norm { shift: mean, scale }
    }

    /// The stored bytes of sequence `i` (`[steps][dims]`), for byte sets (MNIST).
    pub fn bytes(&self, i: usize) -> Option<&[u8]> {
        let n = self.steps * self.dims;
        match &self.values {
            Values::Bytes(b) => Some(&b[i * n..(i + 1) * n]),
            Values::Floats(_) => None,
        }
    }

    /// Writes sequence `i`, normalised, into `out` (`len_of(i) × dims` numbers).
    pub fn widen<T: Real>(&self, i: usize, out: &mut [T]) {
        self.widen_with(i, &self.norm, out);
    }

    /// Writes sequence `i` normalised by `norm` into `out`.
    fn widen_with<T: Real>(&self, i: usize, norm: &Norm, out: &mut [T]) {
        let (n, d) = (self.len_of(i) * self.dims, self.dims);
        let at = i * self.steps * d;
        let out = &mut out[..n];
        match &self.values {
            Values::Bytes(b) => normalise(&b[at..at + n], norm, out, f64::from),
            Values::Floats(f) => normalise(&f[at..at + n], norm, out, |v| v),
        }
    }

    /// Writes the sequences `idx` (reordered here: longest first, then by index) into `ws` as one
    /// batch of `[b][t][D]` rows, `t` the longest's length, padding zeros; their classes and
    /// lengths too. A batch that reads patches of `p` steps (`batch.patch`) gets the same
    /// numbers as `[b][⌈t/p⌉][p·D]` rows, each sequence's last patch completed with zeros.
    /// Allocation-free.
    pub fn load_batch<T: Real>(&self, idx: &mut [usize], batch: &mut Batch<T>) {
        self.load_batch_with(idx, &self.norm, batch);
    }

    /// [`SeqSet::load_batch`], the values normalised by `norm` (a saved model's) instead of the
    /// set's own.
    pub(crate) fn load_batch_with<T: Real>(
        &self,
        idx: &mut [usize],
        norm: &Norm,
        batch: &mut Batch<T>,
    ) {
        let p = batch.patch.max(1);
        idx.sort_unstable_by_key(|&i| (std::cmp::Reverse(self.len_of(i).div_ceil(p)), i));
        let b = idx.len();
        let patches = self.len_of(idx[0]).div_ceil(p);
        let t = patches * p;
        let row = patches * p * self.dims;
        for (k, &i) in idx.iter().enumerate() {
            let out = &mut batch.x[k * row..(k + 1) * row];
            let len = self.len_of(i);
            self.widen_with(i, norm, out);
            out[len * self.dims..].fill(T::ZERO);
            batch.lens[k] = len.div_ceil(p);
            match &self.targets {
                Targets::None | Targets::Classes => batch.targets[k] = self.labels[i],
                Targets::Steps(labels) => batch.targets[k * t..(k + 1) * t]
                    .copy_from_slice(&labels[i * self.steps..i * self.steps + t]),
                Targets::Values { y, k: kk, norm, .. } => {
                    let dst = &mut batch.values[k * kk..(k + 1) * kk];
                    for (j, (d, &v)) in dst.iter_mut().zip(&y[i * kk..(i + 1) * kk]).enumerate() {
                        *d = T::from_f64((v - norm.shift[j]) * norm.scale[j]);
                    }
                }
            }
        }
        batch.begin(b, patches);
    }
}

/// No more classes than a set may have ([`MAX_CLASSES`]).
fn check_class_count(classes: usize) -> Result<()> {
    if classes > MAX_CLASSES {
        return Err(Error::shape(format!(
            "{classes} classes; a set may have {MAX_CLASSES} at most"
        )));
    }
    Ok(())
}

/// Every label below `classes`.
fn check_labels(labels: &[u32], classes: usize) -> Result<()> {
    match labels.iter().position(|&l| l as usize >= classes) {
        Some(i) => Err(Error::shape(format!(
            "label {} of sequence {i} is not below the {classes} classes",
            labels[i]
        ))),
        None => Ok(()),
    }
}

/// `out = (src − shift)·scale`, step by step (rows of D numbers), each value widened by `wide`.
#[inline]
fn normalise<S: Copy, T: Real>(src: &[S], norm: &Norm, out: &mut [T], wide: impl Fn(S) -> f64) {
    let d = norm.shift.len();
    let (shift, scale) = (&norm.shift[..d], &norm.scale[..d]);
    for (o, s) in out.chunks_exact_mut(d).zip(src.chunks_exact(d)) {
        // Zipped, so that no index is checked and the loop vectorises.
        for (((o, &s), &sh), &sc) in o.iter_mut().zip(s).zip(shift).zip(scale) {
            *o = T::from_f64((wide(s) - sh) * sc);
        }
    }
}

/// Pads `series` (each `[len][D]`, `lens` steps) to the longest into a labelled set; refuses
/// lengths so uneven that the padding would dwarf the data (a bound on what a file can make this
/// allocate).
pub(crate) fn pad(
    path: &Path,
    series: &[Vec<f64>],
    lens: &[usize],
    dims: usize,
    labels: Vec<u32>,
    classes: Vec<String>,
) -> Result<SeqSet> {
    let t = lens.iter().copied().max().unwrap_or(0);
    let total: usize = lens.iter().sum::<usize>() * dims;
    let padded = series.len() * t * dims;
    if padded > 16 * total + (1 << 20) {
        return Err(Error::format(
            path,
            format!(
                "lengths too uneven: padding {} sequences to the longest ({t} steps) would take {padded} \
                 numbers for {total} values",
                series.len()
            ),
        ));
    }
    let mut values = vec![0.0f64; padded];
    for (i, s) in series.iter().enumerate() {
        values[i * t * dims..i * t * dims + s.len()].copy_from_slice(s);
    }
    let lens = lens.iter().map(|&l| l as u32).collect();
    SeqSet::from_floats(values, lens, labels, t, dims, classes)
        .map_err(|e| Error::format(path, e.to_string()))
}
