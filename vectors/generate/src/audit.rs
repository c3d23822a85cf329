//! `audit.json`: 64 fixed records with their canonical encodings and leaf
//! hashes, the tree root after each append (n = 0 to 64), inclusion and
//! consistency proofs, checkpoints signed with a fixed key, and C2SP
//! `cosignature/v1` witness cosignatures on them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use charter_core::audit::{
    cosign, cosigner_key, verifier_key, verify_cosigned, witness_request, AuditLog, AuditOptions, Checkpoint,
    Decision, Hash, Record, EMPTY_ROOT,
};
use charter_core::ErrorKind;
use ring::digest::{digest, SHA256};
use serde_json::{json, Map, Value};

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
    hashes.iter().map(|h| charter_core::text::hex(h)).collect::<Vec<_>>().into()
}

pub(crate) fn vectors() -> Value {
    let actor = Key::new("actor", 7);
    let signer = Key::new("audit-signer", 6);
    let log = AuditLog::in_memory(AuditOptions::default()).expect("an in-memory log");
    let mut records = Vec::new();
    let mut roots = vec![charter_core::text::hex(&EMPTY_ROOT)];
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
            "leaf_hex": charter_core::text::hex(&record.encode(i).expect("valid")),
            "leaf_hash_hex": charter_core::text::hex(&log.leaf_hash(i).expect("appended")),
        }));
        roots.push(charter_core::text::hex(&log.root()));
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
            json!({ "size": size, "root_hex": charter_core::text::hex(&root), "note": note })
        })
        .collect();
    let (witnesses, cosignatures, request) = cosignature_vectors(&log, &signer, &vkey);
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
    body.insert("witnesses".into(), witnesses);
    body.insert("cosignatures".into(), cosignatures);
    body.insert("witness_request".into(), request);
    crate::file(
        "Audit records appended in order to a fresh log: each one's canonical encoding (the Merkle leaf) and \
         leaf hash; `roots[n]` is the RFC 9162 root of the first n records; inclusion and consistency proofs \
         as RFC 9162 defines them; C2SP checkpoints signed by `signer` and verifiable with `verifier_key`; \
         C2SP tlog-cosignature (cosignature/v1) lines by `witnesses` over them: `cosignatures[]` are notes \
         to verify with `verifier_key`, the witness keys and `quorum` (`valid`, else `status`); \
         `witness_request` is a tlog-witness add-checkpoint body and the cosignature a witness that \
         holds `old_size` returns for it at `timestamp`.",
        body,
    )
}

const WITNESS_TIME: u64 = 1_800_000_000;

/// Two witnesses, cosigned notes (valid and not) and a witness request.
fn cosignature_vectors(log: &AuditLog, signer: &Key, vkey: &str) -> (Value, Value, Value) {
    let keys = [Key::new("witness-1", 8), Key::new("witness-2", 9)];
    let names = ["witness.example/w1", "witness.example/w2"];
    let wkeys: Vec<String> = keys
        .iter()
        .zip(names)
        .map(|(key, name)| cosigner_key(name, &key.pair.public_key()).expect("a valid name"))
        .collect();
    let witnesses: Vec<Value> = keys
        .iter()
        .zip(names)
        .zip(&wkeys)
        .map(|((key, name), wkey)| json!({ "name": name, "key": key.describe(), "verifier_key": wkey }))
        .collect();
    let note = |size: u64| {
        let root = log.root_at(size).expect("in range");
        Checkpoint { origin: ORIGIN.into(), size, root }.sign(&signer.pair).expect("signs")
    };
    let line =
        |note: &str, w: usize, time: u64| cosign(note, names[w], &keys[w].pair, time).expect("cosigns");
    let note64 = note(RECORDS);
    let note7 = note(7);
    let both = format!("{note64}{}{}", line(&note64, 0, WITNESS_TIME), line(&note64, 1, WITNESS_TIME + 1));
    let one = format!("{note7}{}", line(&note7, 1, WITNESS_TIME));
    // The first witness's line with its timestamp changed by one second.
    let honest = line(&note7, 0, WITNESS_TIME);
    let forged_time = {
        let (head, encoded) = honest.trim_end().rsplit_once(' ').expect("a signature line");
        let mut bytes = STANDARD.decode(encoded).expect("base64");
        bytes[11] ^= 1;
        format!("{head} {}\n", STANDARD.encode(bytes))
    };
    // The witness's key signing as an ordinary note key (type 0x01, no
    // timestamp): another key id, so a verifier ignores the line.
    let as_log_key = {
        let text = note7.split_once("\n\n").expect("a note").0.to_owned() + "\n";
        let public = keys[0].pair.public_key();
        let id = digest(&SHA256, &[names[0].as_bytes(), b"\n", &[0x01], public.as_bytes()].concat());
        let mut signature = id.as_ref()[..4].to_vec();
        signature.extend_from_slice(&keys[0].sign(text.as_bytes()));
        format!("\u{2014} {} {}\n", names[0], STANDARD.encode(signature))
    };
    let case = |name: &str, note: String, quorum: usize| match verify_cosigned(&note, vkey, &wkeys, quorum) {
        Ok(c) => json!({
            "name": name, "note": note, "quorum": quorum, "valid": true,
            "size": c.checkpoint.size, "cosigned_by": c.witnesses, "timestamps": c.timestamps,
        }),
        Err(e) => json!({
            "name": name, "note": note, "quorum": quorum, "valid": false, "status": e.kind().name(),
        }),
    };
    let cosignatures = vec![
        case("two of two", both.clone(), 2),
        case("two of two, one required", both.clone(), 1),
        case("one of two, two required", one.clone(), 2),
        case("one of two, the second witness", one, 1),
        case("no witness required", note7.clone(), 0),
        case("timestamp altered", format!("{note7}{forged_time}"), 1),
        case("a witness key used as a log key is another key", format!("{note7}{as_log_key}"), 1),
    ];
    let old = 7;
    let proof = log.prove_consistency(old, RECORDS).expect("in range");
    let request = witness_request(old, &proof, &note64);
    let text = note64.split_once("\n\n").expect("a note").0;
    let witness = json!({
        "old_size": old,
        "note": note64,
        "request": request,
        "witness": names[0],
        "timestamp": WITNESS_TIME,
        "signed_message": format!("cosignature/v1\ntime {WITNESS_TIME}\n{text}\n"),
        "cosignature": line(&note64, 0, WITNESS_TIME),
    });
    (witnesses.into(), cosignatures.into(), witness)
}
