//! Capability tokens: a chain of 1 to 8 signed links.
//!
//! Link 0 is signed by a root key and names a subject and what it may do.
//! Each later link is signed by the subject of the link before it, covers
//! that link's id, and may only narrow: fewer grants, each within one of
//! the parent's, inside the parent's validity window. Who signed a link is
//! never a field: for the root link it is the root key the link names (and
//! which the verifier must trust), for the others the previous subject.

pub(crate) mod wire;

use std::fmt::{self, Write as _};
use std::ops::Range;

use ring::digest::{digest, SHA256};

use super::grant::Grant;
use super::keys::{KeyPair, PublicKey};
use super::text::{self, fmt_as_text, TOKEN_PREFIX};
use crate::{Error, ErrorKind, Result};

pub use wire::{MAX_GRANTS, MAX_LINKS, MAX_TOKEN_BYTES};

/// Prefixed to the challenge and token a holder signs to open a session.
pub(crate) const SESSION_DOMAIN: &[u8] = b"charter/session-proof/v1\0";

/// The id of a link: the SHA-256 of its encoding. Revocation names links
/// by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub(crate) [u8; 32]);

impl LinkId {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        crate::text::hex(&self.0)
    }

    /// Parses exactly 64 hex digits (either case), after trimming
    /// surrounding whitespace; a sign, a separator or any other character
    /// is `MALFORMED`.
    pub fn from_hex(hex: &str) -> Result<LinkId> {
        let hex = hex.trim();
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Malformed,
                format!("a link id is 64 hex digits; {} {why}", crate::quote(hex)),
            )
        };
        if hex.len() != 64 {
            return Err(bad("has the wrong length"));
        }
        let mut id = [0u8; 32];
        for (byte, pair) in id.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            match (hex_digit(pair[0]), hex_digit(pair[1])) {
                (Some(high), Some(low)) => *byte = high << 4 | low,
                _ => return Err(bad("holds a character that is not a hex digit")),
            }
        }
        Ok(LinkId(id))
    }
}

/// The value of one ASCII hex digit. `u8::from_str_radix` is not used: it
/// takes a leading `+`, so "+f" would parse as a byte.
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fmt_as_text!(LinkId, to_hex);

/// One decoded link. Its bytes stay in the token, so its signature is
/// checked over exactly what was received.
#[derive(Clone, Debug)]
pub struct Link {
    span: Range<usize>,
    body_len: usize,
    anchor: Anchor,
    subject: PublicKey,
    not_before: u64,
    not_after: u64,
    grants: Vec<Grant>,
    signature: [u8; 64],
}

/// What a link hangs from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// A root link names the root key that signed it.
    Root(PublicKey),
    /// A delegation names the link it extends.
    Parent(LinkId),
}

impl Link {
    /// Whether this is the root link (link 0).
    pub fn is_root(&self) -> bool {
        matches!(self.anchor, Anchor::Root(_))
    }

    /// The key this link gives its grants to.
    pub fn subject(&self) -> PublicKey {
        self.subject
    }

    /// The grants.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Valid from this time (seconds since the epoch) ...
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    /// ... until just before this one.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }

    pub(crate) fn anchor(&self) -> Anchor {
        self.anchor
    }

    /// Where the link's encoding lies in its token.
    #[cfg(test)]
    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub(crate) fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}

/// A capability token. Holding one proves nothing: a session also needs a
/// signature by the last subject's key (see `Authority::open_session`).
#[derive(Clone)]
pub struct Token {
    bytes: Vec<u8>,
    root: PublicKey,
    links: Vec<Link>,
}

impl Token {
    /// Mints a root token: `root` gives `grants` to `subject` for the window
    /// `[not_before, not_after)` (seconds since the epoch).
    pub fn mint(
        root: &KeyPair,
        subject: &PublicKey,
        grants: &[Grant],
        not_before: u64,
        not_after: u64,
    ) -> Result<Token> {
        check_new_link(grants, not_before, not_after)?;
        let body = wire::encode_body(
            wire::KIND_ROOT,
            root.public_key().as_bytes(),
            subject,
            not_before,
            not_after,
            grants,
        );
        let mut bytes = Vec::with_capacity(6 + 2 + body.len() + 64);
        bytes.extend_from_slice(wire::MAGIC);
        bytes.push(wire::VERSION);
        bytes.push(1);
        append_link(&mut bytes, &body, root)?;
        Token::decode(&bytes)
    }

    /// Delegates a narrower token to `subject`. `holder` must be the key of
    /// this token's last subject; `grants` must each lie within one of its
    /// grants and the window within its window, or this fails with `DENIED`.
    pub fn delegate(
        &self,
        holder: &KeyPair,
        subject: &PublicKey,
        grants: &[Grant],
        not_before: u64,
        not_after: u64,
    ) -> Result<Token> {
        let last = self.last();
        if holder.public_key() != last.subject {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("only the token's subject ({}) can delegate it", last.subject),
            ));
        }
        if self.links.len() == MAX_LINKS {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("a token has at most {MAX_LINKS} links"),
            ));
        }
        check_new_link(grants, not_before, not_after)?;
        narrows(grants, not_before, not_after, last).map_err(|why| Error::new(ErrorKind::Denied, why))?;
        let parent = self.link_id(self.links.len() - 1);
        let body =
            wire::encode_body(wire::KIND_DELEGATION, &parent.0, subject, not_before, not_after, grants);
        let mut bytes = self.bytes.clone();
        bytes[5] += 1;
        append_link(&mut bytes, &body, holder)?;
        Token::decode(&bytes)
    }

    /// Decodes a binary token. This checks structure only: signatures, the
    /// chain and the clock are checked by `Authority::verify`. Hostile bytes
    /// give `MALFORMED`, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Token> {
        let (root, links) = wire::decode(bytes)?;
        Ok(Token { bytes: bytes.to_vec(), root, links })
    }

    /// Decodes the text form `charter-tok1:...`.
    pub fn from_text(text: &str) -> Result<Token> {
        Token::decode(&text::decode(text, TOKEN_PREFIX, "token", MAX_TOKEN_BYTES)?)
    }

    /// The binary encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The text form, `charter-tok1:` then base64url.
    pub fn to_text(&self) -> String {
        text::encode(TOKEN_PREFIX, &self.bytes)
    }

    /// The links, root first.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The id of link `index`.
    pub fn link_id(&self, index: usize) -> LinkId {
        let mut id = [0u8; 32];
        id.copy_from_slice(digest(&SHA256, &self.bytes[self.links[index].span.clone()]).as_ref());
        LinkId(id)
    }

    /// The subject of the last link: who holds the token.
    pub fn subject(&self) -> PublicKey {
        self.last().subject
    }

    /// The root key the chain starts from.
    pub fn root_key(&self) -> PublicKey {
        self.root
    }

    /// The holder's proof of possession for `challenge`: a signature that
    /// only the last subject's key can make, tied to this token.
    pub fn prove(&self, holder: &KeyPair, challenge: &[u8; 32]) -> Result<[u8; 64]> {
        if holder.public_key() != self.subject() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("only the token's subject ({}) can prove possession", self.subject()),
            ));
        }
        Ok(holder.sign(&self.proof_message(challenge)))
    }

    /// What a proof of possession signs.
    pub(crate) fn proof_message(&self, challenge: &[u8; 32]) -> Vec<u8> {
        let mut message = Vec::with_capacity(SESSION_DOMAIN.len() + 64);
        message.extend_from_slice(SESSION_DOMAIN);
        message.extend_from_slice(challenge);
        message.extend_from_slice(&self.link_id(self.links.len() - 1).0);
        message
    }

    /// What link `index`'s signature covers: the domain, then the body
    /// exactly as received.
    pub(crate) fn signed_message(&self, index: usize) -> Vec<u8> {
        let link = &self.links[index];
        wire::signed_message(&self.bytes[link.span.start + 2..link.span.start + 2 + link.body_len])
    }

    /// A readable account of every link: issuer, subject, grants, window
    /// and id.
    pub fn inspect(&self) -> String {
        let mut out = format!("token: {} link(s), {} bytes\n", self.links.len(), self.bytes.len());
        for (i, link) in self.links.iter().enumerate() {
            let issuer = if i == 0 { self.root_key() } else { self.links[i - 1].subject };
            let kind = if i == 0 { "root" } else { "delegation" };
            let _ = writeln!(out, "link {i} ({kind})");
            let _ = writeln!(out, "  id       {}", self.link_id(i));
            let _ = writeln!(out, "  issuer   {issuer} ({})", issuer.principal());
            let _ = writeln!(out, "  subject  {} ({})", link.subject, link.subject.principal());
            let _ = writeln!(
                out,
                "  window   {} .. {}",
                crate::text::utc(link.not_before),
                crate::text::utc(link.not_after)
            );
            for grant in &link.grants {
                let _ = writeln!(out, "  grant    {grant}");
            }
        }
        out
    }

    fn last(&self) -> &Link {
        &self.links[self.links.len() - 1]
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token").field("links", &self.links.len()).field("subject", &self.subject()).finish()
    }
}

/// Checks what any new link must satisfy before it is encoded.
fn check_new_link(grants: &[Grant], not_before: u64, not_after: u64) -> Result<()> {
    if grants.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("a link has 1 to {MAX_GRANTS} grants, got 0"),
        ));
    }
    if grants.len() > MAX_GRANTS {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("a link has 1 to {MAX_GRANTS} grants, got {}", grants.len()),
        ));
    }
    if let Some(g) = grants.iter().find(|g| g.pattern().len() > 255) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("grant pattern {} is over 255 bytes", crate::quote(g.pattern())),
        ));
    }
    if not_before >= not_after {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("the token's window must start before it ends: it starts at {not_before} and ends at {not_after} (Unix seconds)"),
        ));
    }
    Ok(())
}

/// Why a link with `grants` and window would widen `parent`, if it would.
pub(crate) fn narrows(
    grants: &[Grant],
    not_before: u64,
    not_after: u64,
    parent: &Link,
) -> std::result::Result<(), String> {
    if let Some(g) = grants.iter().find(|g| !parent.grants.iter().any(|p| g.within(p))) {
        return Err(format!("grant \"{g}\" is not within the parent's grants"));
    }
    if not_before < parent.not_before || not_after > parent.not_after {
        return Err(format!(
            "window {not_before}..{not_after} is not within the parent's {}..{}",
            parent.not_before, parent.not_after
        ));
    }
    Ok(())
}

fn append_link(bytes: &mut Vec<u8>, body: &[u8], signer: &KeyPair) -> Result<()> {
    let signature = signer.sign(&wire::signed_message(body));
    if bytes.len() + 2 + body.len() + 64 > MAX_TOKEN_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("the token would exceed {MAX_TOKEN_BYTES} bytes"),
        ));
    }
    bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(&signature);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_id_hex_round_trip() {
        let id = LinkId([0xab; 32]);
        assert_eq!(LinkId::from_hex(&id.to_hex()).unwrap(), id);
        assert!(LinkId::from_hex("zz").is_err());
        assert_eq!(LinkId::from_hex(&id.to_hex().to_uppercase()).unwrap(), id);
    }

    #[test]
    fn link_id_hex_is_strict() {
        let good = "ab".repeat(32);
        // "+f" is what u8::from_str_radix takes as 15: the old parser let it through.
        for bad in [
            format!("+f{}", &good[2..]),
            format!("{}-1", &good[2..]),
            format!("{} f", &good[3..]),
            format!("{}g", &good[1..]),
            format!("{}é", &good[2..]),
            good[1..].to_string(),
            format!("{good}a"),
            String::new(),
        ] {
            let e = LinkId::from_hex(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Malformed, "{bad:?}");
            assert!(e.message().contains(&crate::quote(&bad)), "{e}");
        }
        let huge = "+".repeat(100_000);
        let e = LinkId::from_hex(&huge).unwrap_err();
        assert!(e.message().len() < 200, "quotes only a prefix: {e}");
        assert!(e.message().contains(&crate::quote(&huge)), "{e}");
        assert!(e.message().contains("... (100000 bytes)"), "{e}");
    }
}
