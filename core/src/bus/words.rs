//! The match cache's topic hash and topic comparison, both made of a few
//! overlapping eight-byte loads.
//!
//! A binding's or the C ABI's topic arrives at run time, so the compiler
//! can neither hash nor compare it in advance, and the cache's lookup pays
//! for both on every publish: rustc-hash's byte-stream Fx spent about 37
//! instructions on a 20-byte topic and the word-by-word compare loop about
//! 27 (callgrind, `budget_loop bus-runtime 1`). Here a topic of up to 32
//! bytes, the common case, is read with no loop: a topic of at most 16
//! bytes as two words (or halves, or bytes) that overlap when shorter, a
//! longer one 16 bytes at a time with the last 16 overlapping the ones
//! before. Longer topics take an out-of-line loop.
//!
//! The hash folds each 16 bytes into a state with one 64x64-to-128-bit
//! multiply whose halves are xored (as foldhash and wyhash do), the length
//! with the last, and then the state and the cache's two random keys with
//! one more: the keys come last so that a literal topic's rounds still
//! fold at compile time (see [`super::cache`] for what the keys defend).

/// A keyed hash of topics, its keys drawn once per match cache.
pub(crate) struct TopicHasher {
    keys: [u64; 2],
}

/// The constants of the unkeyed rounds: the first digits of pi, as in
/// rustc-hash and foldhash.
const ROUND: [u64; 2] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344];

impl TopicHasher {
    pub(crate) fn new([first, second]: [u64; 2]) -> TopicHasher {
        // An odd multiplier keeps every bit of the state in the product.
        TopicHasher { keys: [first, second | 1] }
    }

    /// The hash of `topic`: the topic and its length folded into one word
    /// by unkeyed multiplies, 16 bytes a round, then that word and the
    /// keys by one keyed multiply. The keys come last, so that the
    /// compiler still folds the rest for a literal topic (as it did
    /// rustc-hash's, seeded the same way). Always inlined into the
    /// publish, through the cache's lookup.
    #[inline(always)]
    pub(crate) fn hash(&self, topic: &[u8]) -> u64 {
        let len = topic.len();
        let state = if len <= 16 {
            let (a, b) = short_pair(topic);
            fold(a ^ ROUND[0], b ^ ROUND[1] ^ len as u64)
        } else if len <= 32 {
            let state = fold(word(topic, 0) ^ ROUND[0], word(topic, 8) ^ ROUND[1]);
            fold(word(topic, len - 16) ^ ROUND[0] ^ state, word(topic, len - 8) ^ ROUND[1] ^ len as u64)
        } else {
            long_rounds(topic)
        };
        let [first, second] = self.keys;
        fold(state ^ first, second)
    }
}

/// The unkeyed rounds of a topic longer than 32 bytes, as the inlined
/// path takes a shorter one: every 16 bytes, the last overlapping the
/// ones before.
#[inline(never)]
fn long_rounds(topic: &[u8]) -> u64 {
    let len = topic.len();
    let mut state = 0;
    let mut at = 0;
    while len - at > 16 {
        state = fold(word(topic, at) ^ ROUND[0] ^ state, word(topic, at + 8) ^ ROUND[1]);
        at += 16;
    }
    fold(word(topic, len - 16) ^ ROUND[0] ^ state, word(topic, len - 8) ^ ROUND[1] ^ len as u64)
}

/// Whether two topics are equal, compared in line by word loads, the last
/// overlapping the one before: for short topics the library's `memcmp`
/// call costs more than the comparison.
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    let differ = |at: usize| word(a, at) ^ word(b, at);
    if len <= 16 {
        let ((a0, a1), (b0, b1)) = (short_pair(a), short_pair(b));
        (a0 ^ b0) | (a1 ^ b1) == 0
    } else if len <= 24 {
        differ(0) | differ(8) | differ(len - 8) == 0
    } else if len <= 32 {
        differ(0) | differ(8) | differ(16) | differ(len - 8) == 0
    } else {
        same_long(a, b)
    }
}

/// [`same`] of topics longer than 32 bytes, out of line: inlined, the
/// compiler computed its operands before testing the length, on every
/// compare (callgrind, `budget_loop bus-runtime 1`).
#[inline(never)]
fn same_long(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// The bytes of a slice of at most 16 as two numbers that together hold
/// every byte (overlapping when shorter than 16), so that two slices of
/// the same length are equal exactly when their pairs are.
#[inline(always)]
fn short_pair(bytes: &[u8]) -> (u64, u64) {
    let len = bytes.len();
    if len >= 8 {
        (word(bytes, 0), word(bytes, len - 8))
    } else if len >= 4 {
        (u64::from(half(bytes, 0)), u64::from(half(bytes, len - 4)))
    } else if len > 0 {
        let middle = u64::from(bytes[len / 2]) << 8;
        (u64::from(bytes[0]) | middle, u64::from(bytes[len - 1]))
    } else {
        (0, 0)
    }
}

/// The eight bytes at `at`, as one number.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The four bytes at `at`, as one number.
#[inline(always)]
fn half(bytes: &[u8], at: usize) -> u32 {
    let mut half = [0; 4];
    half.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(half)
}

/// The full product of two words, its halves xored together.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const KEYS: [u64; 2] = [0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89];

    #[test]
    fn compares_topics_of_every_length() {
        let long = "a.".repeat(40);
        for len in 0..long.len() {
            let a = &long.as_bytes()[..len];
            assert!(same(a, a));
            assert!(!same(a, &long.as_bytes()[..len + 1]));
            for at in 0..len {
                let mut other = a.to_vec();
                other[at] = b'x';
                assert!(!same(a, &other), "{len} {at}");
            }
        }
    }

    #[test]
    fn every_byte_and_the_length_reach_the_hash() {
        let hasher = TopicHasher::new(KEYS);
        let long = "fleet.truck.".repeat(8);
        let mut seen = HashSet::new();
        for len in 0..long.len() {
            let topic = &long.as_bytes()[..len];
            assert!(seen.insert(hasher.hash(topic)), "length {len}");
            for at in 0..len {
                for flip in [1u8, 0x80] {
                    let mut other = topic.to_vec();
                    other[at] ^= flip;
                    assert!(seen.insert(hasher.hash(&other)), "{len} {at} {flip}");
                }
            }
        }
    }

    #[test]
    fn spreads_similar_topics_over_the_low_and_high_bits() {
        // What the cache uses: the low bits pick a slot, the top six a shard.
        let hasher = TopicHasher::new(KEYS);
        let count = 4096;
        let mut slots = HashSet::new();
        let mut shards = [0usize; 16];
        for i in 0..count {
            let hash = hasher.hash(format!("sensors.device{i:05}.temperature").as_bytes());
            slots.insert(hash & 0xfff);
            shards[(hash >> 58) as usize % 16] += 1;
        }
        // 4,096 random picks of 4,096 slots fill about 63% of them.
        assert!(slots.len() > count * 55 / 100, "{}", slots.len());
        assert!(shards.iter().all(|&n| n > count / 32), "{shards:?}");
    }

    #[test]
    fn the_keys_change_the_hash() {
        let other = TopicHasher::new([KEYS[0] ^ 1, KEYS[1]]);
        let hasher = TopicHasher::new(KEYS);
        for topic in ["a", "a.b.c.d", "fleet.truck.position", "x".repeat(100).as_str()] {
            assert_ne!(hasher.hash(topic.as_bytes()), other.hash(topic.as_bytes()), "{topic}");
        }
    }
}
