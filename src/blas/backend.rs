//! The linked BLAS library: exactly one per build (the features choose; `build.rs` links the
//! platform's default), the CBLAS routines of each precision behind the sealed [`Blas`] trait,
//! the library's own thread count and description of itself, and BLIS's kernel choice.

// Exactly one BLAS provider must be linked. `build.rs` picks the platform's default when no backend
// feature is given; these errors explain the other cases in plain words.
#[cfg(all(feature = "openblas", feature = "openblas-static"))]
compile_error!(
    "blasrnn: the features `openblas` and `openblas-static` both select OpenBLAS; pass only one, \
     e.g. `cargo build --release --no-default-features --features openblas-static`"
);
#[cfg(all(
    feature = "accelerate",
    any(feature = "openblas", feature = "openblas-static")
))]
compile_error!(
    "blasrnn: two BLAS providers selected (Accelerate and OpenBLAS); pass exactly one of \
     `--features openblas`, `--features openblas-static`, `--features accelerate`"
);
#[cfg(all(
    feature = "platform-default",
    not(target_os = "macos"),
    any(feature = "accelerate", feature = "openblas-static")
))]
compile_error!(
    "blasrnn: the default features already link the system OpenBLAS; to use another BLAS provider, \
     turn them off: `cargo build --release --no-default-features --features <openblas-static|accelerate>`"
);
#[cfg(all(
    feature = "platform-default",
    target_os = "macos",
    any(feature = "openblas", feature = "openblas-static")
))]
compile_error!(
    "blasrnn: the default features on macOS already link Apple Accelerate; to use OpenBLAS, turn them \
     off: `cargo build --release --no-default-features --features openblas`"
);
#[cfg(not(any(
    feature = "platform-default",
    feature = "openblas",
    feature = "openblas-static",
    feature = "accelerate",
    feature = "blis"
)))]
compile_error!(
    "blasrnn: no BLAS provider selected; build with the default features, or pass one of \
     `--features blis` (BLIS built from its vendored source: nothing to install), `--features \
     openblas` (system OpenBLAS), `--features openblas-static` (OpenBLAS downloaded and built from \
     source: needs internet), `--features accelerate` (macOS)"
);
#[cfg(all(
    feature = "blis",
    any(
        feature = "openblas",
        feature = "openblas-static",
        feature = "accelerate"
    )
))]
compile_error!(
    "blasrnn: two BLAS providers selected (BLIS and another); pass exactly one of `--features blis`, \
     `--features openblas`, `--features openblas-static`, `--features accelerate`"
);
#[cfg(all(feature = "platform-default", feature = "blis"))]
compile_error!(
    "blasrnn: the default features already link the platform's BLAS; for BLIS, turn them off: \
     `cargo build --release --no-default-features --features blis`"
);
#[cfg(all(feature = "accelerate", not(target_os = "macos")))]
compile_error!(
    "blasrnn: `--features accelerate` needs macOS; on this system use the default OpenBLAS"
);

// Link the provider: `blas-src` carries the explicit choices; `build.rs` links the platform default
// (the system OpenBLAS through pkg-config, or the Accelerate framework) itself.
#[cfg(any(
    feature = "openblas",
    feature = "openblas-static",
    feature = "accelerate",
    feature = "blis"
))]
extern crate blas_src as _;
#[cfg(feature = "blis")]
extern crate blis_src as _;

use super::Op;
use cblas_sys::{CBLAS_LAYOUT, CBLAS_TRANSPOSE};

impl Op {
    fn cblas_sys(self) -> CBLAS_TRANSPOSE {
        match self {
            Op::N => CBLAS_TRANSPOSE::CblasNoTrans,
            Op::T => CBLAS_TRANSPOSE::CblasTrans,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A number type CBLAS multiplies, and its routines: `s…` for `f32`, `d…` for `f64`. Implemented
/// for those two types only; use the safe, shape-checked functions of this module, which are
/// generic over it ([`Real`](crate::real::Real) adds the arithmetic the engine needs).
pub trait Blas: sealed::Sealed + Copy + Send + Sync + 'static {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The nearest value of this type.
    fn from_f64(v: f64) -> Self;
    /// The value as `f64` (exact).
    fn to_f64(self) -> f64;
    /// `cblas_?gemm`, row-major.
    ///
    /// # Safety
    /// The pointers must cover the elements the shapes and leading dimensions address, and `c`
    /// must not overlap `a` or `b`.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        ta: Op,
        tb: Op,
        m: i32,
        n: i32,
        k: i32,
        alpha: Self,
        a: *const Self,
        lda: i32,
        b: *const Self,
        ldb: i32,
        beta: Self,
        c: *mut Self,
        ldc: i32,
    );
    /// `cblas_?gemv`, row-major, `x` and `y` with strides `incx`, `incy`.
    ///
    /// # Safety
    /// The pointers must cover the elements the shape and strides address, and `y` must not
    /// overlap `a` or `x`.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemv_raw(
        ta: Op,
        m: i32,
        n: i32,
        alpha: Self,
        a: *const Self,
        lda: i32,
        x: *const Self,
        incx: i32,
        beta: Self,
        y: *mut Self,
        incy: i32,
    );
    /// `cblas_?axpy` over `n` elements.
    ///
    /// # Safety
    /// Both slices must hold `n` elements.
    #[doc(hidden)]
    unsafe fn axpy_raw(n: i32, alpha: Self, x: &[Self], y: &mut [Self]);
    /// `cblas_?scal` over `n` elements.
    ///
    /// # Safety
    /// `x` must hold `n` elements.
    #[doc(hidden)]
    unsafe fn scal_raw(n: i32, alpha: Self, x: &mut [Self]);
    /// `cblas_?nrm2` over `n` elements.
    ///
    /// # Safety
    /// `x` must hold `n` elements.
    #[doc(hidden)]
    unsafe fn nrm2_raw(n: i32, x: &[Self]) -> Self;
}

macro_rules! blas_impl {
    ($t:ty, $gemm:ident, $gemv:ident, $axpy:ident, $scal:ident, $nrm2:ident) => {
        impl Blas for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            unsafe fn gemm_raw(
                ta: Op,
                tb: Op,
                m: i32,
                n: i32,
                k: i32,
                alpha: Self,
                a: *const Self,
                lda: i32,
                b: *const Self,
                ldb: i32,
                beta: Self,
                c: *mut Self,
                ldc: i32,
            ) {
                // SAFETY: the caller's contract.
                unsafe {
                    cblas_sys::$gemm(
                        CBLAS_LAYOUT::CblasRowMajor,
                        ta.cblas_sys(),
                        tb.cblas_sys(),
                        m,
                        n,
                        k,
                        alpha,
                        a,
                        lda,
                        b,
                        ldb,
                        beta,
                        c,
                        ldc,
                    )
                }
            }
            unsafe fn gemv_raw(
                ta: Op,
                m: i32,
                n: i32,
                alpha: Self,
                a: *const Self,
                lda: i32,
                x: *const Self,
                incx: i32,
                beta: Self,
                y: *mut Self,
                incy: i32,
            ) {
                // SAFETY: the caller's contract.
                unsafe {
                    cblas_sys::$gemv(
                        CBLAS_LAYOUT::CblasRowMajor,
                        ta.cblas_sys(),
                        m,
                        n,
                        alpha,
                        a,
                        lda,
                        x,
                        incx,
                        beta,
                        y,
                        incy,
                    )
                }
            }
            unsafe fn axpy_raw(n: i32, alpha: Self, x: &[Self], y: &mut [Self]) {
                // SAFETY: the caller's contract.
                unsafe { cblas::$axpy(n, alpha, x, 1, y, 1) }
            }
            unsafe fn scal_raw(n: i32, alpha: Self, x: &mut [Self]) {
                // SAFETY: the caller's contract.
                unsafe { cblas::$scal(n, alpha, x, 1) }
            }
            unsafe fn nrm2_raw(n: i32, x: &[Self]) -> Self {
                // SAFETY: the caller's contract.
                unsafe { cblas::$nrm2(n, x, 1) }
            }
        }
    };
}

blas_impl!(f32, cblas_sgemm, cblas_sgemv, saxpy, sscal, snrm2);
blas_impl!(f64, cblas_dgemm, cblas_dgemv, daxpy, dscal, dnrm2);

/// Name of the BLAS provider this binary was built with, as `build.rs` recorded it.
pub fn backend() -> &'static str {
    option_env!("BLASRNN_BACKEND").unwrap_or("unknown")
}

/// Whether the linked library multiplies small products with unpacked AVX-512 kernels: OpenBLAS
/// 0.3.17 or later running a SkylakeX-family core (SkylakeX, Cooperlake, SapphireRapids;
/// `OPENBLAS_CORETYPE` can pin another). BLIS and Accelerate are left to make every product
/// whole.
pub fn small_kernels_linked() -> bool {
    static LINKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LINKED.get_or_init(|| {
        #[cfg(blasrnn_openblas)]
        {
            // SAFETY: getters of static strings.
            let (core, config) = unsafe { (openblas_get_corename(), openblas_get_config()) };
            let core = text(core).to_ascii_lowercase();
            ["skylakex", "cooperlake", "sapphirerapids"].contains(&core.as_str())
                && openblas_version(&text(config)).is_some_and(|v| v >= (0, 3, 17))
        }
        #[cfg(not(blasrnn_openblas))]
        false
    })
}

/// The version OpenBLAS's configuration string starts with ("OpenBLAS 0.3.21 DYNAMIC_ARCH …").
pub fn openblas_version(config: &str) -> Option<(u32, u32, u32)> {
    let v = config
        .strip_prefix("OpenBLAS ")?
        .split_whitespace()
        .next()?;
    let mut parts = v.split('.').map(|p| {
        // A suffix such as ".dev" ends the number.
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

#[cfg(blasrnn_openblas)]
unsafe extern "C" {
    fn openblas_set_num_threads(n: std::ffi::c_int);
    fn openblas_get_config() -> *const std::ffi::c_char;
    fn openblas_get_corename() -> *const std::ffi::c_char;
}

#[cfg(blasrnn_blis)]
unsafe extern "C" {
    fn bli_init();
    fn bli_thread_set_num_threads(n: std::ffi::c_long);
    fn bli_arch_query_id() -> std::ffi::c_int;
    fn bli_arch_string(id: std::ffi::c_int) -> *const std::ffi::c_char;
    fn bli_info_get_version_str() -> *const std::ffi::c_char;
}

/// The ids of the BLIS sub-configurations blasrnn chooses among: BLIS 1.0's `arch_t` (blis-src
/// 0.2.2 vendors BLIS 1.0; `frame/include/bli_type_defs.h`). They change between BLIS versions,
/// which is why `blis-src` is pinned, and a test checks each id against BLIS's own name for it.
pub mod blis_arch {
    /// AVX-512 (Skylake-X and later, Zen 4 and later).
    pub const SKX: i32 = 0;
    /// AVX2 + FMA, Intel.
    pub const HASWELL: i32 = 3;
    /// AVX2 + FMA, AMD.
    pub const ZEN3: i32 = 6;
}

/// The BLIS sub-configuration for this CPU: the widest it supports (AVX-512 F/DQ/BW/VL: `skx`;
/// AVX2 + FMA: `zen3` on AMD, `haswell` on Intel), or `None` to leave the choice to BLIS. BLIS
/// 1.0's own detection knows AMD up to Zen 3 and Intel by model: on newer CPUs it falls back to
/// its slow generic kernels.
pub fn blis_choice() -> Option<(i32, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512dq") && has!("avx512bw") && has!("avx512vl") {
            return Some((blis_arch::SKX, "skx"));
        }
        if has!("avx2") && has!("fma") {
            // The vendor string of CPUID leaf 0: "AuthenticAMD" spells "Auth" "enti" "cAMD".
            let leaf = std::arch::x86_64::__cpuid(0);
            let amd = leaf.ebx == u32::from_le_bytes(*b"Auth");
            return Some(if amd {
                (blis_arch::ZEN3, "zen3")
            } else {
                (blis_arch::HASWELL, "haswell")
            });
        }
    }
    None
}

/// Chooses BLIS's kernels for this CPU (see [`blis_choice`]) unless the user set
/// `BLIS_ARCH_TYPE`; a no-op for other backends. Call it first thing, before any BLAS call and
/// before threads start (it sets an environment variable, which BLIS reads once).
pub fn init() {
    #[cfg(blasrnn_blis)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("BLIS_ARCH_TYPE").is_none()
                && let Some((id, _)) = blis_choice()
            {
                // SAFETY: called once, before BLIS is first used (which reads the variable) and,
                // through `main`, before any other thread exists; nothing reads the environment
                // concurrently.
                unsafe { std::env::set_var("BLIS_ARCH_TYPE", id.to_string()) }
            }
        });
    }
}

/// Sets how many threads the BLAS library itself may use for one call. OpenBLAS and BLIS honour
/// it at run time; Accelerate chooses for itself (set `VECLIB_MAXIMUM_THREADS` before start
/// instead).
pub fn set_threads(n: usize) {
    init();
    #[cfg(blasrnn_openblas)]
    // SAFETY: a plain setter of OpenBLAS's global thread count.
    unsafe {
        openblas_set_num_threads(n.max(1) as std::ffi::c_int)
    }
    #[cfg(blasrnn_blis)]
    // SAFETY: a plain setter of BLIS's global thread count.
    unsafe {
        bli_thread_set_num_threads(n.max(1) as std::ffi::c_long)
    }
    #[cfg(not(any(blasrnn_openblas, blasrnn_blis)))]
    let _ = n;
}

/// A C string the library owns, as text.
#[cfg(any(blasrnn_openblas, blasrnn_blis))]
fn text(p: *const std::ffi::c_char) -> String {
    // SAFETY: the libraries return pointers to static NUL-terminated strings.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .trim()
        .to_string()
}

/// BLIS's name of its sub-configuration `id` (`skx`, `zen3`, …).
#[cfg(blasrnn_blis)]
pub fn blis_arch_name(id: i32) -> String {
    // BLIS reads its kernel choice when it first initialises: blasrnn's choice must be made first.
    init();
    // SAFETY: BLIS's idempotent initialisation; it returns a static string for every valid id.
    text(unsafe {
        bli_init();
        bli_arch_string(id)
    })
}

/// The library's own description of its build: OpenBLAS's (version, kernel family, threading);
/// BLIS's version and the sub-configuration that runs, and who chose it.
pub fn config() -> Option<String> {
    init();
    #[cfg(blasrnn_openblas)]
    // SAFETY: a getter of a static string.
    let c = Some(text(unsafe { openblas_get_config() }));
    #[cfg(blasrnn_blis)]
    let c = {
        // SAFETY: BLIS's initialisation (idempotent, thread-safe) and plain getters.
        let (version, id) = unsafe {
            bli_init();
            (text(bli_info_get_version_str()), bli_arch_query_id())
        };
        let who = match (std::env::var("BLIS_ARCH_TYPE"), blis_choice()) {
            (Ok(v), Some((chosen, _))) if v == chosen.to_string() => {
                "chosen by blasrnn for this CPU"
            }
            (Ok(_), _) => "set by BLIS_ARCH_TYPE",
            (Err(_), _) => "BLIS's own detection",
        };
        Some(format!(
            "BLIS {version}, sub-configuration {} ({who})",
            blis_arch_name(id)
        ))
    };
    #[cfg(not(any(blasrnn_openblas, blasrnn_blis)))]
    let c = None;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(blasrnn_blis)]
    #[test]
    fn blis_ids_name_the_intended_sub_configurations() {
        assert_eq!(blis_arch_name(blis_arch::SKX), "skx");
        assert_eq!(blis_arch_name(blis_arch::HASWELL), "haswell");
        assert_eq!(blis_arch_name(blis_arch::ZEN3), "zen3");
        // What runs is what blasrnn chose for this CPU (unless the user chose).
        let c = config().unwrap();
        if let Some((_, name)) = blis_choice()
            && !c.contains("set by BLIS_ARCH_TYPE")
        {
            let want = format!("sub-configuration {name} (chosen by blasrnn for this CPU)");
            assert!(c.contains(&want), "{c}");
        }
    }

    #[test]
    fn openblas_versions_are_read_from_its_configuration() {
        let v = |s| openblas_version(s);
        assert_eq!(
            v("OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH"),
            Some((0, 3, 21))
        );
        assert_eq!(v("OpenBLAS 0.3.30.dev DYNAMIC_ARCH"), Some((0, 3, 30)));
        assert_eq!(v("OpenBLAS 0.3 x"), Some((0, 3, 0)));
        assert!(v("OpenBLAS 0.3.8").unwrap() < (0, 3, 17));
        assert_eq!(v("BLIS 1.0"), None);
        assert_eq!(v("OpenBLAS x.y"), None);
    }
}
