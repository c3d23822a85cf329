//! What is wrong with text that is not base64, in a reader's words: the
//! `base64` crate's own messages ("Invalid symbol 33, offset 3.") name its
//! internals, and every decoder of the core reports through this one.

use base64::DecodeError;

/// Why decoding failed, as a phrase that follows "is not base64: ".
pub(crate) fn describe(e: &DecodeError) -> String {
    match e {
        DecodeError::InvalidByte(offset, byte) => {
            format!("character {} at offset {offset} is not in its alphabet", printable(*byte))
        }
        DecodeError::InvalidLength(len) => format!("no base64 text is {len} characters long"),
        DecodeError::InvalidLastSymbol { offset, symbol, .. } => format!(
            "the last character, {} at offset {offset}, has bits set that encode nothing",
            printable(*symbol)
        ),
        DecodeError::InvalidPadding => "its padding ('=') is missing or misplaced".to_owned(),
    }
}

/// A byte as a short quote: the character when printable ASCII, else hex.
fn printable(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", char::from(byte))
    } else {
        format!("0x{byte:02x}")
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;

    use super::describe;

    #[test]
    fn each_failure_is_worded_without_the_crates_text() {
        let cases = [
            (STANDARD.decode("ab!d").unwrap_err(), "character '!' at offset 2"),
            (STANDARD.decode("abcde").unwrap_err(), "is 5 characters long"),
            (URL_SAFE_NO_PAD.decode("ab\u{1}").unwrap_err(), "0x01"),
            (URL_SAFE_NO_PAD.decode("ab").unwrap_err(), "has bits set"),
            (STANDARD.decode("ab").unwrap_err(), "padding"),
        ];
        for (e, want) in cases {
            let text = describe(&e);
            assert!(text.contains(want), "{e:?}: {text}");
            assert!(!text.contains("Invalid"), "{text}");
        }
    }
}
