//! The limits no other test reaches, each at its edge: the last value that
//! is accepted and the first that is refused, with the error naming it.

use std::sync::Arc;

use charter_core::bus::{Bus, BusLimits};
use charter_core::capability::{
    Authority, AuthorityOptions, Grant, KeyPair, LinkId, ManualClock, Token, MAX_CHALLENGES, MAX_GRANTS,
    MAX_REVOCATIONS, MAX_TOKEN_BYTES,
};
use charter_core::ErrorKind;

const T0: u64 = 1_000_000;

#[test]
fn header_bytes_per_message() {
    let limits = BusLimits { max_header_bytes: 100, ..BusLimits::default() };
    let bus = Bus::new(limits).unwrap();
    let fits = "v".repeat(100 - "name".len());
    bus.publish("t", &b"x"[..], &[("name", fits.as_str())]).unwrap();
    let over = "v".repeat(101 - "name".len());
    let e = bus.publish("t", &b"x"[..], &[("name", over.as_str())]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.message().contains("headers take 101 bytes; the bus limit is 100"), "{e}");
}

#[test]
fn grants_per_link() {
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap().public_key();
    let grants = |n: usize| -> Vec<Grant> {
        (0..n).map(|i| Grant::parse(&format!("publish topic.{i}")).unwrap()).collect()
    };
    let token = Token::mint(&root, &holder, &grants(MAX_GRANTS), T0, T0 + 60).unwrap();
    assert_eq!(token.links()[0].grants().len(), MAX_GRANTS);
    let e = Token::mint(&root, &holder, &grants(MAX_GRANTS + 1), T0, T0 + 60).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.message().contains(&format!("1 to {MAX_GRANTS} grants, got {}", MAX_GRANTS + 1)), "{e}");
}

#[test]
fn token_size() {
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap().public_key();
    let token = Token::mint(&root, &holder, &[Grant::parse("publish a").unwrap()], T0, T0 + 60).unwrap();
    let mut bytes = token.as_bytes().to_vec();
    bytes.resize(MAX_TOKEN_BYTES + 1, 0);
    let e = Token::decode(&bytes).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(e.message().contains(&MAX_TOKEN_BYTES.to_string()), "{e}");
}

fn authority(root: &KeyPair) -> Authority {
    let options = AuthorityOptions { clock: Arc::new(ManualClock::new(T0)), ..AuthorityOptions::default() };
    Authority::new([root.public_key()], options)
}

/// The set of outstanding challenges is bounded by forgetting the oldest,
/// not by refusing new ones: a flood of requests can cost a slow holder
/// its challenge, never lock every holder out.
#[test]
fn outstanding_challenges() {
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap();
    let authority = authority(&root);
    let token =
        Token::mint(&root, &holder.public_key(), &[Grant::parse("publish a").unwrap()], T0, T0 + 60).unwrap();
    let oldest = authority.challenge().unwrap();
    let kept = authority.challenge().unwrap();
    for _ in 0..MAX_CHALLENGES - 1 {
        authority.challenge().unwrap();
    }
    let proof = token.prove(&holder, &oldest).unwrap();
    assert!(authority.open_session(&token, &oldest, &proof).is_err(), "the oldest was forgotten");
    let proof = token.prove(&holder, &kept).unwrap();
    authority.open_session(&token, &kept, &proof).unwrap();
}

#[test]
fn revocations() {
    let authority = authority(&KeyPair::generate().unwrap());
    let id = |i: usize| {
        let mut hex = format!("{i:064x}");
        hex.make_ascii_lowercase();
        LinkId::from_hex(&hex).unwrap()
    };
    for i in 0..MAX_REVOCATIONS {
        assert!(authority.revoke(id(i)).unwrap());
    }
    assert!(!authority.revoke(id(0)).unwrap(), "revoking a revoked link again still works when full");
    let e = authority.revoke(id(MAX_REVOCATIONS)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.message().contains(&format!("the revocation set is full ({MAX_REVOCATIONS} links)")), "{e}");
}

#[test]
fn audit_log_path() {
    use charter_core::audit::{AuditLog, AuditOptions, MAX_PATH_BYTES};
    // At the limit the path is tried (and the OS refuses it: no directory
    // has so long a name); one byte over, it is refused before any copy.
    let at = format!("/{}", "d".repeat(MAX_PATH_BYTES - 1));
    let e = AuditLog::open(&at, AuditOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    let over = format!("/{}", "d".repeat(MAX_PATH_BYTES));
    let e = AuditLog::open(&over, AuditOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    assert!(e.message().contains("(4097 bytes) is over 4096 bytes"), "{e}");
    assert!(e.message().len() < 200, "{e}");
}
