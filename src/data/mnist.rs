//! MNIST read as sequences: each 28×28 image is 28 time steps of 28 pixels, kept as bytes (47 MB
//! for the training images) and widened one batch at a time.

use super::SeqSet;
use super::idx;
use crate::error::Error;
use std::path::Path;

/// Number of classes (digits 0..=9).
pub const CLASSES: usize = 10;

/// The training and test splits.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The training split (60,000 images for MNIST).
    pub train: SeqSet,
    /// The test split (10,000 images for MNIST).
    pub test: SeqSet,
}

/// Reads `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` from `dir` (any of the
/// usual spellings, gzip'd or not) and checks that they agree.
pub fn load_split(dir: &Path, prefix: &str) -> Result<SeqSet, Error> {
    let ipath = idx::find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lpath = idx::find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = idx::read(&ipath, 3)?;
    let labels = idx::read(&lpath, 1)?;
    let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Error::format(
            &ipath,
            format!("images of {rows}×{cols} pixels are empty"),
        ));
    }
    if n == 0 {
        return Err(Error::format(&ipath, "holds no image"));
    }
    if labels.dims[0] != n {
        return Err(Error::format(
            &ipath,
            format!(
                "holds {n} images but {} holds {} labels",
                lpath.display(),
                labels.dims[0]
            ),
        ));
    }
    if let Some(i) = labels.data.iter().position(|&l| l as usize >= CLASSES) {
        return Err(Error::format(
            &lpath,
            format!("label {} at index {i} is not a digit 0..=9", labels.data[i]),
        ));
    }
    let labels = labels.data.iter().map(|&l| u32::from(l)).collect();
    SeqSet::from_bytes(images.data, labels, rows, cols, CLASSES)
        .map_err(|e| Error::format(dir, e.to_string()))
}

impl Mnist {
    /// Loads both splits from `dir` and checks that their images have the same size.
    pub fn load(dir: &Path) -> Result<Mnist, Error> {
        let train = load_split(dir, "train")?;
        let test = load_split(dir, "t10k")?;
        if (train.steps, train.dims) != (test.steps, test.dims) {
            return Err(Error::format(
                &idx::find(dir, "t10k-images-idx3-ubyte")?,
                format!(
                    "test images are {}×{} but training images are {}×{}",
                    test.steps, test.dims, train.steps, train.dims
                ),
            ));
        }
        Ok(Mnist { train, test })
    }
}
