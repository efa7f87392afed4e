//! The one error type of everything that reads or writes a user's file: it names the file and
//! says what is wrong, once (the OS error is part of the message, not a chained cause that a
//! report would print a second time).

use std::path::{Path, PathBuf};

/// What went wrong with a file; every variant names it.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be opened, read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The file's contents are not what they must be (or the file is missing from a directory).
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file (or the directory searched).
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
}

impl FileError {
    /// A format error about `path`.
    pub fn format(path: &Path, problem: impl Into<String>) -> Self {
        FileError::Format {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// An I/O error about `path`.
    pub fn io(path: &Path, error: std::io::Error) -> Self {
        FileError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    /// A closure turning an I/O error into one about `path` (for `map_err`).
    pub fn io_at(path: &Path) -> impl Fn(std::io::Error) -> FileError + Copy + '_ {
        move |error| FileError::io(path, error)
    }
}
