//! The binary token format, version 1 (documented byte by byte in
//! `docs/formats.md`), and its total decoder.
//!
//! ```text
//! token  = "CHTK" version:u8(=1) count:u8(1..=8) link{count}
//! link   = body_len:u16be body signature:[u8; 64]
//! body   = link_version:u8(=1) kind:u8 anchor:[u8; 32] subject:[u8; 32]
//!          not_before:u64be not_after:u64be grant_count:u8(1..=64) grant{grant_count}
//! grant  = action:u8(1 publish, 2 subscribe, 3 request) len:u8 pattern:[u8; len]
//! ```
//!
//! For a root link (`kind` 0) the anchor is the root public key; for a
//! delegation (`kind` 1) it is the id of the previous link. The signature
//! covers `"charter/token-link/v1\0" || body`, exactly as received.

use super::{Anchor, Link, LinkId};
use crate::capability::grant::{Action, Grant};
use crate::capability::keys::PublicKey;
use crate::{Error, ErrorKind, Result};

pub(crate) const MAGIC: &[u8; 4] = b"CHTK";
pub(crate) const VERSION: u8 = 1;
pub(crate) const LINK_VERSION: u8 = 1;
pub(crate) const KIND_ROOT: u8 = 0;
pub(crate) const KIND_DELEGATION: u8 = 1;
/// Prefixed to a link's body before signing: the signature means "this is
/// a version 1 Charter token link" and nothing else.
pub(crate) const LINK_DOMAIN: &[u8] = b"charter/token-link/v1\0";

/// What a link's signature covers: the domain, then `body` exactly as
/// encoded.
pub(crate) fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(LINK_DOMAIN.len() + body.len());
    message.extend_from_slice(LINK_DOMAIN);
    message.extend_from_slice(body);
    message
}
/// The largest encoded token.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The most links in a chain.
pub const MAX_LINKS: usize = 8;
/// The most grants in one link.
pub const MAX_GRANTS: usize = 64;

fn malformed(why: String) -> Error {
    Error::new(ErrorKind::Malformed, why)
}

/// Appends one link's encoding (without its signature) to `out`.
pub(crate) fn encode_body(
    kind: u8,
    anchor: &[u8; 32],
    subject: &PublicKey,
    not_before: u64,
    not_after: u64,
    grants: &[Grant],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(83 + grants.iter().map(|g| 2 + g.pattern().len()).sum::<usize>());
    body.push(LINK_VERSION);
    body.push(kind);
    body.extend_from_slice(anchor);
    body.extend_from_slice(subject.as_bytes());
    body.extend_from_slice(&not_before.to_be_bytes());
    body.extend_from_slice(&not_after.to_be_bytes());
    body.push(grants.len() as u8);
    for grant in grants {
        body.push(grant.action().code());
        body.push(grant.pattern().len() as u8);
        body.extend_from_slice(grant.pattern().as_bytes());
    }
    body
}

/// A cursor over untrusted bytes: every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len()).ok_or_else(|| {
            malformed(format!("token ends inside {what} (needs {n} bytes at offset {})", self.at))
        })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn array32(&mut self, what: &str) -> Result<[u8; 32]> {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.take(32, what)?);
        Ok(out)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let mut out = [0u8; 8];
        out.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_be_bytes(out))
    }
}

/// Decodes `bytes` into links, checking structure only (signatures, chain
/// and time are the authority's business). Never panics, never loops or
/// allocates beyond the input's size.
pub(crate) fn decode(bytes: &[u8]) -> Result<(PublicKey, Vec<Link>)> {
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(malformed(format!("token is {} bytes; the limit is {MAX_TOKEN_BYTES}", bytes.len())));
    }
    let mut r = Reader { bytes, at: 0 };
    if r.take(4, "the magic")? != MAGIC {
        return Err(malformed("not a Charter token (bad magic)".into()));
    }
    let version = r.u8("the version")?;
    if version != VERSION {
        return Err(malformed(format!(
            "token format version {version} is not supported (expected {VERSION})"
        )));
    }
    let count = usize::from(r.u8("the link count")?);
    if count == 0 || count > MAX_LINKS {
        return Err(malformed(format!("a token has 1 to {MAX_LINKS} links, this one says {count}")));
    }
    let mut links = Vec::with_capacity(count);
    for index in 0..count {
        let start = r.at;
        let len_bytes = r.take(2, "a link length")?;
        let body_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let body = r.take(body_len, "a link body")?;
        let signature = r.take(64, "a link signature")?;
        let link = decode_link(index, body, signature, start..r.at)?;
        if (index == 0) != link.is_root() {
            return Err(malformed(format!(
                "link {index} is a {} link; only link 0 may be, and must be, a root link",
                if link.is_root() { "root" } else { "delegation" }
            )));
        }
        links.push(link);
    }
    if r.at != bytes.len() {
        return Err(malformed(format!("{} bytes follow the last link", bytes.len() - r.at)));
    }
    let Anchor::Root(root) = links[0].anchor() else {
        return Err(malformed("link 0 is not a root link".into()));
    };
    Ok((root, links))
}

fn decode_link(index: usize, body: &[u8], signature: &[u8], span: std::ops::Range<usize>) -> Result<Link> {
    let at = |what: &str| format!("link {index}: {what}");
    let mut r = Reader { bytes: body, at: 0 };
    let version = r.u8("a link version")?;
    if version != LINK_VERSION {
        return Err(malformed(at(&format!("link format version {version} is not supported"))));
    }
    let kind = r.u8("a link kind")?;
    if kind != KIND_ROOT && kind != KIND_DELEGATION {
        return Err(malformed(at(&format!("unknown link kind {kind}"))));
    }
    let anchor = r.array32("a link anchor")?;
    let subject = PublicKey::from_bytes(&r.array32("a subject key")?)
        .map_err(|e| malformed(at(&format!("subject: {}", e.message()))))?;
    let not_before = r.u64("the start of a window")?;
    let not_after = r.u64("the end of a window")?;
    if not_before >= not_after {
        return Err(malformed(at(&format!(
            "empty window: it starts at {not_before} and ends at {not_after} (Unix seconds)"
        ))));
    }
    let grant_count = usize::from(r.u8("the grant count")?);
    if grant_count == 0 || grant_count > MAX_GRANTS {
        return Err(malformed(at(&format!(
            "a link has 1 to {MAX_GRANTS} grants, this one says {grant_count}"
        ))));
    }
    let mut grants = Vec::with_capacity(grant_count);
    for g in 0..grant_count {
        let code = r.u8("a grant action")?;
        let action = Action::from_code(code)
            .ok_or_else(|| malformed(at(&format!("grant {g}: unknown action {code}"))))?;
        let len = usize::from(r.u8("a grant pattern length")?);
        let pattern = std::str::from_utf8(r.take(len, "a grant pattern")?)
            .map_err(|_| malformed(at(&format!("grant {g}: pattern is not UTF-8"))))?;
        let grant =
            Grant::new(action, pattern).map_err(|e| malformed(at(&format!("grant {g}: {}", e.message()))))?;
        grants.push(grant);
    }
    if r.at != body.len() {
        return Err(malformed(at(&format!("{} bytes follow the last grant", body.len() - r.at))));
    }
    let anchor = if kind == KIND_ROOT {
        Anchor::Root(
            PublicKey::from_bytes(&anchor)
                .map_err(|e| malformed(at(&format!("root key: {}", e.message()))))?,
        )
    } else {
        Anchor::Parent(LinkId(anchor))
    };
    let mut sig = [0u8; 64];
    sig.copy_from_slice(signature);
    Ok(Link { span, body_len: body.len(), anchor, subject, not_before, not_after, grants, signature: sig })
}
