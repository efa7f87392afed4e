//! GRU cell with PyTorch's conventions: gates r, z, n stacked in that order.
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h                                       (h_{-1} = 0)
//! ```
//! Parameters: `weight_ih` (3H×D), `weight_hh` (3H×H), `bias_ih` (3H), `bias_hh` (3H).
//!
//! Cache, batch-major: input parts `I [B][T][3H]` (= X·W_ihᵀ + b_ih, then r, z, n in place),
//! recurrent parts `R [B][T][3H]` (= H_{t-1}·W_hhᵀ + b_hh; its n third is kept for backward),
//! states `Hs [B][T][H]`. The input projection of all gates for all B·T rows is one dgemm; each
//! step does one dgemm for all gates' recurrent part, then one pass over the step's rows.

use crate::activation::{sigmoid_in_place, tanh_in_place};
use crate::blas::{Op, gemm, gemv};
use crate::cell::{
    Cell, GateTensors, ParamSpec, add_recurrent_gates, add_recurrent_state_grad,
    recurrent_weight_grad, rnn_params,
};
use crate::real::Real;

/// A GRU cell with D inputs and H hidden units.
#[derive(Debug, Clone)]
pub struct GruCell {
    d: usize,
    h: usize,
}

impl GruCell {
    /// A cell with `input` inputs per step and `hidden` units.
    pub fn new(input: usize, hidden: usize) -> Self {
        GruCell {
            d: input,
            h: hidden,
        }
    }

    /// Sections (input parts, recurrent parts, states) of a cache for `rows` rows.
    fn sections<'a, T>(&self, cache: &'a mut [T], rows: usize) -> [&'a mut [T]; 3] {
        let g = 3 * self.h;
        let (i, rest) = cache.split_at_mut(rows * g);
        let (r, rest) = rest.split_at_mut(rows * g);
        [i, r, &mut rest[..rows * self.h]]
    }
}

impl<T: Real> Cell<T> for GruCell {
    fn params(&self) -> Vec<ParamSpec> {
        rnn_params(self.d, self.h, 3, true)
    }

    fn flops(&self, b: usize, t: usize) -> (u64, u64) {
        let (d, h, g, bt) = (self.d, self.h, 3 * self.h, b * t);
        let recurrence = 2 * (t - 1) * b * h * g;
        // Forward: X·W_ihᵀ, then H_{t-1}·W_hhᵀ per step after the first.
        let fwd = 2 * bt * d * g + recurrence;
        // Backward: dR_t·W_hh per step, dW_ih, the two bias row sums, dW_hh.
        let bwd = recurrence + 2 * g * d * bt + 2 * 2 * bt * g + 2 * g * h * (bt - 1);
        (fwd as u64, bwd as u64)
    }

    fn cache_len(&self, b: usize, t: usize) -> usize {
        b * t * 7 * self.h
    }

    fn scratch_len(&self, _b: usize, _t: usize) -> usize {
        0
    }

    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T] {
        let rows = b * t;
        &cache[rows * 6 * self.h..rows * 7 * self.h]
    }

    /// Forward, shapes: x (B·T×D) → I, R (B·T×3H), Hs (B·T×H).
    fn forward(&self, p: &[T], x: &[T], b: usize, t: usize, cache: &mut [T]) {
        let (d, h, g) = (self.d, self.h, 3 * self.h);
        let w = GateTensors::of(p, d, h, g);
        let [xi, hr, hs] = self.sections(cache, b * t);
        for row in xi.chunks_exact_mut(g) {
            row.copy_from_slice(w.b_ih);
        }
        gemm(Op::N, Op::T, b * t, g, d, 1.0, x, d, w.w_ih, d, 1.0, xi, g);
        for step in 0..t {
            for seq in 0..b {
                let row = seq * t + step;
                hr[row * g..(row + 1) * g].copy_from_slice(w.b_hh);
            }
            if step > 0 {
                // R_t = H_{t-1}·W_hhᵀ + b_hh.
                add_recurrent_gates(hs, w.w_hh, hr, b, t, step, h, g);
            }
            for seq in 0..b {
                let row = seq * t + step;
                let i = &mut xi[row * g..(row + 1) * g];
                let r_part = &hr[row * g..(row + 1) * g];
                // r, z = σ(input part + recurrent part), over the row's first 2H numbers at once.
                let (rz, n) = i.split_at_mut(2 * h);
                for (v, &rv) in rz.iter_mut().zip(&r_part[..2 * h]) {
                    *v += rv;
                }
                sigmoid_in_place(rz);
                // n = tanh(input part + r ⊙ recurrent part).
                for k in 0..h {
                    n[k] += rz[k] * r_part[2 * h + k];
                }
                tanh_in_place(n);
                for k in 0..h {
                    let h_prev = if step > 0 {
                        hs[(row - 1) * h + k]
                    } else {
                        T::ZERO
                    };
                    let z = rz[h + k];
                    hs[row * h + k] = (T::ONE - z) * n[k] + z * h_prev;
                }
            }
        }
    }

    /// Backward, shapes: g_h = dL/dHs (B·T×H) in; I becomes dL/d(input parts), R dL/d(recurrent
    /// parts) (B·T×3H); grad = [dW_ih, dW_hh, db_ih, db_hh].
    fn backward(
        &self,
        p: &[T],
        x: &[T],
        b: usize,
        t: usize,
        cache: &mut [T],
        g_h: &mut [T],
        _scratch: &mut [T],
        ones: &[T],
        grad: &mut [T],
    ) {
        let (d, h, g) = (self.d, self.h, 3 * self.h);
        let w_hh = GateTensors::of(p, d, h, g).w_hh;
        let [xi, hr, hs] = self.sections(cache, b * t);
        for step in (0..t).rev() {
            for seq in 0..b {
                let row = seq * t + step;
                let i = &mut xi[row * g..(row + 1) * g];
                let r_part = &mut hr[row * g..(row + 1) * g];
                for k in 0..h {
                    let (r, z, n) = (i[k], i[h + k], i[2 * h + k]);
                    let hn = r_part[2 * h + k];
                    let dh = g_h[row * h + k];
                    let h_prev = if step > 0 {
                        hs[(row - 1) * h + k]
                    } else {
                        T::ZERO
                    };
                    let da_n = dh * (T::ONE - z) * (T::ONE - n * n);
                    let da_z = dh * (h_prev - n) * z * (T::ONE - z);
                    let da_r = da_n * hn * r * (T::ONE - r);
                    (i[k], i[h + k], i[2 * h + k]) = (da_r, da_z, da_n);
                    (r_part[k], r_part[h + k], r_part[2 * h + k]) = (da_r, da_z, da_n * r);
                    if step > 0 {
                        g_h[(row - 1) * h + k] += dh * z;
                    }
                }
            }
            if step > 0 {
                // dHs_{t-1} += dR_t·W_hh.
                add_recurrent_state_grad(hr, w_hh, g_h, b, t, step, h, g);
            }
        }
        let dw = GateTensors::of_mut(grad, d, h, g);
        // dW_ih += dIᵀ·X, db_ih += dIᵀ·1, db_hh += dRᵀ·1 — all B·T rows at once.
        gemm(Op::T, Op::N, g, d, b * t, 1.0, xi, g, x, d, 1.0, dw.w_ih, d);
        gemv(Op::T, b * t, g, 1.0, xi, g, ones, 1.0, dw.b_ih);
        gemv(Op::T, b * t, g, 1.0, hr, g, ones, 1.0, dw.b_hh);
        // dW_hh += Σ_{t≥1} dR_tᵀ·Hs_{t-1}, one product over all rows.
        recurrent_weight_grad(hr, hs, b, t, g, h, dw.w_hh);
    }
}
