//! Where results go: readable text by default, one JSON value per line with
//! `--json`, so the same command serves people and scripts.

use std::io::{self, Write};

use serde_json::Value;

use crate::status::{CliError, CliResult, Status};

pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Writes `human` (which ends in a newline) or `json`, and flushes so a
    /// follower's lines reach a pipe as they happen. A reader that went away
    /// (a closed pipe) ends the command quietly rather than as a failure.
    pub fn emit(&mut self, human: &str, json: &Value) -> CliResult<()> {
        let mut stdout = io::stdout().lock();
        let written = if self.json { writeln!(stdout, "{json}") } else { stdout.write_all(human.as_bytes()) };
        written.and_then(|()| stdout.flush()).map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => CliError::new(Status::Ok, ""),
            _ => CliError::new(Status::Io, format!("writing to standard output: {e}")),
        })
    }
}

/// A note on standard error that does not change the outcome.
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}
