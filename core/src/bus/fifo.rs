//! A queue's messages, oldest first: a ring of slots whose count is a
//! power of two, so a position wraps by a mask rather than by `VecDeque`'s
//! compare and subtract, and a slot that is empty says so itself (it holds
//! a vacant message, see [`Message::vacant`]), so a take needs no test of
//! the length. A slot is a message, not an `Option` of one: a message's
//! own vacant state marks it, so a slot stays one pointer.
//!
//! The ring grows (doubling, as `VecDeque` does) only when it is full; a
//! queue that has reached its working depth pushes and takes without
//! allocating.

use super::message::Message;

/// The fewest slots a ring that holds anything has.
const FIRST_SLOTS: usize = 4;

pub(crate) struct Fifo {
    /// The messages at positions `head` to `tail` (each position's slot is
    /// the position masked by the slot count), every other slot vacant: a
    /// take from an empty ring finds its head slot vacant.
    slots: Box<[Message]>,
    /// The slot count less one (zero without slots, where the slice's
    /// bound then refuses every position): kept rather than computed from
    /// the length, so that an access loads it and compares with the
    /// length (the bound check it needs anyway) instead of testing the
    /// length for zero and decrementing it (callgrind).
    mask: usize,
    /// The position of the oldest message. Positions count up (wrapping)
    /// and are masked only to address a slot, so a take moves one counter
    /// and a push another, and the length is their difference.
    head: usize,
    /// The position the next message goes to.
    tail: usize,
}

impl Fifo {
    /// An empty ring, without slots until the first push.
    pub(crate) fn new() -> Fifo {
        Fifo { slots: Box::default(), mask: 0, head: 0, tail: 0 }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.tail.wrapping_sub(self.head)
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.tail == self.head
    }

    /// The oldest message.
    #[inline]
    pub(crate) fn front(&self) -> Option<&Message> {
        self.slots.get(self.head & self.mask()).filter(|slot| !slot.is_vacant())
    }

    /// How many messages the ring holds before it must grow.
    #[inline]
    pub(crate) fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Appends `message`, growing the ring first when it is full.
    #[inline]
    pub(crate) fn push_back(&mut self, message: Message) {
        if self.len() == self.slots.len() {
            self.grow();
        }
        self.push_free(message);
    }

    /// Appends `message` to a ring known to have a free slot (`len()`
    /// below `slots()`): the publisher's inline push, whose bound
    /// (`quiet_room`, never above `slots()`) already says so, skips the
    /// test for growth. The slot past the last message is then empty (see
    /// `slots`), so the store forgets a vacant message and skips the test
    /// of the old value a plain assignment makes. Always inline: it runs once per
    /// subscriber.
    #[inline(always)]
    pub(crate) fn push_free(&mut self, message: Message) {
        let mask = self.mask();
        match self.slots.get_mut(self.tail & mask) {
            Some(slot) => {
                // The invariant the bound rests on: `quiet_room` is at most
                // the free slots, so this one holds no queued message.
                debug_assert!(slot.is_vacant(), "an inline push found its slot taken");
                std::mem::forget(std::mem::replace(slot, message));
                self.tail = self.tail.wrapping_add(1);
            }
            None => self.push_back_grown(message),
        }
    }

    /// [`push_free`](Self::push_free) to a ring without slots (the only
    /// case its index misses): grows, then pushes.
    #[cold]
    #[inline(never)]
    fn push_back_grown(&mut self, message: Message) {
        self.grow();
        self.push_free(message);
    }

    /// Takes the oldest message.
    #[inline(always)]
    pub(crate) fn pop_front(&mut self) -> Option<Message> {
        self.pop_front_if(|_| true)
    }

    /// Takes the oldest message if `fits` accepts it.
    #[inline(always)]
    pub(crate) fn pop_front_if(&mut self, fits: impl FnOnce(&Message) -> bool) -> Option<Message> {
        let mask = self.mask();
        let slot = self.slots.get_mut(self.head & mask)?;
        if slot.is_vacant() || !fits(slot) {
            return None;
        }
        let message = std::mem::replace(slot, Message::vacant());
        self.head = self.head.wrapping_add(1);
        Some(message)
    }

    /// Moves into `out`, oldest first, up to `max` messages, stopping
    /// before the first that `fits` refuses. Returns how many it moved and
    /// their total size ([`Message::size`]).
    #[inline]
    pub(crate) fn take_into(
        &mut self,
        out: &mut Vec<Message>,
        max: usize,
        mut fits: impl FnMut(&Message) -> bool,
    ) -> (usize, usize) {
        // The mask from the length (equal to `mask`), so that the loop's
        // bound check, known true once the ring has slots, is decided
        // once before it (callgrind, `budget_loop bus-many`: 3
        // instructions a message fewer than with the kept mask).
        let mask = self.slots.len().wrapping_sub(1);
        let (mut head, mut taken, mut bytes) = (self.head, 0, 0);
        while taken < max {
            let Some(slot) = self.slots.get_mut(head & mask) else { break };
            if slot.is_vacant() || !fits(slot) {
                break;
            }
            let message = std::mem::replace(slot, Message::vacant());
            bytes += message.size();
            out.push(message);
            head = head.wrapping_add(1);
            taken += 1;
        }
        self.head = head;
        (taken, bytes)
    }

    /// What masks a position into a slot (see `mask`).
    #[inline(always)]
    fn mask(&self) -> usize {
        self.mask
    }

    /// Doubles the slots (or makes the first ones), the messages moved in
    /// order to the start of the new ring.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(FIRST_SLOTS);
        let mut slots: Vec<Message> = Vec::with_capacity(size);
        while let Some(message) = self.pop_front() {
            slots.push(message);
        }
        let len = slots.len();
        slots.resize_with(size, Message::vacant);
        self.slots = slots.into_boxed_slice();
        self.mask = size - 1;
        self.head = 0;
        self.tail = len;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Fifo;
    use crate::bus::message::Message;

    fn message(seq: u64) -> Message {
        Message::new(seq, &Arc::from("t"), Arc::from(&b"x"[..]), None, None)
    }

    /// Messages come out in the order they went in, across growth and
    /// across the wrap of the positions, and an empty ring gives nothing.
    #[test]
    fn keeps_order_across_growth_and_wrap() {
        let mut fifo = Fifo::new();
        assert!(fifo.pop_front().is_none());
        assert!(fifo.front().is_none());
        let (mut next_in, mut next_out) = (0u64, 0u64);
        for round in 0..50 {
            for _ in 0..(round % 7 + 1) {
                fifo.push_back(message(next_in));
                next_in += 1;
            }
            for _ in 0..(round % 5 + 1) {
                match fifo.pop_front() {
                    Some(m) => {
                        assert_eq!(m.seq(), next_out);
                        next_out += 1;
                    }
                    None => assert_eq!(next_in, next_out),
                }
            }
            assert_eq!(fifo.len() as u64, next_in - next_out);
            assert_eq!(fifo.is_empty(), next_in == next_out);
            assert_eq!(fifo.front().map(Message::seq), (next_in > next_out).then_some(next_out));
        }
        while let Some(m) = fifo.pop_front() {
            assert_eq!(m.seq(), next_out);
            next_out += 1;
        }
        assert_eq!((next_out, fifo.len()), (next_in, 0));
    }

    /// A bulk take stops at `max`, before the first message `fits`
    /// refuses (which stays at the head) and at the end of what is
    /// queued, across the wrap of the positions, counting the sizes of
    /// what it moved.
    #[test]
    fn take_into_stops_where_it_must() {
        let mut fifo = Fifo::new();
        for seq in 0..6 {
            fifo.push_back(message(seq));
        }
        let mut out = Vec::new();
        assert_eq!(fifo.take_into(&mut out, 3, |_| true), (3, 3 * message(0).size()));
        for seq in 6..10 {
            fifo.push_back(message(seq));
        }
        assert_eq!(fifo.take_into(&mut out, 100, |m| m.seq() != 8).0, 5);
        assert_eq!(fifo.front().map(Message::seq), Some(8));
        assert_eq!(fifo.take_into(&mut out, 100, |_| true).0, 2);
        assert_eq!(fifo.take_into(&mut out, 100, |_| true), (0, 0));
        assert!(out.iter().map(Message::seq).eq(0..10));
        assert_eq!(fifo.len(), 0);
        assert!(fifo.pop_front().is_none());
    }

    /// A slot is one pointer (a vacant message marks an empty one, not an
    /// `Option`), and a ring emptied after a wrap hands out no vacant
    /// message: `front`, `pop_front` and `take_into` all give nothing.
    #[test]
    fn empty_slots_are_one_pointer_and_never_handed_out() {
        assert_eq!(size_of::<Message>(), size_of::<usize>());
        let mut fifo = Fifo::new();
        for seq in 0..7 {
            fifo.push_back(message(seq));
            assert_eq!(fifo.pop_front().map(|m| m.seq()), Some(seq));
        }
        assert!(fifo.front().is_none());
        assert!(fifo.pop_front().is_none());
        let mut out = Vec::new();
        assert_eq!(fifo.take_into(&mut out, 10, |_| true), (0, 0));
        assert!(out.is_empty());
    }

    /// A queued message is dropped with the ring (its body's reference
    /// count goes down), and a taken one is not dropped twice.
    #[test]
    fn drops_what_it_holds() {
        let payload: Arc<[u8]> = Arc::from(&b"payload"[..]);
        let mut fifo = Fifo::new();
        for seq in 0..10 {
            fifo.push_back(Message::new(seq, &Arc::from("t"), Arc::clone(&payload), None, None));
        }
        drop(fifo.pop_front());
        assert_eq!(Arc::strong_count(&payload), 10);
        drop(fifo);
        assert_eq!(Arc::strong_count(&payload), 1);
    }
}
