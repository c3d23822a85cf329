//! `charter_watch_*`: a subscription that an event loop waits on like a
//! socket, through a file descriptor (`charter_client_watch_fd`) or a
//! callback (`charter_client_watch`).
//!
//! Both install the core's edge watch on the subscription
//! (`SubscriptionRef::set_watch`): it fires each time the queue goes from
//! empty to non-empty, and once when the subscription ends. The fd form
//! makes a non-blocking eventfd (Linux) or pipe (elsewhere) readable; the
//! loop then resets it and drains the subscription with
//! `charter_client_recv(..., 0, ...)` until `CHARTER_E_WOULD_BLOCK`. This
//! is the shape of zeromq's `ZMQ_FD` and nats.c's event-loop adapters.
//!
//! The watch handle owns what it made: freeing it removes the watch (unless
//! another replaced it) and then closes the fd, or closes the callback's
//! gate ([`crate::gate`]). Charter never closes the fd behind the
//! program's back: the subscription's end leaves it open and readable.

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, PoisonError};

use charter_core::bus::{Notify, SubscriptionId, SubscriptionRef};
use charter_core::{Error, ErrorKind};

use crate::args::arg_fn;
use crate::client::{charter_client_t, client_arg};
use crate::firewall::call;
use crate::gate::Gate;
use crate::handle::free_handle;
use crate::out::{opt_out, out, OptOut, Out};
use crate::status::charter_status_t;
use crate::waiter::{charter_ready_fn, recheck_ms};

/// A watch on one subscription: an fd or a callback that says it is
/// readable. Opaque; create with `charter_client_watch_fd` or
/// `charter_client_watch`.
pub struct charter_watch {
    _opaque: [u8; 0],
}

/// The handle type of a watch.
pub type charter_watch_t = charter_watch;

crate::handle::handle_type!(charter_watch_t owns Watch, tag b"WCH1");

/// What a watch handle owns. Cloning shares it.
#[derive(Clone)]
pub(crate) struct Watch {
    inner: Arc<WatchInner>,
}

struct WatchInner {
    sub: SubscriptionRef,
    notify: Notify,
    target: Target,
}

enum Target {
    Callback(Arc<Gate>),
    Fd(Arc<Signal>),
}

impl Watch {
    /// Removes the watch from its subscription, unless another replaced it,
    /// then silences it: the fd is closed, the callback stopped (after the
    /// calls running on other threads have returned).
    fn close(&self) {
        self.inner.sub.remove_watch(&self.inner.notify);
        match &self.inner.target {
            Target::Callback(gate) => gate.close(),
            Target::Fd(signal) => signal.close(),
        }
    }
}

/// The fd side of a watch: the descriptor the program polls and, for a
/// pipe, the end Charter writes. `None` once the watch is freed, so a
/// notify that the core still holds never writes to a closed (or reused)
/// descriptor: raising and closing take the same lock.
struct Signal {
    fds: Mutex<Option<Fds>>,
}

struct Fds {
    /// What the program polls and reads.
    read: OwnedFd,
    /// The pipe's write end; `None` for an eventfd, written through `read`.
    write: Option<OwnedFd>,
}

impl Signal {
    fn open() -> Result<Arc<Signal>, Error> {
        Ok(Arc::new(Signal { fds: Mutex::new(Some(Fds::open()?)) }))
    }

    fn raw(&self) -> Option<RawFd> {
        self.lock().as_ref().map(|f| f.read.as_raw_fd())
    }

    /// Makes the fd readable. A full pipe or eventfd is readable already,
    /// so a failed write loses nothing.
    fn raise(&self) {
        if let Some(fds) = self.lock().as_ref() {
            fds.raise();
        }
    }

    fn close(&self) {
        let fds = self.lock().take();
        drop(fds);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Fds>> {
        self.fds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Fds {
    #[cfg(target_os = "linux")]
    fn open() -> Result<Fds, Error> {
        // SAFETY: eventfd takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(os_error("eventfd"));
        }
        // SAFETY: a descriptor we just opened and own alone.
        Ok(Fds { read: unsafe { OwnedFd::from_raw_fd(fd) }, write: None })
    }

    #[cfg(not(target_os = "linux"))]
    fn open() -> Result<Fds, Error> {
        let mut ends = [0 as libc::c_int; 2];
        // SAFETY: `ends` has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(ends.as_mut_ptr()) } != 0 {
            return Err(os_error("pipe"));
        }
        // SAFETY: descriptors we just opened and own alone.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
        for fd in [&read, &write] {
            // SAFETY: fcntl on a descriptor we own; no pointers.
            let ok = unsafe {
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) == 0
                    && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) == 0
            };
            if !ok {
                return Err(os_error("fcntl"));
            }
        }
        Ok(Fds { read, write: Some(write) })
    }

    fn raise(&self) {
        let target = self.write.as_ref().unwrap_or(&self.read).as_raw_fd();
        // An eventfd takes an 8-byte count; a pipe any byte.
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes from a live 8-byte buffer to a descriptor this
        // watch owns and has not closed (the caller holds the lock that
        // closing takes).
        let _ = unsafe { libc::write(target, one.as_ptr().cast(), one.len()) };
    }
}

/// The error for a failed `call`: running out of descriptors is a limit
/// (the process's `RLIMIT_NOFILE`, or the system's), anything else I/O.
fn os_error(call: &str) -> Error {
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EMFILE) => Error::new(
            ErrorKind::LimitExceeded,
            format!("{call}: the process has as many open files as RLIMIT_NOFILE allows ({error}); a watch fd is one"),
        ),
        Some(libc::ENFILE) => Error::new(
            ErrorKind::LimitExceeded,
            format!("{call}: the system's limit on open files is reached ({error}); a watch fd is one"),
        ),
        _ => Error::new(ErrorKind::Io, format!("{call} failed: {error}")),
    }
}

/// Installs `target`'s notify as the watch of subscription `id`, makes
/// the handle and writes it to `watch_out`, and the recheck to
/// `recheck_ms_out` when asked.
fn install(
    client: *mut charter_client_t,
    id: u64,
    target: Target,
    watch_out: Out<*mut charter_watch_t>,
    recheck_ms_out: OptOut<u64>,
) -> Result<(), Error> {
    let sub = client_arg(client)?.subscription(SubscriptionId::from_raw(id))?;
    let notify: Notify = match &target {
        Target::Callback(gate) => gate.notify(),
        Target::Fd(signal) => {
            let signal = Arc::clone(signal);
            Arc::new(move || signal.raise())
        }
    };
    let watch =
        Watch { inner: Arc::new(WatchInner { sub: sub.clone(), notify: Arc::clone(&notify), target }) };
    sub.set_watch(Some(notify))?;
    watch_out.write_handle(watch.clone()).inspect_err(|_| watch.close())?;
    recheck_ms_out.put(recheck_ms(sub.recheck()))
}

/// Watches subscription `id` through a file descriptor, written to `fd_out`,
/// for `poll`, `epoll`, `select` or any event loop: it becomes readable
/// when a message arrives in an empty queue and when the subscription
/// ends, and at once if it is readable already. Free the watch with
/// `charter_watch_free`, which closes the fd (remove it from your poll set
/// first); Charter never closes it before.
///
/// The protocol: when the fd is readable, first reset it by reading it
/// (into an 8-byte buffer) until `EAGAIN` (it is non-blocking), then drain
/// the subscription with `charter_client_recv(client, id, 0, &msg)` until
/// `CHARTER_E_WOULD_BLOCK`. A message that arrives after the drain makes
/// the fd readable again; stopping a drain early, you must come back
/// yourself. Any other status means the subscription has ended
/// (`CHARTER_E_NOT_FOUND` once unsubscribed, `CHARTER_E_CLOSED`,
/// `CHARTER_E_REVOKED`, `CHARTER_E_EXPIRED`): free the watch.
///
/// A subscription has one watch: a new one (fd or callback) replaces it,
/// and the replaced fd stays silent. `recheck_ms_out` (optional) receives
/// the milliseconds until the session the subscription was made with
/// expires (`UINT64_MAX` without one): an expiry makes nothing readable,
/// so set a timer and drain then. `CHARTER_E_LIMIT_EXCEEDED` when the
/// process may open no more files: each watch fd is one (raise the soft
/// `RLIMIT_NOFILE` for thousands of watches).
///
/// # Safety
/// `watch_out`, `fd_out` and `recheck_ms_out` must be NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_watch_fd(
    client: *mut charter_client_t,
    id: u64,
    watch_out: *mut *mut charter_watch_t,
    fd_out: *mut c_int,
    recheck_ms_out: *mut u64,
) -> charter_status_t {
    call(|| {
        let watch_out = out!(watch_out)?;
        let fd_out = out!(fd_out)?;
        let recheck_ms_out = opt_out!(recheck_ms_out);
        let signal = Signal::open()?;
        let fd = signal.raw().ok_or_else(|| Error::new(ErrorKind::Internal, "a new watch has no fd"))?;
        install(client, id, Target::Fd(signal), watch_out, recheck_ms_out)?;
        fd_out.put(fd)
    })
}

/// Watches subscription `id` through a callback: `fn(user_data)` is called
/// when a message arrives in an empty queue and when the subscription
/// ends (and before this returns, if it is readable already), from the
/// thread that made it so, outside every Charter lock. It must not block:
/// wake your loop, which then drains with `charter_client_recv(client, id,
/// 0, &msg)` until `CHARTER_E_WOULD_BLOCK`, as for
/// `charter_client_watch_fd`. Free the watch with `charter_watch_free`;
/// once that has returned `fn` is never called again. `recheck_ms_out` as
/// for `charter_client_watch_fd`.
///
/// # Safety
/// `fn` must be safe to call from any thread with `user_data` until
/// `charter_watch_free` returns; `watch_out` and `recheck_ms_out` NULL or
/// valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_watch(
    client: *mut charter_client_t,
    id: u64,
    r#fn: charter_ready_fn,
    user_data: *mut c_void,
    watch_out: *mut *mut charter_watch_t,
    recheck_ms_out: *mut u64,
) -> charter_status_t {
    call(|| {
        let ready = arg_fn!(r#fn)?;
        let watch_out = out!(watch_out)?;
        let recheck_ms_out = opt_out!(recheck_ms_out);
        install(client, id, Target::Callback(Gate::new(ready, user_data)), watch_out, recheck_ms_out)
    })
}

/// Frees a watch: removes it from its subscription (unless another watch
/// replaced it), then closes its fd, or stops its callback and waits for
/// calls of it running on other threads to return (from inside its own
/// callback it does not wait for that call). Remove the fd from your poll
/// set before. NULL is a no-op; a second free returns
/// `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `watch` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_watch_free(watch: *mut charter_watch_t) -> charter_status_t {
    call(|| free_handle!(watch, then | owned | owned.close()))
}
