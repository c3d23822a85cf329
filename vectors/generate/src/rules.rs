//! `rules/refusals.json`: every combination of subscription options the
//! core refuses, every bus limit it refuses, and the requests `respond`
//! refuses, each with the status and the message the core gives, taken
//! from the core itself.
//!
//! The C ABI and the bindings pass options through unchecked; their tests
//! run each case through their own API and expect exactly this status and
//! message, so that a rule re-checked (or re-worded) in a binding fails
//! them. Options are named neutrally (`capacity`, `max_bytes`, `ttl_ms`,
//! `idle_ttl_ms`, `dispatch`); each runner maps them to its own names.
//! Bus limits are named as [`BusLimits`]' fields; a limit not named keeps
//! its default.

use std::time::Duration;

use charter_core::bus::topic::{MAX_TOPIC_LEN, MAX_TOPIC_TOKENS};
use charter_core::bus::{Bus, BusLimits, Dispatch, SubscribeOptions};
use charter_core::Error;
use serde_json::{json, Map, Value};

/// One subscription: with a handler or pull, and the options set on it.
struct Subscribe {
    name: &'static str,
    handler: bool,
    options: Value,
}

fn cases() -> Vec<Subscribe> {
    let limits = BusLimits::default();
    let case = |name, handler, options| Subscribe { name, handler, options };
    vec![
        case("no capacity", false, json!({ "capacity": 0 })),
        case("no capacity, with a handler", true, json!({ "capacity": 0 })),
        case("no bytes", false, json!({ "max_bytes": 0 })),
        case("capacity over the bus limit", false, json!({ "capacity": limits.max_queue_messages + 1 })),
        case("bytes over the bus limit", false, json!({ "max_bytes": limits.max_queue_bytes + 1 })),
        case("a zero ttl", false, json!({ "ttl_ms": 0 })),
        case("a zero idle ttl", false, json!({ "idle_ttl_ms": 0 })),
        case("an idle ttl with a handler", true, json!({ "idle_ttl_ms": 1000 })),
        case("thread dispatch without a handler", false, json!({ "dispatch": "thread" })),
    ]
}

/// Bus limits the core refuses, each with the others at their defaults.
fn bus_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("a zero topic length", json!({ "max_topic_len": 0 })),
        ("a topic length over the grammar's", json!({ "max_topic_len": MAX_TOPIC_LEN + 1 })),
        ("no topic tokens", json!({ "max_topic_tokens": 0 })),
        ("topic tokens over the grammar's", json!({ "max_topic_tokens": MAX_TOPIC_TOKENS + 1 })),
        ("no subscriptions", json!({ "max_subscriptions": 0 })),
        ("no queue messages", json!({ "max_queue_messages": 0 })),
        ("no queue bytes", json!({ "max_queue_bytes": 0 })),
    ]
}

/// `limits` (as [`BusLimits`]' fields) over the defaults.
pub fn limits(limits: &Value) -> BusLimits {
    let mut core = BusLimits::default();
    for (name, value) in limits.as_object().expect("an object of limits") {
        let value = usize::try_from(value.as_u64().expect("a count")).expect("a count");
        let field = match name.as_str() {
            "max_subscriptions" => &mut core.max_subscriptions,
            "max_queue_messages" => &mut core.max_queue_messages,
            "max_queue_bytes" => &mut core.max_queue_bytes,
            "max_payload" => &mut core.max_payload,
            "max_topic_len" => &mut core.max_topic_len,
            "max_topic_tokens" => &mut core.max_topic_tokens,
            "max_headers" => &mut core.max_headers,
            "max_header_bytes" => &mut core.max_header_bytes,
            other => panic!("unknown bus limit {other}"),
        };
        *field = value;
    }
    core
}

/// What the core answers to making a bus with `limits`.
pub fn bus(limits: &Value) -> Result<(), Error> {
    Bus::new(self::limits(limits)).map(drop)
}

/// `options` (neutral names) as the core's options.
pub fn options(options: &Value) -> SubscribeOptions {
    let mut core = SubscribeOptions::new();
    let count = |name: &str| options[name].as_u64().map(|n| usize::try_from(n).expect("a count"));
    let millis = |name: &str| options[name].as_u64().map(Duration::from_millis);
    if let Some(n) = count("capacity") {
        core = core.capacity(n);
    }
    if let Some(n) = count("max_bytes") {
        core = core.max_bytes(n);
    }
    if let Some(ttl) = millis("ttl_ms") {
        core = core.ttl(ttl);
    }
    if let Some(idle) = millis("idle_ttl_ms") {
        core = core.idle_ttl(idle);
    }
    match options["dispatch"].as_str() {
        None | Some("inline") => {}
        Some("thread") => core = core.dispatch(Dispatch::Thread),
        Some(other) => panic!("unknown dispatch {other}"),
    }
    core
}

/// What the core answers to subscribing on a bus with default limits.
pub fn subscribe(handler: bool, options: &Value) -> Result<(), Error> {
    let bus = Bus::new(BusLimits::default()).expect("default limits");
    let options = self::options(options);
    let made = if handler {
        bus.subscribe_with("rules", options, |_| Ok(()))
    } else {
        bus.subscribe("rules", options)
    };
    made.map(drop)
}

fn refusal(error: &Error) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("status".into(), error.kind().name().into());
    fields.insert("message".into(), error.message().into());
    fields
}

pub(crate) fn vectors() -> Value {
    let subscribe = cases()
        .into_iter()
        .map(|case| {
            let error = self::subscribe(case.handler, &case.options).expect_err(case.name);
            let mut fields = Map::new();
            fields.insert("name".into(), case.name.into());
            fields.insert("handler".into(), case.handler.into());
            fields.insert("options".into(), case.options);
            fields.extend(refusal(&error));
            Value::Object(fields)
        })
        .collect::<Vec<_>>();
    let bus_limits = bus_cases()
        .into_iter()
        .map(|(name, limits)| {
            let error = self::bus(&limits).expect_err(name);
            let mut fields = refusal(&error);
            fields.insert("name".into(), name.into());
            fields.insert("limits".into(), limits);
            Value::Object(fields)
        })
        .collect::<Vec<_>>();
    // A message published without a reply inbox, answered.
    let bus = Bus::new(BusLimits::default()).expect("default limits");
    let error = bus.reply("", &b""[..], &[]).expect_err("no inbox");
    let mut respond = refusal(&error);
    respond.insert("name".into(), "a message that is not a request".into());
    let mut body = Map::new();
    body.insert("subscribe".into(), subscribe.into());
    body.insert("bus".into(), bus_limits.into());
    body.insert("respond".into(), vec![Value::Object(respond)].into());
    crate::file(
        "Every subscription option combination the core refuses (a bus with default limits, \
         handler or pull, neutral option names), every bus limit it refuses (named as the core's \
         BusLimits fields, the others at their defaults), and respond to a message with no reply inbox: \
         the status and the exact message each binding must raise, decided by the core alone.",
        body,
    )
}
