//! Where human-readable lines go: stdout, or stderr when stdout carries JSON; above the progress
//! bar when one shows.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write as _};

/// Where human-readable lines go: stdout, or stderr when stdout carries JSON; above the progress
/// bar when one shows.
pub struct Console {
    json: bool,
    quiet: bool,
    /// Prints nothing at all (a rank other than 0 of a run across processes).
    silent: bool,
    bar: Option<ProgressBar>,
    /// A time budget's end, and the seconds left shown last.
    deadline: Option<(std::time::Instant, u64)>,
}

impl Console {
    /// A console for a command run with `--json` / `--quiet` as given.
    pub fn new(json: bool, quiet: bool) -> Console {
        Console {
            json,
            quiet,
            silent: false,
            bar: None,
            deadline: None,
        }
    }

    /// A console that prints nothing.
    pub fn silent() -> Console {
        Console {
            silent: true,
            ..Console::new(false, true)
        }
    }

    /// Prints one line.
    pub fn say(&self, line: std::fmt::Arguments) {
        if self.silent {
            return;
        }
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

    /// Sets the bar's length (a time budget's schedule, once fixed).
    pub fn set_bar_length(&self, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }

    /// Shows the time left of a budget of `seconds` from now beside the bar.
    pub fn start_clock(&mut self, seconds: f64) {
        let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(seconds);
        self.deadline = Some((end, u64::MAX));
        if let Some(bar) = &self.bar {
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40.cyan/blue} {pos}/{len} iters  time left {prefix}  {msg}",
                )
                .expect("valid template"),
            );
        }
        self.time_left();
    }

    /// Updates the time left beside the bar (once a second at most).
    pub fn time_left(&mut self) {
        let (Some(bar), Some((end, shown))) = (&self.bar, &mut self.deadline) else {
            return;
        };
        let left = end
            .saturating_duration_since(std::time::Instant::now())
            .as_secs();
        if left != *shown {
            *shown = left;
            bar.set_prefix(format!("{}:{:02}", left / 60, left % 60));
        }
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
