//! Reading what commands are given: key files, public keys, grants and
//! tokens. Each failure names the argument or file, so the operator knows
//! which of several inputs was wrong.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use charter_core::capability::{
    Grant, KeyFileOptions, KeyPair, PublicKey, Token, MAX_TOKEN_BYTES, TOKEN_PREFIX,
};
use charter_core::ErrorKind;

use crate::status::{CliError, CliResult, Status};

/// Set once, from the global `--allow-open-key-file` flag, before any
/// command runs: whether key files that group or others may access load.
static ALLOW_OPEN_KEY_FILES: AtomicBool = AtomicBool::new(false);

/// Lets [`load_key`] load key files that group or others may access.
pub fn allow_open_key_files(allow: bool) {
    ALLOW_OPEN_KEY_FILES.store(allow, Ordering::Relaxed);
}

/// Reads at most `max` bytes of `path`: more is `LIMIT_EXCEEDED`, so a
/// wrong path to a huge file fails fast instead of filling memory.
pub fn read_bounded(path: &Path, what: &str, max: u64) -> CliResult<Vec<u8>> {
    let file = File::open(path).map_err(|e| CliError::io(&format!("cannot open {what}"), path, &e))?;
    read_limited(file, &format!("{what} {}", path.display()), max)
        .map_err(|e| e.hint(format!("is {} the right file?", path.display())))
}

fn read_limited(reader: impl Read, what: &str, max: u64) -> CliResult<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(Status::Io, format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(CliError::new(Status::LimitExceeded, format!("{what} is over {max} bytes")));
    }
    Ok(bytes)
}

/// Loads a private key written by `charter keygen` (or any Ed25519 PKCS#8
/// document, DER or PEM). A file that group or others may access is
/// refused, as ssh refuses one, unless `--allow-open-key-file` was given.
pub fn load_key(path: &Path) -> CliResult<KeyPair> {
    let options = KeyFileOptions { allow_open_permissions: ALLOW_OPEN_KEY_FILES.load(Ordering::Relaxed) };
    KeyPair::read_file(path, options).map_err(|e| {
        let error = CliError::from(e.clone());
        match e.kind() {
            ErrorKind::Malformed => error.hint(
                "key files are PKCS#8 documents (DER or PEM), as written by `charter keygen` or openssl",
            ),
            ErrorKind::InvalidArgument => error.hint(format!(
                "run `chmod 600 {}`, or pass --allow-open-key-file to load it anyway",
                path.display()
            )),
            _ => error.hint(format!("is {} the right file?", path.display())),
        }
    })
}

/// Parses a public key's text form given as `flag`.
pub fn public_key(flag: &str, text: &str) -> CliResult<PublicKey> {
    PublicKey::from_text(text).map_err(|e| {
        CliError::new(Status::of(e.kind()), format!("{flag}: {}", e.message()))
            .hint("public keys look like charter-pk1:...; `charter pubkey KEYFILE` prints one")
    })
}

/// Parses every `--grant` value.
pub fn grants(texts: &[String]) -> CliResult<Vec<Grant>> {
    texts
        .iter()
        .map(|text| {
            Grant::parse(text).map_err(|e| {
                CliError::from(e).hint("a grant is \"ACTION PATTERN\", such as \"publish orders.*.created\"")
            })
        })
        .collect()
}

/// Reads a token from `arg`: `-` for standard input, the text form itself,
/// or a file holding the text form or the binary encoding. Text forms are
/// told apart by their prefix, so a token is never mistaken for a path.
pub fn token(arg: &str) -> CliResult<Token> {
    let limit = (MAX_TOKEN_BYTES * 2) as u64;
    let (source, bytes) = if arg == "-" {
        ("standard input".to_string(), read_limited(io::stdin().lock(), "standard input", limit)?)
    } else if arg.trim_start().starts_with(TOKEN_PREFIX) {
        ("the token text".to_string(), arg.as_bytes().to_vec())
    } else {
        let path = Path::new(arg);
        let bytes = read_bounded(path, "token file", limit).map_err(|e| {
            e.hint("a token is a file path, the text form charter-tok1:..., or - for standard input")
        })?;
        (format!("token file {arg}"), bytes)
    };
    let decoded = match std::str::from_utf8(&bytes) {
        Ok(text) if text.trim_start().starts_with(TOKEN_PREFIX) => Token::from_text(text),
        _ => Token::decode(&bytes),
    };
    decoded.map_err(|e| {
        CliError::new(Status::of(e.kind()), format!("{source}: {}", e.message()))
            .hint("check that the token was copied whole; `charter token inspect` shows what it holds")
    })
}
