//! The Rust runner: the committed vectors are exactly what the generator
//! makes now (no drift), and every case holds when checked through the
//! core's public API, independently of how the generator computed it.

use std::path::PathBuf;

use charter_core::audit::{leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion, Hash};
use charter_core::bus::topic::{contains, matches, validate_pattern, validate_topic};
use charter_core::capability::{Authority, AuthorityOptions, LinkId, ManualClock, PublicKey, Token};
use charter_core::ErrorKind;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema"], 1, "{name}");
    assert!(value["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}");
    value
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn hash(v: &Value) -> Hash {
    unhex(v.as_str().unwrap()).try_into().unwrap()
}

#[test]
fn committed_vectors_match_a_fresh_generation() {
    if std::env::var_os("CHARTER_BLESS").is_some() {
        charter_vectors::write_all(&dir()).unwrap();
    }
    for (name, text) in charter_vectors::generate() {
        let committed = std::fs::read_to_string(dir().join(name)).unwrap_or_default();
        assert!(committed == text, "vectors/{name} differs from a fresh generation: run `make vectors`");
    }
}

#[test]
fn refusals() {
    let v = load("rules/refusals.json");
    let cases = v["subscribe"].as_array().unwrap();
    assert!(cases.len() >= 9, "{} refusal cases", cases.len());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let handler = case["handler"].as_bool().unwrap();
        let error = charter_vectors::rules::subscribe(handler, &case["options"]).expect_err(name);
        assert_eq!(case["status"], error.kind().name(), "{name}");
        assert_eq!(case["message"], error.message(), "{name}");
        // Every case refuses one thing: the same options on the other
        // kind of subscription are either refused alike or accepted.
        if let Err(other) = charter_vectors::rules::subscribe(!handler, &case["options"]) {
            assert_eq!(other.message(), error.message(), "{name}");
        }
    }
    let buses = v["bus"].as_array().unwrap();
    assert!(buses.len() >= 7, "{} bus limit cases", buses.len());
    for case in buses {
        let name = case["name"].as_str().unwrap();
        let error = charter_vectors::rules::bus(&case["limits"]).expect_err(name);
        assert_eq!(case["status"], error.kind().name(), "{name}");
        assert_eq!(case["message"], error.message(), "{name}");
    }
}

#[test]
fn status_codes() {
    let cases = load("status.json")["cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), ErrorKind::ALL.len() + 1);
    for (case, kind) in cases[1..].iter().zip(ErrorKind::ALL) {
        assert_eq!(case["code"], kind.code());
        assert_eq!(case["name"], kind.name());
    }
}

#[test]
fn topics() {
    let v = load("topics.json");
    let mut count = 0;
    for case in v["validity"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(validate_topic(text).is_ok(), case["valid_topic"], "{text:?}");
        assert_eq!(validate_pattern(text).is_ok(), case["valid_pattern"], "{text:?}");
        count += 1;
    }
    for case in v["matching"].as_array().unwrap() {
        let (p, t) = (case["pattern"].as_str().unwrap(), case["topic"].as_str().unwrap());
        assert_eq!(matches(p, t), case["matches"], "{p} ~ {t}");
        count += 1;
    }
    for case in v["containment"].as_array().unwrap() {
        let (a, b) = (case["inner"].as_str().unwrap(), case["outer"].as_str().unwrap());
        assert_eq!(contains(a, b), case["contained"], "{a} in {b}");
        count += 1;
    }
    assert!(count >= 200, "{count} topic cases");
}

#[test]
fn tokens() {
    let v = load("tokens.json");
    let skew = v["clock_skew"].as_u64().unwrap();
    let lifetime = v["max_lifetime"].as_u64().unwrap();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let options = AuthorityOptions {
            clock: std::sync::Arc::new(ManualClock::new(case["now"].as_u64().unwrap())),
            clock_skew: std::time::Duration::from_secs(skew),
            max_lifetime: std::time::Duration::from_secs(lifetime),
            ..AuthorityOptions::default()
        };
        let roots =
            case["roots"].as_array().unwrap().iter().map(|r| PublicKey::from_text(r.as_str().unwrap()));
        let authority = Authority::new(roots.collect::<Result<Vec<_>, _>>().unwrap(), options);
        for id in case["revoked"].as_array().unwrap() {
            authority.revoke(LinkId::from_hex(id.as_str().unwrap()).unwrap()).unwrap();
        }
        let outcome =
            Token::decode(&unhex(case["token_hex"].as_str().unwrap())).and_then(|t| authority.verify(&t));
        let got = outcome.as_ref().map_or_else(|e| e.kind().name(), |_| "CHARTER_OK");
        assert_eq!(got, case["expect"], "{name}");
        if let Ok(verified) = outcome {
            assert_eq!(verified.subject.to_text(), case["subject"], "{name}");
            let text = Token::from_text(case["token_text"].as_str().unwrap()).unwrap();
            assert_eq!(hex_of(text.as_bytes()), case["token_hex"], "{name}");
        }
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn audit() {
    let v = load("audit.json");
    let records = v["records"].as_array().unwrap();
    let leaves: Vec<Hash> =
        records.iter().map(|r| leaf_hash(&unhex(r["leaf_hex"].as_str().unwrap()))).collect();
    for (record, leaf) in records.iter().zip(&leaves) {
        assert_eq!(hex_of(leaf), record["leaf_hash_hex"]);
    }
    let roots: Vec<Hash> = v["roots"].as_array().unwrap().iter().map(hash).collect();
    assert_eq!(roots.len(), records.len() + 1);
    for case in v["inclusion"].as_array().unwrap() {
        let (i, n) = (case["index"].as_u64().unwrap(), case["size"].as_u64().unwrap());
        let proof: Vec<Hash> = case["proof"].as_array().unwrap().iter().map(hash).collect();
        verify_inclusion(&leaves[i as usize], i, n, &proof, &roots[n as usize]).unwrap();
    }
    for case in v["consistency"].as_array().unwrap() {
        let (m, n) = (case["old_size"].as_u64().unwrap(), case["new_size"].as_u64().unwrap());
        let proof: Vec<Hash> = case["proof"].as_array().unwrap().iter().map(hash).collect();
        verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &proof).unwrap();
    }
    let vkey = v["verifier_key"].as_str().unwrap();
    for case in v["checkpoints"].as_array().unwrap() {
        let checkpoint = verify_checkpoint(case["note"].as_str().unwrap(), vkey).unwrap();
        assert_eq!(checkpoint.origin, v["origin"]);
        assert_eq!(checkpoint.size, case["size"]);
        assert_eq!(checkpoint.root, roots[checkpoint.size as usize]);
    }
}
