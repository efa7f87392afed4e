//! Subnormal numbers flushed to zero on every thread that computes.
//!
//! A subnormal ("denormal") number is one below the normal range of its type (below about
//! 1.2·10⁻³⁸ for `f32`, 2.2·10⁻³⁰⁸ for `f64`). Gradients that vanish over the steps of a
//! recurrence reach that range, and an Intel core takes a slow microcode path for every
//! instruction that reads or makes one: on a Xeon with AVX-512 the f32 LSTM of `blasrnn bench`
//! trained 4.9× slower with them than with them flushed. AMD cores pay almost nothing.
//!
//! The CPU can treat them as zero. On x86_64 that is two bits of the MXCSR register:
//! flush-to-zero (bit 15: a result below the normal range is written as 0) and
//! denormals-are-zero (bit 6: a subnormal operand is read as 0). On aarch64 it is one bit of
//! FPCR, FZ (bit 24), which does both. Apple Accelerate and Arm servers honour it.
//!
//! blasrnn sets them for the duration of its work: every library entry point that computes
//! (training, evaluating, predicting, sampling, a stream's step) enters a [`FlushScope`], which
//! restores the caller's bits when it ends, and every thread the engine hands work to (the
//! shards' pool, the teams' members) computes with the bits of the thread that handed it the
//! work. The BLAS library's own threads are never used for training or inference: the engine
//! calls BLAS with one thread (`set_threads(1)`) and makes its own parallelism. Only the
//! GEMM-rate probe of `blasrnn bench` runs several BLAS threads, on operands with no
//! subnormals.
//!
//! Flushing is deterministic: the same seed and thread count give the same bits on every run.
//! It changes a result only where a subnormal appeared, by less than the smallest normal number
//! of the type at that place. [`TrainConfig::keep_subnormals`](crate::TrainConfig) turns it off
//! for whoever needs IEEE gradual underflow.

/// The control bits that flush subnormals: MXCSR's FTZ (bit 15) and DAZ (bit 6).
#[cfg(target_arch = "x86_64")]
const BITS: u64 = (1 << 15) | (1 << 6);

/// The control bit that flushes subnormals: FPCR's FZ (bit 24).
#[cfg(target_arch = "aarch64")]
const BITS: u64 = 1 << 24;

/// No bits elsewhere: subnormals are kept.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const BITS: u64 = 0;

/// Whether blasrnn can flush subnormals on this architecture (x86_64 and aarch64).
pub const SUPPORTED: bool = BITS != 0;

/// The names of the bits this architecture flushes with, for reports.
pub const BITS_NAME: &str = if cfg!(target_arch = "x86_64") {
    "MXCSR FTZ and DAZ"
} else if cfg!(target_arch = "aarch64") {
    "FPCR FZ"
} else {
    "none on this architecture"
};

/// This thread's floating-point control register: MXCSR on x86_64, FPCR on aarch64, 0 elsewhere.
pub fn control_register() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: `stmxcsr` stores the 4-byte MXCSR at the address given, which points to `csr`,
        // a live, aligned, writable u32 on this stack frame; it changes nothing else.
        unsafe {
            std::arch::asm!("stmxcsr [{p}]", p = in(reg) &mut csr, options(nostack, preserves_flags));
        }
        u64::from(csr)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effect and is allowed at every exception level a
        // user program runs at.
        unsafe {
            std::arch::asm!("mrs {r}, fpcr", r = out(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
        fpcr
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        0
    }
}

/// Sets this thread's flush bits on or off for good, leaving every other bit of the register as
/// it is: for the engine's own threads, which adopt the setting of whoever hands them work.
pub(crate) fn set_flushing(on: bool) {
    if !SUPPORTED {
        return;
    }
    let now = control_register();
    let want = if on { now | BITS } else { now & !BITS };
    if want == now {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let csr = want as u32;
        // SAFETY: `ldmxcsr` loads MXCSR from `csr`, a live, aligned u32; the value is the
        // register as it was with only FTZ and DAZ changed, both valid settings (no reserved bit
        // is set, so it cannot fault).
        unsafe {
            std::arch::asm!("ldmxcsr [{p}]", p = in(reg) &csr, options(nostack, preserves_flags, readonly));
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: FPCR as it was with only FZ changed; user programs may write FPCR, and FZ
        // only changes how subnormal operands and results are treated.
        unsafe {
            std::arch::asm!("msr fpcr, {r}", r = in(reg) want, options(nomem, nostack, preserves_flags));
        }
    }
}

/// Whether this thread flushes subnormals to zero now.
pub fn flushing() -> bool {
    SUPPORTED && control_register() & BITS == BITS
}

/// This thread flushing subnormals (or keeping them) until the scope is dropped; then its flush
/// bits are as they were before, whatever happened in between. Cheap: one read of the control
/// register, and a write only when the setting changes.
#[must_use = "the setting ends when the scope is dropped"]
#[derive(Debug)]
pub struct FlushScope {
    /// The bits to put back, when this scope changed them.
    restore: Option<bool>,
}

impl FlushScope {
    /// Flushes subnormals on this thread (`flush`), or keeps them, until the scope ends.
    pub fn new(flush: bool) -> FlushScope {
        let before = flushing();
        if before == flush || !SUPPORTED {
            return FlushScope { restore: None };
        }
        set_flushing(flush);
        FlushScope {
            restore: Some(before),
        }
    }
}

impl Drop for FlushScope {
    fn drop(&mut self) {
        if let Some(before) = self.restore {
            set_flushing(before);
        }
    }
}

/// Whether `x` is subnormal (nonzero and below the normal range of `f64`, or of `f32` when
/// `single`).
pub fn is_subnormal(x: f64, single: bool) -> bool {
    let min = if single {
        f64::from(f32::MIN_POSITIVE)
    } else {
        f64::MIN_POSITIVE
    };
    x != 0.0 && x.abs() < min
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product of two small normal numbers is subnormal when kept and zero when flushed; a
    /// subnormal operand reads as zero when flushed; the scope puts the caller's bits back.
    #[test]
    fn flushing_flushes_and_scopes_restore() {
        let tiny = std::hint::black_box(1e-30_f32);
        let scale = std::hint::black_box(1e-10_f32);
        let sub = std::hint::black_box(1e-40_f32);
        assert!(sub != 0.0 && sub < f32::MIN_POSITIVE);
        let before = control_register();
        {
            let _keep = FlushScope::new(false);
            assert!(!flushing());
            let p = std::hint::black_box(tiny * scale);
            assert!(p != 0.0 && p < f32::MIN_POSITIVE, "{p}");
            assert!(std::hint::black_box(sub * 2.0) > sub);
            if SUPPORTED {
                let _flush = FlushScope::new(true);
                assert!(flushing());
                assert_eq!(std::hint::black_box(tiny * scale), 0.0);
                assert_eq!(std::hint::black_box(sub * 2.0), 0.0);
                // Nested scopes restore in order.
                {
                    let _keep = FlushScope::new(false);
                    assert!(!flushing());
                }
                assert!(flushing());
            }
            assert!(!flushing());
        }
        assert_eq!(control_register() & BITS, before & BITS);
    }

    #[test]
    fn subnormals_are_told_apart() {
        assert!(is_subnormal(1e-40, true));
        assert!(!is_subnormal(1e-40, false));
        assert!(is_subnormal(1e-310, false));
        assert!(!is_subnormal(0.0, true));
        assert!(!is_subnormal(-1e-30, true));
        assert!(is_subnormal(-1e-39, true));
    }
}
