//! Gives the shared library a soname that carries the ABI major version, so
//! a program linked against ABI 1 never loads an incompatible library.

/// Must equal `CHARTER_ABI_VERSION` in `src/version.rs` (a test checks it).
const ABI_VERSION: u32 = 1;

fn main() {
    println!("cargo:rustc-env=CHARTER_BUILD_ABI_VERSION={ABI_VERSION}");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" || os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcharter.so.{ABI_VERSION}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
