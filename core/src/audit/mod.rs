//! The audit log: every decision recorded in a tamper-evident, append-only
//! log, an RFC 9162 Merkle tree over SHA-256 with signed C2SP checkpoints.
//!
//! The tree half (hashes, proofs, checkpoints) needs nothing but its inputs,
//! so an auditor can check a proof or a checkpoint without the log itself.
//! The log half (records, the durable file, [`AuditLog`]) builds on it.

mod log;
mod merkle;

// The halves' files, by name: each file names its siblings as
// `crate::audit::<file>`, whichever half it sits in.
use log::{audit_log, auditor, file, leaves, query, reader, record, recorder, state, witness};
use merkle::{checkpoint, compact, cosignature, hash, proof, tree};

pub use audit_log::{AuditLog, AuditOptions, FsyncPolicy, Recovery, VerifyReport};
pub use auditor::{verify_log, LogView, VerifyOptions};
pub use cosignature::{cosign, cosigner_key, verify_cosigned, Cosigned, MAX_WITNESSES};
pub use file::MAX_PATH_BYTES;
pub use query::{Query, Records};
pub use reader::LogReader;
pub use record::{
    Decision, Record, MAX_ACTION_BYTES, MAX_DETAIL_BYTES, MAX_RECORD_BYTES, MAX_RESOURCE_BYTES,
    MIN_RECORD_BYTES, RECORD_VERSION,
};
pub use recorder::{Recorder, Scope};
pub use witness::{parse_witness_request, witness_request, Witness, MAX_WITNESSED_LOGS};

pub use checkpoint::{verifier_key, verify_checkpoint, Checkpoint, MAX_NOTE_BYTES};
pub use hash::{leaf_hash, node_hash, Hash, EMPTY_ROOT};
pub use proof::{verify_consistency, verify_inclusion, MAX_PROOF_HASHES};
pub use tree::Tree as MerkleTree;
