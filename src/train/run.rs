//! The training loop every task shares: steps from the first iteration to the last, an
//! [`Event`] for the caller after every step, a [`Report`] every `log_every` iterations (with an
//! evaluation every `eval_every`), a checkpoint every `save_every`, and a clean stop — at the
//! end, when the caller's callback returns [`Control::Stop`] (after the step in progress), or at
//! the first non-finite loss or gradient (before anything diverged is saved).

use super::budget::Calibration;
use super::trainer::{StepStats, Trainer};
use crate::checkpoint::Best;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::real::Real;
use crate::report::Report;
use std::path::Path;
use std::time::Instant;

/// What a run does besides stepping. `RunOptions::default()`: a report every 100 iterations, no
/// evaluation or checkpoint during the run, to the end of the schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// A report every this many iterations (0 = only at the end).
    pub log_every: usize,
    /// Evaluate on the held-out data every this many iterations (0 = never during the run).
    pub eval_every: usize,
    /// Checkpoint every this many iterations to `save_to` (0 = never during the run).
    pub save_every: usize,
    /// Where checkpoints during the run are written (atomically), when `save_every` > 0.
    pub save_to: Option<std::path::PathBuf>,
    /// Stop after this iteration of the schedule (at most its length; the schedule keeps its
    /// length, so a resumed run continues it exactly).
    pub stop_at: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            log_every: 100,
            eval_every: 0,
            save_every: 0,
            save_to: None,
            stop_at: None,
        }
    }
}

/// What the loop tells its caller.
#[derive(Debug)]
pub enum Event<'a> {
    /// Iteration `iteration` (counted from 1) was trained.
    Step {
        /// Iterations done.
        iteration: usize,
        /// Its statistics.
        stats: &'a StepStats,
    },
    /// A report interval ended (every `log_every` iterations, at an evaluation, at the end).
    Report(&'a Report),
    /// A run with a time budget fixed its schedule's length from its speed (see
    /// [`super::TimeBudget`]).
    Scheduled {
        /// The schedule's length, in iterations.
        iters: usize,
    },
    /// A checkpoint was written after `iteration` iterations.
    Saved {
        /// Iterations done.
        iteration: usize,
        /// Where.
        path: &'a Path,
    },
}

impl std::fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Step { iteration, stats } => write!(
                f,
                "iter {iteration}  loss {:.4}  |g| {:.3}",
                stats.loss, stats.grad_norm
            ),
            Event::Report(r) => write!(f, "{r}"),
            Event::Scheduled { iters } => write!(f, "the time budget buys {iters} iterations"),
            Event::Saved { iteration, path } => {
                write!(f, "saved {} (iteration {iteration})", path.display())
            }
        }
    }
}

/// What the caller's callback answers to each [`Event`]: [`Control::Stop`] to any of them ends
/// the run after the step in progress (an answer to a report can stop early on an evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this step (its report is made first; nothing is lost).
    Stop,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// It ran to its last iteration.
    Finished,
    /// The callback asked it to stop; the step in progress was finished.
    Stopped,
    /// The loss or the gradient norm of this iteration (1-based) was not finite; the update of
    /// that step was applied, so the parameters must not be saved.
    Diverged {
        /// The iteration, counted from 1.
        iteration: usize,
        /// Its loss.
        loss: f64,
        /// Its gradient norm.
        grad_norm: f64,
    },
}

impl Ending {
    /// [`Error::Diverged`] for a run that diverged; `Ok` for one that finished or was stopped.
    ///
    /// # Errors
    /// When the run diverged.
    pub fn diverged(&self) -> Result<()> {
        match *self {
            Ending::Diverged {
                iteration,
                loss,
                grad_norm,
            } => Err(Error::Diverged {
                iteration,
                loss,
                grad_norm,
            }),
            Ending::Finished | Ending::Stopped => Ok(()),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One report per interval.
    pub reports: Vec<Report>,
    /// Seconds spent in training steps (evaluation and saving excluded).
    pub train_seconds: f64,
    /// The iteration it started at.
    pub first: usize,
    /// Iterations done (counted from the first of the schedule).
    pub done: usize,
    /// Samples (or characters) trained on in this run.
    pub samples: usize,
    /// How it ended.
    pub ending: Ending,
    /// The iteration of the last checkpoint written during the run, if any.
    pub saved_at: Option<usize>,
    /// With a validation part: the iteration whose parameters are kept, and their loss on it.
    pub best: Option<Best>,
}

impl Outcome {
    /// Samples (or characters) a second over the run's training steps.
    pub fn rate(&self) -> f64 {
        self.samples as f64 / self.train_seconds
    }
}

/// Writes a checkpoint of a trainer after some iterations to a path.
pub(crate) type SaveFn<'a, T> = dyn Fn(&mut Trainer<T>, usize, &Path) -> Result<()> + Sync + 'a;

/// Runs `trainer` from iteration `first` as `opts` says: training on `train`, evaluating on
/// `eval`, keeping the best parameters on `validation` (every `iters / VALIDATIONS` iterations
/// of the schedule and at its end, wherever the run stops: a resumed run validates where the
/// uninterrupted one did), checkpointing through `save(trainer, iterations done, path)`,
/// telling `on` of every step, report and checkpoint. The loop runs on one of the trainer's
/// worker threads, so no step allocates.
pub(crate) fn run<T: Real>(
    trainer: &mut Trainer<T>,
    (train, eval, validation): (Data, Data, Option<Data>),
    first: usize,
    opts: &RunOptions,
    save: &SaveFn<T>,
    on: &mut (dyn FnMut(&Event) -> Control + Send),
) -> Result<Outcome> {
    let unit = match (train, trainer.net.config.task) {
        (Data::Text(_), _) => "chars",
        (_, crate::network::Task::Tag { .. }) => "steps",
        _ => "samples",
    };
    let accuracy = trainer.net.config.task.has_accuracy();
    let stop_at = |iters: usize| opts.stop_at.map_or(iters, |s| s.min(iters));
    let mut last = stop_at(trainer.config.iters);
    let mut budget = Calibration::of(trainer, eval, opts.eval_every);
    trainer.in_pool(|trainer| {
        let mut out = Outcome {
            reports: Vec::new(),
            train_seconds: 0.0,
            first,
            done: first,
            samples: 0,
            ending: Ending::Finished,
            saved_at: None,
            best: None,
        };
        let mut validation_loss = None;
        let (mut loss, mut correct, mut count, mut secs) = (0.0, 0, 0, 0.0);
        let mut it = first;
        while it < last {
            let start = Instant::now();
            let st = trainer.step(train, it);
            let dt = start.elapsed().as_secs_f64();
            let mut stop = false;
            if let Some(iters) = budget.as_mut().and_then(|b| b.observe(trainer, it, dt)) {
                budget = None;
                last = stop_at(iters).max(it + 1);
                stop = on(&Event::Scheduled { iters }) == Control::Stop;
            }
            (out.train_seconds, secs) = (out.train_seconds + dt, secs + dt);
            out.samples += st.count;
            if !(st.loss.is_finite() && st.grad_norm.is_finite()) {
                out.ending = Ending::Diverged {
                    iteration: it + 1,
                    loss: st.loss,
                    grad_norm: st.grad_norm,
                };
                break;
            }
            let done = it + 1;
            out.done = done;
            (loss, correct, count) = (
                loss + st.loss * st.count as f64,
                correct + st.correct,
                count + st.count,
            );
            stop |= on(&Event::Step {
                iteration: done,
                stats: &st,
            }) == Control::Stop;
            let every = |n: usize| n > 0 && done % n == 0;
            let iters = trainer.config.iters;
            if let Some(v) = validation
                && (every((iters / super::VALIDATIONS).max(1)) || done == iters)
            {
                let loss = trainer.evaluate(v).loss;
                trainer.consider(loss, done);
                validation_loss = Some(loss);
            }
            let evaluate = every(opts.eval_every);
            if every(opts.log_every) || evaluate || done == last || stop {
                let e = evaluate.then(|| trainer.evaluate(eval));
                let report = Report {
                    iteration: done,
                    last,
                    samples: done * st.count,
                    loss: loss / count as f64,
                    batch_accuracy: accuracy.then(|| correct as f64 / count as f64),
                    eval_loss: e.as_ref().map(|e| e.loss),
                    eval_accuracy: e.as_ref().filter(|_| accuracy).map(|e| e.accuracy),
                    validation_loss: validation_loss.take(),
                    elapsed_seconds: out.train_seconds,
                    grad_norm: st.grad_norm,
                    lr: st.lr,
                    rate: count as f64 / secs,
                    unit,
                };
                stop |= on(&Event::Report(&report)) == Control::Stop;
                out.reports.push(report);
                (loss, correct, count, secs) = (0.0, 0, 0, 0.0);
            }
            if let Some(path) = opts.save_to.as_deref()
                && every(opts.save_every)
                && done < last
                && !stop
            {
                save(trainer, done, path)?;
                out.saved_at = Some(done);
                stop |= on(&Event::Saved {
                    iteration: done,
                    path,
                }) == Control::Stop;
            }
            if stop {
                out.ending = Ending::Stopped;
                break;
            }
            it += 1;
        }
        out.best = trainer.best().map(|(b, _)| b);
        Ok(out)
    })
}
