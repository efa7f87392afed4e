//! The one trait every recurrent cell implements, and what a cell runs over.
//!
//! A cell reads a batch of `b` sequences laid out batch-major, `[b][t][D]` (one MNIST image is one
//! contiguous block of t rows of D pixels), or `[b][t]` token ids for a one-hot input, and
//! produces hidden states `[b][t][H]`. Step s of all sequences is then a strided matrix (b rows,
//! leading dimension t·H) starting at row s, so each step's recurrent product is one GEMM.
//!
//! Sequences may end early: they come sorted longest first, and `active[s]` of them are still
//! running at step s, so a step's products take the first `active[s]` rows. Rows past a
//! sequence's end are padding: their states are zero and their gradients are zero.
//!
//! Every sequence starts from a state `[b][state_len]` (h, then c for the LSTM): zeros, or the
//! state a text stream carried over from its previous chunk (truncated BPTT).
//!
//! All intermediate values live in a caller-owned `cache`; gradients are accumulated (`+=`) into a
//! caller-owned slice laid out like the cell's parameters. Nothing is allocated.

mod common;
mod gru;
mod lstm;
mod tanh;

pub use common::recurrent_weight_grad;
pub use gru::GruCell;
pub use lstm::LstmCell;
pub use tanh::TanhCell;

use crate::nn::params::{LayerId, ParamSpec};
use crate::real::Real;

/// Which recurrent cell a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// The seed's plain tanh RNN: `s_t = tanh(U x_t + W s_{t-1} + b)`.
    Tanh,
    /// LSTM, PyTorch's gate order i, f, g, o.
    Lstm,
    /// GRU, PyTorch's gate order r, z, n.
    Gru,
}

crate::choice::choice!(CellKind { Tanh => "tanh", Lstm => "lstm", Gru => "gru" });

/// What a layer reads.
#[derive(Clone, Copy)]
pub enum Input<'a, T> {
    /// Dense rows `[b][t][D]`.
    Dense(&'a [T]),
    /// Token ids `[b][t]`, each < D: a one-hot input, whose projection is a gather of columns of
    /// `weight_ih` (and its gradient a scatter-add), not a product with a one-hot matrix.
    Tokens(&'a [u32]),
}

/// The batch a cell runs over, and what it starts from.
#[derive(Clone, Copy)]
pub struct Seqs<'a, T> {
    /// The inputs.
    pub x: Input<'a, T>,
    /// Sequences in the batch.
    pub b: usize,
    /// Steps of the longest (the layout's row count per sequence).
    pub t: usize,
    /// `active[s]`: how many sequences (the first ones) run at step s; non-increasing, `t` long.
    pub active: &'a [usize],
    /// The state each sequence starts from, `[b][state_len]`.
    pub start: &'a [T],
    /// Whether `start` may be non-zero; when false it is all zeros and the first step's recurrent
    /// product is skipped.
    pub carried: bool,
    /// At least `b·t` ones (row sums as one BLAS call).
    pub ones: &'a [T],
}

impl<T> Seqs<'_, T> {
    /// Rows of the layout, `b·t`.
    pub fn rows(&self) -> usize {
        self.b * self.t
    }

    /// Steps of sequence `seq` (it runs while `active[s] > seq`).
    pub fn len_of(&self, seq: usize) -> usize {
        self.active.partition_point(|&n| n > seq)
    }

    /// Sequences times steps that really run (rows that are not padding).
    pub fn live_rows(&self) -> usize {
        self.active.iter().sum()
    }
}

/// Gradients a cell's backward pass writes.
pub struct Grads<'a, T> {
    /// dL/dh `[b][t][H]` from the layers above; overwritten.
    pub g_h: &'a mut [T],
    /// When given, dL/dx `[b][t][D]` is written here (for the layer below).
    pub dx: Option<&'a mut [T]>,
    /// The cell's parameter gradient, accumulated (`+=`).
    pub params: &'a mut [T],
}

/// A recurrent cell run over whole batches of sequences.
///
/// Shapes: `b` sequences of up to `t` steps; inputs `x: [b][t][D]`; hidden states `[b][t][H]`;
/// every number of type `T` (`f64` or `f32`).
pub trait Cell<T: Real>: Send + Sync {
    /// Which cell this is.
    fn kind(&self) -> CellKind;
    /// Inputs per step, D (the vocabulary for a one-hot input).
    fn input(&self) -> usize;
    /// Hidden units, H.
    fn hidden(&self) -> usize;
    /// The cell's parameters as cell `id` of a stack, in the order they sit in its slice of the
    /// flat buffer.
    fn params(&self, id: LayerId) -> Vec<ParamSpec>;
    /// Numbers of state per sequence carried from one chunk to the next: H, or 2H for the LSTM
    /// (h, then c).
    fn state_len(&self) -> usize {
        self.hidden()
    }
    /// Exact floating-point operations of the BLAS calls of (`forward`, `backward`) over `s`
    /// (2mnk a product, 2mn a row sum; elementwise work and one-hot gathers are not counted),
    /// with `dx` asked for or not.
    fn flops(&self, s: &Seqs<T>, dx: bool) -> (u64, u64);
    /// Length of the forward cache for `b` sequences of `t` steps.
    fn cache_len(&self, b: usize, t: usize) -> usize;
    /// Length of the scratch space `backward` needs for `b` sequences of `t` steps.
    fn scratch_len(&self, b: usize, t: usize) -> usize;
    /// Runs the cell over `s`, filling `cache`.
    fn forward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T]);
    /// The hidden states `[b][t][H]` inside a cache filled by `forward`.
    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T];
    /// Writes the state after each sequence's last step, `[b][state_len]`, into `out`.
    fn final_state(&self, cache: &[T], s: &Seqs<T>, out: &mut [T]);
    /// Sets the forget gate's bias (LSTM; other cells have none and ignore it).
    fn set_forget_bias(&self, _p: &mut [T], _value: f64) {}
    /// Backpropagation through time after `forward` on the same `s`: the cache and `g.g_h` are
    /// overwritten, the parameter gradients accumulated into `g.params`.
    fn backward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T], scratch: &mut [T], g: Grads<T>);
}

/// Builds a cell of the given kind for `input` inputs per step (a vocabulary of `input` symbols
/// when `one_hot`) and `hidden` units.
pub fn build<T: Real>(
    kind: CellKind,
    input: usize,
    hidden: usize,
    one_hot: bool,
) -> Box<dyn Cell<T>> {
    match kind {
        CellKind::Tanh => Box::new(TanhCell::new(input, hidden, one_hot)),
        CellKind::Lstm => Box::new(LstmCell::new(input, hidden, one_hot)),
        CellKind::Gru => Box::new(GruCell::new(input, hidden, one_hot)),
    }
}
