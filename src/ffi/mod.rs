//! The C ABI: the only place in Burrow with `extern "C"`, raw pointers and `unsafe` conversions.
//!
//! `include/burrow.h` is generated from this module by cbindgen (see `cbindgen.toml`; regenerate
//! with `make header`, a test fails when the committed header is stale). Every doc comment here
//! ends up in the header, so it is written for C programmers.
//!
//! Conventions (see docs in the header for each function):
//! - opaque handles (`burrow_config`, `burrow_pool`, `burrow_message`, `burrow_completion`) with
//!   `_new` / `_free` pairs; `_free(NULL)` does nothing;
//! - fallible calls return a [`burrow_result`]; outputs go to trailing out-parameters that are
//!   written only on success; bytes cross as pointer + length;
//! - every exported function body runs inside `guard`, so a Rust panic becomes
//!   `BURROW_RESULT_PANIC` (or NULL / a neutral value) and never unwinds into C.
//!
//! One file per object: [`config`], [`pool`] (run and the callback trampoline), [`message`],
//! [`completion`], [`stats`] (stats and metrics text), [`log`], [`version`], and [`mock`] (test
//! support: an in-process mock Kafka cluster).
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

// Declared in the order the header presents them.
pub mod completion;
pub mod config;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod harness;
pub mod log;
pub mod message;
pub mod mock;
pub mod pool;
pub mod stats;
pub mod version;

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;

/// Result code of every fallible call. The values are fixed and never renumbered; new codes are
/// only ever added at the end. `BURROW_RESULT_OK` is 0.
///
/// In C this is a `uint32_t`; functions that take a result code (`burrow_result_message`) accept
/// any value.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum burrow_result {
    /// Success.
    Ok = 0,
    /// An error not covered by a more specific code (e.g. a thread could not be started); the
    /// `errstr` of the call, when it has one, says more.
    Error = 1,
    /// A bug in Burrow: a Rust panic was caught at the C boundary. The call had no effect, or only
    /// part of its effect. Please report it.
    Panic = 2,
    /// A required pointer argument was NULL.
    NullArgument = 3,
    /// An argument is invalid: a string that is not UTF-8, an unknown outcome value, a stats
    /// struct_size that is too small, an empty topic list.
    InvalidArgument = 4,
    /// The configuration was refused: unknown key, bad value, or a missing or conflicting key.
    /// The `errstr` names the key, the value (redacted for secrets) and what is allowed.
    Config = 5,
    /// librdkafka reported an error (creating the client, subscribing, a fatal consumer error).
    Kafka = 6,
    /// `burrow_pool_run` was called while the pool is running, or after a run has finished:
    /// a pool runs once.
    AlreadyRun = 7,
    /// The pool is running: `burrow_pool_free` refuses to free it. Call `burrow_pool_stop`,
    /// wait until `burrow_pool_run` returns, then free.
    Busy = 8,
    /// The pool stopped itself because of its failure policy (`burrow.on.failure=halt`: the first
    /// message that failed permanently; `skip` / `dead-letter`: `burrow.max.consecutive.errors`
    /// permanent failures in a row, or a dead-letter topic that keeps refusing copies). The
    /// `errstr` of `burrow_pool_run` names topic, partition, offset and cause; the partition's
    /// committed offset is that message's offset.
    Halted = 9,
    /// The pool's run is over and its consumer is closed (e.g. `burrow_pool_subscribe` after run).
    Closed = 10,
    /// `burrow_message_defer` was called a second time for the same message, or on a message
    /// obtained from `burrow_completion_message`.
    AlreadyDeferred = 11,
    /// An index is past the end (e.g. a header index).
    OutOfRange = 12,
    /// The metrics HTTP server (`burrow.metrics.addr`) could not start.
    Metrics = 13,
    /// The facility is not available in this process: the log callback cannot be installed
    /// because another `tracing` subscriber is already the process-wide default.
    Unavailable = 14,
    /// `burrow_pool_run` stopped, but its final offset commit failed (the `errstr` says which
    /// partitions and why): work finished since the last successful commit will be processed
    /// again by the next owner. Nothing is lost.
    CommitFailed = 15,
}

impl burrow_result {
    /// The static, NUL-terminated description of the code.
    fn message(self) -> &'static CStr {
        match self {
            burrow_result::Ok => c"ok",
            burrow_result::Error => c"error (see the errstr of the call)",
            burrow_result::Panic => c"internal error: a panic was caught at the C boundary (a bug in burrow)",
            burrow_result::NullArgument => c"a required pointer argument is NULL",
            burrow_result::InvalidArgument => c"invalid argument",
            burrow_result::Config => c"invalid configuration (see errstr for the key and value)",
            burrow_result::Kafka => c"kafka error (see errstr)",
            burrow_result::AlreadyRun => c"the pool is running or has already run; a pool runs once",
            burrow_result::Busy => c"the pool is running: stop it and wait for burrow_pool_run to return before freeing it",
            burrow_result::Halted => c"the pool halted: a message failed permanently under its failure policy (see errstr)",
            burrow_result::Closed => c"the pool is closed",
            burrow_result::AlreadyDeferred => c"the message has already been deferred",
            burrow_result::OutOfRange => c"index out of range",
            burrow_result::Metrics => c"the metrics server could not start (see errstr)",
            burrow_result::Unavailable => c"not available: another tracing subscriber is installed in this process",
            burrow_result::CommitFailed => c"the final offset commit failed: finished work will be processed again (see errstr)",
        }
    }

    /// Every code, in value order (for the message table and tests).
    const ALL: [burrow_result; 16] = [
        burrow_result::Ok,
        burrow_result::Error,
        burrow_result::Panic,
        burrow_result::NullArgument,
        burrow_result::InvalidArgument,
        burrow_result::Config,
        burrow_result::Kafka,
        burrow_result::AlreadyRun,
        burrow_result::Busy,
        burrow_result::Halted,
        burrow_result::Closed,
        burrow_result::AlreadyDeferred,
        burrow_result::OutOfRange,
        burrow_result::Metrics,
        burrow_result::Unavailable,
        burrow_result::CommitFailed,
    ];
}

impl From<&Error> for burrow_result {
    fn from(e: &Error) -> Self {
        match e {
            Error::Config(_) => burrow_result::Config,
            Error::Kafka(_) => burrow_result::Kafka,
            Error::Halted(_) => burrow_result::Halted,
            Error::CommitFailed(_) => burrow_result::CommitFailed,
            Error::AlreadyRun => burrow_result::AlreadyRun,
            Error::Closed => burrow_result::Closed,
            Error::Metrics { .. } => burrow_result::Metrics,
            _ => burrow_result::Error,
        }
    }
}

/// A static, NUL-terminated English description of a result code. Never NULL; an unknown value
/// gives "unknown result code". The string lives as long as the process: do not free it.
///
/// Thread safety: may be called from any thread.
#[no_mangle]
pub extern "C" fn burrow_result_message(result: u32) -> *const c_char {
    guard(|| {
        burrow_result::ALL
            .get(result as usize)
            .map_or(c"unknown result code", |r| r.message())
            .as_ptr()
    })
}

/// What an exported function returns when a panic is caught inside it.
pub(crate) trait PanicValue {
    /// The value standing for "a panic happened".
    fn panic_value() -> Self;
}

impl PanicValue for burrow_result {
    fn panic_value() -> Self {
        burrow_result::Panic
    }
}

impl<T> PanicValue for *const T {
    fn panic_value() -> Self {
        std::ptr::null()
    }
}

impl<T> PanicValue for *mut T {
    fn panic_value() -> Self {
        std::ptr::null_mut()
    }
}

impl PanicValue for () {
    fn panic_value() -> Self {}
}

impl PanicValue for i32 {
    fn panic_value() -> Self {
        -1
    }
}

impl PanicValue for i64 {
    fn panic_value() -> Self {
        -1
    }
}

impl PanicValue for u32 {
    fn panic_value() -> Self {
        0
    }
}

impl PanicValue for usize {
    fn panic_value() -> Self {
        0
    }
}

/// The panic boundary (rustls-ffi's `ffi_panic_boundary!`): runs `f`, and if it panics, logs the
/// panic and returns `R::panic_value()` instead of unwinding into C.
pub(crate) fn guard<R: PanicValue>(f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            // Logging must not be able to unwind either.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                tracing::error!(panic = %what, "panic caught at the C boundary");
            }));
            R::panic_value()
        }
    }
}

/// Returns early with `BURROW_RESULT_NULL_ARGUMENT` when any of the pointers is NULL.
macro_rules! check_null {
    ($($p:expr),+ $(,)?) => {
        if false $(|| $p.is_null())+ {
            return $crate::ffi::burrow_result::NullArgument;
        }
    };
}
pub(crate) use check_null;

/// Borrows a NUL-terminated C string as UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char) -> Result<&'a str, burrow_result> {
    if p.is_null() {
        return Err(burrow_result::NullArgument);
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string valid for 'a.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| burrow_result::InvalidArgument)
}

/// Copies `len` bytes of text given as pointer + length into a `String` (invalid UTF-8 is
/// replaced). NULL gives `None`.
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes.
pub(crate) unsafe fn text_arg(p: *const c_char, len: usize) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// Writes `msg` into a caller's `errstr` buffer of `size` bytes, librdkafka style: truncated at a
/// UTF-8 character boundary to fit, always NUL-terminated. Does nothing when `errstr` is NULL or
/// `size` is 0.
///
/// # Safety
/// `errstr` must be NULL or point to `size` writable bytes.
pub(crate) unsafe fn write_errstr(errstr: *mut c_char, size: usize, msg: &str) {
    if errstr.is_null() || size == 0 {
        return;
    }
    let mut n = msg.len().min(size - 1);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller guarantees `size` writable bytes at `errstr`; we write n + 1 <= size
    // bytes, and `msg` (a Rust &str) cannot overlap a buffer the caller lent us for writing.
    unsafe {
        std::ptr::copy_nonoverlapping(msg.as_ptr(), errstr.cast::<u8>(), n);
        *errstr.add(n) = 0;
    }
}

/// Writes `value` through an out-parameter the caller checked for NULL.
///
/// # Safety
/// `out` must be non-NULL, aligned and writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: guaranteed by the caller.
    unsafe { out.write(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_value() {
        assert_eq!(
            guard(|| -> burrow_result { panic!("boom") }),
            burrow_result::Panic
        );
        assert!(guard(|| -> *const u8 { panic!("boom") }).is_null());
        assert_eq!(guard(|| -> i64 { panic!("{}", 42) }), -1);
        assert_eq!(guard(|| burrow_result::Ok), burrow_result::Ok);
    }

    #[test]
    fn every_code_has_its_own_message_and_values_are_fixed() {
        for (i, r) in burrow_result::ALL.iter().enumerate() {
            assert_eq!(*r as u32, i as u32, "codes are dense and in order");
            // SAFETY: burrow_result_message returns a static NUL-terminated string.
            let m = unsafe { CStr::from_ptr(burrow_result_message(i as u32)) };
            assert!(!m.to_bytes().is_empty());
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(burrow_result_message(9999)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown result code");
        assert_eq!(burrow_result::Unavailable as u32, 14);
    }

    #[test]
    fn errstr_is_truncated_at_a_char_boundary_and_terminated() {
        let mut buf = [0x55 as c_char; 6];
        // SAFETY: buf has 6 writable bytes.
        unsafe { write_errstr(buf.as_mut_ptr(), buf.len(), "héllo world") };
        // SAFETY: write_errstr NUL-terminates.
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(s.to_str().unwrap(), "héll");
        // SAFETY: NULL / zero size are allowed and write nothing.
        unsafe { write_errstr(std::ptr::null_mut(), 10, "x") };
        unsafe { write_errstr(buf.as_mut_ptr(), 0, "x") };
        assert_eq!(buf[0] as u8, b'h');
    }
}
