//! Witnessed checkpoints (C2SP tlog-cosignature, cosignature/v1):
//! `NativeWitness`, the cosignature functions and the tlog-witness request
//! body, wrapped by `lib/witness.js`. A witness's `addCheckpoint` locks
//! and replaces its state file, so it has a Promise form that runs on a
//! pool thread and a `Sync` form. The checks are the core's.

use std::convert::identity;
use std::path::PathBuf;

use charter_core::audit::{self, Cosigned, Witness};
use napi::bindgen_prelude::{Buffer, Env, Object, Uint8Array};
use napi_derive::napi;

use crate::audit::{buffers, hashes, CheckpointView};
use crate::error::{boundary, from_core, Result};
use crate::keys::NativeKeyPair;
use crate::promise::on_pool;

/// A checkpoint and the trusted witnesses that verifiably cosigned it.
#[napi(object, object_from_js = false)]
pub struct CosignedView {
    pub checkpoint: CheckpointView,
    pub witnesses: Vec<String>,
    pub timestamps: Vec<f64>,
}

impl From<Cosigned> for CosignedView {
    fn from(cosigned: Cosigned) -> CosignedView {
        CosignedView {
            checkpoint: cosigned.checkpoint.into(),
            witnesses: cosigned.witnesses,
            timestamps: cosigned.timestamps.into_iter().map(|t| t as f64).collect(),
        }
    }
}

/// An `add-checkpoint` request, parsed.
#[napi(object, object_from_js = false)]
pub struct WitnessRequestView {
    pub old_size: f64,
    pub proof: Vec<Buffer>,
    pub note: String,
}

/// The last checkpoint a witness cosigned for a log.
#[napi(object, object_from_js = false)]
pub struct LatestView {
    pub size: f64,
    pub root: Buffer,
}

/// The cosigner verifier key of witness `name` with `key`.
#[napi]
pub fn cosigner_key(name: String, key: &NativeKeyPair) -> Result<String> {
    boundary(|| audit::cosigner_key(&name, &key.pair.public_key()).map_err(from_core))
}

/// The cosignature line of witness `name` over `note` at `timestamp`.
#[napi]
pub fn cosign(note: String, name: String, key: &NativeKeyPair, timestamp: f64) -> Result<String> {
    boundary(|| audit::cosign(&note, &name, &key.pair, timestamp as u64).map_err(from_core))
}

/// Verifies `note`'s log signature and a quorum of witness cosignatures.
#[napi]
pub fn verify_cosigned(
    note: String,
    log_key: String,
    witnesses: Vec<String>,
    quorum: f64,
) -> Result<CosignedView> {
    boundary(|| {
        Ok(audit::verify_cosigned(&note, &log_key, &witnesses, quorum as usize).map_err(from_core)?.into())
    })
}

/// The body of a tlog-witness `add-checkpoint` request.
#[napi]
pub fn witness_request(old_size: f64, proof: Vec<Uint8Array>, note: String) -> Result<String> {
    boundary(|| Ok(audit::witness_request(old_size as u64, &hashes(&proof)?, &note)))
}

/// An `add-checkpoint` request body, parsed.
#[napi]
pub fn parse_witness_request(body: String) -> Result<WitnessRequestView> {
    boundary(|| {
        let (old_size, proof, note) = audit::parse_witness_request(&body).map_err(from_core)?;
        Ok(WitnessRequestView { old_size: old_size as f64, proof: buffers(&proof), note })
    })
}

/// A witness over a state file.
#[napi]
pub struct NativeWitness {
    witness: Witness,
}

#[napi]
impl NativeWitness {
    /// A witness named `name` signing with `key`, keeping its state in the
    /// file `state`, trusting the logs whose verifier keys are `logs`.
    #[napi(factory)]
    pub fn open(
        state: String,
        name: String,
        key: &NativeKeyPair,
        logs: Vec<String>,
    ) -> Result<NativeWitness> {
        boundary(|| {
            let witness =
                Witness::open(PathBuf::from(state), &name, key.pair.clone(), &logs).map_err(from_core)?;
            Ok(NativeWitness { witness })
        })
    }

    /// The witness's cosigner verifier key.
    #[napi(getter)]
    pub fn verifier_key(&self) -> String {
        self.witness.verifier_key().to_owned()
    }

    /// The witness's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.witness.name().to_owned()
    }

    /// Checks and cosigns `note` on a pool thread; `timestamp` 0 is now.
    #[napi(ts_return_type = "Promise<string | undefined>")]
    pub fn add_checkpoint<'env>(
        &self,
        env: &'env Env,
        old_size: f64,
        proof: Vec<Uint8Array>,
        note: String,
        timestamp: f64,
    ) -> Result<Object<'env>> {
        boundary(|| {
            let (witness, proof) = (self.witness.clone(), hashes(&proof)?);
            on_pool(env, move || add(&witness, old_size, &proof, &note, timestamp), identity)
        })
    }

    /// `addCheckpoint` on this thread.
    #[napi]
    pub fn add_checkpoint_sync(
        &self,
        old_size: f64,
        proof: Vec<Uint8Array>,
        note: String,
        timestamp: f64,
    ) -> Result<String> {
        boundary(|| add(&self.witness, old_size, &hashes(&proof)?, &note, timestamp).map_err(from_core))
    }

    /// The last checkpoint cosigned for `origin`, or `null`.
    #[napi]
    pub fn latest(&self, origin: String) -> Result<Option<LatestView>> {
        boundary(|| {
            let latest = self.witness.latest(&origin).map_err(from_core)?;
            Ok(latest.map(|(size, root)| LatestView { size: size as f64, root: root.as_slice().into() }))
        })
    }
}

fn add(
    witness: &Witness,
    old_size: f64,
    proof: &[audit::Hash],
    note: &str,
    timestamp: f64,
) -> charter_core::Result<String> {
    if timestamp == 0.0 {
        witness.add_checkpoint(old_size as u64, proof, note)
    } else {
        witness.add_checkpoint_at(old_size as u64, proof, note, timestamp as u64)
    }
}
