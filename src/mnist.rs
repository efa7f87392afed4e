//! The MNIST data set kept as bytes (47 MB for the training images), widened to `f64` one batch at a
//! time.
//!
//! Each image of `rows × cols` pixels is read as a sequence: `rows` time steps of `cols` inputs.

use crate::idx::{self, DataError};
use crate::real::Real;
use std::path::Path;

/// Number of classes (digits 0..=9).
pub const CLASSES: usize = 10;

/// One split of the data set (train or test): images as bytes, labels 0..=9.
#[derive(Debug, Clone)]
pub struct Split {
    /// Pixels, image after image, row after row (`len × rows × cols` bytes).
    pub images: Vec<u8>,
    /// One label per image, each in 0..=9.
    pub labels: Vec<u8>,
    /// Rows per image: the number of time steps.
    pub rows: usize,
    /// Pixels per row: the inputs per step.
    pub cols: usize,
}

/// The training and test splits.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The training split (60,000 images for MNIST).
    pub train: Split,
    /// The test split (10,000 images for MNIST).
    pub test: Split,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let p = self.pixels();
        &self.images[i * p..(i + 1) * p]
    }

    /// Reads `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` from `dir` (any of the
    /// usual spellings, gzip'd or not) and checks that they agree.
    pub fn load(dir: &Path, prefix: &str) -> Result<Split, DataError> {
        let ipath = idx::find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
        let lpath = idx::find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
        let images = idx::read(&ipath, 3)?;
        let labels = idx::read(&lpath, 1)?;
        let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
        let bad = |problem: String| DataError::Format {
            path: ipath.clone(),
            problem,
        };
        if rows == 0 || cols == 0 {
            return Err(bad(format!("images of {rows}×{cols} pixels are empty")));
        }
        if n == 0 {
            return Err(bad("holds no image".into()));
        }
        if labels.dims[0] != n {
            return Err(bad(format!(
                "holds {n} images but {} holds {} labels",
                lpath.display(),
                labels.dims[0]
            )));
        }
        if let Some(i) = labels.data.iter().position(|&l| l as usize >= CLASSES) {
            return Err(DataError::Format {
                path: lpath,
                problem: format!("label {} at index {i} is not a digit 0..=9", labels.data[i]),
            });
        }
        Ok(Split {
            images: images.data,
            labels: labels.data,
            rows,
            cols,
        })
    }

    /// Widens the images `indices` into `x` (`[indices.len()][rows][cols]`, pixel × `scale`) and
    /// their labels into `y`. Allocation-free.
    pub fn widen<T: Real>(&self, indices: &[usize], scale: f64, x: &mut [T], y: &mut [u8]) {
        let p = self.pixels();
        for (k, &i) in indices.iter().enumerate() {
            for (dst, &src) in x[k * p..(k + 1) * p].iter_mut().zip(self.image(i)) {
                *dst = T::from_f64(f64::from(src) * scale);
            }
            y[k] = self.labels[i];
        }
    }
}

impl Mnist {
    /// Loads both splits from `dir` and checks that their images have the same size.
    pub fn load(dir: &Path) -> Result<Mnist, DataError> {
        let train = Split::load(dir, "train")?;
        let test = Split::load(dir, "t10k")?;
        if (train.rows, train.cols) != (test.rows, test.cols) {
            return Err(DataError::Format {
                path: idx::find(dir, "t10k-images-idx3-ubyte")?,
                problem: format!(
                    "test images are {}×{} but training images are {}×{}",
                    test.rows, test.cols, train.rows, train.cols
                ),
            });
        }
        Ok(Mnist { train, test })
    }
}
