//! Hostile bytes through the token decoder and, when they decode, the
//! authority's verification: every input must give a typed result, never a
//! panic, a hang or an unbounded allocation.
#![no_main]

use std::sync::{Arc, OnceLock};

use charter_core::capability::{Authority, AuthorityOptions, KeyPair, ManualClock, Token};
use libfuzzer_sys::fuzz_target;

fn authority() -> &'static Authority {
    static AUTHORITY: OnceLock<Authority> = OnceLock::new();
    AUTHORITY.get_or_init(|| {
        // A fixed root, so seeds minted with it (fuzz/seeds.rs) verify.
        let root = KeyPair::from_pkcs8(&seed_root_pkcs8()).expect("fixed root key");
        let options =
            AuthorityOptions { clock: Arc::new(ManualClock::new(1_000_500)), ..AuthorityOptions::default() };
        Authority::new([root.public_key()], options)
    })
}

/// PKCS#8 v1 of the seed `[7; 32]`.
fn seed_root_pkcs8() -> Vec<u8> {
    let mut der =
        vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(&[7; 32]);
    der
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = Token::decode(data) {
        let _ = authority().verify(&token);
        let _ = token.inspect();
        let again = Token::decode(token.as_bytes()).expect("a decoded token re-decodes");
        assert_eq!(again.as_bytes(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Token::from_text(text);
    }
});
