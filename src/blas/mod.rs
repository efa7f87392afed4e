//! The only `unsafe` code in the crate: safe, shape-checked wrappers around CBLAS.
//!
//! Every matrix is row-major. A matrix with `rows` rows and `cols` columns stored with leading
//! dimension `ld` (the distance between the starts of two rows, `ld >= cols`) needs
//! `(rows - 1) * ld + cols` elements; every wrapper checks that each slice is at least that long and
//! panics with a message naming the operand otherwise, before BLAS ever sees a pointer.
//!
//! - this module: the wrappers (`gemm`, `gemm_within`, `gemm_xwt`, `gemv`, `axpy`, `scal`,
//!   `nrm2`) and the count of the FLOPs they were asked for;
//! - [`flush`](mod@flush): subnormal numbers flushed to zero on the threads that compute;
//! - [`cut`](mod@cut): the rule that cuts a product into pieces for OpenBLAS's small-matrix kernels;
//! - `backend`: the linked library (one per build), its FFI, its thread count and its own
//!   description of itself, BLIS's kernel choice.

mod backend;
pub mod cut;
pub mod flush;
pub mod team;
mod weights;

pub use backend::{
    Blas, backend, blis_choice, config, init, openblas_version, set_threads, small_kernels_linked,
};
#[cfg(blasrnn_blis)]
pub use backend::{blis_arch, blis_arch_name};
pub use cut::{Axis, Cutting, cutting, set_cutting, small_pieces};
pub use flush::{FlushScope, flushing};
pub use team::Team;
pub use weights::{gemm_xwt, transpose, weight_operand};

/// Whether an operand of [`gemm`] is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Use the matrix as stored.
    N,
    /// Use its transpose.
    T,
}

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
pub fn gemm<T: Blas>(
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
    gemm_grouped(1, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

/// [`gemm`] whose n columns are `groups` groups of n / `groups` (a cell's gates, each H wide).
/// Made by a [`Team`], each member takes the same units of every group: the columns whose
/// elementwise work [`team::for_units`] gives it. Alone, the same as `gemm`.
///
/// # Panics
/// As [`gemm`]; when n is not a multiple of `groups`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_grouped<T: Blas>(
    groups: usize,
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
    assert!(
        groups >= 1 && n % groups == 0,
        "blas: gemm: {n} columns are not {groups} groups"
    );
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
        let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
        // SAFETY: as for the product: `a` holds k elements at stride incx (checked as op(A),
        // 1×k), `b` its k×n (checked), `c` n elements of its first row; `c` is a unique borrow.
        let shared = unsafe {
            team::split_gemv(
                tv,
                rows,
                cols,
                alpha,
                b.as_ptr(),
                ldb,
                a.as_ptr(),
                incx,
                beta,
                c.as_mut_ptr(),
            )
        };
        if shared {
            return;
        }
        // SAFETY: as above.
        unsafe {
            T::gemv_raw(
                tv,
                int("rows", rows),
                int("cols", cols),
                alpha,
                b.as_ptr(),
                int("ldb", ldb),
                a.as_ptr(),
                int("lda", incx),
                beta,
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
        shared_product(
            shape,
            groups,
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
pub fn gemm_within<T: Blas>(
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
        shared_product(
            shape,
            1,
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

/// [`product`], split across the team this thread leads when there is one and the product is
/// large enough ([`team`]); C's columns are `groups` groups split alike (see [`gemm_grouped`]).
///
/// # Safety
/// As [`product_cut`].
unsafe fn shared_product<T: Blas>(
    sh: Shape,
    groups: usize,
    alpha: T,
    a: *const T,
    b: *const T,
    beta: T,
    c: *mut T,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if !team::split_product(sh, groups, alpha, a, b, beta, c) {
            product(sh, alpha, a, b, beta, c)
        }
    }
}

/// `C = alpha·op(A)·op(B) + beta·C` through CBLAS: one call, or one call per piece of the cut
/// [`small_pieces`] gives when [`cutting`] is on.
///
/// # Safety
/// As [`product_cut`].
unsafe fn product<T: Blas>(sh: Shape, alpha: T, a: *const T, b: *const T, beta: T, c: *mut T) {
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
unsafe fn product_cut<T: Blas>(
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

/// `y = alpha · op(A) · x + beta · y` with `A` stored `rows × cols` (leading dimension `lda`).
///
/// For `Op::N`, `x` has `cols` elements and `y` has `rows`; for `Op::T` the other way round. With
/// `Op::T` and `x` all ones this sums the rows of `A` (bias gradients).
///
/// # Panics
/// When a slice is too short for the shape.
#[allow(clippy::too_many_arguments)]
pub fn gemv<T: Blas>(
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
    let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
    // SAFETY: the lengths of `a`, `x` and `y` were checked above for these shapes; `y` is a unique
    // borrow.
    let shared = unsafe {
        team::split_gemv(
            ta,
            rows,
            cols,
            alpha,
            a.as_ptr(),
            lda,
            x.as_ptr(),
            1,
            beta,
            y.as_mut_ptr(),
        )
    };
    if shared {
        return;
    }
    // SAFETY: as above.
    unsafe {
        T::gemv_raw(
            ta,
            int("rows", rows),
            int("cols", cols),
            alpha,
            a.as_ptr(),
            int("lda", lda),
            x.as_ptr(),
            1,
            beta,
            y.as_mut_ptr(),
            1,
        )
    }
}

/// `y += alpha · x`.
///
/// # Panics
/// When `x` and `y` differ in length.
pub fn axpy<T: Blas>(alpha: f64, x: &[T], y: &mut [T]) {
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
pub fn scal<T: Blas>(alpha: f64, x: &mut [T]) {
    init();
    if x.is_empty() {
        return;
    }
    count(x.len());
    // SAFETY: `x` holds exactly n elements with unit stride.
    unsafe { T::scal_raw(int("n", x.len()), T::from_f64(alpha), x) }
}

/// Euclidean norm of `x`.
pub fn nrm2<T: Blas>(x: &[T]) -> f64 {
    init();
    if x.is_empty() {
        return 0.0;
    }
    count(2 * x.len());
    // SAFETY: `x` holds exactly n elements with unit stride.
    unsafe { T::nrm2_raw(int("n", x.len()), x) }.to_f64()
}

#[cfg(test)]
mod tests;
