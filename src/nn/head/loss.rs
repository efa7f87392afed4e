//! The losses the heads minimise: softmax cross-entropy over classes (all rows, or only the rows
//! of steps that are not padding), and the regression losses over real-valued targets. Losses are
//! summed in `f64`; gradients are written scaled, ready to be backpropagated.

use crate::real::Real;

/// How a regression head's error is measured (on standardised targets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Squared error, `e²` (`nn.MSELoss`).
    #[default]
    Mse,
    /// Absolute error, `|e|` (`nn.L1Loss`).
    Mae,
    /// `e²/2` within ±1, `|e| − 1/2` beyond (`nn.HuberLoss(delta=1)`).
    Huber,
}

crate::choice::choice!(Loss { Mse => "mse", Mae => "mae", Huber => "huber" });

impl Loss {
    /// The loss of an error `e`.
    pub fn of(self, e: f64) -> f64 {
        match self {
            Loss::Mse => e * e,
            Loss::Mae => e.abs(),
            Loss::Huber if e.abs() <= 1.0 => 0.5 * e * e,
            Loss::Huber => e.abs() - 0.5,
        }
    }

    /// Its derivative with respect to `e`.
    pub fn grad<T: Real>(self, e: T) -> T {
        match self {
            Loss::Mse => e + e,
            Loss::Mae if e > T::ZERO => T::ONE,
            Loss::Mae if e < T::ZERO => -T::ONE,
            Loss::Mae => T::ZERO,
            Loss::Huber if e > T::ONE => T::ONE,
            Loss::Huber if e < -T::ONE => -T::ONE,
            Loss::Huber => e,
        }
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax<T: PartialOrd>(v: &[T]) -> usize {
    (0..v.len()).fold(0, |best, j| if v[j] > v[best] { j } else { best })
}

/// Turns `row` (logits) into probabilities in place; returns the index of the largest logit and
/// the sum of `exp(z − max)` it divided by.
pub fn softmax<T: Real>(row: &mut [T]) -> (usize, T) {
    let best = argmax(row);
    (best, softmax_from(row, best))
}

/// [`softmax`] of a row whose largest logit is at `best`; returns the sum it divided by.
fn softmax_from<T: Real>(row: &mut [T], best: usize) -> T {
    let max = row[best];
    let mut sum = T::ZERO;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = T::ONE / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
    sum
}

/// Turns one row of logits into probabilities in place; returns its cross-entropy against
/// `target` (in `f64`) and whether the arg-max is the target.
fn softmax_xent_row<T: Real>(row: &mut [T], target: u32) -> (f64, bool) {
    // −log p_y = ln Σ exp(z_j − max) − (z_y − max), finite even when p_y underflows.
    let best = argmax(row);
    let zy = row[target as usize] - row[best];
    let sum = softmax_from(row, best);
    ((sum.ln() - zy).to_f64(), best == target as usize)
}

/// Turns each row of `logits` (`[rows][k]`) into probabilities in place; returns the summed
/// cross-entropy against `targets` and the number of rows whose arg-max is the target.
pub fn softmax_xent<T: Real>(logits: &mut [T], targets: &[u32], k: usize) -> (f64, usize) {
    let mut loss = 0.0;
    let mut correct = 0;
    for (row, &y) in logits.chunks_exact_mut(k).zip(targets) {
        let (l, right) = softmax_xent_row(row, y);
        loss += l;
        correct += usize::from(right);
    }
    (loss, correct)
}

/// [`softmax_xent`] over the rows of the steps that are not padding only: `logits` and `targets`
/// laid out `[b][t][·]`, sequence `seq` running `len(seq)` steps.
pub fn softmax_xent_live<T: Real>(
    logits: &mut [T],
    targets: &[u32],
    k: usize,
    (b, t): (usize, usize),
    len: impl Fn(usize) -> usize,
) -> (f64, usize) {
    let (mut loss, mut correct) = (0.0, 0);
    for seq in 0..b {
        let rows = seq * t..seq * t + len(seq);
        let (l, c) = softmax_xent(&mut logits[rows.start * k..rows.end * k], &targets[rows], k);
        (loss, correct) = (loss + l, correct + c);
    }
    (loss, correct)
}

/// dL/dlogits = (P − onehot(target))·scale for each of the `targets.len()` rows, into `g`.
pub fn softmax_xent_grad<'a, T: Real>(
    probs: &[T],
    g: &'a mut [T],
    targets: &[u32],
    k: usize,
    scale: f64,
) -> &'a [T] {
    let rows = targets.len();
    let g = &mut g[..rows * k];
    g.copy_from_slice(&probs[..rows * k]);
    for (row, &y) in g.chunks_exact_mut(k).zip(targets) {
        row[y as usize] -= T::ONE;
    }
    crate::blas::scal(scale, g);
    g
}

/// Each sample's regression loss (`loss` of every prediction's error against its target, averaged
/// over the `k` targets), summed over the rows of `pred` and `y` (`[rows][k]`).
pub fn regression_loss<T: Real>(pred: &[T], y: &[T], k: usize, loss: Loss) -> f64 {
    let total: f64 = pred
        .iter()
        .zip(y)
        .map(|(&p, &t)| loss.of((p - t).to_f64()))
        .sum();
    total / k as f64
}

/// dL/dpred of [`regression_loss`] times `scale`, into `g` (`[rows][k]`).
pub fn regression_grad<'a, T: Real>(
    pred: &[T],
    y: &[T],
    g: &'a mut [T],
    k: usize,
    loss: Loss,
    scale: f64,
) -> &'a [T] {
    let g = &mut g[..pred.len()];
    let s = T::from_f64(scale / k as f64);
    for ((gv, &p), &t) in g.iter_mut().zip(pred).zip(y) {
        *gv = loss.grad(p - t) * s;
    }
    g
}
