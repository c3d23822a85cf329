//! Interrupting a publisher that waits for room in a `BLOCK` queue.
//!
//! A `BLOCK` publish may wait as long as its subscription's limit (or
//! forever), and nothing else can wake it but room in the queue or its
//! end. A language runtime that must run signal handlers on the waiting
//! thread itself (Python's Ctrl-C runs only on the main thread, between
//! bytecodes) installs a check for the duration of a call with
//! [`interruptible`]: while a publish made by that call waits, the check
//! runs every [`INTERRUPT_CHECK`], outside every lock of the bus. When it
//! fails, the wait ends there: the message is counted as dropped for
//! `timeout` (its wait ended without room) and the publish fails with the
//! check's error, after the subscriptions before it in the round have had
//! the message, as for any other failing subscription.
//!
//! The check looks for a signal; it never looks for room, which wakes the
//! wait at once as before.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::Result;

/// How often an installed check runs while a publisher waits.
pub const INTERRUPT_CHECK: Duration = Duration::from_millis(100);

type Check = Rc<dyn Fn() -> Result<()>>;

thread_local! {
    /// The check of the innermost [`interruptible`] call on this thread.
    static CHECK: RefCell<Option<Check>> = const { RefCell::new(None) };
}

/// Runs `f` with `check` installed for the `BLOCK` waits of publishes that
/// `f` makes on this thread (see the module docs). Calls nest: the inner
/// check applies until its call returns.
pub fn interruptible<R>(check: impl Fn() -> Result<()> + 'static, f: impl FnOnce() -> R) -> R {
    let previous = CHECK.with(|c| c.replace(Some(Rc::new(check))));
    let _restore = Restore(previous);
    f()
}

/// Puts the enclosing call's check (or none) back, also when `f` unwinds.
struct Restore(Option<Check>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = CHECK.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// The check installed on this thread, if any.
pub(crate) fn installed() -> Option<Check> {
    CHECK.try_with(|c| c.borrow().clone()).ok().flatten()
}
