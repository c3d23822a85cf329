//! `keygen` and `pubkey`: making a key pair and showing who it speaks for.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use charter_core::capability::KeyPair;
use clap::Args;
use serde_json::json;

use crate::input::load_key;
use crate::output::Output;
use crate::status::{CliError, CliResult, Status};

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 DER, mode 0600); must not exist
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct PubkeyArgs {
    /// A private key file written by `charter keygen`
    pub keyfile: PathBuf,
    /// Also print the principal id the key speaks for
    #[arg(long)]
    pub principal: bool,
}

pub fn keygen(args: &KeygenArgs, out: &mut Output) -> CliResult<()> {
    let key = KeyPair::generate()?;
    write_secret(&args.file, key.to_pkcs8())?;
    let (public, principal) = (key.public_key().to_text(), key.principal().to_text());
    out.emit(
        &format!(
            "wrote {} (PKCS#8, mode 0600)\npublic key  {public}\nprincipal   {principal}\n",
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

/// Creates `path` readable by its owner only and writes `secret` to it.
/// An existing file is never replaced: losing a root key cannot be undone.
fn write_secret(path: &Path, secret: &[u8]) -> CliResult<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => CliError::new(
            Status::InvalidArgument,
            format!("refusing to overwrite {}: the file already exists", path.display()),
        )
        .hint("choose another path; to replace a key, move the old one away first"),
        _ => CliError::io("cannot create", path, &e),
    })?;
    if let Err(e) = file.write_all(secret).and_then(|()| file.sync_all()) {
        // A partial key is worse than none: it would fail only when used.
        let _ = fs::remove_file(path);
        return Err(CliError::io("cannot write", path, &e));
    }
    Ok(())
}
