//! `audit.json`: 64 fixed records with their canonical encodings and leaf
//! hashes, the tree root after each append (n = 0 to 64), inclusion and
//! consistency proofs, and checkpoints signed with a fixed key.

use charter_core::audit::{
    verifier_key, AuditLog, AuditOptions, Checkpoint, Decision, Hash, Record, EMPTY_ROOT,
};
use charter_core::ErrorKind;
use serde_json::{json, Map, Value};

use crate::hex;
use crate::keys::Key;

const RECORDS: u64 = 64;
const ORIGIN: &str = "charter.example/audit-vectors";
/// Tree sizes whose every inclusion proof, and every consistency proof to
/// them, the vectors carry.
const SIZES: [u64; 8] = [1, 2, 3, 7, 8, 13, 33, 64];

/// Record `i`: every decision, with and without an actor (proven, and for
/// every fourth record only claimed), and details of several lengths.
fn record(i: u64, actor: &Key) -> Record {
    let decision = [Decision::Allow, Decision::Deny, Decision::Error][(i % 3) as usize];
    let mut record = Record::new(
        1_800_000_000_000 + i * 1_000,
        ["publish", "subscribe", "request", "append"][(i % 4) as usize],
        &format!("orders.{i}.created"),
        decision,
    );
    record.actor = (i % 2 == 1).then(|| actor.pair.principal());
    record.actor_unproven = i % 4 == 3;
    record.reason = match decision {
        Decision::Allow => 0,
        Decision::Deny => ErrorKind::Denied.code(),
        Decision::Error => ErrorKind::Io.code(),
    };
    record.detail = "detail ".repeat((i % 5) as usize);
    record
}

fn hashes(hashes: &[Hash]) -> Value {
    hashes.iter().map(|h| hex::encode(h)).collect::<Vec<_>>().into()
}

pub(crate) fn vectors() -> Value {
    let actor = Key::new("actor", 7);
    let signer = Key::new("audit-signer", 6);
    let log = AuditLog::in_memory(AuditOptions::default()).expect("an in-memory log");
    let mut records = Vec::new();
    let mut roots = vec![hex::encode(&EMPTY_ROOT)];
    for i in 0..RECORDS {
        let record = record(i, &actor);
        assert_eq!(log.append(&record).expect("a valid record"), i);
        records.push(json!({
            "index": i,
            "time": record.time,
            "actor": record.actor.map(|a| a.to_text()),
            "actor_unproven": record.actor_unproven,
            "action": record.action,
            "resource": record.resource,
            "decision": record.decision.name(),
            "reason": record.reason,
            "detail": record.detail,
            "leaf_hex": hex::encode(&record.encode(i).expect("valid")),
            "leaf_hash_hex": hex::encode(&log.leaf_hash(i).expect("appended")),
        }));
        roots.push(hex::encode(&log.root()));
    }
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for n in SIZES {
        for i in 0..n {
            let proof = log.prove_inclusion(i, n).expect("in range");
            inclusion.push(json!({ "index": i, "size": n, "proof": hashes(&proof) }));
        }
        for m in 0..=n {
            let proof = log.prove_consistency(m, n).expect("in range");
            consistency.push(json!({ "old_size": m, "new_size": n, "proof": hashes(&proof) }));
        }
    }
    let vkey = verifier_key(ORIGIN, &signer.pair.public_key()).expect("a valid key name");
    let checkpoints: Vec<Value> = [0, 1, 7, RECORDS]
        .into_iter()
        .map(|size| {
            let root = log.root_at(size).expect("in range");
            let note = Checkpoint { origin: ORIGIN.into(), size, root }.sign(&signer.pair).expect("signs");
            json!({ "size": size, "root_hex": hex::encode(&root), "note": note })
        })
        .collect();
    let mut body = Map::new();
    body.insert("origin".into(), ORIGIN.into());
    body.insert("signer".into(), signer.describe());
    body.insert("verifier_key".into(), vkey.into());
    body.insert("actor".into(), actor.describe());
    body.insert("records".into(), records.into());
    body.insert("roots".into(), roots.into());
    body.insert("inclusion".into(), inclusion.into());
    body.insert("consistency".into(), consistency.into());
    body.insert("checkpoints".into(), checkpoints.into());
    crate::file(
        "Audit records appended in order to a fresh log: each one's canonical encoding (the Merkle leaf) and \
         leaf hash; `roots[n]` is the RFC 9162 root of the first n records; inclusion and consistency proofs \
         as RFC 9162 defines them; C2SP checkpoints signed by `signer` and verifiable with `verifier_key`.",
        body,
    )
}
