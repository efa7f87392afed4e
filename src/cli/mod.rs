//! The commands, one module each, and what they share.

pub mod bench;
pub mod eval;
pub mod predict;
pub mod sample;
pub mod train;

use anyhow::{Result, bail};
use blasrnn::checkpoint::Checkpoint;
use blasrnn::report::Console;
use std::path::Path;

/// Calls `$f::<f32>(…)` or `$f::<f64>(…)` after the run's dtype.
macro_rules! with_dtype {
    ($dtype:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $dtype {
            blasrnn::real::Dtype::F32 => $f::<f32>($($arg),*),
            blasrnn::real::Dtype::F64 => $f::<f64>($($arg),*),
        }
    };
}
pub(crate) use with_dtype;

/// Worker threads when `--threads` is not given: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Peak resident memory of this process in MB, where the OS reports it (Linux: VmHWM).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The first line every command prints: version, BLAS backend and its own description, threads.
pub fn banner(console: &Console, threads: usize) {
    console.say(format_args!(
        "blasrnn {} | BLAS: {}{} | threads: {threads}",
        env!("CARGO_PKG_VERSION"),
        blasrnn::blas::backend(),
        blasrnn::blas::config()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default()
    ));
}

/// A learning rate must be a positive number.
pub fn check_lr(lr: f64) -> Result<f64> {
    if !(lr.is_finite() && lr > 0.0) {
        bail!("--lr must be a positive number, got {lr}");
    }
    Ok(lr)
}

/// Checks, before any work, that a file can be written at `path` (given as `flag`): it is not a
/// directory, its directory exists and is writable.
pub fn check_output(flag: &str, path: &Path) -> Result<()> {
    let shown = path.display();
    if path.is_dir() {
        bail!("{flag} {shown}: is a directory; give a file name");
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{flag} {shown}: the directory {} does not exist",
            dir.display()
        );
    }
    let probe = dir.join(format!(".blasrnn-write-check-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => bail!("{flag} {shown}: cannot write in {}: {e}", dir.display()),
    }
}

/// A saved classifier's shape, fitted to read `set` (from `data`): the numbers a step must agree;
/// the seed readout reads exactly its T steps, the others any length (the workspace grows to the
/// longest sequence).
pub fn fit_model(
    ck: &Checkpoint,
    set: &blasrnn::data::SeqSet,
    model: &Path,
    data: &Path,
) -> Result<blasrnn::model::ModelConfig> {
    use blasrnn::model::Task;
    use blasrnn::nn::head::Readout;
    let mut config = ck.config;
    let Task::Classify { readout, steps, .. } = &mut config.task else {
        bail!("{}: a language model, not a classifier", model.display());
    };
    if set.dims != config.input {
        bail!(
            "{}: the model reads {} numbers a step, but {} holds {}",
            model.display(),
            config.input,
            data.display(),
            set.dims
        );
    }
    let (lo, hi) = set.length_range();
    if *readout == Readout::Seq && (lo, hi) != (*steps, *steps) {
        bail!(
            "{}: the model (seed readout) reads sequences of exactly {} steps, but {} holds {}",
            model.display(),
            steps,
            data.display(),
            if lo == hi {
                format!("{hi}")
            } else {
                format!("{lo}..{hi}")
            }
        );
    }
    *steps = (*steps).max(set.steps);
    Ok(config)
}
