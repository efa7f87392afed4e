//! IDX files (the MNIST container format): a big-endian header, then unsigned bytes.
//!
//! Header: two zero bytes, a type byte (0x08 = unsigned byte, the only one MNIST uses), the number
//! of dimensions, then each dimension as a big-endian u32. The body is the product of the
//! dimensions in bytes, exactly: a shorter or a longer body is an error. Files may be gzip'd
//! (detected from the gzip magic bytes, whatever the file is called).
//!
//! Nothing is reserved from the header's claim: the body is read as it arrives, at most one byte
//! past what the header promises, so a header claiming four billion images costs only the bytes
//! that are really there.

use crate::error::Error as DataError;
use byteorder::{BigEndian, ReadBytesExt};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// An IDX file of unsigned bytes: its dimensions and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions from the header, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The body, `dims.iter().product()` bytes.
    pub data: Vec<u8>,
}

/// The type byte of an unsigned-byte IDX file.
const UBYTE: u8 = 0x08;

/// Reads an IDX file of unsigned bytes with `ndims` dimensions, gzip'd or plain.
pub fn read(path: &Path, ndims: u8) -> Result<Idx, DataError> {
    let io = DataError::io_at(path);
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let mut magic = [0u8; 2];
    let got = read_fully(&mut file, &mut magic).map_err(io)?;
    let chain = std::io::Cursor::new(magic[..got].to_vec()).chain(file);
    if got == 2 && magic == [0x1f, 0x8b] {
        parse(path, GzDecoder::new(chain), ndims)
    } else {
        parse(path, chain, ndims)
    }
}

/// Reads into `buf` until it is full or the stream ends; returns how many bytes arrived.
fn read_fully(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn parse(path: &Path, mut r: impl Read, ndims: u8) -> Result<Idx, DataError> {
    let io = DataError::io_at(path);
    let mut head = [0u8; 4];
    let got = read_fully(&mut r, &mut head).map_err(io)?;
    if got < 4 {
        return Err(DataError::format(
            path,
            format!("file too short for an IDX header ({got} bytes)"),
        ));
    }
    let magic = u32::from_be_bytes(head);
    let want = u32::from_be_bytes([0, 0, UBYTE, ndims]);
    if head[0] != 0 || head[1] != 0 {
        return Err(DataError::format(
            path,
            format!("bad magic number 0x{magic:08x}: not an IDX file (expected 0x{want:08x})"),
        ));
    }
    if head[2] != UBYTE {
        return Err(DataError::format(
            path,
            format!(
                "bad magic number 0x{magic:08x}: element type 0x{:02x}, only unsigned bytes (0x08) are supported",
                head[2]
            ),
        ));
    }
    if head[3] != ndims {
        return Err(DataError::format(
            path,
            format!(
                "bad magic number 0x{magic:08x}: {} dimensions, expected {ndims}",
                head[3]
            ),
        ));
    }
    let mut dims = Vec::with_capacity(ndims as usize);
    for i in 0..ndims {
        let d = r.read_u32::<BigEndian>().map_err(|_| {
            DataError::format(
                path,
                format!("header ends before dimension {} of {ndims}", i + 1),
            )
        })?;
        dims.push(d as usize);
    }
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let expected = expected.ok_or_else(|| {
        DataError::format(path, format!("dimensions {dims:?} overflow a 64-bit size"))
    })?;
    // Read what is really there, at most one byte more than promised: never reserve from the claim.
    let mut data = Vec::new();
    r.take(expected.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(io)?;
    let got = data.len() as u64;
    if got < expected {
        return Err(DataError::format(
            path,
            format!(
                "truncated: the header ({}) promises {expected} bytes of data but the file holds {got}",
                shape(&dims)
            ),
        ));
    }
    if got > expected {
        return Err(DataError::format(
            path,
            format!(
                "trailing data: the header ({}) promises {expected} bytes but the file holds more",
                shape(&dims)
            ),
        ));
    }
    Ok(Idx { dims, data })
}

fn shape(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("×")
}

/// Finds `stem` (e.g. `train-images-idx3-ubyte`) in `dir` under its usual spellings: with a dash
/// or a dot before `idx`, gzip'd or not.
pub fn find(dir: &Path, stem: &str) -> Result<PathBuf, DataError> {
    let dotted = stem.replacen("-idx", ".idx", 1);
    let names = [
        format!("{stem}.gz"),
        stem.to_string(),
        format!("{dotted}.gz"),
        dotted,
    ];
    for n in &names {
        let p = dir.join(n);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(DataError::format(
        dir,
        format!("no {stem} file (looked for {})", names.join(", ")),
    ))
}
