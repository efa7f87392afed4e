//! `blasrnn bench --scaling`: the projected speedup of the seed model and the language model on
//! 1 to 64 threads, from what one thread does with its part (see `blasrnn::bench::scaling`).

use super::console::Console;
use anyhow::Result;
use blasrnn::bench::scaling::{Scaling, scaling};
use blasrnn::data::Kind;
use blasrnn::data::mnist::Mnist;
use blasrnn::data::text::Corpus;
use blasrnn::train::{Data, TrainConfig};
use serde_json::{Map, Value, json};
use std::path::Path;

/// The thread counts projected.
pub const COUNTS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Measures and prints the scaling of the seed model (when `mnist` is given) and of the
/// language model (when `text` is), into `out` as well.
pub fn run(
    console: &Console,
    mnist: Option<&Path>,
    text: Option<&Path>,
    iters: usize,
    out: &mut Map<String, Value>,
) -> Result<()> {
    if let Some(dir) = mnist {
        let m = Mnist::load(dir)?;
        let config = TrainConfig::for_kind(Kind::Images);
        let model = config.classifier(&m.train);
        let s = scaling::<f64>(Data::Labelled(&m.train), &config, model, &COUNTS, iters)?;
        show(console, "seed model (tanh, H=50, batch 100, f64)", &s);
        out.insert("scaling_seed".into(), to_json(&s));
    }
    if let Some(path) = text {
        let corpus = Corpus::load(path, 0.1, None)?;
        let config = TrainConfig::for_kind(Kind::Text);
        let model = config.language_model(corpus.vocab.len());
        let data = Data::Text(&corpus.train);
        let s = scaling::<f32>(data, &config, model, &COUNTS, iters)?;
        show(
            console,
            "language model (lstm 2×256, 64 streams × 100 chars, f32)",
            &s,
        );
        out.insert("scaling_lm".into(), to_json(&s));
    }
    Ok(())
}

/// The table of one workload.
fn show(console: &Console, what: &str, s: &Scaling) {
    console.say(format_args!(
        "scaling of the {what}: one thread {:.2} ms an iteration ({:.1}% of it the reduction, clip \
         and update); a meeting of two threads {:.2} µs, a fork and join of two shards {:.2} µs",
        s.one_thread * 1e3,
        100.0 * s.one_thread_update / s.one_thread,
        s.meeting * 1e6,
        s.fork * 1e6
    ));
    console.say(format_args!(
        "{:>7}  {:>6} × {:<4}  {:>9}  {:>9}  {:>9}  {:>8}  {:>8}",
        "threads", "shards", "team", "work ms", "update ms", "meet ms", "speedup", "measured"
    ));
    for p in &s.projections {
        console.say(format_args!(
            "{:>7}  {:>6} × {:<4}  {:>9.3}  {:>9.3}  {:>9.3}  {:>7.2}×  {:>8}",
            p.threads,
            p.groups,
            p.team,
            p.work * 1e3,
            p.update * 1e3,
            p.meet * 1e3,
            p.speedup,
            p.measured
                .map(|m| format!("{m:.2}×"))
                .unwrap_or_else(|| "-".into())
        ));
    }
}

fn to_json(s: &Scaling) -> Value {
    json!({
        "one_thread_secs": s.one_thread,
        "one_thread_update_secs": s.one_thread_update,
        "meeting_secs": s.meeting,
        "fork_secs": s.fork,
        "projections": s.projections.iter().map(|p| json!({
            "threads": p.threads,
            "shards": p.groups,
            "team": p.team,
            "work_secs": p.work,
            "update_secs": p.update,
            "meet_secs": p.meet,
            "speedup": p.speedup,
            "measured_speedup": p.measured,
        })).collect::<Vec<_>>(),
    })
}
