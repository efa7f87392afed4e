//! A time budget's calibration: the run's speed measured over its first iterations, then the
//! schedule's length fixed from it (see [`super::TimeBudget`]).
//!
//! Only iterations whose learning rate does not depend on the schedule's length are measured:
//! those of the warm-up (the rate climbs to the base rate whatever the length), the first one
//! (a cosine starts at the base rate), any with a constant rate. So the iterations run before the
//! length is known are those the run with that length fixed from the start would have run, and a
//! run on a budget is the run of the length it bought.

use super::trainer::Trainer;
use crate::data::Data;
use crate::optim::Schedule;
use crate::real::Real;
use std::time::Instant;

/// Iterations measured at most (the warm-up may be longer).
const MAX_ITERS: usize = 200;

/// The measurement stops once it has this many iterations and this share of the budget.
const MIN_ITERS: usize = 3;
const SHARE: f64 = 0.02;

/// The measurement in progress.
pub(crate) struct Calibration {
    seconds: f64,
    start: Instant,
    /// Measured iterations and their seconds (the first one, paying for cold caches, left out
    /// when there are others).
    n: usize,
    first_secs: f64,
    secs: f64,
    /// The first iteration whose rate would depend on the schedule's length.
    depends_from: usize,
    /// What one evaluation costs, in iterations: the held-out data over a batch, at a third of
    /// a training iteration's cost per prediction (forward only).
    eval_iters: f64,
    eval_every: usize,
}

impl Calibration {
    /// The calibration of `trainer`'s run, if it has a time budget whose length is not yet fixed;
    /// `eval` is evaluated every `eval_every` iterations (0: never) and once after the run.
    pub(crate) fn of<T: Real>(
        trainer: &Trainer<T>,
        eval: Data,
        eval_every: usize,
    ) -> Option<Calibration> {
        let budget = trainer.config.time_budget.filter(|b| !b.fixed)?;
        let c = &trainer.config;
        let depends_from = match c.lr_schedule {
            Schedule::Constant => usize::MAX,
            Schedule::Cosine => c.warmup.max(1),
        };
        let (held_out, batch) = match eval {
            Data::Labelled(set) => (set.len() as f64, c.batch as f64),
            Data::Text(tokens) => (tokens.len() as f64, (c.batch * c.seq_len.max(1)) as f64),
        };
        Some(Calibration {
            seconds: budget.seconds,
            start: Instant::now(),
            n: 0,
            first_secs: 0.0,
            secs: 0.0,
            depends_from,
            eval_iters: held_out / batch / 3.0,
            eval_every,
        })
    }

    /// Takes iteration `it` (0-based), which took `dt` seconds; returns the schedule's length
    /// once it is fixed (and records it in `trainer`'s configuration).
    pub(crate) fn observe<T: Real>(
        &mut self,
        trainer: &mut Trainer<T>,
        it: usize,
        dt: f64,
    ) -> Option<usize> {
        if self.n == 0 {
            self.first_secs = dt;
        } else {
            self.secs += dt;
        }
        self.n += 1;
        let elapsed = self.start.elapsed().as_secs_f64();
        let enough = self.n >= MIN_ITERS && elapsed >= SHARE * self.seconds;
        let ready = enough || self.n >= MAX_ITERS || it + 1 >= self.depends_from;
        let per_iter = if self.n > 1 {
            self.secs / (self.n - 1) as f64
        } else {
            self.first_secs
        };
        let iters = ready.then(|| self.length(it + 1, elapsed, per_iter));
        // Across ranks, rank 0's measure decides for all.
        let iters = trainer.rank_zeros(iters)?;
        trainer.config.iters = iters;
        trainer.config.time_budget = trainer
            .config
            .time_budget
            .map(|b| super::TimeBudget { fixed: true, ..b });
        Some(iters)
    }

    /// The schedule's length: the `done` iterations, and as many more as fit in what is left of
    /// the budget after `elapsed` seconds, at `per_iter` seconds each, with the evaluations
    /// every `eval_every` of them and the final one.
    fn length(&self, done: usize, elapsed: f64, per_iter: f64) -> usize {
        let eval = self.eval_iters * per_iter;
        let per = per_iter
            + if self.eval_every > 0 {
                eval / self.eval_every as f64
            } else {
                0.0
            };
        let left = (self.seconds - elapsed - eval).max(0.0);
        done + (left / per.max(1e-12)).floor() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration(seconds: f64, eval_iters: f64, eval_every: usize) -> Calibration {
        Calibration {
            seconds,
            start: Instant::now(),
            n: 0,
            first_secs: 0.0,
            secs: 0.0,
            depends_from: 100,
            eval_iters,
            eval_every,
        }
    }

    /// The length fills what is left of the budget, evaluations included, and never drops
    /// below what is done.
    #[test]
    fn the_length_fills_the_budget() {
        let c = calibration(100.0, 0.0, 0);
        assert_eq!(c.length(10, 1.0, 0.1), 10 + 990);
        // Evaluations of 5 iterations' cost every 10 iterations: 1.5 iterations each.
        let c = calibration(100.0, 5.0, 10);
        assert_eq!(c.length(0, 0.0, 0.1), ((100.0 - 0.5) / 0.15) as usize);
        // The budget spent already: nothing more.
        assert_eq!(c.length(7, 150.0, 0.1), 7);
    }
}
