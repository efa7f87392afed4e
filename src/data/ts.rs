//! UCR/UEA time-series classification files (`.ts`, the format sktime, aeon and tslearn read).
//!
//! ```text
//! # comments
//! @problemName JapaneseVowels
//! @timeStamps false
//! @missing false
//! @univariate false
//! @dimensions 12
//! @equalLength false
//! @seriesLength 29          (with @equalLength true)
//! @classLabel true 1 2 3 4 5 6 7 8 9
//! @data
//! 1.86,1.89,…:-0.21,-0.19,…:…:3      (one series a line: dimensions split by ':', values by ',', the label last)
//! ```
//! A regression file (the UEA/Monash extrinsic regression archive's) says `@targetLabel true`
//! instead, and ends each line with a real number, the series' target.
//!
//! Every error names the file and, for the data, the line. Missing values (`?`) are an error:
//! the engine has nothing to fill them with that the user would not rather choose.

use super::SeqSet;
use crate::error::Error;
use std::path::Path;

/// The series of a `.ts` file, before they become a [`SeqSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct TsFile {
    /// Numbers per step, D.
    pub dims: usize,
    /// Each series' values, `[len][D]`.
    pub series: Vec<Vec<f64>>,
    /// Each series' class label, as written (when the file has labels).
    pub labels: Option<Vec<String>>,
    /// Each series' target (when the file is a regression file, `@targetLabel true`).
    pub targets: Option<Vec<f64>>,
    /// The labels `@classLabel` declares, in its order.
    pub classes: Vec<String>,
}

/// Reads a `.ts` file.
pub fn read(path: &Path) -> Result<TsFile, Error> {
    let text = super::text::read_text(path)?;
    let mut header = Header::default();
    let mut in_data = false;
    let (mut series, mut labels, mut targets) = (Vec::new(), Vec::new(), Vec::new());
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |problem: String| Error::format(path, format!("line {}: {problem}", i + 1));
        if !in_data {
            in_data = header.read(line, &bad)?;
            continue;
        }
        let (values, label, target) = header.data(line, &bad)?;
        series.push(values);
        labels.extend(label);
        targets.extend(target);
    }
    if !in_data {
        return Err(Error::format(path, "no @data section: not a .ts file"));
    }
    if series.is_empty() {
        return Err(Error::format(path, "no series after @data"));
    }
    Ok(TsFile {
        dims: header.dims.unwrap_or(1),
        labels: (header.labels == Some(true)).then_some(labels),
        targets: header.targets.then_some(targets),
        series,
        classes: header.classes,
    })
}

/// What a file's header declares (the number of dimensions is also learnt from the first
/// series when the header does not say it).
#[derive(Default)]
struct Header {
    dims: Option<usize>,
    equal: Option<usize>,
    labels: Option<bool>,
    targets: bool,
    classes: Vec<String>,
}

/// A line's error, naming the file and the line.
type Bad<'a> = &'a dyn Fn(String) -> Error;

/// One series of a file: its values `[len][D]`, its class label and its target.
type Row = (Vec<f64>, Option<String>, Option<f64>);

impl Header {
    /// Reads one header line; whether it is `@data`, the last.
    fn read(&mut self, line: &str, bad: Bad) -> Result<bool, Error> {
        let mut words = line.split_whitespace();
        let key = words.next().unwrap_or("").to_ascii_lowercase();
        let rest: Vec<&str> = words.collect();
        let flag = |v: Option<&&str>| match v.map(|s| s.to_ascii_lowercase()) {
            Some(s) if s == "true" => Ok(true),
            Some(s) if s == "false" => Ok(false),
            _ => Err(bad(format!("{key} needs true or false"))),
        };
        let number = |v: Option<&&str>| {
            v.and_then(|s| s.parse::<usize>().ok())
                .filter(|&k| k > 0)
                .ok_or_else(|| bad(format!("{key} needs a positive whole number")))
        };
        match key.as_str() {
            "@problemname" | "@missing" | "@univariate" => {}
            "@timestamps" => {
                if flag(rest.first())? {
                    return Err(bad("series with time stamps are not supported".into()));
                }
            }
            "@dimensions" => self.dims = Some(number(rest.first())?),
            "@equallength" => {
                if !flag(rest.first())? {
                    self.equal = None;
                }
            }
            "@serieslength" => self.equal = Some(number(rest.first())?),
            "@classlabel" => {
                self.labels = Some(flag(rest.first())?);
                self.classes = rest[1..].iter().map(|s| s.to_string()).collect();
                if self.labels == Some(true) && self.classes.is_empty() {
                    return Err(bad("@classLabel true lists no class".into()));
                }
            }
            "@targetlabel" => self.targets = flag(rest.first())?,
            "@data" => return Ok(true),
            _ => return Err(bad(format!("unknown header {:?}", key))),
        }
        Ok(false)
    }

    /// One series of the data: its values `[len][D]`, its class label and its target (when the
    /// file has them).
    fn data(&mut self, line: &str, bad: Bad) -> Result<Row, Error> {
        if self.targets && self.labels == Some(true) {
            return Err(bad(
                "the header declares both class labels (@classLabel) and regression targets \
                 (@targetLabel): one or the other"
                    .into(),
            ));
        }
        let mut parts: Vec<&str> = line.split(':').collect();
        let target = if self.targets {
            let v = parts.pop().unwrap_or("").trim();
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Some(x),
                _ => return Err(bad(format!("the target {v:?} is not a finite number"))),
            }
        } else {
            None
        };
        let label = match self.labels {
            Some(true) => {
                let l = parts.pop().unwrap_or("").trim();
                if !self.classes.iter().any(|c| c == l) {
                    return Err(bad(format!(
                        "class label {l:?} is not one @classLabel declares ({})",
                        super::quoted(&self.classes)
                    )));
                }
                Some(l.to_string())
            }
            _ => None,
        };
        let d = *self.dims.get_or_insert(parts.len());
        if parts.len() != d {
            return Err(bad(format!(
                "{} dimensions, but the file has {d}",
                parts.len()
            )));
        }
        let columns = dimensions(&parts, bad)?;
        let len = columns[0].len();
        if let Some(l) = self.equal.filter(|&l| l != len) {
            return Err(bad(format!(
                "a series of {len} steps, but @seriesLength is {l}"
            )));
        }
        let mut values = Vec::with_capacity(len * d);
        for t in 0..len {
            values.extend(columns.iter().map(|c| c[t]));
        }
        Ok((values, label, target))
    }
}

/// The values of each dimension of a series (`parts`, each values split by `,`), all of one
/// length.
fn dimensions(parts: &[&str], bad: Bad) -> Result<Vec<Vec<f64>>, Error> {
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(parts.len());
    for (k, part) in parts.iter().enumerate() {
        let mut col = Vec::new();
        for v in part.split(',') {
            let v = v.trim();
            if v == "?" || v.eq_ignore_ascii_case("nan") {
                return Err(bad(format!(
                    "a missing value ({v}) in dimension {}: fill it first",
                    k + 1
                )));
            }
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => col.push(x),
                _ => {
                    return Err(bad(format!("{v:?} in dimension {} is not a number", k + 1)));
                }
            }
        }
        if col.len() != columns.first().map_or(col.len(), Vec::len) {
            return Err(bad(format!(
                "dimension {} has {} values but dimension 1 has {}",
                k + 1,
                col.len(),
                columns[0].len()
            )));
        }
        columns.push(col);
    }
    Ok(columns)
}

impl TsFile {
    /// The series as a regression set, each with its one target (`target`); a file without
    /// targets gives sequences to predict.
    pub fn into_values(self, path: &Path) -> Result<SeqSet, Error> {
        let targets = self.targets.clone();
        let set = self.into_set(path, &[])?;
        match targets {
            Some(y) => set
                .with_values(y, 1, vec!["target".into()])
                .map_err(|e| Error::format(path, e.to_string())),
            None => Ok(set),
        }
    }

    /// The series as a labelled set over `classes` (the training set's, in the model's order);
    /// unlabelled files get class 0. Values are padded to the longest series.
    pub fn into_set(self, path: &Path, classes: &[String]) -> Result<SeqSet, Error> {
        let ids = match &self.labels {
            Some(labels) => labels
                .iter()
                .map(|l| {
                    classes
                        .iter()
                        .position(|c| c == l)
                        .map(|k| k as u32)
                        .ok_or_else(|| {
                            Error::format(
                                path,
                                format!(
                                    "class {l:?} is not one of the model's ({})",
                                    super::quoted(classes)
                                ),
                            )
                        })
                })
                .collect::<Result<Vec<u32>, _>>()?,
            None => vec![0; self.series.len()],
        };
        let lens: Vec<usize> = self.series.iter().map(|s| s.len() / self.dims).collect();
        let mut set = super::pad(path, &self.series, &lens, self.dims, ids, classes.to_vec())?;
        if self.labels.is_none() {
            set.targets = super::Targets::None;
        }
        Ok(set)
    }
}
