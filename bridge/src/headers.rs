//! Mapping headers between the local bus and NATS.
//!
//! NATS headers are text lines: a name of printable ASCII without `:`, and
//! a value without CR or LF whose surrounding whitespace the client trims
//! on receipt. Values are therefore trimmed before they are sealed, so a
//! proof covers what a receiver gets; a name or value NATS cannot carry at
//! all drops the message (counted as `bad_header`).

use async_nats::header::{HeaderName, HeaderValue};
use async_nats::HeaderMap;

/// At most how many headers the bridge adds to an imported message's list
/// (via, origin and principal; a durable import's stream sequence and
/// delivery count).
pub(crate) const LOCAL_EXTRA: usize = 5;

/// Whether `name` is the bridge's own (`Charter-…`): never taken from a
/// local publisher, always set by the bridge itself.
pub(crate) fn is_reserved(name: &str) -> bool {
    name.starts_with("Charter-")
}

/// A message's application headers as NATS will deliver them: reserved
/// names dropped (but the principal a verifying bridge proved, which a
/// relay passes on and every importing bridge replaces), values trimmed.
/// `None` when one cannot be carried.
pub(crate) fn outbound<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<Vec<(&'a str, &'a str)>> {
    headers
        .filter(|(name, _)| !is_reserved(name) || *name == crate::wire::PRINCIPAL)
        .map(|(name, value)| {
            let value = value.trim();
            let fits = !name.is_empty()
                && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
                && !value.contains(['\r', '\n']);
            fits.then_some((name, value))
        })
        .collect()
}

/// The NATS headers of an outgoing message, built straight into the
/// client's map (no intermediate list), with the bytes they will take on
/// the wire counted as they are added, for the max payload check.
pub(crate) struct Outgoing {
    map: HeaderMap,
    wire_bytes: usize,
}

/// The bridge's own header names, known valid: built without parsing or
/// copying (`from_static`), unlike a name taken from a local publisher.
pub(crate) mod names {
    use async_nats::header::HeaderName;

    use crate::wire;

    pub(crate) const ORIGIN: HeaderName = HeaderName::from_static(wire::ORIGIN);
    pub(crate) const SEQ: HeaderName = HeaderName::from_static(wire::SEQ);
    pub(crate) const TIME: HeaderName = HeaderName::from_static(wire::TIME);
    pub(crate) const TOKEN: HeaderName = HeaderName::from_static(wire::TOKEN);
    pub(crate) const PROOF: HeaderName = HeaderName::from_static(wire::PROOF);
    pub(crate) const BATCH: HeaderName = HeaderName::from_static(wire::BATCH);
    pub(crate) const MSG_ID: HeaderName = HeaderName::from_static(wire::MSG_ID);
}

impl Outgoing {
    /// The headers of a message with none yet.
    pub(crate) fn new() -> Self {
        Outgoing { map: HeaderMap::new(), wire_bytes: 0 }
    }

    /// Adds an application header; `None` when NATS cannot carry it.
    pub(crate) fn app(&mut self, name: &str, value: &str) -> Option<()> {
        let parsed: HeaderName = name.parse().ok()?;
        let value: HeaderValue = value.parse().ok()?;
        self.wire_bytes += name.len() + value.as_str().len() + ": \r\n".len();
        self.map.append(parsed, value);
        Some(())
    }

    /// Adds one of the bridge's own headers (`name` from [`names`]), whose
    /// value the bridge wrote itself: digits, hex, base64url or a token's
    /// text form, never a line break.
    pub(crate) fn own(&mut self, name: HeaderName, value: String) {
        self.wire_bytes += AsRef::<str>::as_ref(&name).len() + value.len() + ": \r\n".len();
        self.map.append(name, HeaderValue::from(value));
    }

    /// How many bytes the headers take in the message, as the server
    /// counts them against its max payload: none when there are none (the
    /// client then sends a plain `PUB`, without even the version line).
    pub(crate) fn wire_bytes(&self) -> usize {
        if self.map.is_empty() {
            0
        } else {
            "NATS/1.0\r\n\r\n".len() + self.wire_bytes
        }
    }

    /// The map to publish.
    pub(crate) fn into_map(self) -> HeaderMap {
        self.map
    }
}

/// Every header of a NATS message, borrowed from it, with room for the
/// headers the bridge adds before publishing it locally (so that list is
/// built in place, without growing).
pub(crate) fn from_map(map: Option<&HeaderMap>) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    from_map_into(map, &mut out);
    out
}

/// [`from_map`] into `out`, which is emptied first.
pub(crate) fn from_map_into<'a>(map: Option<&'a HeaderMap>, out: &mut Vec<(&'a str, &'a str)>) {
    out.clear();
    let Some(map) = map else { return out.reserve(LOCAL_EXTRA) };
    out.reserve(map.len() + LOCAL_EXTRA);
    for (name, values) in map.iter() {
        let name: &str = name.as_ref();
        out.extend(values.iter().map(|v| (name, v.as_str())));
    }
}

/// The allocation of an import's header list, kept from one message to the
/// next: each message's list borrows from that message, so the list itself
/// cannot outlive it, but its buffer can.
#[derive(Default)]
pub(crate) struct ListBuffer(Vec<(&'static str, &'static str)>);

impl ListBuffer {
    /// The kept buffer as an empty list (its capacity kept: a `Vec`'s
    /// `IntoIter` collected into elements of the same size reuses it).
    pub(crate) fn take<'a>(&mut self) -> Vec<(&'a str, &'a str)> {
        let mut kept = std::mem::take(&mut self.0);
        kept.clear();
        kept.into_iter().map(|_| ("", "")).collect()
    }

    /// Keeps `list`'s buffer for the next message.
    pub(crate) fn keep(&mut self, mut list: Vec<(&str, &str)>) {
        list.clear();
        self.0 = list.into_iter().map(|_| ("", "")).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_headers_count_the_bytes_the_client_writes() {
        let mut headers = Outgoing::new();
        headers.app("Trace", "a b").unwrap();
        headers.own(names::ORIGIN, "0f".into());
        headers.own(names::MSG_ID, "0f-1".into());
        // NATS/1.0, then "name: value" lines (in any order), then a blank line.
        let written = "NATS/1.0\r\nTrace: a b\r\nCharter-Origin: 0f\r\nNats-Msg-Id: 0f-1\r\n\r\n";
        assert_eq!(headers.wire_bytes(), written.len());
        assert!(headers.app("Bad:name", "x").is_none());
        assert!(headers.app("Name", "a\r\nb").is_none());
        assert_eq!(headers.into_map().len(), 3);
        assert_eq!(Outgoing::new().wire_bytes(), 0, "no header: a plain PUB");
    }

    #[test]
    fn a_kept_list_buffer_is_reused_empty() {
        let mut buffer = ListBuffer::default();
        let mut map = HeaderMap::new();
        map.append("A", "1");
        let mut list = buffer.take();
        from_map_into(Some(&map), &mut list);
        assert_eq!(list, [("A", "1")]);
        let (capacity, at) = (list.capacity(), list.as_ptr() as usize);
        buffer.keep(list);
        let again = buffer.take();
        assert!(again.is_empty());
        assert_eq!((again.capacity(), again.as_ptr() as usize), (capacity, at));
        let mut list = again;
        from_map_into(None, &mut list);
        assert!(list.is_empty() && list.capacity() >= LOCAL_EXTRA);
    }
}
