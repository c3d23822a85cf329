//! The gate in front of a C readiness callback: the core may call a notify
//! long after the C program has freed the handle that owns it (an armed
//! notify stays in a subscription until it fires or is disarmed, and a
//! publisher may be firing it at the very moment of the free), so the
//! notify the core holds goes through a gate that the free closes.
//!
//! The rule C relies on: **once `charter_waiter_free` (or
//! `charter_watch_free`) has returned, the callback is never called
//! again.** Closing the gate stops new calls at once and then waits for
//! the calls already running on other threads to return. A call running
//! on the closing thread itself (a callback that frees its own handle) is
//! not waited for: it is the caller.
//!
//! Calls counted before a `fork()` are forgotten in the child: they run on
//! the parent's threads, which the child does not have, so they never
//! return there, and a free in the child would wait for them forever.
//! (A callback that itself forks goes on in the child uncounted: a free
//! on another thread of the child does not wait for it.)

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once, PoisonError};

use charter_core::bus::Notify;

/// What a readiness callback is: called with the user data it was
/// registered with, from whichever thread made the subscription readable.
pub(crate) type ReadyFn = unsafe extern "C" fn(user_data: *mut c_void);

thread_local! {
    /// The gates whose callback this thread is running, innermost last: a
    /// callback may make another subscription readable, or free handles.
    static RUNNING_HERE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// How many times this process has been forked into the one running: the
/// running calls a gate counted under an older value are another
/// process's.
static FORKS: AtomicU64 = AtomicU64::new(0);

static COUNT_FORKS: Once = Once::new();

extern "C" fn forked_child() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

pub(crate) struct Gate {
    call: ReadyFn,
    user_data: *mut c_void,
    state: Mutex<GateState>,
    idle: Condvar,
}

#[derive(Default)]
struct GateState {
    closed: bool,
    /// Calls in progress, on any thread.
    running: usize,
    /// `FORKS` when `running` was last counted.
    forks: u64,
}

impl GateState {
    /// Forgets the calls counted before a fork: see the module doc.
    fn settle(&mut self) {
        let now = FORKS.load(Ordering::Acquire);
        if self.forks != now {
            self.forks = now;
            self.running = 0;
        }
    }
}

// SAFETY: registering a readiness callback is the C caller's promise that
// it and its user data may be used from any thread (documented on each
// function that takes one).
unsafe impl Send for Gate {}
// SAFETY: as above.
unsafe impl Sync for Gate {}

impl Gate {
    pub(crate) fn new(call: ReadyFn, user_data: *mut c_void) -> Arc<Gate> {
        COUNT_FORKS.call_once(|| {
            // SAFETY: the handler only increments an atomic, which is
            // async-signal-safe as a forked child's handler must be. A
            // failure (ENOMEM) leaves forks uncounted: the behaviour
            // before this existed.
            let _ = unsafe { libc::pthread_atfork(None, None, Some(forked_child)) };
        });
        Arc::new(Gate { call, user_data, state: Mutex::default(), idle: Condvar::new() })
    }

    /// The notify to hand the core: calls the callback unless the gate is
    /// closed.
    pub(crate) fn notify(self: &Arc<Gate>) -> Notify {
        let gate = Arc::clone(self);
        Arc::new(move || gate.fire())
    }

    fn fire(&self) {
        let forks = {
            let mut state = self.lock();
            state.settle();
            if state.closed {
                return;
            }
            state.running += 1;
            state.forks
        };
        let _running = Running::enter(self, forks);
        // SAFETY: the caller registered `call` for exactly this use, with
        // this user data, callable from any thread; the gate is open, so
        // the handle has not been freed.
        unsafe { (self.call)(self.user_data) };
    }

    /// Stops new calls, then waits for the calls in progress on other
    /// threads to return.
    pub(crate) fn close(&self) {
        let here =
            RUNNING_HERE.try_with(|r| r.borrow().iter().filter(|&&g| g == self.key()).count()).unwrap_or(0);
        let mut state = self.lock();
        state.settle();
        state.closed = true;
        while state.running > here {
            state = self.idle.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn key(&self) -> usize {
        self as *const Gate as usize
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One call in progress: counted in the gate and in this thread's list
/// until it returns (or unwinds).
struct Running<'a> {
    gate: &'a Gate,
    /// `FORKS` when it was counted: a call that goes on in a forked child
    /// was forgotten there.
    forks: u64,
}

impl<'a> Running<'a> {
    fn enter(gate: &'a Gate, forks: u64) -> Running<'a> {
        // A thread that is exiting may have lost its thread-locals; a
        // callback running there that frees its own handle is the one case
        // this cannot see.
        let _ = RUNNING_HERE.try_with(|r| r.borrow_mut().push(gate.key()));
        Running { gate, forks }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        // The thread-local may be gone when a thread exits inside a call;
        // the count below is what `close` waits on.
        let _ = RUNNING_HERE.try_with(|r| {
            let mut r = r.borrow_mut();
            if let Some(at) = r.iter().rposition(|&g| g == self.gate.key()) {
                r.remove(at);
            }
        });
        let mut state = self.gate.lock();
        if state.forks == self.forks {
            state.running -= 1;
        }
        let wake = state.closed;
        drop(state);
        if wake {
            self.gate.idle.notify_all();
        }
    }
}
