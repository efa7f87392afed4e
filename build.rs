//! Build script: works out which BLAS backend the features chose, checks that the system OpenBLAS
//! is really there before the linker gets a chance to fail on `cblas_dgemm`, links the platform
//! default (no backend feature), and hands the backend's name to the crate (`BLASRNN_BACKEND`)
//! and a cfg (`blasrnn_openblas` / `blasrnn_accelerate` / `blasrnn_blis`). Conflicting or missing feature choices
//! are reported by `compile_error!` in `src/blas.rs`.

use std::env;

fn feature(name: &str) -> bool {
    env::var_os(format!(
        "CARGO_FEATURE_{}",
        name.to_uppercase().replace('-', "_")
    ))
    .is_some()
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(blasrnn_openblas)");
    println!("cargo::rustc-check-cfg=cfg(blasrnn_accelerate)");
    println!("cargo::rustc-check-cfg=cfg(blasrnn_blis)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_LIBDIR");

    let macos = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos");
    let explicit: Vec<&str> = ["openblas", "openblas-static", "accelerate", "blis"]
        .into_iter()
        .filter(|f| feature(f))
        .collect();
    let default_choice = if macos { "accelerate" } else { "openblas" };
    // Whether this script links the library (the platform default) or a `-src` crate does.
    let (chosen, link_here) = match (explicit.as_slice(), feature("platform-default")) {
        ([one], false) => (*one, false),
        ([one], true) if *one == default_choice => (*one, false),
        ([], true) => (default_choice, true),
        // Zero or several providers: src/blas.rs stops the build with a plain-words message.
        _ => return,
    };

    match chosen {
        "openblas" => {
            let probe = pkg_config::Config::new()
                .cargo_metadata(link_here)
                .probe("openblas");
            let Ok(lib) = probe else {
                println!(
                    "cargo::error=blasrnn: the system OpenBLAS was not found by pkg-config. Install \
                     it and pkg-config, then build again: Debian/Ubuntu `sudo apt-get install \
                     libopenblas-dev pkg-config`; Fedora `sudo dnf install openblas-devel pkgconf`; \
                     Arch `sudo pacman -S openblas pkgconf`; macOS: build with the default features \
                     (Apple Accelerate). To build OpenBLAS from source instead: \
                     `--no-default-features --features openblas-static`."
                );
                return;
            };
            println!("cargo::rustc-cfg=blasrnn_openblas");
            println!(
                "cargo::rustc-env=BLASRNN_BACKEND=openblas {} (system)",
                lib.version
            );
        }
        "openblas-static" => {
            println!(
                "cargo::warning=blasrnn: `openblas-static` has openblas-src download OpenBLAS's source \
                 from the internet and build it; without internet use `--no-default-features --features blis`"
            );
            println!("cargo::rustc-cfg=blasrnn_openblas");
            println!("cargo::rustc-env=BLASRNN_BACKEND=openblas (static, built from source)");
        }
        "blis" => {
            println!("cargo::rustc-cfg=blasrnn_blis");
            println!("cargo::rustc-env=BLASRNN_BACKEND=blis (vendored by blis-src 0.2.2, static)");
        }
        _ => {
            if link_here {
                println!("cargo::rustc-link-lib=framework=Accelerate");
            }
            println!("cargo::rustc-cfg=blasrnn_accelerate");
            println!("cargo::rustc-env=BLASRNN_BACKEND=accelerate");
        }
    }
}
