//! What a processor reports for a message, and the completion handle for finishing it later.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use crate::engine::job::{Job, Report};
use crate::message::Message;

/// The result of processing one message.
///
/// A `Result<(), E>` converts into an outcome, an error being a retriable failure; use
/// [`Outcome::fail`] for errors that retrying cannot fix:
///
/// ```
/// use burrow::Outcome;
///
/// fn charge(amount: i64) -> Result<(), String> {
///     if amount < 0 { Err("negative amount".into()) } else { Ok(()) }
/// }
///
/// let outcome = |amount: i64| match charge(amount) {
///     Err(e) if e.contains("negative") => Outcome::fail(e), // permanent: the policy applies
///     other => Outcome::from(other),                        // Ok: done; Err: retried
/// };
/// assert_eq!(outcome(5), Outcome::Done);
/// assert_eq!(outcome(-5), Outcome::Fail("negative amount".into()));
/// assert_eq!(Outcome::from(Err::<(), _>("timeout")), Outcome::Retry("timeout".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished: the message may be committed.
    Done,
    /// Failed, worth retrying: it is retried after a backoff until `burrow.max.retries`, then the
    /// failure policy applies.
    Retry(String),
    /// Failed and not retriable: the failure policy applies at once.
    Fail(String),
}

impl Outcome {
    /// A retriable failure.
    pub fn retry(err: impl Display) -> Self {
        Outcome::Retry(err.to_string())
    }

    /// A permanent (non-retriable) failure.
    pub fn fail(err: impl Display) -> Self {
        Outcome::Fail(err.to_string())
    }
}

/// `Ok(())` is done; an error is a retriable failure.
impl<E: Display> From<Result<(), E>> for Outcome {
    fn from(r: Result<(), E>) -> Self {
        match r {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::retry(e),
        }
    }
}

/// A message handed to a processor together with the duty to finish it.
///
/// Call [`Delivery::complete`] exactly once, from any thread, now or later. A `Delivery` dropped
/// without completing (including when the processor panics) counts as a retriable failure, so a
/// forgotten message never stalls its partition silently.
///
/// ```no_run
/// # fn main() -> Result<(), burrow::Error> {
/// # let config = burrow::Config::new();
/// use burrow::{Outcome, Pool};
///
/// let pool = Pool::new(&config)?;
/// pool.subscribe(&["requests"])?;
/// pool.run_deferred(|delivery| {
///     // Hand the message to another thread and return at once; the worker is free again.
///     std::thread::spawn(move || {
///         let _payload = delivery.message().payload();
///         delivery.complete(Outcome::Done);
///     });
/// })?;
/// # Ok(())
/// # }
/// ```
///
/// `examples/deferred.rs` completes deliveries from tokio tasks.
pub struct Delivery {
    job: Option<Job>,
    /// The reporting worker's sender (shared by its deliveries, so a delivery clones no
    /// pool-wide handle).
    reports: Arc<Sender<Report>>,
    /// When processing started, only when metrics record durations.
    started: Option<Instant>,
}

impl Delivery {
    pub(crate) fn new(job: Job, reports: Arc<Sender<Report>>, timed: bool) -> Self {
        Self {
            job: Some(job),
            reports,
            started: timed.then(Instant::now),
        }
    }

    /// The message to process.
    pub fn message(&self) -> &Message {
        &self
            .job
            .as_ref()
            .expect("a delivery holds its job until completed")
            .msg
    }

    /// Which attempt this is: 1 for the first delivery, 2 for the first retry, ...
    pub fn attempt(&self) -> u32 {
        self.job.as_ref().map_or(0, |j| j.attempt + 1)
    }

    /// Reports the outcome. Consumes the delivery.
    pub fn complete(mut self, outcome: Outcome) {
        self.send(outcome);
    }

    fn send(&mut self, outcome: Outcome) {
        if let Some(job) = self.job.take() {
            let report = Report::Processed {
                job,
                outcome,
                elapsed: self.started.map(|t| t.elapsed()),
            };
            // The pool may have finished (results of a stopped pool are moot): ignore.
            let _ = self.reports.send(report);
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if self.job.is_some() {
            let why = if std::thread::panicking() {
                "processor panicked"
            } else {
                "delivery dropped without an outcome"
            };
            self.send(Outcome::retry(why));
        }
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self
            .job
            .as_ref()
            .map(|j| (j.msg.topic(), j.msg.partition(), j.msg.offset()));
        f.debug_struct("Delivery").field("message", &m).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_done_or_a_retriable_failure() {
        assert_eq!(Outcome::from(Ok::<(), String>(())), Outcome::Done);
        assert_eq!(
            Outcome::from(Err::<(), _>("timeout")),
            Outcome::Retry("timeout".into())
        );
    }

    /// `Debug` names the message (never its bytes), and a delivery dropped unfinished reports a
    /// retriable failure.
    #[test]
    fn a_delivery_shows_its_message_and_reports_when_dropped() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let msg = Message::new("orders", 2, 9, None, Some(b"secret".to_vec()));
        let d = Delivery::new(Job::new(msg, 0, 0), Arc::new(tx), false);
        let shown = format!("{d:?}");
        assert!(shown.contains("\"orders\", 2, 9"), "{shown}");
        assert!(!shown.contains("115, 101"), "no payload bytes: {shown}");
        drop(d);
        match rx.try_recv() {
            Ok(Report::Processed { outcome, .. }) => {
                assert!(matches!(outcome, Outcome::Retry(_)), "{outcome:?}")
            }
            other => panic!("expected a retriable failure, got {other:?}"),
        }
    }
}
