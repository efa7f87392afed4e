//! `bench --exchange` under `mpirun`: what one training step's exchange between the ranks costs
//! for each workload's gradient (see docs/distributed.md).

use super::console::Console;
use anyhow::Result;
use serde_json::{Map, Value};
use std::path::Path;

/// Measures the exchange of the seed model's and the language model's gradients.
#[cfg(feature = "mpi")]
pub fn run(
    console: &Console,
    mnist: &Path,
    text: &Path,
    out: &mut Map<String, Value>,
) -> Result<()> {
    use blasrnn::data::Kind;
    use blasrnn::data::mnist::Mnist;
    use blasrnn::data::text::Corpus;
    use blasrnn::network::Network;
    use blasrnn::ranks::Ranks;
    use blasrnn::train::TrainConfig;
    let Some(world) = blasrnn::ranks::mpi::World::init() else {
        anyhow::bail!("--exchange measures the ranks of an MPI job: run it under mpirun");
    };
    let seed = TrainConfig::for_kind(Kind::Images).classifier(&Mnist::load(mnist)?.train);
    let vocab = Corpus::load(text, 0.1, None)?.vocab.len();
    let lm = TrainConfig::for_kind(Kind::Text).language_model(vocab);
    let (p, rank) = (world.size(), world.rank());
    let said = |line: std::fmt::Arguments| {
        if rank == 0 {
            console.say(line);
        }
    };
    said(format_args!(
        "{p} ranks: a step's exchange (Alltoallv of the gradient, Allgatherv of the parameters), f32, medians of 60"
    ));
    for (key, what, config) in [("seed", "seed model", seed), ("lm", "language model", lm)] {
        let n = Network::<f32>::new(config).num_params();
        let ms = 1e3 * time(&world, n, 60);
        let gbs = 2.0 * (p - 1) as f64 / p as f64 * n as f64 * 4.0 / (ms * 1e-3) / 1e9;
        said(format_args!(
            "{what}: {n} floats ({:.2} MB): {ms:.3} ms, {gbs:.2} GB/s a rank",
            n as f64 * 4e-6
        ));
        out.insert(format!("exchange_{key}_ms"), ms.into());
    }
    if rank == 0 {
        // Rank 0 alone prints the JSON object.
        out.insert("exchange_ranks".into(), p.into());
    }
    Ok(())
}

/// The median seconds of `reps` exchanges of `n` numbers cut into one range a rank.
#[cfg(feature = "mpi")]
fn time(ranks: &dyn blasrnn::ranks::Ranks, n: usize, reps: usize) -> f64 {
    let p = ranks.size();
    let at = |r: usize| n * r / p;
    let counts: Vec<i32> = (0..p).map(|r| (at(r + 1) - at(r)) as i32).collect();
    let mine = counts[ranks.rank()] as usize;
    let mut displs = vec![0; p];
    blasrnn::ranks::displacements(&counts, &mut displs);
    let recv_counts = vec![mine as i32; p];
    let mut recv_displs = vec![0; p];
    blasrnn::ranks::displacements(&recv_counts, &mut recv_displs);
    let send = vec![1.0f32; n];
    let mut recv = vec![0.0f32; mine * p];
    let mut params = vec![0.0f32; n];
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            // All ranks start together: a gather of one number each.
            blasrnn::ranks::gather_one(ranks, 0.0);
            let t = std::time::Instant::now();
            ranks.exchange_f32(
                &send,
                &counts,
                &displs,
                &mut recv,
                &recv_counts,
                &recv_displs,
            );
            ranks.gather_f32(&send[..mine], &mut params, &counts, &displs);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

/// Without the feature `mpi` there are no ranks to measure.
#[cfg(not(feature = "mpi"))]
pub fn run(_: &Console, _: &Path, _: &Path, _: &mut Map<String, Value>) -> Result<()> {
    anyhow::bail!(
        "--exchange measures the ranks of an MPI job: build with --features mpi and run it under mpirun"
    )
}
