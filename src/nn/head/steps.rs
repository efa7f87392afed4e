//! [`StepHead`]: a class at every step — a Linear(H', K) on each step's output and a softmax, the
//! loss the mean cross-entropy over the steps. A language model's next token (`out.weight`, every
//! step counts), or a label at every step of sequences of their own lengths (`classifier.weight`;
//! the padding past a sequence's end counts for nothing).

use super::loss::{softmax_xent, softmax_xent_grad, softmax_xent_live};
use super::{HeadBuffers, HeadInput};
use crate::blas::{Op, gemm, gemm_xwt, gemv};
use crate::nn::cell::Seqs;
use crate::nn::fill_rows;
use crate::nn::params::{ParamSpec, Role};
use crate::real::Real;

/// A class at every step: H' numbers a step in, K classes out.
#[derive(Debug, Clone, Copy)]
pub struct StepHead {
    /// Numbers of a step of the top layer's output.
    pub h: usize,
    /// Classes (the vocabulary, for a language model).
    pub k: usize,
    /// Whether the steps past a sequence's end are padding (tagging); a language model's every
    /// step counts.
    pub masked: bool,
}

impl StepHead {
    /// The layer's name: `out` (a language model's Linear(H, V)) or `classifier`.
    fn name(&self) -> &'static str {
        if self.masked { "classifier" } else { "out" }
    }

    pub(super) fn params(&self) -> Vec<ParamSpec> {
        let (weight, bias) = (
            format!("{}.weight", self.name()),
            format!("{}.bias", self.name()),
        );
        let roles = if self.masked {
            (Role::ClassifierWeight, Role::ClassifierBias)
        } else {
            (Role::Weight, Role::Bias)
        };
        vec![
            ParamSpec::new(&weight, &[self.k, self.h], self.h, roles.0),
            ParamSpec::new(&bias, &[self.k], self.h, roles.1),
        ]
    }

    /// The class probabilities of one step's output `h` (H' numbers): `softmax(W·h + b)`, into
    /// `out` (K numbers).
    pub fn row_probs<T: Real>(&self, p: &[T], h: &[T], out: &mut [T]) {
        let (w, bias) = p.split_at(self.k * self.h);
        let out = &mut out[..self.k];
        out.copy_from_slice(&bias[..self.k]);
        gemv(Op::N, self.k, self.h, 1.0, w, self.h, h, 1.0, out);
        super::loss::softmax(out);
    }

    pub(super) fn flops<T>(&self, s: &Seqs<T>) -> (u64, u64) {
        let (rows, h, v) = (s.rows(), self.h, self.k);
        // Logits; backward: dW, dS, db row sums, the scaling of dL.
        let fwd = 2 * rows * h * v;
        let bwd = 2 * v * h * rows + 2 * rows * h * v + 2 * rows * v + rows * v;
        (fwd as u64, bwd as u64)
    }

    /// Logits `[b·t][K]` = S·Wᵀ + 1·biasᵀ (m = b·t, n = K, k = H'), into `buf`'s probabilities.
    pub fn logits<T: Real>(&self, p: &[T], st: &[T], rows: usize, buf: &mut HeadBuffers<T>) {
        let (w, bias) = p.split_at(self.k * self.h);
        let out = &mut buf.probs[..rows * self.k];
        fill_rows(out, &bias[..self.k]);
        gemm_xwt(
            rows,
            self.k,
            self.h,
            1.0,
            st,
            self.h,
            w,
            1.0,
            out,
            self.k,
            &mut buf.wt,
        );
    }

    pub(super) fn forward<T: Real>(
        &self,
        x: &HeadInput<T>,
        buf: &mut HeadBuffers<T>,
    ) -> (f64, usize) {
        let (s, rows, k) = (x.s, x.s.rows(), self.k);
        self.logits(x.p, x.st, rows, buf);
        let probs = &mut buf.probs[..rows * k];
        if self.masked {
            softmax_xent_live(probs, x.targets, k, (s.b, s.t), |seq| s.len_of(seq))
        } else {
            softmax_xent(probs, &x.targets[..rows], k)
        }
    }

    pub(super) fn backward<T: Real>(
        &self,
        x: &HeadInput<T>,
        scale: f64,
        buf: &mut HeadBuffers<T>,
        grad: &mut [T],
        g_s: &mut [T],
    ) {
        let (s, st) = (x.s, x.st);
        let (rows, h, k) = (s.rows(), self.h, self.k);
        let w = &x.p[..k * h];
        softmax_xent_grad(&buf.probs, &mut buf.g_logits, &x.targets[..rows], k, scale);
        if self.masked {
            // Padding steps pass no gradient.
            let gl = &mut buf.g_logits[..rows * k];
            for seq in 0..s.b {
                gl[(seq * s.t + s.len_of(seq)) * k..(seq + 1) * s.t * k].fill(T::ZERO);
            }
        }
        let gl = &buf.g_logits[..rows * k];
        let (dw, db) = grad.split_at_mut(k * h);
        // db += dLᵀ·1; dW += dLᵀ·S (m = K, n = H', k = rows); dS = dL·W (m = rows, n = H', k = K).
        gemv(Op::T, rows, k, 1.0, gl, k, s.ones, 1.0, &mut db[..k]);
        gemm(Op::T, Op::N, k, h, rows, 1.0, gl, k, st, h, 1.0, dw, h);
        gemm(Op::N, Op::N, rows, h, k, 1.0, gl, k, w, h, 0.0, g_s, h);
    }
}
