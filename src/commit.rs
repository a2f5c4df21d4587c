//! The commit logic: when to commit, and what.
//!
//! A commit is triggered when `burrow.commit.batch.size` messages finished since the last one
//! (checked on every completion) or when `burrow.commit.interval.ms` has elapsed, and forced on
//! revocation and shutdown. Each partition commits its tracker's commit point — one past the
//! longest finished prefix — with the topic, and with metadata listing the finished offsets above
//! it. Offsets only ever move forward; a failed commit is retried at the next trigger.
//!
//! Periodic commits run on a committer thread — one at a time, applied to the trackers only when
//! the broker's answer comes back as a [`Report::Committed`] — so a slow or unreachable broker
//! never stalls dispatching.
//! Revocation and shutdown commit synchronously: the offsets must be on the broker before the
//! partition moves or the consumer leaves.

use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{unbounded, Sender};

use crate::consumer::{KafkaConsumer, TopicPartition};
use crate::error::Error;
use crate::job::Report;
use crate::offset_metadata;
use crate::partition::{PartitionState, Partitions};
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
    in_flight: Option<InFlight>,
}

/// A commit handed to the committer thread, waiting for the broker's answer.
struct InFlight {
    since: Instant,
    parts: Vec<(TopicPartition, u64, Planned)>,
}

/// A commit that got no answer for this long is forgotten (and redone).
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(60);

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
            in_flight: None,
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
        // A partition never committed before commits its first unfinished offset, so the work
        // finished above it is recorded in metadata too.
        let offset = state
            .tracker
            .commit_point()
            .or_else(|| state.tracker.oldest_unfinished())?;
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

    /// Hands a commit of every partition with something new to the committer thread, unless the
    /// previous one is still waiting for the broker. Resets the triggers when it starts one.
    pub fn commit_async(&mut self, committer: &Committer, partitions: &Partitions, now: Instant) {
        if let Some(f) = &self.in_flight {
            if now.duration_since(f.since) < IN_FLIGHT_LIMIT {
                return;
            }
            tracing::warn!("an offset commit got no answer for a minute; committing again");
            self.in_flight = None;
        }
        self.finished_since = 0;
        self.next_due = now + self.interval;
        let planned: Vec<(TopicPartition, u64, Planned)> = partitions
            .iter()
            .filter(|s| !s.revoking)
            .filter_map(|s| self.plan(s).map(|p| (s.tp.clone(), s.epoch, p)))
            .collect();
        if planned.is_empty() {
            return;
        }
        let request: Vec<(TopicPartition, i64, String)> = planned
            .iter()
            .map(|(tp, _, p)| (tp.clone(), p.offset, p.metadata.clone()))
            .collect();
        if committer.requests.send(request).is_ok() {
            self.in_flight = Some(InFlight {
                since: now,
                parts: planned,
            });
        }
    }

    /// Applies the broker's answer to the commit in flight.
    pub fn on_committed(
        &mut self,
        result: Result<(), String>,
        partitions: &mut Partitions,
        counters: &Counters,
    ) {
        let Some(f) = self.in_flight.take() else {
            return;
        };
        if let Err(e) = result {
            return failed(counters, &e, f.parts.len());
        }
        for (tp, epoch, plan) in f.parts {
            if let Some(state) = partitions.current_mut(&tp.topic, tp.partition, epoch) {
                applied(state, plan, counters);
            }
        }
    }

    /// Commits every partition of `states` that has something new and waits for the answer.
    pub fn commit_sync<'a>(
        &mut self,
        consumer: &KafkaConsumer,
        states: impl Iterator<Item = &'a mut PartitionState>,
        counters: &Counters,
        now: Instant,
    ) -> KafkaResult<usize> {
        self.finished_since = 0;
        self.next_due = now + self.interval;
        let planned: Vec<(&'a mut PartitionState, Planned)> = states
            .filter_map(|s| self.plan(s).map(|p| (s, p)))
            .collect();
        if planned.is_empty() {
            return Ok(0);
        }
        let parts: Vec<(TopicPartition, i64, String)> = planned
            .iter()
            .map(|(s, p)| (s.tp.clone(), p.offset, p.metadata.clone()))
            .collect();
        if let Err(e) = commit_now(consumer, &parts) {
            failed(counters, &e.to_string(), planned.len());
            return Err(e);
        }
        let n = planned.len();
        for (state, plan) in planned {
            applied(state, plan, counters);
        }
        Ok(n)
    }
}

/// Records a partition's successful commit.
fn applied(state: &mut PartitionState, plan: Planned, counters: &Counters) {
    state.tracker.commit_offset(plan.offset);
    state.last_metadata = plan.metadata;
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

fn failed(counters: &Counters, error: &str, partitions: usize) {
    Counters::bump(&counters.commit_failures);
    if let Some(m) = &counters.metrics {
        m.commit_failures.inc();
    }
    tracing::warn!(%error, partitions, "commit failed; retrying at the next trigger");
}

/// The thread that performs periodic commits, so the coordinator never waits on the broker.
pub(crate) struct Committer {
    requests: Sender<Vec<(TopicPartition, i64, String)>>,
    thread: JoinHandle<()>,
}

impl Committer {
    /// Starts the thread; answers come back on `reports` as [`Report::Committed`].
    pub fn start(consumer: Arc<KafkaConsumer>, reports: Sender<Report>) -> Result<Self, Error> {
        let (requests, incoming) = unbounded::<Vec<(TopicPartition, i64, String)>>();
        let thread = std::thread::Builder::new()
            .name("burrow-commit".into())
            .spawn(move || {
                for request in incoming {
                    let result = commit_now(&consumer, &request).map_err(|e| e.to_string());
                    if reports.send(Report::Committed { result }).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::Thread(e.to_string()))?;
        Ok(Self { requests, thread })
    }

    /// Waits for the commit in progress, if any, and ends the thread.
    pub fn stop(self) {
        drop(self.requests);
        let _ = self.thread.join();
    }
}

fn commit_now(
    consumer: &KafkaConsumer,
    parts: &[(TopicPartition, i64, String)],
) -> KafkaResult<()> {
    let mut tpl = TopicPartitionList::with_capacity(parts.len());
    for (tp, offset, metadata) in parts {
        let mut elem = tpl.add_partition(&tp.topic, tp.partition);
        elem.set_offset(Offset::Offset(*offset))?;
        elem.set_metadata(metadata.as_str());
    }
    consumer.commit(&tpl, CommitMode::Sync)
}
