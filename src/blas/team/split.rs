//! A team's shares of one product ([`split_product`], [`split_gemv`]) and of elementwise work
//! ([`for_units`], [`for_ranges`]): each member's block of the output, computed while the leader
//! waits.

use super::super::{Blas, Shape};
use super::{Inner, block, current};
use std::ops::Range;

/// Raw pointers moved into a job (the job's contract is the caller's).
#[derive(Clone, Copy)]
struct Ptrs<T>(*const T, *const T, *mut T);
// SAFETY: the pointers are only dereferenced by BLAS calls on disjoint blocks of the output,
// while the call that made them waits.
unsafe impl<T> Send for Ptrs<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Ptrs<T> {}

impl<T> Ptrs<T> {
    /// The pointers (a method, so that a closure captures the whole `Ptrs`, not its fields).
    fn get(self) -> (*const T, *const T, *mut T) {
        (self.0, self.1, self.2)
    }
}

/// Which dimension of a product's output to split across the team: the longer one, so that
/// the operand every member reads whole (and packs, for a large product) is the smaller. A
/// recurrent step's product, a batch of rows against a weight, is split along n (columns of C
/// and of op(B): each member keeps its part of the weight); a product over all the rows of a
/// batch (the input projection, the weight gradients), along m. Each block gets at least the
/// team's alignment of columns, or a row; `None` when the product is too small to share.
fn axis(team: &Inner, m: usize, n: usize, k: usize) -> Option<super::super::Axis> {
    let p = team.size;
    if m.saturating_mul(n).saturating_mul(k) < team.min_mnk {
        None
    } else if n >= m && n >= p * team.align {
        Some(super::super::Axis::N)
    } else if m >= p {
        Some(super::super::Axis::M)
    } else if n >= p * team.align {
        Some(super::super::Axis::N)
    } else {
        None
    }
}

/// `C = alpha·op(A)·op(B) + beta·C` split across the current team, if there is one and the
/// product is large enough; returns whether it was made.
///
/// # Safety
/// As [`super::super::product_cut`]: the pointers cover the elements `sh` addresses and `c` overlaps
/// neither `a` nor `b`.
pub(in crate::blas) unsafe fn split_product<T: Blas>(
    sh: Shape,
    groups: usize,
    alpha: T,
    a: *const T,
    b: *const T,
    beta: T,
    c: *mut T,
) -> bool {
    let Some(team) = current() else {
        return false;
    };
    let p = team.size;
    if groups > 1 {
        // SAFETY: the caller's contract, passed on.
        return unsafe { split_grouped(team, sh, groups, alpha, a, b, beta, c) };
    }
    let Some(along) = axis(team, sh.m, sh.n, sh.k) else {
        return false;
    };
    let ptrs = Ptrs(a, b, c);
    let align = team.align;
    let job = move |j: usize| {
        let (a, b, c) = ptrs.get();
        let (m, n) = (sh.m, sh.n);
        let (r, piece) = match along {
            super::super::Axis::N => {
                let r = block(n, p, j, align);
                let off_b = match sh.tb {
                    super::super::Op::N => r.start,
                    super::super::Op::T => r.start * sh.ldb,
                };
                (r.clone(), (0, off_b, r.start, m, r.len()))
            }
            _ => {
                let r = block(m, p, j, 1);
                let off_a = match sh.ta {
                    super::super::Op::N => r.start * sh.lda,
                    super::super::Op::T => r.start,
                };
                (r.clone(), (off_a, 0, r.start * sh.ldc, r.len(), n))
            }
        };
        if r.is_empty() {
            return;
        }
        let (off_a, off_b, off_c, pm, pn) = piece;
        let part = Shape { m: pm, n: pn, ..sh };
        // SAFETY: the block addresses a sub-block of each operand (rows or columns `r` of C and
        // the matching rows of op(A) or columns of op(B)); blocks of C are disjoint, so no two
        // threads write one element, and C overlaps neither A nor B (the caller's contract).
        unsafe {
            super::super::product(part, alpha, a.add(off_a), b.add(off_b), beta, c.add(off_c))
        }
    };
    team.run(&job);
    true
}

/// [`split_product`] of a product whose n columns are `groups` groups of `h = n / groups` (a
/// cell's gates): member j makes columns [`block`]`(h, p, j, align)` of every group, the units
/// its [`for_units`] jobs own. Returns whether it was made.
///
/// # Safety
/// As [`split_product`].
#[allow(clippy::too_many_arguments)]
unsafe fn split_grouped<T: Blas>(
    team: &Inner,
    sh: Shape,
    groups: usize,
    alpha: T,
    a: *const T,
    b: *const T,
    beta: T,
    c: *mut T,
) -> bool {
    let (p, h, align) = (team.size, sh.n / groups, team.align);
    if sh.m.saturating_mul(sh.n).saturating_mul(sh.k) < team.min_mnk || h < p {
        return false;
    }
    let ptrs = Ptrs(a, b, c);
    let job = move |j: usize| {
        let (a, b, c) = ptrs.get();
        let r = block(h, p, j, align);
        if r.is_empty() {
            return;
        }
        for q in 0..groups {
            let col = q * h + r.start;
            let off_b = match sh.tb {
                super::super::Op::N => col,
                super::super::Op::T => col * sh.ldb,
            };
            let part = Shape { n: r.len(), ..sh };
            // SAFETY: columns `col..col + r.len()` of C and of op(B), all of op(A): sub-blocks of
            // what the caller vouched for; members' columns are disjoint.
            unsafe { super::super::product(part, alpha, a, b.add(off_b), beta, c.add(col)) }
        }
    };
    team.run(&job);
    true
}

/// A buffer of rows, each `groups` groups of `h` columns (a cell's gates `[rows][G·H]`, or its
/// states `[rows][H]` with one group), as one member of a team sees it in a [`for_units`] job:
/// the columns of its own units `u0..u1` of every group, of every row, and nothing else.
pub struct Units<'a, T> {
    ptr: *mut T,
    rows: usize,
    groups: usize,
    h: usize,
    units: Range<usize>,
    _buf: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: a `Units` only reaches its own columns (see `for_units`): other members' views of the
// same buffer reach disjoint elements.
unsafe impl<T: Send> Send for Units<'_, T> {}

impl<'a, T> Units<'a, T> {
    /// The units this view holds.
    pub fn units(&self) -> Range<usize> {
        self.units.clone()
    }

    /// Element offset of group `q` of row `r`'s own columns, after checking both.
    fn at(&self, r: usize, q: usize) -> usize {
        assert!(
            r < self.rows && q < self.groups,
            "blas: team units: row {r} group {q} outside {}×{}",
            self.rows,
            self.groups
        );
        (r * self.groups + q) * self.h + self.units.start
    }

    /// Row `r`'s own columns (a buffer of one group).
    pub fn row(&mut self, r: usize) -> &mut [T] {
        let [row] = self.gates(r);
        row
    }

    /// Row `r`'s own columns of each of its `G` groups (`G` must be the buffer's group count).
    pub fn gates<const G: usize>(&mut self, r: usize) -> [&mut [T]; G] {
        assert_eq!(
            G, self.groups,
            "blas: team units: {G} groups asked of {}",
            self.groups
        );
        let n = self.units.len();
        std::array::from_fn(|q| {
            let at = self.at(r, q);
            // SAFETY: `at..at + n` lies inside the buffer (`at` checked the row and group, the
            // units lie in 0..h) and in this member's columns; the groups are disjoint, and the
            // borrow of `self` keeps any other slice of this view from being made meanwhile.
            unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), n) }
        })
    }

    /// Row `r`'s own columns to write and row `other`'s to read (one group; `r ≠ other`).
    pub fn pair(&mut self, r: usize, other: usize) -> (&mut [T], &[T]) {
        assert!(r != other, "blas: team units: row {r} twice");
        let (a, b, n) = (self.at(r, 0), self.at(other, 0), self.units.len());
        // SAFETY: two in-bounds runs of this member's columns in different rows: disjoint.
        unsafe {
            (
                std::slice::from_raw_parts_mut(self.ptr.add(a), n),
                std::slice::from_raw_parts(self.ptr.add(b), n),
            )
        }
    }

    /// Row `r`'s own columns, to read.
    pub fn get(&self, r: usize) -> &[T] {
        let at = self.at(r, 0);
        // SAFETY: in bounds and this member's (see `gates`); shared while `self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.ptr.add(at), self.units.len()) }
    }
}

/// Pointers to buffers moved into a job.
#[derive(Clone, Copy)]
struct Bufs<T, const N: usize>([(*mut T, usize, usize); N]);
// SAFETY: each member makes views of its own columns only (see `for_units`).
unsafe impl<T, const N: usize> Send for Bufs<T, N> {}
// SAFETY: as above.
unsafe impl<T, const N: usize> Sync for Bufs<T, N> {}

impl<T, const N: usize> Bufs<T, N> {
    fn get(self) -> [(*mut T, usize, usize); N] {
        self.0
    }
}

/// Elementwise work on `h` units split across the current team: `job` runs once per member with
/// [`Units`] views of its own units' columns of every buffer in `bufs` (`(buffer, groups)`: rows
/// of `groups · h` numbers) — the units whose gate columns its grouped products
/// ([`gemm_grouped`](super::super::gemm_grouped)) and whose state columns its products along n made, so
/// each member works on what is in its own cache. Run whole on this thread without a team, or
/// when `work` (the elements touched) is too little to share.
///
/// # Panics
/// When a buffer's length is not a whole number of rows.
pub fn for_units<T: Blas, const N: usize>(
    h: usize,
    work: usize,
    bufs: [(&mut [T], usize); N],
    job: impl Fn([Units<'_, T>; N]) + Sync,
) {
    let raw = bufs.map(|(b, groups)| {
        assert!(
            groups >= 1 && h >= 1 && b.len() % (groups * h) == 0,
            "blas: team units: a buffer of {} is not rows of {groups}×{h}",
            b.len()
        );
        (b.as_mut_ptr(), b.len() / (groups * h), groups)
    });
    let views = |units: Range<usize>, raw: [(*mut T, usize, usize); N]| {
        raw.map(|(ptr, rows, groups)| Units {
            ptr,
            rows,
            groups,
            h,
            units: units.clone(),
            _buf: std::marker::PhantomData,
        })
    };
    let team = current().filter(|t| work >= t.min_work && h >= t.size);
    let Some(team) = team else {
        job(views(0..h, raw));
        return;
    };
    let (p, align, bufs) = (team.size, team.align, Bufs(raw));
    team.run(&|j| {
        let units = block(h, p, j, align);
        if !units.is_empty() {
            job(views(units, bufs.get()));
        }
    });
}

/// Work on `len` numbers of each of `bufs` split across the current team in contiguous blocks
/// ([`block`]`(len, p, j, align)`): `job(j, range, slices)` runs once per member j with its range
/// and that range of every buffer (a buffer may also be empty: it stays empty). Run whole on
/// this thread without a team. The blocks, and so the results, depend on the team's size only.
///
/// # Panics
/// When a buffer is neither `len` long nor empty.
pub fn for_ranges<T: Blas, const N: usize>(
    len: usize,
    align: usize,
    bufs: [&mut [T]; N],
    job: impl Fn(usize, Range<usize>, [&mut [T]; N]) + Sync,
) {
    let raw = bufs.map(|b| {
        assert!(
            b.is_empty() || b.len() == len,
            "blas: team ranges: a buffer of {} for {len}",
            b.len()
        );
        (b.as_mut_ptr(), b.len(), 0)
    });
    let Some(team) = current() else {
        // SAFETY: each pointer and length come from one of the unique borrows in `bufs`.
        job(
            0,
            0..len,
            raw.map(|(ptr, n, _)| unsafe { std::slice::from_raw_parts_mut(ptr, n) }),
        );
        return;
    };
    let (p, bufs) = (team.size, Bufs(raw));
    team.run(&|j| {
        let r = block(len, p, j, align);
        let parts = bufs.get().map(|(ptr, n, _)| {
            let r = if n == 0 { 0..0 } else { r.clone() };
            // SAFETY: range `r` of a buffer of `n` elements (or nothing of an empty one): the
            // members' ranges are disjoint, and the borrow in `bufs` lasts until all are done.
            unsafe { std::slice::from_raw_parts_mut(ptr.add(r.start), r.len()) }
        });
        job(j, r, parts);
    });
}

/// `y = alpha·op(A)·x + beta·y` (A stored rows×cols, leading dimension `lda`; `x` at stride
/// `incx`, `y` contiguous) split across the current team by blocks of `y`; returns whether it
/// was made.
///
/// # Safety
/// `a` covers rows×cols at `lda`, `x` its elements at `incx`, `y` its; `y` overlaps neither.
#[allow(clippy::too_many_arguments)]
pub(in crate::blas) unsafe fn split_gemv<T: Blas>(
    ta: super::super::Op,
    rows: usize,
    cols: usize,
    alpha: T,
    a: *const T,
    lda: usize,
    x: *const T,
    incx: usize,
    beta: T,
    y: *mut T,
) -> bool {
    let Some(team) = current() else {
        return false;
    };
    let p = team.size;
    let out = match ta {
        super::super::Op::N => rows,
        super::super::Op::T => cols,
    };
    if rows * cols < team.min_mnk || out < p * team.align {
        return false;
    }
    let (ptrs, align) = (Ptrs(a, x, y), team.align);
    let job = move |j: usize| {
        let (a, x, y) = ptrs.get();
        let r = block(out, p, j, align);
        if r.is_empty() {
            return;
        }
        let (pr, pc, off_a) = match ta {
            super::super::Op::N => (r.len(), cols, r.start * lda),
            super::super::Op::T => (rows, r.len(), r.start),
        };
        // SAFETY: block `r` of y and the rows (N) or columns (T) of A that make it: sub-blocks of
        // what the caller vouched for; the blocks of y are disjoint.
        unsafe {
            T::gemv_raw(
                ta,
                super::super::int("rows", pr),
                super::super::int("cols", pc),
                alpha,
                a.add(off_a),
                super::super::int("lda", lda),
                x,
                super::super::int("incx", incx),
                beta,
                y.add(r.start),
                1,
            )
        }
    };
    team.run(&job);
    true
}
