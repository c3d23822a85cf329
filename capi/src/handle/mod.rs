//! HandleGuard: opaque C handles that survive misuse.
//!
//! A handle given to C is the address of a small *shell* in an append-only
//! arena ([`arena`]). The shell holds:
//!
//! * a **tag** naming the handle's type, fixed when it is created, so a
//!   handle of the wrong type is detected and never reinterpreted;
//! * a **state word** whose FREED bit is set, exactly once, by the winning
//!   `free`; later frees report `ALREADY_FREED`;
//! * the **inner object**, a reference-counted [`Object`] behind an
//!   `ArcSwapOption`.
//!
//! An operation validates the address, checks the tag and the state, then
//! borrows the inner object through an arc-swap guard and works on it with
//! no Charter lock held. `free` swaps the inner object out; an operation
//! already in flight keeps it alive through its guard and completes, and
//! the object is dropped exactly once, when the last user lets go.
//!
//! ## Why arc-swap instead of a count of operations in flight
//!
//! The design note describes the state word as a FREEING bit plus an
//! in-flight count that each operation increments and decrements. That
//! makes every call on a handle perform two read-modify-writes on one
//! shared cache line, so threads notifying the same registry contend with
//! each other. An arc-swap guard gives the same guarantees (free is never
//! blocked by user code, in-flight operations finish safely, one drop)
//! while a read costs a thread-local slot and no shared write.
//!
//! ## Cost of a freed handle
//!
//! A shell is 16 bytes and is never reclaimed: that is the memory a program
//! gives up per handle it creates and frees. Handler registrations are ids,
//! not handles, and cost nothing once removed.

mod arena;
mod object;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use charter_core::{Error, ErrorKind};

pub(crate) use object::Handled;
use object::{HandleKind, Object};

const FREED: u32 = 1;

/// The arena-resident part of every handle.
pub(crate) struct Shell {
    tag: u32,
    state: AtomicU32,
    inner: ArcSwapOption<Object>,
}

/// The size in bytes of one handle shell: the memory kept per freed handle.
pub const SHELL_SIZE: usize = std::mem::size_of::<Shell>();

const _: () = assert!(SHELL_SIZE <= 32, "the documented cost per freed handle is at most 32 bytes");

/// Creates a handle that owns `value`.
pub(crate) fn create<T: Handled>(value: T) -> Result<*mut T::C, Error> {
    let shell = Shell {
        tag: T::KIND.tag(),
        state: AtomicU32::new(0),
        inner: ArcSwapOption::from_pointee(value.wrap()),
    };
    let shell = arena::ARENA
        .insert(shell)
        .ok_or_else(|| Error::new(ErrorKind::LimitExceeded, "the handle arena is full"))?;
    Ok(shell as *const Shell as *mut T::C)
}

/// Validates `ptr` (the argument called `name`) as a live handle to a `T`
/// and runs `f` on it.
///
/// No Charter lock is held while `f` runs; `f` may free this very handle.
#[inline]
pub(crate) fn with<T: Handled, R>(
    ptr: *const T::C,
    name: &str,
    f: impl FnOnce(&T) -> Result<R, Error>,
) -> Result<R, Error> {
    let shell = lookup(ptr, T::KIND, name)?;
    if shell.state.load(Ordering::Acquire) & FREED != 0 {
        return Err(freed(T::KIND, name));
    }
    let guard = shell.inner.load();
    let object = guard.as_deref().ok_or_else(|| freed(T::KIND, name))?;
    let value = T::project(object)
        .ok_or_else(|| Error::new(ErrorKind::Internal, format!("{name}: handle tag and object disagree")))?;
    f(value)
}

/// Frees the handle `ptr` (the argument called `name`) to a `T`. NULL is a
/// no-op.
pub(crate) fn free<T: Handled>(ptr: *const T::C, name: &str) -> Result<(), Error> {
    if ptr.is_null() {
        return Ok(());
    }
    let shell = lookup(ptr, T::KIND, name)?;
    if shell.state.fetch_or(FREED, Ordering::AcqRel) & FREED != 0 {
        let kind = T::KIND.type_name();
        return Err(Error::new(ErrorKind::AlreadyFreed, format!("{name} ({kind}) was already freed")));
    }
    // Dropping the object may run user code (drop_user_data callbacks);
    // nothing is locked here, so that code may call back into Charter.
    let object: Option<Arc<Object>> = shell.inner.swap(None);
    drop(object);
    Ok(())
}

#[inline]
fn lookup<P>(ptr: *const P, kind: HandleKind, name: &str) -> Result<&'static Shell, Error> {
    if ptr.is_null() {
        return Err(crate::firewall::null_argument(name));
    }
    let shell = arena::ARENA.find(ptr as usize).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidHandle,
            format!("{name} is not a Charter handle (expected {})", kind.type_name()),
        )
    })?;
    if shell.tag != kind.tag() {
        let actual = HandleKind::from_tag(shell.tag).map_or("an unknown handle", HandleKind::type_name);
        return Err(Error::new(
            ErrorKind::WrongHandleType,
            format!("{name} is a {actual}, expected {}", kind.type_name()),
        ));
    }
    Ok(shell)
}

fn freed(kind: HandleKind, name: &str) -> Error {
    Error::new(ErrorKind::HandleFreed, format!("{name} ({}) has been freed", kind.type_name()))
}
