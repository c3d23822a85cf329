//! `keygen` and `pubkey`.

mod common;

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
    assert!(err.contains("cannot create no/such/dir.key"), "{err}");
}

#[test]
fn pubkey_of_a_missing_or_foreign_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["pubkey", "missing.key"], 12, "NOT_FOUND");
    assert!(err.contains("cannot open key file missing.key"), "{err}");
    std::fs::write(dir.path().join("notes.txt"), "not a key").unwrap();
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
