//! Reading C arguments: strings, byte buffers and arrays.
//!
//! Each function names the argument in its error, and none keeps a pointer
//! beyond the call (everything Charter keeps is copied by the core).
//!
//! # Invariant
//!
//! Every slice this crate forms from a C (pointer, length) pair is formed
//! by [`slice_arg`] (or by [`PayloadsArg`], on pairs that have passed the
//! same checks), and only after the length has passed its limit, is no
//! more than `isize::MAX` bytes, and does not wrap past the end of the
//! address space, with the pointer aligned for its type. A slice breaking
//! any of these is undefined behaviour in Rust even if it is never read,
//! and the standard library's debug checks would abort the process; here
//! each is an error (`CHARTER_E_LIMIT_EXCEEDED` for a length,
//! `CHARTER_E_INVALID_ARGUMENT` for a pointer) in every build profile.

use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;

use charter_core::{Error, ErrorKind};

use crate::batch::charter_payload_t;
use crate::firewall::null_argument;

/// One message header: a NUL-terminated UTF-8 name and value.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_header_t {
    /// The header's name.
    pub name: *const c_char,
    /// The header's value.
    pub value: *const c_char,
}

/// The string at `ptr`, the argument called `name`.
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(null_argument(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|e| Error::new(ErrorKind::InvalidUtf8, format!("{name} is not UTF-8: {e}")))
}

/// The `len` bytes at `ptr`, the argument called `name` (NULL is allowed
/// when `len` is 0). `limit` sees the length first and may refuse it with
/// the core's own error (for example [`BusLimits::check_payload`]); pass
/// [`any_length`] where the core checks only the content.
///
/// [`BusLimits::check_payload`]: charter_core::bus::BusLimits::check_payload
///
/// # Safety
/// `ptr` must be NULL or valid for reading `len` bytes during the call.
#[inline]
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
    limit: impl FnOnce(usize) -> Result<(), Error>,
) -> Result<&'a [u8], Error> {
    // SAFETY: the caller's contract.
    unsafe { slice_arg(ptr, len, name, limit) }
}

/// The payloads of a batch (the argument `payloads`), every one checked
/// as [`bytes_arg`] checks one: read as slices only after all of them
/// have passed, without a vector of slices made for each call.
#[derive(Clone, Copy)]
pub(crate) struct PayloadsArg<'a> {
    items: &'a [charter_payload_t],
    longest: usize,
}

impl<'a> PayloadsArg<'a> {
    /// Checks each of `items` with `limit` and this module's invariant; a
    /// failure names the payload (`payloads[3]`). The name is formatted
    /// only then, by checking that payload again (the same checks, so the
    /// same error): formatting it for every payload cost about 5% of a
    /// batch of 64.
    ///
    /// # Safety
    /// Each of `items` must have a `data` NULL or valid for reading its
    /// `len` bytes for `'a`.
    pub(crate) unsafe fn new(
        items: &'a [charter_payload_t],
        limit: impl Fn(usize) -> Result<(), Error>,
    ) -> Result<PayloadsArg<'a>, Error> {
        let mut longest = 0;
        for (i, p) in items.iter().enumerate() {
            if span_arg(p.data, p.len, "payloads", &limit).is_err() {
                span_arg(p.data, p.len, &format!("payloads[{i}]"), &limit)?;
            }
            longest = longest.max(p.len);
        }
        Ok(PayloadsArg { items, longest })
    }

    /// The length of the longest payload (0 for none).
    pub(crate) fn longest(&self) -> usize {
        self.longest
    }

    /// The payloads, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.items.iter().map(|p| {
            if p.len == 0 {
                return &[][..];
            }
            // SAFETY: this pair passed `span_arg` in `new` (non-NULL, at
            // most isize::MAX bytes that do not wrap; a byte needs no
            // alignment), and is readable for 'a by `new`'s contract.
            unsafe { std::slice::from_raw_parts(p.data, p.len) }
        })
    }
}

/// For [`bytes_arg`]: a buffer whose length has no limit of its own (the
/// bounds every slice has still apply).
#[inline]
pub(crate) fn any_length(_len: usize) -> Result<(), Error> {
    Ok(())
}

/// The `count` values of type `T` at `ptr`, the argument called `name`:
/// the one place where this crate turns a C (pointer, length) pair into a
/// slice (see the module's invariant). `limit` is asked about `count`
/// before anything else is looked at; a NULL `ptr` is allowed when `count`
/// is 0.
///
/// # Safety
/// `ptr` must be NULL or valid for reading `count` values of `T` during the
/// call.
#[inline]
pub(crate) unsafe fn slice_arg<'a, T>(
    ptr: *const T,
    count: usize,
    name: &str,
    limit: impl FnOnce(usize) -> Result<(), Error>,
) -> Result<&'a [T], Error> {
    if !span_arg(ptr, count, name, limit)? {
        return Ok(&[]);
    }
    // SAFETY: checked by `span_arg` (non-NULL, aligned, at most isize::MAX
    // bytes that do not wrap), and readable by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// The `count` slots for values of type `T` at `ptr`, the argument called
/// `name`: a caller's array that Charter fills. Checked exactly as
/// [`slice_arg`] checks what it reads. The slots are `MaybeUninit`: the
/// caller's array need not be initialized, and Charter only writes them.
///
/// # Safety
/// `ptr` must be NULL or valid for writing `count` values of `T` during
/// the call, and not be read or written by anything else then.
pub(crate) unsafe fn slice_out_arg<'a, T>(
    ptr: *mut T,
    count: usize,
    name: &str,
    limit: impl FnOnce(usize) -> Result<(), Error>,
) -> Result<&'a mut [MaybeUninit<T>], Error> {
    if !span_arg(ptr.cast_const(), count, name, limit)? {
        return Ok(&mut []);
    }
    // SAFETY: checked by `span_arg`; writable and unaliased by the
    // caller's contract; `MaybeUninit<T>` has `T`'s layout and asks
    // nothing of the bytes already there.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), count) })
}

/// The checks of this module's invariant on a (pointer, count) pair;
/// `Ok(false)` for an empty span, whose pointer may be anything.
#[inline]
fn span_arg<T>(
    ptr: *const T,
    count: usize,
    name: &str,
    limit: impl FnOnce(usize) -> Result<(), Error>,
) -> Result<bool, Error> {
    limit(count)?;
    let size = std::mem::size_of::<T>().max(1);
    let largest = isize::MAX as usize / size;
    if count > largest {
        return Err(too_many_elements(name, count, largest));
    }
    if count == 0 {
        return Ok(false);
    }
    if ptr.is_null() {
        return Err(null_argument(name));
    }
    if !ptr.is_aligned() {
        return Err(not_aligned(name));
    }
    if (ptr as usize).checked_add(count * size).is_none() {
        return Err(past_the_end(name, count));
    }
    Ok(true)
}

// The errors of `span_arg`, built out of line so that a call whose span is
// fine (every call but a misuse) does not set up their formatting.

#[cold]
#[inline(never)]
fn too_many_elements(name: &str, count: usize, largest: usize) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!("{name} has {count} elements; no buffer can hold more than {largest}"),
    )
}

#[cold]
#[inline(never)]
fn not_aligned(name: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{name} is not aligned for its type"))
}

#[cold]
#[inline(never)]
fn past_the_end(name: &str, count: usize) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("{name} with {count} elements runs past the end of the address space"),
    )
}

/// A refusal of a batch of no messages: `count`, the argument called
/// `name`, must be at least 1.
pub(crate) fn at_least_one(name: &str, count: usize) -> Result<(), Error> {
    if count == 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{name} is 0; a batch holds at least one message"),
        ));
    }
    Ok(())
}

/// A refusal of more than `max` items in the argument called `name`.
pub(crate) fn at_most(max: usize, name: &str, count: usize) -> Result<(), Error> {
    if count > max {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("{name}: {count} entries; the limit is {max}"),
        ));
    }
    Ok(())
}

/// The `count` headers at `ptr` (the argument `headers`); `limit` sees
/// the count before any header is read, so a hostile count cannot make
/// Charter allocate ([`bus_headers`] for a bus's own limit).
///
/// # Safety
/// `ptr` must be NULL (with `count` 0) or point to `count` headers whose
/// strings are valid for the call.
pub(crate) unsafe fn headers_arg<'a>(
    ptr: *const charter_header_t,
    count: usize,
    limit: impl FnOnce(usize) -> Result<(), Error>,
) -> Result<Vec<(&'a str, &'a str)>, Error> {
    // SAFETY: the caller's contract.
    unsafe { named_headers_arg(ptr, count, "headers", limit) }
}

/// [`headers_arg`] for the headers argument called `name`, such as a
/// field of an array element (`messages[2].headers`).
///
/// # Safety
/// As [`headers_arg`].
pub(crate) unsafe fn named_headers_arg<'a>(
    ptr: *const charter_header_t,
    count: usize,
    name: &str,
    limit: impl FnOnce(usize) -> Result<(), Error>,
) -> Result<Vec<(&'a str, &'a str)>, Error> {
    // SAFETY: the caller's contract.
    let headers = unsafe { slice_arg(ptr, count, name, limit)? };
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // SAFETY: the caller guarantees valid strings in each header.
            let key = unsafe { str_arg(h.name, &format!("{name}[{i}].name")) }?;
            // SAFETY: as above.
            let value = unsafe { str_arg(h.value, &format!("{name}[{i}].value")) }?;
            Ok((key, value))
        })
        .collect()
}

/// For [`headers_arg`]: a bus's limit of `max` headers a message, in the
/// bus's own words.
pub(crate) fn bus_headers(max: usize) -> impl FnOnce(usize) -> Result<(), Error> {
    move |n| {
        if n > max {
            return Err(Error::new(ErrorKind::LimitExceeded, format!("{n} headers; the bus limit is {max}")));
        }
        Ok(())
    }
}

/// The `count` strings at `ptr`, the argument called `name`, refusing more
/// than `max` before reading any.
///
/// # Safety
/// `ptr` must be NULL (with `count` 0) or point to `count` NUL-terminated
/// strings valid for the call.
pub(crate) unsafe fn str_array_arg<'a>(
    ptr: *const *const c_char,
    count: usize,
    max: usize,
    name: &str,
) -> Result<Vec<&'a str>, Error> {
    // SAFETY: the caller's contract.
    let items = unsafe { slice_arg(ptr, count, name, |n| at_most(max, name, n))? };
    items
        .iter()
        .enumerate()
        // SAFETY: the caller guarantees each is a valid string.
        .map(|(i, &p)| unsafe { str_arg(p, &format!("{name}[{i}]")) })
        .collect()
}

/// Strings read from C, owned, for a core type that keeps them.
pub(crate) fn owned(strings: Vec<&str>) -> Vec<String> {
    strings.into_iter().map(str::to_owned).collect()
}

/// The `N` bytes at `ptr`, the argument called `name`.
///
/// # Safety
/// `ptr` must be NULL or valid for reading `N` bytes.
pub(crate) unsafe fn array_arg<const N: usize>(ptr: *const u8, name: &str) -> Result<[u8; N], Error> {
    if ptr.is_null() {
        return Err(null_argument(name));
    }
    let mut out = [0u8; N];
    // SAFETY: the caller guarantees `N` readable bytes.
    out.copy_from_slice(unsafe { slice_arg(ptr, N, name, any_length)? });
    Ok(out)
}

/// The optional string at `ptr`, the argument called `name`: `None` for
/// NULL.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    unsafe { str_arg(ptr, name) }.map(Some)
}

/// The struct at `ptr`, the argument called `name`, borrowed for the call.
///
/// # Safety
/// `ptr` must be NULL or valid for reading a `T` during the call.
pub(crate) unsafe fn struct_arg<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Error> {
    // SAFETY: the caller's contract.
    unsafe { opt_struct_arg(ptr, name) }?.ok_or_else(|| null_argument(name))
}

/// The struct at `ptr`, the argument called `name`, borrowed for the
/// call, or `None` for NULL (the caller's defaults).
///
/// # Safety
/// `ptr` must be NULL or valid for reading a `T` during the call.
pub(crate) unsafe fn opt_struct_arg<'a, T>(ptr: *const T, name: &str) -> Result<Option<&'a T>, Error> {
    if !ptr.is_aligned() {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{name} is not aligned for its type")));
    }
    // SAFETY: aligned, and NULL or readable by the caller's contract.
    Ok(unsafe { ptr.as_ref() })
}

/// The callback `f`, the argument called `name`, which C may not leave
/// NULL.
pub(crate) fn fn_arg<F>(f: Option<F>, name: &str) -> Result<F, Error> {
    f.ok_or_else(|| null_argument(name))
}

/// The name C gives the Rust parameter or field path `rust`: a parameter
/// spelled `r#fn` in Rust is `fn` in the header.
#[inline]
pub(crate) fn c_name(rust: &'static str) -> &'static str {
    rust.strip_prefix("r#").unwrap_or(rust)
}

/// The C name of the argument `$p` (a parameter, or a field path of a
/// struct argument copied into a local of the parameter's name, such as
/// `options.origin`): how every macro below names what it reads in its
/// errors, so no export spells an argument's name by hand.
///
/// A field of an element of an array argument is read through a local
/// holding the element: `at => import.pattern`, where `at` is the
/// element's C name from `arg_item!` (`options.imports[2]`), names
/// `options.imports[2].pattern`. Every macro below takes that form too.
macro_rules! arg_name {
    ($at:ident => $v:ident $(. $f:ident)+) => {
        &format!("{}.{}", $at, stringify!($($f).+))
    };
    ($($p:ident).+) => {
        $crate::args::c_name(stringify!($($p).+))
    };
}

/// The value an argument spec of `arg_name!` reads: the path itself, or
/// the element's field.
macro_rules! arg_value {
    ($at:ident => $($v:ident).+) => {
        $($v).+
    };
    ($($p:ident).+) => {
        $($p).+
    };
}

/// The C name of element `i` of the array argument `a` (a parameter or a
/// field path, as for `arg_name!`), such as `options.imports[2]`: the
/// `at` of the macros' element form.
macro_rules! arg_item {
    ($($a:ident).+ [$i:expr]) => {
        format!("{}[{}]", $crate::args::arg_name!($($a).+), $i)
    };
}

/// `read_arg!(p => |name| f(p, .., name))`: runs the reader call with
/// `name` bound to the C name of `p` (either form of `arg_name!`), in the
/// one `unsafe` block every argument macro below shares;
/// `read_arg!(reader, p)` is `reader(p, "p")` for a reader of `args`.
macro_rules! read_arg {
    ([$($spec:tt)+] => |$name:ident| $read:expr) => {{
        let $name: &str = $crate::args::arg_name!($($spec)+);
        // An export may already be inside an unsafe block here.
        #[allow(unused_unsafe)]
        // SAFETY: every export's contract (its `# Safety` section) makes
        // each pointer argument NULL or valid for the call as documented:
        // a string NUL-terminated, a buffer, array or struct readable for
        // its length or type, an output array writable and unaliased.
        let arg = unsafe { $read };
        arg
    }};
    ($reader:ident, $($spec:tt)+) => {
        $crate::args::read_arg!([$($spec)+] => |name| {
            $crate::args::$reader($crate::args::arg_value!($($spec)+), name)
        })
    };
}

/// `str_arg(ptr, "ptr")`: the string argument `ptr` (or a field path such
/// as `options.origin`), named after itself; `arg_opt_str!` reads one that
/// may be NULL (`None`).
macro_rules! arg_str {
    ($($spec:tt)+) => {
        $crate::args::read_arg!(str_arg, $($spec)+)
    };
}

macro_rules! arg_opt_str {
    ($($spec:tt)+) => {
        $crate::args::read_arg!(opt_str_arg, $($spec)+)
    };
}

/// `bytes_arg(ptr, len, "ptr", limit)`: the buffer argument `ptr` of `len`
/// bytes (any length unless a `limit` is given).
macro_rules! arg_bytes {
    ($($p:ident).+, $len:expr) => {
        $crate::args::arg_bytes!($($p).+, $len, $crate::args::any_length)
    };
    ($($p:ident).+, $len:expr, $limit:expr) => {
        $crate::args::read_arg!([$($p).+] => |name| $crate::args::bytes_arg($($p).+, $len, name, $limit))
    };
}

/// `slice_arg(ptr, count, "ptr", limit)`: the array argument `ptr` of
/// `count` elements; `arg_slice!(ptr, count, max m)` refuses more than `m`
/// with [`at_most`]. `arg_slice!(mut ptr, ...)` is the caller's array of
/// `count` slots that Charter fills ([`slice_out_arg`]). An element's
/// field is `arg_slice!([at => element.field], ...)`.
macro_rules! arg_slice {
    (mut $($p:ident).+, $($rest:tt)+) => {
        $crate::args::arg_slice!(@read slice_out_arg, [$($p).+], $($rest)+)
    };
    (@read $read:ident, [$($spec:tt)+], $count:expr, max $max:expr) => {
        $crate::args::read_arg!([$($spec)+] => |name| {
            $crate::args::$read($crate::args::arg_value!($($spec)+), $count, name, |n| {
                $crate::args::at_most($max, name, n)
            })
        })
    };
    (@read $read:ident, [$($spec:tt)+], $count:expr, $limit:expr) => {
        $crate::args::read_arg!([$($spec)+] => |name| {
            $crate::args::$read($crate::args::arg_value!($($spec)+), $count, name, $limit)
        })
    };
    ([$($spec:tt)+], $($rest:tt)+) => {
        $crate::args::arg_slice!(@read slice_arg, [$($spec)+], $($rest)+)
    };
    ($($p:ident).+, $($rest:tt)+) => {
        $crate::args::arg_slice!(@read slice_arg, [$($p).+], $($rest)+)
    };
}

/// `str_array_arg(ptr, count, max, "ptr")`: the array of `count` strings
/// at `ptr`, at most `max` of them.
macro_rules! arg_str_array {
    ($($p:ident).+, $count:expr, $max:expr) => {
        $crate::args::read_arg!([$($p).+] => |name| $crate::args::str_array_arg($($p).+, $count, $max, name))
    };
}

/// `array_arg(ptr, "ptr")`: the fixed-size buffer argument `ptr` (its size
/// is the type the result is bound to).
macro_rules! arg_array {
    ($($spec:tt)+) => {
        $crate::args::read_arg!(array_arg, $($spec)+)
    };
}

/// `struct_arg(ptr, "ptr")`: the required struct argument `ptr`, borrowed;
/// `arg_opt_struct!` for one that may be NULL (`None`: the defaults).
macro_rules! arg_struct {
    ($($spec:tt)+) => {
        $crate::args::read_arg!(struct_arg, $($spec)+)
    };
}

macro_rules! arg_opt_struct {
    ($($spec:tt)+) => {
        $crate::args::read_arg!(opt_struct_arg, $($spec)+)
    };
}

/// `fn_arg(f, "f")`: the callback argument `f`, which may not be NULL.
macro_rules! arg_fn {
    ($($p:ident).+) => {
        $crate::args::fn_arg($($p).+, $crate::args::arg_name!($($p).+))
    };
}

pub(crate) use {
    arg_array, arg_bytes, arg_fn, arg_item, arg_name, arg_opt_str, arg_opt_struct, arg_slice, arg_str,
    arg_str_array, arg_struct, arg_value, read_arg,
};
