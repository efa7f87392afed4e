//! [`Ranks`] over MPI (the `mpi` crate, on the system's Open MPI or MPICH): the processes an
//! `mpirun` started, found by [`World::init`].

use super::Ranks;
use mpi::Threading;
use mpi::datatype::{Equivalence, Partition, PartitionMut};
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

/// The processes of an MPI job, `MPI_COMM_WORLD`. MPI is finalised when it is dropped.
pub struct World {
    world: SimpleCommunicator,
    _universe: Universe,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("rank", &self.world.rank())
            .field("size", &self.world.size())
            .finish()
    }
}

impl World {
    /// MPI initialised, when this process was started by an MPI launcher (`mpirun`, `srun`):
    /// `None` for a process started alone, or when MPI was initialised already.
    pub fn init() -> Option<World> {
        let launched = [
            "OMPI_COMM_WORLD_SIZE",
            "PMI_SIZE",
            "PMIX_RANK",
            "MPI_LOCALNRANKS",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
        if !launched {
            return None;
        }
        // Serialized: the step that calls the collectives may run on any thread, one at a time.
        let (universe, _) = mpi::initialize_with_threading(Threading::Serialized)?;
        Some(World {
            world: universe.world(),
            _universe: universe,
        })
    }
}

// SAFETY: `World` holds MPI handles, which MPI lets any thread use when it is initialised at
// `MPI_THREAD_SERIALIZED` (as `init` does) and the calls do not overlap: the engine makes them
// only from the thread running a training step, one step at a time.
unsafe impl Send for World {}
// SAFETY: as above; `&World` is only used by that one thread at a time.
unsafe impl Sync for World {}

impl Ranks for World {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn exchange_f32(
        &self,
        send: &[f32],
        sc: &[i32],
        sd: &[i32],
        recv: &mut [f32],
        rc: &[i32],
        rd: &[i32],
    ) {
        exchange(&self.world, (send, sc, sd), (recv, rc, rd));
    }

    fn exchange_f64(
        &self,
        send: &[f64],
        sc: &[i32],
        sd: &[i32],
        recv: &mut [f64],
        rc: &[i32],
        rd: &[i32],
    ) {
        exchange(&self.world, (send, sc, sd), (recv, rc, rd));
    }

    fn gather_f32(&self, send: &[f32], recv: &mut [f32], counts: &[i32], displs: &[i32]) {
        gather(&self.world, send, (recv, counts, displs));
    }

    fn gather_f64(&self, send: &[f64], recv: &mut [f64], counts: &[i32], displs: &[i32]) {
        gather(&self.world, send, (recv, counts, displs));
    }
}

/// `MPI_Alltoallv` of `send` (numbers, counts, displacements) into `recv`.
fn exchange<T: Equivalence>(
    world: &SimpleCommunicator,
    (send, sc, sd): (&[T], &[i32], &[i32]),
    (recv, rc, rd): (&mut [T], &[i32], &[i32]),
) {
    let send = Partition::new(send, sc, sd);
    let mut recv = PartitionMut::new(recv, rc, rd);
    world.all_to_all_varcount_into(&send, &mut recv);
}

/// `MPI_Allgatherv` of `send` into `recv` (numbers, counts, displacements).
fn gather<T: Equivalence>(
    world: &SimpleCommunicator,
    send: &[T],
    (recv, counts, displs): (&mut [T], &[i32], &[i32]),
) {
    let mut recv = PartitionMut::new(recv, counts, displs);
    world.all_gather_varcount_into(send, &mut recv);
}
