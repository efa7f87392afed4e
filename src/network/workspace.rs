//! [`Workspace`]: every buffer a batch needs, sized once, and the batch declared in it.

use crate::nn::head::HeadBuffers;
use crate::nn::stack::StackBuffers;
use crate::real::Real;

/// Every buffer one batch needs, allocated once for up to `capacity` sequences of up to
/// `max_steps` steps.
pub struct Workspace<T: Real = f64> {
    /// Largest batch this workspace holds.
    pub capacity: usize,
    /// Longest sequence it holds.
    pub max_steps: usize,
    /// Dense inputs `[b][t][D·patch]` of the current batch (classification): `t` patches of
    /// `patch` steps each.
    pub x: Vec<T>,
    /// Token ids `[b][t]` (language model).
    pub tokens: Vec<u32>,
    /// Class targets: one per sequence `[b]`, or one per step `[b][t]` (tags, the next token).
    pub targets: Vec<u32>,
    /// Real-valued targets `[b][K]` (regression), standardised.
    pub values: Vec<T>,
    /// Steps of each sequence `[b]`, longest first (see [`Workspace::begin`]).
    pub lens: Vec<usize>,
    /// Steps read as one (the network's [`super::NetworkConfig::patch`]).
    pub patch: usize,
    /// Parameter gradients, laid out like the parameters (accumulated by `backward`).
    pub grad: Vec<T>,
    pub(super) b: usize,
    pub(super) t: usize,
    pub(super) active: Vec<usize>,
    pub(super) carried: bool,
    pub(super) stack: StackBuffers<T>,
    pub(super) head: HeadBuffers<T>,
    pub(super) ones: Vec<T>,
}

impl<T: Real> Workspace<T> {
    /// Declares the batch now in the buffers: `b` sequences of up to `t` steps laid out
    /// `[b][t][·]`, whose lengths are `lens[..b]`, longest first, each in 1..=t.
    ///
    /// # Panics
    /// When the batch does not fit or the lengths are not as described (a loader's bug).
    pub fn begin(&mut self, b: usize, t: usize) {
        assert!(
            (1..=self.capacity).contains(&b) && (1..=self.max_steps).contains(&t),
            "batch of {b} × {t} outside the workspace's {} × {}",
            self.capacity,
            self.max_steps
        );
        let lens = &self.lens[..b];
        assert!(
            lens.windows(2).all(|w| w[0] >= w[1]) && lens[0] <= t && lens[b - 1] >= 1,
            "sequence lengths must be sorted longest first, within 1..={t}: {lens:?}"
        );
        (self.b, self.t) = (b, t);
        for (step, n) in self.active[..t].iter_mut().enumerate() {
            *n = lens.partition_point(|&l| l > step);
        }
    }

    /// Declares a batch of `b` sequences all `t` steps long (see [`Workspace::begin`]).
    pub fn begin_full(&mut self, b: usize, t: usize) {
        self.lens[..b.min(self.capacity)].fill(t);
        self.begin(b, t);
    }

    /// Probabilities of the last `forward`: `[b][K]`, or `[b·t][V]` for a language model.
    pub fn probs(&self, rows: usize, k: usize) -> &[T] {
        self.head.probs(rows, k)
    }

    /// Steps of the current batch's longest sequence (the layout's rows per sequence).
    pub fn steps(&self) -> usize {
        self.t
    }

    /// Subnormal numbers among every number the workspace holds (the batch's inputs, every
    /// activation, gradient and cache the products read and write): `(subnormal, all)`.
    pub fn subnormals(&self) -> (usize, usize) {
        let single = T::DTYPE == crate::real::Dtype::F32;
        let bufs = [&self.x[..], &self.values, &self.grad, &self.ones];
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
