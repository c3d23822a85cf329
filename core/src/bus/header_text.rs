//! A message's headers as one shared text: `name:value\n` for each header,
//! in order. The header rules make this unambiguous: a name has no `:`
//! and no control character, a value no control character but tab, so
//! neither holds a line break and the first `:` of a line ends its name.
//! One text instead of a string per name and value takes one allocation
//! per message whatever the number of headers (the bridge's imports carry
//! three or more on every message): it is written in a scratch text kept
//! by each thread, then copied into its shared `Arc<str>`.

use std::cell::RefCell;
use std::sync::Arc;

use super::options::BusLimits;
use super::Headers;
use crate::{quote, Error, ErrorKind, Result};

thread_local! {
    /// Each thread's text under construction, kept from one message to the
    /// next: the checked text is copied once into the message's shared
    /// `Arc<str>`, one allocation per message instead of two (a `String`,
    /// then the `Arc` it is copied into).
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The largest scratch text a thread keeps: a rare message with larger
/// headers does not pin their size for the thread's lifetime.
const KEPT_SCRATCH: usize = 4096;

/// Validated headers, shared by every subscriber of a message.
#[derive(Clone)]
pub(crate) struct HeaderText {
    text: Arc<str>,
    count: usize,
}

impl HeaderText {
    /// Checks `headers` against the bus's rules and limits; `None` for no
    /// headers.
    pub(crate) fn build(headers: Headers<'_>, limits: &BusLimits) -> Result<Option<HeaderText>> {
        if headers.is_empty() {
            return Ok(None);
        }
        if headers.len() > limits.max_headers {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("{} headers; the bus limit is {}", headers.len(), limits.max_headers),
            ));
        }
        let bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        if bytes > limits.max_header_bytes {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("headers take {bytes} bytes; the bus limit is {}", limits.max_header_bytes),
            ));
        }
        let size = bytes + 2 * headers.len();
        let text = SCRATCH
            .try_with(|scratch| match scratch.try_borrow_mut() {
                Ok(mut text) => {
                    text.clear();
                    text.reserve(size);
                    write(&mut text, headers)?;
                    let shared = Arc::from(text.as_str());
                    if text.capacity() > KEPT_SCRATCH {
                        *text = String::new();
                    }
                    Ok(shared)
                }
                Err(_) => fresh(headers, size),
            })
            .unwrap_or_else(|_| fresh(headers, size))?;
        Ok(Some(HeaderText { text, count: headers.len() }))
    }

    /// The headers in order (none for `None`).
    pub(crate) fn iter(headers: Option<&HeaderText>) -> Iter<'_> {
        match headers {
            Some(h) => Iter { rest: &h.text, left: h.count },
            None => Iter { rest: "", left: 0 },
        }
    }

    /// The bytes of every name and value, as a queue's byte limit counts.
    pub(crate) fn bytes(&self) -> usize {
        self.text.len() - 2 * self.count
    }
}

/// Checks each header and appends it to `text` as a line.
fn write(text: &mut String, headers: Headers<'_>) -> Result<()> {
    for (name, value) in headers {
        if !name_is_valid(name) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("header name {} is empty or has whitespace, control characters or ':'", quote(name)),
            ));
        }
        if !value_is_valid(value) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("the value of header {} has control characters", quote(name)),
            ));
        }
        text.push_str(name);
        text.push(':');
        text.push_str(value);
        text.push('\n');
    }
    Ok(())
}

/// The text in a `String` of its own, then shared: two allocations, for a
/// thread whose scratch text is gone (it is ending) or in use.
fn fresh(headers: Headers<'_>, size: usize) -> Result<Arc<str>> {
    let mut text = String::with_capacity(size);
    write(&mut text, headers)?;
    Ok(text.into())
}

/// The headers of a message, read from its text.
pub(crate) struct Iter<'a> {
    rest: &'a str,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (line, rest) = self.rest.split_once('\n').unwrap_or((self.rest, ""));
        self.rest = rest;
        Some(line.split_once(':').unwrap_or((line, "")))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// A name is not empty and has no whitespace, control character or `:`
/// (Unicode's definitions). ASCII, the common case, is judged on bytes:
/// there every whitespace and control character is at or below space, or
/// DEL. The first pass, over every byte without stopping early (so the
/// compiler checks many bytes at once), accepts a printable ASCII name;
/// only a name it does not accept is looked at again.
fn name_is_valid(name: &str) -> bool {
    let printable = name.bytes().fold(true, |ok, b| ok & (b > b' ' && b < 0x7f && b != b':'));
    if printable || name.is_ascii() {
        return printable && !name.is_empty();
    }
    !name.chars().any(|c| c.is_whitespace() || c.is_control() || c == ':')
}

/// A value has no control character but tab (Unicode's definition), judged
/// on bytes when it is ASCII, in one pass as a name is.
fn value_is_valid(value: &str) -> bool {
    let printable = value.bytes().fold(true, |ok, b| ok & ((b' '..0x7f).contains(&b) || b == b'\t'));
    if printable || value.is_ascii() {
        return printable;
    }
    !value.chars().any(|c| c.is_control() && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule as it is written, on `char`s, for every case.
    fn name_by_chars(name: &str) -> bool {
        !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control() || c == ':')
    }

    fn value_by_chars(value: &str) -> bool {
        !value.chars().any(|c| c.is_control() && c != '\t')
    }

    #[test]
    fn the_byte_checks_judge_as_the_rule_on_chars_does() {
        let mut cases: Vec<String> = (0u32..0x3100).filter_map(char::from_u32).map(String::from).collect();
        cases.extend(
            ["", "a b", "a:b", "trace", "naïve", "a\u{85}", "a\u{a0}", "x\u{2028}", "tab\there"]
                .map(String::from),
        );
        for case in &cases {
            let padded = format!("k{case}v");
            for text in [case.as_str(), padded.as_str()] {
                assert_eq!(name_is_valid(text), name_by_chars(text), "name {text:?}");
                assert_eq!(value_is_valid(text), value_by_chars(text), "value {text:?}");
            }
        }
    }

    #[test]
    fn headers_read_back_in_order_with_their_sizes() {
        let limits = BusLimits::default();
        let given = [("a", "1"), ("b", "x:y z"), ("a", ""), ("é", "\tü")];
        let text = HeaderText::build(&given, &limits).unwrap().unwrap();
        let read: Vec<_> = HeaderText::iter(Some(&text)).collect();
        assert_eq!(read, given);
        assert_eq!(HeaderText::iter(Some(&text)).len(), 4);
        assert_eq!(text.bytes(), given.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>());
        assert!(HeaderText::build(&[], &limits).unwrap().is_none());
        assert_eq!(HeaderText::iter(None).len(), 0);
    }

    #[test]
    fn a_thread_s_scratch_text_leaves_nothing_behind() {
        let limits = BusLimits { max_header_bytes: 1 << 20, ..BusLimits::default() };
        let large = "v".repeat(2 * KEPT_SCRATCH);
        let refused = [("a", "1"), ("b", "bad\n")];
        assert!(HeaderText::build(&refused, &limits).is_err());
        let first = HeaderText::build(&[("f", "1")], &limits).unwrap().unwrap();
        for given in [&[("c", "3")][..], &[("big", large.as_str())], &[("d", "4"), ("e", "")]] {
            let text = HeaderText::build(given, &limits).unwrap().unwrap();
            assert_eq!(HeaderText::iter(Some(&text)).collect::<Vec<_>>(), given);
        }
        assert_eq!(HeaderText::iter(Some(&first)).collect::<Vec<_>>(), [("f", "1")]);
        SCRATCH.with(|scratch| assert!(scratch.borrow().capacity() <= KEPT_SCRATCH));
    }
}
