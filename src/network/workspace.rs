//! [`Workspace`]: every buffer a batch needs, sized once, and the batch declared in it.

use crate::data::Batch;
use crate::nn::head::HeadBuffers;
use crate::nn::stack::StackBuffers;
use crate::real::Real;

/// Every buffer one batch needs, allocated once for up to `capacity` sequences of up to
/// `max_steps` steps: the batch itself and what the passes write.
pub struct Workspace<T: Real = f64> {
    /// The batch the network reads (a loader writes it).
    pub batch: Batch<T>,
    /// Parameter gradients, laid out like the parameters (accumulated by `backward`).
    pub grad: Vec<T>,
    pub(super) carried: bool,
    pub(super) stack: StackBuffers<T>,
    pub(super) head: HeadBuffers<T>,
    pub(super) ones: Vec<T>,
}

impl<T: Real> Workspace<T> {
    /// Probabilities of the last `forward`: `[b][K]`, or `[b·t][V]` for a language model.
    pub fn probs(&self, rows: usize, k: usize) -> &[T] {
        self.head.probs(rows, k)
    }

    /// Subnormal numbers among every number the workspace holds (the batch's inputs, every
    /// activation, gradient and cache the products read and write): `(subnormal, all)`.
    pub fn subnormals(&self) -> (usize, usize) {
        let single = T::DTYPE == crate::real::Dtype::F32;
        let bufs = [
            &self.batch.x[..],
            &self.batch.values,
            &self.grad,
            &self.ones,
        ];
        let (mut sub, mut all) = (0, 0);
        for b in bufs
            .into_iter()
            .chain(self.stack.all())
            .chain(self.head.all())
        {
            all += b.len();
            sub += b
                .iter()
                .filter(|v| crate::blas::flush::is_subnormal(v.to_f64(), single))
                .count();
        }
        (sub, all)
    }

    /// Whether the next batch starts from the carried state (else from zeros).
    pub fn carried(&self) -> bool {
        self.carried
    }
}
