//! Training across processes: what a step needs from the other ranks of a run, and nothing of
//! how they are reached. [`Ranks`] is that need; with the feature `mpi`, `mpi::World` meets it
//! over MPI.
//!
//! Every rank holds the whole model and runs its shards of every batch; the gradient is summed
//! across ranks in shard order ([`Ranks::exchange_f32`] gives each rank the pieces of its range
//! of the parameters), clipped and applied on that range, and the ranges are gathered back
//! ([`Ranks::gather_f32`]): every rank holds the same weights after every step.

#[cfg(feature = "mpi")]
#[allow(unsafe_code)]
pub mod mpi;

/// The processes of one run. Counts and displacements are in numbers, per rank, in rank order
/// (MPI's `alltoallv` and `allgatherv`).
pub trait Ranks: Send + Sync {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;
    /// How many ranks the run has.
    fn size(&self) -> usize;
    /// Every rank sends block r of `send` (`send_counts[r]` numbers at `send_displs[r]`) to rank
    /// r, and receives rank r's block for it into `recv` (`recv_counts[r]` numbers at
    /// `recv_displs[r]`).
    #[allow(clippy::too_many_arguments)]
    fn exchange_f32(
        &self,
        send: &[f32],
        send_counts: &[i32],
        send_displs: &[i32],
        recv: &mut [f32],
        recv_counts: &[i32],
        recv_displs: &[i32],
    );
    /// As [`Ranks::exchange_f32`], for `f64`.
    #[allow(clippy::too_many_arguments)]
    fn exchange_f64(
        &self,
        send: &[f64],
        send_counts: &[i32],
        send_displs: &[i32],
        recv: &mut [f64],
        recv_counts: &[i32],
        recv_displs: &[i32],
    );
    /// Every rank's `send` (`counts[r]` numbers from rank r, at `displs[r]` of `recv`), on
    /// every rank.
    fn gather_f32(&self, send: &[f32], recv: &mut [f32], counts: &[i32], displs: &[i32]);
    /// As [`Ranks::gather_f32`], for `f64`.
    fn gather_f64(&self, send: &[f64], recv: &mut [f64], counts: &[i32], displs: &[i32]);
}

/// A number type that ranks exchange (`f32`, `f64`).
pub trait Exchange: Copy + Sized {
    /// [`Ranks::exchange_f32`] or its `f64` twin.
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        ranks: &dyn Ranks,
        send: &[Self],
        send_counts: &[i32],
        send_displs: &[i32],
        recv: &mut [Self],
        recv_counts: &[i32],
        recv_displs: &[i32],
    );
    /// [`Ranks::gather_f32`] or its `f64` twin.
    fn gather(ranks: &dyn Ranks, send: &[Self], recv: &mut [Self], counts: &[i32], displs: &[i32]);
}

/// `Exchange` for a number type through its twins of [`Ranks`]' methods.
macro_rules! exchange_through {
    ($t:ty, $exchange:ident, $gather:ident) => {
        impl Exchange for $t {
            fn exchange(
                ranks: &dyn Ranks,
                send: &[$t],
                sc: &[i32],
                sd: &[i32],
                recv: &mut [$t],
                rc: &[i32],
                rd: &[i32],
            ) {
                ranks.$exchange(send, sc, sd, recv, rc, rd);
            }

            fn gather(ranks: &dyn Ranks, send: &[$t], recv: &mut [$t], c: &[i32], d: &[i32]) {
                ranks.$gather(send, recv, c, d);
            }
        }
    };
}

exchange_through!(f32, exchange_f32, gather_f32);
exchange_through!(f64, exchange_f64, gather_f64);

/// Every rank's `v`, in rank order (every rank calls it at once).
pub fn gather_one(ranks: &dyn Ranks, v: f64) -> Vec<f64> {
    let p = ranks.size();
    let mut all = vec![0.0; p];
    let displs: Vec<i32> = (0..p as i32).collect();
    ranks.gather_f64(&[v], &mut all, &vec![1; p], &displs);
    all
}

/// Displacements of blocks of `counts` numbers laid back to back.
pub fn displacements(counts: &[i32], displs: &mut [i32]) {
    let mut at = 0;
    for (d, &c) in displs.iter_mut().zip(counts) {
        *d = at;
        at += c;
    }
}
