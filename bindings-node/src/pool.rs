//! The threads that work for JS off its thread: `publishAsync` (which a
//! full `block` queue may hold up), token verification and session
//! opening, audit-log I/O. Receiving never uses them: a pending receive
//! waits on no thread at all (`src/ready.rs`).
//!
//! Not libuv's thread pool: it has four threads by default, shared with
//! `fs`, `dns` and `crypto`, so four `publishAsync` calls held up by full
//! `block` queues would stall all of those. This pool grows instead: a job
//! starts at once on an idle thread or a new one, so jobs never queue
//! behind each other. A thread that has had no job for [`LINGER`] exits;
//! until then it is reused. The threads are not libuv handles and never
//! keep the event loop alive.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use charter_core::ErrorKind;

use crate::error::{error, Result};

/// Work for a pool thread. It must end on its own.
pub type Job = Box<dyn FnOnce() + Send>;

/// How long an idle thread waits for another job before it exits.
const LINGER: Duration = Duration::from_secs(5);

struct State {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job right now.
    idle: usize,
}

static STATE: Mutex<State> = Mutex::new(State { jobs: VecDeque::new(), idle: 0 });
static WORK: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `job` on a pool thread, starting one when none is idle. Fails only
/// when the system refuses a new thread; `job` is then dropped unrun.
pub fn run(job: Job) -> Result<()> {
    let mut state = lock();
    // Every queued job must have an idle thread of its own to take it.
    if state.idle > state.jobs.len() {
        state.jobs.push_back(job);
        drop(state);
        WORK.notify_one();
        return Ok(());
    }
    drop(state);
    thread::Builder::new()
        .name("charter-work".into())
        .spawn(move || {
            contained(job);
            work();
        })
        .map_err(|e| error(ErrorKind::LimitExceeded, format!("cannot start a thread to work on: {e}")))?;
    Ok(())
}

/// A pool thread's loop after its first job.
fn work() {
    let mut state = lock();
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            contained(job);
            state = lock();
            continue;
        }
        state.idle += 1;
        let (guard, wait) = WORK.wait_timeout(state, LINGER).unwrap_or_else(PoisonError::into_inner);
        state = guard;
        state.idle -= 1;
        if wait.timed_out() && state.jobs.is_empty() {
            return;
        }
    }
}

/// Runs `job`; a panic (a bug) ends the job quietly, not the thread. Every
/// job settles its Promise when it is dropped, so the JS side still hears.
fn contained(job: Job) {
    let _ = charter_core::panic::catch(job);
}
