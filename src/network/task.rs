//! What a network predicts ([`Task`]) and its shape ([`NetworkConfig`]), and whether data fit
//! them.

use crate::data::{Data, SeqSet, Targets};
use crate::error::{Error, Result};
use crate::nn::cell::CellKind;
use crate::nn::head::{Loss, Readout};

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// One class per sequence of `steps` steps at most (exactly, for the seed readout).
    Classify {
        /// Which numbers feed the classifier (`seq`, `last` or `mean`).
        readout: Readout,
        /// Steps of the longest sequence, T (28 for MNIST).
        steps: usize,
        /// Outputs per step of the seed readout, O (the seed uses O = D).
        outputs: usize,
        /// Classes, K.
        classes: usize,
    },
    /// Real numbers per sequence (regression, or a forecast of the next `targets` values).
    Regress {
        /// Which numbers feed the regressor (`seq`, `last` or `mean`).
        readout: Readout,
        /// Steps of the longest sequence.
        steps: usize,
        /// Outputs per step of the seed readout.
        outputs: usize,
        /// Numbers predicted per sequence, K.
        targets: usize,
        /// The loss fitted, on standardised targets.
        loss: Loss,
    },
    /// A class at every step of sequences of up to `steps` steps.
    Tag {
        /// Steps of the longest sequence.
        steps: usize,
        /// Classes, K.
        classes: usize,
    },
    /// The next token at every step: a language model over a vocabulary of `input` symbols,
    /// read one-hot.
    NextToken,
}

impl Task {
    /// `classify`, `regress`, `tag` or `lm`, as the checkpoint's metadata says it.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Classify { .. } => "classify",
            Task::Regress { .. } => "regress",
            Task::Tag { .. } => "tag",
            Task::NextToken => "lm",
        }
    }

    /// Steps of the longest sequence a workspace of the task holds (none for text, whose chunk
    /// length the run chooses).
    pub fn steps(&self) -> Option<usize> {
        match *self {
            Task::Classify { steps, .. }
            | Task::Regress { steps, .. }
            | Task::Tag { steps, .. } => Some(steps),
            Task::NextToken => None,
        }
    }

    /// The same task with room for sequences of `n` steps.
    pub fn with_steps(mut self, n: usize) -> Task {
        match &mut self {
            Task::Classify { steps, .. }
            | Task::Regress { steps, .. }
            | Task::Tag { steps, .. } => *steps = n,
            Task::NextToken => {}
        }
        self
    }

    /// Whether its answers are classes, right or wrong (all but regression).
    pub fn has_accuracy(&self) -> bool {
        !matches!(self, Task::Regress { .. })
    }
}

/// The shape of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Which recurrent cell.
    pub cell: CellKind,
    /// Inputs per step, D (28 for MNIST rows), or the vocabulary size of a language model.
    pub input: usize,
    /// Hidden units per layer, H.
    pub hidden: usize,
    /// Stacked layers, L.
    pub layers: usize,
    /// Whether every layer reads the sequence in both directions (outputs of 2H numbers).
    pub bidirectional: bool,
    /// What it predicts.
    pub task: Task,
    /// Consecutive steps read as one (a patch): the recurrence runs ⌈T/patch⌉ steps of
    /// `input·patch` numbers, the last patch of a sequence completed with zeros (inputs are
    /// standardised, so zero is the mean). 1 reads every step; more bounds the cost of long
    /// series and shortens the paths gradients travel. The task's `steps` count patches.
    pub patch: usize,
}

impl NetworkConfig {
    /// Numbers the first layer reads a step: `input·patch`.
    pub fn width(&self) -> usize {
        self.input * self.patch.max(1)
    }

    /// Recurrent steps of a sequence of `len` steps: ⌈len/patch⌉.
    pub fn patches(&self, len: usize) -> usize {
        len.div_ceil(self.patch.max(1))
    }

    /// This shape fitted to read `data`: a labelled set of the same numbers a step whose labels
    /// are classes of the model (any length; for the seed readout, exactly its steps), with
    /// `steps` grown to the set's longest sequence; or a text over the vocabulary.
    ///
    /// # Errors
    /// [`Error::Task`] when the data are of the other task, [`Error::Shape`] when they do not
    /// fit: each message says what the model reads and what the data hold.
    pub fn fitted(&self, data: Data) -> Result<NetworkConfig> {
        let set = match (self.task, data) {
            (Task::NextToken, Data::Text(tokens)) => {
                return match tokens.iter().find(|&&t| t as usize >= self.input) {
                    Some(t) => Err(Error::shape(format!(
                        "token {t} is outside the vocabulary of {}",
                        self.input
                    ))),
                    None => Ok(*self),
                };
            }
            (Task::NextToken, Data::Labelled(_)) => {
                return Err(Error::task(
                    "a language model reads text, not labelled sequences",
                ));
            }
            (_, Data::Text(_)) => {
                return Err(Error::task(format!(
                    "a model that predicts {} reads sequences of numbers, not text",
                    self.task.answers()
                )));
            }
            (_, Data::Labelled(set)) => set,
        };
        if set.dims != self.input {
            return Err(Error::shape(format!(
                "the model reads {} numbers a step, but the data hold {}",
                self.input, set.dims
            )));
        }
        self.task.check_targets(set)?;
        let steps = self.task.steps().expect("a sequence task");
        let (lo, hi) = set.length_range();
        let (lo, hi) = (self.patches(lo), self.patches(hi));
        let seq = matches!(
            self.task,
            Task::Classify {
                readout: Readout::Seq,
                ..
            } | Task::Regress {
                readout: Readout::Seq,
                ..
            }
        );
        if seq && (lo, hi) != (steps, steps) {
            let held = if lo == hi {
                format!("{hi}")
            } else {
                format!("{lo}..{hi}")
            };
            let unit = match self.patch {
                1 => "steps".to_string(),
                p => format!("patches of {p} steps"),
            };
            return Err(Error::shape(format!(
                "the model (seed readout) reads sequences of exactly {steps} {unit}, but the data \
                 hold {held}"
            )));
        }
        Ok(NetworkConfig {
            task: self.task.with_steps(steps.max(self.patches(set.steps))),
            ..*self
        })
    }
}

impl Task {
    /// What the task's answers are, for messages.
    pub fn answers(&self) -> &'static str {
        match self {
            Task::Classify { .. } => "a class per sequence",
            Task::Regress { .. } => "numbers per sequence",
            Task::Tag { .. } => "a class per step",
            Task::NextToken => "the next character",
        }
    }

    /// Whether `set`'s targets are this task's (or it has none: sequences to predict).
    fn check_targets(&self, set: &SeqSet) -> Result<()> {
        let wrong = |held: &str| {
            Err(Error::shape(format!(
                "the model predicts {}, but the data hold {held}",
                self.answers()
            )))
        };
        match (self, &set.targets) {
            (_, Targets::None) => Ok(()),
            (Task::Classify { classes, .. }, Targets::Classes)
            | (Task::Tag { classes, .. }, Targets::Steps(_)) => {
                match set.class_labels().find(|&l| l as usize >= *classes) {
                    Some(l) => Err(Error::shape(format!(
                        "label {l} is not one of the model's {classes} classes"
                    ))),
                    None => Ok(()),
                }
            }
            (Task::Regress { targets, .. }, Targets::Values { k, .. }) if k == targets => Ok(()),
            (Task::Regress { targets, .. }, Targets::Values { k, .. }) => Err(Error::shape(
                format!("the model predicts {targets} numbers per sequence, but the data hold {k}"),
            )),
            (_, Targets::Classes) => wrong("a class per sequence"),
            (_, Targets::Steps(_)) => wrong("a class per step"),
            (_, Targets::Values { .. }) => wrong("numbers per sequence"),
        }
    }
}
