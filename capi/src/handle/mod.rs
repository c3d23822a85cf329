//! HandleGuard: opaque C handles that survive misuse.
//!
//! A handle given to C is the address of a small *shell* in an append-only
//! arena ([`arena`]). The shell holds:
//!
//! * its **type** (a tag and a C type name, declared by the type itself
//!   through [`Castable`]), fixed when it is created, so a handle of the
//!   wrong type is detected and never reinterpreted;
//! * the **inner object**, a reference-counted, type-erased value behind
//!   an `ArcSwapOption`; the winning `free` swaps it out, exactly once, and
//!   a later free finds nothing there and reports `ALREADY_FREED`.
//!
//! An operation validates the address, checks the tag, then borrows the
//! inner object through an arc-swap guard and works on it with no Charter
//! lock held. `free` swaps the inner object out; an operation
//! already in flight keeps it alive through its guard and completes, and
//! the object is dropped exactly once, when the last user lets go.
//!
//! ## Why arc-swap instead of a count of operations in flight
//!
//! The obvious alternative is a state word with a FREEING bit plus an
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
mod castable;

use std::any::Any;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use charter_core::{Error, ErrorKind};

pub(crate) use castable::{handle_type, Castable, HandleType};

/// What a handle owns, with its type erased: the shell's tag says which
/// [`Castable::Owned`] it is, and the downcast confirms it.
type Object = Box<dyn Any + Send + Sync>;

/// The arena-resident part of every handle.
pub(crate) struct Shell {
    ty: &'static HandleType,
    inner: ArcSwapOption<Object>,
}

/// The size in bytes of one handle shell: the memory kept per freed handle.
pub const SHELL_SIZE: usize = std::mem::size_of::<Shell>();

const _: () = assert!(SHELL_SIZE <= 16, "the documented cost per freed handle is 16 bytes");

/// Creates a handle of type `C` that owns `value`.
pub(crate) fn create<C: Castable>(value: C::Owned) -> Result<*mut C, Error> {
    let object: Object = Box::new(value);
    let shell = Shell { ty: C::TYPE, inner: ArcSwapOption::from_pointee(object) };
    let shell = arena::ARENA
        .insert(shell)
        .ok_or_else(|| Error::new(ErrorKind::LimitExceeded, "the handle arena is full"))?;
    Ok(shell as *const Shell as *mut C)
}

/// Validates `ptr` (the argument called `name`) as a live handle of type
/// `C` and runs `f` on what it owns.
///
/// No Charter lock is held while `f` runs; `f` may free this very handle.
#[inline]
pub(crate) fn with<C: Castable, R>(
    ptr: *const C,
    name: &str,
    f: impl FnOnce(&C::Owned) -> Result<R, Error>,
) -> Result<R, Error> {
    let shell = lookup::<C>(ptr, name)?;
    let guard = shell.inner.load();
    let object = guard.as_deref().ok_or_else(|| freed::<C>(name))?;
    let value = object.downcast_ref::<C::Owned>().ok_or_else(|| disagree(name))?;
    f(value)
}

/// A clone of what the live handle `ptr` (the argument called `name`)
/// owns, for work that outlives the borrow (a wait, a callback).
#[inline]
pub(crate) fn cloned<C: Castable>(ptr: *const C, name: &str) -> Result<C::Owned, Error>
where
    C::Owned: Clone,
{
    with(ptr, name, |value| Ok(value.clone()))
}

/// As [`with`], for a handle argument that may be NULL: `None` then.
#[inline]
pub(crate) fn with_opt<C: Castable, R>(
    ptr: *const C,
    name: &str,
    f: impl FnOnce(&C::Owned) -> Result<R, Error>,
) -> Result<Option<R>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    with(ptr, name, f).map(Some)
}

/// Frees the handle `ptr` (the argument called `name`) of type `C`. NULL
/// is a no-op.
pub(crate) fn free<C: Castable>(ptr: *const C, name: &str) -> Result<(), Error> {
    if ptr.is_null() {
        return Ok(());
    }
    let shell = lookup::<C>(ptr, name)?;
    // Dropping the object may run user code (drop_user_data callbacks);
    // nothing is locked here, so that code may call back into Charter.
    let object: Option<Arc<Object>> = shell.inner.swap(None);
    if object.is_none() {
        let kind = C::TYPE.name;
        return Err(Error::new(ErrorKind::AlreadyFreed, format!("{name} ({kind}) was already freed")));
    }
    drop(object);
    Ok(())
}

/// Frees the handle `ptr` as [`free`] does, then hands what it owned to
/// `then` (which closes it: wakes its waiters, stops its callbacks). Only
/// the call whose free wins closes, and never after a failed free. The
/// value is taken before the free swaps it out; an operation in flight
/// keeps its own reference.
pub(crate) fn free_then<C: Castable>(
    ptr: *const C,
    name: &str,
    then: impl FnOnce(C::Owned),
) -> Result<(), Error>
where
    C::Owned: Clone,
{
    if ptr.is_null() {
        return Ok(());
    }
    let owned = cloned(ptr, name).ok();
    free(ptr, name)?;
    if let Some(owned) = owned {
        then(owned);
    }
    Ok(())
}

#[inline]
fn lookup<C: Castable>(ptr: *const C, name: &str) -> Result<&'static Shell, Error> {
    if ptr.is_null() {
        return Err(crate::firewall::null_argument(name));
    }
    let shell = arena::ARENA.find(ptr as usize).ok_or_else(|| not_a_handle::<C>(name))?;
    if shell.ty.tag != C::TYPE.tag {
        return Err(wrong_type::<C>(shell, name));
    }
    Ok(shell)
}

#[cold]
fn not_a_handle<C: Castable>(name: &str) -> Error {
    Error::new(
        ErrorKind::InvalidHandle,
        format!("{name} is not a Charter handle (expected {})", C::TYPE.name),
    )
}

#[cold]
fn wrong_type<C: Castable>(shell: &Shell, name: &str) -> Error {
    Error::new(
        ErrorKind::WrongHandleType,
        format!("{name} is a {}, expected {}", shell.ty.name, C::TYPE.name),
    )
}

#[cold]
fn freed<C: Castable>(name: &str) -> Error {
    Error::new(ErrorKind::HandleFreed, format!("{name} ({}) has been freed", C::TYPE.name))
}

#[cold]
fn disagree(name: &str) -> Error {
    Error::new(ErrorKind::Internal, format!("{name}: handle tag and object disagree"))
}

/// `with(ptr, "ptr", f)`: borrows the handle argument `ptr` (or a field
/// path such as `options.authority`), named after itself, for `f`.
macro_rules! borrow {
    ($($p:ident).+, $f:expr) => {
        $crate::handle::with($($p).+, $crate::args::arg_name!($($p).+), $f)
    };
}

/// `with_opt(ptr, "ptr", f)`: as `borrow!`, for a handle argument that may
/// be NULL (`None` then); `opt_clone_handle!` likewise clones.
macro_rules! opt_borrow {
    ($($p:ident).+, $f:expr) => {
        $crate::handle::with_opt($($p).+, $crate::args::arg_name!($($p).+), $f)
    };
}

macro_rules! opt_clone_handle {
    ($($p:ident).+) => {
        $crate::handle::opt_borrow!($($p).+, |value| Ok(value.clone()))
    };
}

/// `cloned(ptr, "ptr")`: a clone of what the handle argument `ptr` owns.
macro_rules! clone_handle {
    ($($p:ident).+) => {
        $crate::handle::cloned($($p).+, $crate::args::arg_name!($($p).+))
    };
}

/// `free(ptr, "ptr")`: frees the handle argument `ptr`;
/// `free_handle!(ptr, then f)` closes what it owned with `f` once freed
/// (`free_then`).
macro_rules! free_handle {
    ($p:ident) => {
        $crate::handle::free($p, $crate::args::arg_name!($p))
    };
    ($p:ident, then $then:expr) => {
        $crate::handle::free_then($p, $crate::args::arg_name!($p), $then)
    };
}

pub(crate) use {borrow, clone_handle, free_handle, opt_borrow, opt_clone_handle};

#[cfg(test)]
mod tests {
    use super::{Castable, HandleType};

    /// Every handle type's tag, declared where each type is defined; a new
    /// type must be added here so its tag is checked.
    fn all() -> [&'static HandleType; 15] {
        [
            crate::registry::charter_registry_t::TYPE,
            crate::bus::charter_bus_t::TYPE,
            crate::client::charter_client_t::TYPE,
            crate::capability::charter_keypair_t::TYPE,
            crate::capability::charter_token_t::TYPE,
            crate::capability::charter_authority_t::TYPE,
            crate::capability::charter_session_t::TYPE,
            crate::audit::charter_audit_t::TYPE,
            crate::audit_auditor::charter_witness_t::TYPE,
            crate::audit_view::charter_audit_view_t::TYPE,
            crate::waiter::charter_waiter_t::TYPE,
            crate::cancel::charter_cancel_t::TYPE,
            crate::watch::charter_watch_t::TYPE,
            crate::bridge::charter_bridge_t::TYPE,
            crate::bridge_verifier::charter_bridge_verifier_t::TYPE,
        ]
    }

    #[test]
    fn tags_and_names_are_unique() {
        let types = all();
        for (i, a) in types.iter().enumerate() {
            assert!(a.name.starts_with("charter_") && a.name.ends_with("_t"), "{}", a.name);
            for b in &types[i + 1..] {
                assert_ne!(a.tag, b.tag, "{} and {} share a tag", a.name, b.name);
                assert_ne!(a.name, b.name);
            }
        }
    }
}
