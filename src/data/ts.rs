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
    let bad = |line: usize, problem: String| Error::format(path, format!("line {line}: {problem}"));
    let mut dims: Option<usize> = None;
    let mut equal: Option<usize> = None;
    let mut has_labels: Option<bool> = None;
    let mut has_targets = false;
    let mut targets = Vec::new();
    let mut classes: Vec<String> = Vec::new();
    let mut in_data = false;
    let mut series = Vec::new();
    let mut labels = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_data {
            let mut words = line.split_whitespace();
            let key = words.next().unwrap_or("").to_ascii_lowercase();
            let rest: Vec<&str> = words.collect();
            let flag = |v: Option<&&str>| match v.map(|s| s.to_ascii_lowercase()) {
                Some(s) if s == "true" => Ok(true),
                Some(s) if s == "false" => Ok(false),
                _ => Err(bad(n, format!("{key} needs true or false"))),
            };
            let number = |v: Option<&&str>| {
                v.and_then(|s| s.parse::<usize>().ok())
                    .filter(|&k| k > 0)
                    .ok_or_else(|| bad(n, format!("{key} needs a positive whole number")))
            };
            match key.as_str() {
                "@problemname" | "@missing" | "@univariate" => {}
                "@timestamps" => {
                    if flag(rest.first())? {
                        return Err(bad(n, "series with time stamps are not supported".into()));
                    }
                }
                "@dimensions" => dims = Some(number(rest.first())?),
                "@equallength" => {
                    if !flag(rest.first())? {
                        equal = None;
                    }
                }
                "@serieslength" => equal = Some(number(rest.first())?),
                "@classlabel" => {
                    has_labels = Some(flag(rest.first())?);
                    classes = rest[1..].iter().map(|s| s.to_string()).collect();
                    if has_labels == Some(true) && classes.is_empty() {
                        return Err(bad(n, "@classLabel true lists no class".into()));
                    }
                }
                "@targetlabel" => has_targets = flag(rest.first())?,
                "@data" => in_data = true,
                _ => return Err(bad(n, format!("unknown header {:?}", key))),
            }
            continue;
        }
        if has_targets && has_labels == Some(true) {
            return Err(bad(
                n,
                "the header declares both class labels (@classLabel) and regression targets \
                 (@targetLabel): one or the other"
                    .into(),
            ));
        }
        let mut parts: Vec<&str> = line.split(':').collect();
        if has_targets {
            let v = parts.pop().unwrap_or("").trim();
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => targets.push(x),
                _ => {
                    return Err(bad(n, format!("the target {v:?} is not a finite number")));
                }
            }
        }
        let label = match has_labels {
            Some(true) => {
                let l = parts.pop().unwrap_or("").trim();
                if !classes.iter().any(|c| c == l) {
                    return Err(bad(
                        n,
                        format!(
                            "class label {l:?} is not one @classLabel declares ({})",
                            super::quoted(&classes)
                        ),
                    ));
                }
                Some(l.to_string())
            }
            _ => None,
        };
        let d = *dims.get_or_insert(parts.len());
        if parts.len() != d {
            return Err(bad(
                n,
                format!("{} dimensions, but the file has {d}", parts.len()),
            ));
        }
        let mut columns: Vec<Vec<f64>> = Vec::with_capacity(d);
        for (k, part) in parts.iter().enumerate() {
            let mut col = Vec::new();
            for v in part.split(',') {
                let v = v.trim();
                if v == "?" || v.eq_ignore_ascii_case("nan") {
                    return Err(bad(
                        n,
                        format!(
                            "a missing value ({v}) in dimension {}: fill it first",
                            k + 1
                        ),
                    ));
                }
                match v.parse::<f64>() {
                    Ok(x) if x.is_finite() => col.push(x),
                    _ => {
                        return Err(bad(
                            n,
                            format!("{v:?} in dimension {} is not a number", k + 1),
                        ));
                    }
                }
            }
            if col.len() != columns.first().map_or(col.len(), Vec::len) {
                return Err(bad(
                    n,
                    format!(
                        "dimension {} has {} values but dimension 1 has {}",
                        k + 1,
                        col.len(),
                        columns[0].len()
                    ),
                ));
            }
            columns.push(col);
        }
        let len = columns[0].len();
        if let Some(l) = equal.filter(|&l| l != len) {
            return Err(bad(
                n,
                format!("a series of {len} steps, but @seriesLength is {l}"),
            ));
        }
        let mut values = Vec::with_capacity(len * d);
        for t in 0..len {
            values.extend(columns.iter().map(|c| c[t]));
        }
        series.push(values);
        labels.extend(label);
    }
    if !in_data {
        return Err(Error::format(path, "no @data section: not a .ts file"));
    }
    if series.is_empty() {
        return Err(Error::format(path, "no series after @data"));
    }
    Ok(TsFile {
        dims: dims.unwrap_or(1),
        labels: (has_labels == Some(true)).then_some(labels),
        targets: has_targets.then_some(targets),
        series,
        classes,
    })
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
