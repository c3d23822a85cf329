//! `charter_message_t`: a bus message as C sees it.
//!
//! A message given to a callback lives on the dispatching thread only for
//! the call; one returned by `charter_bus_recv` or `charter_bus_request`
//! belongs to the caller until `charter_message_free`. Either way the
//! public struct is the first field of a Rust allocation that owns the
//! NUL-terminated copies its pointers refer to.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use charter_core::bus::Message;

use crate::args::charter_header_t;
use crate::strings::{c_string, free_value};

/// A bus message. Every pointer stays valid as long as the message: for a
/// callback, the call; for a received message, until `charter_message_free`.
#[repr(C)]
#[derive(Debug)]
pub struct charter_message_t {
    /// The bus-wide sequence number, increasing in publish order.
    pub seq: u64,
    /// The topic, NUL-terminated.
    pub topic: *const c_char,
    /// The payload bytes (NULL when `payload_len` is 0).
    pub payload: *const u8,
    /// The payload length in bytes.
    pub payload_len: usize,
    /// The headers, in the order they were published (NULL when none).
    pub headers: *const charter_header_t,
    /// How many headers there are.
    pub header_count: usize,
    /// The reply inbox of a request, NUL-terminated, or NULL when the
    /// message is not a request. Pass the message to `charter_bus_respond`
    /// to answer it.
    pub reply_to: *const c_char,
}

/// The public struct followed by the storage its pointers refer to (held,
/// never read, hence the leading underscores).
#[repr(C)]
pub(crate) struct OwnedMessage {
    public: charter_message_t,
    _topic: CString,
    _header_strings: Vec<(CString, CString)>,
    _header_array: Vec<charter_header_t>,
    _reply_to: Option<CString>,
    _payload: Arc<[u8]>,
}

impl OwnedMessage {
    pub(crate) fn new(message: &Message) -> Box<OwnedMessage> {
        let header_strings: Vec<(CString, CString)> =
            message.headers().map(|(k, v)| (c_string(k), c_string(v))).collect();
        let header_array: Vec<charter_header_t> = header_strings
            .iter()
            .map(|(k, v)| charter_header_t { name: k.as_ptr(), value: v.as_ptr() })
            .collect();
        let topic = c_string(message.topic());
        let reply_to = message.reply_to().map(c_string);
        let payload = message.shared_payload();
        let public = charter_message_t {
            seq: message.seq(),
            topic: topic.as_ptr(),
            payload: if payload.is_empty() { std::ptr::null() } else { payload.as_ptr() },
            payload_len: payload.len(),
            headers: if header_array.is_empty() { std::ptr::null() } else { header_array.as_ptr() },
            header_count: header_array.len(),
            reply_to: reply_to.as_ref().map_or(std::ptr::null(), |r| r.as_ptr()),
        };
        // The pointers refer to heap buffers owned by the fields below, which
        // moving the struct into the box does not move.
        Box::new(OwnedMessage {
            public,
            _topic: topic,
            _header_strings: header_strings,
            _header_array: header_array,
            _reply_to: reply_to,
            _payload: payload,
        })
    }

    pub(crate) fn public(&self) -> &charter_message_t {
        &self.public
    }

    /// Hands the message to C; `charter_message_free` takes it back.
    pub(crate) fn into_raw(self: Box<OwnedMessage>) -> *mut charter_message_t {
        Box::into_raw(self).cast()
    }
}

/// Frees a message returned by `charter_bus_recv` or `charter_bus_request`.
/// NULL is allowed and does nothing. Never pass a message received in a
/// callback: that one belongs to Charter.
///
/// # Safety
/// `msg` must be NULL or a message returned by Charter, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn charter_message_free(msg: *mut charter_message_t) {
    // SAFETY: `msg` came from `OwnedMessage::into_raw`: the public struct
    // is the first field of a `repr(C)` `OwnedMessage`.
    free_value(msg, |msg| drop(unsafe { Box::from_raw(msg.cast::<OwnedMessage>()) }));
}
