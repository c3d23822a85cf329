//! Capabilities, every comparison in one run:
//!
//! * verifying a k-link token (k = 1, 2, 4, 8) against k plain ring
//!   Ed25519 verifications, and against biscuit-auth's parse-and-verify of
//!   a token of k blocks (its signatures only, not its Datalog check);
//! * a session check (cached grant match, no signature work);
//! * a publish through an enforcing bus against one on an open bus.

mod common;

use std::hint::black_box;
use std::sync::Arc;

use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
use charter_core::capability::{Action, Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Token};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};

const T0: u64 = 1_000_000;

fn chain(root: &KeyPair, links: usize) -> (Token, KeyPair) {
    let grants = [Grant::parse("publish orders.>").unwrap()];
    let mut holder = KeyPair::generate().unwrap();
    let mut token = Token::mint(root, &holder.public_key(), &grants, T0, T0 + 3600).unwrap();
    for _ in 1..links {
        let next = KeyPair::generate().unwrap();
        token = token.delegate(&holder, &next.public_key(), &grants, T0, T0 + 3600).unwrap();
        holder = next;
    }
    (token, holder)
}

fn authority(root: &KeyPair) -> Authority {
    let options = AuthorityOptions { clock: Arc::new(ManualClock::new(T0)), ..AuthorityOptions::default() };
    Authority::new([root.public_key()], options)
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    let root = KeyPair::generate().unwrap();
    let authority = authority(&root);
    for k in [1usize, 2, 4, 8] {
        let (token, _) = chain(&root, k);
        group.bench_with_input(BenchmarkId::new("charter", k), &k, |b, _| {
            b.iter(|| black_box(authority.verify(black_box(&token)).unwrap()))
        });
    }
    let rng = ring::rand::SystemRandom::new();
    let pair = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let message = [7u8; 120];
    let signature = pair.sign(&message);
    let public = UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref().to_vec());
    group.bench_function("ring-ed25519-verify", |b| {
        b.iter(|| public.verify(black_box(&message), black_box(signature.as_ref())).unwrap())
    });
    let biscuit_root = biscuit_auth::KeyPair::new();
    for k in [1usize, 2, 4, 8] {
        let bytes = biscuit_chain(&biscuit_root, k);
        group.bench_with_input(BenchmarkId::new("biscuit-auth", k), &k, |b, _| {
            b.iter(|| {
                black_box(biscuit_auth::Biscuit::from(black_box(&bytes), biscuit_root.public()).unwrap())
            })
        });
    }
    group.finish();
}

/// A biscuit of `blocks` blocks granting what `chain` grants: an authority
/// block with the right, then attenuation blocks that each narrow it.
fn biscuit_chain(root: &biscuit_auth::KeyPair, blocks: usize) -> Vec<u8> {
    use biscuit_auth::builder::BlockBuilder;
    let mut token =
        biscuit_auth::Biscuit::builder().fact("right(\"orders\", \"publish\")").unwrap().build(root).unwrap();
    for _ in 1..blocks {
        let block = BlockBuilder::new().check("check if operation(\"publish\")").unwrap();
        token = token.append(block).unwrap();
    }
    token.to_vec().unwrap()
}

/// Opens a session for the holder of a fresh token granting `grant`.
fn open_session(authority: &Authority, root: &KeyPair, grant: &str) -> charter_core::capability::Session {
    let holder = KeyPair::generate().unwrap();
    let token =
        Token::mint(root, &holder.public_key(), &[Grant::parse(grant).unwrap()], T0, T0 + 3600).unwrap();
    let challenge = authority.challenge().unwrap();
    let proof = token.prove(&holder, &challenge).unwrap();
    authority.open_session(&token, &challenge, &proof).unwrap()
}

fn sessions(c: &mut Criterion) {
    let mut group = c.benchmark_group("session");
    let root = KeyPair::generate().unwrap();
    let authority = authority(&root);
    let publisher = open_session(&authority, &root, "publish orders.>");
    group.bench_function("check", |b| {
        b.iter(|| black_box(publisher.check(Action::Publish, black_box("orders.eu.created"))).unwrap())
    });

    // The same publish, to one inline subscriber, on an open bus and on an
    // enforcing bus.
    let payload: Arc<[u8]> = Arc::from(&[1u8; 64][..]);
    let open = Bus::new(BusLimits::default()).unwrap();
    let _open_sub = open.subscribe_with("orders.>", SubscribeOptions::new(), |_| Ok(())).unwrap();
    group.bench_function("publish-open-bus", |b| {
        b.iter(|| open.publish("orders.eu.created", Arc::clone(&payload), &[]).unwrap())
    });
    let enforcing = Bus::with_authority(BusLimits::default(), authority.clone()).unwrap();
    let reader = open_session(&authority, &root, "subscribe orders.>");
    let _enforced_sub = enforcing
        .with_session(&reader)
        .subscribe_with("orders.>", SubscribeOptions::new(), |_| Ok(()))
        .unwrap();
    let client = enforcing.with_session(&publisher);
    group.bench_function("publish-enforcing-bus", |b| {
        b.iter(|| client.publish("orders.eu.created", Arc::clone(&payload), &[]).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::settings(40);
    targets = verify, sessions
}
criterion_main!(benches);
