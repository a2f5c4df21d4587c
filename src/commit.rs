//! The commit logic: when to commit, and what.
//!
//! A commit is triggered when `burrow.commit.batch.size` messages finished since the last one
//! (checked on every completion) or when `burrow.commit.interval.ms` has elapsed, and forced on
//! revocation and shutdown. Each partition commits its tracker's commit point — one past the
//! longest finished prefix — with the topic, and with metadata listing the finished offsets above
//! it. Commits are synchronous and only ever move forward; a failed commit is retried at the next
//! trigger.

use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::consumer::KafkaConsumer;
use crate::offset_metadata;
use crate::partition::PartitionState;
use crate::stats::Counters;

/// One partition's part of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub offset: i64,
    pub metadata: String,
    /// The metadata did not fit: only the lowest finished offsets that fit were kept.
    pub overflow: bool,
}

/// Decides when to commit and builds the commit.
pub(crate) struct CommitManager {
    interval: Duration,
    batch_size: usize,
    metadata: bool,
    metadata_max_bytes: usize,
    finished_since: usize,
    next_due: Instant,
}

impl CommitManager {
    pub fn new(
        interval: Duration,
        batch_size: usize,
        metadata: bool,
        metadata_max_bytes: usize,
    ) -> Self {
        Self {
            interval,
            batch_size,
            metadata,
            metadata_max_bytes,
            finished_since: 0,
            next_due: Instant::now() + interval,
        }
    }

    /// Counts a finished message. Returns true when the batch-size trigger fires.
    pub fn note_finished(&mut self) -> bool {
        self.finished_since += 1;
        self.finished_since >= self.batch_size
    }

    pub fn due(&self, now: Instant) -> bool {
        self.finished_since >= self.batch_size || now >= self.next_due
    }

    pub fn next_due(&self) -> Instant {
        self.next_due
    }

    /// What to commit for one partition, or `None` when the broker already has it.
    pub fn plan(&self, state: &PartitionState) -> Option<Planned> {
        let offset = state.tracker.commit_point()?;
        let (metadata, overflow) = if self.metadata {
            let mut done = state.tracker.done_above_commit_point().peekable();
            if done.peek().is_none() {
                (String::new(), false)
            } else {
                let encoded = offset_metadata::encode(offset, done);
                if encoded.len() > self.metadata_max_bytes {
                    // Keep the lowest finished offsets that fit; the rest are replayed.
                    let done = state.tracker.done_above_commit_point();
                    (
                        offset_metadata::encode_limited(offset, done, self.metadata_max_bytes),
                        true,
                    )
                } else {
                    (encoded, false)
                }
            }
        } else {
            (String::new(), false)
        };
        let moved = state.tracker.committable_offset().is_some();
        if !moved && metadata == state.last_metadata {
            return None;
        }
        Some(Planned {
            offset,
            metadata,
            overflow,
        })
    }

    /// Commits every partition of `states` that has something new, synchronously.
    pub fn commit<'a>(
        &mut self,
        consumer: &KafkaConsumer,
        states: impl Iterator<Item = &'a mut PartitionState>,
        counters: &Counters,
        now: Instant,
    ) -> KafkaResult<usize> {
        self.finished_since = 0;
        self.next_due = now + self.interval;
        let mut planned: Vec<(&'a mut PartitionState, Planned)> = states
            .filter_map(|s| self.plan(s).map(|p| (s, p)))
            .collect();
        if planned.is_empty() {
            return Ok(0);
        }
        let mut tpl = TopicPartitionList::with_capacity(planned.len());
        for (state, plan) in &planned {
            let mut elem = tpl.add_partition(&state.tp.topic, state.tp.partition);
            elem.set_offset(Offset::Offset(plan.offset))?;
            elem.set_metadata(plan.metadata.as_str());
        }
        if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
            Counters::bump(&counters.commit_failures);
            if let Some(m) = &counters.metrics {
                m.commit_failures.inc();
            }
            tracing::warn!(error = %e, partitions = planned.len(), "commit failed; retrying at the next trigger");
            return Err(e);
        }
        for (state, plan) in planned.iter_mut() {
            state.tracker.commit_offset(plan.offset);
            state.last_metadata = std::mem::take(&mut plan.metadata);
            Counters::bump(&counters.commits);
            if let Some(m) = &state.metrics {
                m.committed.inc();
                m.metadata_bytes.set(state.last_metadata.len() as i64);
            }
            if plan.overflow {
                Counters::bump(&counters.metadata_overflows);
                if let Some(m) = &counters.metrics {
                    m.metadata_overflows.inc();
                }
                tracing::warn!(topic = %state.tp.topic, partition = state.tp.partition,
                    "commit metadata too large; kept only the finished offsets that fit");
            }
            tracing::debug!(topic = %state.tp.topic, partition = state.tp.partition, offset = plan.offset, "committed");
        }
        Ok(planned.len())
    }
}
