//! Output parameters: checked on entry, written only on success.
//!
//! An export turns each out-pointer into an [`Out`] (required) or an
//! [`OptOut`] (may be NULL) at the top of its body, with [`out!`] and
//! [`opt_out!`], before doing any work: a NULL required output fails the
//! call before anything happens. The value is written at the end, by
//! consuming the `Out`, so a failed call leaves every output untouched.
//! An export whose last step is writing one value ends with `put`, which
//! writes and reports success: `call(|| out!(out)?.put(borrow!(h, f)?))`
//! checks the output, then works, then writes.
//!
//! The one `unsafe` step is constructing them: every export's contract
//! (its `# Safety` section) says each out-pointer is NULL or valid for a
//! write of its type during the call, and nothing else is required.

use std::ffi::c_char;
use std::ptr::NonNull;

use charter_core::Error;

use crate::firewall::null_argument;
use crate::handle::{self, Castable};
use crate::strings::c_string;

/// A required out-parameter, known to be non-NULL.
pub(crate) struct Out<T> {
    ptr: NonNull<T>,
}

impl<T> Out<T> {
    /// Checks the out-parameter `ptr`, called `name` in the error.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for a write of `T` until this `Out` is
    /// consumed.
    #[inline]
    pub(crate) unsafe fn new(ptr: *mut T, name: &str) -> Result<Out<T>, Error> {
        NonNull::new(ptr).map(|ptr| Out { ptr }).ok_or_else(|| null_argument(name))
    }

    /// Writes `value`: the call has succeeded.
    #[inline]
    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL, and valid for the write by `new`'s contract.
        unsafe { self.ptr.as_ptr().write(value) };
    }
}

impl Out<*mut c_char> {
    /// Hands `text` to C as a caller-owned string (free with
    /// `charter_string_free`).
    pub(crate) fn write_string(self, text: String) {
        self.write(c_string(text).into_raw());
    }
}

/// A value an output of type `T` is written from: a `T` itself, or a
/// `String` for a caller-owned C string. What `put` takes.
pub(crate) trait OutValue<T> {
    fn into_c(self) -> T;
}

impl<T> OutValue<T> for T {
    #[inline]
    fn into_c(self) -> T {
        self
    }
}

impl OutValue<*mut c_char> for String {
    fn into_c(self) -> *mut c_char {
        c_string(self).into_raw()
    }
}

impl<T> Out<T> {
    /// Writes `value` as the export's last step, which has succeeded.
    #[inline]
    pub(crate) fn put(self, value: impl OutValue<T>) -> Result<(), Error> {
        self.write(value.into_c());
        Ok(())
    }
}

impl<C: Castable> Out<*mut C> {
    /// Creates a handle owning `value` and writes it: the one way an export
    /// hands out a new handle.
    pub(crate) fn write_handle(self, value: C::Owned) -> Result<(), Error> {
        self.write(handle::create(value)?);
        Ok(())
    }
}

/// An out-parameter that may be NULL, in which case nothing is written.
pub(crate) struct OptOut<T> {
    ptr: Option<NonNull<T>>,
}

impl<T> OptOut<T> {
    /// # Safety
    /// `ptr` must be NULL or valid for a write of `T` until this `OptOut`
    /// is consumed.
    #[inline]
    pub(crate) unsafe fn new(ptr: *mut T) -> OptOut<T> {
        OptOut { ptr: NonNull::new(ptr) }
    }

    /// Writes `value` unless the caller passed NULL.
    #[inline]
    pub(crate) fn write(self, value: T) {
        if let Some(ptr) = self.ptr {
            // SAFETY: non-NULL, and valid for the write by `new`'s contract.
            unsafe { ptr.as_ptr().write(value) };
        }
    }
}

impl<T> OptOut<T> {
    /// Writes `value` unless the caller passed NULL (then a string is not
    /// even allocated), as the export's last step, which has succeeded.
    #[inline]
    pub(crate) fn put(self, value: impl OutValue<T>) -> Result<(), Error> {
        if self.ptr.is_some() {
            self.write(value.into_c());
        }
        Ok(())
    }
}

/// A caller-owned byte buffer written through a (pointer, length) pair of
/// out-parameters (free with `charter_bytes_free`).
pub(crate) struct BytesOut {
    ptr: Out<*mut u8>,
    len: Out<usize>,
}

impl BytesOut {
    pub(crate) fn new(ptr: Out<*mut u8>, len: Out<usize>) -> BytesOut {
        BytesOut { ptr, len }
    }

    /// Writes a Merkle proof, its hashes one after the other, as the
    /// export's last step, which has succeeded.
    pub(crate) fn put_proof(self, proof: Vec<charter_core::audit::Hash>) -> Result<(), Error> {
        self.put(proof.concat())
    }

    pub(crate) fn write(self, bytes: Vec<u8>) {
        self.len.write(bytes.len());
        self.ptr.write(Box::into_raw(bytes.into_boxed_slice()).cast::<u8>());
    }

    /// Writes `bytes` as the export's last step, which has succeeded.
    pub(crate) fn put(self, bytes: Vec<u8>) -> Result<(), Error> {
        self.write(bytes);
        Ok(())
    }
}

/// `Out::new(ptr, "ptr")`: the required out-parameter `ptr`, named after
/// the parameter itself. Relies on the export's contract that `ptr` is
/// NULL or valid for a write.
/// `out!(ptr as T)` reads a C buffer parameter (`uint8_t *out_hash`, valid
/// for 32 bytes) as one `T` (`[u8; 32]`) of alignment 1.
macro_rules! out {
    ($ptr:ident) => {
        // SAFETY: every export's contract makes each out-pointer NULL or
        // valid for a write of its type during the call.
        unsafe { $crate::out::Out::new($ptr, stringify!($ptr)) }
    };
    ($ptr:ident as $t:ty) => {
        // SAFETY: as above, with the buffer's documented length that of
        // `$t`, whose alignment is 1.
        unsafe { $crate::out::Out::<$t>::new($ptr.cast::<$t>(), stringify!($ptr)) }
    };
}

/// `OptOut::new(ptr)`: the optional out-parameter `ptr`; `opt_out!(ptr as
/// T)` as for `out!`.
macro_rules! opt_out {
    ($ptr:ident) => {
        // SAFETY: as for `out!`.
        unsafe { $crate::out::OptOut::new($ptr) }
    };
    ($ptr:ident as $t:ty) => {
        // SAFETY: as for `out!(ptr as T)`.
        unsafe { $crate::out::OptOut::<$t>::new($ptr.cast::<$t>()) }
    };
}

/// `BytesOut::new(out!(ptr)?, out!(len)?)`: the (pointer, length) pair of
/// out-parameters `ptr` and `len` for a caller-owned buffer, both required.
macro_rules! bytes_out {
    ($ptr:ident, $len:ident) => {
        $crate::out::out!($ptr).and_then(|ptr| Ok($crate::out::BytesOut::new(ptr, $crate::out::out!($len)?)))
    };
}

pub(crate) use {bytes_out, opt_out, out};
