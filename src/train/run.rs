//! The training loop every task shares: steps from the first iteration to the last, a report row
//! (and a progress line) every `log_every` iterations, an evaluation every `eval_every`, a
//! checkpoint every `save_every`, and a clean stop — at the end, when a signal asks for it (after
//! the step in progress), or at the first non-finite loss or gradient (before anything diverged
//! is saved).

use super::trainer::{Data, Evaluation, Trainer};
use crate::error::FileError;
use crate::real::Real;
use crate::report::{Console, Row};
use std::time::Instant;

/// What a run does besides stepping.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The iteration to start at: 0, or where a resumed run left off.
    pub first: usize,
    /// Stop after this many iterations of the schedule (at most its length).
    pub last: usize,
    /// A report row and progress line every this many iterations (0 = only at the end).
    pub log_every: usize,
    /// Evaluate every this many iterations (0 = never during the run).
    pub eval_every: usize,
    /// Checkpoint every this many iterations (0 = never during the run).
    pub save_every: usize,
    /// What a prediction is, for progress lines: "samples" or "chars".
    pub unit: &'static str,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// It ran to [`RunPlan::last`].
    Finished,
    /// A signal (its number) asked it to stop; the step in progress was finished.
    Interrupted(i32),
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

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One row per report interval.
    pub rows: Vec<Row>,
    /// Seconds spent in training steps (evaluation and saving excluded).
    pub train_seconds: f64,
    /// Iterations done (counted from the first of the schedule).
    pub done: usize,
    /// Samples (or characters) trained on in this run.
    pub samples: usize,
    /// How it ended.
    pub ending: Ending,
    /// The iteration of the last checkpoint written during the run, if any.
    pub saved_at: Option<usize>,
}

/// Writes a checkpoint of a trainer after some iterations.
pub type SaveFn<'a, T> = dyn Fn(&Trainer<T>, usize) -> Result<(), FileError> + Sync + 'a;

/// Runs `plan` on `trainer`: training on `train`, evaluating on `eval`, checkpointing through
/// `save(trainer, iterations done)`. The loop runs on one of the trainer's worker threads, so no
/// step allocates.
pub fn run<T: Real>(
    trainer: &mut Trainer<T>,
    train: Data,
    eval: Data,
    plan: &RunPlan,
    console: &Console,
    save: &SaveFn<T>,
) -> Result<Outcome, FileError> {
    trainer.in_pool(|trainer| {
        let mut out = Outcome {
            rows: Vec::new(),
            train_seconds: 0.0,
            done: plan.first,
            samples: 0,
            ending: Ending::Finished,
            saved_at: None,
        };
        let (mut loss, mut correct, mut count, mut secs) = (0.0, 0, 0, 0.0);
        for it in plan.first..plan.last {
            let start = Instant::now();
            let st = trainer.step(train, it);
            let dt = start.elapsed().as_secs_f64();
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
            let every = |n: usize| n > 0 && done % n == 0;
            let stop = crate::signals::pending();
            let evaluate = every(plan.eval_every);
            let mut msg = None;
            if every(plan.log_every) || evaluate || done == plan.last || stop.is_some() {
                let e: Option<Evaluation> = evaluate.then(|| trainer.evaluate(eval));
                let row = Row {
                    iteration: done,
                    samples: done * st.count,
                    loss: loss / count as f64,
                    batch_accuracy: correct as f64 / count as f64,
                    eval_loss: e.as_ref().map(|e| e.loss),
                    eval_accuracy: e.as_ref().map(|e| e.accuracy),
                    elapsed_seconds: out.train_seconds,
                };
                let text = format!(
                    "loss {:.4}  acc {:.4}{}",
                    row.loss,
                    row.batch_accuracy,
                    e.map(|e| format!("  eval loss {:.4}  eval acc {:.4}", e.loss, e.accuracy))
                        .unwrap_or_default()
                );
                console.progress_line(format_args!(
                    "iter {done:>6}/{}  {text}  |g| {:.3}  lr {:.2e}  {:.0} {}/s",
                    plan.last,
                    st.grad_norm,
                    st.lr,
                    count as f64 / secs,
                    plan.unit
                ));
                out.rows.push(row);
                (loss, correct, count, secs) = (0.0, 0, 0, 0.0);
                msg = Some(text);
            }
            console.tick(msg.as_deref());
            if every(plan.save_every) && done < plan.last && stop.is_none() {
                save(trainer, done)?;
                out.saved_at = Some(done);
            }
            if let Some(sig) = stop {
                out.ending = Ending::Interrupted(sig);
                break;
            }
        }
        Ok(out)
    })
}
