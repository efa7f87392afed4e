//! The data the models read: labelled sequence sets for classification ([`SeqSet`]: MNIST images
//! read row by row, …) and text streams for language models ([`text`]). Each knows how to write a
//! batch into a model's [`Workspace`] without allocating.

pub mod idx;
pub mod image;
pub mod mnist;
pub mod text;

use crate::model::Workspace;
use crate::real::Real;

/// How raw values become inputs, per dimension: `x = (v − shift[d]) · scale[d]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Norm {
    /// Subtracted from each dimension (its training mean, or 0).
    pub shift: Vec<f64>,
    /// Then multiplied (1/std, or MNIST's 1/255).
    pub scale: Vec<f64>,
}

impl Norm {
    /// The same scale for each of `dims` dimensions, no shift (MNIST's pixels: 1/255, or 1).
    pub fn scaled(dims: usize, scale: f64) -> Norm {
        Norm {
            shift: vec![0.0; dims],
            scale: vec![scale; dims],
        }
    }
}

/// Stored values of a sequence set: bytes (MNIST's pixels, 1/8 of the memory) or floats.
#[derive(Debug, Clone)]
enum Values {
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
}

/// A labelled set of sequences: N sequences of up to T steps of D numbers, each of one class.
/// Values are stored `[N][T][D]` (zeros past each sequence's end) and normalised by [`Norm`] as
/// a batch is written.
#[derive(Debug, Clone)]
pub struct SeqSet {
    /// Steps of the longest sequence, T.
    pub steps: usize,
    /// Numbers per step, D.
    pub dims: usize,
    /// Class of each sequence (an index into `classes`).
    pub labels: Vec<u32>,
    /// Names of the classes.
    pub classes: Vec<String>,
    /// How stored values become inputs.
    pub norm: Norm,
    values: Values,
    /// Steps of each sequence; `None` when all have `steps`.
    lens: Option<Vec<u32>>,
}

impl SeqSet {
    /// A set of equal-length byte sequences (`[N][steps][dims]` bytes), classes named `0..k`.
    pub fn from_bytes(
        bytes: Vec<u8>,
        labels: Vec<u32>,
        steps: usize,
        dims: usize,
        classes: usize,
    ) -> SeqSet {
        assert_eq!(bytes.len(), labels.len() * steps * dims, "byte count");
        SeqSet {
            steps,
            dims,
            labels,
            classes: (0..classes).map(|k| k.to_string()).collect(),
            norm: Norm::scaled(dims, 1.0),
            values: Values::Bytes(bytes),
            lens: None,
        }
    }

    /// A set of float sequences of lengths `lens` (each in 1..=steps), stored `[N][steps][dims]`
    /// with zeros past each end, of classes `classes`.
    pub fn from_floats(
        values: Vec<f32>,
        lens: Vec<u32>,
        labels: Vec<u32>,
        steps: usize,
        dims: usize,
        classes: Vec<String>,
    ) -> SeqSet {
        assert_eq!(values.len(), labels.len() * steps * dims, "value count");
        assert_eq!(lens.len(), labels.len(), "one length per sequence");
        let equal = lens.iter().all(|&l| l as usize == steps);
        SeqSet {
            steps,
            dims,
            labels,
            classes,
            norm: Norm::scaled(dims, 1.0),
            values: Values::Floats(values),
            lens: (!equal).then_some(lens),
        }
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no sequence.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Steps of sequence `i`.
    pub fn len_of(&self, i: usize) -> usize {
        self.lens.as_ref().map_or(self.steps, |l| l[i] as usize)
    }

    /// Whether every sequence has the same length.
    pub fn equal_lengths(&self) -> bool {
        self.lens.is_none()
    }

    /// The stored bytes of sequence `i` (`[steps][dims]`), for byte sets (MNIST).
    pub fn bytes(&self, i: usize) -> Option<&[u8]> {
        let n = self.steps * self.dims;
        match &self.values {
            Values::Bytes(b) => Some(&b[i * n..(i + 1) * n]),
            Values::Floats(_) => None,
        }
    }

    /// Writes sequence `i`, normalised, into `out` (`len_of(i) × dims` numbers).
    pub fn widen<T: Real>(&self, i: usize, out: &mut [T]) {
        let (n, d) = (self.len_of(i) * self.dims, self.dims);
        let at = i * self.steps * d;
        let (shift, scale) = (&self.norm.shift, &self.norm.scale);
        let put = |out: &mut [T], v: &mut dyn Iterator<Item = f64>| {
            for (k, (o, v)) in out[..n].iter_mut().zip(v).enumerate() {
                *o = T::from_f64((v - shift[k % d]) * scale[k % d]);
            }
        };
        match &self.values {
            Values::Bytes(b) => put(out, &mut b[at..at + n].iter().map(|&v| f64::from(v))),
            Values::Floats(f) => put(out, &mut f[at..at + n].iter().map(|&v| f64::from(v))),
        }
    }

    /// Writes the sequences `idx` (reordered here: longest first, then by index) into `ws` as one
    /// batch of `[b][t][D]` rows, `t` the longest's length, padding zeros; their classes and
    /// lengths too. Allocation-free.
    pub fn load_batch<T: Real>(&self, idx: &mut [usize], ws: &mut Workspace<T>) {
        idx.sort_unstable_by_key(|&i| (std::cmp::Reverse(self.len_of(i)), i));
        let b = idx.len();
        let t = self.len_of(idx[0]);
        let row = t * self.dims;
        for (k, &i) in idx.iter().enumerate() {
            let out = &mut ws.x[k * row..(k + 1) * row];
            let len = self.len_of(i);
            self.widen(i, out);
            out[len * self.dims..].fill(T::ZERO);
            ws.targets[k] = self.labels[i];
            ws.lens[k] = len;
        }
        ws.begin(b, t);
    }
}
