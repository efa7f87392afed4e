//! The wrappers against naive loops: every transpose, strides, one-row products, interleaved
//! rows, products cut along each axis; shape errors.

use super::*;

#[allow(clippy::too_many_arguments)]
fn naive(
    ta: Op,
    tb: Op,
    (m, n, k): (usize, usize, usize),
    alpha: f64,
    (a, lda): (&[f64], usize),
    (b, ldb): (&[f64], usize),
    beta: f64,
    (c, ldc): (&mut [f64], usize),
) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                let av = match ta {
                    Op::N => a[i * lda + p],
                    Op::T => a[p * lda + i],
                };
                let bv = match tb {
                    Op::N => b[p * ldb + j],
                    Op::T => b[j * ldb + p],
                };
                s += av * bv;
            }
            c[i * ldc + j] = alpha * s + beta * c[i * ldc + j];
        }
    }
}

fn data(n: usize, seed: u64) -> Vec<f64> {
    // A small deterministic LCG so the test depends on nothing else.
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Every combination of transposes.
const OPS: [(Op, Op); 4] = [
    (Op::N, Op::N),
    (Op::N, Op::T),
    (Op::T, Op::N),
    (Op::T, Op::T),
];

/// Random operands of an m×n×k product with these transposes, every row padded: `(a, lda)`,
/// `(b, ldb)`, `(c, ldc)` as stored.
#[allow(clippy::type_complexity)]
fn operands(
    (ta, tb): (Op, Op),
    (m, n, k): (usize, usize, usize),
    pad: usize,
) -> ((Vec<f64>, usize), (Vec<f64>, usize), (Vec<f64>, usize)) {
    let (ar, ac) = stored(ta, m, k);
    let (br, bc) = stored(tb, k, n);
    let (lda, ldb, ldc) = (ac + pad, bc + pad + 1, n + pad);
    (
        (data(ar * lda, 1), lda),
        (data(br * ldb, 2), ldb),
        (data(m * ldc, 3), ldc),
    )
}

#[test]
fn gemm_matches_naive_all_transposes_and_strides() {
    // One row (m = 1) goes through gemv: check it as thoroughly.
    for (m, n, k, (ta, tb), pad) in [(5, 7, 3), (1, 7, 3), (1, 4, 1)].into_iter().flat_map(|s| {
        OPS.into_iter()
            .flat_map(move |o| [0, 2].map(|pad| (s.0, s.1, s.2, o, pad)))
    }) {
        {
            let ((a, lda), (b, ldb), (c0, ldc)) = operands((ta, tb), (m, n, k), pad);
            let mut c = c0.clone();
            let mut want = c0.clone();
            gemm(ta, tb, m, n, k, 0.7, &a, lda, &b, ldb, 0.3, &mut c, ldc);
            naive(
                ta,
                tb,
                (m, n, k),
                0.7,
                (&a, lda),
                (&b, ldb),
                0.3,
                (&mut want, ldc),
            );
            for i in 0..m {
                for j in 0..n {
                    let (g, w) = (c[i * ldc + j], want[i * ldc + j]);
                    assert!(
                        (g - w).abs() < 1e-12,
                        "{m}×{n}×{k} {ta:?}{tb:?} pad {pad} ({i},{j}): {g} vs {w}"
                    );
                }
                // Padding between rows is never written.
                for j in n..ldc.min(c.len() - i * ldc) {
                    assert_eq!(c[i * ldc + j], c0[i * ldc + j]);
                }
            }
        }
    }
}

#[test]
fn transpose_and_gemm_xwt_match_naive() {
    // Smaller than a tile, and whole tiles with a ragged edge either way.
    for (r, c) in [(3, 5), (130, 9), (64, 7), (5, 64)] {
        let t = data(r * c, 4);
        let mut tt = vec![f64::NAN; r * c];
        transpose(&t, r, c, &mut tt);
        for (i, j) in (0..r).flat_map(|i| (0..c).map(move |j| (i, j))) {
            assert_eq!(tt[j * r + i], t[i * c + j], "{r}×{c} ({i},{j})");
        }
    }
    // A shape whose transpose this machine's BLAS may prefer (the seed's input projection)
    // and one it never does (one row goes through gemv); tests/cutting.rs forces both paths.
    for (m, n, k) in [(1400, 50, 28), (1, 7, 3)] {
        let ((a, lda), (w, _), (c0, ldc)) = operands((Op::N, Op::T), (m, n, k), 1);
        let w = &w[..n * k];
        let mut c = c0.clone();
        let mut want = c0.clone();
        let mut scratch = vec![f64::NAN; n * k];
        gemm_xwt(m, n, k, 0.7, &a, lda, w, 0.3, &mut c, ldc, &mut scratch);
        let ops = (Op::N, Op::T);
        naive(
            ops.0,
            ops.1,
            (m, n, k),
            0.7,
            (&a, lda),
            (w, k),
            0.3,
            (&mut want, ldc),
        );
        for (g, w) in c.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{m}×{n}×{k}: {g} vs {w}");
        }
    }
}

#[test]
fn cut_products_match_naive_along_every_axis() {
    let (m, n, k, pad) = (13, 11, 17, 2);
    for (ta, tb) in OPS {
        for axis in [Axis::M, Axis::N, Axis::K] {
            // Pieces of 1, uneven ones (the last shorter), and one piece of everything.
            for piece in [1, 4, 5, 17] {
                for beta in [0.3, 0.0] {
                    let ((a, lda), (b, ldb), (c0, ldc)) = operands((ta, tb), (m, n, k), pad);
                    let mut c = c0.clone();
                    let mut want = c0.clone();
                    let sh = Shape {
                        ta,
                        tb,
                        m,
                        n,
                        k,
                        lda,
                        ldb,
                        ldc,
                    };
                    // SAFETY: the slices hold the shapes with these leading dimensions.
                    unsafe {
                        product_cut(
                            sh,
                            Some((axis, piece)),
                            0.7,
                            a.as_ptr(),
                            b.as_ptr(),
                            beta,
                            c.as_mut_ptr(),
                        )
                    };
                    naive(
                        ta,
                        tb,
                        (m, n, k),
                        0.7,
                        (&a, lda),
                        (&b, ldb),
                        beta,
                        (&mut want, ldc),
                    );
                    for (i, (g, w)) in c.iter().zip(&want).enumerate() {
                        assert!(
                            (g - w).abs() < 1e-12,
                            "{ta:?}{tb:?} {axis:?}/{piece} beta {beta} at {i}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_within_matches_naive_on_interleaved_rows() {
    // Buffer [B][T][H] with B = 4, T = 3, H = 5: C = step 2, A = step 1.
    let (bsz, t, h) = (4, 3, 5);
    let ld = t * h;
    let w = data(h * h, 7);
    let buf0 = data(bsz * ld, 8);
    let mut buf = buf0.clone();
    gemm_within(&mut buf, h, 2 * h, ld, Op::T, bsz, h, h, 1.0, &w, h, 1.0);
    let mut want = buf0.clone();
    let a: Vec<f64> = buf0.clone();
    naive(
        Op::N,
        Op::T,
        (bsz, h, h),
        1.0,
        (&a[h..], ld),
        (&w, h),
        1.0,
        (&mut want[2 * h..], ld),
    );
    for (i, (g, e)) in buf.iter().zip(&want).enumerate() {
        assert!((g - e).abs() < 1e-12, "element {i}: {g} vs {e}");
    }
}

#[test]
#[should_panic(expected = "overlap")]
fn gemm_within_rejects_overlap() {
    let mut buf = vec![0.0; 40];
    let w = vec![0.0; 25];
    gemm_within(&mut buf, 0, 2, 10, Op::N, 2, 5, 5, 1.0, &w, 5, 0.0);
}

#[test]
#[should_panic(expected = "gemm B is 3×7 with leading dimension 7, which needs 21 elements")]
fn gemm_rejects_short_slice() {
    let a = vec![0.0; 15];
    let b = vec![0.0; 20];
    let mut c = vec![0.0; 35];
    gemm(Op::N, Op::N, 5, 7, 3, 1.0, &a, 3, &b, 7, 0.0, &mut c, 7);
}

#[test]
#[should_panic(expected = "leading dimension 2 is smaller than its 3 columns")]
fn gemm_rejects_small_leading_dimension() {
    let a = vec![0.0; 15];
    let b = vec![0.0; 21];
    let mut c = vec![0.0; 35];
    gemm(Op::N, Op::N, 5, 7, 3, 1.0, &a, 2, &b, 7, 0.0, &mut c, 7);
}

#[test]
fn gemv_matches_naive_and_sums_rows() {
    let (rows, cols, lda) = (4, 3, 5);
    let a = data(rows * lda, 11);
    let x = data(cols, 12);
    let mut y = vec![1.0; rows];
    gemv(Op::N, rows, cols, 2.0, &a, lda, &x, 0.5, &mut y);
    for i in 0..rows {
        let want: f64 = 0.5 + 2.0 * (0..cols).map(|j| a[i * lda + j] * x[j]).sum::<f64>();
        assert!((y[i] - want).abs() < 1e-12);
    }
    let ones = vec![1.0; rows];
    let mut sums = vec![0.0; cols];
    gemv(Op::T, rows, cols, 1.0, &a, lda, &ones, 0.0, &mut sums);
    for j in 0..cols {
        let want: f64 = (0..rows).map(|i| a[i * lda + j]).sum();
        assert!((sums[j] - want).abs() < 1e-12);
    }
}

#[test]
fn axpy_scal_nrm2() {
    let x = vec![1.0, 2.0, 3.0];
    let mut y = vec![1.0, 1.0, 1.0];
    axpy(2.0, &x, &mut y);
    assert_eq!(y, vec![3.0, 5.0, 7.0]);
    scal(0.5, &mut y);
    assert_eq!(y, vec![1.5, 2.5, 3.5]);
    assert!((nrm2(&[3.0, 4.0]) - 5.0).abs() < 1e-15);
}

#[test]
fn f32_routines_match_the_f64_ones() {
    let (m, n, k) = (6, 5, 7);
    let a = data(m * k, 21);
    let b = data(k * n, 22);
    let (a32, b32): (Vec<f32>, Vec<f32>) = (
        a.iter().map(|&v| v as f32).collect(),
        b.iter().map(|&v| v as f32).collect(),
    );
    for tb in [Op::N, Op::T] {
        let ldb = if tb == Op::N { n } else { k };
        let mut c = vec![0.5; m * n];
        let mut c32 = vec![0.5f32; m * n];
        gemm(Op::N, tb, m, n, k, 0.7, &a, k, &b, ldb, 0.3, &mut c, n);
        gemm(
            Op::N,
            tb,
            m,
            n,
            k,
            0.7,
            &a32,
            k,
            &b32,
            ldb,
            0.3,
            &mut c32,
            n,
        );
        for (x, y) in c.iter().zip(&c32) {
            assert!((x - f64::from(*y)).abs() < 1e-5, "{tb:?}: {x} vs {y}");
        }
    }
    let mut y = vec![0.0; k];
    let mut y32 = vec![0.0f32; k];
    gemv(Op::T, m, k, 1.0, &a, k, &vec![1.0; m], 0.0, &mut y);
    gemv(Op::T, m, k, 1.0, &a32, k, &vec![1.0f32; m], 0.0, &mut y32);
    for (x, v) in y.iter().zip(&y32) {
        assert!((x - f64::from(*v)).abs() < 1e-5);
    }
    let mut z32 = vec![1.0f32, 2.0];
    axpy(2.0, &[0.5f32, 0.25], &mut z32);
    scal(0.5, &mut z32);
    assert_eq!(z32, vec![1.0, 1.25]);
    assert_eq!(nrm2(&[3.0f32, 4.0]), 5.0);
}

#[test]
#[should_panic(expected = "axpy: x has 2 elements but y has 3")]
fn axpy_rejects_mismatch() {
    axpy(1.0, &[1.0, 2.0], &mut [0.0; 3]);
}
