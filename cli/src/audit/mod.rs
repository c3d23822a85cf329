//! `audit`: appending to, checkpointing, verifying, proving from and
//! tailing an audit log file.

mod prove;
mod tail;
mod verify;
mod witness;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use charter_core::audit::{verifier_key, AuditLog, AuditOptions, Decision, FsyncPolicy, Record};
use charter_core::capability::{PrincipalId, PublicKey};
use charter_core::{quote, quote_path, ErrorKind};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::input::load_key;
use charter_core::text::hex;

use crate::output::{warn, Output};
use crate::status::{CliError, CliResult, Status};
use crate::time::now_millis;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Append one record (creating the log if needed), optionally signing a checkpoint
    Append(AppendArgs),
    /// Reread every record, recompute the tree and check checkpoints
    Verify(verify::VerifyArgs),
    /// Sign a checkpoint of the log as it is now
    Checkpoint(CheckpointArgs),
    /// Print an inclusion or consistency proof
    Prove(prove::ProveArgs),
    /// Print the last records, and with -f follow the log as it grows
    Tail(tail::TailArgs),
    /// Print the note verifier key auditors check checkpoints with
    Vkey(SignerArgs),
    /// Act as a witness: check an add-checkpoint request against the state, then cosign
    Witness(witness::WitnessArgs),
    /// Print the add-checkpoint request a witness needs for the log's checkpoint
    WitnessRequest(witness::RequestArgs),
    /// Print a witness's cosigner verifier key
    WitnessKey(witness::KeyArgs),
    /// Start a new history under a new origin, keeping the old log and checkpoint aside
    StartOver(StartOverArgs),
}

#[derive(Args, Debug)]
pub struct StartOverArgs {
    /// The audit log file
    pub log: PathBuf,
    /// The checkpoint signing key file
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The new history's origin: it must differ from the old one
    #[arg(long, value_name = "NEW_ORIGIN")]
    pub origin: String,
    /// Why, recorded in the new log's first record
    #[arg(long)]
    pub reason: String,
}

/// The key that signs checkpoints and the log's name in them.
#[derive(Args, Debug)]
pub struct SignerArgs {
    /// The checkpoint signing key file
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The log's name in checkpoints, such as example.com/audit
    #[arg(long, value_name = "ORIGIN")]
    pub origin: String,
}

#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// The audit log file
    pub log: PathBuf,
    #[command(flatten)]
    pub signer: SignerArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DecisionArg {
    Allow,
    Deny,
    Error,
}

#[derive(Args, Debug)]
pub struct AppendArgs {
    /// The audit log file (created if it does not exist)
    pub log: PathBuf,
    /// What was asked, such as publish
    #[arg(long)]
    pub action: String,
    /// What it was asked on, such as a topic
    #[arg(long)]
    pub resource: String,
    /// What it came to
    #[arg(long, value_enum)]
    pub decision: DecisionArg,
    /// Who asked: a principal id (charter-id1:...) or a public key (charter-pk1:...)
    #[arg(long, value_name = "PRINCIPAL")]
    pub actor: Option<String>,
    /// Why: a status name such as DENIED, or a status code [default: 0]
    #[arg(long, value_name = "STATUS")]
    pub reason: Option<String>,
    /// Free text for people
    #[arg(long, default_value = "")]
    pub detail: String,
    /// Sign a checkpoint after appending with this key (needs --origin)
    #[arg(long, value_name = "KEY", requires = "origin")]
    pub key: Option<PathBuf>,
    /// The log's name in the checkpoint (needs --key)
    #[arg(long, value_name = "ORIGIN", requires = "key")]
    pub origin: Option<String>,
    /// With --key: sign only when the log reaches a multiple of N records, not after every append
    #[arg(long, value_name = "N", requires = "key", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
}

pub fn run(command: &AuditCommand, out: &mut Output) -> CliResult<()> {
    match command {
        AuditCommand::Append(args) => append(args, out),
        AuditCommand::Verify(args) => verify::run(args, out),
        AuditCommand::Checkpoint(args) => checkpoint(args, out),
        AuditCommand::Prove(args) => prove::run(args, out),
        AuditCommand::Tail(args) => tail::run(args, out),
        AuditCommand::Witness(args) => witness::run(args, out),
        AuditCommand::WitnessRequest(args) => witness::request(args, out),
        AuditCommand::WitnessKey(args) => witness::key(args, out),
        AuditCommand::StartOver(args) => start_over(args, out),
        AuditCommand::Vkey(signer) => {
            let key = load_key(&signer.key)?;
            let vkey = verifier_key(&signer.origin, &key.public_key())?;
            out.emit(&format!("{vkey}\n"), &json!({ "verifier_key": vkey }))
        }
    }
}

/// Options for a log signed by `signer`, if any. Appends are synced before
/// the command reports them, so a record it printed is on disk.
fn options(signer: Option<&SignerArgs>) -> CliResult<AuditOptions> {
    let mut options = AuditOptions { fsync: FsyncPolicy::Always, ..AuditOptions::default() };
    if let Some(signer) = signer {
        options.signer = Some(Arc::new(load_key(&signer.key)?));
        options.origin = signer.origin.clone();
    }
    Ok(options)
}

/// Opens an existing log. `AuditLog::open` would create a missing file,
/// which for every command but `append` only hides a mistyped path.
fn open_existing(path: &Path, options: AuditOptions) -> CliResult<AuditLog> {
    if let Err(e) = path.metadata() {
        return Err(CliError::io("no audit log at", path, &e)
            .hint("check the path; `charter audit append` creates a log"));
    }
    open(path, options)
}

fn open(path: &Path, options: AuditOptions) -> CliResult<AuditLog> {
    let log = AuditLog::open(path, options).map_err(|e| {
        let error = CliError::new(Status::of(e.kind()), format!("{}: {}", quote_path(path), e.message()));
        match e.kind() {
            ErrorKind::Corrupt => error.hint(
                "the log does not extend what was signed, or fails its integrity check at the record named; \
                 keep the files for investigation (`charter audit start-over` begins a new history)",
            ),
            ErrorKind::WouldBlock => {
                error.hint("another process has the log open for writing; one writer per log")
            }
            _ => error,
        }
    })?;
    let recovery = log.recovery();
    if recovery.truncated_bytes > 0 {
        warn(&format!(
            "{}: cut off {} bytes of a torn last record (a crash during an append)",
            path.display(),
            recovery.truncated_bytes
        ));
    }
    Ok(log)
}

fn append(args: &AppendArgs, out: &mut Output) -> CliResult<()> {
    let signer = match (&args.key, &args.origin) {
        (Some(key), Some(origin)) => Some(SignerArgs { key: key.clone(), origin: origin.clone() }),
        _ => None,
    };
    let mut options = options(signer.as_ref())?;
    options.checkpoint_every = args.checkpoint_every.unwrap_or(0);
    let log = open(&args.log, options)?;
    let decision = match args.decision {
        DecisionArg::Allow => Decision::Allow,
        DecisionArg::Deny => Decision::Deny,
        DecisionArg::Error => Decision::Error,
    };
    let mut record = Record::new(now_millis(), &args.action, &args.resource, decision);
    record.actor = args.actor.as_deref().map(actor).transpose()?;
    record.reason = args.reason.as_deref().map_or(Ok(0), reason)?;
    record.detail = args.detail.clone();
    let before = log.latest_checkpoint()?;
    let index = log.append(&record)?;
    // With --checkpoint-every the core decides when to sign; report the
    // note only if this append made one.
    let note = match (&signer, args.checkpoint_every) {
        (None, _) => None,
        (Some(_), None) => Some(log.checkpoint()?),
        (Some(_), Some(_)) => log.latest_checkpoint()?.filter(|note| before.as_ref() != Some(note)),
    };
    let root = hex(&log.root());
    let mut human = format!("appended record {index} to {}\nroot  {root}\n", args.log.display());
    if let Some(note) = &note {
        human += &format!("checkpoint:\n{note}");
    }
    out.emit(&human, &json!({ "index": index, "size": index + 1, "root": root, "checkpoint": note }))
}

/// The actor as a principal id; a public key is accepted too and stands for
/// the principal it identifies, since operators usually have the key at hand.
fn actor(text: &str) -> CliResult<PrincipalId> {
    let parsed = if text.trim().starts_with(charter_core::capability::PUBLIC_KEY_PREFIX) {
        PublicKey::from_text(text).map(|key| key.principal())
    } else {
        PrincipalId::from_text(text)
    };
    parsed.map_err(|e| {
        CliError::new(Status::of(e.kind()), format!("--actor: {}", e.message()))
            .hint("an actor is a principal id (charter-id1:...) or a public key (charter-pk1:...)")
    })
}

/// A record's reason: `0`, a status code, or a status name with or without
/// its `CHARTER_E_` prefix.
fn reason(text: &str) -> CliResult<i32> {
    let name = text.trim().to_ascii_uppercase();
    if let Ok(code) = name.parse::<i32>() {
        if code == 0 || ErrorKind::from_code(code).is_some() {
            return Ok(code);
        }
    }
    let full = if name.starts_with("CHARTER_E_") { name } else { format!("CHARTER_E_{name}") };
    ErrorKind::ALL.into_iter().find(|k| k.name() == full).map(ErrorKind::code).ok_or_else(|| {
        CliError::new(
            Status::InvalidArgument,
            format!("--reason: {} is not a status name or code", quote(text)),
        )
        .hint("use 0 or a status name such as DENIED, EXPIRED or INTERNAL")
    })
}

fn start_over(args: &StartOverArgs, out: &mut Output) -> CliResult<()> {
    let options = options(Some(&SignerArgs { key: args.key.clone(), origin: args.origin.clone() }))?;
    let log = AuditLog::start_over(&args.log, options, &args.reason).map_err(|e| {
        CliError::new(Status::of(e.kind()), format!("{}: {}", quote_path(&args.log), e.message()))
            .hint("starting over needs the signing key and an origin the old checkpoint does not have")
    })?;
    let note = log.latest_checkpoint()?.unwrap_or_default();
    let vkey = log.verifier_key()?;
    out.emit(
        &format!(
            "started a new history of {}
{note}
verifier key: {vkey}
",
            args.origin
        ),
        &json!({ "origin": args.origin, "note": note, "verifier_key": vkey }),
    )
}

fn checkpoint(args: &CheckpointArgs, out: &mut Output) -> CliResult<()> {
    let log = open_existing(&args.log, options(Some(&args.signer))?)?;
    let note = log.checkpoint()?;
    let vkey = log.verifier_key()?;
    let (size, root) = (log.len(), hex(&log.root()));
    out.emit(
        &format!("{note}\nverifier key: {vkey}\n"),
        &json!({ "note": note, "verifier_key": vkey, "size": size, "root": root }),
    )
}
