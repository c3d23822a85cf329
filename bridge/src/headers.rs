//! Mapping headers between the local bus and NATS.
//!
//! NATS headers are text lines: a name of printable ASCII without `:`, and
//! a value without CR or LF whose surrounding whitespace the client trims
//! on receipt. Values are therefore trimmed before they are sealed, so a
//! proof covers what a receiver gets; a name or value NATS cannot carry at
//! all drops the message (counted as `bad_header`).

use async_nats::header::{HeaderName, HeaderValue};
use async_nats::HeaderMap;

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

/// A NATS header map holding `headers`, in order.
pub(crate) fn to_map(headers: &[(&str, &str)]) -> Option<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name: HeaderName = name.parse().ok()?;
        let value: HeaderValue = value.parse().ok()?;
        map.append(name, value);
    }
    Some(map)
}

/// Every header of a NATS message, borrowed from it.
pub(crate) fn from_map(map: Option<&HeaderMap>) -> Vec<(&str, &str)> {
    let Some(map) = map else { return Vec::new() };
    let mut out = Vec::with_capacity(map.len());
    for (name, values) in map.iter() {
        let name: &str = name.as_ref();
        out.extend(values.iter().map(|v| (name, v.as_str())));
    }
    out
}
