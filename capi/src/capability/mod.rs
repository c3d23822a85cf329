//! Capabilities for C: `charter_keypair_*`, `charter_token_*`,
//! `charter_authority_*` and `charter_session_*`.
//!
//! Public keys cross the boundary in their text form (`charter-pk1:...`),
//! grants as strings such as `"publish orders.*.created"`, link ids as 64
//! hex digits, times as seconds since the Unix epoch.

mod authority;
mod keypair;
mod session;
mod token;

pub use authority::*;
pub use keypair::*;
pub use session::*;
pub use token::*;

/// Bytes in a session challenge.
pub const CHARTER_CHALLENGE_LEN: usize = 32;
/// Bytes in a proof of possession (an Ed25519 signature).
pub const CHARTER_PROOF_LEN: usize = 64;

/// Action: publishing on a topic.
pub const CHARTER_ACTION_PUBLISH: i32 = 1;
/// Action: subscribing with a pattern.
pub const CHARTER_ACTION_SUBSCRIBE: i32 = 2;
/// Action: sending a request on a topic.
pub const CHARTER_ACTION_REQUEST: i32 = 3;
