//! Where human-readable lines go: stdout, or stderr when stdout carries JSON; above the progress
//! bar when one shows.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write as _};

/// Where human-readable lines go: stdout, or stderr when stdout carries JSON; above the progress
/// bar when one shows.
pub struct Console {
    json: bool,
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl Console {
    /// A console for a command run with `--json` / `--quiet` as given.
    pub fn new(json: bool, quiet: bool) -> Console {
        Console {
            json,
            quiet,
            bar: None,
        }
    }

    /// Prints one line.
    pub fn say(&self, line: std::fmt::Arguments) {
        match &self.bar {
            Some(bar) => bar.println(line.to_string()),
            None if self.json => eprintln!("{line}"),
            None => {
                println!("{line}");
                let _ = std::io::stdout().flush();
            }
        }
    }

    /// Prints a progress line unless `--quiet` (under `--json` they go to stderr).
    pub fn progress_line(&self, line: std::fmt::Arguments) {
        if !self.quiet || self.json {
            self.say(line);
        }
    }

    /// Shows a progress bar of `total` iterations at `pos` when stdout is a terminal and neither
    /// `--quiet` nor `--json` was given.
    pub fn start_bar(&mut self, total: usize, pos: usize) {
        if self.quiet || self.json || !std::io::stdout().is_terminal() {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} iters  ETA {eta}  {msg}")
                .expect("valid template"),
        );
        bar.set_position(pos as u64);
        self.bar = Some(bar);
    }

    /// Advances the bar by one (when it shows).
    pub fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Shows `msg` beside the bar (when it shows).
    pub fn message(&self, msg: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
        }
    }

    /// Removes the bar.
    pub fn finish_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
