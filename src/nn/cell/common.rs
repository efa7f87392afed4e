//! What every cell does the same way: the views of a layer's tensors, the input projection of all
//! steps at once (a product, or a gather for a one-hot input), the per-step recurrent products,
//! the start state, and the weight gradients that are one product over all rows.
//!
//! Shapes: `b` sequences of `t` steps, `rows = b·t`; `g` gate rows (H tanh, 4H LSTM, 3H GRU);
//! gates `[b][t][g]`, states `[b][t][h]`, start state `[b][sl]`.

use super::{Input, Seqs};
use crate::blas::{Op, gemm, gemm_grouped, gemm_xwt, gemv, transpose, weight_operand};
use crate::real::Real;

/// Sizes of a layer: `d` inputs, `h` hidden units, `g` gate rows, `sl` numbers of start state per
/// sequence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub d: usize,
    pub h: usize,
    pub g: usize,
    pub sl: usize,
}

impl Dims {
    /// Gates stacked in a row of `g` (1 tanh, 4 LSTM, 3 GRU): the groups a team splits alike.
    pub fn groups(&self) -> usize {
        self.g / self.h
    }
}

/// The four tensors of a layer with `g` stacked gate rows — `weight_ih` (g×D), `weight_hh` (g×H),
/// `bias_ih`, `bias_hh` (g) — as views of its slice of the parameter or gradient buffer, in the
/// order `rnn_params` lays them out (the tanh cell has no `bias_hh`: empty).
pub(crate) struct GateTensors<S> {
    pub w_ih: S,
    pub w_hh: S,
    pub b_ih: S,
    pub b_hh: S,
}

impl<'a, T> GateTensors<&'a [T]> {
    /// Views of `p`.
    pub(crate) fn of(p: &'a [T], dm: Dims) -> Self {
        let (w_ih, rest) = p.split_at(dm.g * dm.d);
        let (w_hh, rest) = rest.split_at(dm.g * dm.h);
        let (b_ih, rest) = rest.split_at(dm.g);
        GateTensors {
            w_ih,
            w_hh,
            b_ih,
            b_hh: &rest[..rest.len().min(dm.g)],
        }
    }
}

impl<'a, T> GateTensors<&'a mut [T]> {
    /// Mutable views of `p` (a gradient).
    pub(crate) fn of_mut(p: &'a mut [T], dm: Dims) -> Self {
        let (w_ih, rest) = p.split_at_mut(dm.g * dm.d);
        let (w_hh, rest) = rest.split_at_mut(dm.g * dm.h);
        let (b_ih, rest) = rest.split_at_mut(dm.g);
        let n = rest.len().min(dm.g);
        GateTensors {
            w_ih,
            w_hh,
            b_ih,
            b_hh: &mut rest[..n],
        }
    }
}

/// Length of the region every layer keeps at the end of its cache for transposed weights: that
/// of `weight_ih` (d×g), then that of `weight_hh` (h×g).
pub(crate) fn transposes_len(dm: Dims) -> usize {
    (dm.d + dm.h) * dm.g
}

/// Splits the region of [`transposes_len`] into (`weight_ih`'s transpose, `weight_hh`'s).
pub(crate) fn split_transposes<T>(region: &mut [T], dm: Dims) -> (&mut [T], &mut [T]) {
    let (wt_ih, rest) = region.split_at_mut(dm.d * dm.g);
    (wt_ih, &mut rest[..dm.h * dm.g])
}

/// `weight_hh` as the forward pass's per-step products `H_{s−1}·W_hhᵀ` read it: stored (g×h,
/// `Op::T`), or its transpose (h×g, `Op::N`).
#[derive(Clone, Copy)]
pub(crate) struct Recurrent<'a, T> {
    w: &'a [T],
    op: Op,
    ld: usize,
}

impl<'a, T: Real> Recurrent<'a, T> {
    /// `w_hh` as stored, or, when the BLAS multiplies a step's product faster from the transpose
    /// (`blas::weight_operand`: m = the batch, n = g, k = h), its transpose written into `wt`
    /// (h×g) once for every step of the forward pass.
    pub(crate) fn of(s: &Seqs<T>, w_hh: &'a [T], dm: Dims, wt: &'a mut [T]) -> Self {
        let (w, op, ld) = weight_operand(w_hh, s.b, dm.g, dm.h, wt);
        Recurrent { w, op, ld }
    }

    /// The operand, how to read it, and its leading dimension, for `gemm`'s B.
    pub(crate) fn operand(&self) -> (&'a [T], Op, usize) {
        (self.w, self.op, self.ld)
    }
}

/// Fewer rows than this multiply W_ih as stored, without writing its transpose. One sequence of
/// 20 steps through a GRU 2×128 (OpenBLAS, SkylakeX kernels) is predicted in 120 µs this way and
/// 140 µs through the transpose; from about 60 rows the two take the same time.
const TRANSPOSE_MIN_ROWS: usize = 64;

/// `A = X·W_ihᵀ` over all `rows` (m = rows, n = g, k = d), from W_ih's transpose written into
/// `wt` (d×g) when there are [`TRANSPOSE_MIN_ROWS`] rows or more and the BLAS prefers it
/// (`blas::gemm_xwt`). For a one-hot input, row r instead
/// is column x_r of W_ih: read as a contiguous row of its transpose, which this first writes into
/// `wt`, or, for fewer rows than symbols, read in place. The biases are not in it: each cell adds
/// them to a row with its activations ([`add_bias`]), where the row is in cache anyway.
pub(crate) fn input_projection<T: Real>(
    x: Input<T>,
    w_ih: &[T],
    dm: Dims,
    rows: usize,
    a: &mut [T],
    wt: &mut [T],
) {
    let (d, g) = (dm.d, dm.g);
    match x {
        // Writing the transpose costs g·d moves, as much as the product of a few dozen rows
        // gains from it: a short forward (one sequence to predict) reads the weight as stored.
        Input::Dense(x) if rows < TRANSPOSE_MIN_ROWS => {
            gemm(Op::N, Op::T, rows, g, d, 1.0, x, d, w_ih, d, 0.0, a, g)
        }
        Input::Dense(x) => gemm_xwt(rows, g, d, 1.0, x, d, w_ih, 0.0, a, g, wt),
        Input::Tokens(ids) if rows < d => {
            // Fewer rows than symbols (sampling): read the columns where they are.
            for (row, &id) in a[..rows * g].chunks_exact_mut(g).zip(&ids[..rows]) {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = w_ih[j * d + id as usize];
                }
            }
        }
        Input::Tokens(ids) => {
            transpose(w_ih, g, d, wt);
            for (row, &id) in a[..rows * g].chunks_exact_mut(g).zip(&ids[..rows]) {
                row.copy_from_slice(&wt[id as usize * g..(id as usize + 1) * g]);
            }
        }
    }
}

/// `row += bias`: a gate row's bias, added where the row is about to be activated.
#[inline(never)]
pub(crate) fn add_bias<T: Real>(row: &mut [T], bias: &[T]) {
    let bias = &bias[..row.len()];
    for k in 0..row.len() {
        row[k] += bias[k];
    }
}

/// `dW_ih += dAᵀ·X` (m = g, n = d, k = rows) and, when asked, `dX = dA·W_ih` (m = rows, n = d,
/// k = g). For a one-hot input, `dW_ih[:, x_r] += dA_r`: summed as rows of the transpose in `dwt`
/// (d×g), then added to dW_ih.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_input_grads<T: Real>(
    x: Input<T>,
    w_ih: &[T],
    dm: Dims,
    rows: usize,
    da: &[T],
    dw_ih: &mut [T],
    dx: Option<&mut [T]>,
    dwt: &mut [T],
) {
    let (d, g) = (dm.d, dm.g);
    match x {
        Input::Dense(x) => {
            gemm(Op::T, Op::N, g, d, rows, 1.0, da, g, x, d, 1.0, dw_ih, d);
            if let Some(dx) = dx {
                gemm(Op::N, Op::N, rows, d, g, 1.0, da, g, w_ih, d, 0.0, dx, d);
            }
        }
        Input::Tokens(ids) => {
            dwt[..d * g].fill(T::ZERO);
            for (row, &id) in da[..rows * g].chunks_exact(g).zip(&ids[..rows]) {
                let col = &mut dwt[id as usize * g..(id as usize + 1) * g];
                for (w, &v) in col.iter_mut().zip(row) {
                    *w += v;
                }
            }
            for (j, dst) in dw_ih.chunks_exact_mut(d).enumerate() {
                for (v, w) in dst.iter_mut().enumerate() {
                    *w += dwt[v * g + j];
                }
            }
        }
    }
}

/// `A_s = H_{s−1}·W_hhᵀ + beta·A_s` at step `step` for the `n = active[step]` running
/// sequences, all gates in one product (m = n, n = g, k = h): H_{s−1} is row step−1 of `states`,
/// or at step 0 the start state — when it is not carried, zero: the rows are left as they are, or
/// zeroed when `beta` is 0. `w_hh` is [`Recurrent::of`] the layer's.
pub(crate) fn recurrent_gates<T: Real>(
    s: &Seqs<T>,
    step: usize,
    states: &[T],
    w_hh: Recurrent<T>,
    beta: f64,
    gates: &mut [T],
    dm: Dims,
) {
    let (n, t, h, g) = (s.active[step], s.t, dm.h, dm.g);
    let (w, op, ldw) = w_hh.operand();
    let c = &mut gates[step * g..];
    let (prev, ld) = if step > 0 {
        (&states[(step - 1) * h..], t * h)
    } else if s.carried {
        (s.start, dm.sl)
    } else {
        if beta == 0.0 {
            for seq in 0..n {
                c[seq * t * g..seq * t * g + g].fill(T::ZERO);
            }
        }
        return;
    };
    gemm_grouped(
        dm.groups(),
        Op::N,
        op,
        n,
        g,
        h,
        1.0,
        prev,
        ld,
        w,
        ldw,
        beta,
        c,
        t * g,
    );
}

/// `dH_{s−1} += dA_s·W_hh` at step `step` ≥ 1 for the `n = active[step]` running sequences, all
/// gates in one product (m = n, n = h, k = g).
pub(crate) fn add_recurrent_state_grad<T: Real>(
    s: &Seqs<T>,
    step: usize,
    d_gates: &[T],
    w_hh: &[T],
    g_h: &mut [T],
    dm: Dims,
) {
    let (n, t, h, g) = (s.active[step], s.t, dm.h, dm.g);
    gemm(
        Op::N,
        Op::N,
        n,
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

/// `dW_hh += Σ_s dA_sᵀ·H_{s−1}` over every sequence.
///
/// The start state's term `dA_0ᵀ·H_start` (m = g, n = h, k = b) when it is carried; then the rest
/// as one product over all rows (m = g, n = h, k = b·t − 1): row r ≥ 1 of dA pairs with row r − 1
/// of the states. A sequence's first row would pair with the previous sequence's last state, so
/// those rows of dA are zeroed first (`da` is overwritten: the caller must be done with them).
pub fn recurrent_weight_grad<T: Real>(
    s: &Seqs<T>,
    da: &mut [T],
    states: &[T],
    h: usize,
    sl: usize,
    dw_hh: &mut [T],
) {
    let (b, t) = (s.b, s.t);
    let g = dw_hh.len() / h;
    if s.carried {
        gemm(
            Op::T,
            Op::N,
            g,
            h,
            b,
            1.0,
            da,
            t * g,
            s.start,
            sl,
            1.0,
            dw_hh,
            h,
        );
    }
    if b * t < 2 {
        return;
    }
    for seq in 0..b {
        da[seq * t * g..seq * t * g + g].fill(T::ZERO);
    }
    gemm(
        Op::T,
        Op::N,
        g,
        h,
        b * t - 1,
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

/// `db += dAᵀ·1` over all rows (a row sum as one BLAS call: m = rows, n = g).
pub(crate) fn add_row_sums<T: Real>(s: &Seqs<T>, da: &[T], g: usize, db: &mut [T]) {
    gemv(Op::T, s.rows(), g, 1.0, da, g, s.ones, 1.0, db);
}

/// Copies the last state of every sequence (row len−1 of `buf`, `h` numbers) to numbers
/// `off..off+h` of its row of `out` (`[b][sl]`).
pub(crate) fn copy_last<T: Copy>(
    s: &Seqs<T>,
    buf: &[T],
    h: usize,
    sl: usize,
    off: usize,
    out: &mut [T],
) {
    for seq in 0..s.b {
        let row = seq * s.t + s.len_of(seq) - 1;
        out[seq * sl + off..seq * sl + off + h].copy_from_slice(&buf[row * h..(row + 1) * h]);
    }
}

/// FLOPs of what every cell does: the input projection (dense only), the recurrent products of
/// every step (the first only when the start is carried), `dW_ih`, `dW_hh`, and `dX` when asked.
/// Returns (forward, backward) without the cell's bias sums.
pub(crate) fn common_flops<T>(s: &Seqs<T>, dm: Dims, dense: bool, dx: bool) -> (u64, u64) {
    let (b, t, d, h, g) = (
        s.b as u64,
        s.t as u64,
        dm.d as u64,
        dm.h as u64,
        dm.g as u64,
    );
    let rows = b * t;
    let running: u64 = s.active[1..].iter().map(|&n| n as u64).sum::<u64>()
        + if s.carried { s.active[0] as u64 } else { 0 };
    let recurrence = 2 * running * h * g;
    let input = if dense { 2 * rows * d * g } else { 0 };
    let dw_hh = 2 * g * h * (rows - 1) + if s.carried { 2 * g * h * b } else { 0 };
    let dx = if dx && dense { 2 * rows * d * g } else { 0 };
    let recurrence_back = 2 * s.active[1..].iter().map(|&n| n as u64).sum::<u64>() * h * g;
    (input + recurrence, recurrence_back + input + dw_hh + dx)
}
