//! Property tests: the bus's trie agrees with the reference matcher, and
//! pattern containment agrees with brute force over a finite universe.

use charter_core::bus::topic::{contains, matches};
use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
use proptest::prelude::*;

/// Tokens drawn from a small alphabet so that patterns and topics collide
/// often; `z` appears only in topics, to witness what `*` adds.
fn literal() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("a"), Just("b"), Just("c")]
}

fn pattern() -> impl Strategy<Value = String> {
    (prop::collection::vec(prop_oneof![3 => literal(), 1 => Just("*")], 1..=4), any::<bool>()).prop_map(
        |(mut tokens, tail)| {
            if tail {
                tokens.push(">");
            }
            tokens.join(".")
        },
    )
}

fn topic() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![4 => literal(), 1 => Just("z")], 1..=6).prop_map(|t| t.join("."))
}

/// Every topic of 1 to `max_len` tokens over `a b c z` and `_charter`.
fn universe(max_len: usize) -> Vec<String> {
    let alphabet = ["a", "b", "c", "z", "_charter"];
    let mut all: Vec<String> = Vec::new();
    let mut layer: Vec<String> = vec![String::new()];
    for _ in 0..max_len {
        layer =
            layer
                .iter()
                .flat_map(|prefix| {
                    alphabet.iter().map(move |t| {
                        if prefix.is_empty() {
                            (*t).to_owned()
                        } else {
                            format!("{prefix}.{t}")
                        }
                    })
                })
                .collect();
        all.extend(layer.iter().cloned());
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn trie_agrees_with_the_reference_matcher(patterns in prop::collection::vec(pattern(), 1..24), topics in prop::collection::vec(topic(), 1..12)) {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let subs: Vec<_> = patterns.iter().map(|p| bus.subscribe(p, SubscribeOptions::new()).unwrap()).collect();
        for topic in &topics {
            let report = bus.publish(topic, &b""[..], &[]).unwrap();
            let expected: Vec<bool> = patterns.iter().map(|p| matches(p, topic)).collect();
            let got: Vec<bool> = subs.iter().map(|s| s.try_recv().unwrap().is_some()).collect();
            prop_assert_eq!(&got, &expected, "topic {}", topic);
            prop_assert_eq!(report.matched, expected.iter().filter(|m| **m).count() as u64);
        }
    }

    #[test]
    fn containment_agrees_with_brute_force(inner in pattern(), outer in pattern()) {
        // Patterns have at most 5 tokens, so topics of up to 6 tokens
        // witness every difference between two of them.
        let universe = universe(6);
        let brute = universe.iter().all(|t| !matches(&inner, t) || matches(&outer, t));
        prop_assert_eq!(contains(&inner, &outer), brute, "{} within {}", inner, outer);
    }
}

#[test]
fn reserved_topics_in_containment() {
    assert!(!contains("_charter.a", ">"));
    assert!(!contains("_charter.a", "*.a"));
    assert!(contains("_charter.a", "_charter.*"));
}
