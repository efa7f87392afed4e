//! A character-level language model: a small LSTM trained for a few hundred steps on a text,
//! then sampled.
//!
//! `cargo run --release --example char_lm [TEXT_FILE]` (default: tiny-shakespeare, which the
//! repository ships in `data/`).

use blasrnn::{Control, Event, SampleOptions, TrainConfig};
use std::path::PathBuf;

fn main() -> blasrnn::Result<()> {
    let path = std::env::args().nth(1).map_or_else(
        || PathBuf::from("data/tinyshakespeare/input.txt"),
        PathBuf::from,
    );
    let data = blasrnn::data::load_text(&path, 0.1)?;
    // The text defaults (two LSTM layers of 256, 64 streams of 100 characters), made small.
    let mut cfg = TrainConfig::for_data(&data);
    (cfg.layers, cfg.hidden, cfg.batch, cfg.seq_len) = (1, 128, 32, 50);
    (cfg.iters, cfg.warmup, cfg.lr) = (300, 20, 0.005);
    let model = blasrnn::fit(&cfg, &data, |event| {
        if let Event::Report(r) = event {
            println!("{r}");
        }
        Control::Continue
    })?;
    let options = SampleOptions {
        temperature: 0.8,
        ..SampleOptions::default()
    };
    println!("{}", model.sample("ROMEO:", 300, &options)?);
    Ok(())
}
