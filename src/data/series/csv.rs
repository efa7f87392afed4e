//! A series as read from a CSV file: a header naming the columns, one row per time step.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A series as read from a CSV file: `columns` named in the header, `[n][columns]` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The file.
    pub path: PathBuf,
    /// The columns' names, from the header.
    pub columns: Vec<String>,
    /// The values, row by row (`[n][columns.len()]`).
    pub values: Vec<f64>,
}

impl Series {
    /// Time steps.
    pub fn len(&self) -> usize {
        self.values.len() / self.columns.len().max(1)
    }

    /// Whether it has no step.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Column `c` as a vector (empty when there is no such column).
    pub fn column(&self, c: usize) -> Vec<f64> {
        if c >= self.columns.len() {
            return Vec::new();
        }
        self.values
            .iter()
            .skip(c)
            .step_by(self.columns.len())
            .copied()
            .collect()
    }

    /// Checks the shape a caller may have built: at least one column, and the values whole
    /// rows of them.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and what is wrong.
    pub fn check(&self) -> Result<()> {
        let c = self.columns.len();
        if c == 0 {
            return Err(Error::format(&self.path, "the series has no column"));
        }
        if self.values.len() % c != 0 {
            return Err(Error::format(
                &self.path,
                format!(
                    "{} values are not whole rows of the {c} columns",
                    self.values.len()
                ),
            ));
        }
        Ok(())
    }

    /// The index of the column called `name`.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and its columns when there is none of that name.
    pub fn find(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            Error::format(
                &self.path,
                format!(
                    "has no column {name:?}; its columns are {}",
                    crate::data::quoted(&self.columns)
                ),
            )
        })
    }
}

/// Reads a series from a CSV file: a header, then one row of numbers per time step (commas
/// between; quotes around a name allowed). A column of dates or labels (one whose fields are not
/// numbers, or mostly not) is left out, and so is an index column without a name (as pandas writes one);
/// every field of every other column must be a finite number.
///
/// # Errors
/// [`Error::Format`] naming the file and, for a value, its line and column: no header, no numeric
/// column, a missing or non-numeric value, rows of another length.
pub fn read_csv(path: impl AsRef<Path>) -> Result<Series> {
    let path = path.as_ref();
    let text = crate::data::text::read_text(path)?;
    let bad = |line: usize, problem: String| Error::format(path, format!("line {line}: {problem}"));
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| Error::format(path, "has no header line"))?;
    let names: Vec<String> = split(header)
        .map(|n| n.trim_matches('"').to_string())
        .collect();
    let rows: Vec<(usize, Vec<&str>)> = lines.map(|(n, l)| (n, split(l).collect())).collect();
    if rows.is_empty() {
        return Err(Error::format(path, "has a header but no rows"));
    }
    for (n, fields) in &rows {
        if fields.len() != names.len() {
            return Err(bad(
                *n,
                format!(
                    "{} fields, but the header names {}",
                    fields.len(),
                    names.len()
                ),
            ));
        }
    }
    // A column is numeric when at least as many of its fields are numbers as are text other than
    // a missing value's spelling (a date is never a number), so that a
    // missing or mistyped value anywhere in it, the first row included, is an error and not a
    // column quietly left out; an unnamed first column is the index a data frame was written
    // with.
    let keep: Vec<usize> = (0..names.len())
        .filter(|&c| !(c == 0 && names[c].is_empty() && names.len() > 1))
        .filter(|&c| {
            let numbers = rows.iter().filter(|(_, f)| number(f[c]).is_some()).count();
            let text = rows
                .iter()
                .filter(|(_, f)| number(f[c]).is_none() && !missing(f[c]))
                .count();
            numbers > 0 && numbers >= text
        })
        .collect();
    if keep.is_empty() {
        return Err(Error::format(
            path,
            format!(
                "has no numeric column (its columns: {})",
                crate::data::quoted(&names)
            ),
        ));
    }
    let mut values = Vec::with_capacity(rows.len() * keep.len());
    for (n, fields) in &rows {
        for &c in &keep {
            let f = fields[c];
            match number(f) {
                Some(v) if v.is_finite() => values.push(v),
                _ if missing(f) => {
                    return Err(bad(
                        *n,
                        format!(
                            "column {:?} has a missing value ({f:?}): fill it first",
                            names[c]
                        ),
                    ));
                }
                _ => {
                    return Err(bad(
                        *n,
                        format!("column {:?}: {f:?} is not a finite number", names[c]),
                    ));
                }
            }
        }
    }
    Ok(Series {
        path: path.to_path_buf(),
        columns: keep.iter().map(|&c| names[c].clone()).collect(),
        values,
    })
}

/// The fields of a CSV line.
fn split(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(str::trim)
}

/// A field as a number, if it is one.
fn number(field: &str) -> Option<f64> {
    field.trim_matches('"').parse().ok()
}

/// Whether a field is a missing value's usual spelling.
fn missing(field: &str) -> bool {
    let f = field.trim_matches('"').to_ascii_lowercase();
    ["", "na", "nan", "null", "none", "?", "-"].contains(&f.as_str())
}
