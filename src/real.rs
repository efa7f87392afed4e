//! The engine's number type: `f64` (the default) or `f32`, chosen per run (`TrainConfig::dtype`).
//!
//! Everything the engine computes — parameters, activations, gradients, optimizer state — is of
//! one type `T: Real`; CBLAS's `d…` routines serve `f64` and its `s…` routines `f32`. Quantities
//! that summarise a run (losses, learning rates, norms) stay `f64`. Gradient checks run in `f64`;
//! `f32` halves the memory traffic and doubles the SIMD width of every product (PyTorch's
//! default precision).
//!
//! Subnormal numbers are flushed to zero on every thread that computes (see
//! [`crate::blas::flush`]), in both types: results stay bit-identical for a seed and a thread
//! count, and differ from IEEE gradual underflow only where a subnormal appeared, by less than
//! the type's smallest normal number (`f32::MIN_POSITIVE`, `f64::MIN_POSITIVE`) there.
//! [`crate::TrainConfig::keep_subnormals`] keeps them.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// Which number type a run computes in. Either way, subnormal numbers are flushed to zero
/// unless the run keeps them (see the [module](self) and [`crate::blas::flush`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 32-bit floats (`float32`).
    F32,
    /// 64-bit floats (`float64`).
    F64,
}

crate::choice::choice!(Dtype { F32 => "f32", F64 => "f64" });

/// A floating-point type the engine computes in (`f32` or `f64`): one CBLAS multiplies
/// ([`crate::blas::Blas`]: its zero, one and conversions) with the arithmetic the engine needs.
pub trait Real:
    crate::blas::Blas
    + crate::ranks::Exchange
    + Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
{
    /// Which of the two types this is.
    const DTYPE: Dtype;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Appends the little-endian bytes of the value.
    fn put_le(self, out: &mut Vec<u8>);
    /// `v` as `f32`s when `Self` is `f32` (for kernels written for one type).
    fn as_f32s(v: &mut [Self]) -> Option<&mut [f32]>;
}

macro_rules! real {
    ($t:ty, $dtype:expr, $as_f32s:expr) => {
        impl Real for $t {
            const DTYPE: Dtype = $dtype;
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn as_f32s(v: &mut [Self]) -> Option<&mut [f32]> {
                $as_f32s(v)
            }
        }
    };
}

real!(f32, Dtype::F32, Some);
real!(f64, Dtype::F64, |_| None);

/// One of two values that differ only in their number type: what computes in `f32`, or what
/// computes in `f64`. The types that hide the number type from callers ([`crate::Model`],
/// [`crate::Training`], …) hold one and reach it through [`by_dtype!`].
pub(crate) enum ByDtype<A, B> {
    F32(A),
    F64(B),
}

/// `by_dtype!(e, x => body)`: `body` with `x` bound to the value inside a [`ByDtype`], whichever
/// it is (the body is compiled once for each number type).
macro_rules! by_dtype {
    ($e:expr, $x:pat => $body:expr) => {
        match $e {
            $crate::real::ByDtype::F32($x) => $body,
            $crate::real::ByDtype::F64($x) => $body,
        }
    };
}
pub(crate) use by_dtype;

/// `src` converted element by element into `dst` (same length).
pub fn convert<A: Real, B: Real>(src: &[A], dst: &mut [B]) {
    assert_eq!(src.len(), dst.len(), "convert: lengths differ");
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = B::from_f64(s.to_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blas::Blas;

    #[test]
    fn conversions_round_to_nearest() {
        assert_eq!(f32::from_f64(0.1), 0.1f32);
        assert_eq!(0.1f32.to_f64(), f64::from(0.1f32));
        let mut out = [0.0f32; 2];
        convert(&[1.5f64, -2.25], &mut out);
        assert_eq!(out, [1.5, -2.25]);
        let mut bytes = Vec::new();
        1.0f32.put_le(&mut bytes);
        2.0f64.put_le(&mut bytes);
        assert_eq!(bytes.len(), 12);
    }
}
