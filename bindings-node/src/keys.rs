//! `NativeKeyPair` and `NativePublicKey`: Ed25519 keys, wrapped by the
//! public `KeyPair` and `PublicKey` (`lib/keys.js`).

use std::path::Path;
use std::sync::Arc;

use charter_core::capability::{KeyFileOptions, KeyFormat, KeyPair, PublicKey};
use napi::bindgen_prelude::{Buffer, BufferSlice};
use napi_derive::napi;

use crate::error::{boundary, from_core, Result};

/// An Ed25519 key pair; its private key leaves only through `toPkcs8`.
/// Shared, so that an audit log can sign its checkpoints with it.
#[napi]
pub struct NativeKeyPair {
    pub(crate) pair: Arc<KeyPair>,
}

#[napi]
impl NativeKeyPair {
    /// A new key pair from the operating system's random source.
    #[napi(factory)]
    pub fn generate() -> Result<NativeKeyPair> {
        boundary(|| Ok(NativeKeyPair { pair: Arc::new(KeyPair::generate().map_err(from_core)?) }))
    }

    /// A key pair from a PKCS#8 (v1 or v2) document; `MALFORMED` otherwise.
    #[napi(factory, ts_args_type = "der: Uint8Array")]
    pub fn from_pkcs8(der: BufferSlice) -> Result<NativeKeyPair> {
        boundary(|| Ok(NativeKeyPair { pair: Arc::new(KeyPair::from_pkcs8(&der).map_err(from_core)?) }))
    }

    /// The private key as a PKCS#8 v1 document, in a `Buffer` of its own.
    #[napi]
    pub fn to_pkcs8(&self) -> Buffer {
        self.pair.to_pkcs8().into()
    }

    /// A key pair from PEM text (`-----BEGIN PRIVATE KEY-----`).
    #[napi(factory)]
    pub fn from_pem(text: String) -> Result<NativeKeyPair> {
        boundary(|| Ok(NativeKeyPair { pair: Arc::new(KeyPair::from_pem(&text).map_err(from_core)?) }))
    }

    /// The private key as PEM text.
    #[napi]
    pub fn to_pem(&self) -> String {
        self.pair.to_pem()
    }

    /// A key pair from a private key file (PKCS#8, DER or PEM); a file that
    /// group or others may access is `INVALID_ARGUMENT` unless allowed.
    #[napi(factory)]
    pub fn read_file(path: String, allow_open_permissions: bool) -> Result<NativeKeyPair> {
        boundary(|| {
            let options = KeyFileOptions { allow_open_permissions };
            Ok(NativeKeyPair {
                pair: Arc::new(KeyPair::read_file(Path::new(&path), options).map_err(from_core)?),
            })
        })
    }

    /// Writes the private key to a new file, mode 0600, DER or PEM.
    #[napi]
    pub fn write_file(&self, path: String, pem: bool) -> Result<()> {
        boundary(|| {
            let format = if pem { KeyFormat::Pem } else { KeyFormat::Der };
            self.pair.write_file(Path::new(&path), format).map_err(from_core)
        })
    }

    #[napi(getter)]
    pub fn public_key(&self) -> NativePublicKey {
        NativePublicKey { key: self.pair.public_key() }
    }
}

/// An Ed25519 public key that passed the core's checks (canonical, not of
/// small order).
#[napi]
pub struct NativePublicKey {
    pub(crate) key: PublicKey,
}

#[napi]
impl NativePublicKey {
    /// Parses the text form `charter-pk1:...`.
    #[napi(factory)]
    pub fn from_text(text: String) -> Result<NativePublicKey> {
        boundary(|| Ok(NativePublicKey { key: PublicKey::from_text(&text).map_err(from_core)? }))
    }

    /// Parses the 32 key bytes.
    #[napi(factory, ts_args_type = "bytes: Uint8Array")]
    pub fn from_bytes(bytes: BufferSlice) -> Result<NativePublicKey> {
        boundary(|| Ok(NativePublicKey { key: PublicKey::from_bytes(&bytes).map_err(from_core)? }))
    }

    /// The text form, `charter-pk1:` then base64url.
    #[napi]
    pub fn to_text(&self) -> String {
        self.key.to_text()
    }

    /// The 32 key bytes, in a `Buffer` of their own.
    #[napi]
    pub fn to_bytes(&self) -> Buffer {
        self.key.as_bytes().as_slice().into()
    }

    /// The principal the key identifies, `charter-id1:...`.
    #[napi(getter)]
    pub fn principal(&self) -> String {
        self.key.principal().to_text()
    }

    #[napi]
    pub fn equals(&self, other: &NativePublicKey) -> bool {
        self.key == other.key
    }
}
