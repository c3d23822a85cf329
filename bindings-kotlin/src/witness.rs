//! Witnesses: C2SP cosignatures and tlog-witness requests, the core's.

use std::sync::Arc;

use charter_core::audit;

use crate::audit::CheckpointData;
use crate::bus::size_of;
use crate::capability::{KeyPair, PublicKey};
use crate::error::Result;
use crate::proof::{hashes, to_vecs};

/// A checkpoint and the trusted witnesses that cosigned it.
#[derive(uniffi::Record)]
pub struct Cosigned {
    /// What the log's own signature vouches for.
    pub checkpoint: CheckpointData,
    /// The witnesses whose cosignatures verified, in note order.
    pub witnesses: Vec<String>,
    /// When each cosigned (POSIX seconds), in the same order.
    pub timestamps: Vec<u64>,
}

/// Verifies `note` by `log_key` and at least `quorum` of `witnesses`.
#[uniffi::export]
pub fn verify_cosigned(
    note: String,
    log_key: String,
    witnesses: Vec<String>,
    quorum: i64,
) -> Result<Cosigned> {
    let c = audit::verify_cosigned(&note, &log_key, &witnesses, size_of(quorum, "quorum")?)?;
    Ok(Cosigned { checkpoint: c.checkpoint.into(), witnesses: c.witnesses, timestamps: c.timestamps })
}

/// A witness's cosigner verifier key.
#[uniffi::export]
pub fn cosigner_key(name: String, key: Arc<PublicKey>) -> Result<String> {
    Ok(audit::cosigner_key(&name, &key.core)?)
}

/// The cosignature line witness `name` signs for `note` at `timestamp`.
#[uniffi::export]
pub fn cosign(note: String, name: String, key: Arc<KeyPair>, timestamp: u64) -> Result<String> {
    Ok(audit::cosign(&note, &name, &key.core, timestamp)?)
}

/// A tlog-witness add-checkpoint request body.
#[uniffi::export]
pub fn witness_request(old_size: u64, proof: Vec<Vec<u8>>, note: String) -> Result<String> {
    Ok(audit::witness_request(old_size, &hashes(&proof)?, &note))
}

/// A parsed add-checkpoint request.
#[derive(uniffi::Record)]
pub struct WitnessRequest {
    /// The size the witness last saw.
    pub old_size: u64,
    /// The consistency proof from it.
    pub proof: Vec<Vec<u8>>,
    /// The new checkpoint note.
    pub note: String,
}

/// Parses an add-checkpoint request body.
#[uniffi::export]
pub fn parse_witness_request(body: String) -> Result<WitnessRequest> {
    let (old_size, proof, note) = audit::parse_witness_request(&body)?;
    Ok(WitnessRequest { old_size, proof: to_vecs(&proof), note })
}
