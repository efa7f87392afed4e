//! A labelled split of an `.npz` archive: `x_{split}`, `y_{split}` and `len_{split}` as a
//! [`SeqSet`], its targets read as classes, real numbers or a class at every step.

use super::{Array, Npz, Values, class_names};
use crate::data::SeqSet;
use crate::error::Error;

/// What a split's `y` must be.
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// Whatever the training split's `y` says: floats are regression targets (N, or N×K), integers
    /// or strings one class per sequence (N) or one per step (N×T); with `regression`, integers
    /// are regression targets too.
    Any {
        /// Read numbers as regression targets whatever their dtype.
        regression: bool,
    },
    /// One class per sequence, of these.
    Classes(&'a [String]),
    /// A class per step, of these.
    Steps(&'a [String]),
    /// `K` regression targets per sequence.
    Values(usize),
}

impl<'a> Expect<'a> {
    /// What a model that expects this predicts, in words.
    pub fn answers(&self) -> &'static str {
        match self {
            Expect::Any { .. } => "anything",
            Expect::Classes(_) => "a class per sequence",
            Expect::Steps(_) => "a class per step",
            Expect::Values(_) => "numbers per sequence",
        }
    }

    /// What a test split of a training split `set` must hold.
    pub fn like(set: &'a SeqSet) -> Expect<'a> {
        match &set.targets {
            crate::data::Targets::Steps(_) => Expect::Steps(&set.classes),
            crate::data::Targets::Values { k, .. } => Expect::Values(*k),
            _ => Expect::Classes(&set.classes),
        }
    }
}

/// The labelled set `x_{split}`, `y_{split}`, `len_{split}` of the archive, its targets as
/// `expect` says (class names are defined by the training split and followed by the test's).
/// Returns the set and, when `x` was 2-D, a note saying it was read as D = 1.
pub fn load_split(
    npz: &mut Npz,
    split: &str,
    expect: Expect,
) -> Result<(SeqSet, Option<String>), Error> {
    let path = npz.path.clone();
    let bad = |problem: String| Error::format(&path, problem);
    let get = |npz: &mut Npz, name: String| -> Result<Array, Error> {
        npz.array(&name)?.ok_or_else(|| {
            bad(format!(
                "no array {name} (it holds {}); a labelled set needs x_{split} (N×T×D), y_{split} (N) \
                 and optionally len_{split} (N)",
                crate::data::quoted(&npz.names())
            ))
        })
    };
    let x = get(npz, format!("x_{split}"))?;
    let y = get(npz, format!("y_{split}"))?;
    let lens = npz.array(&format!("len_{split}"))?;
    let (n, t, d, note) = match x.shape[..] {
        [n, t, d] => (n, t, d, None),
        [n, t] => (
            n,
            t,
            1,
            Some(format!(
                "x_{split} is 2-D (N×T): read as one number a step (D = 1)"
            )),
        ),
        _ => {
            return Err(bad(format!(
                "x_{split} has shape {:?}; it needs N×T×D (sequences × steps × numbers a step)",
                x.shape
            )));
        }
    };
    if n == 0 || t == 0 || d == 0 {
        return Err(bad(format!(
            "x_{split} has shape {:?}: an empty set",
            x.shape
        )));
    }
    let Values::Numbers(xv) = x.values else {
        return Err(bad(format!("x_{split} holds strings; it needs numbers")));
    };
    let lens: Vec<usize> = match lens {
        None => vec![t; n],
        Some(l) => {
            let Values::Numbers(lv) = &l.values else {
                return Err(bad(format!(
                    "len_{split} holds strings; it needs whole numbers"
                )));
            };
            if l.shape != [n] {
                return Err(bad(format!(
                    "len_{split} has shape {:?} but x_{split} holds {n} sequences",
                    l.shape
                )));
            }
            lv.iter()
                .enumerate()
                .map(|(i, &v)| {
                    if v.fract() == 0.0 && v >= 1.0 && v <= t as f64 {
                        Ok(v as usize)
                    } else {
                        Err(bad(format!(
                            "len_{split}[{i}] = {v}: a length must be a whole number in 1..={t}"
                        )))
                    }
                })
                .collect::<Result<_, _>>()?
        }
    };
    let mut series = Vec::with_capacity(n);
    for (i, &len) in lens.iter().enumerate() {
        let s = &xv[i * t * d..(i * t + len) * d];
        if let Some(k) = s.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!(
                "x_{split}[{i}] holds {} at step {} (within its length {len}); fill it, or give len_{split}",
                s[k],
                k / d
            )));
        }
        series.push(s.to_vec());
    }
    let targets = Targets::of(&y, split, expect, (n, t), &lens).map_err(bad)?;
    let (labels, classes) = match &targets {
        Targets::Classes(labels, classes) => (labels.clone(), classes.clone()),
        _ => (vec![0; n], Vec::new()),
    };
    let set = crate::data::pad(&path, &series, &lens, d, labels, classes)?;
    let set = match targets {
        Targets::Classes(..) => Ok(set),
        Targets::Steps(labels, classes) => set.with_step_labels(labels, classes),
        Targets::Values(values, k) => {
            let names = (0..k).map(|j| format!("y{j}")).collect();
            set.with_values(values, k, names)
        }
    }
    .map_err(|e| bad(e.to_string()))?;
    Ok((set, note))
}

/// A split's targets as read from its `y`.
enum Targets {
    Classes(Vec<u32>, Vec<String>),
    Steps(Vec<u32>, Vec<String>),
    Values(Vec<f64>, usize),
}

impl Targets {
    /// Reads `y` (of a split of `n` sequences of up to `t` steps, lengths `lens`) as `expect`
    /// says; the error says what is wrong with it.
    fn of(
        y: &Array,
        split: &str,
        expect: Expect,
        (n, t): (usize, usize),
        lens: &[usize],
    ) -> Result<Targets, String> {
        let r = Labels {
            y,
            split,
            n,
            t,
            lens,
        };
        let shape = &y.shape[..];
        match expect {
            Expect::Values(k) if shape == [n] && k == 1 => r.values(1),
            Expect::Values(k) if shape == [n, k] => r.values(k),
            Expect::Values(k) => Err(format!(
                "y_{split} has shape {shape:?}, but the training set's {k} targets per sequence \
                 need ({n}, {k})"
            )),
            Expect::Steps(classes) => r.per_step(Some(classes)),
            Expect::Classes(classes) if shape == [n] => {
                Ok(Targets::Classes(r.index(classes)?, classes.to_vec()))
            }
            Expect::Classes(_) => Err(format!(
                "y_{split} has shape {shape:?} but x_{split} holds {n} sequences: it needs ({n},)"
            )),
            Expect::Any { regression } => match shape {
                [m] if *m == n && (y.float || regression) => r.values(1),
                [m] if *m == n => {
                    let defined = class_names(&y.values);
                    Ok(Targets::Classes(r.index(&defined)?, defined))
                }
                [m, k] if *m == n && (y.float || regression) => r.values(*k),
                [m, _] if *m == n => r.per_step(None),
                _ => Err(format!(
                    "y_{split} has shape {shape:?} but x_{split} holds {n} sequences: it needs \
                     ({n},) (a class or a target per sequence), ({n}, K) (K targets) or \
                     ({n}, {t}) (a class per step)"
                )),
            },
        }
    }
}

/// A split's `y` read against its `x`: `n` sequences of up to `t` steps, of lengths `lens`.
struct Labels<'a> {
    y: &'a Array,
    split: &'a str,
    n: usize,
    t: usize,
    lens: &'a [usize],
}

impl Labels<'_> {
    /// `k` regression targets per sequence.
    fn values(&self, k: usize) -> Result<Targets, String> {
        let split = self.split;
        let v = match &self.y.values {
            Values::Numbers(v) => v.clone(),
            Values::Strings(_) => {
                return Err(format!(
                    "y_{split} holds strings, but regression targets must be numbers"
                ));
            }
        };
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "y_{split}[{}] = {}: a regression target must be a finite number",
                i / k,
                v[i]
            ));
        }
        Ok(Targets::Values(v, k))
    }

    /// Every label as text.
    fn names(&self) -> Vec<String> {
        match &self.y.values {
            Values::Numbers(v) => v.iter().map(|x| format!("{x}")).collect(),
            Values::Strings(v) => v.clone(),
        }
    }

    /// One class per sequence: each label's index among the classes `defined`.
    fn index(&self, defined: &[String]) -> Result<Vec<u32>, String> {
        let split = self.split;
        self.names()
            .iter()
            .enumerate()
            .map(|(i, l)| {
                defined
                    .iter()
                    .position(|c| c == l)
                    .map(|k| k as u32)
                    .ok_or_else(|| {
                        format!(
                            "y_{split}[{i}] = {l:?} is not a class of the training set ({})",
                            crate::data::quoted(defined)
                        )
                    })
            })
            .collect()
    }

    /// A class at every step: of the classes given, or of those the labels within each
    /// sequence's length name (the padding may hold anything).
    fn per_step(&self, classes: Option<&[String]>) -> Result<Targets, String> {
        let (split, n, t, shape) = (self.split, self.n, self.t, &self.y.shape[..]);
        if shape != [n, t] {
            return Err(format!(
                "y_{split} has shape {shape:?}, but labels of every step of x_{split} need ({n}, {t})"
            ));
        }
        let live = |i: usize| i % t < self.lens[i / t];
        let defined = match classes {
            Some(c) => c.to_vec(),
            None => class_names(&match &self.y.values {
                Values::Numbers(v) => Values::Numbers(
                    v.iter()
                        .enumerate()
                        .filter(|(i, _)| live(*i))
                        .map(|(_, x)| *x)
                        .collect(),
                ),
                Values::Strings(v) => Values::Strings(
                    v.iter()
                        .enumerate()
                        .filter(|(i, _)| live(*i))
                        .map(|(_, x)| x.clone())
                        .collect(),
                ),
            }),
        };
        let mut labels = vec![0u32; n * t];
        for (i, l) in self.names().iter().enumerate().filter(|(i, _)| live(*i)) {
            labels[i] = defined
                .iter()
                .position(|c| c == l)
                .map(|k| k as u32)
                .ok_or_else(|| {
                    format!(
                        "y_{split}[{}, {}] = {l:?} is not a class of the training set ({})",
                        i / t,
                        i % t,
                        crate::data::quoted(&defined)
                    )
                })?;
        }
        Ok(Targets::Steps(labels, defined))
    }
}
