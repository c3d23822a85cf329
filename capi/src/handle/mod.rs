//! HandleGuard: opaque C handles that survive misuse.
//!
//! A handle given to C is the address of a small *shell* in an append-only
//! arena ([`arena`]). The shell holds:
//!
//! * a **state word**: its type's tag (fixed when the shell is created, so
//!   a handle of the wrong type is detected and never reinterpreted), a
//!   FREED bit, and the number of operations borrowing the object right
//!   now;
//! * the **inner object**, boxed, whose address never changes.
//!
//! An operation validates the address, checks the tag and takes a borrow
//! (one compare-and-swap that fails once FREED is set), then works on the
//! object with no Charter lock held, and gives the borrow back (one
//! subtraction). `free` sets FREED, exactly once (a later free finds it set
//! and reports `ALREADY_FREED`). The object is dropped exactly once, by
//! whoever leaves the word at FREED with no borrow: `free` itself when
//! nothing borrows it, otherwise the last operation in flight. So free is
//! never blocked by user code and in-flight operations finish safely.
//!
//! ## Why a count of borrows instead of arc-swap
//!
//! A handle used to hold its object behind an arc-swap guard, which costs
//! about 60 instructions per call (a thread-local debt slot taken and paid
//! back) against about 10 for the borrow count, and a C call's fixed cost
//! is what the C ABI's `notify` target is about (docs/BENCHMARKS.md). The
//! count is a shared write per call and back, so threads calling into one
//! handle at once share its cache line; the registry and bus behind the
//! handle already share theirs in the same way, so the count adds no new
//! kind of contention.
//!
//! ## Cost of a freed handle
//!
//! A shell is 16 bytes and is never reclaimed: that is the memory a program
//! gives up per handle it creates and frees. Handler registrations are ids,
//! not handles, and cost nothing once removed.

mod arena;
mod castable;

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use charter_core::{Error, ErrorKind};

pub(crate) use castable::{handle_type, Castable, HandleType};

/// The state word's bit that says the handle was freed.
const FREED: u64 = 1 << 31;
/// The state word's bits that count the borrows in flight.
const BORROWS: u64 = FREED - 1;

/// The arena-resident part of every handle.
pub(crate) struct Shell {
    /// The tag in the high 32 bits, then [`FREED`] and [`BORROWS`].
    state: AtomicU64,
    /// `Box<C::Owned>` of the type the tag names, from `Box::into_raw`;
    /// dropped once, when the state reaches FREED with no borrow.
    object: *mut (),
}

// SAFETY: `object` is only reached as `&C::Owned` (which is `Send + Sync`)
// while a borrow is held, and dropped exactly once by the protocol above.
unsafe impl Send for Shell {}
// SAFETY: as for `Send`.
unsafe impl Sync for Shell {}

/// The size in bytes of one handle shell: the memory kept per freed handle.
pub const SHELL_SIZE: usize = std::mem::size_of::<Shell>();

const _: () = assert!(SHELL_SIZE <= 16, "the documented cost per freed handle is 16 bytes");

impl Shell {
    fn tag(&self) -> u32 {
        // The tag never changes, so any ordering reads it.
        (self.state.load(Ordering::Relaxed) >> 32) as u32
    }
}

/// Creates a handle of type `C` that owns `value`.
pub(crate) fn create<C: Castable>(value: C::Owned) -> Result<*mut C, Error> {
    let object = Box::into_raw(Box::new(value));
    let shell = Shell { state: AtomicU64::new(u64::from(C::TYPE.tag) << 32), object: object.cast() };
    let Some(shell) = arena::ARENA.insert(shell, C::TYPE) else {
        // SAFETY: the box was never shared.
        drop(unsafe { Box::from_raw(object) });
        return Err(Error::new(ErrorKind::LimitExceeded, "the handle arena is full"));
    };
    Ok(shell as *const Shell as *mut C)
}

/// One operation's borrow of a shell of type `C`; given back on drop.
struct Borrow<C: Castable> {
    shell: &'static Shell,
    ty: PhantomData<C>,
}

impl<C: Castable> Borrow<C> {
    /// Borrows `shell` (whose tag is `C`'s), unless it was freed.
    #[inline]
    fn take(shell: &'static Shell, name: &str) -> Result<Borrow<C>, Error> {
        let mut state = shell.state.load(Ordering::Relaxed);
        loop {
            if state & FREED != 0 {
                return Err(freed::<C>(name));
            }
            if state & BORROWS == BORROWS {
                return Err(too_many_borrows::<C>(name));
            }
            match shell.state.compare_exchange_weak(state, state + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Ok(Borrow { shell, ty: PhantomData }),
                Err(now) => state = now,
            }
        }
    }

    #[inline]
    fn get(&self) -> &C::Owned {
        // SAFETY: the tag is `C`'s (checked by `lookup`, and tags are unique
        // per type), so `object` came from a `Box<C::Owned>`; the borrow
        // keeps it from being dropped.
        unsafe { &*self.shell.object.cast::<C::Owned>() }
    }
}

impl<C: Castable> Drop for Borrow<C> {
    #[inline]
    fn drop(&mut self) {
        let before = self.shell.state.fetch_sub(1, Ordering::AcqRel);
        if before & (FREED | BORROWS) == FREED | 1 {
            // SAFETY: freed, and this was the last borrow: no one else can
            // reach the object, and no one else will drop it.
            unsafe { drop_object::<C>(self.shell) };
        }
    }
}

/// Drops the object of `shell`, whose tag is `C`'s.
///
/// # Safety
/// Called once per shell, when its state has reached FREED with no borrow.
#[cold]
unsafe fn drop_object<C: Castable>(shell: &Shell) {
    // SAFETY: by the caller's contract, and `object` came from a
    // `Box<C::Owned>` (the tag is `C`'s).
    drop(unsafe { Box::from_raw(shell.object.cast::<C::Owned>()) });
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
    let borrow = Borrow::<C>::take(shell, name)?;
    f(borrow.get())
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
    let before = shell.state.fetch_or(FREED, Ordering::AcqRel);
    if before & FREED != 0 {
        let kind = C::TYPE.name;
        return Err(Error::new(ErrorKind::AlreadyFreed, format!("{name} ({kind}) was already freed")));
    }
    if before & BORROWS == 0 {
        // Dropping the object may run user code (drop_user_data callbacks);
        // nothing is locked here, so that code may call back into Charter.
        // SAFETY: this call set FREED and nothing borrows the object.
        unsafe { drop_object::<C>(shell) };
    }
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
    if shell.tag() != C::TYPE.tag {
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
        format!("{name} is a {}, expected {}", arena::ARENA.type_name(shell.tag()), C::TYPE.name),
    )
}

#[cold]
fn freed<C: Castable>(name: &str) -> Error {
    Error::new(ErrorKind::HandleFreed, format!("{name} ({}) has been freed", C::TYPE.name))
}

#[cold]
fn too_many_borrows<C: Castable>(name: &str) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!("{name} ({}) has {BORROWS} calls in flight already", C::TYPE.name),
    )
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

    /// The thread's memory of the last shell found (arena.rs) must not
    /// change any verdict: a freed handle is still reported freed, and an
    /// address inside the remembered shell, or of another type, is still
    /// refused.
    #[test]
    fn the_remembered_shell_changes_no_verdict() {
        use charter_core::ErrorKind;

        use crate::registry::{charter_registry_t, Registry};

        let reg = super::create::<charter_registry_t>(Registry::empty()).unwrap();
        let len = |ptr: *const charter_registry_t| super::with(ptr, "reg", |r| Ok(r.len()));
        assert_eq!(len(reg).unwrap(), 0);
        // The shell of `reg` is now the thread's last one found.
        let inside = (reg as usize + 8) as *const charter_registry_t;
        assert_eq!(len(inside).unwrap_err().kind(), ErrorKind::InvalidHandle);
        assert_eq!(len(reg).unwrap(), 0);
        let as_bus = reg as *const crate::bus::charter_bus_t;
        let wrong = super::with(as_bus, "bus", |_| Ok(())).unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::WrongHandleType);
        super::free(reg, "reg").unwrap();
        assert_eq!(len(reg).unwrap_err().kind(), ErrorKind::HandleFreed);
        assert_eq!(super::free(reg, "reg").unwrap_err().kind(), ErrorKind::AlreadyFreed);
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
