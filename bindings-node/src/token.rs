//! `NativeToken`: a capability token, wrapped by the public `Token`
//! (`lib/token.js`).
//!
//! Times cross the boundary as Unix seconds in a JS number: `lib/` checks
//! that what it passes is a non-negative safe integer, and times read from
//! a token are exact up to 2^53 seconds.

use charter_core::capability::{Grant, Token};
use charter_core::ErrorKind;
use napi::bindgen_prelude::{Buffer, BufferSlice};
use napi_derive::napi;

use crate::error::{boundary, error, from_core, Result};
use crate::keys::{NativeKeyPair, NativePublicKey};

/// One link of a token, as `Token.links` shows it.
#[napi(object, object_from_js = false)]
pub struct LinkView {
    /// Who signed it: the root key for link 0, else the previous subject.
    pub issuer: NativePublicKey,
    pub subject: NativePublicKey,
    /// `"action pattern"` strings.
    pub grants: Vec<String>,
    /// The window `[notBefore, notAfter)`, in Unix seconds.
    pub not_before: f64,
    pub not_after: f64,
    /// The link's id, 64 hex digits: what revocation names.
    pub link_id: String,
}

/// A capability token; see the module docs.
#[napi]
pub struct NativeToken {
    pub(crate) token: Token,
}

#[napi]
impl NativeToken {
    /// Mints a root token: `root` gives `grants` to `subject` for
    /// `[notBefore, notAfter)`.
    #[napi(factory)]
    pub fn mint(
        root: &NativeKeyPair,
        subject: &NativePublicKey,
        grants: Vec<String>,
        not_before: f64,
        not_after: f64,
    ) -> Result<NativeToken> {
        boundary(|| {
            let grants = parse_grants(&grants)?;
            let token =
                Token::mint(&root.pair, &subject.key, &grants, seconds(not_before), seconds(not_after))
                    .map_err(from_core)?;
            Ok(NativeToken { token })
        })
    }

    /// Delegates a narrower token to `subject`; `holder` must be this
    /// token's subject. Widening fails with `DENIED`.
    #[napi]
    pub fn delegate(
        &self,
        holder: &NativeKeyPair,
        subject: &NativePublicKey,
        grants: Vec<String>,
        not_before: f64,
        not_after: f64,
    ) -> Result<NativeToken> {
        boundary(|| {
            let grants = parse_grants(&grants)?;
            let token = self
                .token
                .delegate(&holder.pair, &subject.key, &grants, seconds(not_before), seconds(not_after))
                .map_err(from_core)?;
            Ok(NativeToken { token })
        })
    }

    /// Decodes the binary form; checks structure only (`MALFORMED`).
    #[napi(factory, ts_args_type = "bytes: Uint8Array")]
    pub fn from_bytes(bytes: BufferSlice) -> Result<NativeToken> {
        boundary(|| Ok(NativeToken { token: Token::decode(&bytes).map_err(from_core)? }))
    }

    /// Decodes the text form `charter-tok1:...`.
    #[napi(factory)]
    pub fn from_text(text: String) -> Result<NativeToken> {
        boundary(|| Ok(NativeToken { token: Token::from_text(&text).map_err(from_core)? }))
    }

    #[napi]
    pub fn to_bytes(&self) -> Buffer {
        self.token.as_bytes().into()
    }

    #[napi]
    pub fn to_text(&self) -> String {
        self.token.to_text()
    }

    /// A readable account of every link.
    #[napi]
    pub fn inspect(&self) -> String {
        self.token.inspect()
    }

    /// The links, root first.
    #[napi]
    pub fn links(&self) -> Vec<LinkView> {
        let links = self.token.links();
        links
            .iter()
            .enumerate()
            .map(|(i, link)| LinkView {
                issuer: NativePublicKey {
                    key: if i == 0 { self.token.root_key() } else { links[i - 1].subject() },
                },
                subject: NativePublicKey { key: link.subject() },
                grants: link.grants().iter().map(Grant::to_string).collect(),
                not_before: link.not_before() as f64,
                not_after: link.not_after() as f64,
                link_id: self.token.link_id(i).to_hex(),
            })
            .collect()
    }

    /// The last link's subject: who holds the token.
    #[napi(getter)]
    pub fn subject(&self) -> NativePublicKey {
        NativePublicKey { key: self.token.subject() }
    }

    #[napi(getter)]
    pub fn root_key(&self) -> NativePublicKey {
        NativePublicKey { key: self.token.root_key() }
    }

    /// The holder's 64-byte proof of possession for a 32-byte `challenge`.
    #[napi(ts_args_type = "holder: NativeKeyPair, challenge: Uint8Array")]
    pub fn prove(&self, holder: &NativeKeyPair, challenge: BufferSlice) -> Result<Buffer> {
        boundary(|| {
            let proof = self.token.prove(&holder.pair, &challenge_bytes(&challenge)?).map_err(from_core)?;
            Ok(proof.as_slice().into())
        })
    }
}

/// Parses grants written `"action pattern"`.
pub fn parse_grants(grants: &[String]) -> Result<Vec<Grant>> {
    grants.iter().map(|g| Grant::parse(g).map_err(from_core)).collect()
}

/// Unix seconds from JS (checked by `lib/`), as the core takes them.
pub fn seconds(n: f64) -> u64 {
    n as u64
}

/// A 32-byte challenge.
pub fn challenge_bytes(bytes: &[u8]) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| {
        error(ErrorKind::InvalidArgument, format!("a challenge is 32 bytes, got {}", bytes.len()))
    })
}
