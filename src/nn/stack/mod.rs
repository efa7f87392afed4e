//! The cell stack: `L` layers of one cell kind, layer l reading layer l−1's outputs (after dropout,
//! when training with it, as `nn.LSTM(dropout=p)` does: between layers; a second rate drops the
//! top layer's outputs before the head, as an `nn.Dropout` before the decoder would), and
//! in backward handing each layer's dL/dx down as the layer below's dL/dh.
//!
//! A bidirectional layer (`nn.LSTM(bidirectional=True)`) is two cells: the forward one reads each
//! sequence from its first step, the reverse one from its own last step (not from the padding)
//! back to its first. The reverse cell runs over a copy of the input with each sequence's steps
//! reversed within its length, so every cell keeps its one forward pass and its one BPTT; the
//! layer's output at step s is `[h_fwd(s), h_rev(s)]` (2H numbers), the reverse state un-reversed.
//!
//! Shapes: layer 0 reads the model's input (`[b][t][D]` rows or `[b][t]` tokens); every layer
//! writes `[b][t][H']`, H' = H (one direction) or 2H (two); each cell starts from its own state
//! `[b][state_len]` (a carried state only for one direction: a language model reads forwards).

mod directions;
mod dropout;

pub use dropout::Dropout;

use crate::nn::cell::{self, Cell, CellKind, Grads, Input, Seqs};
use crate::nn::params::{LayerId, ParamSpec};
use crate::real::Real;
use directions::{add_reversed, concatenate, reverse_steps, split};
use dropout::apply_dropout;
use std::ops::Range;

/// One layer: its forward cell and, when bidirectional, its reverse one, with where each one's
/// parameters sit in the stack's slice.
struct Layer<T: Real> {
    fwd: Box<dyn Cell<T>>,
    rev: Option<Box<dyn Cell<T>>>,
    fwd_params: Range<usize>,
    rev_params: Range<usize>,
}

/// `L` recurrent layers of one cell kind, one or two directions each.
pub struct Stack<T: Real> {
    layers: Vec<Layer<T>>,
    specs: Vec<ParamSpec>,
    hidden: usize,
}

/// Every buffer the stack needs for one batch, sized once.
pub struct StackBuffers<T> {
    /// Each cell's forward cache: layer l's forward cell at 2l, its reverse one at 2l + 1.
    caches: Vec<Vec<T>>,
    scratch: Vec<T>,
    /// The state each layer's forward cell starts from, `[L][b][state_len]`; the reverse cells
    /// start from zeros.
    starts: Vec<Vec<T>>,
    zeros: Vec<T>,
    /// Bidirectional layers: each layer's input with every sequence reversed, and its output.
    reversed: Vec<Vec<T>>,
    outs: Vec<Vec<T>>,
    /// Scaled keep-masks and dropped outputs of every layer (empty without dropout): layer l's
    /// feed layer l + 1, the top layer's the head.
    masks: Vec<Vec<T>>,
    dropped: Vec<Vec<T>>,
    /// Whether the last forward applied dropout between layers, and on the top layer's outputs.
    dropped_live: bool,
    top_live: bool,
    /// dL/d(output) of the current layer and dL/dx handed down (ping-pong, `[b][t][H']` each).
    g: [Vec<T>; 2],
    /// Bidirectional layers: each direction's dL/dh, and the reverse cell's dL/dx.
    g_fwd: Vec<T>,
    g_rev: Vec<T>,
    dx_rev: Vec<T>,
}

impl<T> StackBuffers<T> {
    /// Every buffer, for a look at the numbers they hold.
    pub(crate) fn all(&self) -> impl Iterator<Item = &[T]> {
        let lists = [
            &self.caches,
            &self.starts,
            &self.reversed,
            &self.outs,
            &self.masks,
            &self.dropped,
        ];
        let single = [
            &self.scratch,
            &self.zeros,
            &self.g[0],
            &self.g[1],
            &self.g_fwd,
            &self.g_rev,
            &self.dx_rev,
        ];
        lists.into_iter().flatten().chain(single).map(Vec::as_slice)
    }
}

impl<T: Real> Stack<T> {
    /// `layers` layers of `kind` with `hidden` units, two directions each when `bidirectional`;
    /// the first reads `input` numbers per step (symbols, when `one_hot`), the others the
    /// outputs below (H or 2H).
    pub fn new(
        kind: CellKind,
        input: usize,
        one_hot: bool,
        hidden: usize,
        layers: usize,
        bidirectional: bool,
    ) -> Self {
        assert!(layers >= 1, "a stack needs a layer");
        let dirs = if bidirectional { 2 } else { 1 };
        let mut specs: Vec<ParamSpec> = Vec::new();
        let take = |specs: &mut Vec<ParamSpec>, c: &dyn Cell<T>, id: LayerId| {
            let start = specs.iter().map(ParamSpec::len).sum::<usize>();
            specs.extend(c.params(id));
            start..specs.iter().map(ParamSpec::len).sum::<usize>()
        };
        let layers = (0..layers)
            .map(|l| {
                let (d, hot) = if l == 0 {
                    (input, one_hot)
                } else {
                    (dirs * hidden, false)
                };
                let fwd = cell::build(kind, d, hidden, hot);
                let fwd_params = take(&mut specs, fwd.as_ref(), LayerId::forward(l));
                let (rev, rev_params) = if bidirectional {
                    let rev = cell::build(kind, d, hidden, hot);
                    let id = LayerId {
                        depth: l,
                        reverse: true,
                    };
                    let r = take(&mut specs, rev.as_ref(), id);
                    (Some(rev), r)
                } else {
                    (None, 0..0)
                };
                Layer {
                    fwd,
                    rev,
                    fwd_params,
                    rev_params,
                }
            })
            .collect();
        Stack {
            layers,
            specs,
            hidden,
        }
    }

    /// The parameters of every cell, layer 0 first, each layer's forward cell before its reverse
    /// one (`rnn.weight_ih_l0`, …, `rnn.bias_hh_l0_reverse`, …) as PyTorch orders them.
    pub fn params(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Every cell's name, in buffer order.
    pub fn cells(&self) -> impl Iterator<Item = LayerId> + '_ {
        self.layers.iter().enumerate().flat_map(|(l, layer)| {
            let rev = layer.rev.as_ref().map(|_| LayerId {
                depth: l,
                reverse: true,
            });
            std::iter::once(LayerId::forward(l)).chain(rev)
        })
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.specs.iter().map(ParamSpec::len).sum()
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Directions of every layer: 1, or 2 when bidirectional.
    pub fn directions(&self) -> usize {
        if self.layers[0].rev.is_some() { 2 } else { 1 }
    }

    /// Numbers each step of a layer's output holds: H, or 2H when bidirectional.
    pub fn width(&self) -> usize {
        self.directions() * self.hidden
    }

    /// Numbers of state each layer carries per sequence (forward direction).
    pub fn state_len(&self) -> usize {
        self.layers[0].fwd.state_len()
    }

    /// Sets every cell's LSTM forget-gate bias (nothing for other cells).
    pub fn set_forget_bias(&self, p: &mut [T], value: f64) {
        for layer in &self.layers {
            layer
                .fwd
                .set_forget_bias(&mut p[layer.fwd_params.clone()], value);
            if let Some(rev) = &layer.rev {
                rev.set_forget_bias(&mut p[layer.rev_params.clone()], value);
            }
        }
    }

    /// Buffers for `b` sequences of up to `t` steps; room for dropout masks when `dropout`.
    pub fn buffers(&self, b: usize, t: usize, dropout: bool) -> StackBuffers<T> {
        let (h, w) = (self.hidden, self.width());
        let bi = self.directions() == 2;
        let sites = if dropout { self.depth() } else { 0 };
        let zeros = |n: usize| vec![T::ZERO; n];
        let caches = self
            .layers
            .iter()
            .flat_map(|l| {
                let rev = l.rev.as_ref().map_or(0, |r| r.cache_len(b, t));
                [zeros(l.fwd.cache_len(b, t)), zeros(rev)]
            })
            .collect();
        let scratch = self
            .layers
            .iter()
            .map(|l| l.fwd.scratch_len(b, t))
            .max()
            .unwrap_or(0);
        let per_layer = |n: usize| -> Vec<Vec<T>> {
            (0..self.depth())
                .map(|_| zeros(if bi { n } else { 0 }))
                .collect()
        };
        let d_max = self.layers.iter().map(|l| l.fwd.input()).max().unwrap_or(0);
        StackBuffers {
            caches,
            scratch: zeros(scratch),
            starts: (0..self.depth())
                .map(|_| zeros(b * self.state_len()))
                .collect(),
            zeros: zeros(if bi { b * self.state_len() } else { 0 }),
            reversed: per_layer(b * t * d_max),
            outs: per_layer(b * t * w),
            masks: (0..sites).map(|_| zeros(b * t * w)).collect(),
            dropped: (0..sites).map(|_| zeros(b * t * w)).collect(),
            dropped_live: false,
            top_live: false,
            g: [zeros(b * t * w), zeros(b * t * w)],
            g_fwd: zeros(if bi { b * t * h } else { 0 }),
            g_rev: zeros(if bi { b * t * h } else { 0 }),
            dx_rev: zeros(if bi { b * t * d_max } else { 0 }),
        }
    }

    /// Exact FLOPs of (forward, backward) over `s` (whose `x` and `start` are not read).
    pub fn flops(&self, s: &Seqs<T>) -> (u64, u64) {
        let mut total = (0, 0);
        for (l, layer) in self.layers.iter().enumerate() {
            for c in std::iter::once(&layer.fwd).chain(&layer.rev) {
                let (f, b) = c.flops(s, l > 0);
                total = (total.0 + f, total.1 + b);
            }
        }
        total
    }

    /// Forward through every layer over `s` (its `x` is layer 0's input; its `start` is ignored:
    /// each layer starts from its own state in `buf`), with dropout between layers and on the
    /// top layer's outputs when given.
    pub fn forward(
        &self,
        p: &[T],
        s: &Seqs<T>,
        buf: &mut StackBuffers<T>,
        dropout: Option<Dropout>,
    ) {
        let (b, t, w) = (s.b, s.t, self.width());
        let live = dropout.filter(|d| d.p > 0.0 && self.depth() > 1);
        let top = dropout.filter(|d| d.top > 0.0);
        assert!(
            (live.is_none() && top.is_none()) || buf.masks.len() == self.depth(),
            "stack: dropout needs buffers sized for it"
        );
        buf.dropped_live = live.is_some();
        buf.top_live = top.is_some();
        for (l, layer) in self.layers.iter().enumerate() {
            if l > 0
                && let Some(d) = live
            {
                let below = self.output_of(&buf.caches, &buf.outs, l - 1, b, t);
                let (mask, out) = (&mut buf.masks[l - 1], &mut buf.dropped[l - 1]);
                apply_dropout(d.p, d, l - 1, below, mask, out, b);
            }
            let StackBuffers {
                caches,
                starts,
                zeros,
                reversed,
                outs,
                dropped,
                ..
            } = buf;
            let (below, here) = caches.split_at_mut(2 * l);
            let x = if l == 0 {
                s.x
            } else if live.is_some() {
                Input::Dense(&dropped[l - 1][..b * t * w])
            } else {
                Input::Dense(self.output_of(below, outs, l - 1, b, t))
            };
            let seqs = Seqs {
                x,
                start: &starts[l],
                ..*s
            };
            let (cache_f, cache_r) = here.split_at_mut(1);
            layer
                .fwd
                .forward(&p[layer.fwd_params.clone()], &seqs, &mut cache_f[0]);
            let Some(rev) = &layer.rev else { continue };
            let Input::Dense(x) = x else {
                unreachable!("a bidirectional stack reads dense inputs")
            };
            let d = rev.input();
            let xr = &mut reversed[l][..b * t * d];
            reverse_steps(s, x, xr, d);
            let seqs = Seqs {
                x: Input::Dense(xr),
                start: zeros,
                carried: false,
                ..*s
            };
            rev.forward(&p[layer.rev_params.clone()], &seqs, &mut cache_r[0]);
            let h = self.hidden;
            let states_f = layer.fwd.states(&cache_f[0], b, t);
            let states_r = rev.states(&cache_r[0], b, t);
            concatenate(s, states_f, states_r, &mut outs[l][..b * t * 2 * h], h);
        }
        if let Some(d) = top {
            let l = self.depth() - 1;
            let states = self.output_of(&buf.caches, &buf.outs, l, b, t);
            apply_dropout(
                d.top,
                d,
                l,
                states,
                &mut buf.masks[l],
                &mut buf.dropped[l],
                b,
            );
        }
    }

    /// Layer `l`'s output `[b][t][H']` after `forward`.
    fn output<'a>(&self, buf: &'a StackBuffers<T>, l: usize, b: usize, t: usize) -> &'a [T] {
        self.output_of(&buf.caches, &buf.outs, l, b, t)
    }

    /// Layer `l`'s output from the caches (one direction) or the outputs (two).
    fn output_of<'a>(
        &self,
        caches: &'a [Vec<T>],
        outs: &'a [Vec<T>],
        l: usize,
        b: usize,
        t: usize,
    ) -> &'a [T] {
        match self.layers[l].rev {
            None => self.layers[l].fwd.states(&caches[2 * l], b, t),
            Some(_) => &outs[l][..b * t * self.width()],
        }
    }

    /// The top layer's outputs `[b][t][H']` after `forward` (after dropout, when it dropped
    /// them).
    pub fn top_states<'a>(&self, buf: &'a StackBuffers<T>, b: usize, t: usize) -> &'a [T] {
        match buf.top_live {
            true => &buf.dropped[self.depth() - 1][..b * t * self.width()],
            false => self.output(buf, self.depth() - 1, b, t),
        }
    }

    /// The top layer's outputs, and where the head writes their gradient dL/d(output)
    /// (`[b][t][H']` each) before `backward`.
    pub fn top_states_and_grad<'a>(
        &self,
        buf: &'a mut StackBuffers<T>,
        b: usize,
        t: usize,
    ) -> (&'a [T], &'a mut [T]) {
        let (l, n) = (self.depth() - 1, b * t * self.width());
        let states = match buf.top_live {
            true => &buf.dropped[l][..n],
            false => self.output_of(&buf.caches, &buf.outs, l, b, t),
        };
        (states, &mut buf.g[0][..n])
    }

    /// Backpropagation through every layer, top first, after `forward` on the same `s`; the
    /// parameter gradients are accumulated into `grad` (the stack's slice).
    pub fn backward(&self, p: &[T], s: &Seqs<T>, buf: &mut StackBuffers<T>, grad: &mut [T]) {
        let (b, t, h, w) = (s.b, s.t, self.hidden, self.width());
        let StackBuffers {
            caches,
            scratch,
            starts,
            zeros,
            reversed,
            outs,
            masks,
            dropped,
            dropped_live,
            top_live,
            g,
            g_fwd,
            g_rev,
            dx_rev,
        } = buf;
        let [g0, g1] = g;
        let (mut cur, mut down) = (g0, g1);
        if *top_live {
            let top = &masks[self.depth() - 1][..b * t * w];
            cur[..b * t * w]
                .iter_mut()
                .zip(top)
                .for_each(|(gv, &m)| *gv *= m);
        }
        for l in (0..self.depth()).rev() {
            let layer = &self.layers[l];
            let (below, here) = caches.split_at_mut(2 * l);
            let x = match l {
                0 => s.x,
                _ if *dropped_live => Input::Dense(&dropped[l - 1][..b * t * w]),
                _ => Input::Dense(self.output_of(below, outs, l - 1, b, t)),
            };
            let seqs = Seqs {
                x,
                start: &starts[l],
                ..*s
            };
            let (cache_f, cache_r) = here.split_at_mut(1);
            let d = layer.fwd.input();
            match &layer.rev {
                None => {
                    let grads = Grads {
                        g_h: &mut cur[..],
                        dx: (l > 0).then_some(&mut down[..]),
                        params: &mut grad[layer.fwd_params.clone()],
                    };
                    let pf = &p[layer.fwd_params.clone()];
                    layer
                        .fwd
                        .backward(pf, &seqs, &mut cache_f[0], scratch, grads);
                }
                Some(rev) => {
                    let (gf, gr) = (&mut g_fwd[..b * t * h], &mut g_rev[..b * t * h]);
                    split(s, &cur[..b * t * w], gf, gr, h);
                    let grads = Grads {
                        g_h: gf,
                        dx: (l > 0).then_some(&mut down[..]),
                        params: &mut grad[layer.fwd_params.clone()],
                    };
                    let pf = &p[layer.fwd_params.clone()];
                    layer
                        .fwd
                        .backward(pf, &seqs, &mut cache_f[0], scratch, grads);
                    let rseqs = Seqs {
                        x: Input::Dense(&reversed[l][..b * t * d]),
                        start: zeros,
                        carried: false,
                        ..*s
                    };
                    let dxr = &mut dx_rev[..b * t * d];
                    let grads = Grads {
                        g_h: gr,
                        dx: (l > 0).then_some(&mut *dxr),
                        params: &mut grad[layer.rev_params.clone()],
                    };
                    let pr = &p[layer.rev_params.clone()];
                    rev.backward(pr, &rseqs, &mut cache_r[0], scratch, grads);
                    if l > 0 {
                        add_reversed(s, dxr, &mut down[..b * t * d], d);
                    }
                }
            }
            if l > 0 && *dropped_live {
                for (gv, &m) in down[..b * t * d].iter_mut().zip(&masks[l - 1][..]) {
                    *gv *= m;
                }
            }
            std::mem::swap(&mut cur, &mut down);
        }
    }

    /// Makes each layer's state after the last step the start of the next batch (the chunk that
    /// follows in every stream). Call after `backward` (which still reads the start states).
    /// Forward directions only: a bidirectional stack carries no state.
    pub fn carry(&self, s: &Seqs<T>, buf: &mut StackBuffers<T>) {
        for (l, layer) in self.layers.iter().enumerate() {
            let seqs = Seqs { start: &[], ..*s };
            layer
                .fwd
                .final_state(&buf.caches[2 * l], &seqs, &mut buf.starts[l]);
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
