//! The authority: which roots to trust, what time it is, how long tokens
//! may live, and which links are revoked. It verifies tokens and opens
//! sessions.
//!
//! The authority keeps a weak list of the sessions it opened, so that
//! revoking a link or distrusting a root ends every session that depends
//! on it at once ([`Authority::sweep`]), together with the bus
//! subscriptions made with those sessions: queued messages are dropped and
//! counted, waiting receivers wake with `REVOKED`, and nothing more is
//! delivered. The dependents are ended outside every lock of the authority.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use super::clock::{Clock, SystemClock};
use super::grant::Grant;
use super::keys::{PrincipalId, PublicKey};
use super::session::{Session, SessionInner};
use super::token::{narrows, Anchor, LinkId, Token};
use crate::audit::Recorder;
use crate::{Error, ErrorKind, Result};

/// The most links an authority keeps revoked.
pub const MAX_REVOCATIONS: usize = 1 << 20;
/// The most challenges outstanding at once; the oldest go first.
pub const MAX_CHALLENGES: usize = 4096;
/// How long a challenge may be answered, in seconds.
pub const CHALLENGE_TTL: u64 = 120;

/// How an authority judges time.
#[derive(Clone)]
pub struct AuthorityOptions {
    /// The longest window any link may have.
    pub max_lifetime: Duration,
    /// How far the holder's clock and ours may disagree.
    pub clock_skew: Duration,
    /// The clock (tests inject a [`ManualClock`](super::clock::ManualClock)).
    pub clock: Arc<dyn Clock>,
    /// Where session openings are recorded, allowed or refused (actor: the
    /// token's subject, marked unproven unless the session opened, that is
    /// unless its holder proved possession of the key; action
    /// `open_session`; resource: the token's root key). `None` records
    /// nothing.
    pub recorder: Option<Recorder>,
}

impl Default for AuthorityOptions {
    fn default() -> AuthorityOptions {
        AuthorityOptions {
            max_lifetime: Duration::from_secs(90 * 24 * 3600),
            clock_skew: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            recorder: None,
        }
    }
}

/// What a verified token establishes: who holds it and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The last link's subject: the holder.
    pub subject: PublicKey,
    /// The holder's principal id.
    pub principal: PrincipalId,
    /// The last link's grants.
    pub grants: Vec<Grant>,
    /// The last link's window, `[not_before, not_after)`.
    pub not_before: u64,
    /// See `not_before`.
    pub not_after: u64,
    /// Every link's id, root first.
    pub links: Vec<LinkId>,
}

/// Verifies tokens and opens sessions. Cloning is cheap and shares state.
#[derive(Clone)]
pub struct Authority {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    roots: RwLock<HashSet<PublicKey>>,
    pub(crate) clock: Arc<dyn Clock>,
    max_lifetime: u64,
    pub(crate) skew: u64,
    revoked: RwLock<HashSet<LinkId>>,
    /// Bumped by every revocation, so sessions notice cheaply.
    pub(crate) epoch: AtomicU64,
    challenges: Mutex<Challenges>,
    random: SystemRandom,
    recorder: Option<Recorder>,
    /// The sessions opened here that may still be alive; dead entries are
    /// pruned as the list grows.
    sessions: Mutex<Vec<Weak<SessionInner>>>,
}

/// Outstanding challenges with when each was issued, and in what order:
/// the clock ticks in seconds, so many challenges share a time, and only
/// the order tells which is the oldest.
#[derive(Default)]
struct Challenges {
    issued: HashMap<[u8; 32], (u64, u64)>,
    next: u64,
}

impl Inner {
    pub(crate) fn any_revoked(&self, links: &[LinkId]) -> Option<usize> {
        let revoked = self.revoked.read().unwrap_or_else(PoisonError::into_inner);
        links.iter().position(|id| revoked.contains(id))
    }

    pub(crate) fn trusts(&self, root: &PublicKey) -> bool {
        self.roots.read().unwrap_or_else(PoisonError::into_inner).contains(root)
    }
}

impl Authority {
    /// An authority that trusts `roots`.
    pub fn new(roots: impl IntoIterator<Item = PublicKey>, options: AuthorityOptions) -> Authority {
        Authority {
            inner: Arc::new(Inner {
                roots: RwLock::new(roots.into_iter().collect()),
                clock: options.clock,
                max_lifetime: options.max_lifetime.as_secs(),
                skew: options.clock_skew.as_secs(),
                revoked: RwLock::new(HashSet::new()),
                epoch: AtomicU64::new(0),
                challenges: Mutex::new(Challenges::default()),
                random: SystemRandom::new(),
                recorder: options.recorder,
                sessions: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Trusts `root` from now on.
    pub fn trust(&self, root: PublicKey) {
        self.inner.roots.write().unwrap_or_else(PoisonError::into_inner).insert(root);
    }

    /// Stops trusting `root`, and ends every session opened under it (see
    /// [`sweep`](Self::sweep)). Returns whether it was trusted.
    pub fn distrust(&self, root: &PublicKey) -> bool {
        let removed = self.inner.roots.write().unwrap_or_else(PoisonError::into_inner).remove(root);
        self.inner.epoch.fetch_add(1, Ordering::Release);
        self.sweep();
        removed
    }

    /// Ends every session opened here that has expired by the clock, lost a
    /// link to revocation or its root to distrust, and everything that
    /// depends on it (its bus subscriptions end: queued messages are
    /// dropped and counted as `session_ended`, waiting receivers wake with
    /// `EXPIRED` or `REVOKED`). Returns how many sessions ended.
    ///
    /// Revoking, importing revocations and distrusting call it themselves.
    /// Expiry needs no sweep to be enforced (an expired session fails every
    /// check, and a receiver waiting on its subscription wakes at the
    /// expiry instant), but a sweep ends its subscriptions at once; call it
    /// after moving a [`ManualClock`](super::ManualClock), or from a timer.
    pub fn sweep(&self) -> usize {
        let live: Vec<Session> = {
            let mut sessions = self.inner.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            sessions.retain(|s| s.strong_count() > 0);
            sessions.iter().filter_map(Weak::upgrade).map(Session::from_inner).collect()
        };
        live.iter().filter(|s| s.end_if_lapsed()).count()
    }

    /// The time by this authority's clock.
    pub fn now(&self) -> u64 {
        self.inner.clock.now()
    }

    /// Verifies `token`: revocation first, then the root, the chain, every
    /// signature, narrowing, lifetime, and finally the clock.
    pub fn verify(&self, token: &Token) -> Result<Verified> {
        let links = token.links();
        let ids: Vec<LinkId> = (0..links.len()).map(|i| token.link_id(i)).collect();
        if let Some(i) = self.inner.any_revoked(&ids) {
            return Err(Error::new(ErrorKind::Revoked, format!("link {i} ({}) is revoked", ids[i])));
        }
        let root = token.root_key();
        if !self.inner.roots.read().unwrap_or_else(PoisonError::into_inner).contains(&root) {
            return Err(Error::new(ErrorKind::UntrustedRoot, format!("root key {root} is not trusted")));
        }
        // Link by link, root first: each is judged only once everything
        // before it stands, so a damaged link is named as itself rather than
        // as the link after it.
        for (i, link) in links.iter().enumerate() {
            if i > 0 && link.anchor() != Anchor::Parent(ids[i - 1]) {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!("link {i} does not extend link {}", i - 1),
                ));
            }
            let signer = if i == 0 { root } else { links[i - 1].subject() };
            if !signer.verifies(&token.signed_message(i), link.signature()) {
                return Err(Error::new(
                    ErrorKind::BadSignature,
                    format!("link {i}: the signature does not verify with {signer}"),
                ));
            }
            if i > 0 {
                narrows(link.grants(), link.not_before(), link.not_after(), &links[i - 1]).map_err(
                    |why| Error::new(ErrorKind::Denied, format!("link {i} widens its parent: {why}")),
                )?;
            }
            let lifetime = link.not_after() - link.not_before();
            if lifetime > self.inner.max_lifetime {
                return Err(Error::new(
                    ErrorKind::Denied,
                    format!(
                        "link {i} lasts {lifetime} s; this authority allows {} s",
                        self.inner.max_lifetime
                    ),
                ));
            }
        }
        let last = &links[links.len() - 1];
        let now = self.now();
        if now.saturating_add(self.inner.skew) < last.not_before() {
            return Err(Error::new(
                ErrorKind::NotYetValid,
                format!("the token is valid from {}; it is {now}", last.not_before()),
            ));
        }
        if now >= last.not_after().saturating_add(self.inner.skew) {
            return Err(Error::new(
                ErrorKind::Expired,
                format!("the token expired at {}; it is {now}", last.not_after()),
            ));
        }
        Ok(Verified {
            subject: last.subject(),
            principal: last.subject().principal(),
            grants: last.grants().to_vec(),
            not_before: last.not_before(),
            not_after: last.not_after(),
            links: ids,
        })
    }

    /// A fresh, single-use challenge for a holder to sign with
    /// [`Token::prove`]. It expires after [`CHALLENGE_TTL`] seconds.
    pub fn challenge(&self) -> Result<[u8; 32]> {
        let mut challenge = [0u8; 32];
        self.inner
            .random
            .fill(&mut challenge)
            .map_err(|_| Error::new(ErrorKind::Internal, "the system random source failed"))?;
        let now = self.now();
        let mut outstanding = self.inner.challenges.lock().unwrap_or_else(PoisonError::into_inner);
        outstanding.issued.retain(|_, (at, _)| at.saturating_add(CHALLENGE_TTL) > now);
        if outstanding.issued.len() >= MAX_CHALLENGES {
            if let Some(oldest) =
                outstanding.issued.iter().min_by_key(|(_, issued)| **issued).map(|(c, _)| *c)
            {
                outstanding.issued.remove(&oldest);
            }
        }
        let order = outstanding.next;
        outstanding.next += 1;
        outstanding.issued.insert(challenge, (now, order));
        Ok(challenge)
    }

    /// Opens a session for `token`'s holder, who proves possession of the
    /// subject's key by signing `challenge` (from [`challenge`](Self::challenge),
    /// usable once). With a recorder, the decision is recorded before the
    /// session is handed out.
    pub fn open_session(&self, token: &Token, challenge: &[u8; 32], proof: &[u8]) -> Result<Session> {
        let opened = self.try_open_session(token, challenge, proof);
        if let Some(recorder) = &self.inner.recorder {
            let verdict = opened.as_ref().map(|_| ()).map_err(Error::clone);
            // Only an opened session proves the holder has the subject's key:
            // a refusal names a subject anyone could have copied.
            let claimed = token.subject().principal();
            let proven = opened.is_ok();
            recorder.decide_claimed(claimed, proven, "open_session", &token.root_key().to_text(), verdict)?;
        }
        opened
    }

    fn try_open_session(&self, token: &Token, challenge: &[u8; 32], proof: &[u8]) -> Result<Session> {
        let issued = {
            let mut outstanding = self.inner.challenges.lock().unwrap_or_else(PoisonError::into_inner);
            let found = outstanding.issued.keys().find(|c| bool::from(c.ct_eq(challenge))).copied();
            found.and_then(|c| outstanding.issued.remove(&c))
        };
        let fresh = issued.is_some_and(|(at, _)| at.saturating_add(CHALLENGE_TTL) > self.now());
        if !fresh {
            return Err(Error::new(ErrorKind::Denied, "unknown, used or expired challenge"));
        }
        let verified = self.verify(token)?;
        if !verified.subject.verifies(&token.proof_message(challenge), proof) {
            return Err(Error::new(
                ErrorKind::BadSignature,
                "the proof of possession does not verify with the token's subject key",
            ));
        }
        let session = Session::new(Arc::clone(&self.inner), verified, token.root_key());
        let mut sessions = self.inner.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() == sessions.capacity() {
            sessions.retain(|s| s.strong_count() > 0);
        }
        sessions.push(session.downgrade());
        Ok(session)
    }

    /// Revokes link `id` (and so every token that contains it), and ends
    /// every session opened with one (see [`sweep`](Self::sweep)). Returns
    /// whether it was new.
    pub fn revoke(&self, id: LinkId) -> Result<bool> {
        let new = {
            let mut revoked = self.inner.revoked.write().unwrap_or_else(PoisonError::into_inner);
            if revoked.len() >= MAX_REVOCATIONS && !revoked.contains(&id) {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!("the revocation set is full ({MAX_REVOCATIONS} links)"),
                ));
            }
            let new = revoked.insert(id);
            self.inner.epoch.fetch_add(1, Ordering::Release);
            new
        };
        self.sweep();
        Ok(new)
    }

    /// Lifts the revocation of `id`. Returns whether it was revoked.
    pub fn unrevoke(&self, id: &LinkId) -> bool {
        let removed = self.inner.revoked.write().unwrap_or_else(PoisonError::into_inner).remove(id);
        self.inner.epoch.fetch_add(1, Ordering::Release);
        removed
    }

    /// The index of the first of `links` that is revoked, if any: the
    /// revocation check alone, for a caller that verified a token once and
    /// keeps the result (such as the NATS bridge, which checks revocation
    /// on every message it accepts without verifying the chain again).
    pub fn first_revoked(&self, links: &[LinkId]) -> Option<usize> {
        self.inner.any_revoked(links)
    }

    /// The revoked link ids, sorted.
    pub fn revocations(&self) -> Vec<LinkId> {
        let mut ids: Vec<LinkId> =
            self.inner.revoked.read().unwrap_or_else(PoisonError::into_inner).iter().copied().collect();
        ids.sort();
        ids
    }

    /// The revocation set as text: one hex link id per line, sorted.
    pub fn export_revocations(&self) -> String {
        self.revocations().iter().map(|id| id.to_hex() + "\n").collect()
    }

    /// Adds every link id in `text` (as written by
    /// [`export_revocations`](Self::export_revocations); blank lines and
    /// `#` comments are ignored). All or nothing: a bad line adds none.
    /// Returns how many were new.
    pub fn import_revocations(&self, text: &str) -> Result<usize> {
        let ids = text
            .lines()
            .enumerate()
            .map(|(n, line)| (n, line.trim()))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
            .map(|(n, line)| {
                LinkId::from_hex(line)
                    .map_err(|e| Error::new(ErrorKind::Malformed, format!("line {}: {}", n + 1, e.message())))
            })
            .collect::<Result<Vec<LinkId>>>()?;
        let mut revoked = self.inner.revoked.write().unwrap_or_else(PoisonError::into_inner);
        let new: HashSet<LinkId> = ids.into_iter().filter(|id| !revoked.contains(id)).collect();
        if revoked.len() + new.len() > MAX_REVOCATIONS {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("importing {} links would exceed {MAX_REVOCATIONS}", new.len()),
            ));
        }
        let count = new.len();
        revoked.extend(new);
        self.inner.epoch.fetch_add(1, Ordering::Release);
        drop(revoked);
        self.sweep();
        Ok(count)
    }
}
