//! Text forms: a versioned prefix naming what the bytes are, then the bytes
//! in unpadded base64url. A key can never be mistaken for a token or a
//! principal id, and a future format gets a new prefix.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::{Error, ErrorKind, Result};

/// Prefix of a public key's text form.
pub const PUBLIC_KEY_PREFIX: &str = "charter-pk1:";
/// Prefix of a principal id's text form.
pub const PRINCIPAL_PREFIX: &str = "charter-id1:";
/// Prefix of a token's text form.
pub const TOKEN_PREFIX: &str = "charter-tok1:";

/// `Debug` and `Display` for `$type`, both its text form as `$text`
/// returns it: an id reads the same in a debug dump, a log line and where
/// it is typed.
macro_rules! fmt_as_text {
    ($type:ty, $text:ident) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.$text())
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.$text())
            }
        }
    };
}
pub(crate) use fmt_as_text;

pub(crate) fn encode(prefix: &str, bytes: &[u8]) -> String {
    let mut text = String::with_capacity(prefix.len() + bytes.len().div_ceil(3) * 4);
    text.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut text);
    text
}

/// Decodes `text` of the form `prefix + base64url`, at most `max_bytes`
/// long once decoded. `what` names the thing in errors.
pub(crate) fn decode(text: &str, prefix: &str, what: &str, max_bytes: usize) -> Result<Vec<u8>> {
    let Some(body) = text.trim().strip_prefix(prefix) else {
        return Err(Error::new(ErrorKind::Malformed, format!("{what} text must start with {prefix:?}")));
    };
    if body.len() > max_bytes.div_ceil(3) * 4 {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("{what} text is {} characters; a {what} is at most {max_bytes} bytes", body.len()),
        ));
    }
    URL_SAFE_NO_PAD.decode(body).map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!("{what} text is not unpadded base64url: {}", crate::base64_problem::describe(&e)),
        )
    })
}
