//! Streaming prediction: a classifier fed one time step at a time, as a sensor would feed it,
//! saying at every step which class the sequence so far looks like. Nothing is allocated per
//! step.
//!
//! `cargo run --release --example stream`

use blasrnn::data::Labelled;
use blasrnn::stream::Output;
use blasrnn::{Control, Dataset, Readout, SeqSet, TrainConfig};

/// `n` sequences of 20 steps of one number: a ramp up (class 0), a ramp down (class 1) or a
/// flat line (class 2), each with noise. `[n][20][1]` and `[n]`.
fn ramps(n: usize) -> (Vec<f64>, Vec<usize>) {
    let mut x = Vec::with_capacity(n * 20);
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    for (i, &class) in y.iter().enumerate() {
        for s in 0..20 {
            let trend = [0.1, -0.1, 0.0][class] * s as f64;
            let noise = (((i * 7919 + s * 104_729) % 1000) as f64 / 1000.0 - 0.5) * 0.6;
            x.push(trend + noise);
        }
    }
    (x, y)
}

fn main() -> blasrnn::Result<()> {
    let (x, y) = ramps(240);
    let train = SeqSet::from_arrays(&x, [240, 20, 1], None, Some(&y))?;
    let (x, y) = ramps(60);
    let test = SeqSet::from_arrays(&x, [60, 20, 1], None, Some(&y))?;
    let data = Dataset::Labelled(Labelled::new(train, test)?);
    let mut cfg = TrainConfig::for_data(&data);
    (cfg.hidden, cfg.layers, cfg.readout) = (24, 1, Readout::Last);
    cfg.set_epochs(40, &data);
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue)?;

    // A ramp down, arriving one reading at a time.
    let mut live = model.stream()?;
    for s in 0..20 {
        let reading = -0.1 * s as f64 + if s % 2 == 0 { 0.05 } else { -0.05 };
        if let Some(Output::Class {
            step,
            name,
            probabilities,
            ..
        }) = live.push(&[reading])?
        {
            let shown: Vec<String> = probabilities.iter().map(|p| format!("{p:.2}")).collect();
            println!(
                "step {step:>2}: reading {reading:>5.2} → class {name}  p = [{}]",
                shown.join(", ")
            );
        }
    }
    Ok(())
}
