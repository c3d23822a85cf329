//! `audit verify`: everything an auditor can check about a log file,
//! without writing to it or locking it (`charter_core::audit::verify_log`
//! decides every rule; this maps flags and findings).

use std::path::PathBuf;

use charter_core::audit::{verify_log, VerifyOptions, MAX_NOTE_BYTES};
use charter_core::quote_path;
use clap::Args;
use serde_json::{json, Value};

use crate::input::read_bounded;
use charter_core::text::hex;

use crate::output::{warn, Output};
use crate::progress::phase;
use crate::status::{CliError, CliResult, Status};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The audit log file (opened read-only; no lock is taken)
    pub log: PathBuf,
    /// Also check that the log extends this earlier checkpoint note (needs --vkey)
    #[arg(long, value_name = "CHECKPOINT_FILE", requires = "vkey")]
    pub against: Option<PathBuf>,
    /// The note verifier key checkpoints are checked with (`charter audit vkey` prints it)
    #[arg(long, value_name = "VERIFIER_KEY")]
    pub vkey: Option<String>,
    /// With --vkey, accept a log that has no checkpoint (nothing then vouches for its records)
    #[arg(long, requires = "vkey")]
    pub allow_no_checkpoint: bool,
    /// A witness's cosigner verifier key; repeat for several (needs --vkey)
    #[arg(long = "witness", value_name = "WITNESS_KEY", requires = "vkey")]
    pub witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned the checkpoint [default: all of them]
    #[arg(long, value_name = "K", requires = "witnesses")]
    pub quorum: Option<usize>,
    /// A trust state file: the last checkpoint accepted per log, checked and updated (needs --vkey)
    #[arg(long, value_name = "STATE_FILE", requires = "vkey")]
    pub state: Option<PathBuf>,
}

pub fn run(args: &VerifyArgs, out: &mut Output) -> CliResult<()> {
    let name = args.log.display().to_string();
    let against = match &args.against {
        Some(path) => {
            let note = read_bounded(path, "checkpoint file", MAX_NOTE_BYTES as u64)?;
            Some(String::from_utf8(note).map_err(|_| {
                CliError::new(Status::Malformed, format!("checkpoint file {} is not UTF-8", quote_path(path)))
            })?)
        }
        None => None,
    };
    let options = VerifyOptions {
        log_key: args.vkey.clone(),
        allow_missing_checkpoint: args.allow_no_checkpoint,
        against,
        witnesses: args.witnesses.clone(),
        quorum: args.quorum.unwrap_or(args.witnesses.len()),
        state: args.state.clone(),
    };
    let bytes = args.log.metadata().map(|m| m.len()).unwrap_or(0);
    let report = phase(&format!("rereading {name} ({bytes} bytes) and recomputing its tree"), || {
        verify_log(&args.log, &options)
    })
    .map_err(|e| {
        let error = CliError::new(Status::of(e.kind()), e.message());
        match e.kind() {
            charter_core::ErrorKind::Malformed => error.hint(
                "check --vkey and --witness: `charter audit vkey` and `charter audit witness-key` print them",
            ),
            _ => error,
        }
    })?;
    if let Some(problem) = &report.problem {
        let status = report.problem_kind.map_or(Status::Corrupt, Status::of);
        return Err(CliError::new(status, format!("{}: {problem}", quote_path(&args.log))).hint(match status {
            Status::BadSignature => {
                "check that --vkey is this log's verifier key (`charter audit vkey`) and that its checkpoint \
                 carries the witnesses' cosignatures"
            }
            _ => "the log fails its integrity check as named; keep the file and its checkpoint for investigation",
        }));
    }
    let checkpoint_file = PathBuf::from(format!("{name}.checkpoint"));
    if args.vkey.is_none() && checkpoint_file.exists() {
        warn(&format!("{name}.checkpoint was not checked: pass --vkey to check it"));
    }
    if args.vkey.is_some() && report.checkpoint.is_none() {
        warn(&format!("{name} has no checkpoint: nothing vouches for its records (--allow-no-checkpoint)"));
    }
    let origin = args.vkey.as_deref().and_then(|k| k.split('+').next()).unwrap_or_default();
    let root = hex(&report.root);
    let mut human = format!("{name}: OK\nrecords     {}\nroot        {root}\n", report.records);
    for (label, size) in [("checkpoint", report.checkpoint), ("against", report.against)] {
        if let Some(size) = size {
            human += &format!("{label:<11} size {size} of {origin}: consistent\n");
        }
    }
    if !report.witnesses.is_empty() {
        human += &format!("witnesses   {}\n", report.witnesses.join(", "));
    }
    let summary = |size: Option<u64>| -> Value {
        size.map_or(Value::Null, |size| json!({ "origin": origin, "size": size }))
    };
    out.emit(
        &human,
        &json!({
            "ok": true,
            "records": report.records,
            "root": root,
            "checkpoint": summary(report.checkpoint),
            "against": summary(report.against),
            "witnesses": report.witnesses,
        }),
    )
}
