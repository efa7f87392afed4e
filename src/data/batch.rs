//! [`Batch`]: one mini-batch of sequences, laid out as a network reads it.

use crate::real::Real;

/// One mini-batch as a network reads it: the inputs, targets and lengths of up to `capacity`
/// sequences of up to `max_steps` steps, laid out `[b][t][·]`, sized once. A loader writes a
/// batch into it, then declares it with [`Batch::begin`]; a network's workspace holds one.
#[derive(Debug, Clone)]
pub struct Batch<T: Real = f64> {
    /// Largest batch it holds.
    pub capacity: usize,
    /// Longest sequence it holds.
    pub max_steps: usize,
    /// Dense inputs `[b][t][D·patch]` of sequences: `t` patches of `patch` steps each.
    pub x: Vec<T>,
    /// Token ids `[b][t]` (text).
    pub tokens: Vec<u32>,
    /// Class targets: one per sequence `[b]`, or one per step `[b][t]` (tags, the next token).
    pub targets: Vec<u32>,
    /// Real-valued targets `[b][K]` (regression), standardised.
    pub values: Vec<T>,
    /// Steps of each sequence `[b]`, longest first (see [`Batch::begin`]).
    pub lens: Vec<usize>,
    /// Steps read as one input vector.
    pub patch: usize,
    b: usize,
    t: usize,
    active: Vec<usize>,
}

impl<T: Real> Batch<T> {
    /// Room for `capacity` sequences of `max_steps` steps: `dense` input numbers, `tokens` token
    /// ids, `targets` class targets and `values` real targets in all, each step `patch` steps
    /// of the data.
    pub fn new(
        capacity: usize,
        max_steps: usize,
        patch: usize,
        [dense, tokens, targets, values]: [usize; 4],
    ) -> Batch<T> {
        Batch {
            capacity,
            max_steps,
            x: vec![T::ZERO; dense],
            tokens: vec![0; tokens],
            targets: vec![0; targets],
            values: vec![T::ZERO; values],
            lens: vec![max_steps; capacity],
            patch: patch.max(1),
            b: 0,
            t: 0,
            active: vec![capacity; max_steps],
        }
    }

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

    /// Declares a batch of `b` sequences all `t` steps long (see [`Batch::begin`]).
    pub fn begin_full(&mut self, b: usize, t: usize) {
        self.lens[..b.min(self.capacity)].fill(t);
        self.begin(b, t);
    }

    /// Sequences of the declared batch (0 before [`Batch::begin`]).
    pub fn len(&self) -> usize {
        self.b
    }

    /// Whether no batch is declared yet.
    pub fn is_empty(&self) -> bool {
        self.b == 0
    }

    /// Steps of the declared batch's longest sequence (the layout's rows per sequence).
    pub fn steps(&self) -> usize {
        self.t
    }

    /// Sequences still running at each step of the declared batch `[t]`.
    pub fn active(&self) -> &[usize] {
        &self.active[..self.t]
    }
}
