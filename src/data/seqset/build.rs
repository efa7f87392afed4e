//! Making a [`SeqSet`]: from bytes (images), from a caller's arrays or a reader's floats, and
//! with its targets — class names, numbers to predict, or a class at every step.

use super::*;

impl SeqSet {
    /// A set of equal-length byte sequences (`[N][steps][dims]` bytes), classes named `0..k`.
    ///
    /// # Errors
    /// When the bytes are not `labels.len() · steps · dims`, or a label is not below `classes`.
    pub fn from_bytes(
        bytes: Vec<u8>,
        labels: Vec<u32>,
        steps: usize,
        dims: usize,
        classes: usize,
    ) -> Result<SeqSet> {
        check_class_count(classes)?;
        if Some(bytes.len())
            != labels
                .len()
                .checked_mul(steps)
                .and_then(|v| v.checked_mul(dims))
        {
            return Err(Error::shape(format!(
                "{} bytes for {} sequences of {steps} × {dims}",
                bytes.len(),
                labels.len()
            )));
        }
        check_labels(&labels, classes)?;
        Ok(SeqSet {
            steps,
            dims,
            labels,
            classes: (0..classes).map(|k| k.to_string()).collect(),
            targets: Targets::Classes,
            norm: Norm::scaled(dims, 1.0),
            values: Values::Bytes(bytes),
            lens: None,
        })
    }

    /// A set from a caller's arrays: `x` holds `n` sequences of up to `t` steps of `d` numbers,
    /// `[n][t][d]` in C order (what NumPy's `x.ravel()` gives); `lens` each sequence's steps, in
    /// `1..=t` (`None`: every sequence has `t`); `labels` each sequence's class in `0..K`, the
    /// classes then named `0`…`K−1` for K = the largest label + 1 (`None`: sequences to
    /// predict, with no class). Values past a sequence's length are ignored.
    ///
    /// ```
    /// # fn main() -> blasrnn::Result<()> {
    /// // Two sequences of up to 3 steps of 2 numbers; the second is 2 steps long.
    /// let x = [0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0, 1.1, 1.2, 1.3, 0.0, 0.0];
    /// let set = blasrnn::SeqSet::from_arrays(&x, [2, 3, 2], Some(&[3, 2]), Some(&[0, 1]))?;
    /// assert_eq!((set.len(), set.steps, set.dims, set.classes.len()), (2, 3, 2, 2));
    /// assert_eq!(set.len_of(1), 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When `x` does not hold `n·t·d` numbers, a length is out of range, a value within a
    /// sequence is not finite, or there is not one label per sequence.
    pub fn from_arrays<V: Copy + Into<f64>>(
        x: &[V],
        [n, t, d]: [usize; 3],
        lens: Option<&[usize]>,
        labels: Option<&[usize]>,
    ) -> Result<SeqSet> {
        if n == 0 || t == 0 || d == 0 {
            return Err(Error::shape(format!(
                "a set of {n} sequences of {t} steps of {d} numbers is empty"
            )));
        }
        let want = n
            .checked_mul(t)
            .and_then(|v| v.checked_mul(d))
            .ok_or_else(|| Error::shape(format!("[{n}, {t}, {d}] is too large")))?;
        if x.len() != want {
            return Err(Error::shape(format!(
                "x holds {} numbers, but {n} sequences of {t} steps of {d} need {want}",
                x.len()
            )));
        }
        let lens: Vec<u32> = match lens {
            None => vec![t as u32; n],
            Some(l) if l.len() != n => {
                return Err(Error::shape(format!(
                    "{} lengths for {n} sequences",
                    l.len()
                )));
            }
            Some(l) => match l.iter().position(|&v| v == 0 || v > t) {
                Some(i) => {
                    return Err(Error::shape(format!(
                        "sequence {i} has length {}, outside 1..={t}",
                        l[i]
                    )));
                }
                None => l.iter().map(|&v| v as u32).collect(),
            },
        };
        let mut values = vec![0.0f64; want];
        for (i, &len) in lens.iter().enumerate() {
            let at = i * t * d;
            for (k, (v, &src)) in values[at..at + len as usize * d]
                .iter_mut()
                .zip(&x[at..])
                .enumerate()
            {
                *v = src.into();
                if !v.is_finite() {
                    return Err(Error::shape(format!(
                        "sequence {i} holds {v} at step {} (within its length {len})",
                        k / d
                    )));
                }
            }
        }
        let (labels, classes) = match labels {
            None => (vec![0; n], Vec::new()),
            Some(y) if y.len() != n => {
                return Err(Error::shape(format!(
                    "{} labels for {n} sequences",
                    y.len()
                )));
            }
            Some(y) => {
                let top = y.iter().copied().max().unwrap_or(0);
                if top >= MAX_CLASSES {
                    return Err(Error::shape(format!(
                        "label {top} is not below the {MAX_CLASSES} classes a set may have"
                    )));
                }
                let k = top + 1;
                (
                    y.iter().map(|&c| c as u32).collect(),
                    (0..k).map(|c| c.to_string()).collect(),
                )
            }
        };
        SeqSet::from_floats(values, lens, labels, t, d, classes)
    }

    /// A set of float sequences of lengths `lens` (each in 1..=steps), stored `[N][steps][dims]`
    /// with zeros past each end, of classes `classes` (none for sequences without labels).
    ///
    /// # Errors
    /// When the counts do not agree, or a length or a label is out of range.
    pub fn from_floats(
        values: Vec<f64>,
        lens: Vec<u32>,
        labels: Vec<u32>,
        steps: usize,
        dims: usize,
        classes: Vec<String>,
    ) -> Result<SeqSet> {
        let n = labels.len();
        let want = n.checked_mul(steps).and_then(|v| v.checked_mul(dims));
        if want != Some(values.len()) || lens.len() != n {
            return Err(Error::shape(format!(
                "{} values and {} lengths for {n} sequences of {steps} × {dims}",
                values.len(),
                lens.len()
            )));
        }
        if let Some(i) = lens.iter().position(|&l| l == 0 || l as usize > steps) {
            return Err(Error::shape(format!(
                "sequence {i} has length {}, outside 1..={steps}",
                lens[i]
            )));
        }
        check_class_count(classes.len())?;
        if !classes.is_empty() {
            check_labels(&labels, classes.len())?;
        }
        let equal = lens.iter().all(|&l| l as usize == steps);
        let targets = if classes.is_empty() {
            Targets::None
        } else {
            Targets::Classes
        };
        Ok(SeqSet {
            steps,
            dims,
            labels,
            classes,
            targets,
            norm: Norm::scaled(dims, 1.0),
            values: Values::Floats(values),
            lens: (!equal).then_some(lens),
        })
    }

    /// The set with its classes named `names`, in label order (label `i` is `names[i]`): what
    /// a model trained on it prints, saves and answers with, in place of `0`…`K−1`.
    ///
    /// ```
    /// # fn main() -> blasrnn::Result<()> {
    /// let x = [0.1f32, 0.2, 0.3, 0.4];
    /// let set = blasrnn::SeqSet::from_arrays(&x, [2, 2, 1], None, Some(&[0, 1]))?
    ///     .with_class_names(vec!["calm".into(), "storm".into()])?;
    /// assert_eq!(set.classes, ["calm", "storm"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when the set has no classes, `names` does not hold one name per class,
    /// or a name is given twice.
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<SeqSet> {
        if matches!(self.targets, Targets::None | Targets::Values { .. }) || self.classes.is_empty()
        {
            return Err(Error::shape("class names for a set without classes"));
        }
        if names.len() != self.classes.len() {
            return Err(Error::shape(format!(
                "{} class names for {} classes",
                names.len(),
                self.classes.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(Error::shape(format!(
                "the class name {twice:?} is given twice"
            )));
        }
        self.classes = names;
        Ok(self)
    }

    /// The set with `k` real-valued targets per sequence (`y`, `[N][k]`, named `names`) in place
    /// of its classes: a regression set.
    ///
    /// # Errors
    /// When `y` does not hold `k` numbers a sequence, one of them is not finite, or there is not
    /// one name per target.
    pub fn with_values(mut self, y: Vec<f64>, k: usize, names: Vec<String>) -> Result<SeqSet> {
        let n = self.len();
        if k == 0 || y.len() != n * k || names.len() != k {
            return Err(Error::shape(format!(
                "{} targets ({} names) for {n} sequences of {k} each",
                y.len(),
                names.len()
            )));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::shape(format!(
                "target {} of sequence {} is {}, not a finite number",
                i % k,
                i / k,
                y[i]
            )));
        }
        self.labels = vec![0; n];
        self.classes = Vec::new();
        self.targets = Targets::Values {
            y,
            k,
            names,
            norm: Norm::scaled(k, 1.0),
        };
        Ok(self)
    }

    /// The set with a class at every step (`labels`, `[N][T]`, each in `0..classes.len()` within
    /// its sequence's length; what lies past the end is ignored) in place of one per sequence.
    ///
    /// # Errors
    /// When `labels` does not hold N·T numbers or one within a sequence is not a class.
    pub fn with_step_labels(
        mut self,
        mut labels: Vec<u32>,
        classes: Vec<String>,
    ) -> Result<SeqSet> {
        let (n, t) = (self.len(), self.steps);
        check_class_count(classes.len())?;
        if labels.len() != n * t {
            return Err(Error::shape(format!(
                "{} step labels for {n} sequences of {t} steps",
                labels.len()
            )));
        }
        for i in 0..n {
            let row = &mut labels[i * t..(i + 1) * t];
            let len = self.len_of(i);
            if let Some(s) = row[..len].iter().position(|&l| l as usize >= classes.len()) {
                return Err(Error::shape(format!(
                    "the label of sequence {i} at step {s} is {}, not one of the {} classes",
                    row[s],
                    classes.len()
                )));
            }
            row[len..].fill(0);
        }
        self.labels = vec![0; n];
        self.classes = classes;
        self.targets = Targets::Steps(labels);
        Ok(self)
    }
}
