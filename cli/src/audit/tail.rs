//! `audit tail`: the latest records, and with `-f` each new one as it is
//! appended, read without ever writing to the log (`LogReader`).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use charter_core::audit::{LogReader, Record};
use charter_core::{quote_path, ErrorKind};
use clap::Args;
use serde_json::{json, Value};

use crate::output::Output;
use crate::status::{CliError, CliResult, Status};
use charter_core::text::utc_millis;

/// How often `-f` looks for new records: often enough to feel live, rarely
/// enough to cost nothing (one `fstat` per poll while the log is idle).
const POLL: Duration = Duration::from_millis(200);

#[derive(Args, Debug)]
pub struct TailArgs {
    /// The audit log file
    pub log: PathBuf,
    /// How many of the latest records to print
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    pub lines: usize,
    /// Keep printing records as they are appended, until interrupted
    #[arg(short = 'f', long)]
    pub follow: bool,
}

pub fn run(args: &TailArgs, out: &mut Output) -> CliResult<()> {
    let mut reader = LogReader::open(&args.log)?;
    let mut latest = VecDeque::with_capacity(args.lines.min(4096));
    while let Some(entry) = reader.next_record()? {
        if latest.len() == args.lines {
            latest.pop_front();
        }
        if args.lines > 0 {
            latest.push_back(entry);
        }
    }
    for (index, record) in &latest {
        emit(out, *index, record)?;
    }
    if !args.follow {
        return Ok(());
    }
    loop {
        thread::sleep(POLL);
        let len = reader.file_len()?;
        if len < reader.position() {
            return Err(CliError::new(
                Status::Corrupt,
                format!(
                    "{}: the log shrank to {len} bytes below records already read",
                    quote_path(&args.log)
                ),
            )
            .hint("an append-only log never shrinks; `charter audit verify` checks it"));
        }
        if len > reader.position() {
            while let Some((index, record)) = reader.next_record()? {
                emit(out, index, &record)?;
            }
        }
    }
}

fn emit(out: &mut Output, index: u64, record: &Record) -> CliResult<()> {
    out.emit(&human(index, record), &to_json(index, record))
}

/// One line per record: index, time, decision, action, resource, then the
/// optional parts only when present. Text from the record is escaped, so a
/// newline cannot forge a line and no escape sequence reaches the terminal.
fn human(index: u64, r: &Record) -> String {
    let mut line = format!(
        "#{index}  {}  {:<5}  {}  {}",
        utc_millis(r.time),
        r.decision.name(),
        escape(&r.action),
        escape(&r.resource)
    );
    if let Some(actor) = &r.actor {
        // A claimed actor is named by the request, never proven: say so.
        let unproven = if r.actor_unproven { " (unproven)" } else { "" };
        line += &format!("  actor={actor}{unproven}");
    }
    if r.reason != 0 {
        line += &format!("  reason={}", reason_name(r.reason));
    }
    if !r.detail.is_empty() {
        line += &format!("  detail={:?}", r.detail);
    }
    line + "\n"
}

/// `text` with every control character (C0, DEL, C1) and every bidi
/// control (which can reorder what a terminal shows) written as a Rust
/// escape (`\n`, `\u{1b}`), and backslashes doubled, so escaped output
/// reads back unambiguously.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.extend(c.escape_default()),
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.extend(c.escape_unicode())
            }
            c => out.push(c),
        }
    }
    out
}

fn to_json(index: u64, r: &Record) -> Value {
    json!({
        "index": index,
        "time_ms": r.time,
        "time": utc_millis(r.time),
        "actor": r.actor.map(|a| a.to_text()),
        "actor_unproven": r.actor_unproven,
        "action": r.action,
        "resource": r.resource,
        "decision": r.decision.name(),
        "reason": r.reason,
        "reason_name": reason_name(r.reason),
        "detail": r.detail,
    })
}

/// A reason code's status name without its `CHARTER_E_` prefix, or the
/// number itself for a code this build does not know.
fn reason_name(code: i32) -> String {
    match ErrorKind::from_code(code) {
        _ if code == 0 => "OK".into(),
        Some(kind) => kind.name().trim_start_matches("CHARTER_E_").into(),
        None => code.to_string(),
    }
}
