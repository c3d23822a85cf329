//! The Rust runner for vectors/bridge/messages.json: every seal case's signed bytes
//! rebuilt from the message as docs/formats.md states them, every proof
//! checked with the holder's key, every verify case through one
//! verifier in order, and every seal id rebuilt from the spec.

use std::sync::Arc;
use std::time::Duration;

use charter_bridge::verify::{Expect, Inbound, Verifier};
use charter_bridge::{wire, VerifyOptions};
use charter_core::capability::{Authority, AuthorityOptions, LinkId, ManualClock, PublicKey, Token};
use ring::signature::{UnparsedPublicKey, ED25519};
use serde_json::Value;

fn load() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/bridge/messages.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn headers(case: &Value) -> Vec<(String, String)> {
    case["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_str().unwrap().to_owned()))
        .collect()
}

fn field<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap()
}

#[test]
fn seal_cases_sign_the_documented_bytes() {
    let vectors = load();
    let cases = vectors["seal_cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let headers = headers(case);
        let payload = unhex(case["payload_hex"].as_str().unwrap());
        let token = Token::from_text(field(&headers, wire::TOKEN)).unwrap();
        let envelope = wire::Envelope {
            origin: wire::parse_hex16(field(&headers, wire::ORIGIN)).unwrap(),
            seq: wire::parse_decimal("seq", field(&headers, wire::SEQ)).unwrap(),
            time_ms: wire::parse_decimal("time", field(&headers, wire::TIME)).unwrap(),
            subject: case["subject"].as_str().unwrap(),
            reply: case["reply"].as_str(),
            token_hash: wire::sha256(token.as_bytes()),
            payload_hash: wire::sha256(&payload),
            headers: headers
                .iter()
                .filter(|(n, _)| !wire::is_envelope_header(n))
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
        };
        let signed = wire::signed_bytes(&envelope).unwrap();
        assert_eq!(hex(&signed), case["signed_bytes_hex"], "{name}");
        assert_eq!(hex(&envelope.token_hash), case["token_sha256_hex"], "{name}");
        assert_eq!(hex(&envelope.payload_hash), case["payload_sha256_hex"], "{name}");
        assert!(signed.starts_with(b"charter/bridge-message/v1\0"), "{name}");
        let proof = base64_url(field(&headers, wire::PROOF));
        let holder: PublicKey = token.subject();
        assert!(
            UnparsedPublicKey::new(&ED25519, holder.as_bytes()).verify(&signed, &proof).is_ok(),
            "{name}"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

#[test]
fn verify_cases_come_out_as_stated_in_order() {
    let vectors = load();
    let now_ms = vectors["now_ms"].as_u64().unwrap();
    let roots: Vec<PublicKey> = vectors["trusted_roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| PublicKey::from_text(r.as_str().unwrap()).unwrap())
        .collect();
    let skew = Duration::from_millis(vectors["max_skew_ms"].as_u64().unwrap());
    let authority = Authority::new(
        roots,
        AuthorityOptions {
            clock: Arc::new(ManualClock::new(vectors["authority_now"].as_u64().unwrap())),
            clock_skew: Duration::from_secs(skew.as_secs()),
            ..AuthorityOptions::default()
        },
    );
    for link in vectors["revoked_links"].as_array().unwrap() {
        authority.revoke(LinkId::from_hex(link.as_str().unwrap()).unwrap()).unwrap();
    }
    let mut options = VerifyOptions::new(authority);
    options.max_skew = skew;
    options.clock = Some(Arc::new(move || now_ms));
    let verifier = Verifier::new(options);
    let cases = vectors["verify_cases"].as_array().unwrap();
    let mut reasons = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let owned = headers(case);
        let headers: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let payload = unhex(case["payload_hex"].as_str().unwrap());
        let inbound = Inbound {
            subject: case["subject"].as_str().unwrap(),
            reply: case["reply"].as_str(),
            headers: &headers,
            payload: &payload,
        };
        let expect = &case["expect"];
        let expect = match expect["kind"].as_str().unwrap() {
            "publish" => Expect::Publish,
            "request" => Expect::Request,
            "reply" => Expect::Reply {
                subject: expect["subject"].as_str().unwrap(),
                inbox: expect["inbox"].as_str().unwrap(),
                nonce: expect["nonce"].as_str().unwrap(),
                sent_ms: expect["sent_ms"].as_u64().unwrap(),
            },
            other => panic!("unknown kind {other}"),
        };
        let got = match verifier.check(&inbound, expect) {
            Ok(principal) => {
                assert_eq!(case["principal"], principal.to_text(), "{name}");
                "accepted".to_string()
            }
            Err(refusal) => refusal.reason.name().to_string(),
        };
        assert_eq!(got, case["result"], "{name}");
        reasons.insert(got);
    }
    for reason in [
        "unsigned",
        "malformed",
        "chain",
        "bad_proof",
        "not_granted",
        "stale",
        "replayed",
        "revoked",
        "misdirected",
    ] {
        assert!(reasons.contains(reason), "the vectors cover {reason}");
    }
}

#[test]
fn seal_id_cases_hash_the_documented_bytes() {
    let vectors = load();
    let keys = vectors["keys"].as_array().unwrap();
    let cases = vectors["seal_id_cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let key = keys.iter().find(|k| k["name"] == case["holder"]).unwrap();
        let principal = PublicKey::from_text(key["public_key"].as_str().unwrap()).unwrap().principal();
        assert_eq!(hex(principal.as_bytes()), case["principal_hex"], "{name}");
        let origin = wire::parse_hex16(case["origin"].as_str().unwrap()).unwrap();
        let seq: u64 = case["seq"].as_str().unwrap().parse().unwrap();
        let mut hashed = b"charter/bridge-seal-id/v1\0".to_vec();
        hashed.extend_from_slice(principal.as_bytes());
        hashed.extend_from_slice(&origin);
        hashed.extend_from_slice(&seq.to_be_bytes());
        assert_eq!(hex(&hashed), case["hashed_hex"], "{name}");
        let first: [u8; 8] = wire::sha256(&hashed)[..8].try_into().unwrap();
        let id = charter_bridge::seal_id(&principal, &origin, seq);
        assert_eq!(id, u64::from_be_bytes(first), "{name}");
        assert_eq!(id.to_string(), case["seal_id"], "{name}");
    }
}
