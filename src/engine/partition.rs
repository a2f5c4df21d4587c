//! Per-partition state owned by the coordinator: the tracker, the ordering gate, what commit
//! metadata says is already finished, and the backpressure flag.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::engine::dispatcher::KeyGate;
use crate::engine::job::Job;
use crate::message::TopicPartition;
use crate::observe::metrics::PartitionMetrics;
use crate::observe::stats::PartitionStats;
use crate::offsets::metadata::DoneSet;
use crate::offsets::tracker::{PartitionTracker, Seq};

/// Everything Burrow keeps for one assigned partition.
pub(crate) struct PartitionState {
    pub tp: TopicPartition,
    /// Generation: jobs carry it, and a report with another epoch is stale.
    pub epoch: u64,
    pub tracker: PartitionTracker,
    pub gate: KeyGate,
    /// Offsets above the committed offset already finished before the assignment.
    pub skip: DoneSet,
    /// Jobs handed out (to a worker, a deferred completion or the dead-letter producer) and not back.
    pub outstanding: usize,
    pub paused: bool,
    /// Being revoked: nothing new is dispatched.
    pub revoking: bool,
    /// Metadata sent with the last successful commit.
    pub last_metadata: String,
    /// This partition's Prometheus series, when metrics are on.
    pub metrics: Option<PartitionMetrics>,
    oldest: Option<(Seq, Instant)>,
}

impl PartitionState {
    pub fn new(tp: TopicPartition, epoch: u64, committed: Option<i64>, skip: DoneSet) -> Self {
        Self {
            tp,
            epoch,
            tracker: PartitionTracker::new(committed),
            gate: KeyGate::default(),
            skip,
            outstanding: 0,
            paused: false,
            revoking: false,
            last_metadata: String::new(),
            metrics: None,
            oldest: None,
        }
    }

    /// Whether the partition should be paused: too many unfinished messages, or (one message
    /// holding back a long tail of finished ones) too large a window.
    pub fn over_high_watermark(&self, cap: usize) -> bool {
        self.tracker.inflight_count() >= cap || self.tracker.window_len() >= cap.saturating_mul(64)
    }

    /// Whether a paused partition may resume.
    pub fn under_low_watermark(&self, cap: usize) -> bool {
        self.tracker.inflight_count() <= cap / 2
            && self.tracker.window_len() < cap.saturating_mul(32)
    }

    /// Keeps track of since when the current oldest unfinished message has been the oldest.
    pub fn note_progress(&mut self, now: Instant) {
        let seq = self.tracker.oldest_unfinished_seq();
        match (seq, self.oldest) {
            (None, _) => self.oldest = None,
            (Some(s), Some((old, _))) if s == old => {}
            (Some(s), _) => self.oldest = Some((s, now)),
        }
    }

    pub fn snapshot(&self, now: Instant, high_watermark: Option<i64>) -> PartitionStats {
        let committed = self.tracker.last_committed();
        PartitionStats {
            topic: self.tp.topic.to_string(),
            partition: self.tp.partition,
            committed_offset: committed,
            high_watermark,
            lag: high_watermark.zip(committed).map(|(hw, c)| (hw - c).max(0)),
            inflight: self.tracker.inflight_count(),
            oldest_unfinished_offset: self.tracker.oldest_unfinished(),
            oldest_unfinished_age: self
                .oldest
                .map(|(_, since)| now.saturating_duration_since(since)),
            paused: self.paused,
        }
    }
}

/// The assigned partitions, found by topic name and partition number without allocating.
#[derive(Default)]
pub(crate) struct Partitions {
    by_topic: HashMap<Arc<str>, HashMap<i32, PartitionState>>,
}

impl Partitions {
    pub fn get_mut(&mut self, topic: &str, partition: i32) -> Option<&mut PartitionState> {
        self.by_topic.get_mut(topic)?.get_mut(&partition)
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<&PartitionState> {
        self.by_topic.get(topic)?.get(&partition)
    }

    /// The state a job belongs to, if that partition is still assigned in the job's epoch.
    pub fn current_mut(
        &mut self,
        topic: &str,
        partition: i32,
        epoch: u64,
    ) -> Option<&mut PartitionState> {
        self.get_mut(topic, partition).filter(|s| s.epoch == epoch)
    }

    /// The state of a job's partition, if it is still the assignment the job came from.
    pub fn for_job(&mut self, job: &Job) -> Option<&mut PartitionState> {
        self.current_mut(job.msg.topic(), job.msg.partition(), job.epoch)
    }

    pub fn insert(&mut self, state: PartitionState) {
        let topic = state.tp.topic.clone();
        self.by_topic
            .entry(topic)
            .or_default()
            .insert(state.tp.partition, state);
    }

    pub fn remove(&mut self, tp: &TopicPartition) -> Option<PartitionState> {
        let parts = self.by_topic.get_mut(&*tp.topic)?;
        let state = parts.remove(&tp.partition);
        if parts.is_empty() {
            self.by_topic.remove(&*tp.topic);
        }
        state
    }

    pub fn iter(&self) -> impl Iterator<Item = &PartitionState> {
        self.by_topic.values().flat_map(|p| p.values())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut PartitionState> {
        self.by_topic.values_mut().flat_map(|p| p.values_mut())
    }
}
