//! `burrow_message`: the read-only view of a record that the process callback receives, its
//! accessors, and the two things a callback can do besides reading: attach error text and defer.

use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

use super::completion::burrow_completion;
use super::{burrow_result, check_null, guard, text_arg, write_out};
use crate::message::{Header, Message, Timestamp};
use crate::outcome::Delivery;

/// What a process callback (or `burrow_completion_complete`) reports for a message.
///
/// An `int32_t` in C. Values: `BURROW_OUTCOME_DONE`, `BURROW_OUTCOME_RETRY`,
/// `BURROW_OUTCOME_FAIL`, `BURROW_OUTCOME_DEFERRED`. Any other value counts as a retriable
/// failure and is logged.
pub type burrow_outcome = i32;

/// Finished: the message may be committed.
pub const BURROW_OUTCOME_DONE: burrow_outcome = 0;
/// Failed, worth retrying: retried after a backoff until `burrow.max.retries`, then the failure
/// policy (`burrow.on.failure`) applies.
pub const BURROW_OUTCOME_RETRY: burrow_outcome = 1;
/// Failed, not retriable: the failure policy applies at once.
pub const BURROW_OUTCOME_FAIL: burrow_outcome = 2;
/// The callback called `burrow_message_defer` and will finish the message later through the
/// completion handle. Returned without a successful `burrow_message_defer`, it counts as a
/// retriable failure (and is logged).
pub const BURROW_OUTCOME_DEFERRED: burrow_outcome = 3;

/// Kind of a message timestamp. An `int32_t` in C.
pub type burrow_timestamp_type = i32;

/// The record carries no timestamp (`*ms` is set to -1).
pub const BURROW_TIMESTAMP_NOT_AVAILABLE: burrow_timestamp_type = 0;
/// Set by the producer.
pub const BURROW_TIMESTAMP_CREATE_TIME: burrow_timestamp_type = 1;
/// Set by the broker when it appended the record.
pub const BURROW_TIMESTAMP_LOG_APPEND_TIME: burrow_timestamp_type = 2;

/// A borrowed byte range; `ptr` is NULL for an absent value (no key, tombstone, null header).
#[derive(Clone, Copy)]
struct Bytes {
    ptr: *const u8,
    len: usize,
}

impl Bytes {
    const NONE: Bytes = Bytes {
        ptr: std::ptr::null(),
        len: 0,
    };

    fn of(b: Option<&[u8]>) -> Self {
        b.map_or(Self::NONE, |b| Bytes {
            ptr: b.as_ptr(),
            len: b.len(),
        })
    }
}

/// Pointers into the heap data of a [`Message`] (topic, key, value, headers). A `Message` owns
/// that data in `Arc`/`Vec` buffers that do not move when the `Message` (or the `Delivery`
/// holding it) moves, so the view stays valid as long as the `Delivery` is alive, wherever it is.
#[derive(Clone, Copy)]
pub(crate) struct View {
    topic: Bytes,
    partition: i32,
    offset: i64,
    key: Bytes,
    value: Bytes,
    headers: *const Header,
    headers_len: usize,
    timestamp: Timestamp,
    attempt: u32,
}

impl View {
    fn of(m: &Message, attempt: u32) -> Self {
        Self {
            topic: Bytes::of(Some(m.topic().as_bytes())),
            partition: m.partition(),
            offset: m.offset(),
            key: Bytes::of(m.key()),
            value: Bytes::of(m.payload()),
            headers: m.headers().as_ptr(),
            headers_len: m.headers().len(),
            timestamp: m.timestamp(),
            attempt,
        }
    }
}

/// The mutable part of a message handle: who owns the delivery, and the error text to report.
pub(crate) struct State {
    /// The delivery, until it is completed or handed to a completion handle.
    pub delivery: Option<Delivery>,
    /// Text set with `burrow_message_set_error`.
    pub error: Option<String>,
    /// True once deferred (and for the message of a completion handle): defer refuses it.
    pub deferred: bool,
}

/// One Kafka record, as the process callback sees it. Opaque; read it with the
/// `burrow_message_*` accessors.
///
/// Lifetime: a `const burrow_message *` passed to the process callback is valid until the callback
/// returns. If the callback defers the message, the record data (and the pointers the accessors
/// returned) stay valid until the completion is completed or freed; use
/// `burrow_completion_message` to read it after the callback has returned. After completing a
/// completion, do not touch the message or any pointer obtained from it, even inside the callback.
///
/// Thread safety: the accessors may be called from any thread while the message is valid.
pub struct burrow_message {
    view: View,
    state: Mutex<State>,
}

impl burrow_message {
    /// A handle for a delivery just handed to a worker.
    pub(crate) fn new(delivery: Delivery) -> Self {
        let view = View::of(delivery.message(), delivery.attempt());
        Self::with_state(view, delivery, false)
    }

    /// A handle for a delivery taken by `burrow_pool_take`: deferred from the start.
    pub(crate) fn taken(delivery: Delivery) -> Self {
        let view = View::of(delivery.message(), delivery.attempt());
        Self::with_state(view, delivery, true)
    }

    pub(crate) fn with_state(view: View, delivery: Delivery, deferred: bool) -> Self {
        Self {
            view,
            state: Mutex::new(State {
                delivery: Some(delivery),
                error: None,
                deferred,
            }),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, once nobody else can reach the handle (the callback has returned): no lock.
    pub(crate) fn into_state(self) -> State {
        self.state.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn view(&self) -> View {
        self.view
    }

    /// Where this message came from, for logs.
    pub(crate) fn origin(&self) -> (i32, i64) {
        (self.view.partition, self.view.offset)
    }
}

/// Borrows the message behind a non-NULL handle.
///
/// # Safety
/// `msg` must be non-NULL and valid (see the lifetime rules of `burrow_message`).
unsafe fn view<'a>(msg: *const burrow_message) -> &'a View {
    // SAFETY: guaranteed by the caller.
    unsafe { &(*msg).view }
}

/// The topic name as pointer + length (not NUL-terminated), valid as long as the message.
///
/// # Safety
/// `msg` must be a valid message (see `burrow_message`); `topic` and `topic_len` writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_message_topic(
    msg: *const burrow_message,
    topic: *mut *const c_char,
    topic_len: *mut usize,
) -> burrow_result {
    guard(|| {
        check_null!(msg, topic, topic_len);
        // SAFETY: msg is valid (caller contract); out-params are non-NULL and writable.
        unsafe {
            let v = view(msg);
            write_out(topic, v.topic.ptr.cast());
            write_out(topic_len, v.topic.len);
        }
        burrow_result::Ok
    })
}

/// The partition number, or -1 when `msg` is NULL.
///
/// # Safety
/// `msg` must be NULL or a valid message (see `burrow_message`).
#[no_mangle]
pub unsafe extern "C" fn burrow_message_partition(msg: *const burrow_message) -> i32 {
    guard(|| {
        if msg.is_null() {
            return -1;
        }
        // SAFETY: non-NULL and valid (caller contract).
        unsafe { view(msg).partition }
    })
}

/// The offset within the partition, or -1 when `msg` is NULL.
///
/// # Safety
/// `msg` must be NULL or a valid message (see `burrow_message`).
#[no_mangle]
pub unsafe extern "C" fn burrow_message_offset(msg: *const burrow_message) -> i64 {
    guard(|| {
        if msg.is_null() {
            return -1;
        }
        // SAFETY: non-NULL and valid (caller contract).
        unsafe { view(msg).offset }
    })
}

/// Which attempt this is: 1 for the first delivery, 2 for the first retry, ...; 0 when `msg` is
/// NULL.
///
/// # Safety
/// `msg` must be NULL or a valid message (see `burrow_message`).
#[no_mangle]
pub unsafe extern "C" fn burrow_message_attempt(msg: *const burrow_message) -> u32 {
    guard(|| {
        if msg.is_null() {
            return 0;
        }
        // SAFETY: non-NULL and valid (caller contract).
        unsafe { view(msg).attempt }
    })
}

/// The key as pointer + length. A record without a key gives `*key = NULL`, `*key_len = 0`;
/// an empty key gives a non-NULL pointer and length 0. Valid as long as the message.
///
/// # Safety
/// `msg` must be a valid message (see `burrow_message`); `key` and `key_len` writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_message_key(
    msg: *const burrow_message,
    key: *mut *const u8,
    key_len: *mut usize,
) -> burrow_result {
    guard(|| {
        check_null!(msg, key, key_len);
        // SAFETY: msg is valid (caller contract); out-params are non-NULL and writable.
        unsafe {
            let v = view(msg);
            write_out(key, v.key.ptr);
            write_out(key_len, v.key.len);
        }
        burrow_result::Ok
    })
}

/// The value (payload) as pointer + length. A tombstone (null value) gives `*value = NULL`,
/// `*value_len = 0`; an empty value gives a non-NULL pointer and length 0. Valid as long as the
/// message.
///
/// # Safety
/// `msg` must be a valid message (see `burrow_message`); `value` and `value_len` writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_message_value(
    msg: *const burrow_message,
    value: *mut *const u8,
    value_len: *mut usize,
) -> burrow_result {
    guard(|| {
        check_null!(msg, value, value_len);
        // SAFETY: msg is valid (caller contract); out-params are non-NULL and writable.
        unsafe {
            let v = view(msg);
            write_out(value, v.value.ptr);
            write_out(value_len, v.value.len);
        }
        burrow_result::Ok
    })
}

/// The number of record headers (0 when `msg` is NULL).
///
/// # Safety
/// `msg` must be NULL or a valid message (see `burrow_message`).
#[no_mangle]
pub unsafe extern "C" fn burrow_message_header_count(msg: *const burrow_message) -> usize {
    guard(|| {
        if msg.is_null() {
            return 0;
        }
        // SAFETY: non-NULL and valid (caller contract).
        unsafe { view(msg).headers_len }
    })
}

/// Header number `index` (0-based, in record order): its name as pointer + length (not
/// NUL-terminated) and its value as pointer + length (`*value = NULL` for a null value).
/// Returns `BURROW_RESULT_OUT_OF_RANGE` when `index >= burrow_message_header_count(msg)`.
/// Valid as long as the message.
///
/// # Safety
/// `msg` must be a valid message (see `burrow_message`); every out-parameter writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_message_header(
    msg: *const burrow_message,
    index: usize,
    name: *mut *const c_char,
    name_len: *mut usize,
    value: *mut *const u8,
    value_len: *mut usize,
) -> burrow_result {
    guard(|| {
        check_null!(msg, name, name_len, value, value_len);
        // SAFETY: msg is valid (caller contract).
        let v = unsafe { view(msg) };
        if index >= v.headers_len {
            return burrow_result::OutOfRange;
        }
        // SAFETY: index < headers_len, and the headers buffer lives as long as the message.
        let h = unsafe { &*v.headers.add(index) };
        let val = Bytes::of(h.value.as_deref());
        // SAFETY: out-params are non-NULL and writable (caller contract).
        unsafe {
            write_out(name, h.key.as_ptr().cast());
            write_out(name_len, h.key.len());
            write_out(value, val.ptr);
            write_out(value_len, val.len);
        }
        burrow_result::Ok
    })
}

/// The timestamp: its kind (`BURROW_TIMESTAMP_*`) and milliseconds since the Unix epoch (-1 when
/// not available).
///
/// # Safety
/// `msg` must be a valid message (see `burrow_message`); `type` and `ms` writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_message_timestamp(
    msg: *const burrow_message,
    r#type: *mut burrow_timestamp_type,
    ms: *mut i64,
) -> burrow_result {
    guard(|| {
        check_null!(msg, r#type, ms);
        // SAFETY: msg is valid (caller contract).
        let (kind, t) = match unsafe { view(msg) }.timestamp {
            Timestamp::NotAvailable => (BURROW_TIMESTAMP_NOT_AVAILABLE, -1),
            Timestamp::CreateTime(t) => (BURROW_TIMESTAMP_CREATE_TIME, t),
            Timestamp::LogAppendTime(t) => (BURROW_TIMESTAMP_LOG_APPEND_TIME, t),
        };
        // SAFETY: out-params are non-NULL and writable (caller contract).
        unsafe {
            write_out(r#type, kind);
            write_out(ms, t);
        }
        burrow_result::Ok
    })
}

/// Attaches error text (pointer + length, need not be NUL-terminated; invalid UTF-8 is replaced)
/// to the message, used when the callback returns `BURROW_OUTCOME_RETRY` or
/// `BURROW_OUTCOME_FAIL` (logs, `burrow.error` header of dead-lettered copies). A later call
/// replaces the text. Ignored if the message ends up done. The text is copied.
///
/// # Safety
/// `msg` must be a valid message (see `burrow_message`); `err` must point to `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn burrow_message_set_error(
    msg: *const burrow_message,
    err: *const c_char,
    err_len: usize,
) -> burrow_result {
    guard(|| {
        check_null!(msg, err);
        // SAFETY: err points to err_len readable bytes (caller contract).
        let text = unsafe { text_arg(err, err_len) };
        // SAFETY: msg is non-NULL and valid (caller contract).
        let msg = unsafe { &*msg };
        msg.state().error = text;
        burrow_result::Ok
    })
}

/// Takes over the duty to finish `msg`: writes a completion handle to `*completion`, and the
/// callback then returns `BURROW_OUTCOME_DEFERRED`. Later, from any thread, finish the message
/// with `burrow_completion_complete` (or give up with `burrow_completion_free`, which counts as a
/// retriable failure). Never finishing it stalls the partition's commits, and the pool waits for
/// it (up to `burrow.shutdown.timeout.ms`) when it stops.
///
/// Call it only from inside the process callback, at most once per message:
/// `BURROW_RESULT_ALREADY_DEFERRED` the second time, and for a message obtained from
/// `burrow_completion_message`. Error text set with `burrow_message_set_error` before deferring
/// carries over to the completion.
///
/// # Safety
/// `msg` must be the message of a running process callback; `completion` must be writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_message_defer(
    msg: *const burrow_message,
    completion: *mut *mut burrow_completion,
) -> burrow_result {
    guard(|| {
        check_null!(msg, completion);
        // SAFETY: msg is non-NULL and valid (caller contract).
        let msg = unsafe { &*msg };
        let (delivery, error) = {
            let mut st = msg.state();
            if st.deferred {
                return burrow_result::AlreadyDeferred;
            }
            let Some(delivery) = st.delivery.take() else {
                return burrow_result::AlreadyDeferred;
            };
            st.deferred = true;
            (delivery, st.error.take())
        };
        let handle = burrow_completion::new(msg.view(), delivery, error);
        // SAFETY: non-NULL and writable (caller contract).
        unsafe { write_out(completion, handle) };
        burrow_result::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::job::Job;
    use crate::message::Header;

    /// The view of a message points into heap buffers of the `Message` that must not move when
    /// the `Delivery` holding it moves (into a completion handle, or through the channel). This
    /// guards that invariant: if `Message` ever stores bytes inline, the FFI must copy instead.
    #[test]
    fn view_pointers_survive_moving_the_delivery() {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let msg = Message::new("topic", 3, 42, Some(b"k".to_vec()), Some(b"value".to_vec()))
            .with_headers(
                vec![Header {
                    key: "h".into(),
                    value: Some(b"v".to_vec()),
                }],
                Timestamp::CreateTime(7),
            );
        let delivery = Delivery::new(Job::new(msg, 0, 0), std::sync::Arc::new(tx), false);
        let handle = burrow_message::new(delivery);
        let before = handle.view();
        // Move the delivery out of the handle and onto the heap, as burrow_message_defer does.
        let delivery = handle.state().delivery.take().unwrap();
        let boxed = Box::new(delivery);
        let after = View::of(boxed.message(), boxed.attempt());
        assert_eq!(before.topic.ptr, after.topic.ptr);
        assert_eq!(before.key.ptr, after.key.ptr);
        assert_eq!(before.value.ptr, after.value.ptr);
        assert_eq!(before.headers, after.headers);
        // SAFETY: the delivery (owner of the buffers) is alive in `boxed`.
        let value = unsafe { std::slice::from_raw_parts(before.value.ptr, before.value.len) };
        assert_eq!(value, b"value");
        assert_eq!(
            (before.partition, before.offset, before.attempt),
            (3, 42, 1)
        );
    }
}
