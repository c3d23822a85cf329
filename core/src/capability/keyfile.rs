//! Private key files: created readable by their owner only, and refused
//! when group or others may access them, as ssh refuses such a key.
//!
//! Invariants:
//! * A key file is always created new: an existing file, or a symlink
//!   planted at its path, is never replaced or followed (`O_CREAT|O_EXCL`).
//! * On Unix it has mode 0600 from the moment it exists; there is no window
//!   in which another user could open it. A file left half written is
//!   removed.
//! * Reading checks the mode of the file it opened, not of the path, so the
//!   file judged is the file read; it reads at most
//!   [`MAX_KEY_DOCUMENT_BYTES`] bytes. Anything but a regular file (a FIFO
//!   planted at the path, which would block the open, a directory, a
//!   device) is refused before it is opened, and again once open.
//! * No error quotes the file's contents, which hold a secret.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use super::keys::{KeyPair, MAX_KEY_DOCUMENT_BYTES};
use crate::{Error, ErrorKind, Result};

/// How [`KeyPair::write_file`] encodes the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyFormat {
    /// A PKCS#8 v1 DER document (RFC 8410).
    #[default]
    Der,
    /// The same document as PEM text (`-----BEGIN PRIVATE KEY-----`).
    Pem,
}

/// How [`KeyPair::read_file`] judges the file it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KeyFileOptions {
    /// Load the key even when group or others have any permission on the
    /// file. Off by default: a private key others can read is no longer
    /// private, and one they can write can be swapped for theirs.
    pub allow_open_permissions: bool,
}

impl KeyPair {
    /// Reads a private key file: PKCS#8 (v1 or v2) as DER, or as PEM text.
    /// On Unix a file that group or others have any permission on is
    /// refused with `INVALID_ARGUMENT` unless
    /// [`allow_open_permissions`](KeyFileOptions::allow_open_permissions);
    /// an I/O failure is `IO` (`NOT_FOUND` for a missing file), a file over
    /// [`MAX_KEY_DOCUMENT_BYTES`] `LIMIT_EXCEEDED`, and one that is no key
    /// `MALFORMED`.
    pub fn read_file(path: &Path, options: KeyFileOptions) -> Result<KeyPair> {
        let before = fs::metadata(path).map_err(|e| io_error("cannot open key file", path, &e))?;
        regular(path, &before)?;
        let file = File::open(path).map_err(|e| io_error("cannot open key file", path, &e))?;
        let metadata = file.metadata().map_err(|e| io_error("cannot inspect key file", path, &e))?;
        regular(path, &metadata)?;
        if !options.allow_open_permissions {
            check_private(path, &metadata)?;
        }
        let mut bytes = Vec::new();
        let read = file.take(MAX_KEY_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut bytes);
        if let Err(e) = read {
            bytes.fill(0);
            return Err(io_error("cannot read key file", path, &e));
        }
        if bytes.len() > MAX_KEY_DOCUMENT_BYTES {
            bytes.fill(0);
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("key file {} is over {MAX_KEY_DOCUMENT_BYTES} bytes", path.display()),
            ));
        }
        let pair = match std::str::from_utf8(&bytes) {
            Ok(text) if text.trim_start().starts_with("-----BEGIN") => KeyPair::from_pem(text),
            _ => KeyPair::from_pkcs8(&bytes),
        };
        bytes.fill(0);
        pair.map_err(|e| Error::new(e.kind(), format!("key file {}: {}", path.display(), e.message())))
    }

    /// Writes the private key to a new file at `path`, mode 0600 on Unix.
    /// An existing file (or symlink) at `path` is never replaced:
    /// `INVALID_ARGUMENT`. Losing a root key cannot be undone.
    pub fn write_file(&self, path: &Path, format: KeyFormat) -> Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => Error::new(
                ErrorKind::InvalidArgument,
                format!("refusing to overwrite {}: the file already exists", path.display()),
            ),
            _ => io_error("cannot create key file", path, &e),
        })?;
        let mut encoded = match format {
            KeyFormat::Der => self.to_pkcs8().to_vec(),
            KeyFormat::Pem => self.to_pem().into_bytes(),
        };
        let written = file.write_all(&encoded).and_then(|()| file.sync_all());
        encoded.fill(0);
        if let Err(e) = written {
            // A partial key is worse than none: it would fail only when used.
            let _ = fs::remove_file(path);
            return Err(io_error("cannot write key file", path, &e));
        }
        Ok(())
    }
}

/// Refuses anything but a regular file.
fn regular(path: &Path, metadata: &fs::Metadata) -> Result<()> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(Error::new(ErrorKind::InvalidArgument, format!("key file {} is not a regular file", path.display())))
}

/// Refuses a file that group or others have any permission on.
#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "key file {} has mode {mode:04o}: group or others may access it, so it is refused; \
                 make it private (chmod 600) or allow it explicitly",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Other systems have no mode bits to judge.
#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Result<()> {
    Ok(())
}

fn io_error(what: &str, path: &Path, e: &io::Error) -> Error {
    let kind = if e.kind() == io::ErrorKind::NotFound { ErrorKind::NotFound } else { ErrorKind::Io };
    Error::new(kind, format!("{what} {}: {e}", path.display()))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::PathBuf;

    use super::*;

    /// A fresh directory under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("charter-keyfile-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn written_private_and_read_back_in_both_formats() {
        let dir = scratch("roundtrip");
        let pair = KeyPair::generate().unwrap();
        for (name, format) in [("k.der", KeyFormat::Der), ("k.pem", KeyFormat::Pem)] {
            let path = dir.join(name);
            pair.write_file(&path, format).unwrap();
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{name}");
            let again = KeyPair::read_file(&path, KeyFileOptions::default()).unwrap();
            assert_eq!(again.public_key(), pair.public_key(), "{name}");
            let e = pair.write_file(&path, format).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "never replaces a key: {e}");
        }
        let pem = fs::read_to_string(dir.join("k.pem")).unwrap();
        assert!(
            pem.starts_with("-----BEGIN PRIVATE KEY-----\n") && pem.ends_with("-----END PRIVATE KEY-----\n")
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_key_others_may_access_is_refused_unless_allowed() {
        let dir = scratch("mode");
        let path = dir.join("key");
        let pair = KeyPair::generate().unwrap();
        pair.write_file(&path, KeyFormat::Der).unwrap();
        for mode in [0o640, 0o604, 0o620, 0o602, 0o644, 0o610] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let e = KeyPair::read_file(&path, KeyFileOptions::default()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{mode:o}");
            assert!(e.message().contains(&format!("mode {mode:04o}")), "{e}");
            let allowed = KeyFileOptions { allow_open_permissions: true };
            assert_eq!(KeyPair::read_file(&path, allowed).unwrap().public_key(), pair.public_key());
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        KeyPair::read_file(&path, KeyFileOptions::default()).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_planted_fifo_is_refused_without_blocking() {
        let dir = scratch("fifo");
        let fifo = dir.join("key");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED a_planted_fifo_is_refused_without_blocking: mkfifo is not available");
            return;
        }
        let (send, receive) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            // The receiver may have given up (the test then fails on its timeout).
            let _ = send.send(KeyPair::read_file(&path, KeyFileOptions::default()));
        });
        let outcome = receive.recv_timeout(std::time::Duration::from_secs(10)).expect("no blocking open");
        let e = outcome.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(e.message().contains("not a regular file"), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_not_followed_when_writing() {
        let dir = scratch("symlink");
        let target = dir.join("target");
        fs::write(&target, b"precious").unwrap();
        let link = dir.join("key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = KeyPair::generate().unwrap().write_file(&link, KeyFormat::Der).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert_eq!(fs::read(&target).unwrap(), b"precious");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_files_fail_with_their_own_kind_and_never_quote_the_secret() {
        let dir = scratch("bad");
        let options = KeyFileOptions::default();
        let missing = KeyPair::read_file(&dir.join("missing"), options).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let directory = KeyPair::read_file(&dir, options).unwrap_err();
        assert_eq!(directory.kind(), ErrorKind::InvalidArgument, "{directory}");
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            fs::write(&path, bytes).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            path
        };
        let huge = write("huge", &vec![b'A'; MAX_KEY_DOCUMENT_BYTES + 1]);
        assert_eq!(KeyPair::read_file(&huge, options).unwrap_err().kind(), ErrorKind::LimitExceeded);
        let secretish = write("garbage", b"SECRETSECRETSECRET");
        let e = KeyPair::read_file(&secretish, options).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        assert!(!e.message().contains("SECRET"), "{e}");
        let pem = write("bad.pem", b"-----BEGIN PRIVATE KEY-----\nSECRET!!\n-----END PRIVATE KEY-----\n");
        let e = KeyPair::read_file(&pem, options).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        assert!(!e.message().contains("SECRET"), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }
}
