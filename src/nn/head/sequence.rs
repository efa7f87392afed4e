//! [`SeqHead`]: one answer per sequence — a class (softmax cross-entropy) or real numbers (a
//! regression loss) — from a readout of the top layer's outputs `[b][t][H']`:
//!
//! - `seq` (the seed's): an output layer `o_t = V s_t + c` at every step, a sequence's T outputs in
//!   a row (T·O numbers) feed the last layer; batch-major outputs `[b][T][O]` *are* the matrix Z
//!   (b × T·O): no copy;
//! - `last`: each sequence's own last output — with two directions, the forward direction's last
//!   state and the reverse direction's state at step 0 (after it read the whole sequence), as
//!   PyTorch's `h_n` holds them;
//! - `mean`: the mean of its outputs over its own steps.
//!
//! The last layer is `Θ z + β`: `classifier.weight`/`classifier.bias` (K classes) or
//! `regressor.weight`/`regressor.bias` (K targets).

use super::loss::{Loss, regression_grad, regression_loss, softmax_xent, softmax_xent_grad};
use super::{HeadBuffers, HeadInput, Readout};
use crate::blas::{Op, gemm, gemm_xwt, gemv};
use crate::nn::cell::Seqs;
use crate::nn::fill_rows;
use crate::nn::params::{ParamSpec, Role};
use crate::real::Real;

/// What a sequence head answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// One of `k` classes.
    Class,
    /// `k` real numbers, fitted with a loss.
    Values(Loss),
}

/// One answer per sequence: H hidden units a direction, `dirs` directions, T steps, O outputs per
/// step (seed readout), K classes or targets.
#[derive(Debug, Clone, Copy)]
pub struct SeqHead {
    /// The readout (`seq`, `last` or `mean`).
    pub readout: Readout,
    /// Hidden units of one direction.
    pub h: usize,
    /// Directions of the top layer (1 or 2).
    pub dirs: usize,
    /// Time steps (the seed readout's T; the longest sequence otherwise).
    pub t: usize,
    /// Outputs per step (seed readout only).
    pub o: usize,
    /// Classes, or targets.
    pub k: usize,
    /// What it answers.
    pub answer: Answer,
}

impl SeqHead {
    /// Numbers of a step of the top layer's output, H' = dirs·H.
    pub fn width(&self) -> usize {
        self.dirs * self.h
    }

    /// Width of the last layer's input: T·O (seed readout) or H'.
    pub fn features(&self) -> usize {
        match self.readout {
            Readout::Seq => self.t * self.o,
            _ => self.width(),
        }
    }

    /// The last layer's name: `classifier` or `regressor`.
    fn last_layer(&self) -> &'static str {
        match self.answer {
            Answer::Class => "classifier",
            Answer::Values(_) => "regressor",
        }
    }

    pub(super) fn params(&self) -> Vec<ParamSpec> {
        let (f, w, name) = (self.features(), self.width(), self.last_layer());
        let mut v = Vec::new();
        if self.readout == Readout::Seq {
            v.push(ParamSpec::new("out.weight", &[self.o, w], w, Role::Weight));
            v.push(ParamSpec::new("out.bias", &[self.o], w, Role::Bias));
        }
        let weight = format!("{name}.weight");
        v.push(ParamSpec::new(
            &weight,
            &[self.k, f],
            f,
            Role::ClassifierWeight,
        ));
        let bias = format!("{name}.bias");
        v.push(ParamSpec::new(&bias, &[self.k], f, Role::ClassifierBias));
        v
    }

    /// Length of (V and c) at the start of the head's slice: zero but for `seq`.
    fn vc(&self) -> usize {
        if self.readout == Readout::Seq {
            self.o * self.width() + self.o
        } else {
            0
        }
    }

    /// Splits the head's parameter slice into (V, c, Θ, β); V and c are empty but for `seq`.
    #[allow(clippy::type_complexity)]
    fn split<'a, T>(&self, p: &'a [T]) -> (&'a [T], &'a [T], &'a [T], &'a [T]) {
        let vc = self.vc();
        let (v, c) = p[..vc].split_at(vc.min(self.o * self.width()));
        let (theta, beta) = p[vc..].split_at(self.k * self.features());
        (v, c, theta, &beta[..self.k])
    }

    /// Mutable (dV, dc, dΘ, dβ).
    #[allow(clippy::type_complexity)]
    fn split_mut<'a, T>(
        &self,
        p: &'a mut [T],
    ) -> (&'a mut [T], &'a mut [T], &'a mut [T], &'a mut [T]) {
        let vc = self.vc();
        let (vc_part, rest) = p.split_at_mut(vc);
        let (v, c) = vc_part.split_at_mut(vc.min(self.o * self.width()));
        let (theta, beta) = rest.split_at_mut(self.k * self.features());
        (v, c, theta, &mut beta[..self.k])
    }

    /// The seed readout's outputs of one step's output `h` (H' numbers): `out = V·h + c` (O
    /// numbers).
    pub fn step_outputs<T: Real>(&self, p: &[T], h: &[T], out: &mut [T]) {
        let (v, c, _, _) = self.split(p);
        let w = self.width();
        out[..self.o].copy_from_slice(c);
        gemv(Op::N, self.o, w, 1.0, v, w, h, 1.0, out);
    }

    /// The last layer on one row of features `z` (the readout's F numbers): `Θ·z + β` into `out`
    /// (K numbers), turned into probabilities for classes.
    pub fn row_answer<T: Real>(&self, p: &[T], z: &[T], out: &mut [T]) {
        let (_, _, theta, beta) = self.split(p);
        let f = self.features();
        let out = &mut out[..self.k];
        out.copy_from_slice(beta);
        gemv(Op::N, self.k, f, 1.0, theta, f, z, 1.0, out);
        if self.answer == Answer::Class {
            super::loss::softmax(out);
        }
    }

    pub(super) fn flops<T>(&self, s: &Seqs<T>) -> (u64, u64) {
        let (b, t, h, o, k, f) = (s.b, s.t, self.width(), self.o, self.k, self.features());
        // Every readout: the last layer (b×f by f×k), dΘ, dZ; dβ row sums and (classes) the
        // scaling of dL.
        let scaling = if self.answer == Answer::Class {
            b * k
        } else {
            0
        };
        let mut fwd = 2 * b * f * k;
        let mut bwd = 2 * k * f * b + 2 * b * f * k + 2 * b * k + scaling;
        if self.readout == Readout::Seq {
            // Outputs Y = S·Vᵀ; backward dV, dc (row sums) and dS = dY·V.
            fwd += 2 * b * t * h * o;
            bwd += 2 * o * h * b * t + 2 * b * t * o + 2 * b * t * o * h;
        }
        (fwd as u64, bwd as u64)
    }

    pub(super) fn forward<T: Real>(
        &self,
        x: &HeadInput<T>,
        buf: &mut HeadBuffers<T>,
    ) -> (f64, usize) {
        let (p, s, st) = (x.p, x.s, x.st);
        let (b, k, f) = (s.b, self.k, self.features());
        let (v, c, theta, beta) = self.split(p);
        let feat = &mut buf.feat[..b * f];
        self.read_out(s, st, v, c, feat, &mut buf.wt);
        // Θ·z + β for every sequence (m = b, n = K, k = F).
        let out = &mut buf.probs[..b * k];
        fill_rows(out, beta);
        gemm_xwt(b, k, f, 1.0, feat, f, theta, 1.0, out, k, &mut buf.wt);
        match self.answer {
            Answer::Class => softmax_xent(out, &x.targets[..b], k),
            Answer::Values(loss) => (regression_loss(out, &x.values[..b * k], k, loss), 0),
        }
    }

    /// The readout's features of every sequence, into `feat` (`[b][F]`).
    fn read_out<T: Real>(
        &self,
        s: &Seqs<T>,
        st: &[T],
        v: &[T],
        c: &[T],
        feat: &mut [T],
        wt: &mut [T],
    ) {
        let (b, t, h, w, o) = (s.b, s.t, self.h, self.width(), self.o);
        match self.readout {
            Readout::Seq => {
                assert_eq!(t, self.t, "the seq readout reads exactly T steps");
                assert!(
                    s.live_rows() == b * t,
                    "the seq readout needs sequences of one length"
                );
                // Y = S·Vᵀ + 1·cᵀ (m = b·T, n = O, k = H'), which is Z (b × T·O).
                fill_rows(feat, c);
                gemm_xwt(b * t, o, w, 1.0, st, w, v, 1.0, feat, o, wt);
            }
            Readout::Last => {
                for (seq, row) in feat.chunks_exact_mut(w).enumerate() {
                    let last = (seq * t + s.len_of(seq) - 1) * w;
                    row[..h].copy_from_slice(&st[last..last + h]);
                    if self.dirs == 2 {
                        let first = seq * t * w;
                        row[h..].copy_from_slice(&st[first + h..first + w]);
                    }
                }
            }
            Readout::Mean => {
                for (seq, row) in feat.chunks_exact_mut(w).enumerate() {
                    let len = s.len_of(seq);
                    row.fill(T::ZERO);
                    for step in st[seq * t * w..(seq * t + len) * w].chunks_exact(w) {
                        for (a, &x) in row.iter_mut().zip(step) {
                            *a += x;
                        }
                    }
                    let inv = T::from_f64(1.0 / len as f64);
                    row.iter_mut().for_each(|a| *a *= inv);
                }
            }
            Readout::Step => unreachable!("a per-step readout has a head of its own"),
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
        let (p, s, st) = (x.p, x.s, x.st);
        let (b, t, h, w, o, k, f) = (
            s.b,
            s.t,
            self.h,
            self.width(),
            self.o,
            self.k,
            self.features(),
        );
        let (v, _, theta, _) = self.split(p);
        let gl = match self.answer {
            Answer::Class => {
                softmax_xent_grad(&buf.probs, &mut buf.g_logits, &x.targets[..b], k, scale)
            }
            Answer::Values(loss) => {
                let (pred, y) = (&buf.probs[..b * k], &x.values[..b * k]);
                regression_grad(pred, y, &mut buf.g_logits, k, loss, scale)
            }
        };
        let (dv, dc, dtheta, dbeta) = self.split_mut(grad);
        let (feat, g_feat) = (&buf.feat[..b * f], &mut buf.g_feat[..b * f]);
        // dβ += dLᵀ·1; dΘ += dLᵀ·Z (m = K, n = F, k = b); dZ = dL·Θ (m = b, n = F, k = K).
        gemv(Op::T, b, k, 1.0, gl, k, s.ones, 1.0, dbeta);
        gemm(Op::T, Op::N, k, f, b, 1.0, gl, k, feat, f, 1.0, dtheta, f);
        gemm(Op::N, Op::N, b, f, k, 1.0, gl, k, theta, f, 0.0, g_feat, f);
        let g_s = &mut g_s[..b * t * w];
        match self.readout {
            Readout::Seq => {
                // dV += dYᵀ·S (m = O, n = H', k = b·T); dc += dYᵀ·1; dS = dY·V (m = b·T, n = H',
                // k = O).
                gemm(Op::T, Op::N, o, w, b * t, 1.0, g_feat, o, st, w, 1.0, dv, w);
                gemv(Op::T, b * t, o, 1.0, g_feat, o, s.ones, 1.0, dc);
                gemm(Op::N, Op::N, b * t, w, o, 1.0, g_feat, o, v, w, 0.0, g_s, w);
            }
            Readout::Last => {
                g_s.fill(T::ZERO);
                for (seq, row) in g_feat.chunks_exact(w).enumerate() {
                    let last = (seq * t + s.len_of(seq) - 1) * w;
                    g_s[last..last + h].copy_from_slice(&row[..h]);
                    if self.dirs == 2 {
                        let first = seq * t * w;
                        g_s[first + h..first + w].copy_from_slice(&row[h..]);
                    }
                }
            }
            Readout::Mean => {
                g_s.fill(T::ZERO);
                for (seq, row) in g_feat.chunks_exact(w).enumerate() {
                    let len = s.len_of(seq);
                    let inv = T::from_f64(1.0 / len as f64);
                    for step in g_s[seq * t * w..(seq * t + len) * w].chunks_exact_mut(w) {
                        for (a, &x) in step.iter_mut().zip(row) {
                            *a = x * inv;
                        }
                    }
                }
            }
            Readout::Step => unreachable!("a per-step readout has a head of its own"),
        }
    }
}
