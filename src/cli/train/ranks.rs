//! `mpirun -np N blasrnn train …`: a run across processes, when the binary is built with the
//! feature `mpi` and started by an MPI launcher (see `blasrnn::ranks`).

use anyhow::Result;
use blasrnn::ranks::Ranks;
use blasrnn::train::Training;
use std::sync::Arc;

/// The run's ranks, attached to `run`: `None` for a process started alone (or a binary built
/// without the feature `mpi`).
#[cfg(feature = "mpi")]
pub fn attach(run: &mut Training) -> Result<Option<Arc<dyn Ranks>>> {
    let Some(world) = blasrnn::ranks::mpi::World::init() else {
        return Ok(None);
    };
    let world: Arc<dyn Ranks> = Arc::new(world);
    run.set_ranks(world.clone())?;
    Ok(Some(world))
}

/// Without the feature `mpi`: a process is alone.
#[cfg(not(feature = "mpi"))]
pub fn attach(_run: &mut Training) -> Result<Option<Arc<dyn Ranks>>> {
    Ok(None)
}

/// Whether any rank says `mine` (every rank calls it at once).
pub fn any(ranks: &dyn Ranks, mine: bool) -> bool {
    let all = blasrnn::ranks::gather_one(ranks, f64::from(u8::from(mine)));
    all.iter().any(|&v| v != 0.0)
}
