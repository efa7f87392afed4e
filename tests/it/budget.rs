//! Training for a time: the run fixes its schedule's length from its speed and records it; it is
//! the very run of that length fixed from the start; resumed from a checkpoint made after the
//! length was fixed, it ends with the uninterrupted run's weights.

use crate::common;

use blasrnn::checkpoint;
use blasrnn::data::{Dataset, Labelled};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::{Control, Event, RunOptions, TrainConfig, Training};

fn data() -> Dataset {
    let set = common::synthetic_split(300, 8, 6, 3);
    Dataset::Labelled(Labelled::new(set.clone(), set).unwrap())
}

fn budget_config(seconds: f64) -> TrainConfig {
    let mut cfg = TrainConfig {
        hidden: 24,
        batch: 20,
        warmup: 10,
        threads: 2,
        ..common::config(CellKind::Lstm, Readout::Last, 2, 7)
    };
    cfg.set_time_budget(seconds);
    cfg
}

#[test]
fn a_budget_fixes_records_and_resumes_its_schedule() {
    let data = data();
    let dir = tempfile::tempdir().unwrap();
    let (ckpt, kept) = (
        dir.path().join("run.safetensors"),
        dir.path().join("kept.safetensors"),
    );
    // The uninterrupted run, checkpointing every 25 iterations; the first checkpoint made after
    // the length was fixed is kept.
    let mut run = Training::new(&budget_config(1.5), &data).unwrap();
    let (mut fixed, mut copied) = (None, false);
    let options = RunOptions {
        save_every: 25,
        save_to: Some(ckpt.clone()),
        ..RunOptions::default()
    };
    let outcome = run
        .run(&options, |e| {
            match e {
                Event::Scheduled { iters } => fixed = Some(*iters),
                Event::Saved { .. } if fixed.is_some() && !copied => {
                    std::fs::copy(&ckpt, &kept).unwrap();
                    copied = true;
                }
                _ => {}
            }
            Control::Continue
        })
        .unwrap();
    let iters = fixed.expect("the run fixed its length");
    assert!(iters > 50, "1.5 s bought only {iters} iterations");
    assert_eq!(outcome.done, iters);
    assert_eq!(run.config().iters, iters);
    assert!(run.config().time_budget.unwrap().fixed);
    let whole = run.model().params();

    // The checkpoint records the length; resumed, the run ends with the same weights.
    let ck = checkpoint::load(&kept).unwrap();
    let saved = ck.training.clone().unwrap();
    assert_eq!(saved.iters, iters);
    assert!(saved.time_budget.unwrap().fixed);
    assert!(ck.iteration < iters);
    let mut resumed = Training::resume(&saved, &data, &ck).unwrap();
    resumed
        .run(&RunOptions::default(), |_| Control::Continue)
        .unwrap();
    assert!(
        resumed.model().params() == whole,
        "the resumed run differs from the uninterrupted one"
    );

    // A run of that length fixed from the start is the same run.
    let mut cfg = budget_config(1.0);
    (cfg.time_budget, cfg.iters) = (None, iters);
    let mut plain = Training::new(&cfg, &data).unwrap();
    plain
        .run(&RunOptions::default(), |_| Control::Continue)
        .unwrap();
    assert!(
        plain.model().params() == whole,
        "the budget's run is not the run of its length"
    );
}

#[test]
fn a_budget_must_be_positive() {
    let data = data();
    for seconds in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = Training::new(&budget_config(seconds), &data).err().unwrap();
        assert!(e.to_string().contains("`time_budget`"), "{e}");
    }
}
