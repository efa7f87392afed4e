//! LSTM cell with PyTorch's conventions: gates i, f, g, o stacked in that order.
//!
//! ```text
//! a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            (4H: i, f, g, o pre-activations)
//! i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
//! c_t = f ⊙ c_{t-1} + i ⊙ g      h_t = o ⊙ tanh(c_t)       (h_{-1} = c_{-1} = 0)
//! ```
//! Parameters: `weight_ih` (4H×D), `weight_hh` (4H×H), `bias_ih` (4H), `bias_hh` (4H).
//!
//! Cache, batch-major: gates `A [B][T][4H]` (activated in place by forward, overwritten with
//! their gradients by backward), cells `C [B][T][H]`, states `Hs [B][T][H]`, `tanh(C) [B][T][H]`.
//! The input projection of all gates for all B·T rows is one dgemm; each step adds
//! `H_{t-1}·W_hhᵀ` for all gates in one dgemm, then one pass over the step's rows applies the
//! gate nonlinearities and the cell update.

use crate::activation::{sigmoid_in_place, tanh_in_place};
use crate::blas::{Op, axpy, gemm, gemv};
use crate::cell::{
    Cell, GateTensors, ParamSpec, add_recurrent_gates, add_recurrent_state_grad,
    recurrent_weight_grad, rnn_params,
};
use crate::real::Real;

/// An LSTM cell with D inputs and H hidden units.
#[derive(Debug, Clone)]
pub struct LstmCell {
    d: usize,
    h: usize,
}

impl LstmCell {
    /// A cell with `input` inputs per step and `hidden` units.
    pub fn new(input: usize, hidden: usize) -> Self {
        LstmCell {
            d: input,
            h: hidden,
        }
    }

    /// Sections (gates, cells, states, tanh of cells) of a cache for `b·t` rows.
    fn sections<'a, T>(&self, cache: &'a mut [T], rows: usize) -> [&'a mut [T]; 4] {
        let h = self.h;
        let (a, rest) = cache.split_at_mut(rows * 4 * h);
        let (c, rest) = rest.split_at_mut(rows * h);
        let (hs, rest) = rest.split_at_mut(rows * h);
        [a, c, hs, &mut rest[..rows * h]]
    }
}

impl<T: Real> Cell<T> for LstmCell {
    fn params(&self) -> Vec<ParamSpec> {
        rnn_params(self.d, self.h, 4, true)
    }

    fn set_forget_bias(&self, p: &mut [T], value: f64) {
        // bias_ih's forget slice carries the value, bias_hh's is zero: their sum is what counts.
        let h = self.h;
        let w = GateTensors::of_mut(p, self.d, h, 4 * h);
        w.b_ih[h..2 * h].fill(T::from_f64(value));
        w.b_hh[h..2 * h].fill(T::ZERO);
    }

    fn flops(&self, b: usize, t: usize) -> (u64, u64) {
        let (d, h, g, bt) = (self.d, self.h, 4 * self.h, b * t);
        let recurrence = 2 * (t - 1) * b * h * g;
        // Forward: b_ih + b_hh, X·W_ihᵀ, then H_{t-1}·W_hhᵀ per step after the first.
        let fwd = 2 * g + 2 * bt * d * g + recurrence;
        // Backward: dA_t·W_hh per step, dW_ih, the bias row sums (added to both biases), dW_hh.
        let bwd = recurrence + 2 * g * d * bt + 2 * bt * g + 2 * 2 * g + 2 * g * h * (bt - 1);
        (fwd as u64, bwd as u64)
    }

    fn cache_len(&self, b: usize, t: usize) -> usize {
        b * t * 7 * self.h
    }

    fn scratch_len(&self, b: usize, _t: usize) -> usize {
        // dc carried from step t+1 to t, one 4H vector for bias sums, H zeros (c_{-1}).
        b * self.h + 5 * self.h
    }

    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T] {
        let rows = b * t;
        &cache[rows * 5 * self.h..rows * 6 * self.h]
    }

    /// Forward, shapes: x (B·T×D) → A (B·T×4H), C, Hs, tanh C (B·T×H).
    fn forward(&self, p: &[T], x: &[T], b: usize, t: usize, cache: &mut [T]) {
        let (d, h, g) = (self.d, self.h, 4 * self.h);
        let w = GateTensors::of(p, d, h, g);
        let [a, c, hs, tc] = self.sections(cache, b * t);
        // A = X·W_ihᵀ + 1·(b_ih + b_hh)ᵀ for every step at once (the first row holds the sum).
        a[..g].copy_from_slice(w.b_ih);
        axpy(1.0, w.b_hh, &mut a[..g]);
        let (first, rest) = a.split_at_mut(g);
        for row in rest.chunks_exact_mut(g) {
            row.copy_from_slice(first);
        }
        gemm(Op::N, Op::T, b * t, g, d, 1.0, x, d, w.w_ih, d, 1.0, a, g);
        for step in 0..t {
            if step > 0 {
                add_recurrent_gates(hs, w.w_hh, a, b, t, step, h, g);
            }
            for seq in 0..b {
                let row = seq * t + step;
                let gates = &mut a[row * g..(row + 1) * g];
                let (ifg, o) = gates.split_at_mut(3 * h);
                let (if_, gg) = ifg.split_at_mut(2 * h);
                sigmoid_in_place(if_);
                tanh_in_place(gg);
                sigmoid_in_place(o);
                let (i, f) = if_.split_at(h);
                for k in 0..h {
                    let c_prev = if step > 0 {
                        c[(row - 1) * h + k]
                    } else {
                        T::ZERO
                    };
                    c[row * h + k] = f[k] * c_prev + i[k] * gg[k];
                }
                let tc_row = &mut tc[row * h..(row + 1) * h];
                tc_row.copy_from_slice(&c[row * h..(row + 1) * h]);
                tanh_in_place(tc_row);
                for k in 0..h {
                    hs[row * h + k] = o[k] * tc_row[k];
                }
            }
        }
    }

    /// Backward, shapes: g_h = dL/dHs (B·T×H) in; A becomes dL/dA (B·T×4H);
    /// grad = [dW_ih, dW_hh, db_ih, db_hh].
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
    ) {
        let (d, h, g) = (self.d, self.h, 4 * self.h);
        let w = GateTensors::of(p, d, h, g);
        let [a, c, hs, tc] = self.sections(cache, b * t);
        let (dc_next, rest) = scratch.split_at_mut(b * h);
        let (db, zeros) = rest.split_at_mut(g);
        zeros[..h].fill(T::ZERO);
        dc_next.fill(T::ZERO);
        for step in (0..t).rev() {
            for seq in 0..b {
                let row = seq * t + step;
                let dh = &g_h[row * h..(row + 1) * h];
                let gates = &mut a[row * g..(row + 1) * g];
                let dcn = &mut dc_next[seq * h..(seq + 1) * h];
                let tc_row = &tc[row * h..(row + 1) * h];
                let c_prev = if step > 0 {
                    &c[(row - 1) * h..row * h]
                } else {
                    &zeros[..h]
                };
                let (gi, rest) = gates.split_at_mut(h);
                let (gf, rest) = rest.split_at_mut(h);
                let (gg, go) = rest.split_at_mut(h);
                // Per unit k: the gradients of the four pre-activations, written over the gates.
                for k in 0..h {
                    let (i, f, g_, o) = (gi[k], gf[k], gg[k], go[k]);
                    let tck = tc_row[k];
                    let dc = dcn[k] + dh[k] * o * (T::ONE - tck * tck);
                    dcn[k] = dc * f;
                    gi[k] = dc * g_ * i * (T::ONE - i);
                    gf[k] = dc * c_prev[k] * f * (T::ONE - f);
                    gg[k] = dc * i * (T::ONE - g_ * g_);
                    go[k] = dh[k] * tck * o * (T::ONE - o);
                }
            }
            if step > 0 {
                add_recurrent_state_grad(a, w.w_hh, g_h, b, t, step, h, g);
            }
        }
        let dw = GateTensors::of_mut(grad, d, h, g);
        // dW_ih += dAᵀ·X; both biases get dAᵀ·1 — all B·T rows at once.
        gemm(Op::T, Op::N, g, d, b * t, 1.0, a, g, x, d, 1.0, dw.w_ih, d);
        gemv(Op::T, b * t, g, 1.0, a, g, ones, 0.0, db);
        axpy(1.0, db, dw.b_ih);
        axpy(1.0, db, dw.b_hh);
        // dW_hh += Σ_{t≥1} dA_tᵀ·Hs_{t-1}, one product over all rows.
        recurrent_weight_grad(a, hs, b, t, g, h, dw.w_hh);
    }
}
