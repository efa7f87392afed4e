//! The one trait every recurrent cell implements, and the description of a named parameter.
//!
//! A cell reads a batch of sequences `x` laid out batch-major, `[B][T][D]` (so one MNIST image is
//! one contiguous block of T rows of D pixels), and produces hidden states `[B][T][H]`. All of its
//! intermediate values live in a caller-owned `cache`; gradients are accumulated (`+=`) into a
//! caller-owned slice laid out like the cell's parameters. Nothing is allocated.

use crate::blas::{Op, gemm};
use crate::real::Real;

/// A named parameter tensor inside the flat parameter buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// PyTorch-style name, e.g. `rnn.weight_hh_l0`.
    pub name: String,
    /// Shape, outermost first (row-major).
    pub shape: Vec<usize>,
    /// Fan-in of the layer the tensor belongs to (sets the scale of the default initialisation).
    pub fan_in: usize,
    /// What the tensor is, for initialisation.
    pub role: Role,
}

/// What a parameter is, which decides how each initialisation scheme fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A weight matrix of the recurrent cell or of the output layer.
    Weight,
    /// A bias vector of the recurrent cell or of the output layer.
    Bias,
    /// A weight of the softmax classifier.
    ClassifierWeight,
    /// A bias of the softmax classifier.
    ClassifierBias,
}

impl ParamSpec {
    /// A spec with the given name, shape, fan-in and role.
    pub fn new(name: &str, shape: &[usize], fan_in: usize, role: Role) -> Self {
        ParamSpec {
            name: name.to_string(),
            shape: shape.to_vec(),
            fan_in,
            role,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The recurrent layer's tensors for `gates` stacked gates (1 for the tanh cell, 4 LSTM, 3 GRU)
/// with PyTorch's names; `bias_hh` only where the cell keeps a second bias.
pub fn rnn_params(input: usize, hidden: usize, gates: usize, bias_hh: bool) -> Vec<ParamSpec> {
    let (d, h, g) = (input, hidden, gates * hidden);
    let mut v = vec![
        ParamSpec::new("rnn.weight_ih_l0", &[g, d], h, Role::Weight),
        ParamSpec::new("rnn.weight_hh_l0", &[g, h], h, Role::Weight),
        ParamSpec::new("rnn.bias_ih_l0", &[g], h, Role::Bias),
    ];
    if bias_hh {
        v.push(ParamSpec::new("rnn.bias_hh_l0", &[g], h, Role::Bias));
    }
    v
}

/// The four tensors of a gated layer with `g` stacked gate rows — `weight_ih` (g×D), `weight_hh`
/// (g×H), `bias_ih`, `bias_hh` (g) — as views of its slice of the parameter or gradient buffer, in
/// the order [`rnn_params`] lays them out.
pub(crate) struct GateTensors<S> {
    pub w_ih: S,
    pub w_hh: S,
    pub b_ih: S,
    pub b_hh: S,
}

impl<'a, T> GateTensors<&'a [T]> {
    /// Views of `p` for `d` inputs, `h` hidden units and `g` gate rows.
    pub(crate) fn of(p: &'a [T], d: usize, h: usize, g: usize) -> Self {
        let (w_ih, rest) = p.split_at(g * d);
        let (w_hh, rest) = rest.split_at(g * h);
        let (b_ih, rest) = rest.split_at(g);
        GateTensors {
            w_ih,
            w_hh,
            b_ih,
            b_hh: &rest[..g],
        }
    }
}

impl<'a, T> GateTensors<&'a mut [T]> {
    /// Mutable views of `p` (a gradient) for `d` inputs, `h` hidden units and `g` gate rows.
    pub(crate) fn of_mut(p: &'a mut [T], d: usize, h: usize, g: usize) -> Self {
        let (w_ih, rest) = p.split_at_mut(g * d);
        let (w_hh, rest) = rest.split_at_mut(g * h);
        let (b_ih, rest) = rest.split_at_mut(g);
        GateTensors {
            w_ih,
            w_hh,
            b_ih,
            b_hh: &mut rest[..g],
        }
    }
}

/// `A_t += H_{t-1}·W_hhᵀ` at step `step` (≥ 1) of every sequence, all gates in one product:
/// `states: [b][t][h]`, `gates: [b][t][g]`, `w_hh` g×h.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_recurrent_gates<T: Real>(
    states: &[T],
    w_hh: &[T],
    gates: &mut [T],
    b: usize,
    t: usize,
    step: usize,
    h: usize,
    g: usize,
) {
    gemm(
        Op::N,
        Op::T,
        b,
        g,
        h,
        1.0,
        &states[(step - 1) * h..],
        t * h,
        w_hh,
        h,
        1.0,
        &mut gates[step * g..],
        t * g,
    );
}

/// `dH_{t-1} += dA_t·W_hh` at step `step` (≥ 1) of every sequence, all gates in one product:
/// `d_gates: [b][t][g]`, `g_h: [b][t][h]`, `w_hh` g×h.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_recurrent_state_grad<T: Real>(
    d_gates: &[T],
    w_hh: &[T],
    g_h: &mut [T],
    b: usize,
    t: usize,
    step: usize,
    h: usize,
    g: usize,
) {
    gemm(
        Op::N,
        Op::N,
        b,
        h,
        g,
        1.0,
        &d_gates[step * g..],
        t * g,
        w_hh,
        h,
        1.0,
        &mut g_h[(step - 1) * h..],
        t * h,
    );
}

/// `dW_hh += Σ_{t≥1} dA_tᵀ·H_{t-1}` for every sequence, as one product over all rows.
///
/// `da: [b][t][g]` holds the gradients of the gate pre-activations, `states: [b][t][h]` the
/// hidden states; `dw_hh` is g×h. Row r ≥ 1 of dA pairs with row r−1 of the states; a sequence's
/// first row would pair with the previous sequence's last state, so those rows of dA are zeroed
/// first (the caller must have used them already: `da` is overwritten).
pub fn recurrent_weight_grad<T: Real>(
    da: &mut [T],
    states: &[T],
    b: usize,
    t: usize,
    g: usize,
    h: usize,
    dw_hh: &mut [T],
) {
    if b * t < 2 {
        return;
    }
    for seq in 0..b {
        da[seq * t * g..seq * t * g + g].fill(T::ZERO);
    }
    let rows = b * t - 1;
    gemm(
        Op::T,
        Op::N,
        g,
        h,
        rows,
        1.0,
        &da[g..],
        g,
        states,
        h,
        1.0,
        dw_hh,
        h,
    );
}

/// Which recurrent cell a model uses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// The seed's plain tanh RNN: `s_t = tanh(U x_t + W s_{t-1} + b)`.
    Tanh,
    /// LSTM, PyTorch's gate order i, f, g, o.
    Lstm,
    /// GRU, PyTorch's gate order r, z, n.
    Gru,
}

impl CellKind {
    /// The lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Tanh => "tanh",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }
}

/// A recurrent cell run over whole batches of sequences.
///
/// Shapes: `b` sequences of `t` steps; inputs `x: [b][t][D]`; hidden states `[b][t][H]`; every
/// number of type `T` (`f64` or `f32`).
pub trait Cell<T: Real>: Send + Sync {
    /// The cell's parameters, in the order they sit in its slice of the flat buffer.
    fn params(&self) -> Vec<ParamSpec>;
    /// Exact floating-point operations of the BLAS calls of (`forward`, `backward`) for `b`
    /// sequences of `t` steps (2mnk a product; elementwise work not counted).
    fn flops(&self, b: usize, t: usize) -> (u64, u64);
    /// Length of the forward cache for `b` sequences of `t` steps.
    fn cache_len(&self, b: usize, t: usize) -> usize;
    /// Length of the scratch space `backward` needs for `b` sequences of `t` steps.
    fn scratch_len(&self, b: usize, t: usize) -> usize;
    /// Runs the cell over `x: [b][t][D]`, filling `cache`.
    fn forward(&self, p: &[T], x: &[T], b: usize, t: usize, cache: &mut [T]);
    /// The hidden states `[b][t][H]` inside a cache filled by `forward`.
    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T];
    /// Sets the forget gate's bias (LSTM; other cells have none and ignore it).
    fn set_forget_bias(&self, _p: &mut [T], _value: f64) {}
    /// Backpropagation through time. `g_h: [b][t][H]` holds dL/dh_t from the layers above; it and
    /// the cache are overwritten. The parameter gradients are accumulated into `grad` (`+=`).
    /// `ones` is a vector of at least `b·t` ones, used to sum rows with one BLAS call.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        p: &[T],
        x: &[T],
        b: usize,
        t: usize,
        cache: &mut [T],
        g_h: &mut [T],
        scratch: &mut [T],
        ones: &[T],
        grad: &mut [T],
    );
}

/// Builds a cell of the given kind for `input` inputs per step and `hidden` units.
pub fn build<T: Real>(kind: CellKind, input: usize, hidden: usize) -> Box<dyn Cell<T>> {
    match kind {
        CellKind::Tanh => Box::new(crate::rnn::TanhCell::new(input, hidden)),
        CellKind::Lstm => Box::new(crate::lstm::LstmCell::new(input, hidden)),
        CellKind::Gru => Box::new(crate::gru::GruCell::new(input, hidden)),
    }
}
