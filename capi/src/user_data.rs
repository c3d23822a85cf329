//! The one owner of a C callback's `user_data`, for every callback kind
//! (registry handlers, bus message callbacks).

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

/// Releases a callback's `user_data` when its registration ends.
///
/// It runs once no call can still be using the callback, which may be
/// inside whichever Charter call lets go of it last (an unregister, a
/// free, or a notify or publish in progress on another thread), on that
/// call's thread. No Charter lock is held when it runs.
pub type charter_drop_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C caller's `user_data` with its optional release function. Once
/// armed, dropping it calls `drop_user_data(user_data)`, exactly once;
/// unarmed (the registration never began), `user_data` stays the caller's.
pub(crate) struct UserData {
    ptr: *mut c_void,
    drop_user_data: charter_drop_fn,
    armed: AtomicBool,
}

// SAFETY: registering a callback is the C caller's promise that its user
// data may be used and released from any thread (documented on each
// registering function); Charter only passes it back to the caller's own
// functions.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

impl UserData {
    /// Owns `ptr` from now on: for registrations that cannot fail past
    /// this point.
    pub(crate) fn owned(ptr: *mut c_void, drop_user_data: charter_drop_fn) -> UserData {
        UserData { ptr, drop_user_data, armed: AtomicBool::new(true) }
    }

    /// Holds `ptr` without owning it until [`UserData::arm`]: for
    /// registrations that may still fail after the callback is built.
    pub(crate) fn pending(ptr: *mut c_void, drop_user_data: charter_drop_fn) -> UserData {
        UserData { ptr, drop_user_data, armed: AtomicBool::new(false) }
    }

    /// The registration has begun: dropping now releases `user_data`.
    pub(crate) fn arm(&self) {
        self.armed.store(true, Ordering::Release);
    }

    /// The pointer to pass back to the caller's callback.
    #[inline]
    pub(crate) fn get(&self) -> *mut c_void {
        self.ptr
    }

    /// Releases `user_data` now rather than on drop (a run-once handler,
    /// right after its one call); dropping it later then does nothing.
    /// Only the first of any number of calls, here or by drop, releases.
    pub(crate) fn release(&self) {
        if !self.armed.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Some(drop_user_data) = self.drop_user_data {
            // SAFETY: the caller registered it to release `user_data`,
            // once; the swap lets only one call through.
            unsafe { drop_user_data(self.ptr) };
        }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        self.release();
    }
}
