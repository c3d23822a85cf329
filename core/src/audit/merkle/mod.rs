//! The tree half of the audit log: RFC 9162 hashes and proofs over SHA-256,
//! signed C2SP checkpoints and their cosignatures. It needs nothing but its
//! inputs, so an auditor can check a proof or a checkpoint without a log.

pub(super) mod checkpoint;
pub(super) mod compact;
pub(super) mod cosignature;
pub(super) mod hash;
pub(super) mod proof;
pub(super) mod tree;
