//! `burrow_completion`: finishing a deferred message later, from any thread.

use std::ffi::c_char;

use super::message::{
    burrow_message, burrow_outcome, View, BURROW_OUTCOME_DONE, BURROW_OUTCOME_FAIL,
    BURROW_OUTCOME_RETRY,
};
use super::{burrow_result, check_null, guard, text_arg};
use crate::outcome::{Delivery, Outcome};

/// The duty to finish one deferred message, obtained from `burrow_message_defer` or
/// `burrow_pool_take`.
///
/// Finish it exactly once, from any thread, with `burrow_completion_complete` (which also frees
/// the handle), or drop it with `burrow_completion_free` (counts as a retriable failure). It may
/// outlive the pool: completing after `burrow_pool_run` returned (or after the pool was freed)
/// is allowed and has no effect.
///
/// Thread safety: a completion may be moved to and used from any thread, but one completion
/// must not be used by two threads at once.
pub struct burrow_completion {
    message: burrow_message,
}

impl burrow_completion {
    /// A new heap handle owning `delivery`.
    pub(crate) fn new(view: View, delivery: Delivery, error: Option<String>) -> *mut Self {
        let message = burrow_message::with_state(view, delivery, true);
        message.state().error = error;
        Box::into_raw(Box::new(Self { message }))
    }
}

impl burrow_completion {
    /// A new heap handle for a delivery taken by `burrow_pool_take`.
    pub(crate) fn taken(delivery: Delivery) -> *mut Self {
        Box::into_raw(Box::new(Self {
            message: burrow_message::taken(delivery),
        }))
    }
}

/// Maps a C outcome and error text to the core's outcome. `None` for an invalid value.
pub(crate) fn outcome_of(outcome: burrow_outcome, error: Option<String>) -> Option<Outcome> {
    match outcome {
        BURROW_OUTCOME_DONE => Some(Outcome::Done),
        BURROW_OUTCOME_RETRY => Some(Outcome::Retry(
            error.unwrap_or_else(|| "the processor asked for a retry".into()),
        )),
        BURROW_OUTCOME_FAIL => {
            Some(Outcome::Fail(error.unwrap_or_else(|| {
                "the processor reported a permanent failure".into()
            })))
        }
        _ => None,
    }
}

/// The deferred message, valid until the completion is completed or freed (NULL when
/// `completion` is NULL). `burrow_message_set_error` works on it; `burrow_message_defer` does not.
///
/// # Safety
/// `completion` must be NULL or a live completion handle.
#[no_mangle]
pub unsafe extern "C" fn burrow_completion_message(
    completion: *const burrow_completion,
) -> *const burrow_message {
    guard(|| {
        if completion.is_null() {
            return std::ptr::null();
        }
        // SAFETY: non-NULL and live (caller contract).
        unsafe { &(*completion).message as *const burrow_message }
    })
}

/// Finishes the deferred message with `outcome` (`BURROW_OUTCOME_DONE`, `_RETRY` or `_FAIL`) and
/// frees the handle. `err` (pointer + length, may be NULL) is the error text for RETRY / FAIL; when
/// NULL, text set earlier with `burrow_message_set_error` is used. Callable from any thread.
///
/// The handle is freed in every case except a NULL `completion`: an invalid outcome (such as
/// `BURROW_OUTCOME_DEFERRED`) finishes the message as a retriable failure and returns
/// `BURROW_RESULT_INVALID_ARGUMENT`. The message and every pointer obtained from it become invalid.
///
/// # Safety
/// `completion` must be a live completion handle, not used concurrently by another thread, and not
/// used again afterwards; `err` must be NULL or point to `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn burrow_completion_complete(
    completion: *mut burrow_completion,
    outcome: burrow_outcome,
    err: *const c_char,
    err_len: usize,
) -> burrow_result {
    guard(|| {
        check_null!(completion);
        // SAFETY: from Box::into_raw in burrow_completion::new, used once (caller contract).
        let completion = unsafe { Box::from_raw(completion) };
        // SAFETY: err is NULL or points to err_len bytes (caller contract).
        let text = unsafe { text_arg(err, err_len) };
        let (delivery, stored) = {
            let mut st = completion.message.state();
            (st.delivery.take(), st.error.take())
        };
        let Some(delivery) = delivery else {
            return burrow_result::Ok;
        };
        match outcome_of(outcome, text.or(stored)) {
            Some(o) => {
                delivery.complete(o);
                burrow_result::Ok
            }
            None => {
                let (partition, offset) = completion.message.origin();
                tracing::error!(
                    partition,
                    offset,
                    outcome,
                    "burrow_completion_complete: invalid outcome; the message counts as a retriable failure"
                );
                delivery.complete(Outcome::retry(format!("invalid outcome {outcome}")));
                burrow_result::InvalidArgument
            }
        }
    })
}

/// Frees a completion without finishing its message: the message counts as a retriable failure
/// ("completion freed without an outcome") and will be processed again. NULL does nothing. Must
/// not be called after `burrow_completion_complete`, nor twice.
///
/// # Safety
/// `completion` must be NULL or a live completion handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn burrow_completion_free(completion: *mut burrow_completion) {
    guard(|| {
        if completion.is_null() {
            return;
        }
        // SAFETY: from Box::into_raw in burrow_completion::new, used once (caller contract).
        let completion = unsafe { Box::from_raw(completion) };
        let delivery = completion.message.state().delivery.take();
        if let Some(d) = delivery {
            d.complete(Outcome::retry("completion freed without an outcome"));
        }
    })
}
