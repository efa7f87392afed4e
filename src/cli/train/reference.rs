//! `blasrnn train --algo reference`: the original program's algorithm replayed, one image at a
//! time, on MNIST; the flags that would change it are refused.

use super::TrainArgs;
use super::settings::given;
use crate::cli::console::Console;
use crate::cli::{banner, peak_rss_mb};
use anyhow::{Result, bail};
use blasrnn::data::mnist::Mnist;
use blasrnn::reference::{IMAGES_PER_ITER, Reference};
use clap::ArgMatches;
use serde_json::json;
use std::time::Instant;

/// `--algo reference` replays the original exactly; flags that would change it are refused.
pub fn flags_ok(m: &ArgMatches) -> Result<()> {
    let fixed = [
        "text",
        "cell",
        "layers",
        "epochs",
        "batch",
        "seq_len",
        "optimizer",
        "lr_schedule",
        "warmup",
        "clip",
        "readout",
        "init",
        "forget_bias",
        "dropout",
        "output_dropout",
        "dtype",
        "save",
        "save_every",
        "resume",
        "stop_at",
        "eval_every",
        "log",
        "plot",
        "threads",
        "raw_pixels",
    ];
    for id in fixed {
        if given(m, id) {
            bail!(
                "--{} does not apply to --algo reference, which replays the original program \
                 (tanh cell, seed readout and initialisation, SGD one image at a time, raw pixels, \
                 one thread); it takes --iters, --hidden, --lr, --seed, --log-every, --json, --data",
                id.replace('_', "-")
            );
        }
    }
    Ok(())
}

pub fn train(a: TrainArgs) -> Result<()> {
    let data = Mnist::load(&a.data)?;
    let lr = a.lr.unwrap_or(0.01);
    if !(lr.is_finite() && lr > 0.0) {
        bail!("--lr must be a positive number, got {lr}");
    }
    let (iters, h, seed) = (
        a.iters.unwrap_or(2500) as usize,
        a.hidden.unwrap_or(50) as usize,
        a.seed.unwrap_or(1),
    );
    let console = Console::new(a.json, a.quiet);
    banner(&console, 1);
    console.say(format_args!(
        "reference: the original algorithm, H={h}, {iters} iterations of {IMAGES_PER_ITER} consecutive images \
         from a random offset, one image at a time with 10 BPTT passes each, SGD lr {lr}, raw pixels, seed {seed}"
    ));
    let mut r = Reference::new(h, data.train.steps, data.train.dims, lr, seed);
    let mut train_seconds = 0.0;
    for it in 0..iters {
        let start = Instant::now();
        r.iteration(&data.train);
        train_seconds += start.elapsed().as_secs_f64();
        if a.log_every > 0 && ((it + 1) % a.log_every as usize == 0 || it + 1 == iters) {
            // As the original: accuracy on 100 random training images (not timed).
            let acc = r.sample_accuracy(&data.train, 100);
            console.progress_line(format_args!(
                "iter {:>5}/{iters}  accuracy on 100 random training images {:.2}  {:.0} images/s",
                it + 1,
                acc,
                ((it + 1) * IMAGES_PER_ITER) as f64 / train_seconds
            ));
        }
    }
    let samples = iters * IMAGES_PER_ITER;
    let sps = samples as f64 / train_seconds;
    let test_acc = r.accuracy(&data.test);
    let n = data.test.len();
    console.say(format_args!(
        "test accuracy {:.2}% ({} / {n})",
        100.0 * test_acc,
        (test_acc * n as f64).round() as usize
    ));
    console.say(format_args!(
        "trained {samples} images in {train_seconds:.2} s: {sps:.0} images/s"
    ));
    if a.json {
        let out = json!({
            "algo": "reference",
            "test_accuracy": test_acc,
            "train_seconds": train_seconds,
            "train_samples": samples,
            "train_samples_per_sec": sps,
            "backend": blasrnn::blas::backend(),
            "threads": 1,
            "hidden": h,
            "iters": iters,
            "lr": lr,
            "seed": seed,
            "peak_rss_mb": peak_rss_mb(),
        });
        println!("{out}");
    }
    Ok(())
}
