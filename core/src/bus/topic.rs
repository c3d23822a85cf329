//! Topics and patterns: validation, matching and containment (NATS rules).
//!
//! A topic is one or more tokens separated by `.`. A token is non-empty
//! UTF-8 without whitespace or control characters, and without `.`, `*` or
//! `>`. A pattern may also use `*` (exactly one token) and, as its last
//! token only, `>` (one or more tokens). Topics whose first token is
//! `_charter` are reserved for the library (reply inboxes, internal events):
//! programs can neither publish nor subscribe to them, and a pattern that
//! starts with a wildcard never matches them, so `>` cannot overhear
//! replies meant for somebody else.

use crate::{quote, Error, ErrorKind, Result};

/// The longest topic or pattern, in bytes, any bus accepts.
pub const MAX_TOPIC_LEN: usize = 256;
/// The most tokens a topic or pattern may have on any bus.
pub const MAX_TOPIC_TOKENS: usize = 16;
/// The first token of topics reserved for the library.
pub const RESERVED_TOKEN: &str = "_charter";

/// Whether `s` is a valid topic under the default limits.
pub fn validate_topic(s: &str) -> Result<()> {
    check(s, Kind::Topic, MAX_TOPIC_LEN, MAX_TOPIC_TOKENS).map(drop)
}

/// Whether `s` is a valid pattern under the default limits.
pub fn validate_pattern(s: &str) -> Result<()> {
    check(s, Kind::Pattern, MAX_TOPIC_LEN, MAX_TOPIC_TOKENS).map(drop)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Topic,
    Pattern,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Topic => "topic",
            Kind::Pattern => "pattern",
        }
    }
}

/// The tokens of a checked topic or pattern: the string and where each
/// token ends, small enough to pass around by value.
pub(crate) struct Tokens<'a> {
    src: &'a str,
    ends: [u16; MAX_TOPIC_TOKENS],
    len: usize,
}

impl<'a> Tokens<'a> {
    fn new(src: &'a str) -> Tokens<'a> {
        Tokens { src, ends: [0; MAX_TOPIC_TOKENS], len: 0 }
    }

    /// Records a token that ends at byte `end` (topics are at most 256
    /// bytes, so the offset fits).
    fn push(&mut self, end: usize) {
        self.ends[self.len] = end as u16;
        self.len += 1;
    }

    /// Token `i` (`i < len`).
    pub(crate) fn get(&self, i: usize) -> &'a str {
        let start = if i == 0 { 0 } else { usize::from(self.ends[i - 1]) + 1 };
        &self.src[start..usize::from(self.ends[i])]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    /// The tokens as a slice, laid out in `buf`.
    pub(crate) fn split<'b>(&self, buf: &'b mut [&'a str; MAX_TOPIC_TOKENS]) -> &'b [&'a str] {
        for (slot, token) in buf.iter_mut().zip(self.iter()) {
            *slot = token;
        }
        &buf[..self.len]
    }
}

/// Checks `s` as a topic or a pattern within `max_len` bytes and
/// `max_tokens` tokens, and splits it. The error says which rule was broken.
///
/// ASCII input (nearly every topic) is checked in one pass over its bytes;
/// anything else takes the Unicode-aware path, which gives the same answers.
pub(crate) fn check(s: &str, kind: Kind, max_len: usize, max_tokens: usize) -> Result<Tokens<'_>> {
    if s.is_empty() {
        return Err(invalid(format!("{} is empty", kind.noun())));
    }
    if s.len() > max_len {
        return Err(invalid(format!("{} is {} bytes long; the limit is {max_len}", kind.noun(), s.len())));
    }
    if s.is_ascii() {
        if let Some(tokens) = check_ascii(s, kind, max_tokens) {
            return Ok(tokens);
        }
    }
    check_slowly(s, kind, max_tokens)
}

/// ASCII byte classes: 0 ordinary, 1 separator, 2 wildcard, 3 forbidden
/// (whitespace and control characters).
const CLASS: [u8; 128] = {
    let mut class = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        class[b] = match b as u8 {
            b'.' => 1,
            b'*' | b'>' => 2,
            0..=0x20 | 0x7f => 3,
            _ => 0,
        };
        b += 1;
    }
    class
};

/// The fast path: `Some` when `s` is valid, `None` to let the slow path
/// find and name the problem.
fn check_ascii(s: &str, kind: Kind, max_tokens: usize) -> Option<Tokens<'_>> {
    let bytes = s.as_bytes();
    let mut tokens = Tokens::new(s);
    let mut start = 0;
    let mut wildcards = 0usize;
    for i in 0..=bytes.len() {
        let class = if i == bytes.len() { 1 } else { CLASS[bytes[i] as usize] };
        match class {
            0 => {}
            2 => wildcards += 1,
            3 => return None,
            _ => {
                let token = &s[start..i];
                if token.is_empty() || tokens.len == max_tokens.min(MAX_TOPIC_TOKENS) {
                    return None;
                }
                if wildcards > 0 {
                    let last = i == bytes.len();
                    let ok = kind == Kind::Pattern && (token == "*" || (token == ">" && last));
                    if !ok {
                        return None;
                    }
                    wildcards = 0;
                }
                tokens.push(i);
                start = i + 1;
            }
        }
    }
    Some(tokens)
}

fn invalid(why: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, why)
}

fn check_slowly(s: &str, kind: Kind, max_tokens: usize) -> Result<Tokens<'_>> {
    let noun = kind.noun();
    let mut tokens = Tokens::new(s);
    let count = s.split('.').count();
    if count > max_tokens {
        return Err(invalid(format!("{noun} {} has {count} tokens; the limit is {max_tokens}", quote(s))));
    }
    let mut end = 0;
    for (i, token) in s.split('.').enumerate() {
        let position = i + 1;
        end += token.len() + usize::from(i > 0);
        if token.is_empty() {
            return Err(invalid(format!("{noun} {} has an empty token at position {position}", quote(s))));
        }
        match token {
            "*" | ">" if kind == Kind::Topic => {
                return Err(invalid(format!(
                    "topic {} contains the wildcard {token:?}; only patterns may",
                    quote(s)
                )));
            }
            ">" if position != count => {
                return Err(invalid(format!(
                    "pattern {} has '>' at position {position}; it may only be the last token",
                    quote(s)
                )));
            }
            "*" | ">" => {}
            _ => {
                if let Some(c) = token.chars().find(|&c| c.is_whitespace() || c.is_control()) {
                    return Err(invalid(format!(
                        "token {position} of {noun} {} contains the character {c:?}",
                        quote(s)
                    )));
                }
                if token.contains(['*', '>']) {
                    return Err(invalid(format!(
                        "token {position} of {noun} {} mixes a wildcard with other characters",
                        quote(s)
                    )));
                }
            }
        }
        tokens.push(end);
    }
    Ok(tokens)
}

/// Whether `topic` starts with the reserved token.
#[inline]
pub(crate) fn is_reserved(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.starts_with(RESERVED_TOKEN.as_bytes()) && bytes.get(RESERVED_TOKEN.len()).is_none_or(|&b| b == b'.')
}

/// The tokens of a string, by a plain scan for `.`: cheaper than
/// `str::split` on the short tokens topics are made of.
struct Scan<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Scan<'a> {
    fn new(s: &'a str) -> Scan<'a> {
        Scan { rest: Some(s.as_bytes()) }
    }
}

impl<'a> Iterator for Scan<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match rest.iter().position(|&b| b == b'.') {
            Some(at) => {
                self.rest = Some(&rest[at + 1..]);
                Some(&rest[..at])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Whether the valid pattern `pattern` matches the valid topic `topic`.
///
/// This is the reference matcher: the bus uses a trie, and property tests
/// check that the two agree.
pub fn matches(pattern: &str, topic: &str) -> bool {
    if pattern.starts_with(['*', '>']) && is_reserved(topic) {
        return false;
    }
    let mut p = Scan::new(pattern);
    let mut t = Scan::new(topic);
    loop {
        match (p.next(), t.next()) {
            (Some(b">"), Some(_)) => return true,
            (Some(b"*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether every topic matched by the valid pattern `inner` is also
/// matched by the valid pattern `outer`. A delegated grant must be contained
/// in the grant it comes from.
pub fn contains(inner: &str, outer: &str) -> bool {
    if outer.starts_with(['*', '>']) && is_reserved(inner) {
        return false;
    }
    let mut a = Scan::new(inner);
    let mut b = Scan::new(outer);
    loop {
        match (a.next(), b.next()) {
            (Some(_), Some(b">")) => return true,
            (Some(b">"), _) => return false,
            (Some(_), Some(b"*")) => {}
            (Some(b"*"), Some(_)) => return false,
            (Some(x), Some(y)) if x == y => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// [`matches`] for input nobody has checked yet: `INVALID_ARGUMENT` when
/// `pattern` is not a valid pattern or `topic` not a valid topic (the
/// pattern is checked first; the message's noun says which one it was),
/// else whether the one matches the other. Bindings and the C ABI answer
/// through this, so the order of the checks and their wording live here.
pub fn matches_checked(pattern: &str, topic: &str) -> Result<bool> {
    validate_pattern(pattern)?;
    validate_topic(topic)?;
    Ok(matches(pattern, topic))
}

/// [`contains`] for input nobody has checked yet: `INVALID_ARGUMENT` when
/// either is not a valid pattern, its message led by the argument's name
/// (`inner: ` or `outer: `), as both are patterns; else whether `inner`
/// is contained in `outer`.
pub fn contains_checked(inner: &str, outer: &str) -> Result<bool> {
    let argument = |name: &str, pattern: &str| {
        validate_pattern(pattern).map_err(|e| Error::new(e.kind(), format!("{name}: {}", e.message())))
    };
    argument("inner", inner)?;
    argument("outer", outer)?;
    Ok(contains(inner, outer))
}

impl Tokens<'_> {
    /// Whether the first token is the reserved one.
    pub(crate) fn is_reserved(&self) -> bool {
        self.len > 0 && self.get(0) == RESERVED_TOKEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: Result<()>) -> String {
        r.unwrap_err().message().to_owned()
    }

    #[test]
    fn valid_topics_and_patterns() {
        for t in ["a", "orders.eu.created", "ünïcødé.✓", "a-b_c.d:e", "_charterx.y"] {
            validate_topic(t).unwrap();
            validate_pattern(t).unwrap();
        }
        for p in ["*", ">", "a.*", "a.>", "*.b.>", "*.*"] {
            validate_pattern(p).unwrap();
        }
    }

    #[test]
    fn each_rule_has_its_own_message() {
        assert_eq!(reason(validate_topic("")), "topic is empty");
        assert!(reason(validate_topic(&"a".repeat(257))).contains("257 bytes long; the limit is 256"));
        assert!(reason(validate_topic(&["a"; 17].join("."))).contains("17 tokens; the limit is 16"));
        assert!(reason(validate_topic("a..b")).contains("empty token at position 2"));
        assert!(reason(validate_topic("a.")).contains("empty token at position 2"));
        assert!(reason(validate_topic("a.*")).contains("contains the wildcard \"*\""));
        assert!(reason(validate_pattern("a.>.b")).contains("'>' at position 2"));
        assert!(reason(validate_topic("a b")).contains("contains the character ' '"));
        assert!(reason(validate_topic("a\tb")).contains("'\\t'"));
        assert!(reason(validate_topic("a\u{0}b")).contains("'\\0'"));
        assert!(reason(validate_pattern("a*.b")).contains("mixes a wildcard"));
        assert!(reason(validate_topic("a.b>")).contains("mixes a wildcard"));
        validate_topic(&"a".repeat(256)).unwrap();
        validate_topic(&["a"; 16].join(".")).unwrap();
    }

    #[test]
    fn the_fast_path_agrees_with_the_slow_one() {
        let samples = [
            "a",
            "a.b",
            "a..b",
            ".a",
            "a.",
            "*",
            ">",
            "a.*",
            "a.>",
            "a.>.b",
            "a*",
            "*a",
            "a.b>",
            "a b",
            "a\tb",
            "a\u{7f}",
            "_charter.x",
            "x.y.z.w",
            "**",
            ">>",
            "*.>",
            ">.*",
        ];
        for s in samples {
            for kind in [Kind::Topic, Kind::Pattern] {
                let fast = check_ascii(s, kind, 3).map(|t| t.iter().collect::<Vec<_>>());
                let slow = check_slowly(s, kind, 3).ok().map(|t| t.iter().collect::<Vec<_>>());
                assert_eq!(fast, slow, "{s:?} as {}", kind.noun());
            }
        }
    }

    #[test]
    fn matching_follows_nats() {
        assert!(matches("orders.>", "orders.eu"));
        assert!(matches("orders.>", "orders.eu.created"));
        assert!(!matches("orders.>", "orders"));
        assert!(matches("orders.*", "orders.eu"));
        assert!(!matches("orders.*", "orders.eu.created"));
        assert!(matches("*.eu.*", "orders.eu.created"));
        assert!(matches(">", "a"));
        assert!(!matches("a.b", "a"));
        assert!(!matches("a", "a.b"));
        assert!(!matches(">", "_charter.inbox.1"), "wildcards never overhear reserved topics");
        assert!(!matches("*.inbox.1", "_charter.inbox.1"));
        assert!(matches("_charter.inbox.*", "_charter.inbox.1"));
    }

    #[test]
    fn containment() {
        assert!(contains("orders.eu.created", "orders.*.created"));
        assert!(contains("orders.*.created", "orders.>"));
        assert!(contains("orders.>", "orders.>"));
        assert!(contains("orders.>", ">"));
        assert!(!contains("orders.>", "orders.*"));
        assert!(!contains("orders.*", "orders.eu"));
        assert!(!contains(">", "*"));
        assert!(contains("*.*", ">"));
        assert!(!contains("_charter.x", ">"));
    }

    #[test]
    fn checked_matching_refuses_each_bad_argument_by_name() {
        assert_eq!(matches_checked("orders.*", "orders.eu"), Ok(true));
        assert_eq!(matches_checked(">", "_charter.inbox.1"), Ok(false));
        let bad_pattern = matches_checked("a.>.b", "a.x.b").unwrap_err();
        assert_eq!(bad_pattern.kind(), ErrorKind::InvalidArgument);
        assert!(bad_pattern.message().starts_with("pattern \"a.>.b\""), "{bad_pattern}");
        let bad_topic = matches_checked("a.*", "a.*").unwrap_err();
        assert_eq!(bad_topic.kind(), ErrorKind::InvalidArgument);
        assert!(bad_topic.message().starts_with("topic \"a.*\" contains the wildcard"), "{bad_topic}");
        assert_eq!(
            reason(matches_checked("", "").map(drop)),
            "pattern is empty",
            "the pattern is checked first"
        );
        assert_eq!(reason(matches_checked("a", "").map(drop)), "topic is empty");
    }

    #[test]
    fn checked_containment_names_the_argument_that_is_wrong() {
        assert_eq!(contains_checked("a.*", "a.>"), Ok(true));
        assert_eq!(contains_checked("a.>", "a.*"), Ok(false));
        let inner = contains_checked("", "a").unwrap_err();
        assert_eq!(inner.kind(), ErrorKind::InvalidArgument);
        assert_eq!(inner.message(), "inner: pattern is empty");
        let outer = contains_checked("a.>", ">.a").unwrap_err();
        assert_eq!(outer.kind(), ErrorKind::InvalidArgument);
        assert!(outer.message().starts_with("outer: pattern \">.a\" has '>' at position 1"), "{outer}");
        assert!(
            reason(contains_checked("a..b", "a..b").map(drop)).starts_with("inner: "),
            "inner is checked first"
        );
        assert!(reason(contains_checked("a", "a b").map(drop)).contains("contains the character ' '"));
    }
}
