//! Runs `Session::check` in a loop, for instruction counting:
//! `valgrind --tool=callgrind target/release/examples/session_loop 100000`.

use std::hint::black_box;
use std::sync::Arc;

use charter_core::capability::{Action, Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Token};

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap();
    let options =
        AuthorityOptions { clock: Arc::new(ManualClock::new(1_000)), ..AuthorityOptions::default() };
    let authority = Authority::new([root.public_key()], options);
    let grants = [Grant::parse("publish orders.>").unwrap()];
    let token = Token::mint(&root, &holder.public_key(), &grants, 1_000, 4_600).unwrap();
    let challenge = authority.challenge().unwrap();
    let proof = token.prove(&holder, &challenge).unwrap();
    let session = authority.open_session(&token, &challenge, &proof).unwrap();
    for _ in 0..iterations {
        black_box(session.check(Action::Publish, black_box("orders.eu.created"))).unwrap();
    }
}
