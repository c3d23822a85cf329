//! `topics.json`: topic and pattern validity, matching and containment,
//! as the core decides them (the reference matcher, which the bus's trie
//! is property-tested against).

use charter_core::bus::topic::{contains, matches, validate_pattern, validate_topic, MAX_TOPIC_LEN};
use serde_json::{json, Map, Value};

/// Strings at and around every rule: tokens, wildcards, separators,
/// whitespace and control characters, UTF-8, the reserved space, and the
/// length and depth limits.
fn texts() -> Vec<String> {
    let fixed = [
        "a",
        "orders",
        "orders.eu.created",
        "orders.*.created",
        "orders.>",
        ">",
        "*",
        "*.*",
        "*.>",
        "orders.*",
        "orders.eu.>",
        "a.b.c.d",
        "_charter.inbox.1",
        "_charter.>",
        "_charter",
        "charter._x",
        "",
        ".",
        "..",
        "a.",
        ".a",
        "a..b",
        "a.b.",
        "a b",
        "a\tb",
        "a\nb",
        "a\u{7f}b",
        "a\u{0}b",
        "a*",
        "*a",
        "a.*b",
        "a.b*",
        ">.a",
        "a.>.b",
        "a>",
        ">a",
        "a.>>",
        "**",
        "a.**",
        "orders.*.>",
        "*.*.*",
        "ünïcödé.topic",
        "日本.東京",
        "emoji.😀",
        "a\u{a0}b",
        "a\u{2028}b",
        "UPPER.lower",
        "dash-ed.under_score",
        "1.2.3",
        "a-b.c_d.e~f",
        "a/b.c",
        "tab\t",
        " lead",
        "trail ",
    ];
    let mut texts: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    let deep = |n: usize| vec!["t"; n].join(".");
    texts.extend([deep(15), deep(16), deep(17)]);
    texts.push(format!("{}.>", vec!["t"; 15].join(".")));
    texts.push(format!("{}.>", vec!["t"; 16].join(".")));
    let long = |n: usize| "x".repeat(n);
    texts.extend([long(MAX_TOPIC_LEN - 1), long(MAX_TOPIC_LEN), long(MAX_TOPIC_LEN + 1)]);
    texts.push(format!("{}.y", "x".repeat(MAX_TOPIC_LEN - 2)));
    texts.push(format!("{}.y", "x".repeat(MAX_TOPIC_LEN - 1)));
    texts
}

fn validity() -> Vec<Value> {
    texts()
        .into_iter()
        .map(|text| {
            json!({
                "text": text,
                "valid_topic": validate_topic(&text).is_ok(),
                "valid_pattern": validate_pattern(&text).is_ok(),
            })
        })
        .collect()
}

const PATTERNS: [&str; 16] = [
    "orders.eu.created",
    "orders.*.created",
    "orders.>",
    "orders.*",
    "*.eu.*",
    "*.*.*",
    ">",
    "*",
    "*.>",
    "orders.eu.>",
    "orders.*.>",
    "payments.>",
    "_charter.>",
    "_charter.inbox.*",
    "a.b.c.d.e",
    "*.b.>",
];

const TOPICS: [&str; 14] = [
    "orders.eu.created",
    "orders.us.created",
    "orders.eu.deleted",
    "orders.eu",
    "orders",
    "orders.eu.created.v2",
    "payments.card.captured",
    "payments",
    "_charter.inbox.ab12",
    "_charter.x",
    "a.b.c.d.e",
    "a.b",
    "x.b.c",
    "other",
];

fn matching() -> Vec<Value> {
    let mut cases = Vec::new();
    for pattern in PATTERNS {
        for topic in TOPICS {
            cases.push(json!({ "pattern": pattern, "topic": topic, "matches": matches(pattern, topic) }));
        }
    }
    cases
}

fn containment() -> Vec<Value> {
    let mut cases = Vec::new();
    for inner in PATTERNS {
        for outer in PATTERNS {
            cases.push(json!({ "inner": inner, "outer": outer, "contained": contains(inner, outer) }));
        }
    }
    cases
}

pub(crate) fn vectors() -> Value {
    let mut body = Map::new();
    body.insert("max_topic_bytes".into(), MAX_TOPIC_LEN.into());
    body.insert("validity".into(), validity().into());
    body.insert("matching".into(), matching().into());
    body.insert("containment".into(), containment().into());
    crate::file(
        "Topic and pattern validity under the default limits (invalid is CHARTER_E_INVALID_ARGUMENT), \
         pattern-topic matching, and pattern containment (every topic `inner` matches, `outer` matches too).",
        body,
    )
}
