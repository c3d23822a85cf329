//! `charter`: mint and inspect capability tokens and verify audit logs from
//! the shell, so operators and auditors need not write code; and run a
//! standalone NATS bridge (`charter bridge`).
//!
//! Every failure is reported on standard error as `error: STATUS: message`
//! and a `hint:` line, and exits with the status's code (see
//! [`status::TABLE`] and docs/cli.md), never with a panic.

mod audit;
mod bridge;
mod input;
mod keys;
mod output;
mod progress;
mod status;
mod time;
mod token;
mod vectors;

use std::process::ExitCode;

use clap::error::ErrorKind as ClapKind;
use clap::{Parser, Subcommand};

use crate::output::Output;
use crate::status::{CliError, CliResult, Status};

#[derive(Parser, Debug)]
#[command(name = "charter", version, about = "Charter keys, capability tokens and audit logs")]
struct Cli {
    /// Machine-readable output: one JSON value per line on standard output
    #[arg(long, global = true)]
    json: bool,
    /// Load private key files even when group or others may access them
    /// (refused by default, as ssh refuses such a key)
    #[arg(long, global = true)]
    allow_open_key_file: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a key pair and write its private key to a new file
    Keygen(keys::KeygenArgs),
    /// Print the public key (and principal) of a private key file
    Pubkey(keys::PubkeyArgs),
    /// Mint, delegate, inspect and verify capability tokens
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Append to, verify, checkpoint, prove from and tail audit logs
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Regenerate the cross-language test vectors (vectors/*.json)
    Vectors(vectors::VectorsArgs),
    /// Run a standalone NATS bridge (a sidecar) from a config file, until
    /// SIGINT or SIGTERM
    Bridge(bridge::BridgeArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    let mut out = Output::new(cli.json);
    input::allow_open_key_files(cli.allow_open_key_file);
    match run(&cli.command, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.status == Status::Ok => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.status.code())
        }
    }
}

fn run(command: &Command, out: &mut Output) -> CliResult<()> {
    match command {
        Command::Keygen(args) => keys::keygen(args, out),
        Command::Pubkey(args) => keys::pubkey(args, out),
        Command::Token(command) => token::run(command, out),
        Command::Audit(command) => audit::run(command, out),
        Command::Vectors(args) => vectors::run(args, out),
        Command::Bridge(args) => bridge::run(args, out),
    }
}

/// Reports a command line clap refused in the CLI's own error format, with
/// clap's usage text kept, and exits with the `USAGE` code. Help and
/// version requests are not errors.
fn usage(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    if e.kind() == ClapKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let message = format!("a command is required\n\n{}", text.trim_end());
        eprintln!("{}", CliError::new(Status::Usage, message));
        return ExitCode::from(Status::Usage.code());
    }
    let mut lines = text.trim_end().lines();
    let first = lines.next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first);
    let details: Vec<&str> = lines.filter(|l| !l.starts_with("For more information")).collect();
    let details = details.join("\n");
    let message = match details.trim_matches('\n') {
        "" => message.to_string(),
        details => format!("{message}\n{details}"),
    };
    eprintln!("{}", CliError::new(Status::Usage, message));
    ExitCode::from(Status::Usage.code())
}
