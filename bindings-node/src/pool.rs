//! The threads that wait for the bus on behalf of JS: pending receives
//! (`recv`, `request`) and `publishAsync`.
//!
//! Not libuv's thread pool: it has four threads by default, shared with
//! `fs`, `dns` and `crypto`, so four receives waiting for messages would stall
//! all of those, and a fifth receive would not even start. This pool grows
//! instead: a job starts at once on an idle thread or a new one, so waits
//! never queue behind each other. A thread that has had no job for
//! [`LINGER`] exits; until then it is reused, which keeps a `for await` loop
//! from starting a thread per message. The threads are not libuv handles and
//! never keep the event loop alive.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// Work for a pool thread. It must end on its own: jobs wait in slices.
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
pub fn run(job: Job) -> std::io::Result<()> {
    let mut state = lock();
    // Every queued job must have an idle thread of its own to take it.
    if state.idle > state.jobs.len() {
        state.jobs.push_back(job);
        drop(state);
        WORK.notify_one();
        return Ok(());
    }
    drop(state);
    thread::Builder::new().name("charter-wait".into()).spawn(move || {
        contained(job);
        work();
    })?;
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
