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

mod split;

pub use split::{Units, for_ranges, for_units};
pub(super) use split::{split_gemv, split_product};
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

/// Elementwise jobs touching fewer elements than this run on the leader alone.
pub const MIN_SPLIT_WORK: usize = 2048;

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
