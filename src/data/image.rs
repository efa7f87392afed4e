//! Images to classify: 8-bit grayscale PNG or PGM files of the model's size, read as the bytes of
//! a sequence (rows as steps). A file whose header claims a huge picture is refused before its
//! pixels are allocated.

use crate::error::Error;
use std::path::Path;

/// The largest width or height accepted, and the most a decoder may allocate.
const MAX_SIDE: u32 = 4096;
const MAX_ALLOC: u64 = 64 << 20;

/// Reads an 8-bit grayscale PNG or PGM of `rows × cols` pixels (white digit on black, as MNIST)
/// as its bytes, row after row.
pub fn read_gray(path: &Path, rows: usize, cols: usize) -> Result<Vec<u8>, Error> {
    let bad = |problem: String| Error::format(path, problem);
    let mut reader = ::image::ImageReader::open(path)
        .map_err(Error::io_at(path))?
        .with_guessed_format()
        .map_err(Error::io_at(path))?;
    let mut limits = ::image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| bad(format!("cannot read the image: {e}")))?;
    if img.color() != ::image::ColorType::L8 {
        return Err(bad(format!(
            "colour type {:?}; the model reads 8-bit grayscale images (PNG or PGM, white digit on black)",
            img.color()
        )));
    }
    if (img.height() as usize, img.width() as usize) != (rows, cols) {
        return Err(bad(format!(
            "{}×{} pixels; the model reads {cols}×{rows} images",
            img.width(),
            img.height()
        )));
    }
    Ok(img.into_luma8().into_raw())
}
