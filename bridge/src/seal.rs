//! Sealing: what an exporting bridge adds to a message so that receivers
//! can prove who sent it, and that nothing was changed or replayed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::Ed25519KeyPair;

use charter_core::capability::{KeyPair, Token};
use charter_core::{Error, ErrorKind, Result};

use crate::batch;
use crate::wire::{self, Envelope};

/// A bridge's identity on NATS: its capability token and the key of the
/// token's subject, which signs every message it sends.
#[derive(Clone)]
pub struct Credentials {
    /// The token; its last link's subject must be `key`'s public key.
    pub token: Token,
    /// The holder's key pair.
    pub key: Arc<KeyPair>,
}

/// Seals messages for one origin: signs each with the holder's key under
/// the next sequence number.
pub struct Sealer {
    signer: Ed25519KeyPair,
    origin: [u8; 16],
    token_text: String,
    token_hash: [u8; 32],
    seq: AtomicU64,
}

/// The envelope headers of one sealed message (origin excluded: the bridge
/// sets it on every message, sealed or not).
pub struct Seal {
    /// The sequence number.
    pub seq: u64,
    /// The time, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The signature, base64url without padding: of the message, or of
    /// its batch.
    pub proof: String,
    /// For a message of a signed batch, its `Charter-Batch` header.
    pub batch: Option<String>,
}

/// One message to seal.
#[derive(Clone, Copy)]
pub struct Unsealed<'a> {
    /// Its subject.
    pub subject: &'a str,
    /// Its reply subject, for a request.
    pub reply: Option<&'a str>,
    /// Its other headers.
    pub headers: &'a [(&'a str, &'a str)],
    /// Its payload.
    pub payload: &'a [u8],
}

impl Sealer {
    /// A sealer for `origin` with `credentials`. Fails with
    /// `INVALID_ARGUMENT` when the key is not the token's subject.
    pub fn new(origin: [u8; 16], credentials: &Credentials) -> Result<Sealer> {
        if credentials.key.public_key() != credentials.token.subject() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the key is not the token's subject: the bridge could not prove it holds the token",
            ));
        }
        let signer = Ed25519KeyPair::from_pkcs8_maybe_unchecked(credentials.key.to_pkcs8())
            .map_err(|_| Error::new(ErrorKind::Malformed, "the key pair cannot sign"))?;
        Ok(Sealer {
            signer,
            origin,
            token_text: credentials.token.to_text(),
            token_hash: wire::sha256(credentials.token.as_bytes()),
            seq: AtomicU64::new(0),
        })
    }

    /// The token as the `Charter-Token` header carries it.
    pub fn token_text(&self) -> &str {
        &self.token_text
    }

    /// Seals a message to `subject` (with `reply` for a request) now, under
    /// the next sequence number. `headers` are the message's other headers.
    pub fn seal(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Result<Seal> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.seal_at(seq, now_ms(), subject, reply, headers, payload)
    }

    /// Seals with a given sequence number and time: for vectors and tests
    /// that need exact or deliberately bad values.
    pub fn seal_at(
        &self,
        seq: u64,
        time_ms: u64,
        subject: &str,
        reply: Option<&str>,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Result<Seal> {
        let signed = self.signed(seq, time_ms, &Unsealed { subject, reply, headers, payload })?;
        let signature = self.signer.sign(&signed);
        Ok(Seal { seq, time_ms, proof: URL_SAFE_NO_PAD.encode(signature.as_ref()), batch: None })
    }

    /// Seals `messages` now under the next sequence numbers, with one
    /// signature for all of them (docs/formats.md, "Signed batches"); a
    /// single message is sealed on its own. A message that cannot be
    /// sealed (a header longer than 65,535 bytes) gets its error and no
    /// place in the batch.
    pub fn seal_batch(&self, messages: &[Unsealed<'_>]) -> Vec<Result<Seal>> {
        let first = self.seq.fetch_add(messages.len() as u64, Ordering::Relaxed) + 1;
        self.seal_batch_at(first, now_ms(), messages)
    }

    /// [`seal_batch`](Self::seal_batch) with the first sequence number and
    /// the time given, for vectors, tests and the C ABI. At most
    /// [`MAX_BATCH`](batch::MAX_BATCH) messages; a message whose sequence
    /// number would pass `u64::MAX` gets `INVALID_ARGUMENT`.
    pub fn seal_batch_at(&self, first: u64, time_ms: u64, messages: &[Unsealed<'_>]) -> Vec<Result<Seal>> {
        let mut signed = Vec::with_capacity(messages.len());
        let mut results: Vec<Result<Seal>> = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let seq = first.checked_add(i as u64).ok_or_else(|| {
                Error::new(ErrorKind::InvalidArgument, "the sequence number would pass 2^64 - 1")
            });
            match seq.and_then(|seq| Ok((seq, self.signed(seq, time_ms, message)?))) {
                Ok((seq, bytes)) => {
                    signed.push(bytes);
                    results.push(Ok(Seal { seq, time_ms, proof: String::new(), batch: None }));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        match signed.len() {
            0 => return results,
            1 => {
                let signature = self.signer.sign(&signed[0]);
                if let Some(Ok(seal)) = results.iter_mut().find(|r| r.is_ok()) {
                    seal.proof = URL_SAFE_NO_PAD.encode(signature.as_ref());
                }
                return results;
            }
            _ => {}
        }
        let sealed = batch::tree(&signed).and_then(|(root, proofs)| {
            let signature = self.signer.sign(&batch::batch_signed(signed.len() as u64, &root)?);
            Ok((URL_SAFE_NO_PAD.encode(signature.as_ref()), proofs))
        });
        match sealed {
            Ok((proof, proofs)) => {
                for (seal, place) in results.iter_mut().filter_map(|r| r.as_mut().ok()).zip(proofs) {
                    seal.proof.clone_from(&proof);
                    seal.batch = Some(place.to_text());
                }
                results
            }
            Err(e) => results.into_iter().map(|r| r.and(Err(e.clone()))).collect(),
        }
    }

    /// The bytes a message's proof covers.
    fn signed(&self, seq: u64, time_ms: u64, message: &Unsealed<'_>) -> Result<Vec<u8>> {
        wire::signed_bytes(&Envelope {
            origin: self.origin,
            seq,
            time_ms,
            subject: message.subject,
            reply: message.reply,
            token_hash: self.token_hash,
            payload_hash: wire::sha256(message.payload),
            headers: message
                .headers
                .iter()
                .copied()
                .filter(|(name, _)| !wire::is_envelope_header(name))
                .collect(),
        })
    }
}

/// Milliseconds since the Unix epoch by the system clock.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use charter_core::capability::Grant;

    use super::*;

    fn sealer() -> Sealer {
        let root = KeyPair::generate().unwrap();
        let holder = KeyPair::generate().unwrap();
        let grants = [Grant::parse("publish a.>").unwrap()];
        let token = Token::mint(&root, &holder.public_key(), &grants, 1_000, 5_000).unwrap();
        Sealer::new([7; 16], &Credentials { token, key: Arc::new(holder) }).unwrap()
    }

    #[test]
    fn sequence_numbers_that_would_pass_the_last_are_refused_each() {
        let message = Unsealed { subject: "a.b", reply: None, headers: &[], payload: b"x" };
        let seals = sealer().seal_batch_at(u64::MAX - 1, 2_000, &[message; 3]);
        assert_eq!(seals[0].as_ref().unwrap().seq, u64::MAX - 1);
        assert_eq!(seals[1].as_ref().unwrap().seq, u64::MAX);
        assert_eq!(seals[2].as_ref().err().map(Error::kind), Some(ErrorKind::InvalidArgument));
        // The two that have a sequence number make a batch of two.
        let place = seals[1].as_ref().unwrap().batch.as_deref().unwrap();
        assert!(place.starts_with("1.2."), "{place}");
    }
}
