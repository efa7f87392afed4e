//! The crate's one error type. Every variant says what is wrong once, on one line: a file's
//! errors name the file (the OS error is part of the message, not a chained cause that a report
//! would print a second time); a setting's name the setting in backticks (`` `lr` ``), which a
//! command line may turn into its flag.

use crate::choice::UnknownName;
use crate::real::Dtype;
use std::path::{Path, PathBuf};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// A file's contents are not what they must be (or the file is missing from a directory).
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file (or the directory searched).
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
    /// Data or an input that does not fit the model (numbers a step, lengths, classes).
    #[error("{0}")]
    Shape(String),
    /// A model or configuration of one number type used where the other is needed.
    #[error("the model computes in {found}, but {expected} was asked for")]
    Dtype {
        /// The number type asked for.
        expected: Dtype,
        /// The number type the model or configuration has.
        found: Dtype,
    },
    /// Something the model's task does not do (sampling from a classifier, …).
    #[error("{0}")]
    Task(String),
    /// A setting out of its range or at odds with the data; names settings in backticks.
    #[error("{0}")]
    Config(String),
    /// The operating system refused to start the worker threads.
    #[error("cannot start {threads} worker threads ({reason})")]
    Threads {
        /// The threads asked for.
        threads: usize,
        /// What the OS said.
        reason: String,
    },
    /// A training step's loss or gradient norm was not finite.
    #[error("training diverged at iteration {iteration} (loss {loss}, gradient norm {grad_norm})")]
    Diverged {
        /// The iteration, counted from 1.
        iteration: usize,
        /// Its loss.
        loss: f64,
        /// Its gradient norm.
        grad_norm: f64,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<UnknownName> for Error {
    fn from(e: UnknownName) -> Error {
        Error::Config(e.to_string())
    }
}

impl Error {
    /// A format error about `path`.
    pub fn format(path: &Path, problem: impl Into<String>) -> Self {
        Error::Format {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// An I/O error about `path`.
    pub fn io(path: &Path, error: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    /// A closure turning an I/O error into one about `path` (for `map_err`).
    pub fn io_at(path: &Path) -> impl Fn(std::io::Error) -> Error + Copy + '_ {
        move |error| Error::io(path, error)
    }

    /// A setting's error (its message names settings in backticks).
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// A shape error.
    pub(crate) fn shape(message: impl Into<String>) -> Self {
        Error::Shape(message.into())
    }

    /// A task error.
    pub(crate) fn task(message: impl Into<String>) -> Self {
        Error::Task(message.into())
    }
}
