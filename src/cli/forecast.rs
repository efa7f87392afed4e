//! `blasrnn forecast`: the next steps of a series, after its end, from a saved forecaster — as CSV
//! on stdout (`step,<column>`), or one JSON object.

use anyhow::Result;
use blasrnn::Model;
use blasrnn::data::DataInfo;
use blasrnn::data::series::read_csv;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct ForecastArgs {
    /// A forecaster saved by `train --series … --save`.
    #[arg(long)]
    model: PathBuf,
    /// The series (CSV with a header) whose next steps to forecast: its columns must include the
    /// model's, and it must hold at least the model's window of steps.
    #[arg(long)]
    series: PathBuf,
    /// Print one JSON object instead of CSV.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ForecastArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let series = read_csv(&a.series)?;
    let next = model
        .forecast(&series)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.model.display()))?;
    let DataInfo::Series {
        columns, target, ..
    } = model.info()
    else {
        unreachable!("forecast succeeds for forecasters only")
    };
    let column = &columns[*target];
    if a.json {
        println!(
            "{}",
            json!({
                "model": a.model.display().to_string(),
                "series": a.series.display().to_string(),
                "column": column,
                "after_step": series.len(),
                "forecast": next,
            })
        );
    } else {
        println!("step,{column}");
        for (h, v) in next.iter().enumerate() {
            println!("{},{v}", series.len() + h + 1);
        }
    }
    Ok(())
}
