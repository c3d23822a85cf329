//! `keygen` and `pubkey`.

mod common;

use std::path::Path;
use std::process::Command;

use charter_core::capability::PublicKey;
use common::{fails, keygen, ok, ok_json};

#[test]
fn keygen_writes_an_owner_only_key_and_prints_who_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["keygen", "root.key"]);
    assert!(out.starts_with("wrote root.key (PKCS#8, mode 0600)\n"), "{out}");
    assert!(out.contains("public key  charter-pk1:"), "{out}");
    assert!(out.contains("principal   charter-id1:"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("root.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn keygen_json_matches_pubkey() {
    let dir = tempfile::tempdir().unwrap();
    let made = ok_json(dir.path(), &["keygen", "a.key"]);
    assert_eq!(made["key_file"], "a.key");
    let shown = ok_json(dir.path(), &["pubkey", "a.key"]);
    assert_eq!(shown["public_key"], made["public_key"]);
    assert_eq!(shown["principal"], made["principal"]);
    let text = ok(dir.path(), &["pubkey", "a.key"]);
    assert_eq!(text, format!("{}\n", made["public_key"].as_str().unwrap()));
    let both = ok(dir.path(), &["pubkey", "a.key", "--principal"]);
    let expected =
        format!("{}\n{}\n", made["public_key"].as_str().unwrap(), made["principal"].as_str().unwrap());
    assert_eq!(both, expected);
}

#[test]
fn keygen_refuses_to_overwrite_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = keygen(dir.path(), "root.key");
    let before = std::fs::read(dir.path().join("root.key")).unwrap();
    let err = fails(dir.path(), &["keygen", "root.key"], 13, "INVALID_ARGUMENT");
    assert!(err.contains("refusing to overwrite root.key: the file already exists"), "{err}");
    assert_eq!(std::fs::read(dir.path().join("root.key")).unwrap(), before, "the old key is kept");
    assert_eq!(ok(dir.path(), &["pubkey", "root.key"]), format!("{first}\n"));
}

#[test]
fn keygen_into_a_missing_directory_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["keygen", "no/such/dir.key"], 12, "NOT_FOUND");
    assert!(err.contains("cannot create key file no/such/dir.key"), "{err}");
}

#[test]
fn pubkey_of_a_missing_or_foreign_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["pubkey", "missing.key"], 12, "NOT_FOUND");
    assert!(err.contains("cannot open key file missing.key"), "{err}");
    std::fs::write(dir.path().join("notes.txt"), "not a key").unwrap();
    #[cfg(unix)]
    chmod(&dir.path().join("notes.txt"), 0o600);
    let err = fails(dir.path(), &["pubkey", "notes.txt"], 8, "MALFORMED");
    assert!(err.contains("key file notes.txt: not an Ed25519 PKCS#8 key"), "{err}");
}

#[test]
fn usage_errors_exit_2_in_the_same_format() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["keygen"], 2, "USAGE");
    assert!(err.contains("<FILE>"), "{err}");
    let err = fails(dir.path(), &["frobnicate"], 2, "USAGE");
    assert!(err.contains("unrecognized subcommand 'frobnicate'"), "{err}");
    let err = fails(dir.path(), &["token"], 2, "USAGE");
    assert!(err.starts_with("error: USAGE: a command is required\n") && err.contains("verify"), "{err}");
    assert!(ok(dir.path(), &["--help"]).contains("Usage: charter"));
    assert!(ok(dir.path(), &["--version"]).starts_with("charter "));
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_key_file_others_may_access_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let public = keygen(dir.path(), "root.key");
    for mode in [0o640, 0o604, 0o660, 0o644] {
        chmod(&dir.path().join("root.key"), mode);
        let err = fails(dir.path(), &["pubkey", "root.key"], 13, "INVALID_ARGUMENT");
        assert!(err.contains(&format!("key file root.key has mode {mode:04o}")), "{err}");
        assert!(err.contains("hint: run `chmod 600 root.key`, or pass --allow-open-key-file"), "{err}");
        // The same rule for every command that loads a key.
        let mint = [
            "token",
            "mint",
            "--key",
            "root.key",
            "--subject",
            &public,
            "--grant",
            "publish a",
            "--ttl",
            "1h",
        ];
        fails(dir.path(), &mint, 13, "INVALID_ARGUMENT");
        assert_eq!(ok(dir.path(), &["pubkey", "root.key", "--allow-open-key-file"]), format!("{public}\n"));
        assert_eq!(ok(dir.path(), &["--allow-open-key-file", "pubkey", "root.key"]), format!("{public}\n"));
    }
    chmod(&dir.path().join("root.key"), 0o400);
    assert_eq!(ok(dir.path(), &["pubkey", "root.key"]), format!("{public}\n"));
}

#[test]
fn keygen_pem_writes_text_that_pubkey_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["keygen", "root.pem", "--pem"]);
    assert!(out.starts_with("wrote root.pem (PKCS#8 PEM, mode 0600)\n"), "{out}");
    let text = std::fs::read_to_string(dir.path().join("root.pem")).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    let shown = ok_json(dir.path(), &["pubkey", "root.pem"]);
    assert!(out.contains(shown["public_key"].as_str().unwrap()), "{out}");
}

/// The raw 32-byte public key of a private key file, as `openssl` reads it,
/// in Charter's text form; `None` when openssl is not installed.
fn openssl_public_key(dir: &Path, file: &str, inform: &str) -> Option<String> {
    let output = Command::new("openssl")
        .args(["pkey", "-inform", inform, "-in", file, "-pubout", "-outform", "DER"])
        .current_dir(dir)
        .output()
        .ok()?;
    assert!(output.status.success(), "openssl pkey {file}: {}", String::from_utf8_lossy(&output.stderr));
    let der = output.stdout;
    Some(PublicKey::from_bytes(&der[der.len() - 32..]).unwrap().to_text())
}

#[test]
fn keys_interoperate_with_openssl_both_ways() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("SKIPPED keys_interoperate_with_openssl_both_ways: the openssl command is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Charter writes, OpenSSL reads: DER and PEM.
    let der_public = keygen(p, "charter.der");
    assert_eq!(openssl_public_key(p, "charter.der", "DER").unwrap(), der_public);
    let pem_public =
        ok_json(p, &["keygen", "charter.pem", "--pem"])["public_key"].as_str().unwrap().to_string();
    assert_eq!(openssl_public_key(p, "charter.pem", "PEM").unwrap(), pem_public);
    // OpenSSL writes, Charter reads: PEM, then the same key as DER.
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", "openssl.pem"])
        .current_dir(p)
        .status()
        .unwrap();
    assert!(made.success());
    let converted = Command::new("openssl")
        .args(["pkey", "-in", "openssl.pem", "-outform", "DER", "-out", "openssl.der"])
        .current_dir(p)
        .status()
        .unwrap();
    assert!(converted.success());
    let expected = openssl_public_key(p, "openssl.pem", "PEM").unwrap();
    #[cfg(unix)]
    for file in ["openssl.pem", "openssl.der"] {
        chmod(&p.join(file), 0o600);
    }
    assert_eq!(ok(p, &["pubkey", "openssl.pem"]), format!("{expected}\n"));
    assert_eq!(ok(p, &["pubkey", "openssl.der"]), format!("{expected}\n"));
}
