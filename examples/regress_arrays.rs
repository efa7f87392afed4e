//! A regression model on your own arrays: each sequence is a noisy sine wave, and the number to
//! predict is its frequency. Trained, then asked about waves it never saw, one at a time.
//!
//! `cargo run --release --example regress_arrays`

use blasrnn::data::Labelled;
use blasrnn::{Control, Dataset, SeqSet, TrainConfig};

/// `n` waves of 30 steps of 1 number, `[n][30][1]`, and their frequencies.
fn waves(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut freqs) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let (freq, phase) = (0.1 + 0.5 * uniform(), uniform() * std::f64::consts::TAU);
        x.extend((0..30).map(|s| (phase + freq * s as f64).sin() + 0.1 * (uniform() - 0.5)));
        freqs.push(freq);
    }
    (x, freqs)
}

fn main() -> blasrnn::Result<()> {
    let set = |n, seed| -> blasrnn::Result<SeqSet> {
        let (x, freqs) = waves(n, seed);
        SeqSet::from_arrays(&x, [n, 30, 1], None, None)?.with_values(freqs, 1, vec!["freq".into()])
    };
    let data = Dataset::Labelled(Labelled::new(set(400, 1)?, set(100, 2)?)?);

    // The defaults for numbers (a fifth of the training waves validates, the best parameters
    // kept), made smaller: this trains in a second or two.
    let mut cfg = TrainConfig::for_data(&data);
    cfg.hidden = 32;
    cfg.set_epochs(30, &data);
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue)?;

    let Dataset::Labelled(sets) = &data else {
        unreachable!("labelled")
    };
    let e = model.evaluate(blasrnn::data::Data::Labelled(&sets.test), 1)?;
    let errors = e.values.expect("a regression's errors");
    println!(
        "test RMSE {:.4} (predicting the training mean: {:.4})",
        errors.rmse, errors.mean_baseline_rmse
    );
    let (x, freqs) = waves(3, 3);
    for (wave, freq) in x.chunks(30).zip(freqs) {
        let guess = model.regress_one(wave, [30, 1])?[0];
        println!("frequency {freq:.3}, predicted {guess:.3}");
    }
    Ok(())
}
