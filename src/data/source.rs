//! Where a labelled data set comes from ([`Source`]: recognised from a path and its contents) and
//! the two splits it gives ([`Labelled`]).

use super::DataInfo;
use super::{Norm, SeqSet, idx, mnist, npz, ts};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

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
    /// Whether the sequences are 8-bit images read row by row (MNIST).
    pub images: bool,
    /// Things worth telling the user about how the data was read.
    pub notes: Vec<String>,
}

impl Labelled {
    /// A data set of a caller's own splits (see [`SeqSet::from_arrays`]): each input dimension
    /// standardised with the training split's mean and standard deviation. The classes are the
    /// training split's (their names kept); a test label is an index into them.
    ///
    /// # Errors
    /// When the training split has no labels, the splits' numbers a step differ, or a test
    /// label is not a training class.
    pub fn new(mut train: SeqSet, mut test: SeqSet) -> Result<Labelled> {
        use super::Targets;
        if test.dims != train.dims {
            return Err(Error::shape(format!(
                "the test split has {} numbers a step, the training split {}",
                test.dims, train.dims
            )));
        }
        match (&train.targets, &test.targets) {
            (Targets::None, _) => return Err(Error::shape("the training split has no targets")),
            (Targets::Classes, Targets::Classes) | (Targets::Steps(_), Targets::Steps(_)) => {
                let k = train.classes.len();
                if let Some(l) = test.class_labels().find(|&l| l as usize >= k) {
                    return Err(Error::shape(format!(
                        "the test split has class {l}, not one of the training split's {k} \
                         classes"
                    )));
                }
                test.classes = train.classes.clone();
            }
            (Targets::Values { k, .. }, Targets::Values { k: kt, .. }) if k == kt => {}
            (Targets::Values { k, .. }, Targets::Values { k: kt, .. }) => {
                return Err(Error::shape(format!(
                    "the test split has {kt} targets per sequence, the training split {k}"
                )));
            }
            _ => {
                return Err(Error::shape(
                    "the test split's targets are not of the training split's kind",
                ));
            }
        }
        train.norm = train.standardisation();
        test.norm = train.norm.clone();
        if let Some(t) = train.target_standardisation() {
            train.standardise_targets(&t);
            test.standardise_targets(&t);
        }
        Ok(Labelled {
            train,
            test,
            images: false,
            notes: Vec::new(),
        })
    }
}

impl Source {
    /// Recognises `path`: a directory holding MNIST's IDX files or one `*_TRAIN.ts`/`*_TEST.ts`
    /// pair, the common prefix of such a pair, one of its two files, or an `.npz` archive.
    pub fn find(path: impl AsRef<Path>) -> Result<Source, Error> {
        let path = path.as_ref();
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
                .map_err(Error::io_at(path))?
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
                    Error::format(path, format!("holds {one}_TRAIN.ts but no {one}_TEST.ts"))
                }),
                [] => Err(Error::format(
                    path,
                    "holds no data set: expected MNIST's IDX files (train-images-idx3-ubyte, …) or a \
                     UCR/UEA pair NAME_TRAIN.ts + NAME_TEST.ts",
                )),
                many => Err(Error::format(
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
                    Error::format(
                        path,
                        format!("needs its pair {prefix}_TRAIN.ts and {prefix}_TEST.ts"),
                    )
                });
            }
        }
        if path.is_file() {
            let mut magic = [0u8; 4];
            let mut f = std::fs::File::open(path).map_err(Error::io_at(path))?;
            let got = std::io::Read::read(&mut f, &mut magic).map_err(Error::io_at(path))?;
            if got == 4 && &magic == b"PK\x03\x04" {
                return Ok(Source::Npz(path.to_path_buf()));
            }
            return Err(Error::format(
                path,
                "is not a data set blasrnn reads: an .npz archive, a .ts pair (NAME_TRAIN.ts, \
                 NAME_TEST.ts) or a directory of MNIST IDX files",
            ));
        }
        Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ))
    }

    /// Whether the data are 8-bit images (MNIST).
    pub fn images(&self) -> bool {
        matches!(self, Source::Images(_))
    }

    /// Both splits. MNIST's pixels are scaled by `pixel_scale`; other data are standardised with
    /// the training set's per-dimension mean and standard deviation, and regression targets
    /// with the training set's per-target mean and standard deviation.
    pub fn load(&self, pixel_scale: f64) -> Result<Labelled, Error> {
        self.load_as(pixel_scale, false)
    }

    /// [`Source::load`], reading an `.npz`'s integer targets as regression targets when
    /// `regression` (floats always are).
    pub fn load_as(&self, pixel_scale: f64, regression: bool) -> Result<Labelled, Error> {
        let mut notes = Vec::new();
        let (mut train, mut test) = match self {
            Source::Images(dir) => {
                let m = mnist::Mnist::load(dir)?;
                (m.train, m.test)
            }
            Source::Ts { train, test } => {
                let tr = ts::read(train)?;
                let classes = tr.classes.clone();
                let regression = tr.targets.is_some();
                if tr.labels.is_none() && !regression {
                    return Err(Error::format(
                        train,
                        "has no class labels (@classLabel false) nor targets (@targetLabel \
                         false): nothing to learn",
                    ));
                }
                let te = ts::read(test)?;
                if te.dims != tr.dims {
                    return Err(Error::format(
                        test,
                        format!(
                            "series of {} dimensions, but the training set's have {}",
                            te.dims, tr.dims
                        ),
                    ));
                }
                if regression != te.targets.is_some() {
                    return Err(Error::format(
                        test,
                        "the training file holds regression targets (@targetLabel true) and \
                         this one class labels, or the other way round",
                    ));
                }
                if regression {
                    (tr.into_values(train)?, te.into_values(test)?)
                } else {
                    (tr.into_set(train, &classes)?, te.into_set(test, &classes)?)
                }
            }
            Source::Npz(path) => {
                let mut npz = npz::Npz::open(path)?;
                let any = npz::Expect::Any { regression };
                let (tr, note) = npz::load_split(&mut npz, "train", any)?;
                notes.extend(note);
                let (te, note) = npz::load_split(&mut npz, "test", npz::Expect::like(&tr))?;
                notes.extend(note);
                if te.dims != tr.dims {
                    return Err(Error::format(
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
        if let Some(t) = train.target_standardisation() {
            train.standardise_targets(&t);
            test.standardise_targets(&t);
        }
        Ok(Labelled {
            train,
            test,
            images: self.images(),
            notes,
        })
    }

    /// The test split only, read as a model trained on this data's kind reads it (`info`: its
    /// input normalisation and target standardisation; `expect`: what its targets must be, with
    /// the model's class names).
    ///
    /// # Errors
    /// As [`Source::load`]; when the split's targets are not what `expect` says.
    pub fn load_test(&self, info: &DataInfo, expect: npz::Expect) -> Result<SeqSet, Error> {
        let Some(norm) = info.norm() else {
            return Err(Error::task(
                "a language model reads text, not labelled sequences",
            ));
        };
        let mut test = match (self, expect) {
            (Source::Images(dir), npz::Expect::Classes(_)) => mnist::load_split(dir, "t10k")?,
            (Source::Ts { test, .. }, npz::Expect::Classes(names)) => {
                ts::read(test)?.into_set(test, names)?
            }
            (Source::Ts { test, .. }, npz::Expect::Values(_)) => {
                ts::read(test)?.into_values(test)?
            }
            (Source::Npz(path), e) => npz::load_split(&mut npz::Npz::open(path)?, "test", e)?.0,
            (other, _) => {
                return Err(Error::format(
                    other.path(),
                    format!(
                        "holds no data of a model that predicts {}",
                        expect.answers()
                    ),
                ));
            }
        };
        test.norm = norm.clone();
        if let Some(t) = info.target_norm() {
            test.standardise_targets(t);
        }
        Ok(test)
    }

    /// The path it was recognised from (a directory, or the training file).
    pub fn path(&self) -> &Path {
        match self {
            Source::Images(p) | Source::Npz(p) => p,
            Source::Ts { train, .. } => train,
        }
    }
}
