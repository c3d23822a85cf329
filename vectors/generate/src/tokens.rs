//! `tokens.json`: capability tokens built with fixed keys and checked at a
//! fixed clock: valid chains and every failure class.
//!
//! The core refuses to build a widening or over-long chain, so those links
//! are forged here from the byte layout in `docs/formats.md`. Each case
//! states the status it is meant to produce, and generation stops if the
//! core disagrees, so a vector never records a bug as the answer.

use std::sync::Arc;
use std::time::Duration;

use charter_core::capability::{Authority, AuthorityOptions, Grant, LinkId, ManualClock, Token};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ring::digest::{digest, SHA256};
use serde_json::{json, Map, Value};

use crate::keys::Key;

const T0: u64 = 1_800_000_000;
const HOUR: u64 = 3_600;
const SKEW: u64 = 60;
const MAX_LIFETIME: u64 = 90 * 24 * HOUR;
/// The domain separation prefix of a link signature.
const LINK_DOMAIN: &[u8] = b"charter/token-link/v1\0";

struct Keys {
    root: Key,
    alice: Key,
    bob: Key,
    carol: Key,
    mallory: Key,
}

fn grants(texts: &[&str]) -> Vec<Grant> {
    texts.iter().map(|t| Grant::parse(t).expect("a valid grant")).collect()
}

/// One link as encoded: its body and signature, found by walking the token.
struct RawLink<'a> {
    encoded: &'a [u8],
    body: &'a [u8],
    signature: &'a [u8],
}

/// Splits a well-formed token into its links (magic, version, count, then
/// `body_len body signature` per link).
fn raw_links(token: &[u8]) -> Vec<RawLink<'_>> {
    let mut at = 6;
    let mut links = Vec::new();
    while at < token.len() {
        let len = usize::from(u16::from_be_bytes([token[at], token[at + 1]]));
        let end = at + 2 + len + 64;
        links.push(RawLink {
            encoded: &token[at..end],
            body: &token[at + 2..at + 2 + len],
            signature: &token[at + 2 + len..end],
        });
        at = end;
    }
    links
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [LINK_DOMAIN, body].concat()
}

/// Appends a delegation link to `parent` that `signer` signs, without any
/// of the checks `Token::delegate` makes.
fn forge(parent: &[u8], signer: &Key, subject: &Key, grants: &[(u8, &str)], nb: u64, na: u64) -> Vec<u8> {
    let last = raw_links(parent).pop().expect("a token has links").encoded.to_vec();
    let mut body = vec![1u8, 1u8];
    body.extend_from_slice(digest(&SHA256, &last).as_ref());
    body.extend_from_slice(subject.pair.public_key().as_bytes());
    body.extend_from_slice(&nb.to_be_bytes());
    body.extend_from_slice(&na.to_be_bytes());
    body.push(grants.len() as u8);
    for (action, pattern) in grants {
        body.push(*action);
        body.push(pattern.len() as u8);
        body.extend_from_slice(pattern.as_bytes());
    }
    let mut token = parent.to_vec();
    token[5] += 1;
    token.extend_from_slice(&(body.len() as u16).to_be_bytes());
    token.extend_from_slice(&body);
    token.extend_from_slice(&signer.sign(&signed_message(&body)));
    token
}

const PUBLISH: u8 = 1;

struct Case<'a> {
    name: &'static str,
    why: &'static str,
    token: Vec<u8>,
    roots: Vec<&'a Key>,
    now: u64,
    revoked: Vec<LinkId>,
    expect: &'static str,
}

fn check(case: &Case<'_>) -> Value {
    let clock = Arc::new(ManualClock::new(case.now));
    let options = AuthorityOptions {
        clock,
        clock_skew: Duration::from_secs(SKEW),
        max_lifetime: Duration::from_secs(MAX_LIFETIME),
        ..AuthorityOptions::default()
    };
    let authority = Authority::new(case.roots.iter().map(|k| k.pair.public_key()), options);
    for id in &case.revoked {
        authority.revoke(*id).expect("room for a revocation");
    }
    let outcome = Token::decode(&case.token).and_then(|token| authority.verify(&token));
    let got = match &outcome {
        Ok(_) => "CHARTER_OK",
        Err(e) => e.kind().name(),
    };
    assert_eq!(got, case.expect, "vector {}: the core says {outcome:?}", case.name);
    let mut value = json!({
        "name": case.name,
        "description": case.why,
        "token_hex": charter_core::text::hex(&case.token),
        "roots": case.roots.iter().map(|k| k.pair.public_key().to_text()).collect::<Vec<_>>(),
        "now": case.now,
        "revoked": case.revoked.iter().map(LinkId::to_hex).collect::<Vec<_>>(),
        "expect": case.expect,
    });
    if let Ok(verified) = outcome {
        let token = Token::decode(&case.token).expect("it verified");
        value["token_text"] = token.to_text().into();
        value["subject"] = verified.subject.to_text().into();
        value["grants"] = verified.grants.iter().map(Grant::to_string).collect::<Vec<_>>().into();
        value["not_before"] = verified.not_before.into();
        value["not_after"] = verified.not_after.into();
        value["link_ids"] =
            (0..token.links().len()).map(|i| token.link_id(i).to_hex()).collect::<Vec<_>>().into();
        value["signatures"] = signatures(&case.token, &case.roots[0].pair.public_key(), &token);
    }
    value
}

/// What each link's signature covers, for independent Ed25519 verifiers:
/// the signer's raw public key, the exact signed bytes and the signature.
fn signatures(bytes: &[u8], root: &charter_core::capability::PublicKey, token: &Token) -> Value {
    raw_links(bytes)
        .iter()
        .enumerate()
        .map(|(i, link)| {
            let signer = if i == 0 { *root } else { token.links()[i - 1].subject() };
            json!({
                "public_key_hex": charter_core::text::hex(signer.as_bytes()),
                "message_hex": charter_core::text::hex(&signed_message(link.body)),
                "signature_hex": charter_core::text::hex(link.signature),
            })
        })
        .collect::<Vec<_>>()
        .into()
}

fn cases(k: &Keys) -> Vec<Case<'_>> {
    let window = (T0, T0 + HOUR);
    let one = Token::mint(
        &k.root.pair,
        &k.alice.pair.public_key(),
        &grants(&["publish orders.*.created", "subscribe payments.>"]),
        window.0,
        window.1,
    )
    .expect("mint");
    let two = one
        .delegate(
            &k.alice.pair,
            &k.bob.pair.public_key(),
            &grants(&["publish orders.eu.created"]),
            T0,
            T0 + HOUR,
        )
        .expect("delegate");
    let three = two
        .delegate(
            &k.bob.pair,
            &k.carol.pair.public_key(),
            &grants(&["publish orders.eu.created"]),
            T0 + 60,
            T0 + 600,
        )
        .expect("delegate");
    let (one, two, three) = (one.as_bytes().to_vec(), two.as_bytes().to_vec(), three.as_bytes().to_vec());
    let id = |bytes: &[u8], i: usize| Token::decode(bytes).expect("valid").link_id(i);
    let now = T0 + 10;
    let case = |name, why, token, now, expect| Case {
        name,
        why,
        token,
        roots: vec![&k.root],
        now,
        revoked: vec![],
        expect,
    };

    let mut flipped_signature = two.clone();
    let last = flipped_signature.len() - 1;
    flipped_signature[last] ^= 0x01;
    let mut flipped_grant = two.clone();
    let pattern_at = two.len() - 64 - 1;
    flipped_grant[pattern_at] ^= 0x01;
    let mut nine = one.clone();
    let mut holder = &k.alice;
    for next in [&k.bob, &k.carol, &k.alice, &k.bob, &k.carol, &k.alice, &k.bob, &k.carol] {
        nine = forge(&nine, holder, next, &[(PUBLISH, "orders.eu.created")], T0, T0 + HOUR);
        holder = next;
    }
    let mut oversized = one.clone();
    oversized.resize(17 * 1024, 0);
    let mut small_order = one.clone();
    // The subject of link 0: after magic, version, count, body_len, link
    // version, kind and the 32-byte anchor.
    let subject_at = 4 + 1 + 1 + 2 + 1 + 1 + 32;
    small_order[subject_at..subject_at + 32].copy_from_slice(&[0u8; 32]);
    // The same root link with its subject replaced by alice's key plus a
    // point of order 8, signed again by the root: only the key is wrong.
    let mixed_order = {
        let alice = CompressedEdwardsY(*k.alice.pair.public_key().as_bytes()).decompress().expect("a point");
        let mut body = raw_links(&one)[0].body.to_vec();
        body[34..66].copy_from_slice((alice + EIGHT_TORSION[1]).compress().as_bytes());
        let mut t = one[..6].to_vec();
        t.extend_from_slice(&(body.len() as u16).to_be_bytes());
        t.extend_from_slice(&body);
        t.extend_from_slice(&k.root.sign(&signed_message(&body)));
        t
    };
    let swapped = {
        let links = raw_links(&three);
        let mut t = three[..6].to_vec();
        for i in [0, 2, 1] {
            t.extend_from_slice(links[i].encoded);
        }
        t
    };

    vec![
        case("one-link", "a root link granting two actions", one.clone(), now, "CHARTER_OK"),
        case("two-links", "a narrowing delegation", two.clone(), now, "CHARTER_OK"),
        case("three-links", "a delegation narrowing the window too", three.clone(), T0 + 61, "CHARTER_OK"),
        Case {
            roots: vec![&k.mallory],
            ..case(
                "untrusted-root",
                "the root key is not trusted",
                one.clone(),
                now,
                "CHARTER_E_UNTRUSTED_ROOT",
            )
        },
        case(
            "flipped-signature",
            "a bit flipped in the last link's signature",
            flipped_signature,
            now,
            "CHARTER_E_BAD_SIGNATURE",
        ),
        case(
            "flipped-grant",
            "a bit flipped in the last link's grant pattern",
            flipped_grant,
            now,
            "CHARTER_E_BAD_SIGNATURE",
        ),
        case(
            "wrong-signer",
            "a delegation signed by a key other than the previous subject",
            forge(&one, &k.mallory, &k.bob, &[(PUBLISH, "orders.eu.created")], T0, T0 + HOUR),
            now,
            "CHARTER_E_BAD_SIGNATURE",
        ),
        case(
            "widened-grants",
            "a delegation granting more than its parent",
            forge(&one, &k.alice, &k.bob, &[(PUBLISH, "orders.>")], T0, T0 + HOUR),
            now,
            "CHARTER_E_DENIED",
        ),
        case(
            "stretched-window",
            "a delegation outliving its parent",
            forge(&one, &k.alice, &k.bob, &[(PUBLISH, "orders.eu.created")], T0, T0 + 2 * HOUR),
            now,
            "CHARTER_E_DENIED",
        ),
        case("expired", "checked at not_after + skew", one.clone(), window.1 + SKEW, "CHARTER_E_EXPIRED"),
        case(
            "expiry-edge",
            "checked one second before not_after + skew",
            one.clone(),
            window.1 + SKEW - 1,
            "CHARTER_OK",
        ),
        case(
            "not-yet-valid",
            "checked one second before not_before - skew",
            one.clone(),
            window.0 - SKEW - 1,
            "CHARTER_E_NOT_YET_VALID",
        ),
        case("validity-edge", "checked at not_before - skew", one.clone(), window.0 - SKEW, "CHARTER_OK"),
        Case {
            revoked: vec![id(&two, 0)],
            ..case("revoked-root-link", "the root link is revoked", two.clone(), now, "CHARTER_E_REVOKED")
        },
        Case {
            revoked: vec![id(&two, 1)],
            ..case("revoked-delegation", "the last link is revoked", two.clone(), now, "CHARTER_E_REVOKED")
        },
        case(
            "truncated",
            "the last byte is missing",
            two[..two.len() - 1].to_vec(),
            now,
            "CHARTER_E_MALFORMED",
        ),
        case(
            "extended",
            "one byte follows the last link",
            [two.as_slice(), &[0]].concat(),
            now,
            "CHARTER_E_MALFORMED",
        ),
        case("links-swapped", "links 1 and 2 in the wrong order", swapped, T0 + 61, "CHARTER_E_MALFORMED"),
        case("nine-links", "one link over the limit of 8", nine, now, "CHARTER_E_MALFORMED"),
        case("oversized", "17 KiB, over the 16 KiB limit", oversized, now, "CHARTER_E_MALFORMED"),
        case(
            "small-order-subject",
            "the subject is a small-order point (all zeros)",
            small_order,
            now,
            "CHARTER_E_MALFORMED",
        ),
        case(
            "mixed-order-subject",
            "the subject is a valid key plus a point of order 8, signed by the root",
            mixed_order,
            now,
            "CHARTER_E_MALFORMED",
        ),
        case("empty", "no bytes at all", vec![], now, "CHARTER_E_MALFORMED"),
    ]
}

pub(crate) fn vectors() -> Value {
    let keys = Keys {
        root: Key::new("root", 1),
        alice: Key::new("alice", 2),
        bob: Key::new("bob", 3),
        carol: Key::new("carol", 4),
        mallory: Key::new("mallory", 5),
    };
    let all = [&keys.root, &keys.alice, &keys.bob, &keys.carol, &keys.mallory];
    let mut body = Map::new();
    body.insert("clock_skew".into(), SKEW.into());
    body.insert("max_lifetime".into(), MAX_LIFETIME.into());
    body.insert("keys".into(), all.iter().map(|k| k.describe()).collect::<Vec<_>>().into());
    body.insert("cases".into(), cases(&keys).iter().map(check).collect::<Vec<_>>().into());
    crate::file(
        "Capability tokens checked by an authority trusting `roots`, with its clock at `now` (Unix seconds), \
         the given clock skew and maximum lifetime, and the link ids in `revoked` revoked; `expect` is the \
         status. Valid cases give the holder, grants, window, link ids and, per link, the exact bytes its \
         Ed25519 signature covers.",
        body,
    )
}
