//! What a bidirectional layer does besides running its two cells: the reverse cell's input, each
//! sequence's steps reversed within its own length; the layer's output, both directions side by
//! side; and their gradients, the other way.

use crate::nn::cell::Seqs;
use crate::real::Real;

/// `dst` (`[b][t][w]`) = `src` with every sequence's steps reversed within its own length (step
/// s of a sequence of length L is step L−1−s of the source), zeros past its end. Its own inverse.
pub(super) fn reverse_steps<T: Real>(s: &Seqs<T>, src: &[T], dst: &mut [T], w: usize) {
    for seq in 0..s.b {
        let (len, at) = (s.len_of(seq), seq * s.t * w);
        let (from, to) = (&src[at..at + s.t * w], &mut dst[at..at + s.t * w]);
        for (step, row) in to[..len * w].chunks_exact_mut(w).enumerate() {
            let back = len - 1 - step;
            row.copy_from_slice(&from[back * w..(back + 1) * w]);
        }
        to[len * w..].fill(T::ZERO);
    }
}

/// `dst += ` [`reverse_steps`] of `src` (both `[b][t][w]`; padding left as it is).
pub(super) fn add_reversed<T: Real>(s: &Seqs<T>, src: &[T], dst: &mut [T], w: usize) {
    for seq in 0..s.b {
        let (len, at) = (s.len_of(seq), seq * s.t * w);
        for step in 0..len {
            let back = len - 1 - step;
            let (d, r) = (at + step * w, at + back * w);
            for (a, &v) in dst[d..d + w].iter_mut().zip(&src[r..r + w]) {
                *a += v;
            }
        }
    }
}

/// A bidirectional layer's output `[b][t][2H]`: at step s of a sequence, the forward state of
/// step s, then the reverse cell's state after it read steps L−1 down to s (its row L−1−s).
pub(super) fn concatenate<T: Real>(s: &Seqs<T>, fwd: &[T], rev: &[T], out: &mut [T], h: usize) {
    for seq in 0..s.b {
        let len = s.len_of(seq);
        for step in 0..s.t {
            let row = seq * s.t + step;
            let (o, f) = (&mut out[row * 2 * h..(row + 1) * 2 * h], &fwd[row * h..]);
            o[..h].copy_from_slice(&f[..h]);
            if step < len {
                let r = seq * s.t + len - 1 - step;
                o[h..].copy_from_slice(&rev[r * h..(r + 1) * h]);
            } else {
                o[h..].fill(T::ZERO);
            }
        }
    }
}

/// The gradient of a bidirectional layer's output (`[b][t][2H]`) split into each cell's dL/dh
/// (`[b][t][H]` each), the reverse one's rows in the reversed order that cell ran in.
pub(super) fn split<T: Real>(s: &Seqs<T>, g: &[T], g_fwd: &mut [T], g_rev: &mut [T], h: usize) {
    for seq in 0..s.b {
        let len = s.len_of(seq);
        for step in 0..s.t {
            let row = seq * s.t + step;
            let src = &g[row * 2 * h..(row + 1) * 2 * h];
            g_fwd[row * h..(row + 1) * h].copy_from_slice(&src[..h]);
            let r = if step < len {
                seq * s.t + len - 1 - step
            } else {
                row
            };
            let dst = &mut g_rev[r * h..(r + 1) * h];
            if step < len {
                dst.copy_from_slice(&src[h..]);
            } else {
                dst.fill(T::ZERO);
            }
        }
    }
}
