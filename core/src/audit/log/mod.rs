//! The log half of the audit log, built on the tree half: records, the
//! durable file and its reader, [`AuditLog`](crate::audit::AuditLog), the
//! recorder, queries, and the verifiers and witnesses that read logs.

pub(super) mod audit_log;
pub(super) mod auditor;
pub(super) mod file;
pub(super) mod leaves;
pub(super) mod query;
pub(super) mod reader;
pub(super) mod record;
pub(super) mod recorder;
pub(super) mod state;
pub(super) mod witness;
