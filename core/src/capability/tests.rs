//! Tests of tokens, the authority and sessions, including hostile tokens
//! built by hand (the public API refuses to make them).

use std::sync::Arc;

use proptest::prelude::*;

use super::token::wire;
use super::*;
use crate::ErrorKind;

const T0: u64 = 1_000_000;
const DAY: u64 = 86_400;

struct World {
    root: KeyPair,
    alice: KeyPair,
    bob: KeyPair,
    clock: Arc<ManualClock>,
    authority: Authority,
}

fn world() -> World {
    let root = KeyPair::generate().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let options = AuthorityOptions { clock: clock.clone(), ..AuthorityOptions::default() };
    let authority = Authority::new([root.public_key()], options);
    World { root, alice: KeyPair::generate().unwrap(), bob: KeyPair::generate().unwrap(), clock, authority }
}

fn grants(list: &[&str]) -> Vec<Grant> {
    list.iter().map(|g| Grant::parse(g).unwrap()).collect()
}

fn kind(r: crate::Result<impl Sized>) -> ErrorKind {
    r.map(drop).unwrap_err().kind()
}

/// Root -> alice (publish orders.*.created, subscribe payments.>) -> bob
/// (publish orders.eu.created).
fn chain(w: &World) -> Token {
    let root = Token::mint(
        &w.root,
        &w.alice.public_key(),
        &grants(&["publish orders.*.created", "subscribe payments.>"]),
        T0,
        T0 + DAY,
    )
    .unwrap();
    root.delegate(&w.alice, &w.bob.public_key(), &grants(&["publish orders.eu.created"]), T0, T0 + 3600)
        .unwrap()
}

/// A link signed by `signer`, appended to `parent`, with no narrowing check.
fn forge(
    parent: &Token,
    signer: &KeyPair,
    subject: &PublicKey,
    grants: &[Grant],
    nb: u64,
    na: u64,
) -> Vec<u8> {
    let anchor = parent.link_id(parent.links().len() - 1);
    let body = wire::encode_body(wire::KIND_DELEGATION, anchor.as_bytes(), subject, nb, na, grants);
    let mut bytes = parent.as_bytes().to_vec();
    bytes[5] += 1;
    bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&signer.sign(&wire::signed_message(&body)));
    bytes
}

fn verify_bytes(w: &World, bytes: &[u8]) -> crate::Result<Verified> {
    w.authority.verify(&Token::decode(bytes)?)
}

#[test]
fn mint_delegate_verify_and_inspect() {
    let w = world();
    let token = chain(&w);
    let v = w.authority.verify(&token).unwrap();
    assert_eq!(v.subject, w.bob.public_key());
    assert_eq!(v.principal, w.bob.principal());
    assert_eq!(v.grants, grants(&["publish orders.eu.created"]));
    assert_eq!((v.not_before, v.not_after), (T0, T0 + 3600));
    assert_eq!(v.links.len(), 2);
    let again = Token::from_text(&token.to_text()).unwrap();
    assert_eq!(again.as_bytes(), token.as_bytes());
    let report = token.inspect();
    assert!(report.contains("link 1 (delegation)"), "{report}");
    assert!(report.contains("grant    publish orders.eu.created"));
    assert!(report.contains(&token.link_id(1).to_hex()));
    assert!(report.contains(&w.alice.public_key().to_text()));
}

#[test]
fn delegation_refuses_to_widen_and_checks_the_holder() {
    let w = world();
    let token = chain(&w);
    let wider = token.delegate(&w.bob, &w.alice.public_key(), &grants(&["publish orders.>"]), T0, T0 + 60);
    assert_eq!(kind(wider), ErrorKind::Denied);
    let longer =
        token.delegate(&w.bob, &w.alice.public_key(), &grants(&["publish orders.eu.created"]), T0, T0 + 7200);
    assert_eq!(kind(longer), ErrorKind::Denied);
    let stranger =
        token.delegate(&w.alice, &w.bob.public_key(), &grants(&["publish orders.eu.created"]), T0, T0 + 60);
    assert_eq!(kind(stranger), ErrorKind::InvalidArgument);
    let mut deep = token;
    let holders: Vec<KeyPair> = (0..7).map(|_| KeyPair::generate().unwrap()).collect();
    let mut holder = &w.bob;
    for next in &holders[..6] {
        deep = deep
            .delegate(holder, &next.public_key(), &grants(&["publish orders.eu.created"]), T0, T0 + 60)
            .unwrap();
        holder = next;
    }
    assert_eq!(deep.links().len(), 8);
    w.authority.verify(&deep).unwrap();
    let ninth =
        deep.delegate(holder, &holders[6].public_key(), &grants(&["publish orders.eu.created"]), T0, T0 + 60);
    assert_eq!(kind(ninth), ErrorKind::LimitExceeded);
}

#[test]
fn every_flipped_bit_is_refused() {
    let w = world();
    let token = chain(&w);
    let bytes = token.as_bytes();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut hostile = bytes.to_vec();
            hostile[i] ^= 1 << bit;
            assert!(verify_bytes(&w, &hostile).is_err(), "flipping bit {bit} of byte {i} was accepted");
        }
    }
}

#[test]
fn flipped_fields_give_precise_errors() {
    let w = world();
    let token = chain(&w);
    let bytes = token.as_bytes().to_vec();
    let flip = |at: usize| {
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        kind(verify_bytes(&w, &b))
    };
    let link0 = 6; // after magic, version and count
    let body0 = link0 + 2;
    assert_eq!(flip(0), ErrorKind::Malformed, "magic");
    assert_eq!(flip(4), ErrorKind::Malformed, "version");
    // A key with a flipped bit is often no point at all (or one outside the
    // prime-order subgroup): that is MALFORMED when the token is decoded.
    let key_flip = |start: usize, valid: ErrorKind| {
        let mut flipped = bytes[start..start + 32].to_vec();
        flipped[0] ^= 0x01;
        if PublicKey::from_bytes(&flipped).is_ok() {
            valid
        } else {
            ErrorKind::Malformed
        }
    };
    assert_eq!(flip(body0 + 2), key_flip(body0 + 2, ErrorKind::UntrustedRoot), "root key");
    assert_eq!(flip(body0 + 34), key_flip(body0 + 34, ErrorKind::BadSignature), "subject of link 0");
    assert_eq!(flip(body0 + 66 + 7), ErrorKind::BadSignature, "not_before of link 0");
    let body0_len = usize::from(u16::from_be_bytes([bytes[link0], bytes[link0 + 1]]));
    let sig0 = body0 + body0_len;
    assert_eq!(flip(sig0 + 10), ErrorKind::BadSignature, "signature of link 0");
    let link1 = sig0 + 64;
    let body1 = link1 + 2;
    assert_eq!(flip(body1 + 2), ErrorKind::Malformed, "parent id of link 1");
    assert_eq!(flip(body1 + 34), key_flip(body1 + 34, ErrorKind::BadSignature), "subject of link 1");
    assert_eq!(flip(bytes.len() - 1), ErrorKind::BadSignature, "signature of link 1");
}

#[test]
fn truncated_extended_and_oversized_tokens_are_malformed() {
    let w = world();
    let bytes = chain(&w).as_bytes().to_vec();
    for len in 0..bytes.len() {
        assert_eq!(kind(Token::decode(&bytes[..len])), ErrorKind::Malformed, "prefix of {len} bytes");
    }
    let mut extended = bytes.clone();
    extended.push(0);
    let e = Token::decode(&extended).unwrap_err();
    assert!(e.message().contains("1 bytes follow the last link"), "{e}");
    let huge = vec![0u8; 17 * 1024];
    assert!(Token::decode(&huge).unwrap_err().message().contains("17408 bytes; the limit is 16384"));
    let mut nine = bytes.clone();
    nine[5] = 9;
    assert!(Token::decode(&nine).unwrap_err().message().contains("1 to 8 links"));
}

#[test]
fn swapped_links_are_malformed() {
    let w = world();
    let carol = KeyPair::generate().unwrap();
    let token = chain(&w)
        .delegate(&w.bob, &carol.public_key(), &grants(&["publish orders.eu.created"]), T0, T0 + 60)
        .unwrap();
    let l = token.links();
    assert_eq!(l.len(), 3);
    let spans: Vec<std::ops::Range<usize>> = (0..3).map(|i| token.links()[i].span()).collect();
    let b = token.as_bytes();
    let mut swapped = b[..spans[1].start].to_vec();
    swapped.extend_from_slice(&b[spans[2].clone()]);
    swapped.extend_from_slice(&b[spans[1].clone()]);
    let e = verify_bytes(&w, &swapped).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(e.message().contains("does not extend"), "{e}");
}

#[test]
fn forged_links_give_precise_errors() {
    let w = world();
    let root =
        Token::mint(&w.root, &w.alice.public_key(), &grants(&["publish orders.*.created"]), T0, T0 + DAY)
            .unwrap();
    let mallory = KeyPair::generate().unwrap();
    let narrow = grants(&["publish orders.eu.created"]);
    let wrong_signer = forge(&root, &mallory, &w.bob.public_key(), &narrow, T0, T0 + 60);
    let e = verify_bytes(&w, &wrong_signer).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSignature, "{e}");
    let widened = forge(&root, &w.alice, &w.bob.public_key(), &grants(&["publish orders.>"]), T0, T0 + 60);
    let e = verify_bytes(&w, &widened).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.message().contains("is not within the parent's grants"), "{e}");
    let stretched = forge(&root, &w.alice, &w.bob.public_key(), &narrow, T0, T0 + 2 * DAY);
    let e = verify_bytes(&w, &stretched).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.message().contains("window"), "{e}");
    let other_root = KeyPair::generate().unwrap();
    let untrusted = Token::mint(&other_root, &w.alice.public_key(), &narrow, T0, T0 + 60).unwrap();
    assert_eq!(kind(w.authority.verify(&untrusted)), ErrorKind::UntrustedRoot);
}

#[test]
fn small_order_subject_is_malformed() {
    let w = world();
    let token = chain(&w);
    let mut bytes = token.as_bytes().to_vec();
    let subject0 = 6 + 2 + 2 + 32;
    bytes[subject0..subject0 + 32].copy_from_slice(&[0u8; 32]);
    let e = Token::decode(&bytes).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(e.message().contains("small order"), "{e}");
}

#[test]
fn clock_skew_edges() {
    let w = world();
    let token =
        Token::mint(&w.root, &w.alice.public_key(), &grants(&["publish a"]), T0 + 1000, T0 + 2000).unwrap();
    w.clock.set(T0 + 1000 - 61);
    assert_eq!(kind(w.authority.verify(&token)), ErrorKind::NotYetValid);
    w.clock.set(T0 + 1000 - 60);
    w.authority.verify(&token).unwrap();
    w.clock.set(T0 + 2000 + 59);
    w.authority.verify(&token).unwrap();
    w.clock.set(T0 + 2000 + 60);
    assert_eq!(kind(w.authority.verify(&token)), ErrorKind::Expired);
}

#[test]
fn maximum_lifetime_is_enforced() {
    let w = world();
    let token =
        Token::mint(&w.root, &w.alice.public_key(), &grants(&["publish a"]), T0, T0 + 91 * DAY).unwrap();
    let e = w.authority.verify(&token).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.message().contains("this authority allows"), "{e}");
}

fn session(w: &World, token: &Token, holder: &KeyPair) -> crate::Result<Session> {
    let challenge = w.authority.challenge()?;
    let proof = token.prove(holder, &challenge)?;
    w.authority.open_session(token, &challenge, &proof)
}

#[test]
fn sessions_need_fresh_proof_of_possession() {
    let w = world();
    let token = chain(&w);
    let s = session(&w, &token, &w.bob).unwrap();
    assert_eq!(s.principal(), w.bob.principal());
    s.check(Action::Publish, "orders.eu.created").unwrap();
    let e = s.check(Action::Publish, "orders.us.created").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.message().contains("no publish grant covers \"orders.us.created\""), "{e}");
    assert_eq!(kind(s.check(Action::Subscribe, "orders.eu.created")), ErrorKind::Denied);

    assert_eq!(kind(token.prove(&w.alice, &[0; 32])), ErrorKind::InvalidArgument, "only the holder proves");
    let challenge = w.authority.challenge().unwrap();
    let by_alice = w.alice.sign(&token.proof_message(&challenge));
    assert_eq!(kind(w.authority.open_session(&token, &challenge, &by_alice)), ErrorKind::BadSignature);
    let proof = token.prove(&w.bob, &challenge).unwrap();
    assert_eq!(
        kind(w.authority.open_session(&token, &challenge, &proof)),
        ErrorKind::Denied,
        "a failed attempt uses the challenge up"
    );
    let challenge = w.authority.challenge().unwrap();
    let proof = token.prove(&w.bob, &challenge).unwrap();
    w.authority.open_session(&token, &challenge, &proof).unwrap();
    assert_eq!(kind(w.authority.open_session(&token, &challenge, &proof)), ErrorKind::Denied, "single use");
    assert_eq!(kind(w.authority.open_session(&token, &[7; 32], &proof)), ErrorKind::Denied, "unknown");
    let challenge = w.authority.challenge().unwrap();
    w.clock.advance(CHALLENGE_TTL);
    let proof = token.prove(&w.bob, &challenge).unwrap();
    assert_eq!(kind(w.authority.open_session(&token, &challenge, &proof)), ErrorKind::Denied, "expired");
}

#[test]
fn a_bad_proof_is_a_bad_signature() {
    let w = world();
    let token = chain(&w);
    let challenge = w.authority.challenge().unwrap();
    let e = w.authority.open_session(&token, &challenge, &[0u8; 64]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSignature);
}

#[test]
fn revocation_ends_live_sessions_and_round_trips() {
    let w = world();
    let token = chain(&w);
    let s = session(&w, &token, &w.bob).unwrap();
    assert!(s.is_active());
    assert!(w.authority.revoke(token.link_id(0)).unwrap());
    assert_eq!(kind(s.check(Action::Publish, "orders.eu.created")), ErrorKind::Revoked);
    assert!(!s.is_active());
    assert_eq!(kind(w.authority.verify(&token)), ErrorKind::Revoked);
    assert_eq!(kind(session(&w, &token, &w.bob)), ErrorKind::Revoked);
    let exported = w.authority.export_revocations();
    assert_eq!(exported, format!("{}\n", token.link_id(0)));
    let other = world();
    assert_eq!(other.authority.import_revocations(&format!("# revoked\n\n{exported}")).unwrap(), 1);
    assert_eq!(other.authority.revocations(), vec![token.link_id(0)]);
    let e = other.authority.import_revocations(&format!("{}\nnot-an-id\n", token.link_id(1))).unwrap_err();
    assert!(e.message().contains("line 2"), "{e}");
    assert_eq!(other.authority.revocations().len(), 1, "all or nothing");
    assert!(w.authority.unrevoke(&token.link_id(0)));
    w.authority.verify(&token).unwrap();
    assert!(!s.is_active(), "an ended session stays ended");
}

#[test]
fn a_revocation_id_with_a_sign_is_refused_and_revokes_nothing() {
    let w = world();
    let token = chain(&w);
    let hex = token.link_id(0).to_hex();
    let signed = format!("+{}", &hex[1..]);
    let e = w.authority.import_revocations(&format!("{signed}\n")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(e.message().contains("line 1") && e.message().contains("not a hex digit"), "{e}");
    assert!(w.authority.revocations().is_empty());
    w.authority.verify(&token).unwrap();
}

#[test]
fn sessions_end_when_the_token_expires() {
    let w = world();
    let token = chain(&w);
    let s = session(&w, &token, &w.bob).unwrap();
    w.clock.set(T0 + 3600 + 59);
    s.check(Action::Publish, "orders.eu.created").unwrap();
    w.clock.set(T0 + 3600 + 60);
    assert_eq!(kind(s.check(Action::Publish, "orders.eu.created")), ErrorKind::Expired);
}

#[test]
fn rfc8032_section_7_1_vectors() {
    // (secret seed, public key, message, signature), TEST 1 to 3.
    let vectors = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    for (seed, public, message, signature) in vectors {
        // A PKCS#8 v1 document is a fixed prefix followed by the seed.
        let mut pkcs8 = hex("302e020100300506032b657004220420");
        pkcs8.extend(hex(seed));
        let pair = KeyPair::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(pair.public_key().as_bytes().to_vec(), hex(public));
        assert_eq!(pair.sign(&hex(message)).to_vec(), hex(signature));
        assert!(pair.public_key().verifies(&hex(message), &hex(signature)));
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn small_pattern() -> impl Strategy<Value = String> {
    (prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("*")], 1..=3), any::<bool>()).prop_map(
        |(mut t, rest)| {
            if rest {
                t.push(">");
            }
            t.join(".")
        },
    )
}

fn small_grants() -> impl Strategy<Value = Vec<Grant>> {
    prop::collection::vec(
        (prop_oneof![Just(Action::Publish), Just(Action::Subscribe)], small_pattern()),
        1..4,
    )
    .prop_map(|gs| gs.into_iter().map(|(a, p)| Grant::new(a, &p).unwrap()).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever is asked for, a delegated token never allows a publish the
    /// parent did not allow.
    #[test]
    fn delegation_never_widens(parent in small_grants(), child in small_grants()) {
        let w = world();
        let token = Token::mint(&w.root, &w.alice.public_key(), &parent, T0, T0 + DAY).unwrap();
        let delegated = token.delegate(&w.alice, &w.bob.public_key(), &child, T0, T0 + 60);
        let contained = child.iter().all(|c| parent.iter().any(|p| c.within(p)));
        prop_assert_eq!(delegated.is_ok(), contained);
        if let Ok(token) = delegated {
            let v = w.authority.verify(&token).unwrap();
            for topic in ["a", "b", "a.b", "b.a", "a.a.a", "b.b.b.b", "z.a"] {
                for action in [Action::Publish, Action::Subscribe] {
                    let child_allows = v.grants.iter().any(|g| g.allows(action, topic));
                    let parent_allows = parent.iter().any(|g| g.allows(action, topic));
                    prop_assert!(!child_allows || parent_allows, "{} {} widened", action, topic);
                }
            }
        }
    }
}
