//! Capabilities: Ed25519-signed, expiring, attenuable tokens anchored in
//! trusted root keys, and the sessions that enforce them.
//!
//! ```
//! use std::sync::Arc;
//! use charter_core::capability::{Action, Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Token};
//!
//! let root = KeyPair::generate().unwrap();
//! let billing = KeyPair::generate().unwrap();
//! let clock = Arc::new(ManualClock::new(1_000));
//! let options = AuthorityOptions { clock: clock.clone(), ..AuthorityOptions::default() };
//! let authority = Authority::new([root.public_key()], options);
//!
//! let grants = [Grant::parse("publish orders.*.created").unwrap()];
//! let token = Token::mint(&root, &billing.public_key(), &grants, 1_000, 4_600).unwrap();
//!
//! let challenge = authority.challenge().unwrap();
//! let proof = token.prove(&billing, &challenge).unwrap();
//! let session = authority.open_session(&token, &challenge, &proof).unwrap();
//! assert!(session.check(Action::Publish, "orders.eu.created").is_ok());
//! assert!(session.check(Action::Publish, "orders.eu.deleted").is_err());
//! ```

mod authority;
mod clock;
mod grant;
mod keyfile;
mod keys;
mod session;
#[cfg(test)]
mod tests;
mod text;
mod token;

pub use authority::{Authority, AuthorityOptions, Verified, CHALLENGE_TTL, MAX_CHALLENGES, MAX_REVOCATIONS};
pub use clock::{Clock, ManualClock, SystemClock};
pub use grant::{Action, Grant};
pub use keyfile::{KeyFileOptions, KeyFormat};
pub use keys::{KeyPair, PrincipalId, PublicKey, MAX_KEY_DOCUMENT_BYTES};
pub(crate) use session::Dependent;
pub use session::Session;
pub use text::{PRINCIPAL_PREFIX, PUBLIC_KEY_PREFIX, TOKEN_PREFIX};
pub use token::{Link, LinkId, Token, MAX_GRANTS, MAX_LINKS, MAX_TOKEN_BYTES};
