//! The only `unsafe` code in the crate: safe, shape-checked wrappers around CBLAS.
//!
//! Every matrix is row-major. A matrix with `rows` rows and `cols` columns stored with leading
//! dimension `ld` (the distance between the starts of two rows, `ld >= cols`) needs
//! `(rows - 1) * ld + cols` elements; every wrapper checks that each slice is at least that long and
//! panics with a message naming the operand otherwise, before BLAS ever sees a pointer.

// Exactly one BLAS provider must be linked. `build.rs` picks the platform's default when no backend
// feature is given; these errors explain the other cases in plain words.
#[cfg(all(feature = "openblas", feature = "openblas-static"))]
compile_error!(
    "blasrnn: the features `openblas` and `openblas-static` both select OpenBLAS; pass only one, \
     e.g. `cargo build --release --no-default-features --features openblas-static`"
);
#[cfg(all(
    feature = "accelerate",
    any(feature = "openblas", feature = "openblas-static")
))]
compile_error!(
    "blasrnn: two BLAS providers selected (Accelerate and OpenBLAS); pass exactly one of \
     `--features openblas`, `--features openblas-static`, `--features accelerate`"
);
#[cfg(all(
    feature = "platform-default",
    not(target_os = "macos"),
    any(feature = "accelerate", feature = "openblas-static")
))]
compile_error!(
    "blasrnn: the default features already link the system OpenBLAS; to use another BLAS provider, \
     turn them off: `cargo build --release --no-default-features --features <openblas-static|accelerate>`"
);
#[cfg(all(
    feature = "platform-default",
    target_os = "macos",
    any(feature = "openblas", feature = "openblas-static")
))]
compile_error!(
    "blasrnn: the default features on macOS already link Apple Accelerate; to use OpenBLAS, turn them \
     off: `cargo build --release --no-default-features --features openblas`"
);
#[cfg(not(any(
    feature = "platform-default",
    feature = "openblas",
    feature = "openblas-static",
    feature = "accelerate",
    feature = "blis"
)))]
compile_error!(
    "blasrnn: no BLAS provider selected; build with the default features, or pass one of \
     `--features blis` (BLIS built from its vendored source: nothing to install), `--features \
     openblas` (system OpenBLAS), `--features openblas-static` (OpenBLAS downloaded and built from \
     source: needs internet), `--features accelerate` (macOS)"
);
#[cfg(all(
    feature = "blis",
    any(
        feature = "openblas",
        feature = "openblas-static",
        feature = "accelerate"
    )
))]
compile_error!(
    "blasrnn: two BLAS providers selected (BLIS and another); pass exactly one of `--features blis`, \
     `--features openblas`, `--features openblas-static`, `--features accelerate`"
);
#[cfg(all(feature = "platform-default", feature = "blis"))]
compile_error!(
    "blasrnn: the default features already link the platform's BLAS; for BLIS, turn them off: \
     `cargo build --release --no-default-features --features blis`"
);
#[cfg(all(feature = "accelerate", not(target_os = "macos")))]
compile_error!(
    "blasrnn: `--features accelerate` needs macOS; on this system use the default OpenBLAS"
);

// Link the provider: `blas-src` carries the explicit choices; `build.rs` links the platform default
// (the system OpenBLAS through pkg-config, or the Accelerate framework) itself.
#[cfg(any(
    feature = "openblas",
    feature = "openblas-static",
    feature = "accelerate",
    feature = "blis"
))]
extern crate blas_src as _;
#[cfg(feature = "blis")]
extern crate blis_src as _;

use crate::real::Real;
use cblas_sys::{CBLAS_LAYOUT, CBLAS_TRANSPOSE};

/// Whether an operand of [`gemm`] is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Use the matrix as stored.
    N,
    /// Use its transpose.
    T,
}

impl Op {
    fn cblas_sys(self) -> CBLAS_TRANSPOSE {
        match self {
            Op::N => CBLAS_TRANSPOSE::CblasNoTrans,
            Op::T => CBLAS_TRANSPOSE::CblasTrans,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The CBLAS routines of one precision: `s…` for `f32`, `d…` for `f64`. Implemented for those
/// two types only; use the safe, shape-checked functions of this module, which are generic over
/// [`Real`].
pub trait Blas: sealed::Sealed + Sized {
    /// `cblas_?gemm`, row-major.
    ///
    /// # Safety
    /// The pointers must cover the elements the shapes and leading dimensions address, and `c`
    /// must not overlap `a` or `b`.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        ta: Op,
        tb: Op,
        m: i32,
        n: i32,
        k: i32,
        alpha: Self,
        a: *const Self,
        lda: i32,
        b: *const Self,
        ldb: i32,
        beta: Self,
        c: *mut Self,
        ldc: i32,
    );
    /// `cblas_?gemv`, row-major, `x` and `y` with strides `incx`, `incy`.
    ///
    /// # Safety
    /// The pointers must cover the elements the shape and strides address, and `y` must not
    /// overlap `a` or `x`.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemv_raw(
        ta: Op,
        m: i32,
        n: i32,
        alpha: Self,
        a: *const Self,
        lda: i32,
        x: *const Self,
        incx: i32,
        beta: Self,
        y: *mut Self,
        incy: i32,
    );
    /// `cblas_?axpy` over `n` elements.
    ///
    /// # Safety
    /// Both slices must hold `n` elements.
    #[doc(hidden)]
    unsafe fn axpy_raw(n: i32, alpha: Self, x: &[Self], y: &mut [Self]);
    /// `cblas_?scal` over `n` elements.
    ///
    /// # Safety
    /// `x` must hold `n` elements.
    #[doc(hidden)]
    unsafe fn scal_raw(n: i32, alpha: Self, x: &mut [Self]);
    /// `cblas_?nrm2` over `n` elements.
    ///
    /// # Safety
    /// `x` must hold `n` elements.
    #[doc(hidden)]
    unsafe fn nrm2_raw(n: i32, x: &[Self]) -> Self;
}

macro_rules! blas_impl {
    ($t:ty, $gemm:ident, $gemv:ident, $axpy:ident, $scal:ident, $nrm2:ident) => {
        impl Blas for $t {
            unsafe fn gemm_raw(
                ta: Op,
                tb: Op,
                m: i32,
                n: i32,
                k: i32,
                alpha: Self,
                a: *const Self,
                lda: i32,
                b: *const Self,
                ldb: i32,
                beta: Self,
                c: *mut Self,
                ldc: i32,
            ) {
                // SAFETY: the caller's contract.
                unsafe {
                    cblas_sys::$gemm(
                        CBLAS_LAYOUT::CblasRowMajor,
                        ta.cblas_sys(),
                        tb.cblas_sys(),
                        m,
                        n,
                        k,
                        alpha,
                        a,
                        lda,
                        b,
                        ldb,
                        beta,
                        c,
                        ldc,
                    )
                }
            }
            unsafe fn gemv_raw(
                ta: Op,
                m: i32,
                n: i32,
                alpha: Self,
                a: *const Self,
                lda: i32,
                x: *const Self,
                incx: i32,
                beta: Self,
                y: *mut Self,
                incy: i32,
            ) {
                // SAFETY: the caller's contract.
                unsafe {
                    cblas_sys::$gemv(
                        CBLAS_LAYOUT::CblasRowMajor,
                        ta.cblas_sys(),
                        m,
                        n,
                        alpha,
                        a,
                        lda,
                        x,
                        incx,
                        beta,
                        y,
                        incy,
                    )
                }
            }
            unsafe fn axpy_raw(n: i32, alpha: Self, x: &[Self], y: &mut [Self]) {
                // SAFETY: the caller's contract.
                unsafe { cblas::$axpy(n, alpha, x, 1, y, 1) }
            }
            unsafe fn scal_raw(n: i32, alpha: Self, x: &mut [Self]) {
                // SAFETY: the caller's contract.
                unsafe { cblas::$scal(n, alpha, x, 1) }
            }
            unsafe fn nrm2_raw(n: i32, x: &[Self]) -> Self {
                // SAFETY: the caller's contract.
                unsafe { cblas::$nrm2(n, x, 1) }
            }
        }
    };
}

blas_impl!(f32, cblas_sgemm, cblas_sgemv, saxpy, sscal, snrm2);
blas_impl!(f64, cblas_dgemm, cblas_dgemv, daxpy, dscal, dnrm2);

thread_local! {
    static FLOPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Adds `n` to this thread's count of floating-point operations.
fn count(n: usize) {
    FLOPS.with(|f| f.set(f.get() + n as u64));
}

/// Floating-point operations this thread has asked BLAS for since the last call (2mnk for a
/// product, 2n for axpy and nrm2, n for scal), and resets the count. The exact FLOP figures of
/// `bench` and the per-cell formulas are checked against it.
pub fn take_flops() -> u64 {
    FLOPS.with(|f| f.replace(0))
}

/// Name of the BLAS provider this binary was built with, as `build.rs` recorded it.
pub fn backend() -> &'static str {
    option_env!("BLASRNN_BACKEND").unwrap_or("unknown")
}

/// Elements needed to store `rows × cols` with leading dimension `ld`, after checking `ld`.
fn needed(what: &str, rows: usize, cols: usize, ld: usize) -> usize {
    assert!(
        ld >= cols.max(1),
        "blas: {what}: leading dimension {ld} is smaller than its {cols} columns"
    );
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

fn check_len(what: &str, len: usize, rows: usize, cols: usize, ld: usize) {
    let need = needed(what, rows, cols, ld);
    assert!(
        len >= need,
        "blas: {what} is {rows}×{cols} with leading dimension {ld}, which needs {need} elements, \
         but the slice holds {len}"
    );
}

fn int(what: &str, v: usize) -> i32 {
    i32::try_from(v).unwrap_or_else(|_| panic!("blas: {what} = {v} does not fit a BLAS int"))
}

/// Stored shape (rows, cols) of an operand whose `op(·)` is `r × c`.
fn stored(op: Op, r: usize, c: usize) -> (usize, usize) {
    match op {
        Op::N => (r, c),
        Op::T => (c, r),
    }
}

/// `C = alpha · op(A) · op(B) + beta · C`, row-major, with `op(A)` m×k, `op(B)` k×n, `C` m×n.
///
/// `lda`, `ldb`, `ldc` are the leading dimensions of the matrices as stored (so for `Op::T` the
/// stored A is k×m and `lda >= m`). With `beta = 1` the product accumulates into `C`. The scalars
/// are given as `f64` and rounded to `T`.
///
/// # Panics
/// When a leading dimension is smaller than its row, or a slice is too short for the shape.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    ta: Op,
    tb: Op,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    beta: f64,
    c: &mut [T],
    ldc: usize,
) {
    init();
    let (ar, ac) = stored(ta, m, k);
    let (br, bc) = stored(tb, k, n);
    check_len("gemm A", a.len(), ar, ac, lda);
    check_len("gemm B", b.len(), br, bc, ldb);
    check_len("gemm C", c.len(), m, n, ldc);
    if m == 0 || n == 0 {
        return;
    }
    count(2 * m * n * k);
    if m == 1 && k > 0 {
        // One row: a matrix-vector product, which packs nothing (GEMM would copy all of B into
        // its blocked format first: most of the cost when B is a weight matrix and A one state).
        // C (1×n) = a · op(B) is Cᵀ = op(B)ᵀ · aᵀ; a's elements are a stride of 1 (N) or lda (T).
        let incx = if ta == Op::N { 1 } else { lda };
        let (tv, rows, cols) = match tb {
            Op::T => (Op::N, n, k),
            Op::N => (Op::T, k, n),
        };
        // SAFETY: as for the product: `a` holds k elements at stride incx (checked as op(A),
        // 1×k), `b` its k×n (checked), `c` n elements of its first row; `c` is a unique borrow.
        unsafe {
            T::gemv_raw(
                tv,
                int("rows", rows),
                int("cols", cols),
                T::from_f64(alpha),
                b.as_ptr(),
                int("ldb", ldb),
                a.as_ptr(),
                int("lda", incx),
                T::from_f64(beta),
                c.as_mut_ptr(),
                1,
            )
        }
        return;
    }
    let shape = Shape {
        ta,
        tb,
        m,
        n,
        k,
        lda,
        ldb,
        ldc,
    };
    // SAFETY: every slice was checked above to cover the elements BLAS reads or writes for these
    // shapes and leading dimensions; `c` is a unique borrow, so it overlaps neither `a` nor `b`.
    unsafe {
        product(
            shape,
            T::from_f64(alpha),
            a.as_ptr(),
            b.as_ptr(),
            T::from_f64(beta),
            c.as_mut_ptr(),
        )
    }
}

/// `C = alpha · A · op(B) + beta · C` where `A` (m×k) and `C` (m×n) are interleaved rows of one
/// buffer, both with leading dimension `ld`: A starts at `a_off`, C at `c_off`.
///
/// This is the per-step product of batch-major recurrences, where step t−1 and step t of every
/// sequence share a buffer `[B][T][H]` (`ld = T·H`, offsets one row apart). The row segments of A
/// and C must not overlap, which is checked.
///
/// # Panics
/// When A and C overlap, or the buffer or `b` is too short for the shapes.
#[allow(clippy::too_many_arguments)]
pub fn gemm_within<T: Real>(
    buf: &mut [T],
    a_off: usize,
    c_off: usize,
    ld: usize,
    tb: Op,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    b: &[T],
    ldb: usize,
    beta: f64,
) {
    init();
    let (br, bc) = stored(tb, k, n);
    check_len("gemm_within B", b.len(), br, bc, ldb);
    let a_len = needed("gemm_within A", m, k, ld);
    let c_len = needed("gemm_within C", m, n, ld);
    assert!(
        a_off + a_len <= buf.len() && c_off + c_len <= buf.len(),
        "blas: gemm_within: A ({m}×{k} at {a_off}) or C ({m}×{n} at {c_off}) with leading \
         dimension {ld} runs past the buffer of {} elements",
        buf.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    // Relative to A's rows, C's rows start `d` columns later (mod ld): the segments [0, k) and
    // [d, d + n) of every period of ld must be disjoint.
    let d = (c_off as isize - a_off as isize).rem_euclid(ld as isize) as usize;
    assert!(
        d >= k && d + n <= ld,
        "blas: gemm_within: A (cols {a_off}..+{k}) and C (cols {c_off}..+{n}) overlap with \
         leading dimension {ld}"
    );
    count(2 * m * n * k);
    let base = buf.as_mut_ptr();
    let shape = Shape {
        ta: Op::N,
        tb,
        m,
        n,
        k,
        lda: ld,
        ldb,
        ldc: ld,
    };
    // SAFETY: both regions lie inside `buf` (checked above) and their elements are disjoint
    // (checked above), so BLAS reads A while writing C without aliasing (nor does any piece of
    // them); `b` is a separate borrow.
    unsafe {
        product(
            shape,
            T::from_f64(alpha),
            base.add(a_off),
            b.as_ptr(),
            T::from_f64(beta),
            base.add(c_off),
        )
    }
}

/// The shape of one product as CBLAS takes it: `op(A)` m×k, `op(B)` k×n, `C` m×n, row-major
/// with leading dimensions `lda`, `ldb`, `ldc`.
#[derive(Clone, Copy, Debug)]
struct Shape {
    ta: Op,
    tb: Op,
    m: usize,
    n: usize,
    k: usize,
    lda: usize,
    ldb: usize,
    ldc: usize,
}

/// `C = alpha·op(A)·op(B) + beta·C` through CBLAS: one call, or one call per piece of the cut
/// [`small_pieces`] gives when [`cutting`] is on.
///
/// # Safety
/// As [`product_cut`].
unsafe fn product<T: Real>(sh: Shape, alpha: T, a: *const T, b: *const T, beta: T, c: *mut T) {
    let cut = if cutting() {
        small_pieces(sh.ta, sh.tb, sh.m, sh.n, sh.k)
    } else {
        None
    };
    // SAFETY: the caller's contract.
    unsafe { product_cut(sh, cut, alpha, a, b, beta, c) }
}

/// `C = alpha·op(A)·op(B) + beta·C` as one CBLAS call, or one per piece of `cut`: pieces along
/// m or n write their own rows or columns of C; pieces along k accumulate into C (the first
/// with `beta`, the rest with 1).
///
/// # Safety
/// `a`, `b` and `c` must cover the elements `sh` addresses (as [`Blas::gemm_raw`]), and `c`
/// must not overlap `a` or `b`. Every piece addresses a subset of those elements.
unsafe fn product_cut<T: Real>(
    sh: Shape,
    cut: Option<(Axis, usize)>,
    alpha: T,
    a: *const T,
    b: *const T,
    beta: T,
    c: *mut T,
) {
    let call = |m: usize, n: usize, k: usize, a_off, b_off, c_off, beta| {
        // SAFETY: the caller's contract; the offsets address a sub-block of each operand.
        unsafe {
            T::gemm_raw(
                sh.ta,
                sh.tb,
                int("m", m),
                int("n", n),
                int("k", k),
                alpha,
                a.add(a_off),
                int("lda", sh.lda),
                b.add(b_off),
                int("ldb", sh.ldb),
                beta,
                c.add(c_off),
                int("ldc", sh.ldc),
            )
        }
    };
    let Some((axis, piece)) = cut.filter(|&(_, piece)| piece > 0) else {
        call(sh.m, sh.n, sh.k, 0, 0, 0, beta);
        return;
    };
    // Offset of element (row r, column j) of an operand stored `op`-wise: op(X) = X for N.
    let at = |op: Op, ld: usize, r: usize, j: usize| match op {
        Op::N => r * ld + j,
        Op::T => j * ld + r,
    };
    let total = match axis {
        Axis::M => sh.m,
        Axis::N => sh.n,
        Axis::K => sh.k,
    };
    let mut o = 0;
    while o < total {
        let w = piece.min(total - o);
        match axis {
            Axis::M => call(w, sh.n, sh.k, at(sh.ta, sh.lda, o, 0), 0, o * sh.ldc, beta),
            Axis::N => call(sh.m, w, sh.k, 0, at(sh.tb, sh.ldb, 0, o), o, beta),
            Axis::K => {
                let beta = if o == 0 { beta } else { T::ONE };
                call(
                    sh.m,
                    sh.n,
                    w,
                    at(sh.ta, sh.lda, 0, o),
                    at(sh.tb, sh.ldb, o, 0),
                    0,
                    beta,
                )
            }
        }
        o += w;
    }
}

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
/// when [`cutting`] is on and [`small_kernels_prefer_stored_transpose`]. [`weight_operand`]
/// decides by it.
pub fn prefers_stored_transpose(m: usize, n: usize, k: usize) -> bool {
    cutting() && small_kernels_prefer_stored_transpose(m, n, k)
}

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
pub fn gemm_xwt<T: Real>(
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

/// Whether the linked library multiplies small products with unpacked AVX-512 kernels: OpenBLAS
/// 0.3.17 or later running a SkylakeX-family core (SkylakeX, Cooperlake, SapphireRapids;
/// `OPENBLAS_CORETYPE` can pin another). BLIS and Accelerate are left to make every product
/// whole.
pub fn small_kernels_linked() -> bool {
    static LINKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LINKED.get_or_init(|| {
        #[cfg(blasrnn_openblas)]
        {
            // SAFETY: getters of static strings.
            let (core, config) = unsafe { (openblas_get_corename(), openblas_get_config()) };
            let core = text(core).to_ascii_lowercase();
            ["skylakex", "cooperlake", "sapphirerapids"].contains(&core.as_str())
                && openblas_version(&text(config)).is_some_and(|v| v >= (0, 3, 17))
        }
        #[cfg(not(blasrnn_openblas))]
        false
    })
}

/// The version OpenBLAS's configuration string starts with ("OpenBLAS 0.3.21 DYNAMIC_ARCH …").
pub fn openblas_version(config: &str) -> Option<(u32, u32, u32)> {
    let v = config
        .strip_prefix("OpenBLAS ")?
        .split_whitespace()
        .next()?;
    let mut parts = v.split('.').map(|p| {
        // A suffix such as ".dev" ends the number.
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// `y = alpha · op(A) · x + beta · y` with `A` stored `rows × cols` (leading dimension `lda`).
///
/// For `Op::N`, `x` has `cols` elements and `y` has `rows`; for `Op::T` the other way round. With
/// `Op::T` and `x` all ones this sums the rows of `A` (bias gradients).
///
/// # Panics
/// When a slice is too short for the shape.
#[allow(clippy::too_many_arguments)]
pub fn gemv<T: Real>(
    ta: Op,
    rows: usize,
    cols: usize,
    alpha: f64,
    a: &[T],
    lda: usize,
    x: &[T],
    beta: f64,
    y: &mut [T],
) {
    init();
    check_len("gemv A", a.len(), rows, cols, lda);
    let (xn, yn) = match ta {
        Op::N => (cols, rows),
        Op::T => (rows, cols),
    };
    assert!(
        x.len() >= xn && y.len() >= yn,
        "blas: gemv needs x of {xn} and y of {yn} elements, got {} and {}",
        x.len(),
        y.len()
    );
    if rows == 0 || cols == 0 {
        return;
    }
    count(2 * rows * cols);
    // SAFETY: the lengths of `a`, `x` and `y` were checked above for these shapes; `y` is a unique
    // borrow.
    unsafe {
        T::gemv_raw(
            ta,
            int("rows", rows),
            int("cols", cols),
            T::from_f64(alpha),
            a.as_ptr(),
            int("lda", lda),
            x.as_ptr(),
            1,
            T::from_f64(beta),
            y.as_mut_ptr(),
            1,
        )
    }
}

/// `y += alpha · x`.
///
/// # Panics
/// When `x` and `y` differ in length.
pub fn axpy<T: Real>(alpha: f64, x: &[T], y: &mut [T]) {
    init();
    assert_eq!(
        x.len(),
        y.len(),
        "blas: axpy: x has {} elements but y has {}",
        x.len(),
        y.len()
    );
    if x.is_empty() {
        return;
    }
    count(2 * x.len());
    // SAFETY: both slices hold exactly n elements with unit stride; `y` is a unique borrow.
    unsafe { T::axpy_raw(int("n", x.len()), T::from_f64(alpha), x, y) }
}

/// `x *= alpha`.
pub fn scal<T: Real>(alpha: f64, x: &mut [T]) {
    init();
    if x.is_empty() {
        return;
    }
    count(x.len());
    // SAFETY: `x` holds exactly n elements with unit stride.
    unsafe { T::scal_raw(int("n", x.len()), T::from_f64(alpha), x) }
}

/// Euclidean norm of `x`.
pub fn nrm2<T: Real>(x: &[T]) -> f64 {
    init();
    if x.is_empty() {
        return 0.0;
    }
    count(2 * x.len());
    // SAFETY: `x` holds exactly n elements with unit stride.
    unsafe { T::nrm2_raw(int("n", x.len()), x) }.to_f64()
}

#[cfg(blasrnn_openblas)]
unsafe extern "C" {
    fn openblas_set_num_threads(n: std::ffi::c_int);
    fn openblas_get_config() -> *const std::ffi::c_char;
    fn openblas_get_corename() -> *const std::ffi::c_char;
}

#[cfg(blasrnn_blis)]
unsafe extern "C" {
    fn bli_init();
    fn bli_thread_set_num_threads(n: std::ffi::c_long);
    fn bli_arch_query_id() -> std::ffi::c_int;
    fn bli_arch_string(id: std::ffi::c_int) -> *const std::ffi::c_char;
    fn bli_info_get_version_str() -> *const std::ffi::c_char;
}

/// The ids of the BLIS sub-configurations blasrnn chooses among: BLIS 1.0's `arch_t` (blis-src
/// 0.2.2 vendors BLIS 1.0; `frame/include/bli_type_defs.h`). They change between BLIS versions,
/// which is why `blis-src` is pinned, and a test checks each id against BLIS's own name for it.
pub mod blis_arch {
    /// AVX-512 (Skylake-X and later, Zen 4 and later).
    pub const SKX: i32 = 0;
    /// AVX2 + FMA, Intel.
    pub const HASWELL: i32 = 3;
    /// AVX2 + FMA, AMD.
    pub const ZEN3: i32 = 6;
}

/// The BLIS sub-configuration for this CPU: the widest it supports (AVX-512 F/DQ/BW/VL: `skx`;
/// AVX2 + FMA: `zen3` on AMD, `haswell` on Intel), or `None` to leave the choice to BLIS. BLIS
/// 1.0's own detection knows AMD up to Zen 3 and Intel by model: on newer CPUs it falls back to
/// its slow generic kernels.
pub fn blis_choice() -> Option<(i32, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512dq") && has!("avx512bw") && has!("avx512vl") {
            return Some((blis_arch::SKX, "skx"));
        }
        if has!("avx2") && has!("fma") {
            // The vendor string of CPUID leaf 0: "AuthenticAMD" spells "Auth" "enti" "cAMD".
            let leaf = std::arch::x86_64::__cpuid(0);
            let amd = leaf.ebx == u32::from_le_bytes(*b"Auth");
            return Some(if amd {
                (blis_arch::ZEN3, "zen3")
            } else {
                (blis_arch::HASWELL, "haswell")
            });
        }
    }
    None
}

/// Chooses BLIS's kernels for this CPU (see [`blis_choice`]) unless the user set
/// `BLIS_ARCH_TYPE`; a no-op for other backends. Call it first thing, before any BLAS call and
/// before threads start (it sets an environment variable, which BLIS reads once).
pub fn init() {
    #[cfg(blasrnn_blis)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("BLIS_ARCH_TYPE").is_none()
                && let Some((id, _)) = blis_choice()
            {
                // SAFETY: called once, before BLIS is first used (which reads the variable) and,
                // through `main`, before any other thread exists; nothing reads the environment
                // concurrently.
                unsafe { std::env::set_var("BLIS_ARCH_TYPE", id.to_string()) }
            }
        });
    }
}

/// Sets how many threads the BLAS library itself may use for one call. OpenBLAS and BLIS honour
/// it at run time; Accelerate chooses for itself (set `VECLIB_MAXIMUM_THREADS` before start
/// instead).
pub fn set_threads(n: usize) {
    init();
    #[cfg(blasrnn_openblas)]
    // SAFETY: a plain setter of OpenBLAS's global thread count.
    unsafe {
        openblas_set_num_threads(n.max(1) as std::ffi::c_int)
    }
    #[cfg(blasrnn_blis)]
    // SAFETY: a plain setter of BLIS's global thread count.
    unsafe {
        bli_thread_set_num_threads(n.max(1) as std::ffi::c_long)
    }
    #[cfg(not(any(blasrnn_openblas, blasrnn_blis)))]
    let _ = n;
}

/// A C string the library owns, as text.
#[cfg(any(blasrnn_openblas, blasrnn_blis))]
fn text(p: *const std::ffi::c_char) -> String {
    // SAFETY: the libraries return pointers to static NUL-terminated strings.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .trim()
        .to_string()
}

/// BLIS's name of its sub-configuration `id` (`skx`, `zen3`, …).
#[cfg(blasrnn_blis)]
pub fn blis_arch_name(id: i32) -> String {
    // SAFETY: BLIS's idempotent initialisation; it returns a static string for every valid id.
    text(unsafe {
        bli_init();
        bli_arch_string(id)
    })
}

/// The library's own description of its build: OpenBLAS's (version, kernel family, threading);
/// BLIS's version and the sub-configuration that runs, and who chose it.
pub fn config() -> Option<String> {
    init();
    #[cfg(blasrnn_openblas)]
    // SAFETY: a getter of a static string.
    let c = Some(text(unsafe { openblas_get_config() }));
    #[cfg(blasrnn_blis)]
    let c = {
        // SAFETY: BLIS's initialisation (idempotent, thread-safe) and plain getters.
        let (version, id) = unsafe {
            bli_init();
            (text(bli_info_get_version_str()), bli_arch_query_id())
        };
        let who = match (std::env::var("BLIS_ARCH_TYPE"), blis_choice()) {
            (Ok(v), Some((chosen, _))) if v == chosen.to_string() => {
                "chosen by blasrnn for this CPU"
            }
            (Ok(_), _) => "set by BLIS_ARCH_TYPE",
            (Err(_), _) => "BLIS's own detection",
        };
        Some(format!(
            "BLIS {version}, sub-configuration {} ({who})",
            blis_arch_name(id)
        ))
    };
    #[cfg(not(any(blasrnn_openblas, blasrnn_blis)))]
    let c = None;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(blasrnn_blis)]
    #[test]
    fn blis_ids_name_the_intended_sub_configurations() {
        assert_eq!(blis_arch_name(blis_arch::SKX), "skx");
        assert_eq!(blis_arch_name(blis_arch::HASWELL), "haswell");
        assert_eq!(blis_arch_name(blis_arch::ZEN3), "zen3");
        // What runs is what blasrnn chose for this CPU (unless the user chose).
        let c = config().unwrap();
        if let Some((_, name)) = blis_choice()
            && !c.contains("set by BLIS_ARCH_TYPE")
        {
            let want = format!("sub-configuration {name} (chosen by blasrnn for this CPU)");
            assert!(c.contains(&want), "{c}");
        }
    }

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
        for (m, n, k, (ta, tb), pad) in
            [(5, 7, 3), (1, 7, 3), (1, 4, 1)].into_iter().flat_map(|s| {
                OPS.into_iter()
                    .flat_map(move |o| [0, 2].map(|pad| (s.0, s.1, s.2, o, pad)))
            })
        {
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
    fn openblas_versions_are_read_from_its_configuration() {
        let v = |s| openblas_version(s);
        assert_eq!(
            v("OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH"),
            Some((0, 3, 21))
        );
        assert_eq!(v("OpenBLAS 0.3.30.dev DYNAMIC_ARCH"), Some((0, 3, 30)));
        assert_eq!(v("OpenBLAS 0.3 x"), Some((0, 3, 0)));
        assert!(v("OpenBLAS 0.3.8").unwrap() < (0, 3, 17));
        assert_eq!(v("BLIS 1.0"), None);
        assert_eq!(v("OpenBLAS x.y"), None);
    }

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
}
