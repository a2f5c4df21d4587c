//! Fuzzes the C API's message accessors and completion calls on records with arbitrary topics,
//! keys, values, headers and timestamps (broker data is untrusted), through the same glue a pool
//! worker runs (`burrow::ffi::harness`): every accessor must return exactly the record's bytes,
//! out-of-range header indexes and NULLs must be refused, and every message must be finished
//! exactly once with the outcome the callback (or its completion) chose.
//!
//! Run: `cargo +nightly fuzz run ffi_message` (from the repository root).
#![no_main]

use std::ffi::c_char;

use arbitrary::Arbitrary;
use burrow::ffi::burrow_result;
use burrow::ffi::completion::{
    burrow_completion, burrow_completion_complete, burrow_completion_free,
    burrow_completion_message,
};
use burrow::ffi::harness::Harness;
use burrow::ffi::message::*;
use burrow::{Header, Message, Outcome, Timestamp};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Record {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: (u8, i64),
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Read,
    Header(usize),
    Nulls,
    SetError(Vec<u8>),
    Defer,
}

#[derive(Arbitrary, Debug, Clone)]
enum Finish {
    /// The callback returns this code (after deferring or not).
    Return(i32),
    /// Deferred: complete with this code and optional text.
    Complete(i32, Option<Vec<u8>>),
    /// Deferred: free the completion without an outcome.
    Free,
}

#[derive(Arbitrary, Debug)]
struct Input {
    record: Record,
    ops: Vec<Op>,
    finish: Finish,
}

fn message_of(r: &Record) -> Message {
    let headers = r
        .headers
        .iter()
        .map(|(k, v)| Header {
            key: k.clone(),
            value: v.clone(),
        })
        .collect();
    let ts = match r.timestamp.0 % 3 {
        0 => Timestamp::NotAvailable,
        1 => Timestamp::CreateTime(r.timestamp.1),
        _ => Timestamp::LogAppendTime(r.timestamp.1),
    };
    Message::new(
        r.topic.as_str(),
        r.partition,
        r.offset,
        r.key.clone(),
        r.value.clone(),
    )
    .with_headers(headers, ts)
}

/// # Safety
/// `p` must be NULL (then `len` is 0) or point to `len` readable bytes.
unsafe fn bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if p.is_null() {
        assert_eq!(len, 0);
        None
    } else {
        Some(unsafe { std::slice::from_raw_parts(p, len) })
    }
}

/// Reads everything through the accessors and compares it with the record.
///
/// # Safety
/// `msg` must be a valid message.
unsafe fn check_read(msg: *const burrow_message, r: &Record) {
    unsafe {
        let (mut p, mut n) = (std::ptr::null::<c_char>(), 0usize);
        assert_eq!(burrow_message_topic(msg, &mut p, &mut n), burrow_result::Ok);
        assert_eq!(bytes(p.cast(), n), Some(r.topic.as_bytes()));
        assert_eq!(burrow_message_partition(msg), r.partition);
        assert_eq!(burrow_message_offset(msg), r.offset);
        assert_eq!(burrow_message_attempt(msg), 1);
        let (mut b, mut n) = (std::ptr::null::<u8>(), 0usize);
        assert_eq!(burrow_message_key(msg, &mut b, &mut n), burrow_result::Ok);
        assert_eq!(bytes(b, n), r.key.as_deref());
        assert_eq!(burrow_message_value(msg, &mut b, &mut n), burrow_result::Ok);
        assert_eq!(bytes(b, n), r.value.as_deref());
        assert_eq!(burrow_message_header_count(msg), r.headers.len());
        let (mut kind, mut ms) = (-7, -7);
        assert_eq!(
            burrow_message_timestamp(msg, &mut kind, &mut ms),
            burrow_result::Ok
        );
        let want = match r.timestamp.0 % 3 {
            0 => (BURROW_TIMESTAMP_NOT_AVAILABLE, -1),
            1 => (BURROW_TIMESTAMP_CREATE_TIME, r.timestamp.1),
            _ => (BURROW_TIMESTAMP_LOG_APPEND_TIME, r.timestamp.1),
        };
        assert_eq!((kind, ms), want);
    }
}

/// # Safety
/// `msg` must be a valid message.
unsafe fn check_header(msg: *const burrow_message, r: &Record, index: usize) {
    unsafe {
        let (mut name, mut name_len) = (std::ptr::null::<c_char>(), 0usize);
        let (mut value, mut value_len) = (std::ptr::null::<u8>(), 0usize);
        let res = burrow_message_header(
            msg,
            index,
            &mut name,
            &mut name_len,
            &mut value,
            &mut value_len,
        );
        match r.headers.get(index) {
            Some((k, v)) => {
                assert_eq!(res, burrow_result::Ok);
                assert_eq!(bytes(name.cast(), name_len), Some(k.as_bytes()));
                assert_eq!(bytes(value, value_len), v.as_deref());
            }
            None => {
                assert_eq!(res, burrow_result::OutOfRange);
                assert!(
                    name.is_null() && value.is_null(),
                    "out-params written on error"
                );
            }
        }
    }
}

/// # Safety
/// `msg` must be NULL or a valid message.
unsafe fn check_nulls(msg: *const burrow_message) {
    unsafe {
        let (mut p, mut n) = (std::ptr::null::<c_char>(), 0usize);
        let (mut b, mut bn) = (std::ptr::null::<u8>(), 0usize);
        assert_eq!(
            burrow_message_topic(std::ptr::null(), &mut p, &mut n),
            burrow_result::NullArgument
        );
        assert_eq!(
            burrow_message_topic(msg, std::ptr::null_mut(), &mut n),
            burrow_result::NullArgument
        );
        assert_eq!(
            burrow_message_key(msg, &mut b, std::ptr::null_mut()),
            burrow_result::NullArgument
        );
        assert_eq!(
            burrow_message_value(msg, std::ptr::null_mut(), &mut bn),
            burrow_result::NullArgument
        );
        assert_eq!(burrow_message_partition(std::ptr::null()), -1);
        assert_eq!(burrow_message_offset(std::ptr::null()), -1);
        assert_eq!(burrow_message_attempt(std::ptr::null()), 0);
        assert_eq!(burrow_message_header_count(std::ptr::null()), 0);
        assert_eq!(
            burrow_message_header(msg, 0, &mut p, std::ptr::null_mut(), &mut b, &mut bn),
            burrow_result::NullArgument
        );
        let mut kind = 0;
        assert_eq!(
            burrow_message_timestamp(msg, &mut kind, std::ptr::null_mut()),
            burrow_result::NullArgument
        );
        assert_eq!(
            burrow_message_set_error(msg, std::ptr::null(), 3),
            burrow_result::NullArgument
        );
        assert_eq!(
            burrow_message_defer(msg, std::ptr::null_mut()),
            burrow_result::NullArgument
        );
        assert_eq!(
            burrow_completion_complete(
                std::ptr::null_mut(),
                BURROW_OUTCOME_DONE,
                std::ptr::null(),
                0
            ),
            burrow_result::NullArgument
        );
        assert!(burrow_completion_message(std::ptr::null()).is_null());
        burrow_completion_free(std::ptr::null_mut());
    }
}

fn expected(code: i32, error: Option<&[u8]>, default: &str) -> Outcome {
    let text = error.map(|e| String::from_utf8_lossy(e).into_owned());
    match code {
        BURROW_OUTCOME_DONE => Outcome::Done,
        BURROW_OUTCOME_RETRY => Outcome::Retry(text.unwrap_or_else(|| default.to_string())),
        BURROW_OUTCOME_FAIL => Outcome::Fail(text.unwrap_or_else(|| default.to_string())),
        _ => Outcome::Retry(String::new()), // compared by kind only
    }
}

fn same_kind(a: &Outcome, b: &Outcome) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fuzz_target!(|input: Input| {
    let r = &input.record;
    let mut harness = Harness::new();
    let mut completion: *mut burrow_completion = std::ptr::null_mut();
    let mut error: Option<Vec<u8>> = None;
    let mut deferred = false;
    let ops: Vec<Op> = input.ops.iter().take(32).cloned().collect();
    let code = match input.finish {
        Finish::Return(c) => c,
        _ => BURROW_OUTCOME_DEFERRED,
    };
    harness.call(message_of(r), |msg| {
        for op in &ops {
            // SAFETY: `msg` is valid for the whole callback (and after a defer, as long as the
            // completion lives, which it does until after the callback).
            unsafe {
                match op {
                    Op::Read => check_read(msg, r),
                    Op::Header(i) => check_header(msg, r, *i % (r.headers.len() + 2)),
                    Op::Nulls => check_nulls(msg),
                    Op::SetError(e) => {
                        let res = burrow_message_set_error(msg, e.as_ptr().cast(), e.len());
                        assert_eq!(res, burrow_result::Ok);
                        // After a defer, the text set on the callback's handle stays there: only
                        // text set before deferring (or on burrow_completion_message) reaches
                        // the completion.
                        if !deferred {
                            error = Some(e.clone());
                        }
                    }
                    Op::Defer => {
                        let mut c = std::ptr::null_mut();
                        let res = burrow_message_defer(msg, &mut c);
                        if deferred {
                            assert_eq!(res, burrow_result::AlreadyDeferred);
                            assert!(c.is_null());
                        } else {
                            assert_eq!(res, burrow_result::Ok);
                            assert!(!c.is_null());
                            completion = c;
                            deferred = true;
                        }
                    }
                }
            }
        }
        code
    });
    let finished = harness.finished();
    if !deferred {
        // Finished when the callback returned: DEFERRED without a defer, or an unknown code, is a
        // retriable failure.
        assert_eq!(finished.len(), 1, "{finished:?}");
        assert_eq!(finished[0].0, r.offset);
        let want = match code {
            BURROW_OUTCOME_DEFERRED => Outcome::Retry(String::new()),
            c => expected(c, error.as_deref(), ""),
        };
        assert!(
            same_kind(&finished[0].1, &want),
            "{:?} vs {want:?}",
            finished[0].1
        );
        if matches!(code, BURROW_OUTCOME_RETRY | BURROW_OUTCOME_FAIL) && error.is_some() {
            assert_eq!(finished[0].1, want);
        }
        return;
    }
    assert!(
        finished.is_empty(),
        "a deferred message waits for its completion: {finished:?}"
    );
    // SAFETY: the completion is live until completed or freed, once.
    unsafe {
        let msg = burrow_completion_message(completion);
        assert!(!msg.is_null());
        check_read(msg, r);
        if !r.headers.is_empty() {
            check_header(msg, r, r.headers.len() - 1);
        }
        let mut again = std::ptr::null_mut();
        assert_eq!(
            burrow_message_defer(msg, &mut again),
            burrow_result::AlreadyDeferred
        );
        match &input.finish {
            Finish::Complete(c, text) => {
                let (p, n) = match text {
                    Some(t) => (t.as_ptr().cast::<c_char>(), t.len()),
                    None => (std::ptr::null(), 0),
                };
                let res = burrow_completion_complete(completion, *c, p, n);
                let valid = matches!(
                    *c,
                    BURROW_OUTCOME_DONE | BURROW_OUTCOME_RETRY | BURROW_OUTCOME_FAIL
                );
                assert_eq!(
                    res,
                    if valid {
                        burrow_result::Ok
                    } else {
                        burrow_result::InvalidArgument
                    }
                );
                let finished = harness.finished();
                assert_eq!(finished.len(), 1, "{finished:?}");
                let text = text.as_deref().or(error.as_deref());
                let want = expected(*c, text, "");
                assert!(
                    same_kind(&finished[0].1, &want),
                    "{:?} vs {want:?}",
                    finished[0].1
                );
                if valid && text.is_some() {
                    assert_eq!(finished[0].1, want);
                }
            }
            _ => {
                burrow_completion_free(completion);
                let finished = harness.finished();
                assert_eq!(finished.len(), 1, "{finished:?}");
                assert!(matches!(finished[0].1, Outcome::Retry(_)));
            }
        }
    }
});
