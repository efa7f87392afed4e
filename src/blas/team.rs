//! Teams: one thread's products split across several, for batches too small to cut into shards
//! of their own (one stream of generated text; a few streams per thread on a many-core machine).
//!
//! A [`Team`] of P threads is its leader (the thread that calls [`Team::enter`]) and P − 1
//! members it starts once and keeps. Inside `enter`, every product the leader asks this module for
//! ([`gemm`](super::gemm), [`gemm_within`](super::gemm_within), [`gemv`](super::gemv)) that is
//! large enough is split into P blocks of the output: member j computes block j, the leader block
//! 0, and the call returns when all are done. So one step of a recurrence is P threads meeting
//! once: the members are spinning while the leader runs the step's other work.
//!
//! Block j of a product is always the same part of its output, so it always reads the same part
//! of the weight: member j's slice of `weight_hh` (the rows of its gate columns in a forward step,
//! the columns of its units in a backward one) stays in its own cache from step to step, as
//! DeepCPU (Zhang et al., USENIX ATC 2018) keeps each core's share of an RNN's weights. Every
//! element of an output is computed by one thread, over the same inner dimension in the same
//! order whatever the timing: results are bit-identical for a team size, and differ from another
//! size's only where the blocks' kernels round differently.
//!
//! Waiting members poll without sleeping for [`SPIN`] after their last block (steps come every
//! few µs), then yield, then park until the leader posts again; nothing is allocated per product.

use super::{Blas, Shape};
use std::cell::{Cell, UnsafeCell};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long a waiting member polls without sleeping after its last block.
pub const SPIN: Duration = Duration::from_millis(5);

/// How long a member parks at a time once it has waited longer than [`SPIN`] (the leader wakes
/// it as soon as it posts; the timeout only bounds a missed wake-up).
const PARK: Duration = Duration::from_millis(20);

/// Outputs are split in blocks of whole multiples of this many elements (a cache line of `f32`)
/// where they are long enough, so that no two threads write one line of a row.
pub const ALIGN: usize = 16;

/// Products smaller than this (m·n·k) are made by the leader alone: splitting costs a meeting
/// of the team (about a µs), more than such a product takes.
pub const MIN_SPLIT_MNK: usize = 16 * 1024;

/// A job every member runs with its index, erased to `'static`: [`Inner::run`] waits for every
/// member to finish it before the borrow it came from ends.
type Job = *const (dyn Fn(usize) + Sync + 'static);

/// What the leader and the members share.
struct Inner {
    size: usize,
    /// Blocks are whole multiples of this many elements ([`ALIGN`], or 1 for an eager team).
    align: usize,
    /// Products below this m·n·k and elementwise jobs below this many elements are not split
    /// ([`MIN_SPLIT_MNK`], [`MIN_SPLIT_WORK`], or 0 for an eager team).
    min_mnk: usize,
    min_work: usize,
    /// A [`Team::share`]: no members; the leader makes block 0 of each job alone.
    alone: bool,
    /// Jobs posted so far; a member runs a job when it sees this change.
    posted: AtomicUsize,
    /// Members done with the current job.
    done: AtomicUsize,
    /// The current job: written by the leader only while no member reads it (before posting,
    /// after every member is done with the previous one).
    job: UnsafeCell<Option<Job>>,
    /// A member's job panicked.
    failed: AtomicBool,
    /// Whether the leader flushes subnormals (see [`super::flush`]): the members compute the
    /// current job as it does.
    flush: AtomicBool,
    /// Members that may be parked.
    sleeping: AtomicUsize,
    stop: AtomicBool,
    /// Members running (each counts itself once it has started).
    started: AtomicUsize,
    threads: std::sync::OnceLock<Vec<Thread>>,
}

// SAFETY: `job` is written by the leader only between jobs (see `run`), when no member reads
// it, and read by members only between seeing a job posted (Acquire) and reporting it done
// (Release); every other field is atomic or written once.
unsafe impl Sync for Inner {}
// SAFETY: as above; the job pointer is only dereferenced under that protocol.
unsafe impl Send for Inner {}

/// A leader and its members: see the module's documentation.
pub struct Team {
    inner: Arc<Inner>,
    handles: Vec<JoinHandle<()>>,
}

thread_local! {
    /// The team whose leader this thread is, inside [`Team::enter`].
    static CURRENT: Cell<Option<*const Inner>> = const { Cell::new(None) };
}

impl Team {
    /// A team of `size` threads: the caller of [`Team::enter`] and `size − 1` members started
    /// now (none for a size of 1).
    ///
    /// # Errors
    /// The operating system's reason when it refuses to start a thread.
    pub fn new(size: usize) -> std::io::Result<Team> {
        Team::with_limits(size, ALIGN, MIN_SPLIT_MNK, MIN_SPLIT_WORK)
    }

    /// A team that splits every product and elementwise job it can, however small, in blocks of
    /// any size: slower, but it runs the splits on a test's small models.
    ///
    /// # Errors
    /// As [`Team::new`].
    pub fn eager(size: usize) -> std::io::Result<Team> {
        Team::with_limits(size, 1, 0, 0)
    }

    /// A team of `size` of which only the leader exists: inside [`Team::enter`] every product and
    /// elementwise job is split as a team of `size` splits it, and the leader makes its own block
    /// (member 0's) and nothing else. The numbers are meaningless; the time is what one member
    /// of a real team spends, without the meetings (`bench --scaling` measures it so on a machine
    /// with fewer cores than the team).
    pub fn share(size: usize) -> Team {
        let size = size.max(1);
        Team {
            inner: Arc::new(Inner::new(size, ALIGN, MIN_SPLIT_MNK, MIN_SPLIT_WORK, true)),
            handles: Vec::new(),
        }
    }

    /// Jobs this team's leader has posted (each one meeting of the team) so far.
    pub fn meetings(&self) -> usize {
        self.inner.posted.load(Ordering::Relaxed)
    }

    fn with_limits(
        size: usize,
        align: usize,
        min_mnk: usize,
        min_work: usize,
    ) -> std::io::Result<Team> {
        let size = size.max(1);
        let inner = Arc::new(Inner::new(size, align, min_mnk, min_work, false));
        let mut team = Team {
            inner: inner.clone(),
            handles: Vec::with_capacity(size - 1),
        };
        for j in 1..size {
            let inner = inner.clone();
            let h = std::thread::Builder::new()
                .name(format!("blasrnn-team-{j}"))
                .spawn(move || member(&inner, j))?;
            team.handles.push(h);
        }
        let threads = team.handles.iter().map(|h| h.thread().clone()).collect();
        let _ = inner.threads.set(threads);
        // Return once every member runs, so that nothing a thread does as it starts (it
        // allocates its name, for one) happens during the work the team is made for.
        while inner.started.load(Ordering::Acquire) < size - 1 {
            std::thread::yield_now();
        }
        Ok(team)
    }

    /// Threads in the team, its leader included.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// Runs `f` on this thread with this team splitting its products (see the module's
    /// documentation); a team of one changes nothing. Teams do not nest: inside another team's
    /// `enter`, this one takes over until `f` returns.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        if self.inner.size == 1 {
            return f();
        }
        let before = CURRENT.with(|c| c.replace(Some(Arc::as_ptr(&self.inner))));
        // Restored on the way out, normally or unwinding.
        struct Restore(Option<*const Inner>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(before);
        f()
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        if let Some(threads) = self.inner.threads.get() {
            threads.iter().for_each(Thread::unpark);
        }
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

impl Inner {
    fn new(size: usize, align: usize, min_mnk: usize, min_work: usize, alone: bool) -> Inner {
        Inner {
            size,
            align,
            min_mnk,
            min_work,
            alone,
            posted: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            failed: AtomicBool::new(false),
            flush: AtomicBool::new(false),
            sleeping: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            started: AtomicUsize::new(0),
            threads: std::sync::OnceLock::new(),
        }
    }

    /// Runs `job(j)` on every member j and `job(0)` here; returns when all are done. A panic in
    /// any of them is raised here, after all are done. A [`Team::share`] runs `job(0)` only.
    fn run(&self, job: &(dyn Fn(usize) + Sync)) {
        if self.alone {
            self.posted.fetch_add(1, Ordering::Relaxed);
            return job(0);
        }
        // SAFETY: the lifetime is erased only for the members' copy of the pointer, which they
        // use until they report done; this function waits for every member's report before it
        // returns (also when `job(0)` panics), so `job` outlives every use.
        let erased: Job = unsafe {
            std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), Job>(job as *const _)
        };
        // SAFETY: every member is done with the previous job (the last `run` waited for it), so
        // none reads `job` now.
        unsafe { *self.job.get() = Some(erased) };
        self.flush
            .store(super::flush::flushing(), Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.posted.fetch_add(1, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) > 0
            && let Some(threads) = self.threads.get()
        {
            threads.iter().for_each(Thread::unpark);
        }
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        let others = self.size - 1;
        let mut polls = 0u32;
        while self.done.load(Ordering::Acquire) < others {
            polls = polls.wrapping_add(1);
            if polls % 4096 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        if let Err(p) = mine {
            resume_unwind(p);
        }
        if self.failed.swap(false, Ordering::Relaxed) {
            panic!("a team member's block of a product panicked");
        }
    }
}

/// A member's life: run each posted job with index `j`, wait for the next, until the team ends.
fn member(inner: &Inner, j: usize) {
    inner.started.fetch_add(1, Ordering::Release);
    // This thread's flush setting, which follows the leader's job by job.
    let mut flushing = super::flush::flushing();
    let mut seen = 0;
    let mut idle_since = Instant::now();
    let mut polls = 0u32;
    loop {
        let posted = inner.posted.load(Ordering::Acquire);
        if posted != seen {
            seen = posted;
            // SAFETY: the leader wrote the job before posting it (Release/Acquire above) and
            // leaves it alone until this member reports done below.
            let job = unsafe { (*inner.job.get()).expect("a posted job") };
            let flush = inner.flush.load(Ordering::Relaxed);
            if flush != flushing {
                super::flush::set_flushing(flush);
                flushing = flush;
            }
            // SAFETY: the job's referent lives until every member reports done (see `run`).
            let ok = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(j) })).is_ok();
            if !ok {
                inner.failed.store(true, Ordering::Relaxed);
            }
            inner.done.fetch_add(1, Ordering::Release);
            idle_since = Instant::now();
            polls = 0;
            continue;
        }
        if inner.stop.load(Ordering::Acquire) {
            return;
        }
        polls = polls.wrapping_add(1);
        if polls < 65536 {
            std::hint::spin_loop();
        } else if idle_since.elapsed() < SPIN {
            std::thread::yield_now();
        } else {
            inner.sleeping.fetch_add(1, Ordering::SeqCst);
            if inner.posted.load(Ordering::SeqCst) == seen && !inner.stop.load(Ordering::SeqCst) {
                std::thread::park_timeout(PARK);
            }
            inner.sleeping.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The team this thread leads now, if any.
fn current() -> Option<&'static Inner> {
    // SAFETY: the pointer is set only inside `Team::enter`, whose `&self` keeps the team (and so
    // `Inner`) alive until it is reset on the way out; it is used only on this thread, within
    // that call (the reference does not escape the product that asked for it).
    CURRENT.with(|c| c.get()).map(|p| unsafe { &*p })
}

/// Threads of the team this thread leads now (1 outside any).
pub fn current_size() -> usize {
    current().map_or(1, |t| t.size)
}

/// The part of `0..len` member `j` of `parts` takes: even shares of whole multiples of `align`
/// (the last multiple may be short); empty when there are more parts than multiples.
pub fn block(len: usize, parts: usize, j: usize, align: usize) -> Range<usize> {
    let units = len.div_ceil(align.max(1));
    let at = |i: usize| (units * i / parts * align).min(len);
    at(j)..at(j + 1)
}

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
fn axis(team: &Inner, m: usize, n: usize, k: usize) -> Option<super::Axis> {
    let p = team.size;
    if m.saturating_mul(n).saturating_mul(k) < team.min_mnk {
        None
    } else if n >= m && n >= p * team.align {
        Some(super::Axis::N)
    } else if m >= p {
        Some(super::Axis::M)
    } else if n >= p * team.align {
        Some(super::Axis::N)
    } else {
        None
    }
}

/// `C = alpha·op(A)·op(B) + beta·C` split across the current team, if there is one and the
/// product is large enough; returns whether it was made.
///
/// # Safety
/// As [`super::product_cut`]: the pointers cover the elements `sh` addresses and `c` overlaps
/// neither `a` nor `b`.
pub(super) unsafe fn split_product<T: Blas>(
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
            super::Axis::N => {
                let r = block(n, p, j, align);
                let off_b = match sh.tb {
                    super::Op::N => r.start,
                    super::Op::T => r.start * sh.ldb,
                };
                (r.clone(), (0, off_b, r.start, m, r.len()))
            }
            _ => {
                let r = block(m, p, j, 1);
                let off_a = match sh.ta {
                    super::Op::N => r.start * sh.lda,
                    super::Op::T => r.start,
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
        unsafe { super::product(part, alpha, a.add(off_a), b.add(off_b), beta, c.add(off_c)) }
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
                super::Op::N => col,
                super::Op::T => col * sh.ldb,
            };
            let part = Shape { n: r.len(), ..sh };
            // SAFETY: columns `col..col + r.len()` of C and of op(B), all of op(A): sub-blocks of
            // what the caller vouched for; members' columns are disjoint.
            unsafe { super::product(part, alpha, a, b.add(off_b), beta, c.add(col)) }
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
/// ([`gemm_grouped`](super::gemm_grouped)) and whose state columns its products along n made, so
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

/// Elementwise jobs touching fewer elements than this run on the leader alone.
pub const MIN_SPLIT_WORK: usize = 2048;

/// `y = alpha·op(A)·x + beta·y` (A stored rows×cols, leading dimension `lda`; `x` at stride
/// `incx`, `y` contiguous) split across the current team by blocks of `y`; returns whether it
/// was made.
///
/// # Safety
/// `a` covers rows×cols at `lda`, `x` its elements at `incx`, `y` its; `y` overlaps neither.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn split_gemv<T: Blas>(
    ta: super::Op,
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
        super::Op::N => rows,
        super::Op::T => cols,
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
            super::Op::N => (r.len(), cols, r.start * lda),
            super::Op::T => (rows, r.len(), r.start),
        };
        // SAFETY: block `r` of y and the rows (N) or columns (T) of A that make it: sub-blocks of
        // what the caller vouched for; the blocks of y are disjoint.
        unsafe {
            T::gemv_raw(
                ta,
                super::int("rows", pr),
                super::int("cols", pc),
                alpha,
                a.add(off_a),
                super::int("lda", lda),
                x,
                super::int("incx", incx),
                beta,
                y.add(r.start),
                1,
            )
        }
    };
    team.run(&job);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_length_in_order() {
        for len in [0, 1, 15, 16, 17, 50, 256, 1024, 1025] {
            for parts in 1..=7 {
                let mut next = 0;
                for j in 0..parts {
                    let r = block(len, parts, j, ALIGN);
                    assert_eq!(r.start, next, "{len}/{parts}/{j}");
                    assert!(r.start % ALIGN == 0 || r.is_empty());
                    next = r.end;
                }
                assert_eq!(next, len, "{len}/{parts}");
            }
        }
        assert_eq!(block(1024, 2, 1, 16), 512..1024);
        assert_eq!(block(50, 2, 0, 16), 0..32);
        assert_eq!(block(50, 2, 1, 16), 32..50);
    }

    /// A team runs every member's part exactly once per job, and a member's panic reaches the
    /// leader after all are done; the team is usable afterwards.
    #[test]
    fn jobs_reach_every_member() {
        let team = Team::new(3).unwrap();
        let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..100 {
            team.inner.run(&|j| {
                hits[j].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 100));
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.inner.run(&|j| assert_ne!(j, 2, "member 2"))
        }));
        assert!(r.is_err());
        team.inner.run(&|j| {
            hits[j].fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits[2].load(Ordering::Relaxed), 101);
    }

    /// A member that parked (idle longer than the spin) is woken by the next job.
    #[test]
    fn parked_members_wake() {
        let team = Team::new(2).unwrap();
        let hit = AtomicUsize::new(0);
        team.inner.run(&|_| {
            hit.fetch_add(1, Ordering::Relaxed);
        });
        std::thread::sleep(SPIN + Duration::from_millis(30));
        let start = Instant::now();
        team.inner.run(&|_| {
            hit.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hit.load(Ordering::Relaxed), 4);
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
