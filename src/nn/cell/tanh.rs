//! The seed's cell: a plain tanh RNN, `s_t = tanh(U x_t + W s_{t-1} + b)`.
//!
//! Parameters (PyTorch names): `U = weight_ih` (H×D), `W = weight_hh` (H×H), `b = bias_ih` (H).
//! The seed has a single hidden bias; PyTorch's `bias_hh` is zero (see `checkpoint`).
//!
//! Cache: the states `S [b][t][H]`, then the transposes of U and W.

use super::common::{
    Dims, GateTensors, Recurrent, add_bias, add_input_grads, add_row_sums, common_flops, copy_last,
    input_projection, recurrent_gates, recurrent_weight_grad, split_transposes, transposes_len,
};
use super::{Cell, CellKind, Grads, Seqs};
use crate::activation::tanh_in_place;
use crate::blas::team::for_units;
use crate::blas::{Op, gemm_within};
use crate::nn::params::{LayerId, ParamSpec, rnn_params};
use crate::real::Real;

/// The tanh RNN cell with D inputs and H hidden units.
#[derive(Debug, Clone)]
pub struct TanhCell {
    dm: Dims,
    one_hot: bool,
}

impl TanhCell {
    /// A cell with `input` inputs per step (symbols, when `one_hot`) and `hidden` units.
    pub fn new(input: usize, hidden: usize, one_hot: bool) -> Self {
        let dm = Dims {
            d: input,
            h: hidden,
            g: hidden,
            sl: hidden,
        };
        TanhCell { dm, one_hot }
    }
}

impl<T: Real> Cell<T> for TanhCell {
    fn kind(&self) -> CellKind {
        CellKind::Tanh
    }

    fn input(&self) -> usize {
        self.dm.d
    }

    fn hidden(&self) -> usize {
        self.dm.h
    }

    fn params(&self, id: LayerId) -> Vec<ParamSpec> {
        rnn_params(id, self.dm.d, self.dm.h, 1, false)
    }

    fn flops(&self, s: &Seqs<T>, dx: bool) -> (u64, u64) {
        let (f, b) = common_flops(s, self.dm, !self.one_hot, dx);
        // Backward adds db as one row sum.
        (f, b + 2 * (s.rows() * self.dm.h) as u64)
    }

    fn cache_len(&self, b: usize, t: usize) -> usize {
        b * t * self.dm.h + transposes_len(self.dm)
    }

    fn scratch_len(&self, _b: usize, _t: usize) -> usize {
        0
    }

    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T] {
        &cache[..b * t * self.dm.h]
    }

    fn final_state(&self, cache: &[T], s: &Seqs<T>, out: &mut [T]) {
        let h = self.dm.h;
        copy_last(s, self.states(cache, s.b, s.t), h, h, 0, out);
    }

    /// Forward, shapes: x (b·t×D) → S (b·t×H).
    fn forward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T]) {
        let (dm, rows) = (self.dm, s.rows());
        let w = GateTensors::of(p, dm);
        let (st, wts) = cache.split_at_mut(rows * dm.h);
        let (wt, wt_hh) = split_transposes(wts, dm);
        let w_hh = Recurrent::of(s, w.w_hh, dm, wt_hh);
        let (w_op, op, ldw) = w_hh.operand();
        // The input projection of every step at once: S = X·Uᵀ.
        input_projection(s.x, w.w_ih, dm, rows, st, wt);
        // The recurrence: S_t = tanh(S_t + S_{t-1}·Wᵀ + b) for the sequences still running;
        // S_{t-1} and S_t are rows of one buffer (m = running, n = H, k = H).
        for step in 0..s.t {
            let n = s.active[step];
            if step > 0 {
                let ld = s.t * dm.h;
                gemm_within(
                    st,
                    (step - 1) * dm.h,
                    step * dm.h,
                    ld,
                    op,
                    n,
                    dm.h,
                    dm.h,
                    1.0,
                    w_op,
                    ldw,
                    1.0,
                );
            } else {
                recurrent_gates(s, 0, &[], w_hh, 1.0, st, dm);
            }
            // Unit by unit, split by a team as the product above was.
            for_units(dm.h, n * dm.h, [(&mut *st, 1)], |[mut st]| {
                let u = st.units();
                for seq in 0..n {
                    let row = st.row(seq * s.t + step);
                    add_bias(row, &w.b_ih[u.clone()]);
                    tanh_in_place(row);
                }
                for seq in n..s.b {
                    st.row(seq * s.t + step).fill(T::ZERO);
                }
            });
        }
    }

    /// Backward: g_h = dL/dS (b·t×H) becomes dL/dA (A the pre-activation); grads of U, W, b.
    fn backward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T], _scratch: &mut [T], g: Grads<T>) {
        let (dm, rows) = (self.dm, s.rows());
        let w = GateTensors::of(p, dm);
        let (st, wts) = cache.split_at_mut(rows * dm.h);
        let (dwt, _) = split_transposes(wts, dm);
        let da = &mut g.g_h[..rows * dm.h];
        // BPTT: dA_t = dS_t ⊙ (1 − S_t²); dS_{t-1} += dA_t·W (dS_t already holds what t+1 sent).
        for step in (0..s.t).rev() {
            let (n, st) = (s.active[step], &*st);
            for_units(dm.h, n * dm.h, [(&mut *da, 1)], |[mut da]| {
                let u = da.units();
                for seq in n..s.b {
                    da.row(seq * s.t + step).fill(T::ZERO);
                }
                for seq in 0..n {
                    let row = seq * s.t + step;
                    let sv = &st[row * dm.h + u.start..row * dm.h + u.end];
                    for (gv, sv) in da.row(row).iter_mut().zip(sv) {
                        *gv *= T::ONE - *sv * *sv;
                    }
                }
            });
            if step > 0 {
                // dS_{t-1} += dA_t·W (m = running, n = H, k = H), rows of the same buffer.
                let (n, ld) = (s.active[step], s.t * dm.h);
                gemm_within(
                    da,
                    step * dm.h,
                    (step - 1) * dm.h,
                    ld,
                    Op::N,
                    n,
                    dm.h,
                    dm.h,
                    1.0,
                    w.w_hh,
                    dm.h,
                    1.0,
                );
            }
        }
        let dw = GateTensors::of_mut(g.params, dm);
        // dU += dAᵀ·X (or the one-hot scatter), dX = dA·U, db += dAᵀ·1: all rows at once.
        add_input_grads(s.x, w.w_ih, dm, rows, da, dw.w_ih, g.dx, dwt);
        add_row_sums(s, da, dm.h, dw.b_ih);
        // dW += Σ_t dA_tᵀ·S_{t-1} (and the start state's term), one product over all rows.
        recurrent_weight_grad(s, da, st, dm.h, dm.sl, dw.w_hh);
    }
}
