//! Library and ABI versions.

use std::ffi::c_char;

/// The ABI version this header describes. A program may compare it with
/// `charter_abi_version()` at start-up to detect a mismatched library. The
/// shared library's soname carries the same number (`libcharter.so.1`).
pub const CHARTER_ABI_VERSION: u32 = 1;

/// The ABI version of the loaded library.
#[no_mangle]
pub extern "C" fn charter_abi_version() -> u32 {
    CHARTER_ABI_VERSION
}

/// The library version, such as `"0.1.0"`. The string is static: never free
/// it.
#[no_mangle]
pub extern "C" fn charter_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_constant_matches_the_soname() {
        assert_eq!(env!("CHARTER_BUILD_ABI_VERSION"), super::CHARTER_ABI_VERSION.to_string());
    }
}
