//! The unit of work that travels coordinator → worker → coordinator, and the reports sent back.

use std::time::Duration;

use crate::message::Message;
use crate::offsets::tracker::Seq;
use crate::outcome::Outcome;

/// One message on its way through the pool. The coordinator gives it to a worker and gets it back
/// in a [`Report`], so a retry needs no copy.
#[derive(Debug)]
pub(crate) struct Job {
    pub msg: Message,
    /// Generation of the partition's state when the message was received: a report whose epoch no
    /// longer matches (the partition was revoked meanwhile) is discarded, never committed.
    pub epoch: u64,
    /// The tracker's sequence number of this message.
    pub seq: Seq,
    /// Failed attempts so far.
    pub attempt: u32,
    /// The last failure, for logs and dead-letter headers.
    pub last_error: Option<String>,
    /// The job waits (in the retry queue) for the dead-letter producer, not for a worker.
    pub dead_letter: bool,
    /// Failed dead-letter produces so far.
    pub dead_letter_attempts: u32,
}

impl Job {
    pub fn new(msg: Message, epoch: u64, seq: Seq) -> Self {
        Self {
            msg,
            epoch,
            seq,
            attempt: 0,
            last_error: None,
            dead_letter: false,
            dead_letter_attempts: 0,
        }
    }
}

/// What reaches the coordinator from workers, deferred completions and the dead-letter producer.
#[derive(Debug)]
pub(crate) enum Report {
    /// A processor finished (or gave up on) a message.
    Processed {
        job: Job,
        outcome: Outcome,
        /// Processing time, when metrics record it.
        elapsed: Option<Duration>,
    },
    /// The dead-letter topic acknowledged (or refused) a copy of a message.
    DeadLettered {
        job: Job,
        result: Result<(), String>,
    },
}

#[cfg(test)]
mod tests {
    /// The fixed cost of one message in flight, quoted in docs/ARCHITECTURE.md.
    #[test]
    fn a_job_costs_a_fixed_size_besides_its_bytes() {
        let size = std::mem::size_of::<super::Job>();
        eprintln!("size_of::<Job>() = {size} bytes");
        assert!(size <= 192, "{size} bytes: update docs/ARCHITECTURE.md");
    }
}
