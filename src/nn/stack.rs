//! The cell stack: `L` layers of one cell kind, layer l reading layer l−1's hidden states (after
//! dropout, when training with it, as `nn.LSTM(dropout=p)` does: between layers, not after the
//! last), and in backward handing each layer's dL/dx down as the layer below's dL/dh.
//!
//! Shapes: layer 0 reads the model's input (`[b][t][D]` rows or `[b][t]` tokens); every layer
//! writes `[b][t][H]`; each layer starts from its own state `[b][state_len]`.

use crate::nn::cell::{self, Cell, CellKind, Grads, Input, Seqs};
use crate::nn::params::ParamSpec;
use crate::real::Real;
use std::ops::Range;

/// Dropout between stacked layers for one batch: keep each number with probability 1 − p and scale
/// it by 1/(1 − p). The mask of a sequence depends only on `key` (the seed and the iteration), the
/// sequence's index in the whole batch (`first` + its index in this shard) and the layer, so it is
/// the same whatever the thread count.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    /// Probability of dropping a number.
    pub p: f64,
    /// Seed of this batch's masks.
    pub key: u64,
    /// Index in the whole batch of this shard's first sequence.
    pub first: usize,
}

/// `L` recurrent layers of one cell kind.
pub struct Stack<T: Real> {
    layers: Vec<Box<dyn Cell<T>>>,
    ranges: Vec<Range<usize>>,
    specs: Vec<ParamSpec>,
}

/// Every buffer the stack needs for one batch, sized once.
pub struct StackBuffers<T> {
    caches: Vec<Vec<T>>,
    scratch: Vec<T>,
    /// The state each layer starts from, `[L][b][state_len]`.
    starts: Vec<Vec<T>>,
    /// Scaled keep-masks and dropped outputs of layers 0..L−1 (empty without dropout).
    masks: Vec<Vec<T>>,
    dropped: Vec<Vec<T>>,
    /// Whether the last forward applied dropout.
    dropped_live: bool,
    /// dL/dh of the current layer and dL/dx handed down (ping-pong, `[b][t][H]` each).
    g: [Vec<T>; 2],
}

impl<T: Real> Stack<T> {
    /// `layers` layers of `kind` with `hidden` units; the first reads `input` numbers per step
    /// (symbols, when `one_hot`), the others the hidden states below.
    pub fn new(kind: CellKind, input: usize, one_hot: bool, hidden: usize, layers: usize) -> Self {
        assert!(layers >= 1, "a stack needs a layer");
        let layers: Vec<Box<dyn Cell<T>>> = (0..layers)
            .map(|l| match l {
                0 => cell::build(kind, input, hidden, one_hot),
                _ => cell::build(kind, hidden, hidden, false),
            })
            .collect();
        let mut specs = Vec::new();
        let mut ranges = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            let p = layer.params(l);
            let start = specs.iter().map(ParamSpec::len).sum::<usize>();
            ranges.push(start..start + p.iter().map(ParamSpec::len).sum::<usize>());
            specs.extend(p);
        }
        Stack {
            layers,
            ranges,
            specs,
        }
    }

    /// The parameters of every layer, layer 0 first (`rnn.weight_ih_l0`, …, `rnn.bias_hh_l{L−1}`).
    pub fn params(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.end)
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Numbers of state each layer carries per sequence.
    pub fn state_len(&self) -> usize {
        self.layers[0].state_len()
    }

    /// Sets every layer's LSTM forget-gate bias (nothing for other cells).
    pub fn set_forget_bias(&self, p: &mut [T], value: f64) {
        for (layer, r) in self.layers.iter().zip(&self.ranges) {
            layer.set_forget_bias(&mut p[r.clone()], value);
        }
    }

    /// Buffers for `b` sequences of up to `t` steps; room for dropout masks when `dropout`.
    pub fn buffers(&self, b: usize, t: usize, dropout: bool) -> StackBuffers<T> {
        let h = self.layers[0].hidden();
        let between = if dropout { self.depth() - 1 } else { 0 };
        StackBuffers {
            caches: self
                .layers
                .iter()
                .map(|l| vec![T::ZERO; l.cache_len(b, t)])
                .collect(),
            scratch: vec![
                T::ZERO;
                self.layers
                    .iter()
                    .map(|l| l.scratch_len(b, t))
                    .max()
                    .unwrap_or(0)
            ],
            starts: (0..self.depth())
                .map(|_| vec![T::ZERO; b * self.state_len()])
                .collect(),
            masks: (0..between).map(|_| vec![T::ZERO; b * t * h]).collect(),
            dropped: (0..between).map(|_| vec![T::ZERO; b * t * h]).collect(),
            dropped_live: false,
            g: [vec![T::ZERO; b * t * h], vec![T::ZERO; b * t * h]],
        }
    }

    /// Exact FLOPs of (forward, backward) over `s` (whose `x` and `start` are not read).
    pub fn flops(&self, s: &Seqs<T>) -> (u64, u64) {
        self.layers
            .iter()
            .enumerate()
            .fold((0, 0), |(f, b), (l, layer)| {
                let (lf, lb) = layer.flops(s, l > 0);
                (f + lf, b + lb)
            })
    }

    /// Forward through every layer over `s` (its `x` is layer 0's input; its `start` is ignored:
    /// each layer starts from its own state in `buf`), with dropout between layers when given.
    pub fn forward(
        &self,
        p: &[T],
        s: &Seqs<T>,
        buf: &mut StackBuffers<T>,
        dropout: Option<Dropout>,
    ) {
        let (b, t) = (s.b, s.t);
        let live = dropout.filter(|d| d.p > 0.0 && self.depth() > 1);
        assert!(
            live.is_none() || buf.masks.len() + 1 == self.depth(),
            "stack: dropout needs buffers sized for it"
        );
        buf.dropped_live = live.is_some();
        for (l, layer) in self.layers.iter().enumerate() {
            let (below, here) = buf.caches.split_at_mut(l);
            let x = if l == 0 {
                s.x
            } else if let Some(d) = live {
                let states = self.layers[l - 1].states(&below[l - 1], b, t);
                apply_dropout(
                    d,
                    l - 1,
                    states,
                    &mut buf.masks[l - 1],
                    &mut buf.dropped[l - 1],
                    b,
                );
                Input::Dense(&buf.dropped[l - 1][..b * t * layer.input()])
            } else {
                Input::Dense(self.layers[l - 1].states(&below[l - 1], b, t))
            };
            let seqs = Seqs {
                x,
                start: &buf.starts[l],
                ..*s
            };
            layer.forward(&p[self.ranges[l].clone()], &seqs, &mut here[0]);
        }
    }

    /// The top layer's hidden states `[b][t][H]` after `forward`.
    pub fn top_states<'a>(&self, buf: &'a StackBuffers<T>, b: usize, t: usize) -> &'a [T] {
        let l = self.depth() - 1;
        self.layers[l].states(&buf.caches[l], b, t)
    }

    /// The top layer's hidden states, and where the head writes their gradient dL/dh
    /// (`[b][t][H]` each) before `backward`.
    pub fn top_states_and_grad<'a>(
        &self,
        buf: &'a mut StackBuffers<T>,
        b: usize,
        t: usize,
    ) -> (&'a [T], &'a mut [T]) {
        let l = self.depth() - 1;
        let states = self.layers[l].states(&buf.caches[l], b, t);
        (states, &mut buf.g[0][..b * t * self.layers[l].hidden()])
    }

    /// Backpropagation through every layer, top first, after `forward` on the same `s`; the
    /// parameter gradients are accumulated into `grad` (the stack's slice).
    pub fn backward(&self, p: &[T], s: &Seqs<T>, buf: &mut StackBuffers<T>, grad: &mut [T]) {
        let (b, t) = (s.b, s.t);
        let StackBuffers {
            caches,
            scratch,
            starts,
            masks,
            dropped,
            dropped_live,
            g,
        } = buf;
        let [g0, g1] = g;
        let (mut cur, mut down) = (g0, g1);
        for l in (0..self.depth()).rev() {
            let (below, here) = caches.split_at_mut(l);
            let x = match l {
                0 => s.x,
                _ if *dropped_live => {
                    Input::Dense(&dropped[l - 1][..b * t * self.layers[l].input()])
                }
                _ => Input::Dense(self.layers[l - 1].states(&below[l - 1], b, t)),
            };
            let seqs = Seqs {
                x,
                start: &starts[l],
                ..*s
            };
            let grads = Grads {
                g_h: &mut cur[..],
                dx: (l > 0).then_some(&mut down[..]),
                params: &mut grad[self.ranges[l].clone()],
            };
            self.layers[l].backward(
                &p[self.ranges[l].clone()],
                &seqs,
                &mut here[0],
                scratch,
                grads,
            );
            if l > 0 && *dropped_live {
                for (gv, &m) in down[..b * t * self.layers[l].input()]
                    .iter_mut()
                    .zip(&masks[l - 1][..])
                {
                    *gv *= m;
                }
            }
            std::mem::swap(&mut cur, &mut down);
        }
    }

    /// Makes each layer's state after the last step the start of the next batch (the chunk that
    /// follows in every stream). Call after `backward` (which still reads the start states).
    pub fn carry(&self, s: &Seqs<T>, buf: &mut StackBuffers<T>) {
        for (l, layer) in self.layers.iter().enumerate() {
            let seqs = Seqs { start: &[], ..*s };
            layer.final_state(&buf.caches[l], &seqs, &mut buf.starts[l]);
        }
    }

    /// Sets every layer's start state to zero.
    pub fn reset(&self, buf: &mut StackBuffers<T>) {
        for s in &mut buf.starts {
            s.fill(T::ZERO);
        }
    }

    /// Layer `l`'s start state, `[b][state_len]`.
    pub fn start<'a>(&self, buf: &'a StackBuffers<T>, l: usize) -> &'a [T] {
        &buf.starts[l]
    }

    /// Layer `l`'s start state, to restore a saved one.
    pub fn start_mut<'a>(&self, buf: &'a mut StackBuffers<T>, l: usize) -> &'a mut [T] {
        &mut buf.starts[l]
    }
}

/// Draws layer `l`'s keep-mask (0 or 1/(1 − p)) for every number of `states` and writes the
/// dropped outputs.
fn apply_dropout<T: Real>(
    d: Dropout,
    l: usize,
    states: &[T],
    mask: &mut [T],
    out: &mut [T],
    b: usize,
) {
    let per_seq = states.len() / b.max(1);
    let keep = T::from_f64(1.0 / (1.0 - d.p));
    // Keep when a uniform 32-bit draw is at or above p·2³².
    let cut = (d.p * 4_294_967_296.0) as u64;
    for seq in 0..b {
        let mut rng = SplitMix64::new(d.key, (d.first + seq) as u64, l as u64);
        let range = seq * per_seq..(seq + 1) * per_seq;
        let (m, o, x) = (
            &mut mask[range.clone()],
            &mut out[range.clone()],
            &states[range],
        );
        let mut bits = 0u64;
        for (k, ((mv, ov), &xv)) in m.iter_mut().zip(o.iter_mut()).zip(x).enumerate() {
            if k % 2 == 0 {
                bits = rng.next();
            }
            let u = if k % 2 == 0 {
                bits & 0xffff_ffff
            } else {
                bits >> 32
            };
            *mv = if u >= cut { keep } else { T::ZERO };
            *ov = xv * *mv;
        }
    }
}

/// SplitMix64: a small counter-based generator, seeded per (batch key, sequence, layer).
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(key: u64, seq: u64, layer: u64) -> Self {
        let mut s = SplitMix64(key ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        s.0 ^= s.next() ^ layer.wrapping_mul(0xd1b5_4a32_d192_ed03);
        s
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
