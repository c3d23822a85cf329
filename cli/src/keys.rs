//! `keygen` and `pubkey`: making a key pair and showing who it speaks for.

use std::path::PathBuf;

use charter_core::capability::{KeyFormat, KeyPair};
use charter_core::ErrorKind;
use clap::Args;
use serde_json::json;

use crate::input::load_key;
use crate::output::Output;
use crate::status::{CliError, CliResult};

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 v1, mode 0600); must not exist
    pub file: PathBuf,
    /// Write PEM text (-----BEGIN PRIVATE KEY-----) instead of DER
    #[arg(long)]
    pub pem: bool,
}

#[derive(Args, Debug)]
pub struct PubkeyArgs {
    /// A private key file: PKCS#8 DER or PEM, as `charter keygen` or openssl writes it
    pub keyfile: PathBuf,
    /// Also print the principal id the key speaks for
    #[arg(long)]
    pub principal: bool,
}

pub fn keygen(args: &KeygenArgs, out: &mut Output) -> CliResult<()> {
    let key = KeyPair::generate()?;
    let (format, name) = if args.pem { (KeyFormat::Pem, "PKCS#8 PEM") } else { (KeyFormat::Der, "PKCS#8") };
    key.write_file(&args.file, format).map_err(|e| {
        let kind = e.kind();
        let error = CliError::from(e);
        match kind {
            ErrorKind::InvalidArgument => {
                error.hint("choose another path; to replace a key, move the old one away first")
            }
            _ => error,
        }
    })?;
    let (public, principal) = (key.public_key().to_text(), key.principal().to_text());
    out.emit(
        &format!(
            "wrote {} ({name}, mode 0600)\npublic key  {public}\nprincipal   {principal}\n",
            args.file.display()
        ),
        &json!({ "key_file": args.file.display().to_string(), "public_key": public, "principal": principal }),
    )
}

pub fn pubkey(args: &PubkeyArgs, out: &mut Output) -> CliResult<()> {
    let key = load_key(&args.keyfile)?;
    let (public, principal) = (key.public_key().to_text(), key.principal().to_text());
    let human = if args.principal { format!("{public}\n{principal}\n") } else { format!("{public}\n") };
    out.emit(&human, &json!({ "public_key": public, "principal": principal }))
}
