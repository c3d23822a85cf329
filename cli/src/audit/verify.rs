//! `audit verify`: everything an auditor can check about a log file.
//!
//! The core recomputes the tree from the file; the persisted checkpoint
//! (and an earlier one kept elsewhere, `--against`) are then checked here
//! with a verifier key, because the core checks the persisted checkpoint
//! only for a log opened with its private signing key, which an auditor
//! does not hold.

use std::path::PathBuf;

use charter_core::audit::{verify_checkpoint, AuditLog, AuditOptions, Checkpoint, MAX_NOTE_BYTES};
use clap::Args;
use serde_json::{json, Value};

use super::open_existing;
use crate::input::read_bounded;
use crate::output::{hex, warn, Output};
use crate::progress::phase;
use crate::status::{CliError, CliResult, Status};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The audit log file
    pub log: PathBuf,
    /// Also check that the log extends this earlier checkpoint note (needs --vkey)
    #[arg(long, value_name = "CHECKPOINT_FILE", requires = "vkey")]
    pub against: Option<PathBuf>,
    /// The note verifier key checkpoints are checked with (`charter audit vkey` prints it)
    #[arg(long, value_name = "VERIFIER_KEY")]
    pub vkey: Option<String>,
}

pub fn run(args: &VerifyArgs, out: &mut Output) -> CliResult<()> {
    let name = args.log.display().to_string();
    let bytes = args.log.metadata().map(|m| m.len()).unwrap_or(0);
    let log = phase(&format!("reading {name} ({bytes} bytes)"), || {
        open_existing(&args.log, AuditOptions::default())
    })?;
    let report = phase(&format!("rereading {name} and recomputing its tree"), || log.verify())?;
    // The problem names the first bad record by index.
    if let Some(problem) = &report.problem {
        return Err(CliError::new(Status::Corrupt, format!("{name}: {problem}")));
    }
    let persisted = match (log.latest_checkpoint()?, &args.vkey) {
        (Some(note), Some(vkey)) => Some(check(&log, &note, vkey, "the persisted checkpoint")?),
        (Some(_), None) => {
            warn(&format!("{name}.checkpoint was not checked: pass --vkey to check it"));
            None
        }
        (None, Some(_)) if args.against.is_none() => {
            warn(&format!("{name} has no persisted checkpoint: --vkey checked nothing"));
            None
        }
        (None, _) => None,
    };
    let against = match (&args.against, &args.vkey) {
        (Some(path), Some(vkey)) => {
            let note = read_bounded(path, "checkpoint file", MAX_NOTE_BYTES as u64)?;
            let note = String::from_utf8(note).map_err(|_| {
                CliError::new(Status::Malformed, format!("checkpoint file {} is not UTF-8", path.display()))
            })?;
            Some(check(&log, &note, vkey, &format!("checkpoint {}", path.display()))?)
        }
        _ => None,
    };
    let root = hex(&report.root);
    let mut human = format!("{name}: OK\nrecords     {}\nroot        {root}\n", report.records);
    for (label, cp) in [("checkpoint", &persisted), ("against", &against)] {
        if let Some(cp) = cp {
            human += &format!("{label:<11} size {} of {}: consistent\n", cp.size, cp.origin);
        }
    }
    let summary = |cp: &Option<Checkpoint>| -> Value {
        cp.as_ref().map_or(Value::Null, |cp| json!({ "origin": cp.origin, "size": cp.size }))
    };
    out.emit(
        &human,
        &json!({
            "ok": true,
            "records": report.records,
            "root": root,
            "checkpoint": summary(&persisted),
            "against": summary(&against),
        }),
    )
}

/// Verifies `note`'s signature with `vkey` and that the log's records
/// extend what it vouches for. The log's tree was just recomputed from the
/// file and found equal, so comparing roots at the note's size is exact.
fn check(log: &AuditLog, note: &str, vkey: &str, what: &str) -> CliResult<Checkpoint> {
    let cp = verify_checkpoint(note, vkey).map_err(|e| {
        CliError::new(Status::of(e.kind()), format!("{what} does not verify: {}", e.message()))
            .hint("check that --vkey is this log's verifier key (`charter audit vkey`)")
    })?;
    let name = vkey.split('+').next().unwrap_or_default();
    if cp.origin != name {
        return Err(CliError::new(
            Status::InvalidArgument,
            format!("{what} is of log {:?}, but the verifier key is for {name:?}", cp.origin),
        ));
    }
    let records = log.len();
    if cp.size > records {
        return Err(CliError::new(
            Status::Corrupt,
            format!(
                "the log holds {records} records; {what} vouches for {}: it was truncated or rolled back",
                cp.size
            ),
        ));
    }
    if log.root_at(cp.size)? != cp.root {
        return Err(CliError::new(
            Status::Corrupt,
            format!("the first {} records are not the ones {what} vouches for", cp.size),
        ));
    }
    Ok(cp)
}
