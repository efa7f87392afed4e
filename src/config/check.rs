//! The checks a configuration must pass against its data before anything is built: every
//! setting in range, the data's shape what the settings can read, and the memory the run would
//! ask for within the machine's.

use super::TrainConfig;
use crate::data::text::{Corpus, Streams};
use crate::data::{Dataset, SeqSet, Targets};
use crate::error::{Error, Result};
use crate::network::{NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::Readout;
use crate::real::Dtype;

/// The machine's physical memory in bytes, where the system says (Linux's `/proc/meminfo`).
fn physical_memory() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb = info.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kb: u128 = kb.trim().trim_end_matches("kB").trim().parse().ok()?;
    kb.checked_mul(1024)
}

impl TrainConfig {
    /// Checks every setting's range, then the settings against `data`: one error naming the
    /// setting (in backticks) and what is wrong.
    ///
    /// # Errors
    /// [`Error::Config`] for a setting out of range or at odds with the data.
    pub fn check(&self, data: &Dataset) -> Result<()> {
        self.check_ranges()?;
        match data {
            Dataset::Labelled(l) => self.check_sets(&l.train, &l.test),
            Dataset::Series(f) => self.check_sets(&f.sets.train, &f.sets.test),
            Dataset::Text(c) => self.check_text(c),
        }?;
        self.check_memory(&self.network(data))
    }

    /// Bytes a run of this configuration training `net` asks for, about: the parameters, their
    /// gradient, the optimizer's state and each thread's gradient, and the activations of a
    /// batch. `None` when the count itself overflows.
    pub fn bytes_needed(&self, net: &NetworkConfig) -> Option<u128> {
        let u = |v: usize| v as u128;
        let (h, layers, width) = (u(net.hidden), u(net.layers), u(net.width()));
        let dirs: u128 = if net.bidirectional { 2 } else { 1 };
        let gates: u128 = match net.cell {
            CellKind::Tanh => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        };
        let (steps, outputs, answers) = match net.task {
            Task::Classify {
                steps,
                outputs,
                classes,
                ..
            } => (steps, outputs, classes),
            Task::Regress {
                steps,
                outputs,
                targets,
                ..
            } => (steps, outputs, targets),
            Task::Tag { steps, classes } => (steps, 0, classes),
            Task::NextToken => (self.seq_len, 0, net.input),
        };
        let (t, o, k) = (u(steps), u(outputs), u(answers));
        let add = |a: u128, b: u128| a.checked_add(b);
        let mul = |a: u128, b: u128| a.checked_mul(b);
        // A layer: `gates·H` rows over its input, the recurrent state and two biases.
        let layer = |input: u128| mul(mul(dirs, gates)?, mul(h, add(add(input, h)?, 2)?)?);
        let stack = add(layer(width)?, mul(layers - 1, layer(mul(dirs, h)?)?)?)?;
        let head = add(
            mul(add(mul(dirs, h)?, 1)?, k)?,
            mul(add(mul(t, k)?, mul(dirs, h)?)?, o)?,
        )?;
        let params = add(stack, head)?;
        let size: u128 = match self.dtype {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        };
        let copies = 4 + u(self.threads);
        let input = if net.task == Task::NextToken {
            0
        } else {
            width
        };
        let per_step = add(add(input, mul(mul(mul(dirs, h)?, layers)?, gates + 4)?)?, k)?;
        let activations = mul(mul(u(self.batch), t.max(1))?, per_step)?;
        mul(add(mul(params, copies)?, activations)?, size)
    }

    /// The run fits in this machine's memory (as far as [`TrainConfig::bytes_needed`] can
    /// tell), before any of it is asked for.
    fn check_memory(&self, net: &NetworkConfig) -> Result<()> {
        let need = self.bytes_needed(net);
        let have = physical_memory();
        if need.is_some_and(|n| have.is_none_or(|h| n <= h)) {
            return Ok(());
        }
        let gb = |b: u128| format!("{:.1} GB", b as f64 / 1e9);
        Err(Error::config(format!(
            "`hidden` {}, `layers` {}, `batch` {} and {} `threads` on these data need {} of \
             memory{}",
            self.hidden,
            self.layers,
            self.batch,
            self.threads,
            need.map_or("more than any machine's".to_string(), |n| format!(
                "about {}",
                gb(n)
            )),
            have.map_or(String::new(), |h| format!("; this machine has {}", gb(h)))
        )))
    }

    /// Every setting within its range, whatever the data.
    fn check_ranges(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        for (name, v) in [
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("iters", self.iters),
            ("batch", self.batch),
            ("threads", self.threads),
            ("patch", self.patch),
        ] {
            if v == 0 {
                return bad(format!("`{name}` must be at least 1"));
            }
        }
        if let Some(b) = self.time_budget
            && !(b.seconds.is_finite() && b.seconds > 0.0)
        {
            return bad(format!(
                "`time_budget` must be a positive number of seconds, got {}",
                b.seconds
            ));
        }
        if let Some(t) = self.step_threads
            && (t == 0 || self.threads % t != 0)
        {
            return bad(format!(
                "`step_threads` must divide `threads` ({}), got {t}",
                self.threads
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("`lr` must be a positive number, got {}", self.lr));
        }
        if let Some(c) = self.clip.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return bad(format!(
                "`clip` must be 0 (off) or a positive number, got {c}"
            ));
        }
        if let Some(v) = self.forget_bias {
            if self.cell != CellKind::Lstm {
                return bad("`forget_bias` applies to `cell` lstm only".into());
            }
            if !v.is_finite() {
                return bad("`forget_bias` must be a finite number".into());
            }
        }
        for (name, p) in [
            ("dropout", self.dropout),
            ("output_dropout", self.output_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return bad(format!("`{name}` must be at least 0 and below 1, got {p}"));
            }
        }
        if !(0.0..1.0).contains(&self.validation) {
            return bad(format!(
                "`validation` must be at least 0 and below 1, got {}",
                self.validation
            ));
        }
        if self.dropout > 0.0 && self.layers < 2 {
            return bad(
                "`dropout` acts between stacked layers: it needs `layers` 2 or more".into(),
            );
        }
        Ok(())
    }

    /// The batch fits the training split; the seed readout gets sequences of one length; a class
    /// at every step is read by the per-step readout, and only it.
    fn check_sets(&self, train: &SeqSet, test: &SeqSet) -> Result<()> {
        let steps = matches!(train.targets, Targets::Steps(_));
        if steps && self.patch > 1 {
            return Err(Error::config(format!(
                "`patch` {} reads several steps as one; the data label every step: use `patch` 1",
                self.patch
            )));
        }
        if steps != (self.readout == Readout::Step) {
            return Err(Error::config(if steps {
                format!(
                    "the data label every step: `readout` step reads them, not {}",
                    self.readout
                )
            } else {
                "`readout` step needs a label at every step (y of N×T); these data have one \
                 answer per sequence"
                    .to_string()
            }));
        }
        let n = train.len();
        if self.validation > 0.0 && n < 2 {
            return Err(Error::config(format!(
                "`validation` {} holds out part of the training sequences; there is {n}",
                self.validation
            )));
        }
        let kept = self.trained(train);
        if self.batch > kept {
            return Err(Error::config(if kept < n {
                format!(
                    "`batch` {} is larger than the {kept} training sequences that `validation` {} \
                     leaves of {n}",
                    self.batch, self.validation
                )
            } else {
                format!(
                    "`batch` {} is larger than the {n} training sequences",
                    self.batch
                )
            }));
        }
        let (lo, hi) = train.length_range();
        let (tlo, thi) = test.length_range();
        if self.readout == Readout::Seq && (lo != hi || tlo != thi || hi != thi) {
            return Err(Error::config(format!(
                "`readout` seq reads every step of sequences of one length; these have {}..{} steps: \
                 use `readout` last or mean",
                lo.min(tlo),
                hi.max(thi)
            )));
        }
        Ok(())
    }

    /// The text holds at least one batch of chunks, and something to validate on; the model
    /// reads forwards.
    fn check_text(&self, c: &Corpus) -> Result<()> {
        if self.bidirectional {
            return Err(Error::config(
                "`bidirectional` does not apply to a language model: predicting the next \
                 character, it cannot read ahead",
            ));
        }
        if self.readout == Readout::Step {
            return Err(Error::config(
                "`readout` step does not apply to a language model, which predicts at every step",
            ));
        }
        if self.patch > 1 {
            return Err(Error::config(
                "`patch` does not apply to a language model, which predicts every character",
            ));
        }
        if self.validation > 0.0 {
            return Err(Error::config(
                "`validation` does not apply to a language model: it validates on the text's \
                 last characters (`val_frac`)",
            ));
        }
        let (b, s) = (self.batch, self.seq_len);
        if s == 0 {
            return Err(Error::config("`seq_len` must be at least 1"));
        }
        if Streams::new(&c.train, b).chunks(s) == 0 {
            return Err(Error::config(format!(
                "{}: the training part holds {} characters, too few for `batch` {b} streams of \
                 `seq_len` {s}: it needs at least {} (a file of at least {} characters with \
                 `val_frac` {})",
                c.path.display(),
                c.train.len(),
                b * s + 1,
                ((b * s + 1) as f64 / (1.0 - c.val_frac)).ceil(),
                c.val_frac
            )));
        }
        if c.val.len() < 2 {
            return Err(Error::config(format!(
                "{}: the validation part (`val_frac` {}) holds {} characters; it needs at least 2",
                c.path.display(),
                c.val_frac,
                c.val.len()
            )));
        }
        Ok(())
    }
}
