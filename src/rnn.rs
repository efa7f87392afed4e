//! The seed's cell: a plain tanh RNN, `s_t = tanh(U x_t + W s_{t-1} + b)`, `s_{-1} = 0`.
//!
//! Parameters (PyTorch names): `U = weight_ih` (H×D), `W = weight_hh` (H×H), `b = bias_ih` (H).
//! The seed has a single hidden bias; PyTorch's `bias_hh` is zero (see `checkpoint` export).
//!
//! Layout: `x: [B][T][D]`, the cache holds the states `S: [B][T][H]`. Step t of all sequences is
//! the strided matrix `S_t` (B×H, leading dimension T·H) starting at row t.

use crate::activation::tanh_in_place;
use crate::blas::{Op, gemm, gemm_within, gemv};
use crate::cell::{Cell, ParamSpec, recurrent_weight_grad, rnn_params};
use crate::real::Real;

/// The tanh RNN cell with D inputs and H hidden units.
#[derive(Debug, Clone)]
pub struct TanhCell {
    d: usize,
    h: usize,
}

impl TanhCell {
    /// A cell with `input` inputs per step and `hidden` units.
    pub fn new(input: usize, hidden: usize) -> Self {
        TanhCell {
            d: input,
            h: hidden,
        }
    }

    /// Splits the cell's parameter slice into (U, W, b).
    fn split<'a, T>(&self, p: &'a [T]) -> (&'a [T], &'a [T], &'a [T]) {
        let (u, rest) = p.split_at(self.h * self.d);
        let (w, b) = rest.split_at(self.h * self.h);
        (u, w, &b[..self.h])
    }
}

impl<T: Real> Cell<T> for TanhCell {
    fn params(&self) -> Vec<ParamSpec> {
        rnn_params(self.d, self.h, 1, false)
    }

    fn flops(&self, b: usize, t: usize) -> (u64, u64) {
        let (d, h, bt) = (self.d, self.h, b * t);
        let recurrence = 2 * (t - 1) * b * h * h;
        // Forward: X·Uᵀ, then one S_{t-1}·Wᵀ per step after the first.
        let fwd = 2 * bt * d * h + recurrence;
        // Backward: one dA_t·W per step, dU (product), db (row sums), dW over B·T − 1 rows.
        let bwd = recurrence + 2 * h * d * bt + 2 * bt * h + 2 * h * h * (bt - 1);
        (fwd as u64, bwd as u64)
    }

    fn cache_len(&self, b: usize, t: usize) -> usize {
        b * t * self.h
    }

    fn scratch_len(&self, _b: usize, _t: usize) -> usize {
        0
    }

    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T] {
        &cache[..b * t * self.h]
    }

    /// Forward, shapes: x (B·T×D), S (B·T×H).
    fn forward(&self, p: &[T], x: &[T], b: usize, t: usize, cache: &mut [T]) {
        let (d, h) = (self.d, self.h);
        let (u, w, bias) = self.split(p);
        let s = &mut cache[..b * t * h];
        // The input projection of every step at once: S = X·Uᵀ + 1·bᵀ.
        for row in s.chunks_exact_mut(h) {
            row.copy_from_slice(bias);
        }
        gemm(Op::N, Op::T, b * t, h, d, 1.0, x, d, u, d, 1.0, s, h);
        // The recurrence: S_t = tanh(S_t + S_{t-1}·Wᵀ).
        for step in 0..t {
            if step > 0 {
                gemm_within(
                    s,
                    (step - 1) * h,
                    step * h,
                    t * h,
                    Op::T,
                    b,
                    h,
                    h,
                    1.0,
                    w,
                    h,
                    1.0,
                );
            }
            for seq in 0..b {
                let at = (seq * t + step) * h;
                tanh_in_place(&mut s[at..at + h]);
            }
        }
    }

    /// Backward, shapes: g_h = dL/dS (B·T×H) in, dL/dA out (A the pre-activation); grad = [dU, dW, db].
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
        let (d, h) = (self.d, self.h);
        let (_, w, _) = self.split(p);
        let s = &cache[..b * t * h];
        let g = &mut g_h[..b * t * h];
        let (du, rest) = grad.split_at_mut(h * d);
        let (dw, db) = rest.split_at_mut(h * h);
        // BPTT: dA_t = dS_t ⊙ (1 − S_t²); dS_{t-1} += dA_t·W (dS_t already holds what step t+1 sent).
        for step in (0..t).rev() {
            for seq in 0..b {
                let at = (seq * t + step) * h;
                for (gv, sv) in g[at..at + h].iter_mut().zip(&s[at..at + h]) {
                    *gv *= T::ONE - *sv * *sv;
                }
            }
            if step > 0 {
                gemm_within(
                    g,
                    step * h,
                    (step - 1) * h,
                    t * h,
                    Op::N,
                    b,
                    h,
                    h,
                    1.0,
                    w,
                    h,
                    1.0,
                );
            }
        }
        // dU += dAᵀ·X and db += dAᵀ·1, over all B·T rows at once.
        gemm(Op::T, Op::N, h, d, b * t, 1.0, g, h, x, d, 1.0, du, d);
        gemv(Op::T, b * t, h, 1.0, g, h, ones, 1.0, &mut db[..h]);
        // dW += Σ_{t≥1} dA_tᵀ·S_{t-1}, one product over all rows.
        recurrent_weight_grad(g, s, b, t, h, h, dw);
    }
}
