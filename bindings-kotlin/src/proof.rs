//! Hashes as they cross: 32-byte `Vec`s, checked for length.

use charter_core::audit::Hash;
use charter_core::ErrorKind;

use crate::error::{FfiError, Result};

pub(crate) fn hash(bytes: &[u8], what: &str) -> Result<Hash> {
    <Hash>::try_from(bytes).map_err(|_| {
        FfiError::new(ErrorKind::Malformed, format!("{what} must be 32 bytes, not {}", bytes.len()))
    })
}

pub(crate) fn hashes(list: &[Vec<u8>]) -> Result<Vec<Hash>> {
    list.iter().map(|h| hash(h, "a proof hash")).collect()
}

/// Hashes back as `Vec`s.
pub(crate) fn to_vecs(list: &[Hash]) -> Vec<Vec<u8>> {
    list.iter().map(|h| h.to_vec()).collect()
}
