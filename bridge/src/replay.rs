//! Replay protection: a sliding window of sequence numbers per sender.
//!
//! A sender is a (principal, origin) pair, so a client with a token of its
//! own cannot spend another sender's sequence numbers. The map is bounded:
//! when it is full, the sender seen longest ago is forgotten and the time
//! floor rises past its last message's time, so no message of a forgotten
//! sender can be replayed (a sender not remembered is refused when its
//! message is older than the floor). The floor starts at the receiver's
//! start time.

use std::collections::HashMap;

use charter_core::capability::PrincipalId;

/// How many sequence numbers behind the newest are still accepted once.
pub const WINDOW: u64 = 64;
/// The most senders remembered at once.
pub const MAX_SENDERS: usize = 4096;

#[derive(Clone, Copy, Default)]
struct Window {
    top: u64,
    /// Bit i set: `top - i` was seen.
    seen: u64,
    last_ms: u64,
}

impl Window {
    fn is_new(&self, seq: u64) -> bool {
        if seq > self.top {
            return true;
        }
        let behind = self.top - seq;
        behind < WINDOW && self.seen & (1 << behind) == 0
    }

    fn accept(&mut self, seq: u64, time_ms: u64) {
        if seq > self.top {
            let shift = seq - self.top;
            self.seen = if shift >= WINDOW { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.top = seq;
        } else {
            self.seen |= 1 << (self.top - seq);
        }
        self.last_ms = self.last_ms.max(time_ms);
    }
}

type Sender = (PrincipalId, [u8; 16]);

/// Every sender's window, and the floor for senders not remembered.
pub(crate) struct Replay {
    senders: HashMap<Sender, Window>,
    floor_ms: u64,
}

impl Replay {
    pub(crate) fn new(floor_ms: u64) -> Replay {
        Replay { senders: HashMap::new(), floor_ms }
    }

    /// Accepts `seq` from `sender` (sealed at `time_ms`) if it was never
    /// accepted before; returns whether it was.
    pub(crate) fn accept(&mut self, sender: (PrincipalId, [u8; 16]), seq: u64, time_ms: u64) -> bool {
        if let Some(window) = self.senders.get_mut(&sender) {
            if !window.is_new(seq) {
                return false;
            }
            window.accept(seq, time_ms);
            return true;
        }
        if time_ms < self.floor_ms {
            return false;
        }
        if self.senders.len() >= MAX_SENDERS {
            if let Some((&oldest, window)) = self.senders.iter().min_by_key(|(_, w)| w.last_ms) {
                self.floor_ms = self.floor_ms.max(window.last_ms.saturating_add(1));
                self.senders.remove(&oldest);
            }
        }
        let mut window = Window::default();
        window.accept(seq, time_ms);
        self.senders.insert(sender, window);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_core::capability::KeyPair;

    #[test]
    fn each_sequence_number_is_accepted_once_within_the_window() {
        let who = (KeyPair::generate().unwrap().principal(), [1; 16]);
        let mut replay = Replay::new(0);
        assert!(replay.accept(who, 5, 10));
        assert!(!replay.accept(who, 5, 10));
        assert!(replay.accept(who, 3, 10), "late but within the window");
        assert!(!replay.accept(who, 3, 10));
        assert!(replay.accept(who, 5 + WINDOW, 10));
        assert!(!replay.accept(who, 5, 10), "fell out of the window");
        assert!(replay.accept(who, 6 + WINDOW * 3, 10));
    }

    #[test]
    fn a_forgotten_sender_cannot_be_replayed() {
        let mut replay = Replay::new(100);
        let first = (KeyPair::generate().unwrap().principal(), [0; 16]);
        assert!(!replay.accept(first, 1, 99), "older than the start floor");
        assert!(replay.accept(first, 1, 101));
        for i in 0..MAX_SENDERS as u64 {
            let mut origin = [0u8; 16];
            origin[..8].copy_from_slice(&(i + 1).to_be_bytes());
            assert!(replay.accept((first.0, origin), 1, 200 + i));
        }
        assert!(!replay.accept(first, 1, 101), "forgotten, and the floor has risen past it");
    }
}
