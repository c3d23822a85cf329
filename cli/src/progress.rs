//! A spinner on standard error while a long phase runs.
//!
//! The core's verification has no progress hook, so the CLI cannot say how
//! far it is; it says which phase is running and for how long, so a large
//! log's verification visibly advances. Only a terminal sees it: piped or
//! redirected standard error stays clean for scripts and logs.

use std::io::{self, IsTerminal, Write};
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Quick phases finish before the spinner would first show, so small logs
/// print nothing extra.
const DELAY: Duration = Duration::from_millis(300);
const TICK: Duration = Duration::from_millis(100);
const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

/// Runs `work`, showing `label` with a spinner while it runs if standard
/// error is a terminal.
pub fn phase<T>(label: &str, work: impl FnOnce() -> T) -> T {
    if !io::stderr().is_terminal() {
        return work();
    }
    let done = (Mutex::new(false), Condvar::new());
    thread::scope(|scope| {
        scope.spawn(|| spin(label, &done));
        let result = work();
        *done.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        done.1.notify_all();
        result
    })
}

fn spin(label: &str, (finished, wake): &(Mutex<bool>, Condvar)) {
    let start = Instant::now();
    let mut wait = DELAY;
    let mut drawn = false;
    for frame in FRAMES.iter().cycle() {
        let guard = finished.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) =
            wake.wait_timeout_while(guard, wait, |f| !*f).unwrap_or_else(PoisonError::into_inner);
        if *guard {
            break;
        }
        drawn = true;
        wait = TICK;
        eprint!("\r{frame} {label} ({:.1} s)", start.elapsed().as_secs_f64());
        let _ = io::stderr().flush();
    }
    if drawn {
        eprint!("\r\x1b[2K");
    }
}
