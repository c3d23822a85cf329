//! `audit witness`, `witness-request`, `witness-key`: a witness that
//! cosigns a log's checkpoint only when it extends the last one it
//! cosigned (C2SP tlog-witness `add-checkpoint`, as files and pipes).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use charter_core::audit::{cosigner_key, parse_witness_request, LogView, Witness, MAX_NOTE_BYTES};
use clap::Args;
use serde_json::json;

use crate::input::{load_key, read_bounded};
use crate::output::Output;
use crate::status::{CliError, CliResult, Status};

/// The most bytes read as a request: a note and 63 proof lines.
const MAX_REQUEST_BYTES: u64 = MAX_NOTE_BYTES as u64 + 8 * 1024;

#[derive(Args, Debug)]
pub struct WitnessArgs {
    /// The add-checkpoint request (`charter audit witness-request` prints one); - for standard input
    #[arg(value_name = "REQUEST_FILE", default_value = "-")]
    pub request: PathBuf,
    /// The witness's state file: the last checkpoint it cosigned per log (created 0600)
    #[arg(long, value_name = "STATE_FILE")]
    pub state: PathBuf,
    /// The witness's signing key file
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The witness's name, such as witness.example.com/w1
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The verifier key of a log this witness trusts; repeat for several
    #[arg(long = "log", value_name = "LOG_VKEY", required = true)]
    pub logs: Vec<String>,
    /// The cosignature's time in POSIX seconds [default: now]
    #[arg(long, value_name = "SECONDS")]
    pub time: Option<u64>,
}

#[derive(Args, Debug)]
pub struct RequestArgs {
    /// The audit log file (opened read-only); its checkpoint is LOG.checkpoint
    pub log: PathBuf,
    /// The size of the last checkpoint the witness cosigned (0 the first time)
    #[arg(long, value_name = "SIZE")]
    pub old: u64,
}

#[derive(Args, Debug)]
pub struct KeyArgs {
    /// The witness's signing key file
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The witness's name
    #[arg(long, value_name = "NAME")]
    pub name: String,
}

pub fn run(args: &WitnessArgs, out: &mut Output) -> CliResult<()> {
    let bytes = if args.request.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().take(MAX_REQUEST_BYTES + 1).read_to_end(&mut bytes).map_err(|e| {
            CliError::new(Status::Io, format!("reading the request from standard input: {e}"))
        })?;
        if bytes.len() as u64 > MAX_REQUEST_BYTES {
            return Err(CliError::new(
                Status::LimitExceeded,
                format!("the request on standard input is over {MAX_REQUEST_BYTES} bytes"),
            ));
        }
        bytes
    } else {
        read_bounded(&args.request, "request file", MAX_REQUEST_BYTES)?
    };
    let body = String::from_utf8(bytes)
        .map_err(|_| CliError::new(Status::Malformed, "the witness request is not UTF-8"))?;
    let (old, proof, note) = parse_witness_request(&body)?;
    let key = Arc::new(load_key(&args.key)?);
    let witness = Witness::open(&args.state, &args.name, key, &args.logs)?;
    let cosigned = match args.time {
        Some(time) => witness.add_checkpoint_at(old, &proof, &note, time),
        None => witness.add_checkpoint(old, &proof, &note),
    };
    let line = cosigned.map_err(|e| {
        let error = CliError::new(Status::of(e.kind()), e.message());
        match e.kind() {
            charter_core::ErrorKind::Denied => {
                error.hint("ask again with --old set to the size the witness holds: `charter audit witness-request`")
            }
            charter_core::ErrorKind::Corrupt => error.hint(
                "the log showed this witness a history that does not extend the one it cosigned: keep the request \
                 as evidence",
            ),
            _ => error,
        }
    })?;
    out.emit(&line, &json!({ "cosignature": line, "witness": args.name, "old_size": old }))
}

pub fn request(args: &RequestArgs, out: &mut Output) -> CliResult<()> {
    let body = LogView::open(&args.log)?.witness_request(args.old).map_err(|e| {
        let error = CliError::new(Status::of(e.kind()), e.message());
        match e.kind() {
            charter_core::ErrorKind::NotFound => error.hint("sign one with `charter audit checkpoint`"),
            _ => error,
        }
    })?;
    out.emit(&body, &json!({ "request": body, "old_size": args.old }))
}

pub fn key(args: &KeyArgs, out: &mut Output) -> CliResult<()> {
    let key = load_key(&args.key)?;
    let vkey = cosigner_key(&args.name, &key.public_key())?;
    out.emit(&format!("{vkey}\n"), &json!({ "witness_key": vkey }))
}
