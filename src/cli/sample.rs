//! `blasrnn sample`: text from a saved language model, streamed to stdout as it is drawn.

use super::with_dtype;
use anyhow::{Result, bail};
use blasrnn::checkpoint::{Checkpoint, DataInfo};
use blasrnn::data::text::show_chars;
use blasrnn::model::Model;
use blasrnn::real::Real;
use blasrnn::sample::{SampleConfig, Sampler};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct SampleArgs {
    /// A language model saved by `train --text … --save`.
    #[arg(long)]
    model: PathBuf,
    /// Text run through the model first (printed, then continued) [default: a newline].
    #[arg(long, default_value = "")]
    prime: String,
    /// Characters to generate.
    #[arg(long, default_value_t = 1000)]
    length: usize,
    /// Divides the logits before the softmax: below 1 safer, above 1 more varied (> 0).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    temperature: f64,
    /// Draw only among the K most likely characters.
    #[arg(long)]
    top_k: Option<usize>,
    /// Seed of the draws (the same seed gives the same text).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// After the text, print one JSON object (the text, characters/s, settings) as the last line.
    #[arg(long)]
    json: bool,
}

pub fn run(a: SampleArgs) -> Result<()> {
    if !(a.temperature.is_finite() && a.temperature > 0.0) {
        bail!(
            "--temperature must be a positive number, got {}",
            a.temperature
        );
    }
    if a.top_k == Some(0) {
        bail!("--top-k must be at least 1");
    }
    let ck = blasrnn::checkpoint::load(&a.model)?;
    if let DataInfo::Classes { .. } = ck.data {
        bail!(
            "{}: a classifier, which does not generate text: sampling needs a language model (train --text FILE)",
            a.model.display()
        );
    }
    with_dtype!(ck.dtype, sample_in(a, ck))
}

fn sample_in<T: Real>(a: SampleArgs, ck: Checkpoint) -> Result<()> {
    let DataInfo::Text(vocab) = &ck.data else {
        unreachable!("checked: a language model")
    };
    let prime = vocab.encode(&a.prime).map_err(|missing| {
        anyhow::anyhow!(
            "--prime holds characters the model's vocabulary lacks: {}",
            show_chars(&missing)
        )
    })?;
    let model = Model::<T>::new(ck.config);
    let mut params = vec![T::ZERO; model.num_params()];
    blasrnn::real::convert(&ck.params, &mut params);
    let config = SampleConfig {
        temperature: a.temperature,
        top_k: a.top_k,
        seed: a.seed,
    };
    let mut out = std::io::stdout().lock();
    write!(out, "{}", a.prime)?;
    let mut text = String::with_capacity(a.length);
    let start = Instant::now();
    let mut sampler = Sampler::new(&model, &params, config, 100);
    sampler.start(vocab, &prime);
    let first = sampler.distribution().to_vec();
    for _ in 0..a.length {
        let c = vocab.char(sampler.next_token());
        text.push(c);
        let mut buf = [0u8; 4];
        out.write_all(c.encode_utf8(&mut buf).as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| anyhow::anyhow!("cannot write the text to stdout: {e}"))?;
    }
    let secs = start.elapsed().as_secs_f64();
    writeln!(out)?;
    if a.json {
        let v = json!({
            "model": a.model.display().to_string(),
            "prime": a.prime,
            "text": text,
            "length": a.length,
            "temperature": a.temperature,
            "top_k": a.top_k,
            "seed": a.seed,
            "seconds": secs,
            "chars_per_sec": a.length as f64 / secs,
            // The distribution the first character was drawn from (after the prime).
            "first_distribution": first,
        });
        writeln!(out, "{v}")?;
    }
    Ok(())
}
