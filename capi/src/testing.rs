//! Entry points that exist only for Charter's own C harness (cargo feature
//! `test-hooks`); the installed library never has them.

use std::ffi::{c_char, CStr};

use crate::firewall::call;
use crate::status::charter_status_t;

/// Panics on purpose inside the panic firewall, with `message` (or a fixed
/// text when NULL). Always returns `CHARTER_E_PANIC`.
///
/// # Safety
/// `message` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn charter_test_panic(message: *const c_char) -> charter_status_t {
    call(|| {
        let text = if message.is_null() {
            "charter_test_panic".into()
        } else {
            // SAFETY: the caller passes a NUL-terminated string.
            unsafe { CStr::from_ptr(message) }.to_string_lossy()
        };
        panic!("{text}")
    })
}
