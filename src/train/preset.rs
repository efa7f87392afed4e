//! [`Preset`]: named recipes — a model and its training, chosen by measurement for a kind of data
//! and a wall-clock budget (`docs/recipes.md` gives what was tried and what each reached).

use crate::config::TrainConfig;
use crate::data::Kind;
use crate::nn::cell::CellKind;

/// A named recipe: [`Preset::config`] is its configuration, to change as any other.
///
/// ```
/// use blasrnn::train::Preset;
/// use blasrnn::CellKind;
///
/// let mut cfg = Preset::Shakespeare30m.config();
/// assert_eq!((cfg.cell, cfg.hidden, cfg.layers), (CellKind::Gru, 768, 2));
/// assert_eq!(cfg.time_budget.map(|b| b.seconds), Some(1800.0));
/// cfg.threads = 4;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The character-level language model that reached the lowest validation loss of the
    /// recipes measured on tiny-shakespeare in 30 minutes of training on 2 cores: two GRU layers
    /// of 768, dropout 0.4 between them and 0.4 on their outputs before the head, 64 streams ×
    /// 100 characters, Adam at 0.002 with 100 warm-up iterations and cosine decay, clipping at 1,
    /// a 30-minute budget, an evaluation every 500 iterations.
    Shakespeare30m,
}

crate::choice::choice!(Preset { Shakespeare30m => "shakespeare-30m" });

impl Preset {
    /// The kind of data the recipe is for.
    pub fn kind(self) -> Kind {
        match self {
            Preset::Shakespeare30m => Kind::Text,
        }
    }

    /// The recipe's cell.
    pub fn cell(self) -> CellKind {
        match self {
            Preset::Shakespeare30m => CellKind::Gru,
        }
    }

    /// How often the recipe evaluates on the held-out data (iterations): its budget counts the
    /// evaluations, so its figures were measured with them.
    pub fn eval_every(self) -> usize {
        match self {
            Preset::Shakespeare30m => 500,
        }
    }

    /// The recipe: the defaults of its kind of data and cell ([`TrainConfig::for_cell`]) with
    /// its model, its training and its time budget.
    pub fn config(self) -> TrainConfig {
        let mut c = TrainConfig::for_cell(self.kind(), self.cell());
        match self {
            Preset::Shakespeare30m => {
                c.hidden = 768;
                c.layers = 2;
                c.dropout = 0.4;
                c.output_dropout = 0.4;
                c.batch = 64;
                c.seq_len = 100;
                c.lr = 0.002;
                c.warmup = 100;
                c.clip = Some(1.0);
                c.set_time_budget(30.0 * 60.0);
            }
        }
        c
    }
}
