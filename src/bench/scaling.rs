//! `bench --scaling`: what P threads would make of a workload, measured on the cores at hand.
//!
//! A training step on P threads is `groups` shards of the batch's rows, each split across a team
//! of `team` threads (`groups · team = P`), then the end of the step (the gradients reduced,
//! clipped and applied) split across all P. What one thread does of it is measured here on one
//! thread, with no other running:
//! - `work`: forward and backward over a shard of `batch / groups` rows, every product and
//!   elementwise loop split as a team of `team` splits it, this thread making member 0's part
//!   alone ([`crate::blas::Team::share`]);
//! - `update`: the end of a step on one thread, of which each of P threads does a P-th, plus,
//!   for `groups` shards, adding `groups − 1` other gradients over its P-th (`reduce`, from the
//!   time of one such addition over the whole buffer);
//! - `meet`: the team's meetings (the count one iteration holds, times the time of one meeting
//!   of two threads measured here, times `team − 1`: a meeting's cost grows with its members)
//!   and the shards' fork and join (the time of one on two threads measured here, times the
//!   depth of the fork, log₂ groups).
//!
//! The projected time of an iteration on P threads is their sum; the speedup, the time on one
//! thread over it. What it leaves out is what only many cores show: memory bandwidth shared by
//! more threads, and caches shared between them. Where the machine has P cores, the real thing is
//! measured beside it.

use crate::blas::Team;
use crate::config::layout;
use crate::error::Result;
use crate::network::NetworkConfig;
use crate::real::Real;
use crate::train::threads::Crew;
use crate::train::{Data, TrainConfig, Trainer};
use std::time::{Duration, Instant};

/// One way of running a workload on `threads` threads, projected and (on as many cores)
/// measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Threads in all.
    pub threads: usize,
    /// Shards of the batch's rows.
    pub groups: usize,
    /// Threads splitting each shard's steps.
    pub team: usize,
    /// Seconds an iteration takes one thread of them: forward and backward of its part.
    pub work: f64,
    /// Its part of the end of the step (reduction, clip, update).
    pub update: f64,
    /// Its meetings with the other threads.
    pub meet: f64,
    /// The projected speedup over one thread: one thread's iteration over `work + update +
    /// meet`.
    pub speedup: f64,
    /// The speedup measured with this many threads, when the machine has the cores.
    pub measured: Option<f64>,
}

/// What `bench --scaling` finds for one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    /// Seconds an iteration takes on one thread.
    pub one_thread: f64,
    /// The part of it that is the end of the step (reduction, clip, update).
    pub one_thread_update: f64,
    /// Seconds one meeting of a team of two takes, measured here.
    pub meeting: f64,
    /// Seconds one fork and join of two shards takes, measured here.
    pub fork: f64,
    /// For every thread count: row shards only, teams only, and the layout the trainer's rule
    /// picks (when it is neither), in that order.
    pub projections: Vec<Projection>,
}

/// Median seconds of `f` over `reps` runs after `warmup`.
fn median_secs(warmup: usize, reps: usize, mut f: impl FnMut() -> Duration) -> f64 {
    for _ in 0..warmup {
        f();
    }
    super::median((0..reps).map(|_| f().as_secs_f64()).collect())
}

/// Seconds of an iteration's parts on one thread for a shard of `rows` split as a team of
/// `team`: (forward and backward, the end of the step, meetings per iteration).
fn shard_times<T: Real>(
    data: Data,
    config: &TrainConfig,
    model: NetworkConfig,
    rows: usize,
    team: usize,
    iters: usize,
) -> Result<(f64, f64, f64)> {
    let cfg = TrainConfig {
        threads: 1,
        step_threads: None,
        batch: rows.max(1),
        iters: 2 + iters,
        ..config.clone()
    };
    let mut tr = Trainer::<T>::new(cfg, model)?;
    if team > 1 {
        tr.set_crew(Crew::share(team));
    }
    let mut it = 0;
    let mut times = Vec::new();
    let before = tr.meetings();
    let work = median_secs(2, iters, || {
        tr.step(data, it);
        it += 1;
        let t = tr.last_step_times();
        times.push(t.update.as_secs_f64());
        t.shards
    });
    let meetings = (tr.meetings() - before) as f64 / (2 + iters) as f64;
    Ok((work, super::median(times), meetings))
}

/// Seconds one meeting of a team of two takes (an empty job posted and done), when the machine
/// has two cores; 0 otherwise.
fn meeting_time() -> Result<f64> {
    if crate::train::default_threads() < 2 {
        return Ok(0.0);
    }
    let team = Team::new(2).map_err(|e| crate::error::Error::Threads {
        threads: 2,
        reason: e.to_string(),
    })?;
    let n = 20_000;
    Ok(team.enter(|| {
        median_secs(1, 5, || {
            let start = Instant::now();
            for _ in 0..n {
                crate::blas::team::for_ranges(1, 1, [&mut [0.0f32][..]], |_, _, _| {});
            }
            start.elapsed() / n
        })
    }))
}

/// Seconds one fork and join of two shards takes (empty work), when the machine has two cores.
fn fork_time() -> Result<f64> {
    if crate::train::default_threads() < 2 {
        return Ok(0.0);
    }
    let crew = Crew::new(2, 1)?;
    let n = 5_000;
    let mut workers = [0u8; 2];
    Ok(crew.keep_awake(|| {
        median_secs(1, 5, || {
            let start = Instant::now();
            for _ in 0..n {
                crew.each(&mut workers, |_, w| *w = w.wrapping_add(1));
            }
            start.elapsed() / n
        })
    }))
}

/// Seconds to add one gradient to another over the whole parameter buffer of `model`.
fn add_time<T: Real>(model: NetworkConfig) -> f64 {
    let n = crate::network::Network::<T>::new(model).num_params();
    let (x, mut y) = (vec![T::ONE; n], vec![T::ZERO; n]);
    median_secs(2, 9, || {
        let start = Instant::now();
        crate::blas::axpy(1.0, &x, &mut y);
        start.elapsed()
    })
}

/// Measures and projects `config` (its batch, on `data`) at each thread count of `counts`; where
/// the machine has that many cores, also runs it so. `iters` timed iterations of each shard.
///
/// # Errors
/// When the operating system refuses to start the threads.
pub fn scaling<T: Real>(
    data: Data,
    config: &TrainConfig,
    model: NetworkConfig,
    counts: &[usize],
    iters: usize,
) -> Result<Scaling> {
    let batch = config.batch;
    let (work1, update1, _) = shard_times::<T>(data, config, model, batch, 1, iters)?;
    let one_thread = work1 + update1;
    let (meeting, fork, add) = (meeting_time()?, fork_time()?, add_time::<T>(model));
    let cores = crate::train::default_threads();
    let net = crate::network::Network::<T>::new(model);
    let mut projections = Vec::new();
    for &p in counts {
        let rule = layout(p, batch, &net);
        let mut layouts = vec![(p, 1), (1, p)];
        if !layouts.contains(&rule) {
            layouts.push(rule);
        }
        layouts.dedup();
        for (groups, team) in layouts {
            let rows = batch / groups;
            let (work, _, meetings) = shard_times::<T>(data, config, model, rows, team, iters)?;
            let update = update1 / p as f64 + (groups - 1) as f64 * add / p as f64;
            let depth = (groups as f64).log2().ceil();
            let meet = meetings * meeting * (team - 1) as f64 + depth * fork;
            let measured = if p > 1 && p <= cores {
                Some(measured_speedup::<T>(
                    data, config, model, p, team, iters, one_thread,
                )?)
            } else {
                None
            };
            projections.push(Projection {
                threads: p,
                groups,
                team,
                work,
                update,
                meet,
                speedup: one_thread / (work + update + meet),
                measured,
            });
        }
    }
    Ok(Scaling {
        one_thread,
        one_thread_update: update1,
        meeting,
        fork,
        projections,
    })
}

/// One thread's iteration time over that of `threads` threads in teams of `team` (the median
/// iteration of each).
fn measured_speedup<T: Real>(
    data: Data,
    config: &TrainConfig,
    model: NetworkConfig,
    threads: usize,
    team: usize,
    iters: usize,
    one_thread: f64,
) -> Result<f64> {
    let cfg = TrainConfig {
        threads,
        step_threads: Some(team),
        iters: 2 + iters,
        ..config.clone()
    };
    let mut tr = Trainer::<T>::new(cfg, model)?;
    let secs = tr.in_pool(|tr| {
        let mut it = 0;
        median_secs(2, iters, || {
            let start = Instant::now();
            tr.step(data, it);
            it += 1;
            start.elapsed()
        })
    });
    Ok(one_thread / secs)
}
