//! GRU cell with PyTorch's conventions: gates r, z, n stacked in that order.
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//! Parameters: `weight_ih` (3H×D), `weight_hh` (3H×H), `bias_ih` (3H), `bias_hh` (3H).
//!
//! Cache, batch-major: input parts `I [b][t][3H]` (= X·W_ihᵀ + b_ih, then r, z, n in place),
//! recurrent parts `R [b][t][3H]` (= H_{t-1}·W_hhᵀ + b_hh; its n third is kept for backward),
//! states `Hs [b][t][H]`, then the transposes of `weight_ih` and `weight_hh`. The input projection
//! of all gates for all rows is one GEMM; each step does one GEMM for all gates' recurrent part,
//! then one pass over the step's rows (which adds the biases).

use super::common::{
    Dims, GateTensors, Recurrent, add_bias, add_input_grads, add_recurrent_state_grad,
    add_row_sums, common_flops, copy_last, input_projection, recurrent_gates,
    recurrent_weight_grad, split_transposes, transposes_len,
};
use super::{Cell, CellKind, Grads, Seqs};
use crate::activation::{sigmoid_in_place, tanh_in_place};
use crate::blas::team::for_units;
use crate::nn::params::{LayerId, ParamSpec, rnn_params};
use crate::real::Real;

/// A GRU cell with D inputs and H hidden units.
#[derive(Debug, Clone)]
pub struct GruCell {
    dm: Dims,
    one_hot: bool,
}

impl GruCell {
    /// A cell with `input` inputs per step (symbols, when `one_hot`) and `hidden` units.
    pub fn new(input: usize, hidden: usize, one_hot: bool) -> Self {
        let dm = Dims {
            d: input,
            h: hidden,
            g: 3 * hidden,
            sl: hidden,
        };
        GruCell { dm, one_hot }
    }

    /// Sections (input parts, recurrent parts, states, transposed weights) of a cache.
    fn sections<'a, T>(&self, cache: &'a mut [T], rows: usize) -> [&'a mut [T]; 4] {
        let g = self.dm.g;
        let (i, rest) = cache.split_at_mut(rows * g);
        let (r, rest) = rest.split_at_mut(rows * g);
        let (hs, wt) = rest.split_at_mut(rows * self.dm.h);
        [i, r, hs, wt]
    }
}

impl<T: Real> Cell<T> for GruCell {
    fn kind(&self) -> CellKind {
        CellKind::Gru
    }

    fn input(&self) -> usize {
        self.dm.d
    }

    fn hidden(&self) -> usize {
        self.dm.h
    }

    fn params(&self, id: LayerId) -> Vec<ParamSpec> {
        rnn_params(id, self.dm.d, self.dm.h, 3, true)
    }

    fn flops(&self, s: &Seqs<T>, dx: bool) -> (u64, u64) {
        let (f, b) = common_flops(s, self.dm, !self.one_hot, dx);
        // Backward sums the rows of both parts for the two biases.
        (f, b + 2 * 2 * (s.rows() * self.dm.g) as u64)
    }

    fn cache_len(&self, b: usize, t: usize) -> usize {
        b * t * 7 * self.dm.h + transposes_len(self.dm)
    }

    fn scratch_len(&self, _b: usize, _t: usize) -> usize {
        0
    }

    fn states<'a>(&self, cache: &'a [T], b: usize, t: usize) -> &'a [T] {
        let rows = b * t;
        &cache[rows * 6 * self.dm.h..rows * 7 * self.dm.h]
    }

    fn final_state(&self, cache: &[T], s: &Seqs<T>, out: &mut [T]) {
        let h = self.dm.h;
        copy_last(s, self.states(cache, s.b, s.t), h, h, 0, out);
    }

    /// Forward, shapes: x (b·t×D) → I, R (b·t×3H), Hs (b·t×H).
    fn forward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T]) {
        let (dm, rows) = (self.dm, s.rows());
        let (h, g) = (dm.h, dm.g);
        let w = GateTensors::of(p, dm);
        let [xi, hr, hs, wts] = self.sections(cache, rows);
        let (wt, wt_hh) = split_transposes(wts, dm);
        let w_hh = Recurrent::of(s, w.w_hh, dm, wt_hh);
        // I = X·W_ihᵀ for every step at once; each row gets b_ih as it is activated.
        input_projection(s.x, w.w_ih, dm, rows, xi, wt);
        for step in 0..s.t {
            let n = s.active[step];
            // R_t = H_{t-1}·W_hhᵀ; each row gets b_hh as it is activated.
            recurrent_gates(s, step, hs, w_hh, 0.0, hr, dm);
            // Unit by unit, split by a team as the product above was.
            let bufs = [(&mut *xi, 3), (&mut *hr, 3), (&mut *hs, 1)];
            for_units(h, n * g, bufs, |[mut xi, mut hr, mut hs]| {
                let u = xi.units();
                for seq in 0..n {
                    let row = seq * s.t + step;
                    let [r, z, n_] = xi.gates(row);
                    let [hr_r, hr_z, hr_n] = hr.gates(row);
                    for (q, (x, y)) in [
                        (&mut *r, &mut *hr_r),
                        (&mut *z, &mut *hr_z),
                        (&mut *n_, &mut *hr_n),
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        add_bias(x, &w.b_ih[q * h + u.start..]);
                        add_bias(y, &w.b_hh[q * h + u.start..]);
                    }
                    // r, z = σ(input part + recurrent part).
                    add_to(r, hr_r);
                    add_to(z, hr_z);
                    sigmoid_in_place(r);
                    sigmoid_in_place(z);
                    // n = tanh(input part + r ⊙ recurrent part).
                    add_product(n_, r, hr_n);
                    tanh_in_place(n_);
                    let (h_row, h_prev) = if step > 0 {
                        hs.pair(row, row - 1)
                    } else {
                        let at = seq * dm.sl;
                        (hs.row(row), &s.start[at + u.start..at + u.end])
                    };
                    blend(n_, z, h_prev, h_row);
                }
                for seq in n..s.b {
                    hs.row(seq * s.t + step).fill(T::ZERO);
                }
            });
        }
    }

    /// Backward, shapes: g_h = dL/dHs (b·t×H) in; I becomes dL/d(input parts), R dL/d(recurrent
    /// parts) (b·t×3H); grads = [dW_ih, dW_hh, db_ih, db_hh].
    fn backward(&self, p: &[T], s: &Seqs<T>, cache: &mut [T], _scratch: &mut [T], g: Grads<T>) {
        let (dm, rows) = (self.dm, s.rows());
        let (h, gn) = (dm.h, dm.g);
        let w = GateTensors::of(p, dm);
        let [xi, hr, hs, wts] = self.sections(cache, rows);
        let (dwt, _) = split_transposes(wts, dm);
        let g_h = g.g_h;
        let hs = &*hs;
        for step in (0..s.t).rev() {
            let n = s.active[step];
            let bufs = [(&mut *xi, 3), (&mut *hr, 3), (&mut *g_h, 1)];
            for_units(h, n * gn, bufs, |[mut xi, mut hr, mut g_h]| {
                let u = xi.units();
                for seq in n..s.b {
                    let row = seq * s.t + step;
                    let zero =
                        |gates: [&mut [T]; 3]| gates.into_iter().for_each(|x| x.fill(T::ZERO));
                    zero(xi.gates(row));
                    zero(hr.gates(row));
                }
                for seq in 0..n {
                    let row = seq * s.t + step;
                    let h_prev = if step > 0 {
                        &hs[(row - 1) * h + u.start..(row - 1) * h + u.end]
                    } else {
                        &s.start[seq * dm.sl + u.start..seq * dm.sl + u.end]
                    };
                    let [ir, iz, in_] = xi.gates(row);
                    // dh_t, and dh_{t-1} (the row before, within the sequence) for the z path.
                    let dh = if step > 0 {
                        let (before, dh) = g_h.pair(row - 1, row);
                        add_product(before, dh, iz);
                        dh
                    } else {
                        g_h.get(row)
                    };
                    gate_grads(dh, h_prev, [ir, iz, in_], hr.gates(row));
                }
            });
            if step > 0 {
                // dHs_{t-1} += dR_t·W_hh.
                add_recurrent_state_grad(s, step, hr, w.w_hh, g_h, dm);
            }
        }
        let dw = GateTensors::of_mut(g.params, dm);
        // dW_ih += dIᵀ·X (or the one-hot scatter), dX = dI·W_ih, db_ih += dIᵀ·1, db_hh += dRᵀ·1.
        add_input_grads(s.x, w.w_ih, dm, rows, xi, dw.w_ih, g.dx, dwt);
        add_row_sums(s, xi, gn, dw.b_ih);
        add_row_sums(s, hr, gn, dw.b_hh);
        // dW_hh += Σ_t dR_tᵀ·Hs_{t-1} (and the start state's term), one product over all rows.
        recurrent_weight_grad(s, hr, hs, h, dm.sl, dw.w_hh);
    }
}

// The per-row elementwise work, each a function of its own: slices passed as arguments are known
// not to overlap, so the loops vectorise (written inline over slices split from one buffer, they
// stayed scalar and took a fifth of a step).

/// `acc += a`.
#[inline(never)]
fn add_to<T: Real>(acc: &mut [T], a: &[T]) {
    let a = &a[..acc.len()];
    for k in 0..acc.len() {
        acc[k] += a[k];
    }
}

/// `acc += a ⊙ b`.
#[inline(never)]
fn add_product<T: Real>(acc: &mut [T], a: &[T], b: &[T]) {
    let (a, b) = (&a[..acc.len()], &b[..acc.len()]);
    for k in 0..acc.len() {
        acc[k] += a[k] * b[k];
    }
}

/// `h = (1 − z) ⊙ n + z ⊙ h_prev`.
#[inline(never)]
fn blend<T: Real>(n: &[T], z: &[T], h_prev: &[T], h: &mut [T]) {
    let (n, z, h_prev) = (&n[..h.len()], &z[..h.len()], &h_prev[..h.len()]);
    for k in 0..h.len() {
        h[k] = (T::ONE - z[k]) * n[k] + z[k] * h_prev[k];
    }
}

/// One row's gradients from dL/dh (`dh`) and h_{t-1}: of the input parts (r, z, n), written over
/// the activated gates `[ir, iz, in_]`, and of the recurrent parts, written over `[rr, rz, rn]`
/// (whose n third holds W_hn·h + b_hn).
#[inline(never)]
fn gate_grads<T: Real>(
    dh: &[T],
    h_prev: &[T],
    [ir, iz, in_]: [&mut [T]; 3],
    [rr, rz, rn]: [&mut [T]; 3],
) {
    let h = dh.len();
    let (h_prev, ir, iz, in_) = (&h_prev[..h], &mut ir[..h], &mut iz[..h], &mut in_[..h]);
    let (rr, rz, rn) = (&mut rr[..h], &mut rz[..h], &mut rn[..h]);
    for k in 0..h {
        let (r, z, n, hn) = (ir[k], iz[k], in_[k], rn[k]);
        let da_n = dh[k] * (T::ONE - z) * (T::ONE - n * n);
        let da_z = dh[k] * (h_prev[k] - n) * z * (T::ONE - z);
        let da_r = da_n * hn * r * (T::ONE - r);
        (ir[k], iz[k], in_[k]) = (da_r, da_z, da_n);
        (rr[k], rz[k], rn[k]) = (da_r, da_z, da_n * r);
    }
}
