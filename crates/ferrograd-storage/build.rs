//! Sets `cfg(ferrograd_avx512)` when the compiler can build AVX-512 code
//! (`#[target_feature(enable = "avx512f")]` is stable from Rust 1.89; the
//! crate's minimum is 1.85, where `simd_loop!` keeps its two copies).

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ferrograd_avx512)");
    println!("cargo::rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|v| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()));
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo::rustc-cfg=ferrograd_avx512");
    }
}
