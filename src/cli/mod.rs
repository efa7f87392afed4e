//! The commands, one module each, and what they share: the banner, the check of output paths,
//! choices parsed by their names, and the library's errors said with the command line's flags.

pub mod bench;
pub mod console;
pub mod eval;
pub mod exchange;
pub mod forecast;
pub mod plot;
pub mod predict;
pub mod results;
pub mod sample;
pub mod scaling;
pub mod signals;
pub mod train;

use anyhow::{Result, bail};
use blasrnn::Choice;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use console::Console;
use std::path::Path;

/// A clap parser of a [`Choice`] by its names (shown in `--help`).
pub fn choice<C: Choice + Send + Sync>() -> impl TypedValueParser<Value = C> {
    PossibleValuesParser::new(C::ALL.iter().map(|c| c.name()))
        .map(|s| C::from_name(&s).expect("one of the names offered"))
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

/// An error as the command line says it: the library names settings in backticks (`` `lr` ``),
/// which become the flags that set them (`--lr`); a refused thread says which flag helps.
pub fn say_error(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    let ours = e.chain().find_map(|c| c.downcast_ref::<blasrnn::Error>());
    match ours {
        Some(blasrnn::Error::Config(_)) => flags(&text),
        Some(blasrnn::Error::Threads { .. }) => format!("{text}; pass a smaller --threads"),
        _ => text,
    }
}

/// `text` with every backticked setting name (lower case, digits, `_`) written as its flag.
fn flags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let close = after.find('`');
        let name = close.map(|c| &after[..c]);
        out.push_str(&rest[..open]);
        match name {
            Some(n)
                if !n.is_empty()
                    && n.starts_with(|c: char| c.is_ascii_lowercase())
                    && n.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
            {
                out.push_str("--");
                out.push_str(&n.replace('_', "-"));
                rest = &after[n.len() + 1..];
            }
            _ => {
                out.push('`');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_become_flags() {
        assert_eq!(
            flags("`lr` must be positive; `seq_len` 5, `batch` `x y` `"),
            "--lr must be positive; --seq-len 5, --batch `x y` `"
        );
        let e = anyhow::Error::new(blasrnn::Error::Config(
            "`dropout` acts between stacked layers: it needs `layers` 2 or more".into(),
        ));
        assert_eq!(
            say_error(&e),
            "--dropout acts between stacked layers: it needs --layers 2 or more"
        );
        let e = anyhow::Error::new(blasrnn::Error::format(Path::new("a`b`.txt"), "bad"));
        assert_eq!(say_error(&e), "a`b`.txt: bad");
    }
}
