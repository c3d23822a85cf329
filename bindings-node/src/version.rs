//! The version of the core this addon embeds: `require('charter').version`,
//! the same string as the C library's `charter_version()` and Python's
//! `charter.__version__`.

use napi_derive::napi;

/// The core's version, such as `"0.1.0"`.
#[napi]
pub fn version() -> &'static str {
    charter_core::VERSION
}
