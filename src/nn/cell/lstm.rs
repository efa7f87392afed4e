//! LSTM cell with PyTorch's conventions: gates i, f, g, o stacked in that order.
//!
//! ```text
//! a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            (4H: i, f, g, o pre-activations)
//! i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
//! c_t = f ⊙ c_{t-1} + i ⊙ g      h_t = o ⊙ tanh(c_t)
//! ```
//! Parameters: `weight_ih` (4H×D), `weight_hh` (4H×H), `bias_ih` (4H), `bias_hh` (4H). The state
//! carried between chunks is (h, c): `2H` numbers per sequence.
//!
//! Cache, batch-major: gates `A [b][t][4H]` (activated in place by forward, overwritten with
//! their gradients by backward), cells `C [b][t][H]`, states `Hs [b][t][H]`, `tanh(C) [b][t][H]`,
//! then the transposes of `weight_ih` and `weight_hh`. The input projection of all gates for
//! all rows is one GEMM; each step adds `H_{t-1}·W_hhᵀ` for all gates in one GEMM, then one pass
//! over the step's rows adds the biases and applies the gate nonlinearities and the cell update.

use super::common::{
    Dims, GateTensors, Recurrent, add_bias, add_input_grads, add_recurrent_state_grad,
    common_flops, copy_last, input_projection, recurrent_gates, recurrent_weight_grad,
    split_transposes, transposes_len,
};
use super::{Cell, CellKind, Grads, Seqs};
use crate::activation::{sigmoid_in_place, tanh_in_place};
use crate::blas::team::for_units;
use crate::blas::{Op, axpy, gemv};
use crate::nn::params::{LayerId, ParamSpec, rnn_params};
use crate::real::Real;

/// An LSTM cell with D inputs and H hidden units.
#[derive(Debug, Clone)]
pub struct LstmCell {
    dm: Dims,
    one_hot: bool,
}

impl LstmCell {
    /// A cell with `input` inputs per step (symbols, when `one_hot`) and `hidden` units.
    pub fn new(input: usize, hidden: usize, one_hot: bool) -> Self {
        let dm = Dims {
            d: input,
            h: hidden,
            g: 4 * hidden,
            sl: 2 * hidden,
        };
        LstmCell { dm, one_hot }
    }

    /// Sections (gates, cells, states, tanh of cells, transposed weights) of a cache for `rows`.
    fn sections<'a, T>(&self, cache: &'a mut [T], rows: usize) -> [&'a mut [T]; 5] {
        let h = self.dm.h;
        let (a, rest) = cache.split_at_mut(rows * 4 * h);
        let (c, rest) = rest.split_at_mut(rows * h);
        let (hs, rest) = rest.split_at_mut(rows * h);
        let (tc, wt) = rest.split_at_mut(rows * h);
        [a, c, hs, tc, wt]
    }
}

impl<T: Real> Cell<T> for LstmCell {
    fn kind(&self) -> CellKind {
        CellKind::Lstm
    }

    fn input(&self) -> usize {
        self.dm.d
    }

    fn hidden(&self) -> usize {
        self.dm.h
    }

    fn params(&self, id: LayerId) -> Vec<ParamSpec> {
        rnn_params(id, self.dm.d, self.dm.h, 4, true)
    }

    fn state_len(&self) -> usize {
        self.dm.sl
    }

    fn set_forget_bias(&self, p: &mut [T], value: f64) {
        // bias_ih's forget slice carries the value, bias_hh's is zero: their sum is what counts.
        let h = self.dm.h;
        let w = GateTensors::of_mut(p, self.dm);
        w.b_ih[h..2 * h].fill(T::from_f64(value));
        w.b_hh[h..2 * h].fill(T::ZERO);
    }

    fn flops(&self, s: &Seqs<T>, dx: bool) -> (u64, u64) {
        let (f, b) = common_flops(s, self.dm, !self.one_hot, dx);
        let (g, rows) = (self.dm.g as u64, s.rows() as u64);
        // Backward sums the rows once and adds them to both biases (the forward adds the biases
        // row by row, outside BLAS).
        (f, b + 2 * rows * g + 2 * 2 * g)
    }

    fn cache_len(&self, b: usize, t: usize) -> usize {
        b * t * 7 * self.dm.h + transposes_len(self.dm)
    }

    fn scratch_len(&self, b: usize, _t: usize) -> usize {
        // dc carried from step t+1 to t; one 4H vector for the bias sums.
        b * self.dm.h + self.dm.g
    }

    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T] {
        let rows = b * t;
        &cache[rows * 5 * self.dm.h..rows * 6 * self.dm.h]
    }

    fn final_state(&self, cache: &[T], s: &Seqs<T>, out: &mut [T]) {
        let (h, sl, rows) = (self.dm.h, self.dm.sl, s.rows());
        copy_last(s, self.states(cache, s.b, s.t), h, sl, 0, out);
        copy_last(s, &cache[rows * 4 * h..rows * 5 * h], h, sl, h, out);
    }

    /// Forward, shapes: x (b·t×D) → A (b·t×4H), C, Hs, tanh C (b·t×H).
    fn forward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T]) {
        let (dm, rows) = (self.dm, s.rows());
        let (h, g) = (dm.h, dm.g);
        let w = GateTensors::of(p, dm);
        let [a, c, hs, tc, wts] = self.sections(cache, rows);
        let (wt, wt_hh) = split_transposes(wts, dm);
        let w_hh = Recurrent::of(s, w.w_hh, dm, wt_hh);
        // A = X·W_ihᵀ for every step at once; then each step adds H_{t−1}·W_hhᵀ, and each row
        // its biases as it is activated.
        input_projection(s.x, w.w_ih, dm, rows, a, wt);
        for step in 0..s.t {
            recurrent_gates(s, step, hs, w_hh, 1.0, a, dm);
            let n = s.active[step];
            // Each row's gates, cell and state, unit by unit: split by a team, each member
            // takes the units whose gate columns its share of the product above made.
            let bufs = [(&mut *a, 4), (&mut *c, 1), (&mut *tc, 1), (&mut *hs, 1)];
            for_units(h, n * g, bufs, |[mut a, mut c, mut tc, mut hs]| {
                let u = a.units();
                for seq in 0..n {
                    let row = seq * s.t + step;
                    let [i, f, gg, o] = a.gates(row);
                    for (q, x) in [&mut *i, &mut *f, &mut *gg, &mut *o]
                        .into_iter()
                        .enumerate()
                    {
                        add_bias(x, &w.b_ih[q * h + u.start..]);
                        add_bias(x, &w.b_hh[q * h + u.start..]);
                    }
                    sigmoid_in_place(i);
                    sigmoid_in_place(f);
                    tanh_in_place(gg);
                    sigmoid_in_place(o);
                    let (c_row, c_prev) = if step > 0 {
                        c.pair(row, row - 1)
                    } else {
                        let at = seq * dm.sl + h;
                        (c.row(row), &s.start[at + u.start..at + u.end])
                    };
                    let tc_row = tc.row(row);
                    cell_update(i, f, gg, c_prev, c_row, tc_row);
                    tanh_in_place(tc_row);
                    hidden_out(o, tc_row, hs.row(row));
                }
                for seq in n..s.b {
                    hs.row(seq * s.t + step).fill(T::ZERO);
                }
            });
        }
    }

    /// Backward, shapes: g_h = dL/dHs (b·t×H) in; A becomes dL/dA (b·t×4H);
    /// grads = [dW_ih, dW_hh, db_ih, db_hh].
    fn backward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T], scratch: &mut [T], g: Grads<T>) {
        let (dm, rows) = (self.dm, s.rows());
        let (h, gn) = (dm.h, dm.g);
        let w = GateTensors::of(p, dm);
        let [a, c, hs, tc, wts] = self.sections(cache, rows);
        let (dwt, _) = split_transposes(wts, dm);
        let (dc_next, rest) = scratch.split_at_mut(s.b * h);
        let db = &mut rest[..gn];
        let g_h = g.g_h;
        dc_next.fill(T::ZERO);
        let (c, tc) = (&*c, &*tc);
        for step in (0..s.t).rev() {
            let n = s.active[step];
            // Each row's gate gradients, unit by unit, split by a team as the forward pass was.
            let bufs = [(&mut *a, 4), (&mut *g_h, 1), (&mut *dc_next, 1)];
            for_units(h, n * gn, bufs, |[mut a, g_h, mut dc_next]| {
                let u = a.units();
                for seq in n..s.b {
                    a.gates::<4>(seq * s.t + step)
                        .into_iter()
                        .for_each(|x| x.fill(T::ZERO));
                }
                for seq in 0..n {
                    let row = seq * s.t + step;
                    let dh = g_h.get(row);
                    let tc_row = &tc[row * h + u.start..row * h + u.end];
                    let c_prev = if step > 0 {
                        &c[(row - 1) * h + u.start..(row - 1) * h + u.end]
                    } else {
                        &s.start[seq * dm.sl + h + u.start..seq * dm.sl + h + u.end]
                    };
                    gate_grads(dh, tc_row, c_prev, dc_next.row(seq), a.gates(row));
                }
            });
            if step > 0 {
                add_recurrent_state_grad(s, step, a, w.w_hh, g_h, dm);
            }
        }
        let dw = GateTensors::of_mut(g.params, dm);
        // dW_ih += dAᵀ·X (or the one-hot scatter) and dX = dA·W_ih, all rows at once; both
        // biases get dAᵀ·1 (m = rows, n = 4H).
        add_input_grads(s.x, w.w_ih, dm, rows, a, dw.w_ih, g.dx, dwt);
        gemv(Op::T, rows, gn, 1.0, a, gn, s.ones, 0.0, db);
        axpy(1.0, db, dw.b_ih);
        axpy(1.0, db, dw.b_hh);
        // dW_hh += Σ_t dA_tᵀ·Hs_{t-1} (and the start state's term), one product over all rows.
        recurrent_weight_grad(s, a, hs, h, dm.sl, dw.w_hh);
    }
}

// The per-row elementwise work, each a function of its own: slices passed as arguments are known
// not to overlap, so the loops vectorise (written inline over slices split from one buffer, the
// backward loop stayed scalar and took a tenth of a step).

/// `c = f ⊙ c_prev + i ⊙ g`, and a copy of it to take the tanh of.
#[inline(never)]
fn cell_update<T: Real>(i: &[T], f: &[T], g: &[T], c_prev: &[T], c: &mut [T], tc: &mut [T]) {
    for k in 0..c.len() {
        c[k] = f[k] * c_prev[k] + i[k] * g[k];
        tc[k] = c[k];
    }
}

/// `h = o ⊙ tanh(c)`.
#[inline(never)]
fn hidden_out<T: Real>(o: &[T], tc: &[T], h: &mut [T]) {
    for k in 0..h.len() {
        h[k] = o[k] * tc[k];
    }
}

/// One row's gradients of the four pre-activations (i, f, g, o), written over the activated
/// gates, from dL/dh (`dh`), tanh(c), c_{t-1}, and dL/dc carried from the step after (`dcn`,
/// replaced by the one for the step before).
#[inline(never)]
fn gate_grads<T: Real>(
    dh: &[T],
    tc: &[T],
    c_prev: &[T],
    dcn: &mut [T],
    [gi, gf, gg, go]: [&mut [T]; 4],
) {
    let h = dh.len();
    let (tc, c_prev, dcn) = (&tc[..h], &c_prev[..h], &mut dcn[..h]);
    let (gi, gf, gg, go) = (&mut gi[..h], &mut gf[..h], &mut gg[..h], &mut go[..h]);
    for k in 0..h {
        let (i, f, g, o) = (gi[k], gf[k], gg[k], go[k]);
        let t = tc[k];
        let dc = dcn[k] + dh[k] * o * (T::ONE - t * t);
        dcn[k] = dc * f;
        gi[k] = dc * g * i * (T::ONE - i);
        gf[k] = dc * c_prev[k] * f * (T::ONE - f);
        gg[k] = dc * i * (T::ONE - g * g);
        go[k] = dh[k] * t * o * (T::ONE - o);
    }
}
