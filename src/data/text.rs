//! Text for character-level language models: the vocabulary (a text's distinct Unicode scalar
//! values, sorted), the train/validation split (the first `1 − val_frac` of the characters train,
//! the rest validate, as nanoGPT splits), and B parallel streams cut into chunks.
//!
//! Streams: a token sequence of N ids gives B streams of `L = (N − 1) / B` positions each, stream
//! s starting at position s·L; the input of a position is its token, the target the next one.
//! Chunk k of every stream (positions k·S .. k·S + S) is one training batch of B × S; a stream's
//! state is carried from chunk to chunk (truncated BPTT).

use super::Batch;
use crate::error::Error;
use crate::real::Real;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The symbols of a language model: distinct characters, sorted; a token is an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    chars: Vec<char>,
}

impl Vocab {
    /// The distinct characters of `text`, sorted.
    pub fn of(text: &str) -> Vocab {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Vocab { chars }
    }

    /// The vocabulary whose symbols are the characters of `s` in order (as [`Vocab::as_string`]
    /// wrote them); `None` unless they are sorted, distinct and at least one.
    pub fn from_string(s: &str) -> Option<Vocab> {
        let chars: Vec<char> = s.chars().collect();
        (!chars.is_empty() && chars.windows(2).all(|w| w[0] < w[1])).then_some(Vocab { chars })
    }

    /// The symbols as one string, in order.
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    /// Number of symbols, V.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Whether there is no symbol.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The token of `c`.
    pub fn id(&self, c: char) -> Option<u32> {
        self.chars.binary_search(&c).ok().map(|i| i as u32)
    }

    /// The character of token `id`.
    pub fn char(&self, id: u32) -> char {
        self.chars[id as usize]
    }

    /// The tokens of `text`; or the characters of `text` that are not symbols (each once, in
    /// order of appearance).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Vec<char>> {
        let mut missing: Vec<char> = Vec::new();
        let ids: Vec<u32> = text
            .chars()
            .filter_map(|c| {
                let id = self.id(c);
                if id.is_none() && !missing.contains(&c) {
                    missing.push(c);
                }
                id
            })
            .collect();
        if missing.is_empty() {
            Ok(ids)
        } else {
            Err(missing)
        }
    }
}

/// Shows characters for an error message: printable ones quoted, others as `U+XXXX`.
pub fn show_chars(chars: &[char]) -> String {
    chars
        .iter()
        .map(|&c| {
            if c.is_control() || c.is_whitespace() {
                format!("U+{:04X}", c as u32)
            } else {
                format!("{c:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A text file as tokens, split into training and validation parts.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its symbols.
    pub vocab: Vocab,
    /// The first part's tokens.
    pub train: Vec<u32>,
    /// The last part's tokens (the last `val_frac` of the characters).
    pub val: Vec<u32>,
    /// The fraction of the characters held out for validation.
    pub val_frac: f64,
}

/// Reads `path` as UTF-8 text; a one-line error names the file and what is wrong.
pub fn read_text(path: impl AsRef<Path>) -> Result<String, Error> {
    let path = path.as_ref();
    if path.is_dir() {
        return Err(Error::format(path, "is a directory, not a text file"));
    }
    let bytes = std::fs::read(path).map_err(Error::io_at(path))?;
    if bytes.is_empty() {
        return Err(Error::format(path, "is empty"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Error::format(
            path,
            format!(
                "not UTF-8 text: invalid byte 0x{:02x} at byte offset {at}",
                e.as_bytes()[at]
            ),
        )
    })
}

impl Corpus {
    /// Reads `path`, takes its characters as the vocabulary (or checks them against `vocab`, a
    /// saved model's), and splits off the last `val_frac` as validation text.
    pub fn load(path: &Path, val_frac: f64, vocab: Option<&Vocab>) -> Result<Corpus, Error> {
        Corpus::of_text(&read_text(path)?, path, val_frac, vocab)
    }

    /// As [`Corpus::load`], of a text already read; `path` names it in errors.
    pub fn of_text(
        text: &str,
        path: &Path,
        val_frac: f64,
        vocab: Option<&Vocab>,
    ) -> Result<Corpus, Error> {
        let vocab = match vocab {
            Some(v) => v.clone(),
            None => Vocab::of(text),
        };
        let ids = vocab.encode(text).map_err(|missing| {
            Error::format(
                path,
                format!(
                    "holds characters the model's vocabulary lacks: {}",
                    show_chars(&missing)
                ),
            )
        })?;
        // As nanoGPT: n = int(0.9 · len) characters train.
        let n = ((1.0 - val_frac) * ids.len() as f64) as usize;
        Ok(Corpus {
            path: path.to_path_buf(),
            vocab,
            train: ids[..n].to_vec(),
            val: ids[n..].to_vec(),
            val_frac,
        })
    }
}

/// `b` parallel streams over `tokens` (see the module's description).
#[derive(Debug, Clone, Copy)]
pub struct Streams<'a> {
    tokens: &'a [u32],
    b: usize,
    l: usize,
}

impl<'a> Streams<'a> {
    /// `b` streams over `tokens`, each `(len − 1) / b` positions long.
    pub fn new(tokens: &'a [u32], b: usize) -> Streams<'a> {
        let l = tokens.len().saturating_sub(1) / b.max(1);
        Streams { tokens, b, l }
    }

    /// Number of streams.
    pub fn count(&self) -> usize {
        self.b
    }

    /// Positions per stream.
    pub fn positions(&self) -> usize {
        self.l
    }

    /// Chunks of `s` positions per stream (whole ones only).
    pub fn chunks(&self, s: usize) -> usize {
        self.l / s
    }

    /// Writes positions `start .. start + len` of streams `streams` into `ws` as one batch of
    /// `[streams.len()][len]` tokens and next-token targets. Allocation-free.
    pub fn load_chunk<T: Real>(
        &self,
        streams: Range<usize>,
        start: usize,
        len: usize,
        batch: &mut Batch<T>,
    ) {
        assert!(start + len <= self.l, "chunk past the end of the streams");
        let b = streams.len();
        for (k, s) in streams.enumerate() {
            let at = s * self.l + start;
            batch.tokens[k * len..(k + 1) * len].copy_from_slice(&self.tokens[at..at + len]);
            batch.targets[k * len..(k + 1) * len]
                .copy_from_slice(&self.tokens[at + 1..at + len + 1]);
        }
        batch.begin_full(b, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_sorted_distinct_scalars() {
        let v = Vocab::of("hello, wörld");
        assert_eq!(v.as_string(), " ,dehlorwö");
        assert_eq!(v.encode("held").unwrap(), vec![4, 3, 5, 2]);
        assert_eq!(v.encode("help!"), Err(vec!['p', '!']));
        assert_eq!(Vocab::from_string(&v.as_string()), Some(v));
        assert_eq!(Vocab::from_string("ba"), None);
        assert_eq!(Vocab::from_string(""), None);
    }

    #[test]
    fn streams_cover_contiguous_slices() {
        let tokens: Vec<u32> = (0..23).collect();
        let s = Streams::new(&tokens, 4);
        assert_eq!((s.positions(), s.chunks(2)), (5, 2));
    }
}
