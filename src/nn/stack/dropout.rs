//! Dropout between stacked layers and on the top layer's outputs: masks drawn from a
//! counter-based generator seeded per batch, sequence and layer, so that they are the same
//! whatever the thread count.

use crate::real::Real;

/// Dropout for one batch: keep each number with probability 1 − p and scale it by 1/(1 − p). The
/// mask of a sequence depends only on `key` (the seed and the iteration), the sequence's index in
/// the whole batch (`first` + its index in this shard) and the layer, so it is the same whatever
/// the thread count.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    /// Probability of dropping each number a layer hands to the next (`nn.LSTM(dropout=p)`).
    pub p: f64,
    /// Probability of dropping each of the top layer's outputs before the head (`nn.Dropout`
    /// before the decoder, as in PyTorch's word-language-model example); 0: none.
    pub top: f64,
    /// Seed of this batch's masks.
    pub key: u64,
    /// Index in the whole batch of this shard's first sequence.
    pub first: usize,
}

/// Draws layer `l`'s keep-mask (0 or 1/(1 − p)) for every number of `states` and writes the
/// dropped outputs.
pub(super) fn apply_dropout<T: Real>(
    p: f64,
    d: Dropout,
    l: usize,
    states: &[T],
    mask: &mut [T],
    out: &mut [T],
    b: usize,
) {
    let per_seq = states.len() / b.max(1);
    let keep = T::from_f64(1.0 / (1.0 - p));
    // Keep when a uniform 32-bit draw is at or above p·2³².
    let cut = (p * 4_294_967_296.0) as u64;
    for seq in 0..b {
        let mut rng = SplitMix64::new(d.key, (d.first + seq) as u64, l as u64);
        let range = seq * per_seq..(seq + 1) * per_seq;
        let (m, o, x) = (
            &mut mask[range.clone()],
            &mut out[range.clone()],
            &states[range],
        );
        let mut bits = 0u64;
        for (k, ((mv, ov), &xv)) in m.iter_mut().zip(o.iter_mut()).zip(x).enumerate() {
            if k % 2 == 0 {
                bits = rng.next();
            }
            let u = if k % 2 == 0 {
                bits & 0xffff_ffff
            } else {
                bits >> 32
            };
            *mv = if u >= cut { keep } else { T::ZERO };
            *ov = xv * *mv;
        }
    }
}

/// SplitMix64: a small counter-based generator, seeded per (batch key, sequence, layer).
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(key: u64, seq: u64, layer: u64) -> Self {
        let mut s = SplitMix64(key ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        s.0 ^= s.next() ^ layer.wrapping_mul(0xd1b5_4a32_d192_ed03);
        s
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
