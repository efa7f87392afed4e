//! A classifier on your own arrays: sequences made here (noisy sine waves of three frequencies),
//! trained, saved, loaded back and asked for the classes of sequences it never saw.
//!
//! `cargo run --release --example classify_arrays`

use blasrnn::data::Labelled;
use blasrnn::{Control, Dataset, Event, Model, SeqSet, TrainConfig};

/// `n` sequences of 8..=24 steps of 2 numbers — a sine of one of three frequencies and its
/// cosine, with noise — their lengths and their classes (the frequency), as arrays
/// `[n][24][2]`, `[n]`, `[n]`.
fn waves(n: usize, seed: u64) -> (Vec<f32>, Vec<usize>, Vec<usize>) {
    let (t, d) = (24, 2);
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f32 / (1u64 << 53) as f32
    };
    let (mut x, mut lens, mut y) = (vec![0.0; n * t * d], Vec::new(), Vec::new());
    for i in 0..n {
        let class = i % 3;
        let len = 8 + (uniform() * 17.0) as usize % 17;
        let (freq, phase) = (0.2 + 0.25 * class as f32, uniform() * std::f32::consts::TAU);
        for s in 0..len {
            let a = phase + freq * s as f32;
            x[(i * t + s) * d] = a.sin() + 0.2 * (uniform() - 0.5);
            x[(i * t + s) * d + 1] = a.cos() + 0.2 * (uniform() - 0.5);
        }
        lens.push(len);
        y.push(class);
    }
    (x, lens, y)
}

fn main() -> blasrnn::Result<()> {
    let (x, lens, y) = waves(300, 1);
    let train = SeqSet::from_arrays(&x, [300, 24, 2], Some(&lens), Some(&y))?;
    let (x, lens, y) = waves(90, 2);
    let test = SeqSet::from_arrays(&x, [90, 24, 2], Some(&lens), Some(&y))?;
    let data = Dataset::Labelled(Labelled::new(train, test)?);

    // The defaults for sequences (two GRU layers of 128 reading each sequence's last state),
    // made smaller: this trains in a second or two.
    let mut cfg = TrainConfig::for_data(&data);
    cfg.hidden = 32;
    cfg.set_epochs(15, &data);
    let model = blasrnn::fit(&cfg, &data, |event| {
        if let Event::Report(r) = event {
            println!("{r}");
        }
        Control::Continue
    })?;

    let path = std::env::temp_dir().join("blasrnn-classify-arrays.safetensors");
    model.save(&path)?;
    let model = Model::load(&path)?;
    let Dataset::Labelled(sets) = &data else {
        unreachable!("labelled")
    };
    let predictions = model.classify(&sets.test)?;
    let right = predictions
        .iter()
        .zip(&sets.test.labels)
        .filter(|(p, label)| p.class == **label as usize)
        .count();
    println!(
        "{}: {right} of {} test sequences right; the first is class {} (p = {:.3})",
        path.display(),
        predictions.len(),
        predictions[0].name,
        predictions[0].probabilities[predictions[0].class]
    );
    std::fs::remove_file(&path).ok();
    Ok(())
}
