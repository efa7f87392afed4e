//! `blasrnn sample`: text from a saved language model, streamed to stdout as it is drawn.

use anyhow::Result;
use blasrnn::{Model, SampleOptions};
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
    /// Threads each character's step is split across [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Keep subnormal numbers instead of flushing them to zero [default: as the model was
    /// trained].
    #[arg(long)]
    keep_subnormals: bool,
    /// After the text, print one JSON object (the text, characters/s, settings) as the last line.
    #[arg(long)]
    json: bool,
}

pub fn run(a: SampleArgs) -> Result<()> {
    let options = SampleOptions {
        temperature: a.temperature,
        top_k: a.top_k,
        seed: a.seed,
        threads: a.threads.unwrap_or_else(blasrnn::train::default_threads),
        keep_subnormals: a.keep_subnormals,
    };
    options.check()?;
    let model = Model::load(&a.model)?;
    let mut sampler = model
        .sampler(&options)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.model.display()))?;
    sampler.start(&a.prime)?;
    let first = sampler.distribution().to_vec();
    let mut out = std::io::stdout().lock();
    write!(out, "{}", a.prime)?;
    let mut text = String::with_capacity(a.length);
    let start = Instant::now();
    for _ in 0..a.length {
        let c = sampler.next_char();
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
