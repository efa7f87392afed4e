//! The trainer's worker threads: a `rayon` pool, the shards of a step forked across it without
//! allocating, and helpers kept awake while a training loop runs.
//!
//! A step is short (about 1.3 ms for the seed model on two threads) and its serial part — the
//! reduction, the clip, the optimizer — leaves the other threads idle for tens of µs. Left alone,
//! an idle `rayon` thread yields a few dozen times, then parks, and the next step's fork must wake
//! it (and the forking thread, which parks too while it waits for the other shards); on the
//! development machine, a virtual one, that cost about a tenth of the seed model's step. So:
//! - [`keep_awake`] runs a loop with every other pool thread *kept*: looking for work
//!   ([`rayon::yield_now`]) without parking, for up to [`SPIN`] after the last job, then napping
//!   [`NAP`] at a time until the loop ends;
//! - [`each`] runs shard 0 on the calling thread and waits for the other shards by polling, so the
//!   caller never parks either.
//!
//! Neither changes which thread computes which shard's numbers, nor the order they are summed in:
//! results stay bit-identical for a seed and a thread count. Every piece of work handed to a pool
//! thread runs with the flush setting of the thread that handed it over
//! ([`crate::blas::flush`]), as the teams' members do.

use crate::blas::team::block;
use crate::blas::{FlushScope, Team, flushing};
use crate::error::Error;
use crate::real::Real;
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a kept thread polls for work after its last job before it starts to nap.
pub const SPIN: Duration = Duration::from_millis(5);

/// A kept thread's sleep between polls once it has been idle for [`SPIN`].
pub const NAP: Duration = Duration::from_micros(100);

/// A pool of `threads` worker threads, all started (each allocates its queues as it starts: no
/// step pays for it), or [`Error::Threads`] for the first thread the OS refused.
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, Error> {
    pool_spawning(threads, |t| {
        std::thread::Builder::new().spawn(|| t.run()).map(drop)
    })
}

/// [`pool`], each thread started by `spawn` ([`pool`]'s starts a plain `std` thread, as rayon's
/// default does; a test passes one that fails).
fn pool_spawning(
    threads: usize,
    spawn: impl FnMut(rayon::ThreadBuilder) -> std::io::Result<()>,
) -> Result<rayon::ThreadPool, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .spawn_handler(spawn)
        .build()
        .map_err(|e| Error::Threads {
            threads,
            reason: e.to_string(),
        })?;
    pool.broadcast(|_| ());
    Ok(pool)
}

/// The threads of a trainer or an evaluation: `groups` workers, each taking a shard of a batch's
/// rows on its own thread, each shard's products split across a [`Team`] of `team` threads
/// (see [`crate::blas::team`]): `groups · team` threads in all.
pub struct Crew {
    pool: Option<Arc<rayon::ThreadPool>>,
    teams: Vec<Team>,
}

impl Crew {
    /// `groups` shards of `team` threads each.
    ///
    /// # Errors
    /// [`Error::Threads`] when the operating system refuses to start a thread.
    pub fn new(groups: usize, team: usize) -> Result<Crew, Error> {
        let (groups, team) = (groups.max(1), team.max(1));
        let pool = match groups {
            1 => None,
            n => Some(Arc::new(pool(n)?)),
        };
        let teams = (0..groups)
            .map(|_| Team::new(team))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::Threads {
                threads: groups * team,
                reason: e.to_string(),
            })?;
        Ok(Crew { pool, teams })
    }

    /// One shard on this thread, measuring what one member of a team of `team` does (see
    /// [`Team::share`]).
    pub(crate) fn share(team: usize) -> Crew {
        Crew {
            pool: None,
            teams: vec![Team::share(team)],
        }
    }

    /// The teams' meetings so far, all teams together.
    pub fn meetings(&self) -> usize {
        self.teams.iter().map(Team::meetings).sum()
    }

    /// Shards (workers) a batch is cut into.
    pub fn groups(&self) -> usize {
        self.teams.len()
    }

    /// Threads each shard's products are split across.
    pub fn team(&self) -> usize {
        self.teams[0].size()
    }

    /// Runs `f(i, worker i)` for every worker as [`each`] does, each inside its team.
    ///
    /// # Panics
    /// When there are not [`Crew::groups`] workers.
    pub fn each<W: Send>(&self, workers: &mut [W], f: impl Fn(usize, &mut W) + Sync) {
        assert_eq!(workers.len(), self.teams.len(), "one worker per shard");
        let teams = &self.teams;
        each(self.pool.as_deref(), workers, |i, w| {
            teams[i].enter(|| f(i, w))
        });
    }

    /// Work on `len` numbers of each of `bufs` split across every thread of the crew: contiguous
    /// ranges (multiples of `align`) for each shard's team, split again within the team (see
    /// [`crate::blas::team::for_ranges`]). `job(k, range, slices)` runs once per thread k (`0 ..
    /// groups · team`) with its range of every buffer (empty buffers stay empty). The ranges
    /// depend on the crew's layout only.
    pub fn for_ranges<T: Real, const N: usize>(
        &self,
        len: usize,
        align: usize,
        bufs: [&mut [T]; N],
        job: impl Fn(usize, std::ops::Range<usize>, [&mut [T]; N]) + Sync,
    ) {
        let groups = self.groups();
        let job = &job;
        // Groups `lo..hi` over elements `at..` of `bufs`, halved until one group is left.
        fn split<T: Real, const N: usize>(
            crew: &Crew,
            lo: usize,
            hi: usize,
            at: usize,
            (len, align, flush): (usize, usize, bool),
            bufs: [&mut [T]; N],
            job: &(impl Fn(usize, std::ops::Range<usize>, [&mut [T]; N]) + Sync),
        ) {
            let groups = crew.groups();
            let edge = |g: usize| block(len, groups, g, align).start.min(len);
            let end = if hi == groups { len } else { edge(hi) };
            if hi - lo == 1 {
                let team = crew.team();
                let _flush = FlushScope::new(flush);
                crew.teams[lo].enter(|| {
                    crate::blas::team::for_ranges(end - at, align, bufs, |j, r, parts| {
                        job(lo * team + j, at + r.start..at + r.end, parts)
                    })
                });
                return;
            }
            let mid = lo + (hi - lo) / 2;
            let cut = edge(mid) - at;
            let mut left = [const { None }; N];
            let mut right = [const { None }; N];
            for (i, b) in bufs.into_iter().enumerate() {
                let (l, r) = if b.is_empty() {
                    b.split_at_mut(0)
                } else {
                    b.split_at_mut(cut)
                };
                (left[i], right[i]) = (Some(l), Some(r));
            }
            let (left, right) = (left.map(Option::unwrap), right.map(Option::unwrap));
            let sizes = (len, align, flush);
            let lo_half = || split(crew, lo, mid, at, sizes, left, job);
            let hi_half = || split(crew, mid, hi, at + cut, sizes, right, job);
            rayon::join(lo_half, hi_half);
        }
        // Every thread computes with this one's flush setting (see `crate::blas::flush`).
        let sizes = (len, align, flushing());
        match &self.pool {
            Some(pool) => pool.install(|| split(self, 0, groups, 0, sizes, bufs, job)),
            None => split(self, 0, 1, 0, sizes, bufs, job),
        }
    }

    /// Runs `f` with the shards' threads kept awake (see [`keep_awake`]); on this thread when
    /// there is one shard.
    pub fn keep_awake<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => keep_awake(p, f),
            None => f(),
        }
    }
}

/// Runs `f(worker index, worker)` on every worker: worker 0 on this thread, the others in
/// parallel on `pool` when there is one. Allocation-free (`rayon`'s fork-join keeps its jobs on
/// the stack).
pub fn each<W: Send>(
    pool: Option<&rayon::ThreadPool>,
    workers: &mut [W],
    f: impl Fn(usize, &mut W) + Sync,
) {
    let Some(pool) = pool.filter(|_| workers.len() > 1) else {
        workers.iter_mut().enumerate().for_each(|(i, w)| f(i, w));
        return;
    };
    let (first, rest) = workers.split_at_mut(1);
    let (others, done) = (rest.len(), AtomicUsize::new(0));
    // Every shard computes with this thread's flush setting (see `crate::blas::flush`).
    let flush = flushing();
    pool.install(|| {
        let _flush = FlushScope::new(flush);
        rayon::join(
            || {
                f(0, &mut first[0]);
                // Poll rather than block in `join`, which parks after a few dozen rounds. Polling
                // runs our own queued jobs too: the other shards, when no thread has taken them.
                while done.load(Ordering::Acquire) < others {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::thread::yield_now();
                    }
                }
            },
            || {
                rest.par_iter_mut().enumerate().for_each(|(i, w)| {
                    // Counted even when `f` panics, so that the panic reaches the caller.
                    let _done = OnDrop(|| {
                        done.fetch_add(1, Ordering::Release);
                    });
                    let _flush = FlushScope::new(flush);
                    f(i + 1, w);
                })
            },
        )
    });
}

/// Runs `f` on one of `pool`'s threads with every other thread of the pool kept awake (polling
/// for work instead of parking; see the module's documentation) until `f` returns.
pub fn keep_awake<R: Send>(pool: &rayon::ThreadPool, f: impl FnOnce() -> R + Send) -> R {
    let flush = flushing();
    pool.install(|| {
        let _flush = FlushScope::new(flush);
        let home = rayon::current_thread_index();
        let others = rayon::current_num_threads() - 1;
        let (started, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
        let (r, _) = rayon::join(
            || {
                // Start only once every other thread is kept, so that nothing the keepers set up
                // (`broadcast` allocates) happens inside `f`. Do not run queued jobs meanwhile:
                // the queued job is the broadcast itself, which only returns once `stop` is set.
                while started.load(Ordering::Acquire) < others {
                    std::thread::yield_now();
                }
                // Set even when `f` panics, so that the keepers end and the panic goes on.
                let _stop = OnDrop(|| stop.store(true, Ordering::Release));
                f()
            },
            || {
                rayon::broadcast(|_| {
                    // This thread runs `f`; it only ever meets its copy while waiting.
                    if rayon::current_thread_index() != home {
                        started.fetch_add(1, Ordering::Release);
                        keep(&stop);
                    }
                })
            },
        );
        r
    })
}

/// Runs a closure when dropped: on the way out of a scope, normally or unwinding.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Runs whatever work the pool has until `stop` is set: polling while work came in the last
/// [`SPIN`], napping [`NAP`] at a time after that.
fn keep(stop: &AtomicBool) {
    let mut idle_since: Option<Instant> = None;
    while !stop.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            idle_since = None;
        } else if idle_since.get_or_insert_with(Instant::now).elapsed() < SPIN {
            // Gives the core away if another thread wants it, returns at once if none does.
            std::thread::yield_now();
        } else {
            std::thread::sleep(NAP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::layout;

    /// The rule's layouts: shards alone while they keep 4 rows, then the smallest teams that
    /// keep them so, never narrower than 64 units a member.
    #[test]
    fn the_layout_rule() {
        use crate::network::{Network, NetworkConfig, Task};
        use crate::nn::cell::CellKind;
        let net = |hidden| {
            Network::<f32>::new(NetworkConfig {
                patch: 1,
                cell: CellKind::Lstm,
                input: 65,
                hidden,
                layers: 2,
                bidirectional: false,
                task: Task::NextToken,
            })
        };
        let (lm, seed) = (net(256), net(50));
        for (threads, batch, want) in [
            (1, 64, (1, 1)),
            (2, 64, (2, 1)),
            (16, 64, (16, 1)),
            (32, 64, (16, 2)),
            (64, 64, (16, 4)),
            (128, 64, (32, 4)),
            (6, 10, (2, 3)),
            (2, 1, (1, 2)),
        ] {
            assert_eq!(
                layout(threads, batch, &lm),
                want,
                "{threads} threads, batch {batch}"
            );
        }
        assert_eq!(layout(64, 100, &seed), (64, 1));
        assert_eq!(layout(3, 2, &seed), (3, 1));
    }

    /// Every thread of a crew — the shards' pool threads and their teams' members — computes with
    /// the flush setting of the thread that hands it the work, whichever that is, and the
    /// caller's setting is its own again afterwards.
    #[test]
    fn every_thread_computes_with_the_callers_flush_setting() {
        use crate::blas::flush::{FlushScope, SUPPORTED, control_register, flushing};
        let crew = Crew::new(2, 2).unwrap();
        let before = control_register();
        for flush in [true, false, true] {
            let _scope = FlushScope::new(flush);
            let seen: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
            let mark = |k: usize| seen[k].store(1 + usize::from(flushing()), Ordering::SeqCst);
            let mut buf = vec![0.0f32; 4096];
            crew.keep_awake(|| {
                crew.for_ranges(buf.len(), 1, [&mut buf], |k, _, _| mark(k));
            });
            let want = 1 + usize::from(flush && SUPPORTED);
            let got: Vec<usize> = seen.iter().map(|s| s.load(Ordering::SeqCst)).collect();
            assert_eq!(
                got, [want; 4],
                "flush {flush}: (1 kept, 2 flushed) per thread"
            );
            // The shards, until shard 1 has run on the other thread (as it does when that
            // thread is kept awake and takes it while this one works on shard 0).
            let apart = crew.keep_awake(|| {
                (0..200).any(|_| {
                    let mut shards = [(0usize, None); 2];
                    crew.each(&mut shards, |_, s| {
                        (0..1_000_000u64).map(std::hint::black_box).sum::<u64>();
                        *s = (1 + usize::from(flushing()), rayon::current_thread_index());
                    });
                    assert_eq!(
                        [shards[0].0, shards[1].0],
                        [want; 2],
                        "flush {flush}: shards"
                    );
                    shards[0].1 != shards[1].1
                })
            });
            assert!(apart, "the shards never ran on two threads");
            assert_eq!(flushing(), flush && SUPPORTED);
        }
        assert_eq!(control_register(), before);
    }

    /// Every worker is visited exactly once, with its own index, with and without a pool, inside
    /// and outside `keep_awake`, for more workers than threads too.
    #[test]
    fn each_visits_every_worker_once() {
        for threads in [1, 2, 3] {
            let p = (threads > 1).then(|| pool(threads).unwrap());
            for n in 1..=5 {
                let mut seen = vec![(usize::MAX, 0usize); n];
                each(p.as_ref(), &mut seen, |i, s| *s = (i, s.1 + 1));
                assert_eq!(seen, (0..n).map(|i| (i, 1)).collect::<Vec<_>>());
                if let Some(p) = &p {
                    let mut seen = vec![0usize; n];
                    let r = keep_awake(p, || {
                        for _ in 0..50 {
                            each(Some(p), &mut seen, |i, s| *s += i + 1);
                        }
                        7
                    });
                    assert_eq!(r, 7);
                    assert_eq!(seen, (0..n).map(|i| 50 * (i + 1)).collect::<Vec<_>>());
                }
            }
        }
    }

    /// Inside `keep_awake` the shards run on different threads: another thread is polling
    /// when the shards are forked and takes shard 1 while this one works on shard 0 (a serial
    /// `each` would run both on one).
    #[test]
    fn shards_run_in_parallel_when_kept() {
        let p = pool(2).unwrap();
        let apart = keep_awake(&p, || {
            (0..200)
                .filter(|_| {
                    let mut threads = [None; 2];
                    each(Some(&p), &mut threads, |_, t| {
                        *t = rayon::current_thread_index();
                        // Some work (about 0.3 ms), so that shard 0 is not over before the
                        // other thread, sharing the cores with other tests, could take shard 1.
                        (0..1_000_000u64).map(std::hint::black_box).sum::<u64>();
                    });
                    threads[0] != threads[1]
                })
                .count()
        });
        assert!(apart > 0, "the shards never ran on two threads");
    }

    /// A panic in any shard, or in the kept loop, reaches the caller instead of leaving a
    /// thread waiting for ever.
    #[test]
    fn panics_reach_the_caller() {
        let p = pool(2).unwrap();
        for bad in 0..3 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                keep_awake(&p, || {
                    let mut w = [0u8; 3];
                    each(Some(&p), &mut w, |i, _| assert_ne!(i, bad, "shard {i}"));
                })
            }));
            assert!(r.is_err(), "shard {bad}'s panic was lost");
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            keep_awake(&p, || panic!("in the loop"))
        }));
        assert!(r.is_err());
        // The pool still works afterwards.
        let mut w = [0usize; 2];
        keep_awake(&p, || each(Some(&p), &mut w, |i, x| *x = i + 1));
        assert_eq!(w, [1, 2]);
    }

    /// A thread the OS refuses is a one-line error naming the count and the OS's reason, not a
    /// panic, and a pool can be built afterwards.
    #[test]
    fn a_refused_thread_is_an_error() {
        let mut started = 0;
        let r = pool_spawning(3, |t| {
            started += 1;
            if started == 2 {
                return Err(std::io::Error::other("no more threads"));
            }
            std::thread::Builder::new().spawn(|| t.run()).map(drop)
        });
        let e = r.expect_err("the refused thread went unnoticed");
        assert!(matches!(e, Error::Threads { threads: 3, .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.starts_with("cannot start 3 worker threads ("), "{msg}");
        assert!(msg.contains("no more threads"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        let mut w = [0usize; 2];
        let p = pool(2).unwrap();
        keep_awake(&p, || each(Some(&p), &mut w, |i, x| *x = i + 1));
        assert_eq!(w, [1, 2]);
    }
}
