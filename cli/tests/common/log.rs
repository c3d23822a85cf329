//! An audit log made through the CLI in a test directory: the origin the
//! tests sign with, appends, and the frame layout of the file.

use std::path::Path;

use super::ok_json;

pub const ORIGIN: &str = "example.com/audit";

/// Appends an allowed `publish` of `resource` to `log`; the JSON report.
pub fn append(dir: &Path, resource: &str) -> serde_json::Value {
    ok_json(
        dir,
        &["audit", "append", "log", "--action", "publish", "--resource", resource, "--decision", "allow"],
    )
}

/// The arguments of an append to `log` of action `a` on `resource` that
/// signs a checkpoint with `log.key`.
pub fn signed_append<'a>(resource: &'a str, decision: &'a str) -> Vec<&'a str> {
    vec![
        "audit",
        "append",
        "log",
        "--action",
        "a",
        "--resource",
        resource,
        "--decision",
        decision,
        "--key",
        "log.key",
        "--origin",
        ORIGIN,
    ]
}

/// Where each whole frame header starts, from the layout in
/// docs/formats.md.
pub fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 8;
    while at + 4 <= bytes.len() {
        offsets.push(at);
        at += 40 + u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    offsets
}
