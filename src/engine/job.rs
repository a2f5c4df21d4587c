//! The unit of work that travels coordinator → worker → coordinator, and the reports sent back.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::message::Message;
use crate::offsets::tracker::Seq;
use crate::outcome::Outcome;

/// One message on its way through the pool. The coordinator gives it to a worker and gets it back
/// in a [`Report`], so a retry needs no copy.
///
/// Boxed: a job moves about ten times on its way (into the key gate, the job queue, the delivery,
/// the report channel and back), and each move of a pointer is cheaper than one of the fields; the
/// box is made and freed by the coordinator, on one thread.
#[derive(Debug)]
pub(crate) struct Job(Box<JobData>);

/// What a [`Job`] holds.
#[derive(Debug)]
pub(crate) struct JobData {
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

impl JobData {
    /// A message just received: no attempt made yet.
    fn fresh(msg: Message, epoch: u64, seq: Seq) -> Self {
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

impl Job {
    pub fn new(msg: Message, epoch: u64, seq: Seq) -> Self {
        Self(Box::new(JobData::fresh(msg, epoch, seq)))
    }
}

/// Boxes of finished jobs, kept by the coordinator for the next messages: the coordinator makes
/// and frees jobs in batches larger than the allocator's per-thread cache, and a box taken from
/// here costs no trip to the allocator's shared lists.
#[derive(Default)]
#[allow(clippy::vec_box)] // the boxes are what is kept: each goes back into a `Job` as it is
pub(crate) struct SpareJobs(Vec<Box<JobData>>);

impl SpareJobs {
    /// Boxes kept at most (about 200 bytes each, their messages' bytes not included).
    const KEEP: usize = 4096;

    /// A job for a message just received, in a spare box when there is one.
    pub fn make(&mut self, msg: Message, epoch: u64, seq: Seq) -> Job {
        let Some(mut data) = self.0.pop() else {
            return Job::new(msg, epoch, seq);
        };
        *data = JobData::fresh(msg, epoch, seq);
        Job(data)
    }

    /// Keeps a finished job's box; its message's buffer goes back for the next records now.
    pub fn recycle(&mut self, job: Job) {
        let mut data = job.0;
        std::mem::replace(&mut data.msg, Message::placeholder()).recycle();
        if self.0.len() < Self::KEEP {
            data.last_error = None;
            self.0.push(data);
        }
    }
}

impl Deref for Job {
    type Target = JobData;
    fn deref(&self) -> &JobData {
        &self.0
    }
}

impl DerefMut for Job {
    fn deref_mut(&mut self) -> &mut JobData {
        &mut self.0
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
    /// The fixed cost of one message in flight, and what moves when a job moves.
    #[test]
    fn a_job_costs_a_fixed_size_besides_its_bytes_and_moves_as_a_pointer() {
        let size = std::mem::size_of::<super::JobData>();
        eprintln!("size_of::<JobData>() = {size} bytes");
        assert!(size <= 192, "{size} bytes");
        assert_eq!(
            std::mem::size_of::<super::Job>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn a_recycled_box_carries_nothing_of_its_last_job() {
        use super::*;
        let mut spare = SpareJobs::default();
        let mut job = spare.make(Message::new("t", 3, 42, None, Some(b"v".to_vec())), 7, 9);
        job.attempt = 2;
        job.last_error = Some("boom".into());
        job.dead_letter = true;
        job.dead_letter_attempts = 1;
        let first: *const JobData = &*job;
        spare.recycle(job);
        let again = spare.make(Message::new("u", 1, 5, None, None), 8, 10);
        assert!(std::ptr::eq(first, &*again), "the box is reused");
        assert_eq!(
            (again.msg.topic(), again.msg.partition(), again.msg.offset()),
            ("u", 1, 5)
        );
        assert_eq!(
            (again.epoch, again.attempt, again.dead_letter_attempts),
            (8, 0, 0)
        );
        assert!(again.last_error.is_none() && !again.dead_letter);
        assert!(spare.0.is_empty());
    }
}
