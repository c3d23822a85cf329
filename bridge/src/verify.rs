//! Verifying sealed messages on import, in the order docs/formats.md
//! gives: the chain (verified once per token, then cached), the proof, the
//! grant, freshness and replay, and revocation last. A refusal is counted
//! by reason and recorded in the audit log, naming the actor as proven or
//! only claimed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, ED25519};

use charter_core::audit::{Decision, Record, Recorder, Scope, MAX_DETAIL_BYTES, MAX_RESOURCE_BYTES};
use charter_core::capability::{Action, Authority, PrincipalId, Token, Verified};
use charter_core::{quote, Error, ErrorKind};

use crate::batch::{batch_signed, BatchProof, VerifiedRoots};
use crate::refusal::{Reason, Refusal};
use crate::replay::Replay;
use crate::seal::now_ms;
use crate::sealed::{seal_id, SealedReplay, Seen};
use crate::wire::{self, Envelope};

/// The most verified tokens kept; the cache starts over when it is full.
pub const MAX_CACHED_CHAINS: usize = 1024;

/// A message as it arrived from NATS.
pub struct Inbound<'a> {
    /// Its subject.
    pub subject: &'a str,
    /// Its reply subject, for a request.
    pub reply: Option<&'a str>,
    /// Every header, the envelope's included.
    pub headers: &'a [(&'a str, &'a str)],
    /// Its payload.
    pub payload: &'a [u8],
}

/// What the message must be.
#[derive(Clone, Copy, Debug)]
pub enum Expect<'a> {
    /// A publish: needs a `publish` grant on the subject.
    Publish,
    /// A request: needs a `request` grant on the subject.
    Request,
    /// The reply to a request this bridge sent on `subject` with reply
    /// subject `inbox` and nonce `nonce`, at `sent_ms`: needs a
    /// `subscribe` grant covering `subject` (the responder's), the same
    /// inbox, nonce and request subject, and a time no earlier than the
    /// request's (less the skew).
    Reply {
        /// The request's subject.
        subject: &'a str,
        /// The request's reply subject.
        inbox: &'a str,
        /// The request's nonce.
        nonce: &'a str,
        /// When the request was sealed.
        sent_ms: u64,
    },
}

/// A clock in milliseconds since the Unix epoch (tests and vectors fix it).
pub type MillisClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// How a receiving bridge judges what it imports.
#[derive(Clone)]
pub struct VerifyOptions {
    /// Trusted roots and the revocation set (its clock judges tokens).
    pub authority: Authority,
    /// How far a message's time may be from this bridge's clock.
    pub max_skew: Duration,
    /// Where refusals (and, under `Scope::All`, acceptances) are recorded.
    pub recorder: Option<Recorder>,
    /// The clock messages' times are judged by; `None` for the system's.
    pub clock: Option<MillisClock>,
}

impl VerifyOptions {
    /// Options for `authority`: a 30 s window, no recorder, the system clock.
    pub fn new(authority: Authority) -> VerifyOptions {
        VerifyOptions { authority, max_skew: Duration::from_secs(30), recorder: None, clock: None }
    }
}

/// Verifies inbound messages; shared by every import of one bridge.
pub struct Verifier {
    options: VerifyOptions,
    /// Verified tokens by their text form (as the header carries them, so
    /// a cached token is neither decoded nor hashed again).
    chains: Mutex<HashMap<String, Arc<Chain>>>,
    /// Batch roots whose signature verified.
    roots: Mutex<VerifiedRoots>,
    replay: Mutex<Replay>,
    refused: [AtomicU64; Reason::ALL.len()],
}

impl Verifier {
    /// A verifier that refuses anything sealed before now (see [`crate::replay`]).
    pub fn new(options: VerifyOptions) -> Verifier {
        let mut verifier = Verifier {
            options,
            chains: Mutex::new(HashMap::new()),
            roots: Mutex::new(VerifiedRoots::default()),
            replay: Mutex::new(Replay::new(0)),
            refused: Default::default(),
        };
        verifier.replay = Mutex::new(Replay::new(verifier.now_ms()));
        verifier
    }

    /// The time by the clock messages are judged by.
    pub(crate) fn now_ms(&self) -> u64 {
        self.options.clock.as_ref().map_or_else(now_ms, |clock| clock())
    }

    /// How many messages were refused for each reason, in [`Reason::ALL`] order.
    pub fn refused(&self) -> [(Reason, u64); Reason::ALL.len()] {
        Reason::ALL.map(|r| (r, self.refused[r.index()].load(Ordering::Acquire)))
    }

    /// Checks `message`; on success returns the proven sender. A refusal
    /// is recorded, then counted, before it is returned.
    pub fn check(&self, message: &Inbound<'_>, expect: Expect<'_>) -> Result<PrincipalId, Refusal> {
        let action = match expect {
            Expect::Reply { .. } => "bridge_reply",
            Expect::Publish | Expect::Request => "bridge_import",
        };
        let principal = self.judge(message, expect).map_err(|r| self.refuse(message.subject, action, r))?;
        self.allow(message.subject, action, principal)?;
        Ok(principal)
    }

    /// Checks a message a durable import read from a stream: as
    /// [`check`](Self::check) a publish, but with the stored message's
    /// freshness and replay rules (docs/formats.md, "Stored messages")
    /// against `replay`, which the caller updates once it delivered it.
    pub(crate) fn check_stored(
        &self,
        message: &Inbound<'_>,
        replay: &SealedReplay,
    ) -> Result<Stored, Refusal> {
        let action = "bridge_import";
        let stored =
            self.judge_stored(message, replay).map_err(|r| self.refuse(message.subject, action, r))?;
        self.allow(message.subject, action, stored.principal)?;
        Ok(stored)
    }

    /// Records an accepted message under `Scope::All`; one whose record
    /// cannot be written is refused (recording fails closed), and counted.
    fn allow(&self, subject: &str, action: &str, principal: PrincipalId) -> Result<(), Refusal> {
        let Some(recorder) = self.options.recorder.as_ref().filter(|r| r.scope() == Scope::All) else {
            return Ok(());
        };
        let record = record(self.now_ms(), action, subject, Some((principal, true)), Ok(()));
        match recorder.log().append(&record) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.count(Refusal {
                reason: Reason::AuditFailed,
                error: e,
                actor: Some((principal, true)),
            })),
        }
    }

    /// Records a refusal (it stays a refusal whether or not its record is
    /// written), then counts it.
    fn refuse(&self, subject: &str, action: &str, refusal: Refusal) -> Refusal {
        if let Some(recorder) = &self.options.recorder {
            let _ =
                recorder.log().append(&record(self.now_ms(), action, subject, refusal.actor, Err(&refusal)));
        }
        self.count(refusal)
    }

    /// Counted after its record is written (release, read with acquire):
    /// whoever sees the count sees the record.
    fn count(&self, refusal: Refusal) -> Refusal {
        self.refused[refusal.reason.index()].fetch_add(1, Ordering::Release);
        refusal
    }

    /// Steps 0 to 3: the envelope, the chain, the proof and the grant.
    fn prove(&self, message: &Inbound<'_>, expect: Expect<'_>) -> Result<Proven, Refusal> {
        let fields = Fields::read(message.headers)?;
        // 1. The chain, against the trusted roots (verified once, then cached).
        let chain = self.chain(fields.token)?;
        let (verified, token_hash) = (&chain.verified, chain.hash);
        let principal = verified.principal;
        let claimed =
            |reason: Reason, error: Error| Refusal { reason, error, actor: Some((principal, false)) };
        let proven = |reason: Reason, error: Error| Refusal { reason, error, actor: Some((principal, true)) };
        // 2. The proof, against the holder's key.
        let headers: Vec<(&str, &str)> =
            message.headers.iter().filter(|(name, _)| !wire::is_envelope_header(name)).copied().collect();
        let envelope = Envelope {
            origin: fields.origin,
            seq: fields.seq,
            time_ms: fields.time_ms,
            subject: message.subject,
            reply: message.reply,
            token_hash,
            payload_hash: wire::sha256(message.payload),
            headers: headers.clone(),
        };
        let signed = wire::signed_bytes(&envelope).map_err(|e| claimed(Reason::Malformed, e))?;
        self.check_proof(&signed, &fields, verified.subject.as_bytes())
            .map_err(|(reason, e)| claimed(reason, e))?;
        // 3. A grant that covers the subject for this kind of message.
        let (grant_action, grant_subject) = match expect {
            Expect::Publish => (Action::Publish, message.subject),
            Expect::Request => (Action::Request, message.subject),
            Expect::Reply { subject, .. } => (Action::Subscribe, subject),
        };
        if !verified.grants.iter().any(|g| g.allows(grant_action, grant_subject)) {
            return Err(proven(
                Reason::NotGranted,
                Error::new(
                    ErrorKind::Denied,
                    format!("no {grant_action} grant covers {}", quote(grant_subject)),
                ),
            ));
        }
        if let Expect::Reply { subject, inbox, nonce, sent_ms } = expect {
            let header = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let answers = message.subject == inbox
                && header(wire::NONCE) == Some(nonce)
                && header(wire::REQUEST) == Some(subject)
                && fields.time_ms.saturating_add(self.skew_ms()) >= sent_ms;
            if !answers {
                return Err(proven(
                    Reason::Misdirected,
                    Error::new(
                        ErrorKind::Denied,
                        "the reply does not answer this request (inbox, nonce or subject)",
                    ),
                ));
            }
        }
        Ok(Proven { origin: fields.origin, seq: fields.seq, time_ms: fields.time_ms, chain })
    }

    /// Step 2: the proof is the holder's signature over `signed`, or over
    /// a batch whose tree has `signed` as the leaf its `Charter-Batch`
    /// places it at (the inclusion proof first, for every message; the
    /// signature once per batch root, then remembered).
    fn check_proof(&self, signed: &[u8], fields: &Fields<'_>, key: &[u8; 32]) -> Result<(), (Reason, Error)> {
        let bad = || {
            (
                Reason::BadProof,
                Error::new(ErrorKind::BadSignature, "the proof does not verify with the token holder's key"),
            )
        };
        let Some(place) = &fields.batch else {
            return UnparsedPublicKey::new(&ED25519, key).verify(signed, &fields.proof).map_err(|_| bad());
        };
        place.includes(signed).map_err(|e| match e.kind() {
            ErrorKind::BadSignature => (
                Reason::BadProof,
                Error::new(ErrorKind::BadSignature, "the message is not in the batch its proof names"),
            ),
            _ => (Reason::Malformed, e),
        })?;
        let (count, root) = (place.count, place.root);
        if self.roots.lock().unwrap_or_else(PoisonError::into_inner).contains(key, count, &root) {
            return Ok(());
        }
        let statement = batch_signed(count, &root).map_err(|e| (Reason::Malformed, e))?;
        UnparsedPublicKey::new(&ED25519, key).verify(&statement, &fields.proof).map_err(|_| bad())?;
        self.roots.lock().unwrap_or_else(PoisonError::into_inner).insert(*key, count, root);
        Ok(())
    }

    fn judge(&self, message: &Inbound<'_>, expect: Expect<'_>) -> Result<PrincipalId, Refusal> {
        let sealed = self.prove(message, expect)?;
        let principal = sealed.chain.verified.principal;
        let proven = |reason: Reason, error: Error| Refusal { reason, error, actor: Some((principal, true)) };
        // 4. Freshness and replay.
        let now = self.now_ms();
        if now.abs_diff(sealed.time_ms) > self.skew_ms() {
            return Err(proven(
                Reason::Stale,
                Error::new(
                    ErrorKind::Expired,
                    format!(
                        "sealed at {} ms; it is {now} ms and the window is {} ms",
                        sealed.time_ms,
                        self.skew_ms()
                    ),
                ),
            ));
        }
        let fresh = self.replay.lock().unwrap_or_else(PoisonError::into_inner).accept(
            (principal, sealed.origin),
            sealed.seq,
            sealed.time_ms,
        );
        if !fresh {
            return Err(proven(
                Reason::Replayed,
                Error::new(ErrorKind::Denied, format!("sequence number {} was seen before", sealed.seq)),
            ));
        }
        // 5. Revocation. (A revoked message spends its sequence number: it is
        // refused either way.)
        self.unrevoked(&sealed.chain.verified)?;
        Ok(principal)
    }

    /// Steps 4 and 5 for a stored message: sealed within its token's
    /// window and not in the future (its age is bounded by its token, which
    /// must also be valid now), at or after the import's seal floor, not
    /// delivered before, and not revoked now.
    fn judge_stored(&self, message: &Inbound<'_>, replay: &SealedReplay) -> Result<Stored, Refusal> {
        let sealed = self.prove(message, Expect::Publish)?;
        let verified = &sealed.chain.verified;
        let principal = verified.principal;
        let stale = |message: String| Refusal {
            reason: Reason::Stale,
            error: Error::new(ErrorKind::Expired, message),
            actor: Some((principal, true)),
        };
        let (time_ms, skew_ms) = (sealed.time_ms, self.skew_ms());
        let now = self.now_ms();
        if time_ms > now.saturating_add(skew_ms) {
            return Err(stale(format!(
                "sealed at {time_ms} ms, later than {now} ms and the window {skew_ms} ms"
            )));
        }
        let (sealed_s, skew_s) = (time_ms / 1000, self.options.max_skew.as_secs());
        if sealed_s.saturating_add(skew_s) < verified.not_before
            || sealed_s >= verified.not_after.saturating_add(skew_s)
        {
            return Err(stale(format!(
                "sealed at {time_ms} ms, outside its token's window [{}, {}) s",
                verified.not_before, verified.not_after
            )));
        }
        let id = seal_id(&principal, &sealed.origin, sealed.seq);
        match replay.check(id, time_ms) {
            Ok(()) => {}
            Err(Seen::BeforeFloor(floor)) => {
                return Err(stale(format!(
                    "sealed at {time_ms} ms, before this import's seal floor {floor} ms"
                )))
            }
            Err(Seen::Delivered) => {
                return Err(Refusal {
                    reason: Reason::Replayed,
                    error: Error::new(
                        ErrorKind::Denied,
                        format!("sequence number {} of its sender was delivered before", sealed.seq),
                    ),
                    actor: Some((principal, true)),
                })
            }
        }
        self.unrevoked(verified)?;
        Ok(Stored { principal, id, time_ms })
    }

    /// 5. No link of the token is revoked now.
    fn unrevoked(&self, verified: &Verified) -> Result<(), Refusal> {
        match self.options.authority.first_revoked(&verified.links) {
            None => Ok(()),
            Some(i) => Err(Refusal {
                reason: Reason::Revoked,
                error: Error::new(ErrorKind::Revoked, format!("link {i} ({}) is revoked", verified.links[i])),
                actor: Some((verified.principal, true)),
            }),
        }
    }

    /// The freshness window in milliseconds.
    pub(crate) fn skew_ms(&self) -> u64 {
        self.options.max_skew.as_millis().min(u64::MAX as u128) as u64
    }

    /// The verified token whose text is `text`, from the cache or verified
    /// now. A cached token is still checked against the clock.
    fn chain(&self, text: &str) -> Result<Arc<Chain>, Refusal> {
        let cached = self.chains.lock().unwrap_or_else(PoisonError::into_inner).get(text).cloned();
        let chain = match cached {
            Some(chain) => chain,
            None => {
                let token = Token::from_text(text).map_err(|e| Refusal {
                    reason: Reason::Malformed,
                    error: e,
                    actor: None,
                })?;
                let claimed = Some((token.subject().principal(), false));
                let verified = self.options.authority.verify(&token).map_err(|e| {
                    let reason = if e.kind() == ErrorKind::Revoked { Reason::Revoked } else { Reason::Chain };
                    Refusal { reason, error: e, actor: claimed }
                })?;
                let chain = Arc::new(Chain { verified, hash: wire::sha256(token.as_bytes()) });
                let mut chains = self.chains.lock().unwrap_or_else(PoisonError::into_inner);
                if chains.len() >= MAX_CACHED_CHAINS {
                    chains.clear();
                }
                chains.insert(text.to_owned(), Arc::clone(&chain));
                chain
            }
        };
        let verified = &chain.verified;
        let now = self.options.authority.now();
        let skew = self.options.max_skew.as_secs();
        if now.saturating_add(skew) < verified.not_before || now >= verified.not_after.saturating_add(skew) {
            self.chains.lock().unwrap_or_else(PoisonError::into_inner).remove(text);
            return Err(Refusal {
                reason: Reason::Chain,
                error: Error::new(
                    ErrorKind::Expired,
                    format!(
                        "the token is valid in [{}, {}); it is {now}",
                        verified.not_before, verified.not_after
                    ),
                ),
                actor: Some((verified.principal, false)),
            });
        }
        Ok(chain)
    }
}

/// A message that passed the checks up to the grant: its envelope's
/// identity and time, and its verified token.
struct Proven {
    origin: [u8; 16],
    seq: u64,
    time_ms: u64,
    chain: Arc<Chain>,
}

/// A stored message that passed every check: its proven sender, its seal
/// id and when it was sealed, for the durable import's replay state.
pub(crate) struct Stored {
    pub(crate) principal: PrincipalId,
    pub(crate) id: u64,
    pub(crate) time_ms: u64,
}

/// A verified token and the hash its messages' proofs cover.
struct Chain {
    verified: Verified,
    hash: [u8; 32],
}

/// The envelope's fields, each in its one spelling (the token's text is
/// decoded only when it is not cached).
struct Fields<'a> {
    origin: [u8; 16],
    seq: u64,
    time_ms: u64,
    token: &'a str,
    proof: Vec<u8>,
    /// Its place in a signed batch, if it was sealed in one.
    batch: Option<BatchProof>,
}

impl<'a> Fields<'a> {
    fn read(headers: &[(&'a str, &'a str)]) -> Result<Fields<'a>, Refusal> {
        let malformed = |e: Error| Refusal { reason: Reason::Malformed, error: e, actor: None };
        let mut found: [Option<&str>; 5] = [None; 5];
        let mut batch = None;
        for (name, value) in headers {
            let slot = match wire::ENVELOPE_HEADERS.iter().position(|h| h == name) {
                Some(i) => &mut found[i],
                None if *name == wire::BATCH => &mut batch,
                None => continue,
            };
            if slot.replace(*value).is_some() {
                return Err(malformed(Error::new(ErrorKind::Malformed, format!("{name} appears twice"))));
            }
        }
        let [Some(origin), Some(seq), Some(time), Some(token), Some(proof)] = found else {
            let missing: Vec<&str> = wire::ENVELOPE_HEADERS
                .iter()
                .zip(found)
                .filter(|(_, v)| v.is_none())
                .map(|(n, _)| *n)
                .collect();
            return Err(Refusal {
                reason: Reason::Unsigned,
                error: Error::new(
                    ErrorKind::Denied,
                    format!("the message is not sealed: no {}", missing.join(", ")),
                ),
                actor: None,
            });
        };
        let seq = wire::parse_decimal(wire::SEQ, seq).map_err(malformed)?;
        if seq == 0 {
            return Err(malformed(Error::new(ErrorKind::Malformed, "sequence numbers start at 1")));
        }
        let proof = URL_SAFE_NO_PAD.decode(proof).ok().filter(|p| p.len() == 64).ok_or_else(|| {
            malformed(Error::new(ErrorKind::Malformed, "the proof is not 64 bytes in base64url"))
        })?;
        Ok(Fields {
            origin: wire::parse_hex16(origin).map_err(malformed)?,
            seq,
            time_ms: wire::parse_decimal(wire::TIME, time).map_err(malformed)?,
            token,
            proof,
            batch: batch.map(BatchProof::parse).transpose().map_err(malformed)?,
        })
    }
}

fn record(
    time_ms: u64,
    action: &str,
    subject: &str,
    actor: Option<(PrincipalId, bool)>,
    verdict: Result<(), &Refusal>,
) -> Record {
    let decision = if verdict.is_ok() { Decision::Allow } else { Decision::Deny };
    let mut record = Record::new(time_ms, action, clip(subject, MAX_RESOURCE_BYTES), decision);
    record.actor = actor.map(|(p, _)| p);
    record.actor_unproven = actor.is_some_and(|(_, proven)| !proven);
    if let Err(refusal) = verdict {
        record.reason = refusal.error.kind().code();
        record.detail =
            clip(&format!("{}: {}", refusal.reason, refusal.error.message()), MAX_DETAIL_BYTES).into();
    }
    record
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character.
fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
