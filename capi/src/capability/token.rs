//! `charter_token_*`: capability tokens.

use std::ffi::c_char;

use charter_core::capability::{Grant, PublicKey, Token};
use charter_core::Error;

use super::CHARTER_PROOF_LEN;
use crate::args::{arg_array, arg_bytes, arg_str, arg_str_array};
use crate::capability::charter_keypair_t;
use crate::firewall::call;
use crate::handle::{borrow, clone_handle, free_handle};
use crate::out::{bytes_out, out};
use crate::status::charter_status_t;

/// A capability token. Opaque.
pub struct charter_token {
    _opaque: [u8; 0],
}

/// The handle type of a token.
pub type charter_token_t = charter_token;

crate::handle::handle_type!(charter_token_t owns Token, tag b"TOK1");

/// Reads a subject key and a grant list.
///
/// # Safety
/// `subject` must be a NUL-terminated string; `grants` NULL (with `count` 0)
/// or `count` NUL-terminated strings.
unsafe fn link_args(
    subject: *const c_char,
    grants: *const *const c_char,
    count: usize,
) -> Result<(PublicKey, Vec<Grant>), Error> {
    let subject = PublicKey::from_text(arg_str!(subject)?)?;
    let grants = arg_str_array!(grants, count, charter_core::capability::MAX_GRANTS)?;
    Ok((subject, grants.into_iter().map(Grant::parse).collect::<Result<Vec<_>, _>>()?))
}

/// Mints a root token: `root` grants `grants` (strings such as
/// `"publish orders.*.created"`) to the key `subject` (text form) for
/// `[not_before, not_after)`, in seconds since the Unix epoch. Free the token
/// written to `out` with `charter_token_free`.
///
/// # Safety
/// `subject` must be a NUL-terminated string; `grants` point to
/// `grant_count` strings; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_mint(
    root: *mut charter_keypair_t,
    subject: *const c_char,
    grants: *const *const c_char,
    grant_count: usize,
    not_before: u64,
    not_after: u64,
    out: *mut *mut charter_token_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract.
        let (subject, grants) = unsafe { link_args(subject, grants, grant_count)? };
        out.write_handle(borrow!(root, |root| Token::mint(root, &subject, &grants, not_before, not_after))?)
    })
}

/// Delegates `token` to `subject` with narrower `grants` and window.
/// `holder` must be the token's subject (else `CHARTER_E_INVALID_ARGUMENT`);
/// widening fails with `CHARTER_E_DENIED`. Free the token written to `out`
/// with `charter_token_free`.
///
/// # Safety
/// As `charter_token_mint`.
#[no_mangle]
pub unsafe extern "C" fn charter_token_delegate(
    token: *mut charter_token_t,
    holder: *mut charter_keypair_t,
    subject: *const c_char,
    grants: *const *const c_char,
    grant_count: usize,
    not_before: u64,
    not_after: u64,
    out: *mut *mut charter_token_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract.
        let (subject, grants) = unsafe { link_args(subject, grants, grant_count)? };
        let parent = clone_handle!(token)?;
        let child =
            borrow!(holder, |holder| { parent.delegate(holder, &subject, &grants, not_before, not_after) })?;
        out.write_handle(child)
    })
}

/// Decodes a binary token (structure only: `charter_authority_verify`
/// checks the rest). Hostile bytes give `CHARTER_E_MALFORMED`. Free the token
/// written to `out` with `charter_token_free`.
///
/// # Safety
/// `bytes` must be valid for `len` bytes; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_decode(
    bytes: *const u8,
    len: usize,
    out: *mut *mut charter_token_t,
) -> charter_status_t {
    call(|| out!(out)?.write_handle(Token::decode(arg_bytes!(bytes, len)?)?))
}

/// Decodes a token's text form (`charter-tok1:...`). Free the token written
/// to `out` with `charter_token_free`.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_from_text(
    text: *const c_char,
    out: *mut *mut charter_token_t,
) -> charter_status_t {
    call(|| out!(out)?.write_handle(Token::from_text(arg_str!(text)?)?))
}

/// Writes the binary encoding to `out` (`out_len` bytes; free with
/// `charter_bytes_free`).
///
/// # Safety
/// `out` and `out_len` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_encode(
    token: *mut charter_token_t,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> charter_status_t {
    call(|| bytes_out!(out, out_len)?.put(borrow!(token, |t| Ok(t.as_bytes().to_vec()))?))
}

/// Writes the text form (`charter-tok1:...`) to `out`; free it with
/// `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_to_text(
    token: *mut charter_token_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(token, |t| Ok(t.to_text()))?))
}

/// Writes a readable account of every link (issuer, subject, grants, window,
/// id) to `out`; free it with `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_inspect(
    token: *mut charter_token_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(token, |t| Ok(t.inspect()))?))
}

/// Writes the number of links to `out`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_link_count(
    token: *mut charter_token_t,
    out: *mut usize,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(token, |t| Ok(t.links().len()))?))
}

/// Writes the holder's public key (the last link's subject) in text form
/// (`charter-pk1:...`) to `out`; free it with `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_subject(
    token: *mut charter_token_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(token, |t| Ok(t.subject().to_text()))?))
}

/// Writes the root key the chain starts from in text form
/// (`charter-pk1:...`) to `out`; free it with `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_root_key(
    token: *mut charter_token_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(token, |t| Ok(t.root_key().to_text()))?))
}

/// Writes the id of link `index` (64 hex digits) to `out`; free it with
/// `charter_string_free`. `CHARTER_E_INVALID_ARGUMENT` past the last link.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_token_link_id(
    token: *mut charter_token_t,
    index: usize,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let id = borrow!(token, |t| {
            if index >= t.links().len() {
                return Err(Error::new(
                    charter_core::ErrorKind::InvalidArgument,
                    format!("index {index} is past the token's {} links", t.links().len()),
                ));
            }
            Ok(t.link_id(index).to_hex())
        })?;
        out.put(id)
    })
}

/// Signs `challenge` (`CHARTER_CHALLENGE_LEN` bytes, from
/// `charter_authority_challenge`) as `token`'s holder, writing
/// `CHARTER_PROOF_LEN` bytes to `out_proof`. `holder` must be the token's
/// subject (else `CHARTER_E_INVALID_ARGUMENT`).
///
/// # Safety
/// `challenge` must be valid for 32 bytes, `out_proof` for writing 64.
#[no_mangle]
pub unsafe extern "C" fn charter_token_prove(
    token: *mut charter_token_t,
    holder: *mut charter_keypair_t,
    challenge: *const u8,
    out_proof: *mut u8,
) -> charter_status_t {
    call(|| {
        let out_proof = out!(out_proof as [u8; CHARTER_PROOF_LEN])?;
        let challenge: [u8; 32] = arg_array!(challenge)?;
        let token = clone_handle!(token)?;
        out_proof.put(borrow!(holder, |h| token.prove(h, &challenge))?)
    })
}

/// Frees a token. NULL is a no-op.
///
/// # Safety
/// `token` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_token_free(token: *mut charter_token_t) -> charter_status_t {
    call(|| free_handle!(token))
}
