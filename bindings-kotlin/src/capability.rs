//! Capabilities: keys, grants, tokens, the authority and its sessions.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use charter_core::audit::Recorder;
use charter_core::capability::{self, Action, Grant, KeyFileOptions, KeyFormat, LinkId};
use charter_core::ErrorKind;

use crate::audit::{AuditLog, AuditScope};
use crate::error::{FfiError, Result};

fn grants(texts: &[String]) -> Result<Vec<Grant>> {
    texts.iter().map(|t| Grant::parse(t).map_err(FfiError::from)).collect()
}

fn grant_texts(grants: &[Grant]) -> Vec<String> {
    grants.iter().map(Grant::to_string).collect()
}

/// An Ed25519 public key.
#[derive(uniffi::Object)]
pub struct PublicKey {
    pub(crate) core: capability::PublicKey,
}

#[uniffi::export]
impl PublicKey {
    /// Parses `charter-pk1:...` text.
    #[uniffi::constructor]
    pub fn from_text(text: String) -> Result<Arc<PublicKey>> {
        Ok(Arc::new(PublicKey { core: capability::PublicKey::from_text(&text)? }))
    }

    /// Takes 32 raw bytes.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<PublicKey>> {
        Ok(Arc::new(PublicKey { core: capability::PublicKey::from_bytes(&bytes)? }))
    }

    /// The `charter-pk1:...` text.
    pub fn to_text(&self) -> String {
        self.core.to_text()
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.core.as_bytes().to_vec()
    }

    /// The principal id, `charter-id1:...`.
    pub fn principal(&self) -> String {
        self.core.principal().to_text()
    }
}

/// An Ed25519 key pair.
#[derive(uniffi::Object)]
pub struct KeyPair {
    pub(crate) core: Arc<capability::KeyPair>,
}

fn key_pair(core: capability::KeyPair) -> Arc<KeyPair> {
    Arc::new(KeyPair { core: Arc::new(core) })
}

#[uniffi::export]
impl KeyPair {
    /// A fresh key pair.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<KeyPair>> {
        Ok(key_pair(capability::KeyPair::generate()?))
    }

    /// Reads a PKCS#8 document.
    #[uniffi::constructor]
    pub fn from_pkcs8(der: Vec<u8>) -> Result<Arc<KeyPair>> {
        Ok(key_pair(capability::KeyPair::from_pkcs8(&der)?))
    }

    /// Reads PEM text.
    #[uniffi::constructor]
    pub fn from_pem(text: String) -> Result<Arc<KeyPair>> {
        Ok(key_pair(capability::KeyPair::from_pem(&text)?))
    }

    /// Reads a key file (DER or PEM), refusing one others may access unless
    /// `allow_open_permissions`.
    #[uniffi::constructor]
    pub fn read_file(path: String, allow_open_permissions: bool) -> Result<Arc<KeyPair>> {
        let options = KeyFileOptions { allow_open_permissions };
        Ok(key_pair(capability::KeyPair::read_file(Path::new(&path), options)?))
    }

    /// Writes a new key file with mode 0600, never replacing one.
    pub fn write_file(&self, path: String, pem: bool) -> Result<()> {
        let format = if pem { KeyFormat::Pem } else { KeyFormat::Der };
        Ok(self.core.write_file(Path::new(&path), format)?)
    }

    /// The PKCS#8 document.
    pub fn to_pkcs8(&self) -> Vec<u8> {
        self.core.to_pkcs8().to_vec()
    }

    /// The PEM text.
    pub fn to_pem(&self) -> String {
        self.core.to_pem()
    }

    /// The public key.
    pub fn public_key(&self) -> Arc<PublicKey> {
        Arc::new(PublicKey { core: self.core.public_key() })
    }

    /// The principal id.
    pub fn principal(&self) -> String {
        self.core.principal().to_text()
    }
}

/// Whether `grant` allows `action` on `topic` (validating the grant's text).
#[uniffi::export]
pub fn grant_allows(grant: String, action: String, topic: String) -> Result<bool> {
    Ok(Grant::parse(&grant)?.allows(Action::from_name(&action)?, &topic))
}

/// Whether `grant` lies within `other`.
#[uniffi::export]
pub fn grant_within(grant: String, other: String) -> Result<bool> {
    Ok(Grant::parse(&grant)?.within(&Grant::parse(&other)?))
}

/// A grant's text in canonical form (validating it).
#[uniffi::export]
pub fn grant_parse(grant: String) -> Result<String> {
    Ok(Grant::parse(&grant)?.to_string())
}

/// One link of a token.
#[derive(uniffi::Record)]
pub struct LinkInfo {
    /// Its position, 0 for the root.
    pub index: u32,
    /// Its id, 64 hex digits.
    pub id: String,
    /// The key that signed it: the root key or the previous subject.
    pub issuer: String,
    /// The key it gives its grants to.
    pub subject: String,
    /// Its grants, as `ACTION PATTERN`.
    pub grants: Vec<String>,
    /// Its window start, Unix seconds.
    pub not_before: u64,
    /// Its window end (exclusive).
    pub not_after: u64,
    /// Whether it is the root link.
    pub is_root: bool,
}

/// A capability token.
#[derive(uniffi::Object)]
pub struct Token {
    pub(crate) core: capability::Token,
}

#[uniffi::export]
impl Token {
    /// A root token: `root` gives `grants` to `subject` for `[not_before, not_after)`.
    #[uniffi::constructor]
    pub fn mint(
        root: Arc<KeyPair>,
        subject: Arc<PublicKey>,
        grants: Vec<String>,
        not_before: u64,
        not_after: u64,
    ) -> Result<Arc<Token>> {
        let core = capability::Token::mint(
            &root.core,
            &subject.core,
            &self::grants(&grants)?,
            not_before,
            not_after,
        )?;
        Ok(Arc::new(Token { core }))
    }

    /// Decodes binary form (structure only).
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Token>> {
        Ok(Arc::new(Token { core: capability::Token::decode(&bytes)? }))
    }

    /// Decodes `charter-tok1:...` text (structure only).
    #[uniffi::constructor]
    pub fn from_text(text: String) -> Result<Arc<Token>> {
        Ok(Arc::new(Token { core: capability::Token::from_text(&text)? }))
    }

    /// A narrower token, signed by `holder` (this token's subject).
    pub fn delegate(
        &self,
        holder: Arc<KeyPair>,
        subject: Arc<PublicKey>,
        grants: Vec<String>,
        not_before: u64,
        not_after: u64,
    ) -> Result<Arc<Token>> {
        let core = self.core.delegate(
            &holder.core,
            &subject.core,
            &self::grants(&grants)?,
            not_before,
            not_after,
        )?;
        Ok(Arc::new(Token { core }))
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.core.as_bytes().to_vec()
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        self.core.to_text()
    }

    /// The links, root first.
    pub fn links(&self) -> Vec<LinkInfo> {
        let links = self.core.links();
        links
            .iter()
            .enumerate()
            .map(|(i, link)| LinkInfo {
                index: i as u32,
                id: self.core.link_id(i).to_hex(),
                issuer: if i == 0 { self.core.root_key() } else { links[i - 1].subject() }.to_text(),
                subject: link.subject().to_text(),
                grants: grant_texts(link.grants()),
                not_before: link.not_before(),
                not_after: link.not_after(),
                is_root: link.is_root(),
            })
            .collect()
    }

    /// The last link's subject.
    pub fn subject(&self) -> Arc<PublicKey> {
        Arc::new(PublicKey { core: self.core.subject() })
    }

    /// The root key.
    pub fn root_key(&self) -> Arc<PublicKey> {
        Arc::new(PublicKey { core: self.core.root_key() })
    }

    /// The holder's proof of possession for an authority's challenge.
    pub fn prove(&self, holder: Arc<KeyPair>, challenge: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self.core.prove(&holder.core, &challenge32(&challenge)?)?.to_vec())
    }

    /// A readable account of every link.
    pub fn inspect(&self) -> String {
        self.core.inspect()
    }
}

fn challenge32(bytes: &[u8]) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        FfiError::new(ErrorKind::Malformed, format!("a challenge is 32 bytes, not {}", bytes.len()))
    })
}

/// A clock the tests set by hand.
#[derive(uniffi::Object)]
pub struct ManualClock {
    core: Arc<capability::ManualClock>,
}

#[uniffi::export]
impl ManualClock {
    /// A clock reading `now` (Unix seconds).
    #[uniffi::constructor]
    pub fn new(now: u64) -> Arc<ManualClock> {
        Arc::new(ManualClock { core: Arc::new(capability::ManualClock::new(now)) })
    }

    /// The time it reads.
    pub fn now(&self) -> u64 {
        capability::Clock::now(&*self.core)
    }

    /// Sets it.
    pub fn set(&self, now: u64) {
        self.core.set(now);
    }

    /// Moves it forward.
    pub fn advance(&self, seconds: u64) {
        self.core.advance(seconds);
    }
}

/// What `Authority.verify` found.
#[derive(uniffi::Record)]
pub struct Verified {
    /// The key the grants are given to.
    pub subject: String,
    /// Its principal id.
    pub principal: String,
    /// The effective grants.
    pub grants: Vec<String>,
    /// The effective window start.
    pub not_before: u64,
    /// The effective window end.
    pub not_after: u64,
    /// The link ids, root first.
    pub links: Vec<String>,
}

/// Verifies tokens and opens sessions.
#[derive(uniffi::Object)]
pub struct Authority {
    pub(crate) core: capability::Authority,
}

#[uniffi::export]
impl Authority {
    /// An authority trusting `roots`, reading `clock` (the system clock
    /// when `None`), recording session openings in `audit` when given.
    #[uniffi::constructor]
    pub fn new(
        roots: Vec<Arc<PublicKey>>,
        clock: Option<Arc<ManualClock>>,
        max_lifetime_secs: Option<u64>,
        clock_skew_secs: Option<u64>,
        audit: Option<Arc<AuditLog>>,
        scope: AuditScope,
    ) -> Result<Arc<Authority>> {
        let mut options = capability::AuthorityOptions::default();
        if let Some(clock) = clock {
            options.clock = clock.core.clone();
        }
        if let Some(s) = max_lifetime_secs {
            options.max_lifetime = Duration::from_secs(s);
        }
        if let Some(s) = clock_skew_secs {
            options.clock_skew = Duration::from_secs(s);
        }
        if let Some(log) = audit {
            options.recorder = Some(Recorder::new(log.handle()?, scope.into()));
        }
        let core = capability::Authority::new(roots.iter().map(|r| r.core), options);
        Ok(Arc::new(Authority { core }))
    }

    /// Checks `token`: revocation, root, structure, signatures, narrowing, time.
    pub fn verify(&self, token: Arc<Token>) -> Result<Verified> {
        let v = self.core.verify(&token.core)?;
        Ok(Verified {
            subject: v.subject.to_text(),
            principal: v.principal.to_text(),
            grants: grant_texts(&v.grants),
            not_before: v.not_before,
            not_after: v.not_after,
            links: v.links.iter().map(LinkId::to_hex).collect(),
        })
    }

    /// A fresh single-use challenge.
    pub fn challenge(&self) -> Result<Vec<u8>> {
        Ok(self.core.challenge()?.to_vec())
    }

    /// Opens a session for `token`, whose holder answered `challenge` with `proof`.
    pub fn open_session(
        &self,
        token: Arc<Token>,
        challenge: Vec<u8>,
        proof: Vec<u8>,
    ) -> Result<Arc<Session>> {
        let core = self.core.open_session(&token.core, &challenge32(&challenge)?, &proof)?;
        Ok(Arc::new(Session { core }))
    }

    /// Revokes link `id` (hex); whether it was new.
    pub fn revoke(&self, id: String) -> Result<bool> {
        Ok(self.core.revoke(LinkId::from_hex(&id)?)?)
    }

    /// Lifts a revocation; whether there was one.
    pub fn unrevoke(&self, id: String) -> Result<bool> {
        Ok(self.core.unrevoke(&LinkId::from_hex(&id)?))
    }

    /// The revoked link ids.
    pub fn revocations(&self) -> Vec<String> {
        self.core.revocations().iter().map(LinkId::to_hex).collect()
    }

    /// The revocations, one id per line.
    pub fn export_revocations(&self) -> String {
        self.core.export_revocations()
    }

    /// Imports revocations, all or nothing; how many were new.
    pub fn import_revocations(&self, text: String) -> Result<u64> {
        Ok(self.core.import_revocations(&text)? as u64)
    }

    /// Trusts `root`.
    pub fn trust(&self, root: Arc<PublicKey>) {
        self.core.trust(root.core);
    }

    /// Stops trusting `root`; whether it was trusted.
    pub fn distrust(&self, root: Arc<PublicKey>) -> bool {
        self.core.distrust(&root.core)
    }

    /// The authority's time, Unix seconds.
    pub fn now(&self) -> u64 {
        self.core.now()
    }
}

/// A proven holder of a token.
#[derive(uniffi::Object)]
pub struct Session {
    pub(crate) core: capability::Session,
}

#[uniffi::export]
impl Session {
    /// Fails with `DENIED` (or `EXPIRED` / `REVOKED`) unless allowed.
    pub fn check(&self, action: String, topic: String) -> Result<()> {
        Ok(self.core.check(Action::from_name(&action)?, &topic)?)
    }

    /// Whether it is still alive.
    pub fn is_active(&self) -> bool {
        self.core.is_active()
    }

    /// The holder's principal id.
    pub fn principal(&self) -> String {
        self.core.principal().to_text()
    }

    /// The holder's key.
    pub fn subject(&self) -> Arc<PublicKey> {
        Arc::new(PublicKey { core: self.core.subject() })
    }

    /// The grants.
    pub fn grants(&self) -> Vec<String> {
        grant_texts(self.core.grants())
    }

    /// When it expires, Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.core.expires_at()
    }
}
