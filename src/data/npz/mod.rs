//! NumPy `.npz` archives (what `np.savez` writes): a zip of `.npy` arrays. A labelled set is
//! `x_train` (N×T×D, or N×T for one number a step; any float or integer dtype), `y_train` (N
//! integers or strings), optional `len_train` (N lengths, each in 1..=T; without it every
//! sequence has T steps), and the same for `test`.
//!
//! The `.npy` header is checked before any of its claimed size is allocated: an array is read as
//! its bytes arrive, never more than the header promises.

mod split;

use crate::error::Error;
pub use split::{Expect, load_split};
use std::io::Read;
use std::path::Path;

/// The values of an array.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Any float or integer dtype, as `f64`.
    Numbers(Vec<f64>),
    /// Strings (`<U` or `|S`).
    Strings(Vec<String>),
}

/// One `.npy` array.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Its shape, outermost first.
    pub shape: Vec<usize>,
    /// Its values in C order.
    pub values: Values,
    /// Whether its dtype is a float (else integers, booleans or strings).
    pub float: bool,
}

/// An element type of `.npy` files that blasrnn reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
    Unicode,
    Bytes,
}

/// The archive at `path`: its arrays by name (without `.npy`), read when asked.
pub struct Npz {
    path: std::path::PathBuf,
    archive: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
}

impl Npz {
    /// Opens an `.npz` file.
    pub fn open(path: &Path) -> Result<Npz, Error> {
        let file = std::fs::File::open(path).map_err(Error::io_at(path))?;
        let archive = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| Error::format(path, format!("not an .npz (zip) archive: {e}")))?;
        Ok(Npz {
            path: path.to_path_buf(),
            archive,
        })
    }

    /// The names of its arrays.
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .map(|n| n.trim_end_matches(".npy").to_string())
            .collect()
    }

    /// Array `name`, or `None` when the archive has none of that name.
    pub fn array(&mut self, name: &str) -> Result<Option<Array>, Error> {
        let path = self.path.clone();
        let bad = |problem: String| Error::format(&path, format!("{name}: {problem}"));
        let mut entry = match self.archive.by_name(&format!("{name}.npy")) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(bad(format!("cannot read it from the archive: {e}"))),
        };
        read_npy(&mut entry).map(Some).map_err(bad)
    }
}

/// Reads one `.npy` stream; the error says what is wrong.
fn read_npy(r: &mut impl Read) -> Result<Array, String> {
    let (descr, fortran, shape) = npy_header(r)?;
    let (kind, size, little) = dtype(&descr)?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} overflows"))?;
    let bytes_needed = count
        .checked_mul(size)
        .ok_or_else(|| format!("shape {shape:?} overflows"))?;
    // Read what is there, at most one byte past the claim: never reserve from the header.
    let mut data = Vec::new();
    r.take(bytes_needed as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read its data: {e}"))?;
    if data.len() != bytes_needed {
        return Err(format!(
            "shape {shape:?} of {descr:?} needs {bytes_needed} bytes of data, the archive holds {}{}",
            data.len().min(bytes_needed),
            if data.len() > bytes_needed {
                " and more"
            } else {
                ""
            }
        ));
    }
    let values = values(&data, kind, size, little);
    let values = if fortran && shape.len() > 1 {
        to_c_order(values, &shape)
    } else {
        values
    };
    Ok(Array {
        shape,
        values,
        float: kind == Kind::Float,
    })
}

/// A `.npy` header: the dtype's description, whether the data are in Fortran order, the shape.
fn npy_header(r: &mut impl Read) -> Result<(String, bool, Vec<usize>), String> {
    let mut head = [0u8; 10];
    r.read_exact(&mut head)
        .map_err(|_| "too short for a .npy header".to_string())?;
    if &head[..6] != b"\x93NUMPY" {
        return Err("not a .npy array (bad magic)".into());
    }
    let header_len = match head[6] {
        1 => u16::from_le_bytes([head[8], head[9]]) as usize,
        2 | 3 => {
            let mut more = [0u8; 2];
            r.read_exact(&mut more)
                .map_err(|_| "the header is cut short".to_string())?;
            u32::from_le_bytes([head[8], head[9], more[0], more[1]]) as usize
        }
        v => return Err(format!(".npy format version {v} is not supported")),
    };
    if header_len > 1 << 16 {
        return Err(format!(
            "a header of {header_len} bytes is not a .npy header"
        ));
    }
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header)
        .map_err(|_| "the header is cut short".to_string())?;
    let header = String::from_utf8_lossy(&header);
    let descr = field(&header, "descr").ok_or("the header has no 'descr'")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran =
        field(&header, "fortran_order").ok_or("the header has no 'fortran_order'")? == "True";
    let shape_text = field(&header, "shape").ok_or("the header has no 'shape'")?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("shape {shape_text:?} is not a shape"))
        })
        .collect::<Result<_, _>>()?;
    Ok((descr.to_string(), fortran, shape))
}

/// The `size`-byte elements of `data` (of `kind`, little-endian when `little`) as numbers or
/// strings.
fn values(data: &[u8], kind: Kind, size: usize, little: bool) -> Values {
    let word = |c: &[u8]| -> [u8; 8] {
        let mut w = [0u8; 8];
        if little {
            w[..c.len()].copy_from_slice(c);
        } else {
            for (i, &b) in c.iter().rev().enumerate() {
                w[i] = b;
            }
        }
        w
    };
    match kind {
        Kind::Float => Values::Numbers(
            data.chunks_exact(size)
                .map(|c| match size {
                    4 => f64::from(f32::from_le_bytes(
                        word(c)[..4].try_into().expect("4 bytes"),
                    )),
                    _ => f64::from_le_bytes(word(c)),
                })
                .collect(),
        ),
        Kind::Int | Kind::Uint | Kind::Bool => Values::Numbers(
            data.chunks_exact(size)
                .map(|c| {
                    let w = u64::from_le_bytes(word(c));
                    let shift = 64 - 8 * size as u32;
                    if kind == Kind::Int {
                        ((w << shift) as i64 >> shift) as f64
                    } else {
                        w as f64
                    }
                })
                .collect(),
        ),
        Kind::Unicode => Values::Strings(
            data.chunks_exact(size)
                .map(|c| {
                    c.chunks_exact(4)
                        .map(|u| u32::from_le_bytes(word(u)[..4].try_into().expect("4 bytes")))
                        .take_while(|&u| u != 0)
                        .map(|u| char::from_u32(u).unwrap_or('\u{fffd}'))
                        .collect()
                })
                .collect(),
        ),
        Kind::Bytes => Values::Strings(
            data.chunks_exact(size)
                .map(|c| {
                    let end = c.iter().position(|&b| b == 0).unwrap_or(c.len());
                    String::from_utf8_lossy(&c[..end]).into_owned()
                })
                .collect(),
        ),
    }
}

/// The value of `key` in a `.npy` header (a Python dict literal).
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// Element kind, size in bytes and byte order of a `.npy` dtype string.
fn dtype(descr: &str) -> Result<(Kind, usize, bool), String> {
    // At the first character's end (a header's bytes may be anything: never split inside one).
    let first = |s: &str| s.char_indices().nth(1).map_or(s.len(), |(i, _)| i);
    let (order, rest) = descr.split_at(first(descr));
    let little = match order {
        "<" | "|" | "=" => true,
        ">" => false,
        _ => return Err(format!("dtype {descr:?} is not a dtype blasrnn reads")),
    };
    let (code, size) = rest.split_at(first(rest));
    if code == "O" {
        return Err(
            "an object array (pickled Python objects), which blasrnn does not read: \
                    save strings with dtype=str"
                .into(),
        );
    }
    let size: usize = size
        .parse()
        .map_err(|_| format!("dtype {descr:?} is not a dtype blasrnn reads"))?;
    let kind = match (code, size) {
        ("f", 4 | 8) => Kind::Float,
        ("i", 1 | 2 | 4 | 8) => Kind::Int,
        ("u", 1 | 2 | 4 | 8) => Kind::Uint,
        ("b", 1) => Kind::Bool,
        ("U", 1..=4096) => return Ok((Kind::Unicode, 4 * size, little)),
        ("S", 1..=16384) => Kind::Bytes,
        _ => {
            return Err(format!(
                "dtype {descr:?} is not one blasrnn reads (float32/64, integers, strings)"
            ));
        }
    };
    Ok((kind, size, little))
}

/// Values stored in Fortran (column-major) order, reordered to C order.
fn to_c_order(values: Values, shape: &[usize]) -> Values {
    let n: usize = shape.iter().product();
    // C index of the element whose Fortran index is f.
    let c_of = |mut f: usize| {
        let mut c = 0;
        let mut stride = n;
        let mut idx = vec![0; shape.len()];
        for (k, &d) in shape.iter().enumerate() {
            idx[k] = f % d;
            f /= d;
        }
        for (k, &d) in shape.iter().enumerate() {
            stride /= d;
            c += idx[k] * stride;
        }
        c
    };
    match values {
        Values::Numbers(v) => {
            let mut out = vec![0.0; n];
            for (f, x) in v.into_iter().enumerate() {
                out[c_of(f)] = x;
            }
            Values::Numbers(out)
        }
        Values::Strings(v) => {
            let mut out = vec![String::new(); n];
            for (f, x) in v.into_iter().enumerate() {
                out[c_of(f)] = x;
            }
            Values::Strings(out)
        }
    }
}

/// The class names of labels: sorted distinct strings, or integers in numeric order.
pub fn class_names(labels: &Values) -> Vec<String> {
    match labels {
        Values::Numbers(v) => {
            let mut u: Vec<f64> = v.clone();
            u.sort_by(f64::total_cmp);
            u.dedup();
            u.iter().map(|x| format!("{x}")).collect()
        }
        Values::Strings(v) => {
            let mut u = v.clone();
            u.sort();
            u.dedup();
            u
        }
    }
}
