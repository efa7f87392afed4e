//! The classifier head on top of the hidden states: the seed's readout or the last-state readout,
//! then a softmax classifier with mean cross-entropy loss.
//!
//! Seed readout (`seq`): every step's output `o_t = V s_t + c` (O numbers); a sequence's T outputs
//! in a row, `z` (T·O numbers), feed the classifier `Θ z + β`. Batch-major states `[B][T][H]` make
//! the outputs `[B][T][O]`, which *is* the matrix Z (B × T·O): no copy.
//! Last-state readout (`last`): `Θ s_{T-1} + β`, the usual choice of RNN classifiers.

use crate::blas::{Op, gemm, gemv};
use crate::cell::{ParamSpec, Role};
use crate::real::Real;

/// Which numbers feed the softmax classifier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// The seed's: an output layer at every step, all T outputs into the classifier.
    Seq,
    /// The last hidden state only.
    Last,
}

impl Readout {
    /// The lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Readout::Seq => "seq",
            Readout::Last => "last",
        }
    }
}

/// Shapes of the head: H hidden units, T steps, O outputs per step, K classes.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    /// The readout.
    pub readout: Readout,
    /// Hidden units.
    pub h: usize,
    /// Time steps.
    pub t: usize,
    /// Outputs per step (seed readout only).
    pub o: usize,
    /// Classes.
    pub k: usize,
}

/// Buffers of the head for one batch, all caller-owned.
pub struct HeadBuffers<'a, T> {
    /// Outputs `[B][T][O]` (seed readout).
    pub y: &'a mut [T],
    /// Class probabilities `[B][K]` (after `forward`).
    pub probs: &'a mut [T],
    /// Gradient of the outputs `[B][T][O]` (seed readout).
    pub g_y: &'a mut [T],
    /// Gradient of the logits `[B][K]`.
    pub g_logits: &'a mut [T],
}

impl Head {
    /// Width of the classifier's input: T·O (seed readout) or H (last).
    pub fn features(&self) -> usize {
        match self.readout {
            Readout::Seq => self.t * self.o,
            Readout::Last => self.h,
        }
    }

    /// The head's parameters in buffer order: output layer (seed readout), then classifier.
    pub fn params(&self) -> Vec<ParamSpec> {
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

    /// Exact floating-point operations of the BLAS calls of (`forward`, `backward`) for `b`
    /// sequences (2mnk a product, 2mn a row sum, n a scaling).
    pub fn flops(&self, b: usize) -> (u64, u64) {
        let (h, t, o, k, f) = (self.h, self.t, self.o, self.k, self.features());
        // Both readouts: logits (b×f by f×k), dΘ, dZ; dβ row sums and the 1/B scaling.
        let mut fwd = 2 * b * f * k;
        let mut bwd = 2 * k * f * b + 2 * b * f * k + 2 * b * k + b * k;
        if self.readout == Readout::Seq {
            // Outputs Y = S·Vᵀ; backward dV, dc (row sums) and dS = dY·V.
            fwd += 2 * b * t * h * o;
            bwd += 2 * o * h * b * t + 2 * b * t * o + 2 * b * t * o * h;
        }
        (fwd as u64, bwd as u64)
    }

    /// Splits the head's parameter slice into (V, c, Θ, β); V and c are empty for `last`.
    #[allow(clippy::type_complexity)]
    fn split<'a, T>(&self, p: &'a [T]) -> (&'a [T], &'a [T], &'a [T], &'a [T]) {
        let (v, c, rest) = match self.readout {
            Readout::Seq => {
                let (v, rest) = p.split_at(self.o * self.h);
                let (c, rest) = rest.split_at(self.o);
                (v, c, rest)
            }
            Readout::Last => (&p[..0], &p[..0], p),
        };
        let (theta, beta) = rest.split_at(self.k * self.features());
        (v, c, theta, &beta[..self.k])
    }

    /// Forward from states `s: [b][T][H]` to class probabilities. Returns the summed cross-entropy
    /// of the batch and how many predictions were right.
    /// Shapes: s (b·T×H) → y (b·T×O) = Z (b×T·O) → logits (b×K) → probs (b×K).
    pub fn forward<T: Real>(
        &self,
        p: &[T],
        s: &[T],
        labels: &[u8],
        b: usize,
        buf: &mut HeadBuffers<T>,
    ) -> (f64, usize) {
        let (h, t, o, k, f) = (self.h, self.t, self.o, self.k, self.features());
        let (v, c, theta, beta) = self.split(p);
        let logits = &mut buf.probs[..b * k];
        for row in logits.chunks_exact_mut(k) {
            row.copy_from_slice(beta);
        }
        match self.readout {
            Readout::Seq => {
                let y = &mut buf.y[..b * t * o];
                for row in y.chunks_exact_mut(o) {
                    row.copy_from_slice(c);
                }
                gemm(Op::N, Op::T, b * t, o, h, 1.0, s, h, v, h, 1.0, y, o);
                gemm(Op::N, Op::T, b, k, f, 1.0, y, f, theta, f, 1.0, logits, k);
            }
            Readout::Last => {
                let last = &s[(t - 1) * h..];
                gemm(
                    Op::N,
                    Op::T,
                    b,
                    k,
                    h,
                    1.0,
                    last,
                    t * h,
                    theta,
                    h,
                    1.0,
                    logits,
                    k,
                );
            }
        }
        softmax_xent(logits, &labels[..b], k)
    }

    /// Backward: gradients of Θ, β (and V, c) are accumulated into `grad`; `g_s: [b][T][H]` is
    /// overwritten with dL/ds_t. The loss is the batch's summed cross-entropy times `scale`
    /// (1 / total batch size for the mean).
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Real>(
        &self,
        p: &[T],
        s: &[T],
        labels: &[u8],
        b: usize,
        scale: f64,
        buf: &mut HeadBuffers<T>,
        ones: &[T],
        grad: &mut [T],
        g_s: &mut [T],
    ) {
        let (h, t, o, k, f) = (self.h, self.t, self.o, self.k, self.features());
        let (v, _, theta, _) = self.split(p);
        // dL/dlogits = (P − onehot) · scale.
        let gl = &mut buf.g_logits[..b * k];
        gl.copy_from_slice(&buf.probs[..b * k]);
        for (row, &y) in gl.chunks_exact_mut(k).zip(labels) {
            row[y as usize] -= T::ONE;
        }
        crate::blas::scal(scale, gl);
        let (dv, dc, dtheta, dbeta) = split_mut(self, grad);
        gemv(Op::T, b, k, 1.0, gl, k, ones, 1.0, dbeta);
        let g_s = &mut g_s[..b * t * h];
        match self.readout {
            Readout::Seq => {
                let y = &buf.y[..b * t * o];
                let g_y = &mut buf.g_y[..b * t * o];
                // dΘ += dLᵀ·Z;  dZ = dL·Θ.
                gemm(Op::T, Op::N, k, f, b, 1.0, gl, k, y, f, 1.0, dtheta, f);
                gemm(Op::N, Op::N, b, f, k, 1.0, gl, k, theta, f, 0.0, g_y, f);
                // dV += dYᵀ·S;  dc += dYᵀ·1;  dS = dY·V — each one product over all b·T rows.
                gemm(Op::T, Op::N, o, h, b * t, 1.0, g_y, o, s, h, 1.0, dv, h);
                gemv(Op::T, b * t, o, 1.0, g_y, o, ones, 1.0, dc);
                gemm(Op::N, Op::N, b * t, h, o, 1.0, g_y, o, v, h, 0.0, g_s, h);
            }
            Readout::Last => {
                let last = &s[(t - 1) * h..];
                gemm(
                    Op::T,
                    Op::N,
                    k,
                    h,
                    b,
                    1.0,
                    gl,
                    k,
                    last,
                    t * h,
                    1.0,
                    dtheta,
                    h,
                );
                g_s.fill(T::ZERO);
                gemm(
                    Op::N,
                    Op::N,
                    b,
                    h,
                    k,
                    1.0,
                    gl,
                    k,
                    theta,
                    h,
                    0.0,
                    &mut g_s[(t - 1) * h..],
                    t * h,
                );
            }
        }
    }
}

/// Mutable (dV, dc, dΘ, dβ) views of the head's gradient slice.
#[allow(clippy::type_complexity)]
fn split_mut<'a, T>(
    head: &Head,
    g: &'a mut [T],
) -> (&'a mut [T], &'a mut [T], &'a mut [T], &'a mut [T]) {
    let (v, rest) = g.split_at_mut(if head.readout == Readout::Seq {
        head.o * head.h
    } else {
        0
    });
    let (c, rest) = rest.split_at_mut(if head.readout == Readout::Seq {
        head.o
    } else {
        0
    });
    let (theta, beta) = rest.split_at_mut(head.k * head.features());
    (v, c, theta, &mut beta[..head.k])
}

/// Index of the largest value (the first one on ties).
pub fn argmax<T: PartialOrd>(v: &[T]) -> usize {
    (0..v.len()).fold(0, |best, j| if v[j] > v[best] { j } else { best })
}

/// Turns each row of `logits` (`[b][k]`) into probabilities in place; returns the summed
/// cross-entropy against `labels` (summed in `f64`) and the number of rows whose arg-max is the
/// label.
pub fn softmax_xent<T: Real>(logits: &mut [T], labels: &[u8], k: usize) -> (f64, usize) {
    let mut loss = 0.0;
    let mut correct = 0;
    for (row, &y) in logits.chunks_exact_mut(k).zip(labels) {
        let best = argmax(row);
        let max = row[best];
        // −log p_y = ln Σ exp(z_j − max) − (z_y − max), finite even when p_y underflows.
        let zy = row[y as usize] - max;
        let mut sum = T::ZERO;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        loss += (sum.ln() - zy).to_f64();
        for v in row.iter_mut() {
            *v /= sum;
        }
        correct += usize::from(best == y as usize);
    }
    (loss, correct)
}
