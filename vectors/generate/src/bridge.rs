//! `bridge/messages.json`: the NATS bridge's message authentication (docs/formats.md,
//! "NATS bridge message authentication"): the signed bytes and proof of
//! fixed messages, and a sequence of inbound messages checked in order by
//! one verifier at a fixed clock, each accepted or refused with its reason;
//! and the seal ids a verifying durable import gives fixed senders.
//! Generation stops if the bridge disagrees with a case's stated result.

use std::sync::Arc;
use std::time::Duration;

use charter_bridge::verify::{Expect, Inbound, Verifier};
use charter_bridge::{wire, Credentials, Sealer, Unsealed, VerifyOptions};
use charter_core::capability::{Authority, AuthorityOptions, Grant, ManualClock, Token};
use serde_json::{json, Map, Value};

use crate::keys::Key;

const T0: u64 = 1_800_000_000;
const HOUR: u64 = 3_600;
const NOW_MS: u64 = T0 * 1_000 + 500;
const SKEW_MS: u64 = 30_000;
const ORIGIN: [u8; 16] = [0x11; 16];
const NONCE: &str = "00112233445566778899aabbccddeeff";
const INBOX: &str = "_INBOX.vectors.1";
/// The seal id's domain separation string, written out from the spec.
const SEAL_ID_CONTEXT: &[u8] = b"charter/bridge-seal-id/v1\0";

fn token(root: &Key, holder: &Key, grants: &[&str]) -> Token {
    let grants: Vec<Grant> = grants.iter().map(|g| Grant::parse(g).expect("a valid grant")).collect();
    Token::mint(&root.pair, &holder.pair.public_key(), &grants, T0 - HOUR, T0 + HOUR).expect("a valid token")
}

fn sealer(holder: &Key, token: &Token, origin: [u8; 16]) -> Sealer {
    let key = charter_core::capability::KeyPair::from_pkcs8(holder.pair.to_pkcs8()).expect("the same key");
    Sealer::new(origin, &Credentials { token: token.clone(), key: Arc::new(key) }).expect("the holder's key")
}

/// One message as sent: every header, envelope included.
#[derive(Clone)]
struct Sent {
    subject: String,
    reply: Option<String>,
    headers: Vec<(String, String)>,
    payload: Vec<u8>,
}

#[allow(clippy::too_many_arguments)]
fn seal(
    sealer: &Sealer,
    origin: [u8; 16],
    seq: u64,
    time_ms: u64,
    subject: &str,
    reply: Option<&str>,
    app: &[(&str, &str)],
    payload: &[u8],
) -> Sent {
    let seal = sealer.seal_at(seq, time_ms, subject, reply, app, payload).expect("sealable");
    let mut headers: Vec<(String, String)> = app.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect();
    headers.extend([
        (wire::ORIGIN.into(), wire::hex16(&origin)),
        (wire::SEQ.into(), seal.seq.to_string()),
        (wire::TIME.into(), seal.time_ms.to_string()),
        (wire::TOKEN.into(), sealer.token_text().into()),
        (wire::PROOF.into(), seal.proof),
    ]);
    Sent { subject: subject.into(), reply: reply.map(Into::into), headers, payload: payload.to_vec() }
}

/// Messages sealed together under one signature (docs/formats.md,
/// "Signed batches"), from sequence number `first`.
fn seal_batch(sealer: &Sealer, origin: [u8; 16], first: u64, messages: &[(&str, &[u8])]) -> Vec<Sent> {
    let unsealed: Vec<Unsealed<'_>> = messages
        .iter()
        .map(|(subject, payload)| Unsealed { subject, reply: None, headers: &[], payload })
        .collect();
    let seals = sealer.seal_batch_at(first, NOW_MS, &unsealed);
    messages
        .iter()
        .zip(seals)
        .map(|((subject, payload), seal)| {
            let seal = seal.expect("sealable");
            let headers = vec![
                (wire::ORIGIN.into(), wire::hex16(&origin)),
                (wire::SEQ.into(), seal.seq.to_string()),
                (wire::TIME.into(), seal.time_ms.to_string()),
                (wire::TOKEN.into(), sealer.token_text().into()),
                (wire::PROOF.into(), seal.proof),
                (wire::BATCH.into(), seal.batch.expect("a batch of three")),
            ];
            Sent { subject: (*subject).into(), reply: None, headers, payload: payload.to_vec() }
        })
        .collect()
}

fn headers_json(headers: &[(String, String)]) -> Value {
    Value::Array(headers.iter().map(|(n, v)| json!([n, v])).collect())
}

fn seal_case(name: &str, token: &Token, sent: &Sent) -> Value {
    let fields =
        |n: &str| sent.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    let app: Vec<(&str, &str)> = sent
        .headers
        .iter()
        .filter(|(n, _)| !wire::is_envelope_header(n))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let envelope = wire::Envelope {
        origin: wire::parse_hex16(&fields(wire::ORIGIN)).expect("an origin"),
        seq: fields(wire::SEQ).parse().expect("a seq"),
        time_ms: fields(wire::TIME).parse().expect("a time"),
        subject: &sent.subject,
        reply: sent.reply.as_deref(),
        token_hash: wire::sha256(token.as_bytes()),
        payload_hash: wire::sha256(&sent.payload),
        headers: app,
    };
    json!({
        "name": name,
        "subject": sent.subject,
        "reply": sent.reply,
        "headers": headers_json(&sent.headers),
        "payload_hex": charter_core::text::hex(&sent.payload),
        "token_sha256_hex": charter_core::text::hex(&envelope.token_hash),
        "payload_sha256_hex": charter_core::text::hex(&envelope.payload_hash),
        "signed_bytes_hex": charter_core::text::hex(&wire::signed_bytes(&envelope).expect("encodable")),
        "proof": fields(wire::PROOF),
    })
}

/// A seal id case (docs/formats.md, "Stored messages"): the holder's key
/// by name, the sender's origin and sequence number, the exact bytes
/// hashed and the id, in decimal as `Charter-Seal-Id` carries it.
fn seal_id_case(name: &str, holder: &Key, origin: [u8; 16], seq: u64) -> Value {
    let principal = holder.pair.principal();
    let mut hashed = SEAL_ID_CONTEXT.to_vec();
    hashed.extend_from_slice(principal.as_bytes());
    hashed.extend_from_slice(&origin);
    hashed.extend_from_slice(&seq.to_be_bytes());
    let id = charter_bridge::seal_id(&principal, &origin, seq);
    let digest = wire::sha256(&hashed);
    assert_eq!(digest[..8], id.to_be_bytes(), "seal id {name:?}: the bridge disagrees with the spec");
    json!({
        "name": name,
        "holder": holder.name,
        "principal_hex": charter_core::text::hex(principal.as_bytes()),
        "origin": wire::hex16(&origin),
        "seq": seq.to_string(),
        "hashed_hex": charter_core::text::hex(&hashed),
        "seal_id": id.to_string(),
    })
}

pub(crate) fn vectors() -> Value {
    let root = Key::new("bridge-root", 0xb0);
    let alice = Key::new("bridge-alice", 0xb1);
    let bob = Key::new("bridge-bob", 0xb2);
    let stranger_root = Key::new("bridge-stranger-root", 0xb3);
    let mallory = Key::new("bridge-mallory", 0xb4);
    let revoked_holder = Key::new("bridge-revoked", 0xb5);

    let alice_token = token(&root, &alice, &["publish orders.>", "request svc.>"]);
    let bob_token = token(&root, &bob, &["subscribe svc.>", "publish invoices.>"]);
    let stranger_token = token(&stranger_root, &mallory, &["publish orders.>"]);
    let revoked_token = token(&root, &revoked_holder, &["publish orders.>"]);
    let revoked_link = revoked_token.link_id(0);

    let alice_sealer = sealer(&alice, &alice_token, ORIGIN);
    let bob_origin = [0x22; 16];
    let bob_sealer = sealer(&bob, &bob_token, bob_origin);
    let stranger_sealer = sealer(&mallory, &stranger_token, [0x33; 16]);
    let revoked_sealer = sealer(&revoked_holder, &revoked_token, [0x55; 16]);

    let publish = seal(
        &alice_sealer,
        ORIGIN,
        1,
        NOW_MS,
        "orders.eu.created",
        None,
        &[("trace", "abc"), ("b", "2"), ("a", "1"), ("a", "0")],
        b"order 17",
    );
    let request =
        seal(&alice_sealer, ORIGIN, 2, NOW_MS, "svc.echo", Some(INBOX), &[(wire::NONCE, NONCE)], b"ping");
    let reply_headers = [(wire::NONCE, NONCE), (wire::REQUEST, "svc.echo")];
    let reply = seal(&bob_sealer, bob_origin, 1, NOW_MS + 10, INBOX, None, &reply_headers, b"pong");
    let empty = seal(&alice_sealer, ORIGIN, 3, NOW_MS, "orders.empty", None, &[], b"");

    let seal_cases = vec![
        seal_case("publish with repeated and unordered headers", &alice_token, &publish),
        seal_case("request with a nonce and a reply subject", &alice_token, &request),
        seal_case("signed reply on the request's inbox", &bob_token, &reply),
        seal_case("empty payload, no application headers", &alice_token, &empty),
    ];

    let seal_id_cases = vec![
        seal_id_case("the first seal case's sender and sequence number", &alice, ORIGIN, 1),
        seal_id_case("the same sender, the next sequence number", &alice, ORIGIN, 2),
        seal_id_case("the same origin and sequence number, another holder", &bob, ORIGIN, 1),
        seal_id_case("the signed reply's sender", &bob, bob_origin, 1),
        seal_id_case(
            "every origin byte distinct, every sequence byte distinct (byte order)",
            &alice,
            [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f],
            0x0102_0304_0506_0708,
        ),
        seal_id_case("the largest sequence number", &alice, ORIGIN, u64::MAX),
    ];

    let with = |sent: &Sent, name: &str, value: &str| {
        let mut headers = sent.headers.clone();
        for (n, v) in headers.iter_mut() {
            if n == name {
                *v = value.into();
            }
        }
        Sent {
            subject: sent.subject.clone(),
            reply: sent.reply.clone(),
            headers,
            payload: sent.payload.clone(),
        }
    };
    let altered = Sent {
        subject: publish.subject.clone(),
        reply: None,
        headers: publish.headers.clone(),
        payload: b"order 18".to_vec(),
    };
    let plain =
        Sent { subject: "orders.plain".into(), reply: None, headers: vec![], payload: b"hi".to_vec() };
    let reply_expect =
        json!({ "kind": "reply", "subject": "svc.echo", "inbox": INBOX, "nonce": NONCE, "sent_ms": NOW_MS });
    let publish_expect = json!({ "kind": "publish" });
    let wrong_nonce = seal(
        &bob_sealer,
        bob_origin,
        2,
        NOW_MS,
        INBOX,
        None,
        &[(wire::NONCE, "ffeeddccbbaa99887766554433221100"), (wire::REQUEST, "svc.echo")],
        b"pong",
    );
    let batch = seal_batch(
        &alice_sealer,
        ORIGIN,
        20,
        &[("orders.eu.line", b"line 1"), ("orders.eu.line", b"line 2"), ("orders.us.line", b"line 3")],
    );
    let field = |sent: &Sent, name: &str| {
        sent.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).expect("the header")
    };
    let without = |sent: &Sent, name: &str| Sent {
        headers: sent.headers.iter().filter(|(n, _)| n != name).cloned().collect(),
        ..sent.clone()
    };
    let cases: Vec<(&str, Sent, Value, &str)> = vec![
        ("a sealed publish within its grant", publish.clone(), publish_expect.clone(), "accepted"),
        ("the same message again", publish.clone(), publish_expect.clone(), "replayed"),
        ("no envelope at all", plain.clone(), publish_expect.clone(), "unsigned"),
        (
            "a sequence number in a second spelling",
            with(&publish, wire::SEQ, "01"),
            publish_expect.clone(),
            "malformed",
        ),
        (
            "an origin in upper case",
            with(&publish, wire::ORIGIN, &wire::hex16(&[0xab; 16]).to_uppercase()),
            publish_expect.clone(),
            "malformed",
        ),
        ("the payload altered", altered.clone(), publish_expect.clone(), "bad_proof"),
        ("a header altered", with(&publish, "trace", "abd"), publish_expect.clone(), "bad_proof"),
        (
            "a token from an untrusted root",
            seal(&stranger_sealer, [0x33; 16], 1, NOW_MS, "orders.x", None, &[], b"x"),
            publish_expect.clone(),
            "chain",
        ),
        (
            "a trusted token without a grant for the subject",
            seal(&bob_sealer, bob_origin, 3, NOW_MS, "orders.x", None, &[], b"x"),
            publish_expect.clone(),
            "not_granted",
        ),
        (
            "sealed a minute ago",
            seal(&alice_sealer, ORIGIN, 10, NOW_MS - 60_000, "orders.x", None, &[], b"x"),
            publish_expect.clone(),
            "stale",
        ),
        (
            "sealed a minute ahead",
            seal(&alice_sealer, ORIGIN, 11, NOW_MS + 60_000, "orders.x", None, &[], b"x"),
            publish_expect.clone(),
            "stale",
        ),
        (
            "a token with a revoked link",
            seal(&revoked_sealer, [0x55; 16], 1, NOW_MS, "orders.x", None, &[], b"x"),
            publish_expect.clone(),
            "revoked",
        ),
        (
            "a later sequence number",
            seal(&alice_sealer, ORIGIN, 5, NOW_MS, "orders.x", None, &[], b"x"),
            publish_expect.clone(),
            "accepted",
        ),
        (
            "an earlier one, within the window, first time",
            seal(&alice_sealer, ORIGIN, 4, NOW_MS, "orders.x", None, &[], b"y"),
            publish_expect.clone(),
            "accepted",
        ),
        ("a request needs a request grant", request.clone(), json!({ "kind": "request" }), "accepted"),
        (
            "a request checked as a publish",
            seal(&alice_sealer, ORIGIN, 6, NOW_MS, "svc.echo", None, &[], b"p"),
            publish_expect,
            "not_granted",
        ),
        ("a reply with another request's nonce", wrong_nonce.clone(), reply_expect.clone(), "misdirected"),
        ("the signed reply", reply.clone(), reply_expect, "accepted"),
        (
            "the first message of a signed batch of three",
            batch[0].clone(),
            json!({ "kind": "publish" }),
            "accepted",
        ),
        ("its third message", batch[2].clone(), json!({ "kind": "publish" }), "accepted"),
        (
            "its second message with the first one's place",
            with(&batch[1], wire::BATCH, &field(&batch[0], wire::BATCH)),
            json!({ "kind": "publish" }),
            "bad_proof",
        ),
        (
            "its second message with the batch header dropped",
            without(&batch[1], wire::BATCH),
            json!({ "kind": "publish" }),
            "bad_proof",
        ),
        (
            "its second message claiming a batch of one",
            with(&batch[1], wire::BATCH, &field(&batch[1], wire::BATCH).replacen(".3.", ".1.", 1)),
            json!({ "kind": "publish" }),
            "malformed",
        ),
        (
            "its second message with its payload altered",
            Sent { payload: b"line 9".to_vec(), ..batch[1].clone() },
            json!({ "kind": "publish" }),
            "bad_proof",
        ),
        ("its second message", batch[1].clone(), json!({ "kind": "publish" }), "accepted"),
    ];

    let authority = Authority::new(
        [root.pair.public_key()],
        AuthorityOptions {
            clock: Arc::new(ManualClock::new(T0)),
            clock_skew: Duration::from_secs(SKEW_MS / 1_000),
            ..AuthorityOptions::default()
        },
    );
    authority.revoke(revoked_link).expect("revocable");
    let verifier = Verifier::new(VerifyOptions {
        authority,
        max_skew: Duration::from_millis(SKEW_MS),
        recorder: None,
        clock: Some(Arc::new(|| NOW_MS)),
    });
    let verify_cases: Vec<Value> = cases
        .into_iter()
        .map(|(name, sent, expect, result)| {
            let sent = &sent;
            let headers: Vec<(&str, &str)> =
                sent.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let inbound = Inbound {
                subject: &sent.subject,
                reply: sent.reply.as_deref(),
                headers: &headers,
                payload: &sent.payload,
            };
            let kind = expect["kind"].as_str().expect("a kind");
            let checked = match kind {
                "publish" => Expect::Publish,
                "request" => Expect::Request,
                _ => Expect::Reply {
                    subject: expect["subject"].as_str().expect("a subject"),
                    inbox: expect["inbox"].as_str().expect("an inbox"),
                    nonce: expect["nonce"].as_str().expect("a nonce"),
                    sent_ms: expect["sent_ms"].as_u64().expect("a time"),
                },
            };
            let (got, principal) = match verifier.check(&inbound, checked) {
                Ok(p) => ("accepted".to_string(), Some(p.to_text())),
                Err(refusal) => (refusal.reason.name().to_string(), None),
            };
            assert_eq!(got, result, "bridge vector {name:?}: the bridge disagrees with the stated result");
            let mut case = Map::new();
            case.insert("name".into(), name.into());
            case.insert("expect".into(), expect);
            case.insert("subject".into(), sent.subject.clone().into());
            case.insert("reply".into(), sent.reply.clone().into());
            case.insert("headers".into(), headers_json(&sent.headers));
            case.insert("payload_hex".into(), charter_core::text::hex(&sent.payload).into());
            case.insert("result".into(), result.into());
            case.insert("principal".into(), principal.into());
            Value::Object(case)
        })
        .collect();

    let mut body = Map::new();
    body.insert("now_ms".into(), NOW_MS.into());
    body.insert("authority_now".into(), T0.into());
    body.insert("max_skew_ms".into(), SKEW_MS.into());
    body.insert("trusted_roots".into(), json!([root.pair.public_key().to_text()]));
    body.insert("revoked_links".into(), json!([revoked_link.to_hex()]));
    body.insert(
        "keys".into(),
        json!([
            root.describe(),
            alice.describe(),
            bob.describe(),
            stranger_root.describe(),
            mallory.describe(),
            revoked_holder.describe()
        ]),
    );
    body.insert("seal_cases".into(), Value::Array(seal_cases));
    body.insert("verify_cases".into(), Value::Array(verify_cases));
    body.insert("seal_id_cases".into(), Value::Array(seal_id_cases));
    crate::file(
        "NATS bridge message authentication (docs/formats.md): signed bytes and proofs of fixed messages; \
         then inbound messages checked in order by one verifier (the replay window carries from case to case) \
         at now_ms, with the authority's clock at authority_now and revoked_links revoked; \
         then the seal ids of fixed senders and sequence numbers",
        body,
    )
}
