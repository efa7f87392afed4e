//! The data the models read: labelled sequence sets for classification ([`SeqSet`]: MNIST images
//! read row by row, …) and text streams for language models ([`text`]). Each knows how to write a
//! batch into a model's [`Workspace`] without allocating.

pub mod idx;
pub mod image;
pub mod mnist;
pub mod npz;
pub mod text;
pub mod ts;

use crate::error::FileError;
use crate::model::Workspace;
use crate::real::Real;
use std::path::{Path, PathBuf};

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
    /// Class of each sequence (an index into `classes`).
    pub labels: Vec<u32>,
    /// Names of the classes.
    pub classes: Vec<String>,
    /// How stored values become inputs.
    pub norm: Norm,
    values: Values,
    /// Steps of each sequence; `None` when all have `steps`.
    lens: Option<Vec<u32>>,
}

impl SeqSet {
    /// A set of equal-length byte sequences (`[N][steps][dims]` bytes), classes named `0..k`.
    pub fn from_bytes(
        bytes: Vec<u8>,
        labels: Vec<u32>,
        steps: usize,
        dims: usize,
        classes: usize,
    ) -> SeqSet {
        assert_eq!(bytes.len(), labels.len() * steps * dims, "byte count");
        SeqSet {
            steps,
            dims,
            labels,
            classes: (0..classes).map(|k| k.to_string()).collect(),
            norm: Norm::scaled(dims, 1.0),
            values: Values::Bytes(bytes),
            lens: None,
        }
    }

    /// A set of float sequences of lengths `lens` (each in 1..=steps), stored `[N][steps][dims]`
    /// with zeros past each end, of classes `classes`.
    pub fn from_floats(
        values: Vec<f64>,
        lens: Vec<u32>,
        labels: Vec<u32>,
        steps: usize,
        dims: usize,
        classes: Vec<String>,
    ) -> SeqSet {
        assert_eq!(values.len(), labels.len() * steps * dims, "value count");
        assert_eq!(lens.len(), labels.len(), "one length per sequence");
        let equal = lens.iter().all(|&l| l as usize == steps);
        SeqSet {
            steps,
            dims,
            labels,
            classes,
            norm: Norm::scaled(dims, 1.0),
            values: Values::Floats(values),
            lens: (!equal).then_some(lens),
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
    /// lengths too. Allocation-free.
    pub fn load_batch<T: Real>(&self, idx: &mut [usize], ws: &mut Workspace<T>) {
        idx.sort_unstable_by_key(|&i| (std::cmp::Reverse(self.len_of(i)), i));
        let b = idx.len();
        let t = self.len_of(idx[0]);
        let row = t * self.dims;
        for (k, &i) in idx.iter().enumerate() {
            let out = &mut ws.x[k * row..(k + 1) * row];
            let len = self.len_of(i);
            self.widen(i, out);
            out[len * self.dims..].fill(T::ZERO);
            ws.targets[k] = self.labels[i];
            ws.lens[k] = len;
        }
        ws.begin(b, t);
    }
}

/// `out = (src − shift)·scale`, step by step (rows of D numbers), each value widened by `wide`.
#[inline]
fn normalise<S: Copy, T: Real>(src: &[S], norm: &Norm, out: &mut [T], wide: impl Fn(S) -> f64) {
    let d = norm.shift.len();
    for (o, s) in out.chunks_exact_mut(d).zip(src.chunks_exact(d)) {
        for k in 0..d {
            o[k] = T::from_f64((wide(s[k]) - norm.shift[k]) * norm.scale[k]);
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
) -> Result<SeqSet, FileError> {
    let t = lens.iter().copied().max().unwrap_or(0);
    let total: usize = lens.iter().sum::<usize>() * dims;
    let padded = series.len() * t * dims;
    if padded > 16 * total + (1 << 20) {
        return Err(FileError::format(
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
    Ok(SeqSet::from_floats(values, lens, labels, t, dims, classes))
}

/// Where a labelled data set comes from, recognised from its path and contents.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A directory of MNIST IDX files.
    Images(PathBuf),
    /// A UCR/UEA pair, `NAME_TRAIN.ts` and `NAME_TEST.ts`.
    Ts {
        /// The training file.
        train: PathBuf,
        /// The test file.
        test: PathBuf,
    },
    /// A NumPy archive with `x_train`, `y_train`, … .
    Npz(PathBuf),
}

/// A labelled data set's two splits.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Training sequences (normalised by their own statistics, or MNIST's pixel scale).
    pub train: SeqSet,
    /// Test sequences, normalised as the training ones.
    pub test: SeqSet,
    /// Things worth telling the user about how the data was read.
    pub notes: Vec<String>,
}

impl Source {
    /// Recognises `path`: a directory holding MNIST's IDX files or one `*_TRAIN.ts`/`*_TEST.ts`
    /// pair, the common prefix of such a pair, one of its two files, or an `.npz` archive.
    pub fn find(path: &Path) -> Result<Source, FileError> {
        let pair = |prefix: &str| -> Option<Source> {
            let train = PathBuf::from(format!("{prefix}_TRAIN.ts"));
            let test = PathBuf::from(format!("{prefix}_TEST.ts"));
            (train.is_file() && test.is_file()).then_some(Source::Ts { train, test })
        };
        let shown = path.to_string_lossy();
        if path.is_dir() {
            let has = |stem: &str| idx::find(path, stem).is_ok();
            if has("train-images-idx3-ubyte") || has("t10k-images-idx3-ubyte") {
                return Ok(Source::Images(path.to_path_buf()));
            }
            let mut prefixes: Vec<String> = std::fs::read_dir(path)
                .map_err(FileError::io_at(path))?
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix("_TRAIN.ts")
                        .map(|p| path.join(p).to_string_lossy().into_owned())
                })
                .collect();
            prefixes.sort();
            return match prefixes.as_slice() {
                [one] => pair(one).ok_or_else(|| {
                    FileError::format(path, format!("holds {one}_TRAIN.ts but no {one}_TEST.ts"))
                }),
                [] => Err(FileError::format(
                    path,
                    "holds no data set: expected MNIST's IDX files (train-images-idx3-ubyte, …) or a \
                     UCR/UEA pair NAME_TRAIN.ts + NAME_TEST.ts",
                )),
                many => Err(FileError::format(
                    path,
                    format!(
                        "holds several .ts pairs ({}): give one as DIR/NAME",
                        many.iter()
                            .map(|p| p.rsplit('/').next().unwrap_or(p))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            };
        }
        if let Some(s) = pair(&shown) {
            return Ok(s);
        }
        for suffix in ["_TRAIN.ts", "_TEST.ts"] {
            if let Some(prefix) = shown.strip_suffix(suffix) {
                return pair(prefix).ok_or_else(|| {
                    FileError::format(
                        path,
                        format!("needs its pair {prefix}_TRAIN.ts and {prefix}_TEST.ts"),
                    )
                });
            }
        }
        if path.is_file() {
            let mut magic = [0u8; 4];
            let mut f = std::fs::File::open(path).map_err(FileError::io_at(path))?;
            let got = std::io::Read::read(&mut f, &mut magic).map_err(FileError::io_at(path))?;
            if got == 4 && &magic == b"PK\x03\x04" {
                return Ok(Source::Npz(path.to_path_buf()));
            }
            return Err(FileError::format(
                path,
                "is not a data set blasrnn reads: an .npz archive, a .ts pair (NAME_TRAIN.ts, \
                 NAME_TEST.ts) or a directory of MNIST IDX files",
            ));
        }
        Err(FileError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ))
    }

    /// Whether the data are 8-bit images (MNIST).
    pub fn images(&self) -> bool {
        matches!(self, Source::Images(_))
    }

    /// Both splits. MNIST's pixels are scaled by `pixel_scale`; other data are standardised with
    /// the training set's per-dimension mean and standard deviation.
    pub fn load(&self, pixel_scale: f64) -> Result<Labelled, FileError> {
        let mut notes = Vec::new();
        let (mut train, mut test) = match self {
            Source::Images(dir) => {
                let m = mnist::Mnist::load(dir)?;
                (m.train, m.test)
            }
            Source::Ts { train, test } => {
                let tr = ts::read(train)?;
                let classes = tr.classes.clone();
                if tr.labels.is_none() {
                    return Err(FileError::format(
                        train,
                        "has no class labels (@classLabel false): nothing to learn",
                    ));
                }
                let te = ts::read(test)?;
                if te.dims != tr.dims {
                    return Err(FileError::format(
                        test,
                        format!(
                            "series of {} dimensions, but the training set's have {}",
                            te.dims, tr.dims
                        ),
                    ));
                }
                (tr.into_set(train, &classes)?, te.into_set(test, &classes)?)
            }
            Source::Npz(path) => {
                let mut npz = npz::Npz::open(path)?;
                let (tr, note) = npz::load_split(&mut npz, "train", None)?;
                notes.extend(note);
                let (te, note) = npz::load_split(&mut npz, "test", Some(&tr.classes))?;
                notes.extend(note);
                if te.dims != tr.dims {
                    return Err(FileError::format(
                        path,
                        format!("x_test has {} numbers a step, x_train {}", te.dims, tr.dims),
                    ));
                }
                (tr, te)
            }
        };
        train.norm = match self {
            Source::Images(_) => Norm::scaled(train.dims, pixel_scale),
            _ => train.standardisation(),
        };
        test.norm = train.norm.clone();
        Ok(Labelled { train, test, notes })
    }

    /// The test split only, normalised by `norm` and labelled over `classes` (a saved model's).
    pub fn load_test(&self, norm: &Norm, classes: &[String]) -> Result<SeqSet, FileError> {
        let mut test = match self {
            Source::Images(dir) => mnist::load_split(dir, "t10k")?,
            Source::Ts { test, .. } => ts::read(test)?.into_set(test, classes)?,
            Source::Npz(path) => {
                npz::load_split(&mut npz::Npz::open(path)?, "test", Some(classes))?.0
            }
        };
        test.norm = norm.clone();
        Ok(test)
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
