//! Messages handed back by abandoned asynchronous receives (and by blocking
//! receives that a signal handler interrupts just as a message arrives).
//!
//! `recv_async` waits in a worker thread, in slices, with the core's
//! timed receive. When the awaiting task is cancelled, that thread cannot
//! be stopped: it may still take a message before its slice ends. Such a
//! wait is *abandoned*, and what it takes is handed back here, so the next
//! receive returns it: a cancelled receive loses nothing.
//!
//! While an abandoned wait is still running, receives do not take from the
//! queue but wait for it to settle (within one slice). Otherwise a receive
//! could take a later message from the queue before the one being handed
//! back, and a single consumer would see them out of order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use charter_core::bus::Message;

use crate::callback::lock;

#[derive(Default)]
pub(crate) struct Handback {
    state: Mutex<State>,
    settled: Condvar,
    /// Whether `state` holds anything, so that receives skip the lock in
    /// the usual case. Only ever changed under the lock.
    active: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Handed-back messages, in sequence order.
    messages: VecDeque<Message>,
    /// Abandoned waits still running.
    abandoned: usize,
}

/// What a receive does next.
pub(crate) enum Turn {
    /// Return this handed-back message.
    Take(Message),
    /// Wait for an abandoned wait to settle ([`Handback::wait`]).
    Wait,
    /// Receive from the subscription's queue.
    Queue,
}

impl Handback {
    pub(crate) fn turn(&self) -> Turn {
        if !self.active.load(Ordering::Acquire) {
            return Turn::Queue;
        }
        let mut state = lock(&self.state);
        let turn = match state.messages.pop_front() {
            Some(message) => Turn::Take(message),
            None if state.abandoned > 0 => Turn::Wait,
            None => Turn::Queue,
        };
        self.update(&state);
        turn
    }

    /// Whether an abandoned wait is still running.
    pub(crate) fn settling(&self) -> bool {
        self.active.load(Ordering::Acquire) && lock(&self.state).abandoned > 0
    }

    /// A wait whose awaiter is gone is still running; it must end with
    /// [`give_back`](Handback::give_back).
    pub(crate) fn abandon(&self) {
        let mut state = lock(&self.state);
        state.abandoned += 1;
        self.update(&state);
    }

    /// An abandoned wait ended, with the message it took, if any.
    pub(crate) fn give_back(&self, message: Option<Message>) {
        let mut state = lock(&self.state);
        state.abandoned = state.abandoned.saturating_sub(1);
        self.settle(state, message);
    }

    /// Returns `message`, just received, because its receive is failing
    /// after all (a signal handler raised).
    pub(crate) fn put_back(&self, message: Message) {
        self.settle(lock(&self.state), Some(message));
    }

    fn settle(&self, mut state: MutexGuard<'_, State>, message: Option<Message>) {
        if let Some(message) = message {
            // Several abandoned waits may settle in any order.
            let at = state.messages.partition_point(|m| m.seq() < message.seq());
            state.messages.insert(at, message);
        }
        self.update(&state);
        drop(state);
        self.settled.notify_all();
    }

    /// Waits up to `timeout` for an abandoned wait to settle.
    pub(crate) fn wait(&self, timeout: Duration) {
        let state = lock(&self.state);
        if state.messages.is_empty() && state.abandoned > 0 && !timeout.is_zero() {
            drop(self.settled.wait_timeout(state, timeout));
        }
    }

    fn update(&self, state: &State) {
        let active = !state.messages.is_empty() || state.abandoned > 0;
        self.active.store(active, Ordering::Release);
    }
}
