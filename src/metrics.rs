//! How far predictions of real numbers are from the truth: [`ValueErrors`] (RMSE, MAE, MAPE,
//! R², and the training mean's RMSE), from running sums that threads add to and merge.

/// A regression's (or forecast's) errors on the targets' own scale, over every target of every
/// sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueErrors {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute percentage error (in percent; targets of 0 left out).
    pub mape: f64,
    /// The coefficient of determination (averaged over the targets, as scikit-learn does).
    pub r2: f64,
    /// The root mean squared error of predicting every target's training mean.
    pub mean_baseline_rmse: f64,
}

impl ValueErrors {
    /// The errors of `pred` against `actual` (`[n][k]` each) with training means `mean` (`k`).
    pub fn of(pred: &[f64], actual: &[f64], mean: &[f64]) -> ValueErrors {
        let mut sums = Sums::new(mean.len());
        sums.add(pred, actual, mean);
        sums.errors()
    }
}

/// Running sums of a regression's errors, per target: Σe², Σ|e|, Σ|e|/|y| and how many, Σy, Σy²,
/// Σ(y − mean)², and the rows counted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sums {
    k: usize,
    per: Vec<[f64; 7]>,
    n: usize,
}

impl Sums {
    pub fn new(k: usize) -> Sums {
        Sums {
            k,
            per: vec![[0.0; 7]; k],
            n: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.per.iter_mut().for_each(|s| *s = [0.0; 7]);
        self.n = 0;
    }

    /// Adds rows of predictions and targets (`[rows][k]`), with the training means `mean`.
    pub fn add(&mut self, pred: &[f64], actual: &[f64], mean: &[f64]) {
        for (p, y) in pred.chunks_exact(self.k).zip(actual.chunks_exact(self.k)) {
            for (j, s) in self.per.iter_mut().enumerate() {
                let e = p[j] - y[j];
                s[0] += e * e;
                s[1] += e.abs();
                if y[j] != 0.0 {
                    s[2] += (e / y[j]).abs();
                    s[3] += 1.0;
                }
                s[4] += y[j];
                s[5] += y[j] * y[j];
                s[6] += (y[j] - mean[j]).powi(2);
            }
            self.n += 1;
        }
    }

    pub(crate) fn merge(&mut self, other: &Sums) {
        for (a, b) in self.per.iter_mut().zip(&other.per) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self.n += other.n;
    }

    /// The errors these sums give.
    pub fn errors(&self) -> ValueErrors {
        let total = |i: usize| self.per.iter().map(|s| s[i]).sum::<f64>();
        let cells = (self.n * self.k).max(1) as f64;
        let n = self.n.max(1) as f64;
        let r2 = self
            .per
            .iter()
            .map(|s| {
                let ss_tot = s[5] - s[4] * s[4] / n;
                if ss_tot > 0.0 {
                    1.0 - s[0] / ss_tot
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / self.k.max(1) as f64;
        ValueErrors {
            rmse: (total(0) / cells).sqrt(),
            mae: total(1) / cells,
            mape: 100.0 * total(2) / total(3).max(1.0),
            r2,
            mean_baseline_rmse: (total(6) / cells).sqrt(),
        }
    }
}
