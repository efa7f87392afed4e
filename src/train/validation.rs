//! Early stopping's validation part: sequences carved from the training part before a run
//! starts, never trained on, on which the run keeps the parameters of its lowest loss.
//!
//! Which sequences are carved is a pure function of the set, the fraction and the seed, so that
//! a resumed run carves the same ones:
//! - classes: a share of each class (rounded; a class of one sequence keeps it for training),
//!   drawn from a shuffle seeded by the run's seed;
//! - real numbers: a seeded draw of the set;
//! - a series' windows: the latest ones, as the future the forecasts are for.

use crate::config::validation_len;
use crate::data::{SeqSet, Targets};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Mixed into the run's seed for the draw of the validation part (so that it does not share a
/// stream with the initialisation or the batch order).
const STREAM: u64 = 0x7661_6c69_6461_7465;

/// The indices of `set` carved for validation with `fraction` and `seed` (ascending); `latest`
/// takes the last ones (a series' windows, in time order) instead of a draw.
pub fn carve(set: &SeqSet, fraction: f64, seed: u64, latest: bool) -> Vec<usize> {
    let n = set.len();
    let want = validation_len(n, fraction);
    if want == 0 {
        return Vec::new();
    }
    if latest {
        return (n - want..n).collect();
    }
    let mut rng = StdRng::seed_from_u64(seed ^ STREAM);
    let mut all: Vec<usize> = (0..n).collect();
    all.shuffle(&mut rng);
    let mut picked: Vec<usize> = match set.targets {
        Targets::Classes => {
            let k = set.classes.len();
            let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
            for &i in &all {
                members[set.labels[i] as usize].push(i);
            }
            let mut picked: Vec<usize> = members
                .iter()
                .flat_map(|m| {
                    let take = if m.len() < 2 {
                        0
                    } else {
                        ((fraction * m.len() as f64).round() as usize).min(m.len() - 1)
                    };
                    m[..take].iter().copied()
                })
                .collect();
            if picked.is_empty() {
                // Every class too small for its share: one sequence of a class that has
                // another to train on (of any class, when none has).
                let spare = all
                    .iter()
                    .find(|&&i| members[set.labels[i] as usize].len() > 1);
                picked.push(*spare.unwrap_or(&all[0]));
            }
            picked
        }
        _ => all[..want].to_vec(),
    };
    picked.sort_unstable();
    picked
}

/// `set` cut in two: the sequences that train, and the validation part `idx` (from [`carve`]).
pub fn split(set: &SeqSet, idx: &[usize]) -> (SeqSet, SeqSet) {
    let mut held = vec![false; set.len()];
    idx.iter().for_each(|&i| held[i] = true);
    let train: Vec<usize> = (0..set.len()).filter(|&i| !held[i]).collect();
    (set.subset(&train), set.subset(idx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_of_every_class_is_carved_the_same_for_a_seed() {
        let labels: Vec<usize> = (0..50).map(|i| usize::from(i % 5 == 0)).collect();
        let x = vec![0.0f64; 50];
        let set = SeqSet::from_arrays(&x, [50, 1, 1], None, Some(&labels)).unwrap();
        let a = carve(&set, 0.2, 3, false);
        assert_eq!(a, carve(&set, 0.2, 3, false));
        assert_ne!(a, carve(&set, 0.2, 4, false));
        let ones = a.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!((a.len(), ones), (10, 2), "a fifth of each class");
        assert_eq!(carve(&set, 0.2, 3, true), (40..50).collect::<Vec<_>>());
        let (train, val) = split(&set, &a);
        assert_eq!((train.len(), val.len()), (40, 10));
        assert_eq!(val.labels.iter().filter(|&&l| l == 1).count(), 2);
        assert_eq!(
            [
                validation_len(1, 0.5),
                validation_len(2, 0.01),
                validation_len(10, 0.99)
            ],
            [0, 1, 9]
        );
        // Classes of one sequence each but one: the one carved is of the class of two.
        let x = vec![0.0f64; 5];
        let set = SeqSet::from_arrays(&x, [5, 1, 1], None, Some(&[0, 1, 2, 3, 3])).unwrap();
        let one = carve(&set, 0.2, 1, false);
        assert_eq!(one.len(), 1);
        assert_eq!(set.labels[one[0]], 3);
    }
}
