//! Products cut into pieces for OpenBLAS's small-matrix kernels: which products those kernels
//! take, how to cut one that they do not into pieces they do, and when cutting is on. No FFI here:
//! the pieces are made by [`super::gemm`].

use super::Op;
use super::backend::small_kernels_linked;

/// The dimension a product is cut along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Rows of `op(A)` and `C`.
    M,
    /// Columns of `op(B)` and `C`.
    N,
    /// The inner dimension: the pieces' products are summed.
    K,
}

/// The largest m·n·k OpenBLAS hands to its small-matrix kernels.
const SMALL_MNK: usize = 1_000_000;

/// Whether OpenBLAS's SkylakeX-family small-matrix kernels take this product (row-major): m·n·k
/// at most 10⁶; an `A·Bᵀ` product (its "transposed A" case, as it sees a row-major call) only
/// with m·n ≤ 1200 and k ≥ 32; `Aᵀ·Bᵀ` never. This is the sgemm rule of OpenBLAS 0.3.17 and
/// later (`sgemm_small_kernel_permit_skylakex.c`); dgemm's is no stricter.
pub fn small_kernel_takes(ta: Op, tb: Op, m: usize, n: usize, k: usize) -> bool {
    m.saturating_mul(n).saturating_mul(k) <= SMALL_MNK
        && match (ta, tb) {
            (Op::T, Op::T) => false,
            (Op::N, Op::T) => m * n <= 1200 && k >= 32,
            _ => true,
        }
}

/// How to cut a product too large for OpenBLAS's small-matrix kernels into pieces they take:
/// `(axis, piece)`, pieces of `piece` along `axis` (the last may be shorter), or `None` to make
/// it in one call (it fits already, or no cut pays).
///
/// A packed GEMM copies both operands into its blocked format first. On a recurrent step's
/// shapes — a short side (the batch, or the gates of a small layer) against a long one (H, 4H,
/// or all the rows of a batch) — that copy is not amortised, and the small kernels, which read
/// the operands where they are, run the pieces at 1.2–2× the rate of the whole (`bench --uncut`
/// and `cargo bench -- gemm_` measure both). A piece must stay long enough for their inner
/// loops: along k at least 48; along m at least 32 rows, whatever k (the input projection of 28
/// pixels and the seed readout's outputs, k = 28 and 50, ran at 1.05–1.4× the whole cut into
/// pieces of a few hundred rows); along n a multiple of 64, only when k is at least 64. Pieces
/// along k and m are of equal size; along n, the last takes what is left.
pub fn small_pieces(ta: Op, tb: Op, m: usize, n: usize, k: usize) -> Option<(Axis, usize)> {
    if m <= 1 || n == 0 || k == 0 || small_kernel_takes(ta, tb, m, n, k) {
        return None;
    }
    // Pieces of at most `per` along a dimension of `len`, evened out.
    let even = |len: usize, per: usize| {
        let pieces = len.div_ceil(per.max(1));
        len.div_ceil(pieces)
    };
    let fits = |axis, piece| {
        let (pm, pn, pk) = match axis {
            Axis::M => (piece, n, k),
            Axis::N => (m, piece, k),
            Axis::K => (m, n, piece),
        };
        small_kernel_takes(ta, tb, pm, pn, pk)
    };
    let along_k = even(k, SMALL_MNK / (m * n));
    if along_k >= 48 && fits(Axis::K, along_k) {
        return Some((Axis::K, along_k));
    }
    let along_m = even(m, SMALL_MNK / (n * k));
    if along_m >= 32 && fits(Axis::M, along_m) {
        return Some((Axis::M, along_m));
    }
    if k >= 64 {
        // Along n, whole multiples of 64 columns: the small kernels' widest block (a row-major
        // C's columns are their rows); 112 or 80 columns (64 + 48, 64 + 16) run at 2/3 the rate.
        let along_n = SMALL_MNK / (m * k) / 64 * 64;
        if along_n >= 64 && along_n < n && fits(Axis::N, along_n) {
            return Some((Axis::N, along_n));
        }
    }
    None
}

/// Whether the small-matrix kernels take `A·Bᵀ` (A m×k, B stored n×k; whole or cut) from the
/// transpose of B stored k×n, but not as it is.
pub fn small_kernels_prefer_stored_transpose(m: usize, n: usize, k: usize) -> bool {
    let takes =
        |tb| small_kernel_takes(Op::N, tb, m, n, k) || small_pieces(Op::N, tb, m, n, k).is_some();
    m > 1 && takes(Op::N) && !takes(Op::T)
}

/// Whether `C += A·Bᵀ` (A m×k, B stored n×k) runs faster as `A·B'` with `B' = Bᵀ` stored k×n:
/// when [`cutting`] is on and [`small_kernels_prefer_stored_transpose`]. [`weight_operand`](super::weight_operand)
/// decides by it.
pub fn prefers_stored_transpose(m: usize, n: usize, k: usize) -> bool {
    cutting() && small_kernels_prefer_stored_transpose(m, n, k)
}

/// When products are cut into pieces for small-matrix kernels (see [`small_pieces`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cutting {
    /// When the linked library has such kernels (the default).
    Auto,
    /// Never: every product one call, as blasrnn made them before it cut any.
    Off,
    /// Always, whatever the library: for tests, which check the cut products on any machine.
    Always,
}

static CUTTING: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets when products are cut; `bench --uncut` measures the engine with and without. Results
/// differ bit-wise between the two (sums in another order, other kernels). Global to the
/// process: change it only while no training step runs.
pub fn set_cutting(c: Cutting) {
    let v = match c {
        Cutting::Auto => 0,
        Cutting::Off => 1,
        Cutting::Always => 2,
    };
    CUTTING.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// Whether products are cut into pieces for small-matrix kernels now: always, never, or (the
/// default, [`Cutting::Auto`]) when the linked library has them, see [`small_kernels_linked`].
pub fn cutting() -> bool {
    match CUTTING.load(std::sync::atomic::Ordering::Relaxed) {
        0 => small_kernels_linked(),
        1 => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of transposes.
    const OPS: [(Op, Op); 4] = [
        (Op::N, Op::N),
        (Op::N, Op::T),
        (Op::T, Op::N),
        (Op::T, Op::T),
    ];

    #[test]
    fn small_pieces_are_taken_and_long_enough() {
        let sizes = [
            1, 2, 10, 28, 32, 50, 64, 100, 128, 256, 512, 1024, 1399, 3200,
        ];
        let mut cut = 0;
        for (ta, tb) in OPS {
            for &m in &sizes {
                for &n in &sizes {
                    for &k in &sizes {
                        let Some((axis, piece)) = small_pieces(ta, tb, m, n, k) else {
                            continue;
                        };
                        cut += 1;
                        let what = format!("{ta:?}{tb:?} {m}×{n}×{k}: {axis:?}/{piece}");
                        assert!(!small_kernel_takes(ta, tb, m, n, k), "{what}: fits whole");
                        let (pm, pn, pk, min) = match axis {
                            Axis::M => (piece, n, k, 32),
                            Axis::N => (m, piece, k, 64),
                            Axis::K => (m, n, piece, 48),
                        };
                        assert!(small_kernel_takes(ta, tb, pm, pn, pk), "{what}: not taken");
                        assert!(piece >= min, "{what}: too short");
                        assert!(axis != Axis::N || k >= 64, "{what}: k too short");
                        let len = match axis {
                            Axis::M => m,
                            Axis::N => n,
                            Axis::K => k,
                        };
                        assert!(piece < len, "{what}: one piece");
                        if axis == Axis::N {
                            assert_eq!(piece % 64, 0, "{what}: not whole blocks");
                        } else {
                            // Even pieces: together longer than the whole by less than one each.
                            let pieces = len.div_ceil(piece);
                            assert!(pieces * piece - len < pieces, "{what}: uneven");
                        }
                    }
                }
            }
        }
        assert!(cut > 100, "only {cut} shapes cut");
        // The engine's shapes (per thread: batch 50 or 32 rows): the LSTM's backward step
        // (dA·W_hh) and the language model's; dW_hh of the seed model over all rows; the seed
        // head's logits; the language model's forward step, which no cut makes small enough.
        assert_eq!(
            small_pieces(Op::N, Op::N, 50, 128, 512),
            Some((Axis::K, 128))
        );
        assert_eq!(
            small_pieces(Op::N, Op::N, 32, 256, 1024),
            Some((Axis::K, 114))
        );
        assert_eq!(
            small_pieces(Op::T, Op::N, 50, 50, 2799),
            Some((Axis::K, 400))
        );
        assert_eq!(
            small_pieces(Op::N, Op::T, 50, 10, 3584),
            Some((Axis::K, 1792))
        );
        assert_eq!(small_pieces(Op::N, Op::T, 32, 1024, 256), None);
        // The forward step from the transpose: the LSTM's at H = 128 and the language model's.
        assert_eq!(
            small_pieces(Op::N, Op::N, 50, 512, 128),
            Some((Axis::N, 128))
        );
        assert_eq!(
            small_pieces(Op::N, Op::N, 32, 1024, 256),
            Some((Axis::N, 64))
        );
        // From the transpose: every cell's step at these sizes (the seed's whole), not one row,
        // nor a product no cut fits (k too long for a piece of 64 columns).
        assert!(small_kernels_prefer_stored_transpose(50, 50, 50));
        assert!(small_kernels_prefer_stored_transpose(50, 512, 128));
        assert!(small_kernels_prefer_stored_transpose(32, 1024, 256));
        assert!(!small_kernels_prefer_stored_transpose(1, 512, 128));
        assert!(!small_kernels_prefer_stored_transpose(64, 4096, 1024));
    }
}
