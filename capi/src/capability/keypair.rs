//! `charter_keypair_*`: Ed25519 key pairs.

use std::ffi::c_char;
use std::path::Path;

use charter_core::capability::{KeyFileOptions, KeyFormat, KeyPair, PublicKey};

use crate::args::{arg_bytes, arg_str};
use crate::firewall::call;
use crate::handle::{borrow, free_handle};
use crate::out::{bytes_out, out};
use crate::status::charter_status_t;

/// An Ed25519 key pair. Opaque.
pub struct charter_keypair {
    _opaque: [u8; 0],
}

/// The handle type of a key pair.
pub type charter_keypair_t = charter_keypair;

crate::handle::handle_type!(charter_keypair_t owns KeyPair, tag b"KEY1");

/// Generates a key pair from the operating system's random source. Free the
/// key pair written to `out` with `charter_keypair_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_generate(out: *mut *mut charter_keypair_t) -> charter_status_t {
    call(|| out!(out)?.write_handle(KeyPair::generate()?))
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
        let out = out!(out)?;
        let der = arg_bytes!(der, len)?;
        out.write_handle(KeyPair::from_pkcs8(der)?)
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
        let out = out!(out)?;
        let text = arg_str!(text)?;
        out.write_handle(KeyPair::from_pem(text)?)
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
    call(|| out!(out)?.put(borrow!(pair, |k| Ok(k.to_pem()))?))
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
        let out = out!(out)?;
        let path = arg_str!(path)?;
        out.write_handle(KeyPair::read_file(Path::new(path), KeyFileOptions { allow_open_permissions })?)
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
        let path = arg_str!(path)?;
        let format = if pem { KeyFormat::Pem } else { KeyFormat::Der };
        borrow!(pair, |k| k.write_file(Path::new(path), format))
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
    call(|| bytes_out!(out, out_len)?.put(borrow!(pair, |k| Ok(k.to_pkcs8().to_vec()))?))
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
    call(|| out!(out)?.put(borrow!(pair, |k| Ok(k.public_key().to_text()))?))
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
        let out = out!(out)?;
        let key = PublicKey::from_text(arg_str!(text)?)?;
        out.put(key.to_text())
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
    call(|| out!(out)?.put(borrow!(pair, |k| Ok(k.principal().to_text()))?))
}

/// Frees a key pair. NULL is a no-op.
///
/// # Safety
/// `pair` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_keypair_free(pair: *mut charter_keypair_t) -> charter_status_t {
    call(|| free_handle!(pair))
}
