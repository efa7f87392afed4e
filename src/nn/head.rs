//! The heads on top of the stack's hidden states, each a softmax with mean cross-entropy loss.
//!
//! - [`Classifier`]: one class per sequence. Readouts: `seq` (the seed's: an output layer
//!   `o_t = V s_t + c` at every step, a sequence's T outputs in a row, `z` (T·O numbers), feed
//!   `Θ z + β`; batch-major states `[b][T][H]` make the outputs `[b][T][O]`, which *is* the matrix
//!   Z (b × T·O): no copy); `last` (each sequence's own last state); `mean` (the average of its
//!   states over its own steps).
//! - [`NextToken`]: a Linear(H, V) at every step and a softmax over the vocabulary, the target
//!   being the next token (a language model).

use super::cell::Seqs;
use crate::blas::{Op, gemm, gemm_xwt, gemv};
use crate::nn::fill_rows;
use crate::nn::params::{ParamSpec, Role};
use crate::real::Real;

/// Which numbers feed the softmax classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// The seed's: an output layer at every step, all T outputs into the classifier (sequences
    /// of one length only).
    Seq,
    /// Each sequence's last hidden state.
    Last,
    /// The mean of each sequence's hidden states over its steps.
    Mean,
}

crate::choice::choice!(Readout { Seq => "seq", Last => "last", Mean => "mean" });

/// The sequence classifier: H hidden units, T steps, O outputs per step (seed readout), K classes.
#[derive(Debug, Clone, Copy)]
pub struct Classifier {
    /// The readout.
    pub readout: Readout,
    /// Hidden units.
    pub h: usize,
    /// Time steps (the seed readout's T; the longest sequence otherwise).
    pub t: usize,
    /// Outputs per step (seed readout only).
    pub o: usize,
    /// Classes.
    pub k: usize,
}

/// The next-token head: H hidden units, a vocabulary of V.
#[derive(Debug, Clone, Copy)]
pub struct NextToken {
    /// Hidden units.
    pub h: usize,
    /// Vocabulary size.
    pub v: usize,
}

/// Either head.
#[derive(Debug, Clone, Copy)]
pub enum Head {
    /// A class per sequence.
    Classify(Classifier),
    /// The next token at every step.
    NextToken(NextToken),
}

/// What a head's passes read: its parameters, the batch, the top layer's states `[b][t][H]`, and
/// the targets (a class per sequence, or the next token of every step).
pub struct HeadInput<'a, T> {
    /// The head's slice of the parameters.
    pub p: &'a [T],
    /// The batch.
    pub s: &'a Seqs<'a, T>,
    /// The top layer's hidden states.
    pub st: &'a [T],
    /// The targets.
    pub targets: &'a [u32],
}

/// Buffers of a head for one batch, sized once.
pub struct HeadBuffers<T> {
    /// Outputs `[b][T][O]` (seed readout), or the gathered features `[b][H]` (last, mean).
    feat: Vec<T>,
    /// Their gradient.
    g_feat: Vec<T>,
    /// Logits, then probabilities `[rows][K]` (rows = b, or b·t for the next-token head).
    probs: Vec<T>,
    /// Gradient of the logits.
    g_logits: Vec<T>,
    /// The transpose of the weight a product reads, when the BLAS prefers it (`blas::gemm_xwt`).
    wt: Vec<T>,
}

impl<T: Real> HeadBuffers<T> {
    /// The probabilities of the last forward, `rows × k`.
    pub fn probs(&self, rows: usize, k: usize) -> &[T] {
        &self.probs[..rows * k]
    }
}

impl Classifier {
    /// Width of the classifier's input: T·O (seed readout) or H.
    pub fn features(&self) -> usize {
        match self.readout {
            Readout::Seq => self.t * self.o,
            Readout::Last | Readout::Mean => self.h,
        }
    }

    fn params(&self) -> Vec<ParamSpec> {
        let f = self.features();
        let mut v = Vec::new();
        if self.readout == Readout::Seq {
            v.push(ParamSpec::new(
                "out.weight",
                &[self.o, self.h],
                self.h,
                Role::Weight,
            ));
            v.push(ParamSpec::new("out.bias", &[self.o], self.h, Role::Bias));
        }
        v.push(ParamSpec::new(
            "classifier.weight",
            &[self.k, f],
            f,
            Role::ClassifierWeight,
        ));
        v.push(ParamSpec::new(
            "classifier.bias",
            &[self.k],
            f,
            Role::ClassifierBias,
        ));
        v
    }

    /// Splits the head's parameter slice into (V, c, Θ, β); V and c are empty but for `seq`.
    #[allow(clippy::type_complexity)]
    fn split<'a, T>(&self, p: &'a [T]) -> (&'a [T], &'a [T], &'a [T], &'a [T]) {
        let vc = if self.readout == Readout::Seq {
            self.o * self.h + self.o
        } else {
            0
        };
        let (v, c) = p[..vc].split_at(vc.min(self.o * self.h));
        let (theta, beta) = p[vc..].split_at(self.k * self.features());
        (v, c, theta, &beta[..self.k])
    }

    /// Mutable (dV, dc, dΘ, dβ).
    #[allow(clippy::type_complexity)]
    fn split_mut<'a, T>(
        &self,
        p: &'a mut [T],
    ) -> (&'a mut [T], &'a mut [T], &'a mut [T], &'a mut [T]) {
        let vc = if self.readout == Readout::Seq {
            self.o * self.h + self.o
        } else {
            0
        };
        let (vc_part, rest) = p.split_at_mut(vc);
        let (v, c) = vc_part.split_at_mut(vc.min(self.o * self.h));
        let (theta, beta) = rest.split_at_mut(self.k * self.features());
        (v, c, theta, &mut beta[..self.k])
    }

    /// The seed readout's outputs of one state `h` (H numbers): `out = V·h + c` (O numbers).
    pub fn step_outputs<T: Real>(&self, p: &[T], h: &[T], out: &mut [T]) {
        let (v, c, _, _) = self.split(p);
        out[..self.o].copy_from_slice(c);
        gemv(Op::N, self.o, self.h, 1.0, v, self.h, h, 1.0, out);
    }

    /// The class probabilities of one row of features `z` (the readout's F numbers):
    /// `softmax(Θ·z + β)`, into `out` (K numbers).
    pub fn row_probs<T: Real>(&self, p: &[T], z: &[T], out: &mut [T]) {
        let (_, _, theta, beta) = self.split(p);
        let f = self.features();
        let out = &mut out[..self.k];
        out.copy_from_slice(beta);
        gemv(Op::N, self.k, f, 1.0, theta, f, z, 1.0, out);
        softmax(out);
    }

    fn flops<T>(&self, s: &Seqs<T>) -> (u64, u64) {
        let (b, t, h, o, k, f) = (s.b, s.t, self.h, self.o, self.k, self.features());
        // Every readout: logits (b×f by f×k), dΘ, dZ; dβ row sums and the scaling of dL.
        let mut fwd = 2 * b * f * k;
        let mut bwd = 2 * k * f * b + 2 * b * f * k + 2 * b * k + b * k;
        if self.readout == Readout::Seq {
            // Outputs Y = S·Vᵀ; backward dV, dc (row sums) and dS = dY·V.
            fwd += 2 * b * t * h * o;
            bwd += 2 * o * h * b * t + 2 * b * t * o + 2 * b * t * o * h;
        }
        (fwd as u64, bwd as u64)
    }

    fn forward<T: Real>(&self, x: &HeadInput<T>, buf: &mut HeadBuffers<T>) -> (f64, usize) {
        let (p, s, st, labels) = (x.p, x.s, x.st, x.targets);
        let (b, t, h, o, k, f) = (s.b, s.t, self.h, self.o, self.k, self.features());
        let (v, c, theta, beta) = self.split(p);
        let feat = &mut buf.feat[..b * f];
        match self.readout {
            Readout::Seq => {
                assert_eq!(t, self.t, "the seq readout reads exactly T steps");
                assert!(
                    s.live_rows() == b * t,
                    "the seq readout needs sequences of one length"
                );
                // Y = S·Vᵀ + 1·cᵀ (m = b·T, n = O, k = H), which is Z (b × T·O).
                fill_rows(feat, c);
                gemm_xwt(b * t, o, h, 1.0, st, h, v, 1.0, feat, o, &mut buf.wt);
            }
            Readout::Last => {
                for (seq, row) in feat.chunks_exact_mut(h).enumerate() {
                    let at = (seq * t + s.len_of(seq) - 1) * h;
                    row.copy_from_slice(&st[at..at + h]);
                }
            }
            Readout::Mean => {
                for (seq, row) in feat.chunks_exact_mut(h).enumerate() {
                    let len = s.len_of(seq);
                    row.fill(T::ZERO);
                    for step in st[seq * t * h..(seq * t + len) * h].chunks_exact(h) {
                        for (a, &x) in row.iter_mut().zip(step) {
                            *a += x;
                        }
                    }
                    let inv = T::from_f64(1.0 / len as f64);
                    row.iter_mut().for_each(|a| *a *= inv);
                }
            }
        }
        // Logits = Z·Θᵀ + 1·βᵀ (m = b, n = K, k = F).
        let logits = &mut buf.probs[..b * k];
        fill_rows(logits, beta);
        gemm_xwt(b, k, f, 1.0, feat, f, theta, 1.0, logits, k, &mut buf.wt);
        softmax_xent(logits, &labels[..b], k)
    }

    fn backward<T: Real>(
        &self,
        x: &HeadInput<T>,
        scale: f64,
        buf: &mut HeadBuffers<T>,
        grad: &mut [T],
        g_s: &mut [T],
    ) {
        let (p, s, st, labels) = (x.p, x.s, x.st, x.targets);
        let (b, t, h, o, k, f) = (s.b, s.t, self.h, self.o, self.k, self.features());
        let (v, _, theta, _) = self.split(p);
        let gl = softmax_xent_grad(&buf.probs, &mut buf.g_logits, &labels[..b], k, scale);
        let (dv, dc, dtheta, dbeta) = self.split_mut(grad);
        let (feat, g_feat) = (&buf.feat[..b * f], &mut buf.g_feat[..b * f]);
        // dβ += dLᵀ·1; dΘ += dLᵀ·Z (m = K, n = F, k = b); dZ = dL·Θ (m = b, n = F, k = K).
        gemv(Op::T, b, k, 1.0, gl, k, s.ones, 1.0, dbeta);
        gemm(Op::T, Op::N, k, f, b, 1.0, gl, k, feat, f, 1.0, dtheta, f);
        gemm(Op::N, Op::N, b, f, k, 1.0, gl, k, theta, f, 0.0, g_feat, f);
        let g_s = &mut g_s[..b * t * h];
        match self.readout {
            Readout::Seq => {
                // dV += dYᵀ·S (m = O, n = H, k = b·T); dc += dYᵀ·1; dS = dY·V (m = b·T, n = H, k = O).
                gemm(Op::T, Op::N, o, h, b * t, 1.0, g_feat, o, st, h, 1.0, dv, h);
                gemv(Op::T, b * t, o, 1.0, g_feat, o, s.ones, 1.0, dc);
                gemm(Op::N, Op::N, b * t, h, o, 1.0, g_feat, o, v, h, 0.0, g_s, h);
            }
            Readout::Last => {
                g_s.fill(T::ZERO);
                for (seq, row) in g_feat.chunks_exact(h).enumerate() {
                    let at = (seq * t + s.len_of(seq) - 1) * h;
                    g_s[at..at + h].copy_from_slice(row);
                }
            }
            Readout::Mean => {
                g_s.fill(T::ZERO);
                for (seq, row) in g_feat.chunks_exact(h).enumerate() {
                    let len = s.len_of(seq);
                    let inv = T::from_f64(1.0 / len as f64);
                    for step in g_s[seq * t * h..(seq * t + len) * h].chunks_exact_mut(h) {
                        for (a, &x) in step.iter_mut().zip(row) {
                            *a = x * inv;
                        }
                    }
                }
            }
        }
    }
}

impl NextToken {
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::new("out.weight", &[self.v, self.h], self.h, Role::Weight),
            ParamSpec::new("out.bias", &[self.v], self.h, Role::Bias),
        ]
    }

    fn flops<T>(&self, s: &Seqs<T>) -> (u64, u64) {
        let (rows, h, v) = (s.rows(), self.h, self.v);
        // Logits; backward: dW, dS, db row sums, the scaling of dL.
        let fwd = 2 * rows * h * v;
        let bwd = 2 * v * h * rows + 2 * rows * h * v + 2 * rows * v + rows * v;
        (fwd as u64, bwd as u64)
    }

    /// Logits `[b·t][V]` = S·Wᵀ + 1·biasᵀ (m = b·t, n = V, k = H), into `buf`'s probabilities.
    pub fn logits<T: Real>(&self, p: &[T], st: &[T], rows: usize, buf: &mut HeadBuffers<T>) {
        let (w, bias) = p.split_at(self.v * self.h);
        let out = &mut buf.probs[..rows * self.v];
        fill_rows(out, &bias[..self.v]);
        gemm_xwt(
            rows,
            self.v,
            self.h,
            1.0,
            st,
            self.h,
            w,
            1.0,
            out,
            self.v,
            &mut buf.wt,
        );
    }

    fn forward<T: Real>(&self, x: &HeadInput<T>, buf: &mut HeadBuffers<T>) -> (f64, usize) {
        let (p, s, st, targets) = (x.p, x.s, x.st, x.targets);
        let rows = s.rows();
        self.logits(p, st, rows, buf);
        softmax_xent(&mut buf.probs[..rows * self.v], &targets[..rows], self.v)
    }

    fn backward<T: Real>(
        &self,
        x: &HeadInput<T>,
        scale: f64,
        buf: &mut HeadBuffers<T>,
        grad: &mut [T],
        g_s: &mut [T],
    ) {
        let (p, s, st, targets) = (x.p, x.s, x.st, x.targets);
        let (rows, h, v) = (s.rows(), self.h, self.v);
        let w = &p[..v * h];
        let gl = softmax_xent_grad(&buf.probs, &mut buf.g_logits, &targets[..rows], v, scale);
        let (dw, db) = grad.split_at_mut(v * h);
        // db += dLᵀ·1; dW += dLᵀ·S (m = V, n = H, k = rows); dS = dL·W (m = rows, n = H, k = V).
        gemv(Op::T, rows, v, 1.0, gl, v, s.ones, 1.0, &mut db[..v]);
        gemm(Op::T, Op::N, v, h, rows, 1.0, gl, v, st, h, 1.0, dw, h);
        gemm(Op::N, Op::N, rows, h, v, 1.0, gl, v, w, h, 0.0, g_s, h);
    }
}

impl Head {
    /// The head's parameters in buffer order.
    pub fn params(&self) -> Vec<ParamSpec> {
        match self {
            Head::Classify(c) => c.params(),
            Head::NextToken(n) => n.params(),
        }
    }

    /// Number of outputs of the softmax (classes, or the vocabulary).
    pub fn outputs(&self) -> usize {
        match self {
            Head::Classify(c) => c.k,
            Head::NextToken(n) => n.v,
        }
    }

    /// Rows of probabilities a batch of `b` sequences of `t` steps gives (b, or b·t).
    pub fn rows(&self, b: usize, t: usize) -> usize {
        match self {
            Head::Classify(_) => b,
            Head::NextToken(_) => b * t,
        }
    }

    /// Buffers for `b` sequences of up to `t` steps.
    pub fn buffers<T: Real>(&self, b: usize, t: usize) -> HeadBuffers<T> {
        let feat = match self {
            Head::Classify(c) => b * c.features(),
            Head::NextToken(_) => 0,
        };
        let probs = self.rows(b, t) * self.outputs();
        // The largest weight a forward product reads transposed.
        let wt = match self {
            Head::Classify(c) if c.readout == Readout::Seq => (c.o * c.h).max(c.k * c.features()),
            Head::Classify(c) => c.k * c.features(),
            Head::NextToken(n) => n.v * n.h,
        };
        HeadBuffers {
            feat: vec![T::ZERO; feat],
            g_feat: vec![T::ZERO; feat],
            probs: vec![T::ZERO; probs],
            g_logits: vec![T::ZERO; probs],
            wt: vec![T::ZERO; wt],
        }
    }

    /// Exact FLOPs of (forward, backward) over `s` (2mnk a product, 2mn a row sum, mn a scaling).
    pub fn flops<T>(&self, s: &Seqs<T>) -> (u64, u64) {
        match self {
            Head::Classify(c) => c.flops(s),
            Head::NextToken(n) => n.flops(s),
        }
    }

    /// Forward from the top states to probabilities; returns the summed cross-entropy and how
    /// many arg-maxes were the target.
    pub fn forward<T: Real>(&self, x: &HeadInput<T>, buf: &mut HeadBuffers<T>) -> (f64, usize) {
        match self {
            Head::Classify(c) => c.forward(x, buf),
            Head::NextToken(n) => n.forward(x, buf),
        }
    }

    /// Backward after `forward`: the gradient of `scale ×` the summed cross-entropy is
    /// accumulated into `grad` (the head's slice), and dL/dh written over `g_s` (`[b][t][H]`).
    pub fn backward<T: Real>(
        &self,
        x: &HeadInput<T>,
        scale: f64,
        buf: &mut HeadBuffers<T>,
        grad: &mut [T],
        g_s: &mut [T],
    ) {
        match self {
            Head::Classify(c) => c.backward(x, scale, buf, grad, g_s),
            Head::NextToken(n) => n.backward(x, scale, buf, grad, g_s),
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

/// Turns each row of `logits` (`[rows][k]`) into probabilities in place; returns the summed
/// cross-entropy against `targets` (summed in `f64`) and the number of rows whose arg-max is the
/// target.
pub fn softmax_xent<T: Real>(logits: &mut [T], targets: &[u32], k: usize) -> (f64, usize) {
    let mut loss = 0.0;
    let mut correct = 0;
    for (row, &y) in logits.chunks_exact_mut(k).zip(targets) {
        // −log p_y = ln Σ exp(z_j − max) − (z_y − max), finite even when p_y underflows.
        let best = argmax(row);
        let zy = row[y as usize] - row[best];
        let sum = softmax_from(row, best);
        loss += (sum.ln() - zy).to_f64();
        correct += usize::from(best == y as usize);
    }
    (loss, correct)
}

/// dL/dlogits = (P − onehot(target))·scale for each of the `targets.len()` rows, into `g`.
fn softmax_xent_grad<'a, T: Real>(
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
