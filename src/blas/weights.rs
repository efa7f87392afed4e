//! A layer's weight W (stored n×k, as PyTorch stores it) as the B of products `A·Wᵀ`: read as
//! stored, or from its transpose where the BLAS multiplies faster that way.

use super::cut::prefers_stored_transpose;
use super::{Blas, Op, gemm};

/// A weight W (stored n×k and contiguous, as a layer's weight is) as the B of products `A·Wᵀ`
/// with m rows, `(operand, op, leading dimension)`: W as stored (`Op::T`, k) or, when
/// [`prefers_stored_transpose`], its transpose written into `scratch` (k×n; `Op::N`, n). Written
/// once, it serves every product of that shape (the recurrent cells: every step of a forward).
///
/// # Panics
/// When `w` is shorter than n·k, or `scratch` is and the transpose is used.
pub fn weight_operand<'a, T: Copy>(
    w: &'a [T],
    m: usize,
    n: usize,
    k: usize,
    scratch: &'a mut [T],
) -> (&'a [T], Op, usize) {
    if prefers_stored_transpose(m, n, k) {
        transpose(w, n, k, scratch);
        (scratch, Op::N, n)
    } else {
        (w, Op::T, k)
    }
}

/// `C = alpha · A · Wᵀ + beta · C`: A m×k (leading dimension `lda`), W stored n×k and contiguous
/// as a layer's weight is, C m×n (leading dimension `ldc`), made from [`weight_operand`] (W as
/// stored or its transpose, written into `scratch`, k×n).
///
/// # Panics
/// As [`gemm`]; when `scratch` is shorter than k·n and the transpose is used.
#[allow(clippy::too_many_arguments)]
pub fn gemm_xwt<T: Blas>(
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[T],
    lda: usize,
    w: &[T],
    beta: f64,
    c: &mut [T],
    ldc: usize,
    scratch: &mut [T],
) {
    let (b, op, ldb) = weight_operand(w, m, n, k, scratch);
    gemm(Op::N, op, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// `dst` (c×r) = the transpose of `src` (r×c), both contiguous.
///
/// # Panics
/// When either is shorter than r·c.
pub fn transpose<T: Copy>(src: &[T], r: usize, c: usize, dst: &mut [T]) {
    // In tiles of 64 rows by 4 columns of `src`: each tile writes 4 runs of 64 contiguous numbers
    // of `dst`, kilobytes apart. Column by column every write missed; 16×16 tiles still ran 5×
    // slower on 1024-row weights, whose 16 destination lines, 4 KiB apart, all fall in one L1 set.
    const ROWS: usize = 64;
    const COLS: usize = 4;
    let (src, dst) = (&src[..r * c], &mut dst[..r * c]);
    for i0 in (0..r).step_by(ROWS) {
        let i1 = (i0 + ROWS).min(r);
        for j0 in (0..c).step_by(COLS) {
            let j1 = (j0 + COLS).min(c);
            for i in i0..i1 {
                for (j, &v) in (j0..j1).zip(&src[i * c + j0..i * c + j1]) {
                    dst[j * r + i] = v;
                }
            }
        }
    }
}
