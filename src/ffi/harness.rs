//! Drives the process-callback path of `burrow_pool_run` without a Kafka consumer (feature
//! `fuzzing`; not part of the C API).
//!
//! The fuzz targets in `fuzz/` and tests use it to hand hand-built messages to a callback through
//! exactly the code a pool's worker runs (`call_processor`: the `burrow_message` handle, the
//! callback, the mapping of its returned outcome, deferral), and to read back how each message was
//! finished.

use std::ffi::c_void;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::message::{burrow_message, burrow_outcome};
use super::pool::{call_processor, Callback};
use crate::engine::job::{Job, Report};
use crate::message::Message;
use crate::outcome::{Delivery, Outcome};

/// Hands messages to a Rust closure standing in for a C process callback, and collects the
/// outcomes their deliveries were finished with.
pub struct Harness {
    reports_tx: Sender<Report>,
    reports: Receiver<Report>,
    next_seq: u64,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

unsafe extern "C" fn trampoline<F>(
    userdata: *mut c_void,
    msg: *const burrow_message,
) -> burrow_outcome
where
    F: FnMut(*const burrow_message) -> burrow_outcome,
{
    // SAFETY: `userdata` is the `&mut F` that `Harness::call` passed for the duration of the call.
    let f = unsafe { &mut *userdata.cast::<F>() };
    f(msg)
}

impl Harness {
    /// A harness with no message delivered yet.
    pub fn new() -> Self {
        let (reports_tx, reports) = crossbeam_channel::unbounded();
        Self {
            reports_tx,
            reports,
            next_seq: 0,
        }
    }

    /// Delivers `msg` (first attempt) to `callback` the way a pool worker does, and applies the
    /// outcome the callback returns. A callback that defers the message keeps the completion
    /// handle; the message is finished when that handle is completed or freed.
    pub fn call<F>(&mut self, msg: Message, mut callback: F)
    where
        F: FnMut(*const burrow_message) -> burrow_outcome,
    {
        let delivery = Delivery::new(
            Job::new(msg, 0, self.next_seq),
            Arc::new(self.reports_tx.clone()),
            false,
        );
        self.next_seq += 1;
        let cb = Callback {
            f: trampoline::<F>,
            userdata: (&mut callback as *mut F).cast(),
        };
        call_processor(cb, delivery);
    }

    /// The outcomes of the messages finished since the last call, in the order they finished,
    /// with the offset of each message.
    pub fn finished(&self) -> Vec<(i64, Outcome)> {
        self.reports
            .try_iter()
            .filter_map(|r| match r {
                Report::Processed { job, outcome, .. } => Some((job.msg.offset(), outcome)),
                _ => None,
            })
            .collect()
    }
}
