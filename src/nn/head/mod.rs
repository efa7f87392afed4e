//! The heads on top of the stack's outputs `[b][t][H']`:
//!
//! - [`SeqHead`]: one answer per sequence from a readout (`seq`, `last`, `mean`): a class
//!   (softmax cross-entropy), or real numbers (a regression loss: [`Loss`]);
//! - [`StepHead`]: a class at every step: a language model's next token, or a label per step of
//!   sequences of their own lengths.
//!
//! Each has a forward pass (the summed loss and the right answers) and a backward pass that
//! accumulates its parameters' gradients and writes dL/d(output) for the stack.

mod loss;
mod sequence;
mod steps;

pub use loss::{Loss, argmax, softmax, softmax_xent};
pub use sequence::{Answer, SeqHead};
pub use steps::StepHead;

use super::cell::Seqs;
use crate::nn::params::ParamSpec;
use crate::real::Real;

/// What the stack's outputs become: one answer per sequence, or one at every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// The seed's: an output layer at every step, all T outputs into the last layer (sequences
    /// of one length only).
    Seq,
    /// Each sequence's last output (two directions: the forward one's last state and the reverse
    /// one's state at the first step).
    Last,
    /// The mean of each sequence's outputs over its steps.
    Mean,
    /// A class at every step (labels per step).
    Step,
}

crate::choice::choice!(Readout { Seq => "seq", Last => "last", Mean => "mean", Step => "step" });

/// Either head.
#[derive(Debug, Clone, Copy)]
pub enum Head {
    /// One answer per sequence.
    Sequence(SeqHead),
    /// A class at every step.
    Steps(StepHead),
}

/// What a head's passes read: its parameters, the batch, the top layer's outputs `[b][t][H']`,
/// and the targets (a class per sequence, a class per step `[b][t]`, or real numbers `[b][K]`).
pub struct HeadInput<'a, T> {
    /// The head's slice of the parameters.
    pub p: &'a [T],
    /// The batch.
    pub s: &'a Seqs<'a, T>,
    /// The top layer's outputs.
    pub st: &'a [T],
    /// Class targets.
    pub targets: &'a [u32],
    /// Real-valued targets (regression), standardised.
    pub values: &'a [T],
}

/// Buffers of a head for one batch, sized once.
pub struct HeadBuffers<T> {
    /// Outputs `[b][T][O]` (seed readout), or the gathered features `[b][H']` (last, mean).
    feat: Vec<T>,
    /// Their gradient.
    g_feat: Vec<T>,
    /// Logits, then probabilities `[rows][K]` (rows = b, or b·t), or predicted values `[b][K]`.
    probs: Vec<T>,
    /// Gradient of the logits or predictions.
    g_logits: Vec<T>,
    /// The transpose of the weight a product reads, when the BLAS prefers it (`blas::gemm_xwt`).
    wt: Vec<T>,
}

impl<T: Real> HeadBuffers<T> {
    /// Every buffer, for a look at the numbers they hold.
    pub(crate) fn all(&self) -> [&[T]; 5] {
        [
            &self.feat,
            &self.g_feat,
            &self.probs,
            &self.g_logits,
            &self.wt,
        ]
    }

    /// The probabilities (or predicted values) of the last forward, `rows × k`.
    pub fn probs(&self, rows: usize, k: usize) -> &[T] {
        &self.probs[..rows * k]
    }
}

impl Head {
    /// The head's parameters in buffer order.
    pub fn params(&self) -> Vec<ParamSpec> {
        match self {
            Head::Sequence(c) => c.params(),
            Head::Steps(n) => n.params(),
        }
    }

    /// Number of outputs of a row: classes, targets, or the vocabulary.
    pub fn outputs(&self) -> usize {
        match self {
            Head::Sequence(c) => c.k,
            Head::Steps(n) => n.k,
        }
    }

    /// Rows of outputs a batch of `b` sequences of `t` steps gives (b, or b·t).
    pub fn rows(&self, b: usize, t: usize) -> usize {
        match self {
            Head::Sequence(_) => b,
            Head::Steps(_) => b * t,
        }
    }

    /// Buffers for `b` sequences of up to `t` steps.
    pub fn buffers<T: Real>(&self, b: usize, t: usize) -> HeadBuffers<T> {
        let feat = match self {
            Head::Sequence(c) => b * c.features(),
            Head::Steps(_) => 0,
        };
        let probs = self.rows(b, t) * self.outputs();
        // The largest weight a forward product reads transposed.
        let wt = match self {
            Head::Sequence(c) if c.readout == Readout::Seq => {
                (c.o * c.width()).max(c.k * c.features())
            }
            Head::Sequence(c) => c.k * c.features(),
            Head::Steps(n) => n.k * n.h,
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
            Head::Sequence(c) => c.flops(s),
            Head::Steps(n) => n.flops(s),
        }
    }

    /// Forward from the top outputs; returns the summed loss and how many answers were right
    /// (classes; 0 for real numbers).
    pub fn forward<T: Real>(&self, x: &HeadInput<T>, buf: &mut HeadBuffers<T>) -> (f64, usize) {
        match self {
            Head::Sequence(c) => c.forward(x, buf),
            Head::Steps(n) => n.forward(x, buf),
        }
    }

    /// Backward after `forward`: the gradient of `scale ×` the summed loss is accumulated into
    /// `grad` (the head's slice), and dL/d(output) written over `g_s` (`[b][t][H']`).
    pub fn backward<T: Real>(
        &self,
        x: &HeadInput<T>,
        scale: f64,
        buf: &mut HeadBuffers<T>,
        grad: &mut [T],
        g_s: &mut [T],
    ) {
        match self {
            Head::Sequence(c) => c.backward(x, scale, buf, grad, g_s),
            Head::Steps(n) => n.backward(x, scale, buf, grad, g_s),
        }
    }
}
