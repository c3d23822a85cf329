//! An audit log made through the CLI in a test directory: the origin the
//! tests sign with, appends, and the frame layout of the file.

use std::path::Path;

use super::ok_json;

pub const ORIGIN: &str = "example.com/audit";

/// The arguments of an append to `log` of `action` on `resource` with
/// `decision`; a test adds its own options after them.
pub fn append_args<'a>(action: &'a str, resource: &'a str, decision: &'a str) -> Vec<&'a str> {
    vec!["audit", "append", "log", "--action", action, "--resource", resource, "--decision", decision]
}

/// Appends an allowed `publish` of `resource` to `log`; the JSON report.
pub fn append(dir: &Path, resource: &str) -> serde_json::Value {
    ok_json(dir, &append_args("publish", resource, "allow"))
}

/// The arguments of an append to `log` of action `a` on `resource` that
/// signs a checkpoint with `log.key`.
pub fn signed_append<'a>(resource: &'a str, decision: &'a str) -> Vec<&'a str> {
    let mut args = append_args("a", resource, decision);
    args.extend(["--key", "log.key", "--origin", ORIGIN]);
    args
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
