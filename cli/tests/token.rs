//! `token mint`, `delegate`, `inspect` and `verify`.

mod common;

use std::path::Path;

use common::{fails, keygen, ok, ok_json, run_with_stdin};

/// A fixed window, so expiry is tested by `--at`, never by waiting.
const FROM: &str = "1800000000";
const AT: &str = "1800000100";

struct Setup {
    dir: tempfile::TempDir,
    root: String,
    holder: String,
    other: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = keygen(dir.path(), "root.key");
    let holder = keygen(dir.path(), "holder.key");
    let other = keygen(dir.path(), "other.key");
    Setup { dir, root, holder, other }
}

/// The arguments of a mint by the root key in `key` for `subject` of
/// `grant`, followed by `rest`.
fn mint_by<'a>(key: &'a str, subject: &'a str, grant: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    [&["token", "mint", "--key", key, "--subject", subject, "--grant", grant][..], rest].concat()
}

/// A setup whose `tok` holds `publish orders.*.created` (and `subscribe
/// payments.>`) for the holder, valid for an hour from FROM.
fn minted() -> Setup {
    let s = setup();
    let path = s.dir.path();
    let args = mint_by(
        "root.key",
        &s.holder,
        "publish orders.*.created",
        &["--grant", "subscribe payments.>", "--not-before", FROM, "--ttl", "1h", "--out", "tok"],
    );
    assert!(ok(path, &args).starts_with("wrote tok (link 0, id "));
    s
}

/// The arguments of a delegation of `tok` by the holder of `key` to
/// `subject`, from FROM for `ttl`.
fn delegate_args<'a>(key: &'a str, subject: &'a str, grant: &'a str, ttl: &'a str) -> Vec<&'a str> {
    vec![
        "token",
        "delegate",
        "--token",
        "tok",
        "--key",
        key,
        "--subject",
        subject,
        "--grant",
        grant,
        "--not-before",
        FROM,
        "--ttl",
        ttl,
    ]
}

fn verify_args<'a>(token: &'a str, root: &'a str, at: &'a str) -> Vec<&'a str> {
    vec!["token", "verify", token, "--root", root, "--at", at]
}

#[test]
fn mint_prints_the_token_text_and_verify_accepts_it() {
    let s = setup();
    let p = s.dir.path();
    let text = ok(p, &mint_by("root.key", &s.holder, "publish a.b", &["--ttl", "10m"]));
    assert!(text.starts_with("charter-tok1:") && text.ends_with('\n') && text.lines().count() == 1);
    let out = ok(p, &["token", "verify", text.trim(), "--root", &s.root]);
    assert!(out.starts_with("valid at "), "{out}");
    assert!(out.contains(&format!("subject    {}\n", s.holder)), "{out}");
    assert!(out.contains("grant      publish a.b\n"), "{out}");
}

#[test]
fn mint_json_and_inspect() {
    let s = setup();
    let p = s.dir.path();
    let args = ["--not-before", FROM, "--not-after", "1800003600"];
    let minted = ok_json(p, &mint_by("root.key", &s.holder, "request svc.>", &args));
    let text = minted["token"].as_str().unwrap();
    assert!(text.starts_with("charter-tok1:"));
    assert_eq!(minted["subject"], s.holder.as_str());
    assert_eq!(minted["links"].as_array().unwrap().len(), 1);

    let human = ok(p, &["token", "inspect", text]);
    assert!(human.contains("link 0 (root)"), "{human}");
    assert!(human.contains("grant    request svc.>"), "{human}");
    assert!(human.contains("window   2027-01-15T08:00:00Z .. 2027-01-15T09:00:00Z"), "{human}");
    assert!(human.contains("structure only"), "{human}");

    let inspected = ok_json(p, &["token", "inspect", text]);
    assert_eq!(inspected["root"], s.root.as_str());
    let link = &inspected["links"][0];
    assert_eq!(link["kind"], "root");
    assert_eq!(link["id"], minted["links"][0]);
    assert_eq!(link["issuer"], s.root.as_str());
    assert_eq!(link["subject"], s.holder.as_str());
    assert_eq!(link["not_before"], 1_800_000_000u64);
    assert_eq!(link["not_after"], 1_800_003_600u64);
    assert_eq!(link["grants"], serde_json::json!(["request svc.>"]));
}

#[test]
fn tokens_are_read_from_files_text_and_stdin() {
    let s = minted();
    let p = s.dir.path();
    let from_file = ok_json(p, &verify_args("tok", &s.root, AT));
    assert_eq!(from_file["valid"], true);
    assert_eq!(from_file["principal"].as_str().unwrap().len(), "charter-id1:".len() + 43);
    assert_eq!(from_file["grants"], serde_json::json!(["publish orders.*.created", "subscribe payments.>"]));
    let text = std::fs::read_to_string(p.join("tok")).unwrap();
    let from_text = ok_json(p, &verify_args(text.trim(), &s.root, AT));
    assert_eq!(from_text, from_file);
    let stdin = run_with_stdin(p, &verify_args("-", &s.root, AT), &text);
    assert_eq!(stdin.code, 0, "{}", stdin.stderr);
    assert!(stdin.stdout.starts_with("valid at 2027-01-15T08:01:40Z (1800000100)\n"), "{}", stdin.stdout);
}

#[test]
fn delegate_narrows_and_verifies_as_a_chain() {
    let s = minted();
    let p = s.dir.path();
    let args = delegate_args("holder.key", &s.other, "publish orders.eu.created", "30m");
    let delegated = ok(p, &args);
    assert!(delegated.starts_with("charter-tok1:"));
    let verified = ok_json(p, &verify_args(delegated.trim(), &s.root, AT));
    assert_eq!(verified["subject"], s.other.as_str());
    assert_eq!(verified["links"].as_array().unwrap().len(), 2);
    assert_eq!(verified["not_after"], 1_800_001_800u64);
    let inspected = ok(p, &["token", "inspect", delegated.trim()]);
    assert!(inspected.contains("link 1 (delegation)"), "{inspected}");

    let mut json_args = args.to_vec();
    json_args.extend(["--out", "tok2"]);
    let written = ok_json(p, &json_args);
    assert_eq!(written["out"], "tok2");
    assert_eq!(ok_json(p, &verify_args("tok2", &s.root, AT))["subject"], s.other.as_str());
}

#[test]
fn delegate_refuses_widening_and_the_wrong_holder() {
    let s = minted();
    let p = s.dir.path();
    let widen = delegate_args("holder.key", &s.other, "publish orders.>", "30m");
    let err = fails(p, &widen, 3, "DENIED");
    assert!(err.contains("grant \"publish orders.>\" is not within the parent's grants"), "{err}");
    let longer = delegate_args("holder.key", &s.other, "publish orders.eu.created", "2h");
    let err = fails(p, &longer, 3, "DENIED");
    assert!(err.contains("is not within the parent's"), "{err}");
    let wrong_key = delegate_args("other.key", &s.other, "publish orders.eu.created", "30m");
    let err = fails(p, &wrong_key, 13, "INVALID_ARGUMENT");
    assert!(err.contains("only the token's subject"), "{err}");
}

#[test]
fn verify_reports_time_trust_and_revocation_failures() {
    let s = minted();
    let p = s.dir.path();
    let err = fails(p, &verify_args("tok", &s.root, "1800010000"), 4, "EXPIRED");
    assert!(err.contains("the token expired at 1800003600; it is 1800010000"), "{err}");
    let err = fails(p, &verify_args("tok", &s.root, "1700000000"), 5, "NOT_YET_VALID");
    assert!(err.contains("the token is valid from 1800000000"), "{err}");
    let err = fails(p, &verify_args("tok", &s.other, AT), 9, "UNTRUSTED_ROOT");
    assert!(err.contains(&format!("root key {} is not trusted", s.root)), "{err}");
    assert!(err.contains("hint: pass the issuing root's public key with --root"), "{err}");

    let id = ok_json(p, &["token", "inspect", "tok"])["links"][0]["id"].as_str().unwrap().to_string();
    let mut revoked = verify_args("tok", &s.root, AT);
    revoked.extend(["--revoked", &id]);
    let err = fails(p, &revoked, 6, "REVOKED");
    assert!(err.contains(&format!("link 0 ({id}) is revoked")), "{err}");
    let mut bad_id = verify_args("tok", &s.root, AT);
    bad_id.extend(["--revoked", "xyz"]);
    let err = fails(p, &bad_id, 8, "MALFORMED");
    assert!(err.contains("a link id is 64 hex digits"), "{err}");
    // A sign in a hex position: the old parser read "+f" as 0x0f.
    let signed = format!("+{}", &id[1..]);
    let mut signed_id = verify_args("tok", &s.root, AT);
    signed_id.extend(["--revoked", &signed]);
    let err = fails(p, &signed_id, 8, "MALFORMED");
    assert!(err.contains("not a hex digit") && err.contains("(64 bytes)"), "{err}");
}

#[test]
fn verify_detects_a_changed_signature() {
    let s = minted();
    let p = s.dir.path();
    let text = std::fs::read_to_string(p.join("tok")).unwrap();
    let mut chars: Vec<char> = text.trim().chars().collect();
    // Inside the signature, away from the final character's padding bits.
    let at = chars.len() - 10;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    let err = fails(p, &verify_args(&forged, &s.root, AT), 7, "BAD_SIGNATURE");
    assert!(err.contains("link 0: the signature does not verify"), "{err}");
}

#[test]
fn bad_token_input() {
    let s = setup();
    let p = s.dir.path();
    let err = fails(p, &verify_args("charter-tok1:AAAA", &s.root, AT), 8, "MALFORMED");
    assert!(err.starts_with("error: MALFORMED: the token text: "), "{err}");
    let err = fails(p, &["token", "inspect", "charter-tok1:not base64!"], 8, "MALFORMED");
    assert!(err.contains("not unpadded base64url"), "{err}");
    let err = fails(p, &["token", "inspect", "missing.tok"], 12, "NOT_FOUND");
    assert!(err.contains("cannot open token file missing.tok"), "{err}");
    assert!(err.contains("hint: a token is a file path, the text form"), "{err}");
    std::fs::write(p.join("junk"), "hello").unwrap();
    let err = fails(p, &["token", "inspect", "junk"], 8, "MALFORMED");
    assert!(err.starts_with("error: MALFORMED: token file junk: "), "{err}");
}

fn mint_args<'a>(key: &'a str, subject: &'a str, grant: &'a str) -> Vec<&'a str> {
    mint_by(key, subject, grant, &["--ttl", "1h"])
}

#[test]
fn bad_mint_arguments() {
    let s = setup();
    let p = s.dir.path();
    let err = fails(p, &mint_args("root.key", &s.holder, "delete x"), 13, "INVALID_ARGUMENT");
    assert!(err.contains("unknown action \"delete\""), "{err}");
    let err = fails(p, &mint_args("root.key", "charter-pk1:AAAA", "publish a"), 8, "MALFORMED");
    assert!(err.starts_with("error: MALFORMED: --subject: "), "{err}");
    let err = fails(p, &mint_args("nokey", &s.holder, "publish a"), 12, "NOT_FOUND");
    assert!(err.contains("cannot open key file nokey"), "{err}");
    let err = fails(p, &mint_by("root.key", &s.holder, "publish a", &[]), 2, "USAGE");
    assert!(err.contains("--ttl"), "{err}");
    let err = fails(p, &mint_by("root.key", &s.holder, "publish a", &["--ttl", "1w"]), 2, "USAGE");
    assert!(err.contains("not a duration"), "{err}");
}

#[test]
fn mint_window_must_not_be_empty() {
    let s = setup();
    let args = mint_by("root.key", &s.holder, "publish a", &["--not-before", FROM, "--not-after", FROM]);
    let err = fails(Path::new(s.dir.path()), &args, 13, "INVALID_ARGUMENT");
    assert!(err.contains("must start before it ends"), "{err}");
}
