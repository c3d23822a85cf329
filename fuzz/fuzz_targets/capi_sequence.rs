//! The C ABI as a C program would drive it, badly: the input is a program
//! of calls over eight handle slots, across every handle type (registry,
//! bus, key pair, token, authority, session, audit log). Calls create,
//! operate and free; slots can hold NULL, a copy of another slot (so a
//! handle is used after another copy freed it), an address that was never
//! a handle, or a pointer into the middle of a handle's shell, and any slot
//! can be passed where any handle type is expected. Callbacks free their
//! own parent, re-enter it once or up to 64 levels deep, or fail. Lengths
//! no buffer can have (above `isize::MAX`) go to every (pointer, length)
//! argument and must be refused; subscription ids issued by one bus are
//! used on another and must be `NOT_FOUND` there.
//!
//! Every call must return a status Charter defines, never `PANIC` or
//! `INTERNAL`, and exactly the status the handle's state calls for (NULL,
//! never a handle, wrong type, freed, double free) whenever the other
//! arguments are valid. Each input ends by freeing what is still live and
//! checking that every registration's `user_data` was released exactly
//! once; ASan and LeakSanitizer (the fuzz build) catch any memory error or
//! leak on the way.
#![no_main]

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

use charter::audit::*;
use charter::bus::*;
use charter::capability::*;
use charter::client::*;
use charter::handle::SHELL_SIZE;
use charter::message::{charter_message_free, charter_message_t};
use charter::registry::*;
use charter::status::*;
use charter::strings::{charter_bytes_free, charter_string_free};
use libfuzzer_sys::fuzz_target;

const SLOTS: usize = 8;
const T0: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Registry,
    Bus,
    Client,
    KeyPair,
    Token,
    Authority,
    Session,
    Audit,
}

const KINDS: [Kind; 8] = [
    Kind::Registry,
    Kind::Bus,
    Kind::Client,
    Kind::KeyPair,
    Kind::Token,
    Kind::Authority,
    Kind::Session,
    Kind::Audit,
];

/// A handle this program created, and what it knows of its state.
struct Entry {
    ptr: *mut c_void,
    kind: Kind,
    freed: bool,
}

/// What a slot passes where a handle is expected.
#[derive(Clone, Copy)]
enum Target {
    Null,
    /// An entry of the handle table (several slots may share one).
    Handle(usize),
    /// An address that is not the start of any handle's shell.
    Never(*mut c_void),
}

/// Bytes no handle ever lives in.
static NEVER: [u8; 64] = [0; 64];

thread_local! {
    /// `user_data` given to Charter and not yet released.
    static LIVE_HOOKS: Cell<i64> = const { Cell::new(0) };
    /// Frees performed by callbacks, in order: (handle, status).
    static FREED_INSIDE: RefCell<Vec<(*mut c_void, charter_status_t)>> = const { RefCell::new(Vec::new()) };
    /// Callback nesting, so a re-entering callback re-enters once (or, in
    /// the deep mode, up to `DEEP` levels).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Every subscription id a subscribe returned, with its bus.
    static ISSUED: RefCell<Vec<(*mut c_void, u64)>> = const { RefCell::new(Vec::new()) };
}

/// How deep a deep-mode callback re-enters its parent.
const DEEP: u32 = 64;

/// Lengths no buffer can have: every call must refuse them without
/// reading a byte.
const EXTREME: [usize; 4] = [usize::MAX, isize::MAX as usize + 1, usize::MAX - 31, usize::MAX / 2 + 32];

/// A callback's `user_data`: what it does when called.
struct Hook {
    mode: u8,
    /// The registry or bus the callback was registered on.
    parent: *mut c_void,
}

fn hook(mode: u8, parent: *mut c_void) -> *mut c_void {
    LIVE_HOOKS.with(|n| n.set(n.get() + 1));
    Box::into_raw(Box::new(Hook { mode, parent })).cast()
}

unsafe extern "C" fn drop_hook(user_data: *mut c_void) {
    // SAFETY: every hook is a `Box<Hook>` released here exactly once, or
    // ASan reports the double free.
    drop(unsafe { Box::from_raw(user_data.cast::<Hook>()) });
    LIVE_HOOKS.with(|n| n.set(n.get() - 1));
}

fn record_inner_free(ptr: *mut c_void, status: charter_status_t) {
    FREED_INSIDE.with(|f| f.borrow_mut().push((ptr, status)));
}

unsafe extern "C" fn registry_handler(
    user_data: *mut c_void,
    _event: *const u8,
    _len: usize,
) -> charter_status_t {
    // SAFETY: live until drop_hook.
    let hook = unsafe { &*user_data.cast::<Hook>() };
    let reg = hook.parent.cast::<charter_registry_t>();
    match hook.mode % 5 {
        1 => CHARTER_E_INVALID_ARGUMENT,
        // SAFETY: Charter validates the handle.
        2 => unsafe {
            record_inner_free(hook.parent, charter_registry_free(reg));
            CHARTER_OK
        },
        3 if DEPTH.with(Cell::get) == 0 => reenter(1, || {
            // SAFETY: Charter validates the handle.
            unsafe { charter_registry_notify(reg, ptr::null(), 0, ptr::null_mut()) }
        }),
        4 if DEPTH.with(Cell::get) < DEEP => reenter(DEPTH.with(Cell::get) + 1, || {
            // SAFETY: Charter validates the handle.
            unsafe { charter_registry_notify(reg, ptr::null(), 0, ptr::null_mut()) }
        }),
        _ => CHARTER_OK,
    }
}

unsafe extern "C" fn bus_handler(user_data: *mut c_void, msg: *const charter_message_t) -> charter_status_t {
    // SAFETY: live until drop_hook; `msg` is valid for the call.
    let (hook, msg) = unsafe { (&*user_data.cast::<Hook>(), &*msg) };
    // SAFETY: the topic is NUL-terminated and valid for the call.
    assert!(!unsafe { CStr::from_ptr(msg.topic) }.to_bytes().is_empty());
    let client = hook.parent.cast::<charter_client_t>();
    let publish = || {
        let topic = c"fuzz.inner";
        // SAFETY: Charter validates the handle; the arguments are valid.
        unsafe {
            charter_client_publish(client, topic.as_ptr(), ptr::null(), 0, ptr::null(), 0, ptr::null_mut())
        }
    };
    match hook.mode % 5 {
        1 => CHARTER_E_INVALID_ARGUMENT,
        // SAFETY: Charter validates the handle.
        2 => unsafe {
            record_inner_free(hook.parent, charter_client_free(client));
            CHARTER_OK
        },
        3 if DEPTH.with(Cell::get) == 0 => reenter(1, publish),
        4 if DEPTH.with(Cell::get) < DEEP => reenter(DEPTH.with(Cell::get) + 1, publish),
        _ => CHARTER_OK,
    }
}

/// Runs `call` (a re-entry into the callback's parent) at nesting `depth`,
/// then restores the depth around it. The call may fail (a nesting limit,
/// a freed parent), but only with a status Charter defines.
fn reenter(depth: u32, call: impl FnOnce() -> charter_status_t) -> charter_status_t {
    let outer = DEPTH.with(|d| d.replace(depth));
    let status = call();
    DEPTH.with(|d| d.set(outer));
    assert_defined(status);
    CHARTER_OK
}

/// The input, read as needed; past its end every read gives zeros.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = usize::from(self.byte() % 48).min(self.0.len());
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        taken.to_vec()
    }

    /// A NUL-terminated string: one of a few that Charter accepts, or
    /// arbitrary bytes (possibly not UTF-8).
    fn text(&mut self) -> CString {
        const GOOD: [&str; 6] =
            ["fuzz.a", "fuzz.*", "fuzz.>", "publish fuzz.>", "subscribe fuzz.*", "fuzz.inner"];
        let pick = self.byte();
        let bytes = match pick {
            0..=191 => GOOD[usize::from(pick) % GOOD.len()].as_bytes().to_vec(),
            _ => self.bytes(),
        };
        CString::new(bytes.into_iter().filter(|&b| b != 0).collect::<Vec<u8>>()).expect("NULs removed")
    }
}

/// Statuses a call must never return: a panic caught at the boundary or a
/// bug in Charter.
fn assert_defined(status: charter_status_t) {
    // SAFETY: the name is a static string.
    let name = unsafe { CStr::from_ptr(charter_status_name(status)) };
    assert_ne!(name.to_bytes(), b"CHARTER_E_UNKNOWN", "undefined status {status}");
    assert_ne!(status, CHARTER_E_PANIC, "a panic reached the firewall");
    assert_ne!(status, CHARTER_E_INTERNAL, "Charter reported a bug of its own");
}

/// Statuses that only a handle argument's state explains.
const HANDLE_ERRORS: [charter_status_t; 5] = [
    CHARTER_E_NULL_ARGUMENT,
    CHARTER_E_INVALID_HANDLE,
    CHARTER_E_WRONG_HANDLE_TYPE,
    CHARTER_E_HANDLE_FREED,
    CHARTER_E_ALREADY_FREED,
];

/// Failures an argument other than the handle explains.
const ARGUMENT_ERRORS: [charter_status_t; 5] = [
    CHARTER_E_NULL_ARGUMENT,
    CHARTER_E_INVALID_ARGUMENT,
    CHARTER_E_INVALID_UTF8,
    CHARTER_E_LIMIT_EXCEEDED,
    CHARTER_E_MALFORMED,
];

struct Program {
    entries: Vec<Entry>,
    slots: [Target; SLOTS],
}

impl Program {
    fn ptr(&self, slot: usize) -> *mut c_void {
        match self.slots[slot % SLOTS] {
            Target::Null => ptr::null_mut(),
            Target::Handle(i) => self.entries[i].ptr,
            Target::Never(p) => p,
        }
    }

    fn p<T>(&self, slot: usize) -> *mut T {
        self.ptr(slot).cast()
    }

    /// The status a call on `slot` as a `kind` must return because of the
    /// handle alone, or `None` when the handle is live and of that kind.
    fn handle_status(&self, slot: usize, kind: Kind, freeing: bool) -> Option<charter_status_t> {
        match self.slots[slot % SLOTS] {
            Target::Null if freeing => Some(CHARTER_OK),
            Target::Null => Some(CHARTER_E_NULL_ARGUMENT),
            Target::Never(_) => Some(CHARTER_E_INVALID_HANDLE),
            Target::Handle(i) if self.entries[i].kind != kind => Some(CHARTER_E_WRONG_HANDLE_TYPE),
            Target::Handle(i) if self.entries[i].freed && freeing => Some(CHARTER_E_ALREADY_FREED),
            Target::Handle(i) if self.entries[i].freed => Some(CHARTER_E_HANDLE_FREED),
            Target::Handle(_) => None,
        }
    }

    /// Checks the status of a call on `slot` as a `kind`. With `exact`, the
    /// other arguments were valid, so a handle problem must be reported as
    /// exactly that; otherwise an argument problem may be reported first.
    /// Returns whether the call succeeded.
    fn check(&mut self, slot: usize, kind: Kind, status: charter_status_t, exact: bool) -> bool {
        if !exact {
            return self.check_all(&[(slot, kind)], status);
        }
        assert_defined(status);
        let expected = self.handle_status(slot, kind, false);
        self.absorb_inner_frees();
        match expected {
            Some(expected) => assert_eq!(status, expected, "{kind:?} in slot {}", slot % SLOTS),
            None => assert!(
                !HANDLE_ERRORS.contains(&status),
                "{kind:?} in slot {}: live handle refused with {status}",
                slot % SLOTS
            ),
        }
        status == CHARTER_OK
    }

    /// Checks the status of a call on several handles whose other arguments
    /// may be invalid: a handle problem or an argument problem must be
    /// reported if there is one, and a live handle is never refused as such.
    fn check_all(&mut self, handles: &[(usize, Kind)], status: charter_status_t) -> bool {
        assert_defined(status);
        let problems: Vec<_> =
            handles.iter().filter_map(|&(slot, kind)| self.handle_status(slot, kind, false)).collect();
        self.absorb_inner_frees();
        if problems.is_empty() {
            assert!(
                !HANDLE_ERRORS.contains(&status) || ARGUMENT_ERRORS.contains(&status),
                "live handles {handles:?} refused with {status}"
            );
        } else {
            assert!(
                problems.contains(&status) || ARGUMENT_ERRORS.contains(&status),
                "handles {handles:?}: {status}, expected one of {problems:?}"
            );
        }
        status == CHARTER_OK
    }

    /// Applies the frees callbacks made during the last call.
    fn absorb_inner_frees(&mut self) {
        for (ptr, status) in FREED_INSIDE.with(|f| std::mem::take(&mut *f.borrow_mut())) {
            let entry =
                self.entries.iter_mut().find(|e| e.ptr == ptr).expect("callbacks free their own parent");
            let expected = if entry.freed { CHARTER_E_ALREADY_FREED } else { CHARTER_OK };
            assert_eq!(status, expected, "a free from inside a callback");
            entry.freed = true;
        }
    }

    fn adopt(&mut self, slot: usize, ptr: *mut c_void, kind: Kind) {
        assert!(!ptr.is_null());
        assert!(self.entries.iter().all(|e| e.ptr != ptr), "a new handle reuses an address");
        self.entries.push(Entry { ptr, kind, freed: false });
        self.slots[slot % SLOTS] = Target::Handle(self.entries.len() - 1);
    }

    fn free(&mut self, slot: usize, kind: Kind) {
        let p = self.ptr(slot);
        // SAFETY: Charter validates every handle argument.
        let status = unsafe {
            match kind {
                Kind::Registry => charter_registry_free(p.cast()),
                Kind::Bus => charter_bus_free(p.cast()),
                Kind::Client => charter_client_free(p.cast()),
                Kind::KeyPair => charter_keypair_free(p.cast()),
                Kind::Token => charter_token_free(p.cast()),
                Kind::Authority => charter_authority_free(p.cast()),
                Kind::Session => charter_session_free(p.cast()),
                Kind::Audit => charter_audit_free(p.cast()),
            }
        };
        assert_defined(status);
        let expected = self.handle_status(slot, kind, true).unwrap_or(CHARTER_OK);
        self.absorb_inner_frees();
        assert_eq!(status, expected, "freeing slot {} as {kind:?}", slot % SLOTS);
        if let (CHARTER_OK, Target::Handle(i)) = (status, self.slots[slot % SLOTS]) {
            self.entries[i].freed = true;
        }
    }

    /// A cheap read of a `kind`, with arguments that are always valid, so
    /// its status must match the handle's state exactly.
    fn probe(&mut self, slot: usize, kind: Kind) {
        let mut text: *mut c_char = ptr::null_mut();
        let mut n = 0usize;
        let mut n64 = 0u64;
        let mut flag = false;
        let mut challenge = [0u8; CHARTER_CHALLENGE_LEN];
        // SAFETY: Charter validates every handle argument; outputs are valid.
        let status = unsafe {
            match kind {
                Kind::Registry => charter_registry_len(self.p(slot), &mut n),
                Kind::Bus => {
                    let mut stats = std::mem::zeroed();
                    charter_bus_stats(self.p(slot), &mut stats)
                }
                Kind::Client => {
                    let mut stats = std::mem::zeroed();
                    match charter_client_subscription_stats(self.p(slot), 0, &mut stats) {
                        CHARTER_E_NOT_FOUND | CHARTER_E_DENIED | CHARTER_E_CLOSED => CHARTER_OK,
                        other => other,
                    }
                }
                Kind::KeyPair => charter_keypair_public_key(self.p(slot), &mut text),
                Kind::Token => charter_token_link_count(self.p(slot), &mut n),
                Kind::Authority => charter_authority_challenge(self.p(slot), challenge.as_mut_ptr()),
                Kind::Session => charter_session_is_active(self.p(slot), &mut flag),
                Kind::Audit => charter_audit_len(self.p(slot), &mut n64),
            }
        };
        self.check(slot, kind, status, true);
        // SAFETY: NULL or a string Charter returned.
        unsafe { charter_string_free(text) };
    }

    fn public_key(&mut self, slot: usize) -> Option<CString> {
        let mut text: *mut c_char = ptr::null_mut();
        // SAFETY: as in `probe`.
        let status = unsafe { charter_keypair_public_key(self.p(slot), &mut text) };
        if !self.check(slot, Kind::KeyPair, status, true) {
            return None;
        }
        // SAFETY: a string Charter returned, freed once.
        let owned = unsafe { CStr::from_ptr(text) }.to_owned();
        unsafe { charter_string_free(text) };
        Some(owned)
    }

    /// Whether bus `bus` itself issued `id` (a random id could, by a 2^-53
    /// chance, be issued by two buses).
    fn issued_here(&self, bus: *mut c_void, id: u64) -> bool {
        ISSUED.with(|i| i.borrow().iter().any(|&(b, i)| b == bus && i == id))
    }

    /// A (pointer, length) argument with a length no buffer can have, on a
    /// real short buffer: the call must refuse it (on the length or on a
    /// handle), never read it.
    fn extreme_length(&mut self, s: usize, a: usize, input: &mut Input) {
        static BYTES: [u8; 64] = [0; 64];
        let len = EXTREME[usize::from(input.byte()) % EXTREME.len()];
        let buf = if input.byte().is_multiple_of(4) { ptr::null() } else { BYTES.as_ptr() };
        let topic = c"fuzz.a";
        let inbox = c"_charter.inbox.00";
        let mut out = ptr::null_mut::<c_void>();
        let mut hash = [0u8; CHARTER_AUDIT_HASH_LEN];
        let mut id = 0u64;
        let mut reply: *mut charter_message_t = ptr::null_mut();
        let strings = [topic.as_ptr()];
        let which = input.byte() % 12;
        let subject = if which == 10 { self.public_key(a) } else { None }.unwrap_or_else(|| c"x".to_owned());
        // SAFETY: every pointer is valid for what Charter may read of it
        // once the length is refused (nothing); handles are validated.
        let status = unsafe {
            match which {
                0 => charter_client_publish(
                    self.p(s),
                    topic.as_ptr(),
                    buf,
                    len,
                    ptr::null(),
                    0,
                    ptr::null_mut(),
                ),
                1 => {
                    charter_client_request(self.p(s), topic.as_ptr(), buf, len, ptr::null(), 0, 0, &mut reply)
                }
                2 => {
                    charter_client_request_start(self.p(s), topic.as_ptr(), buf, len, ptr::null(), 0, &mut id)
                }
                3 => {
                    charter_client_reply(self.p(s), inbox.as_ptr(), buf, len, ptr::null(), 0, ptr::null_mut())
                }
                4 => charter_client_publish(
                    self.p(s),
                    topic.as_ptr(),
                    ptr::null(),
                    0,
                    buf.cast(),
                    len,
                    ptr::null_mut(),
                ),
                5 => charter_registry_notify(self.p(s), buf, len, ptr::null_mut()),
                6 => charter_audit_leaf_hash(buf, len, hash.as_mut_ptr()),
                7 => charter_keypair_from_pkcs8(buf, len, (&raw mut out).cast()),
                8 => charter_token_decode(buf, len, (&raw mut out).cast()),
                9 => charter_audit_verify_inclusion(hash.as_ptr(), 0, 1, buf, len, hash.as_ptr()),
                10 => charter_token_mint(
                    self.p(a),
                    subject.as_ptr(),
                    strings.as_ptr(),
                    len,
                    T0,
                    T0 + 1,
                    (&raw mut out).cast(),
                ),
                _ => charter_authority_new(strings.as_ptr(), len, ptr::null(), (&raw mut out).cast()),
            }
        };
        assert_defined(status);
        assert_ne!(status, CHARTER_OK, "call {which} accepted a length of {len}");
        assert!(out.is_null() && reply.is_null(), "call {which} made something of a length of {len}");
        let handle = match which {
            0..=4 => Some((s, Kind::Client)),
            5 => Some((s, Kind::Registry)),
            10 => Some((a, Kind::KeyPair)),
            _ => None,
        };
        let allowed = match handle.and_then(|(slot, kind)| self.handle_status(slot, kind, false)) {
            Some(problem) => vec![problem, CHARTER_E_LIMIT_EXCEEDED, CHARTER_E_MALFORMED],
            None => vec![CHARTER_E_LIMIT_EXCEEDED, CHARTER_E_MALFORMED],
        };
        self.absorb_inner_frees();
        assert!(
            allowed.contains(&status),
            "call {which} with a length of {len}: {status}, expected one of {allowed:?}"
        );
    }

    fn run_one(&mut self, input: &mut Input) {
        let op = input.byte();
        let s = usize::from(input.byte());
        let a = usize::from(input.byte());
        match op % 26 {
            0 => {
                let mut out = ptr::null_mut();
                // SAFETY: a valid output pointer.
                let status =
                    unsafe { charter_registry_new_with_max_depth(u32::from(input.byte() % 10), &mut out) };
                assert_defined(status);
                if status == CHARTER_OK {
                    self.adopt(s, out.cast(), Kind::Registry);
                }
            }
            1 => {
                let mut out = ptr::null_mut();
                // SAFETY: valid limits (defaults) and output; `a` is validated.
                match input.byte() % 3 {
                    0 | 1 => {
                        // SAFETY: valid limits (defaults) and output; `a` is validated.
                        let status = unsafe {
                            if input.byte().is_multiple_of(2) {
                                charter_bus_new(ptr::null(), &mut out)
                            } else {
                                let recorder = charter_audit_recorder_t {
                                    log: self.p(a + 1),
                                    scope: CHARTER_AUDIT_SCOPE_ALL,
                                };
                                charter_bus_new_with_recorder(ptr::null(), self.p(a), &recorder, &mut out)
                            }
                        };
                        assert_defined(status);
                        if status == CHARTER_OK {
                            self.adopt(s, out.cast(), Kind::Bus);
                        }
                    }
                    // A client of the bus in `a`, with the session in `a + 1`
                    // or none.
                    _ => {
                        let with_session = input.byte().is_multiple_of(2);
                        let session = if with_session { self.ptr(a + 1) } else { ptr::null_mut() };
                        let mut client = ptr::null_mut();
                        // SAFETY: a valid output; handles validated.
                        let status = unsafe { charter_client_new(self.p(a), session.cast(), &mut client) };
                        let mut handles = vec![(a, Kind::Bus)];
                        // A NULL session (an empty slot too) means none.
                        if !session.is_null() {
                            handles.push((a + 1, Kind::Session));
                        }
                        if self.check_all(&handles, status) {
                            self.adopt(s, client.cast(), Kind::Client);
                        }
                    }
                }
            }
            2 => {
                let mut out = ptr::null_mut();
                // SAFETY: a valid output pointer.
                let status = unsafe { charter_keypair_generate(&mut out) };
                assert_eq!(status, CHARTER_OK);
                self.adopt(s, out.cast(), Kind::KeyPair);
            }
            3 => {
                let holder = usize::from(input.byte());
                let subject = self.public_key(holder).unwrap_or_else(|| input.text());
                let grant = input.text();
                let grants = [grant.as_ptr()];
                let not_after = T0 + u64::from(input.u32());
                let mut out = ptr::null_mut();
                // SAFETY: valid strings and output; `a` is validated.
                let status = unsafe {
                    charter_token_mint(
                        self.p(a),
                        subject.as_ptr(),
                        grants.as_ptr(),
                        1,
                        T0,
                        not_after,
                        &mut out,
                    )
                };
                if self.check(a, Kind::KeyPair, status, false) {
                    self.adopt(s, out.cast(), Kind::Token);
                }
            }
            4 => {
                let root = self.public_key(a).unwrap_or_else(|| input.text());
                let roots = [root.as_ptr()];
                // SAFETY: a plain C struct of integers; all zeros is a valid value.
                let mut options = unsafe { std::mem::zeroed() };
                let mut out = ptr::null_mut();
                // SAFETY: valid pointers throughout.
                let status = unsafe {
                    assert_eq!(charter_authority_options_default(&mut options), CHARTER_OK);
                    options.fixed_time = T0 + 1;
                    charter_authority_new(roots.as_ptr(), 1, &options, &mut out)
                };
                assert_defined(status);
                if status == CHARTER_OK {
                    self.adopt(s, out.cast(), Kind::Authority);
                }
            }
            5 => {
                let (token, holder) = (usize::from(input.byte()), usize::from(input.byte()));
                let mut challenge = [0u8; CHARTER_CHALLENGE_LEN];
                let mut proof = [0u8; CHARTER_PROOF_LEN];
                let mut out = ptr::null_mut();
                // SAFETY: buffers of the documented sizes; handles validated.
                let status = unsafe {
                    let st = charter_authority_challenge(self.p(a), challenge.as_mut_ptr());
                    if self.check(a, Kind::Authority, st, true) {
                        let st = charter_token_prove(
                            self.p(token),
                            self.p(holder),
                            challenge.as_ptr(),
                            proof.as_mut_ptr(),
                        );
                        assert_defined(st);
                    }
                    charter_authority_open_session(
                        self.p(a),
                        self.p(token),
                        challenge.as_ptr(),
                        proof.as_ptr(),
                        &mut out,
                    )
                };
                if self.check_all(&[(a, Kind::Authority), (token, Kind::Token)], status) {
                    self.adopt(s, out.cast(), Kind::Session);
                }
            }
            6 => {
                // SAFETY: a plain C struct of integers; all zeros is a valid value.
                let mut options = unsafe { std::mem::zeroed() };
                let mut out = ptr::null_mut();
                // SAFETY: valid options and output; the signer is validated.
                let status = unsafe {
                    assert_eq!(charter_audit_options_default(&mut options), CHARTER_OK);
                    if input.byte() % 2 == 1 {
                        options.signer = self.p(a);
                    }
                    charter_audit_in_memory(&options, &mut out)
                };
                assert_defined(status);
                if status == CHARTER_OK {
                    self.adopt(s, out.cast(), Kind::Audit);
                }
            }
            7 => {
                let user_data = hook(input.byte(), self.ptr(s));
                let mut id = 0;
                let register = if input.byte() % 2 == 0 {
                    charter_registry_register
                } else {
                    charter_registry_register_once
                };
                // SAFETY: a valid callback, hook and output; handle validated.
                let status = unsafe {
                    register(
                        self.p(s),
                        i32::from(input.byte()),
                        Some(registry_handler),
                        user_data,
                        Some(drop_hook),
                        &mut id,
                    )
                };
                if status == CHARTER_OK {
                    RECENT_HANDLER_ID.with(|r| r.set(id));
                }
                if !self.check(s, Kind::Registry, status, true) {
                    // Not registered: the hook is still ours.
                    // SAFETY: Charter refused the hook, so it is still ours to release.
                    unsafe { drop_hook(user_data) };
                }
            }
            8 => {
                let event = input.bytes();
                // SAFETY: a plain C struct of integers; all zeros is a valid value.
                let mut report = unsafe { std::mem::zeroed::<charter_notify_report_t>() };
                // SAFETY: valid event bytes and report; handle validated.
                let status =
                    unsafe { charter_registry_notify(self.p(s), event.as_ptr(), event.len(), &mut report) };
                if self.check(s, Kind::Registry, status, true) {
                    assert_eq!(report.panicked, 0);
                }
            }
            9 => {
                // The last id any registry issued (perhaps another registry's)
                // or a made-up one.
                let id = match input.byte() % 2 {
                    0 => RECENT_HANDLER_ID.with(Cell::get),
                    _ => u64::from(input.u32()),
                };
                let mut flag = false;
                // SAFETY: valid outputs; handle validated. This program runs
                // on one thread, so a waiting removal never waits for a round
                // on another thread.
                let status = unsafe {
                    match input.byte() % 5 {
                        0 => charter_registry_unregister(self.p(s), id, &mut flag),
                        1 => charter_registry_contains(self.p(s), id, &mut flag),
                        2 => charter_registry_unregister_and_wait(self.p(s), id, &mut flag),
                        3 => charter_registry_clear_and_wait(self.p(s)),
                        _ => charter_registry_clear(self.p(s)),
                    }
                };
                self.check(s, Kind::Registry, status, true);
            }
            10 => {
                let pattern = input.text();
                // SAFETY: a plain C struct of integers; all zeros is a valid value.
                let mut options = unsafe { std::mem::zeroed::<charter_subscribe_options_t>() };
                let mut id = 0;
                // SAFETY: valid options and output; handle validated.
                let status = unsafe {
                    assert_eq!(charter_subscribe_options_default(&mut options), CHARTER_OK);
                    options.capacity = 1 + usize::from(input.byte() % 4);
                    options.overflow = i32::from(input.byte() % 4);
                    options.block_timeout_ms = 0;
                    if input.byte().is_multiple_of(2) {
                        charter_client_subscribe(self.p(s), pattern.as_ptr(), &options, &mut id)
                    } else {
                        let user_data = hook(input.byte(), self.ptr(s));
                        let st = charter_client_subscribe_callback(
                            self.p(s),
                            pattern.as_ptr(),
                            &options,
                            Some(bus_handler),
                            user_data,
                            Some(drop_hook),
                            &mut id,
                        );
                        if st != CHARTER_OK {
                            drop_hook(user_data);
                        }
                        st
                    }
                };
                if self.check(s, Kind::Client, status, false) {
                    ISSUED.with(|i| i.borrow_mut().push((self.ptr(s), id)));
                }
                RECENT_ID.with(|r| r.set(id));
            }
            11 => {
                let topic = input.text();
                let payload = input.bytes();
                // SAFETY: a plain C struct of integers; all zeros is a valid value.
                let mut report = unsafe { std::mem::zeroed::<charter_publish_report_t>() };
                // SAFETY: valid topic, payload and report; handle validated.
                let status = unsafe {
                    charter_client_publish(
                        self.p(s),
                        topic.as_ptr(),
                        payload.as_ptr(),
                        payload.len(),
                        ptr::null(),
                        0,
                        &mut report,
                    )
                };
                if self.check(s, Kind::Client, status, false) {
                    assert_eq!(report.matched, report.delivered + report.dropped);
                }
            }
            12 => {
                let here = self.ptr(s);
                let pick = usize::from(input.byte());
                let foreign = ISSUED.with(|i| {
                    let i = i.borrow();
                    let others: Vec<u64> =
                        i.iter().filter(|(bus, _)| *bus != here).map(|&(_, id)| id).collect();
                    others.get(pick % others.len().max(1)).copied()
                });
                let id = match (input.byte() % 3, foreign) {
                    (0, _) => RECENT_ID.with(Cell::get),
                    // Issued through another client: ids are random per
                    // subscription, so one of another bus is unknown here.
                    (1, Some(id)) if !self.issued_here(here, id) => id,
                    _ => u64::from(input.u32()),
                };
                let mut msg: *mut charter_message_t = ptr::null_mut();
                let mut flag = false;
                let mut n = 0usize;
                let which = input.byte() % 5;
                // SAFETY: valid outputs; handle validated; the message is freed once.
                let status = unsafe {
                    match which {
                        0 => charter_client_recv(self.p(s), id, 0, &mut msg),
                        1 => charter_client_unsubscribe(self.p(s), id, &mut flag),
                        2 => {
                            let mut stats = std::mem::zeroed::<charter_subscription_stats_t>();
                            let st = charter_client_subscription_stats(self.p(s), id, &mut stats);
                            if st == CHARTER_OK {
                                let d = stats.dropped;
                                let dropped = d.overflow
                                    + d.expired
                                    + d.timeout
                                    + d.rejected
                                    + d.closed
                                    + d.session_ended;
                                assert_eq!(stats.received, stats.delivered + dropped + stats.queued);
                            }
                            st
                        }
                        3 => charter_bus_evict_idle(self.p(s), &mut n),
                        _ => charter_bus_close(self.p(s)),
                    }
                };
                // Another client's id may name a subscription of the same bus
                // and session, which this client may reach: no oracle beyond
                // a defined status (core/tests pin the cross-bus rule).
                self.check(s, if which < 3 { Kind::Client } else { Kind::Bus }, status, true);
                // SAFETY: NULL or what Charter returned, freed once.
                unsafe { charter_message_free(msg) };
            }
            13 => {
                let topic = input.text();
                let mut reply: *mut charter_message_t = ptr::null_mut();
                // SAFETY: valid arguments; no wait (timeout 0); freed once.
                let status = unsafe {
                    charter_client_request(
                        self.p(s),
                        topic.as_ptr(),
                        ptr::null(),
                        0,
                        ptr::null(),
                        0,
                        0,
                        &mut reply,
                    )
                };
                self.check(s, Kind::Client, status, false);
                // SAFETY: NULL or what Charter returned, freed once.
                unsafe { charter_message_free(reply) };
            }
            14 => {
                let mut text: *mut c_char = ptr::null_mut();
                let mut der: *mut u8 = ptr::null_mut();
                let mut len = 0usize;
                // SAFETY: valid outputs; handle validated; outputs freed once.
                unsafe {
                    let status = if input.byte().is_multiple_of(2) {
                        charter_keypair_principal(self.p(s), &mut text)
                    } else {
                        charter_keypair_to_pkcs8(self.p(s), &mut der, &mut len)
                    };
                    if self.check(s, Kind::KeyPair, status, true) && !der.is_null() {
                        let mut copy = std::slice::from_raw_parts(der, len).to_vec();
                        if let Some(byte) = copy.get_mut(usize::from(input.byte())) {
                            *byte ^= input.byte();
                        }
                        let mut out = ptr::null_mut();
                        let st = charter_keypair_from_pkcs8(copy.as_ptr(), copy.len(), &mut out);
                        assert_defined(st);
                        if st == CHARTER_OK {
                            self.adopt(a, out.cast(), Kind::KeyPair);
                        }
                    }
                    charter_string_free(text);
                    charter_bytes_free(der, len);
                }
            }
            15 => {
                let mut text: *mut c_char = ptr::null_mut();
                let mut bytes: *mut u8 = ptr::null_mut();
                let mut len = 0usize;
                // SAFETY: valid outputs; handle validated; outputs freed once.
                unsafe {
                    let status = match input.byte() % 4 {
                        0 => charter_token_encode(self.p(s), &mut bytes, &mut len),
                        1 => charter_token_to_text(self.p(s), &mut text),
                        2 => charter_token_inspect(self.p(s), &mut text),
                        _ => charter_token_link_id(self.p(s), usize::from(input.byte() % 3), &mut text),
                    };
                    if self.check(s, Kind::Token, status, true) {
                        let mut out = ptr::null_mut();
                        let st = if bytes.is_null() {
                            charter_token_from_text(text, &mut out)
                        } else {
                            let mut copy = std::slice::from_raw_parts(bytes, len).to_vec();
                            if let Some(byte) = copy.get_mut(usize::from(input.byte())) {
                                *byte ^= input.byte();
                            }
                            charter_token_decode(copy.as_ptr(), copy.len(), &mut out)
                        };
                        assert_defined(st);
                        if st == CHARTER_OK {
                            self.adopt(a, out.cast(), Kind::Token);
                        }
                    }
                    charter_string_free(text);
                    charter_bytes_free(bytes, len);
                }
            }
            16 => {
                let subject = input.text();
                let grant = input.text();
                let grants = [grant.as_ptr()];
                let mut out = ptr::null_mut();
                // SAFETY: valid strings and output; handles validated.
                let status = unsafe {
                    charter_token_delegate(
                        self.p(s),
                        self.p(a),
                        subject.as_ptr(),
                        grants.as_ptr(),
                        1,
                        T0,
                        T0 + 60,
                        &mut out,
                    )
                };
                if self.check_all(&[(s, Kind::Token), (a, Kind::KeyPair)], status) {
                    self.adopt(a + 1, out.cast(), Kind::Token);
                }
            }
            17 => {
                let text_in = input.text();
                let mut text: *mut c_char = ptr::null_mut();
                let mut flag = false;
                let mut n = 0usize;
                let verify = input.byte().is_multiple_of(7);
                // SAFETY: valid arguments; handles validated; outputs freed once.
                let (status, exact) = unsafe {
                    match input.byte() % 7 {
                        _ if verify => (charter_authority_verify(self.p(s), self.p(a), &mut text), false),
                        1 => (charter_authority_revoke(self.p(s), text_in.as_ptr(), &mut flag), false),
                        2 => (charter_authority_unrevoke(self.p(s), text_in.as_ptr(), &mut flag), false),
                        3 => (charter_authority_export_revocations(self.p(s), &mut text), true),
                        4 => {
                            (charter_authority_import_revocations(self.p(s), text_in.as_ptr(), &mut n), false)
                        }
                        5 => (charter_authority_trust(self.p(s), text_in.as_ptr()), false),
                        _ => (charter_authority_set_time(self.p(s), T0 + u64::from(input.u32())), true),
                    }
                };
                if verify {
                    self.check_all(&[(s, Kind::Authority), (a, Kind::Token)], status);
                } else {
                    self.check(s, Kind::Authority, status, exact);
                }
                // SAFETY: NULL or what Charter returned, freed once.
                unsafe { charter_string_free(text) };
            }
            18 => {
                let topic = input.text();
                let mut text: *mut c_char = ptr::null_mut();
                let mut n64 = 0u64;
                // SAFETY: valid arguments; handle validated; outputs freed once.
                let (status, exact) = unsafe {
                    match input.byte() % 3 {
                        0 => (
                            charter_session_check(self.p(s), i32::from(input.byte() % 5), topic.as_ptr()),
                            false,
                        ),
                        1 => (charter_session_principal(self.p(s), &mut text), true),
                        _ => (charter_session_expires_at(self.p(s), &mut n64), true),
                    }
                };
                self.check(s, Kind::Session, status, exact);
                // SAFETY: NULL or what Charter returned, freed once.
                unsafe { charter_string_free(text) };
            }
            19 => {
                let action = input.text();
                let resource = input.text();
                let record = charter_audit_record_t {
                    index: 0,
                    time_ms: T0,
                    actor: ptr::null(),
                    action: action.as_ptr(),
                    resource: resource.as_ptr(),
                    decision: i32::from(input.byte() % 4),
                    reason: CHARTER_OK,
                    detail: ptr::null(),
                    actor_unproven: false,
                };
                let mut index = 0u64;
                // SAFETY: a valid record and output; handle validated.
                let status = unsafe { charter_audit_append(self.p(s), &record, &mut index) };
                self.check(s, Kind::Audit, status, false);
            }
            20 => {
                let index = u64::from(input.byte() % 8);
                let mut record: *mut charter_audit_record_t = ptr::null_mut();
                let mut bytes: *mut u8 = ptr::null_mut();
                let mut len = 0usize;
                let mut text: *mut c_char = ptr::null_mut();
                let mut root = [0u8; CHARTER_AUDIT_HASH_LEN];
                // SAFETY: valid outputs; handle validated; outputs freed once.
                unsafe {
                    let status = match input.byte() % 5 {
                        0 => charter_audit_get(self.p(s), index, &mut record),
                        1 => charter_audit_prove_inclusion(self.p(s), index, index + 1, &mut bytes, &mut len),
                        2 => charter_audit_root(self.p(s), root.as_mut_ptr()),
                        3 => charter_audit_checkpoint(self.p(s), &mut text),
                        _ => {
                            let mut report = std::mem::zeroed::<charter_audit_report_t>();
                            let st = charter_audit_verify(self.p(s), &mut report, &mut text);
                            if st == CHARTER_OK {
                                assert!(report.ok);
                            }
                            st
                        }
                    };
                    self.check(s, Kind::Audit, status, true);
                    charter_audit_record_free(record);
                    charter_bytes_free(bytes, len);
                    charter_string_free(text);
                }
            }
            21 => self.free(s, KINDS[a % KINDS.len()]),
            22 => self.probe(s, KINDS[a % KINDS.len()]),
            23 => self.extreme_length(s, a, input),
            _ => {
                self.slots[s % SLOTS] = match input.byte() % 5 {
                    0 => Target::Null,
                    1 => self.slots[a % SLOTS],
                    2 => Target::Never(NEVER.as_ptr().wrapping_add(a % NEVER.len()).cast_mut().cast()),
                    3 => Target::Never((1 + a * 4096) as *mut c_void),
                    _ => match self.slots[a % SLOTS] {
                        Target::Handle(i) => Target::Never(
                            self.entries[i].ptr.cast::<u8>().wrapping_add(1 + a % (SHELL_SIZE - 1)).cast(),
                        ),
                        other => other,
                    },
                };
            }
        }
    }
}

thread_local! {
    /// The last subscription id a subscribe returned.
    static RECENT_ID: Cell<u64> = const { Cell::new(0) };
    /// The last handler id a registry returned.
    static RECENT_HANDLER_ID: Cell<u64> = const { Cell::new(0) };
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut program = Program { entries: Vec::new(), slots: [Target::Null; SLOTS] };
    let mut steps = 0;
    while !input.0.is_empty() && steps < 64 {
        program.run_one(&mut input);
        steps += 1;
    }
    // Free what is still live; then every registration must have released
    // its user_data exactly once.
    for i in 0..program.entries.len() {
        if !program.entries[i].freed {
            program.slots[0] = Target::Handle(i);
            program.free(0, program.entries[i].kind);
        }
    }
    assert_eq!(LIVE_HOOKS.with(Cell::get), 0, "a user_data was not released");
});
