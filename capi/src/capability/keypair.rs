//! `charter_keypair_*`: Ed25519 key pairs.

use std::ffi::c_char;
use std::path::Path;

use charter_core::capability::{KeyFileOptions, KeyFormat, KeyPair, PublicKey};

use crate::args::{any_length, bytes_arg, str_arg};
use crate::firewall::{call, require_out, write_out};
use crate::handle;
use crate::status::charter_status_t;
use crate::strings::{bytes_out, string_out};

/// An Ed25519 key pair. Opaque.
pub struct charter_keypair {
    _opaque: [u8; 0],
}

/// The handle type of a key pair.
pub type charter_keypair_t = charter_keypair;

/// Generates a key pair from the operating system's random source. Free the
/// key pair written to `out` with `charter_keypair_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_generate(out: *mut *mut charter_keypair_t) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        let pair = handle::create(KeyPair::generate()?)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", pair) }
    })
}

/// Loads a key pair from a PKCS#8 document (`CHARTER_E_MALFORMED` if it is
/// not an Ed25519 key). Free the key pair written to `out` with
/// `charter_keypair_free`.
///
/// # Safety
/// `der` must be valid for `len` bytes; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_from_pkcs8(
    der: *const u8,
    len: usize,
    out: *mut *mut charter_keypair_t,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        // SAFETY: the caller's contract on `der`.
        let der = unsafe { bytes_arg(der, len, "der", any_length)? };
        let pair = handle::create(KeyPair::from_pkcs8(der)?)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", pair) }
    })
}

/// Loads a key pair from PEM text (`-----BEGIN PRIVATE KEY-----` around a
/// PKCS#8 document; `CHARTER_E_MALFORMED` otherwise).
///
/// Free the key written to `out` with `charter_keypair_free`.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_from_pem(
    text: *const c_char,
    out: *mut *mut charter_keypair_t,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        // SAFETY: the caller's contract on `text`.
        let text = unsafe { str_arg(text, "text")? };
        let pair = handle::create(KeyPair::from_pem(text)?)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", pair) }
    })
}

/// Writes the private key as PEM text to `out`; free it with
/// `charter_string_free`. It is a secret: store it with care.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_to_pem(
    pair: *mut charter_keypair_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        let text = handle::with::<KeyPair, _>(pair, "pair", |k| Ok(k.to_pem()))?;
        // SAFETY: checked non-NULL above.
        unsafe { string_out(out, "out", text) }
    })
}

/// Loads a key pair from a private key file (PKCS#8, DER or PEM). A file
/// that group or others may access is refused with
/// `CHARTER_E_INVALID_ARGUMENT`, as ssh refuses one, unless
/// `allow_open_permissions`; anything but a regular file is refused too.
///
/// Free the key written to `out` with `charter_keypair_free`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_read_file(
    path: *const c_char,
    allow_open_permissions: bool,
    out: *mut *mut charter_keypair_t,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        // SAFETY: the caller's contract on `path`.
        let path = unsafe { str_arg(path, "path")? };
        let pair = KeyPair::read_file(Path::new(path), KeyFileOptions { allow_open_permissions })?;
        let pair = handle::create(pair)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", pair) }
    })
}

/// Writes the private key to a new file at `path` with mode 0600, as DER
/// or, with `pem`, PEM text. An existing file or symlink there is never
/// replaced (`CHARTER_E_INVALID_ARGUMENT`).
///
/// # Safety
/// `path` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_write_file(
    pair: *mut charter_keypair_t,
    path: *const c_char,
    pem: bool,
) -> charter_status_t {
    call(|| {
        // SAFETY: the caller's contract on `path`.
        let path = unsafe { str_arg(path, "path")? };
        let format = if pem { KeyFormat::Pem } else { KeyFormat::Der };
        handle::with::<KeyPair, _>(pair, "pair", |k| k.write_file(Path::new(path), format))
    })
}

/// Writes the private key as a PKCS#8 v1 document (RFC 8410, which OpenSSL
/// 3 loads) to `out` (`out_len` bytes; free with `charter_bytes_free`). It
/// is a secret: store it with care.
///
/// # Safety
/// `out` and `out_len` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_to_pkcs8(
    pair: *mut charter_keypair_t,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        require_out(out_len, "out_len")?;
        let der = handle::with::<KeyPair, _>(pair, "pair", |k| Ok(k.to_pkcs8().to_vec()))?;
        // SAFETY: both checked non-NULL above.
        unsafe { bytes_out(out, out_len, der) }
    })
}

/// Writes the public key's text form (`charter-pk1:...`) to `out`; free it
/// with `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_public_key(
    pair: *mut charter_keypair_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        let text = handle::with::<KeyPair, _>(pair, "pair", |k| Ok(k.public_key().to_text()))?;
        // SAFETY: checked non-NULL above.
        unsafe { string_out(out, "out", text) }
    })
}

/// Parses a public key's text form (`charter-pk1:...`) and writes it back
/// in its canonical form to `out`; free it with `charter_string_free`.
/// `CHARTER_E_MALFORMED` for text that is not a public key.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_public_key_parse(
    text: *const c_char,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        // SAFETY: the caller's contract.
        let key = PublicKey::from_text(unsafe { str_arg(text, "text")? })?;
        // SAFETY: checked non-NULL above.
        unsafe { string_out(out, "out", key.to_text()) }
    })
}

/// Writes the principal id's text form (`charter-id1:...`) to `out`; free
/// it with `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_principal(
    pair: *mut charter_keypair_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        let text = handle::with::<KeyPair, _>(pair, "pair", |k| Ok(k.principal().to_text()))?;
        // SAFETY: checked non-NULL above.
        unsafe { string_out(out, "out", text) }
    })
}

/// Frees a key pair. NULL is a no-op.
///
/// # Safety
/// `pair` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_free(pair: *mut charter_keypair_t) -> charter_status_t {
    call(|| handle::free::<KeyPair>(pair, "pair"))
}
