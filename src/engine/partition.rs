//! Per-partition state owned by the coordinator: the tracker, the ordering gate, what commit
//! metadata says is already finished, and the backpressure flag.

use std::time::Instant;

use crate::engine::dispatcher::KeyGate;
use crate::engine::job::Job;
use crate::message::{intern_topic, TopicPartition};
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

/// The assigned partitions, found by topic name and partition number without allocating or
/// hashing: a short list of topics (looked up by pointer first: messages point to their topic's
/// interned name, [`intern_topic`], then by name), each with its partitions indexed by partition
/// number. Kafka numbers a topic's partitions 0..n, so the index is dense.
#[derive(Default)]
pub(crate) struct Partitions {
    topics: Vec<TopicSlots>,
}

struct TopicSlots {
    topic: &'static str,
    /// Indexed by partition number.
    slots: Vec<Option<Box<PartitionState>>>,
    assigned: usize,
}

impl Partitions {
    fn topic_index(&self, topic: &str) -> Option<usize> {
        let ptr = topic.as_ptr();
        self.topics
            .iter()
            .position(|t| t.topic.as_ptr() == ptr && t.topic.len() == topic.len())
            .or_else(|| self.topics.iter().position(|t| t.topic == topic))
    }

    pub fn get_mut(&mut self, topic: &str, partition: i32) -> Option<&mut PartitionState> {
        let t = self.topic_index(topic)?;
        let slot = self.topics[t]
            .slots
            .get_mut(usize::try_from(partition).ok()?)?;
        slot.as_deref_mut()
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<&PartitionState> {
        let t = self.topic_index(topic)?;
        let slot = self.topics[t].slots.get(usize::try_from(partition).ok()?)?;
        slot.as_deref()
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

    /// Adds (or replaces) a partition's state. A negative partition number (never assigned by
    /// Kafka) is not kept.
    pub fn insert(&mut self, state: PartitionState) {
        let Ok(p) = usize::try_from(state.tp.partition) else {
            tracing::warn!(topic = %state.tp.topic, partition = state.tp.partition,
                "negative partition number; not tracked");
            return;
        };
        let t = match self.topic_index(&state.tp.topic) {
            Some(t) => t,
            None => {
                self.topics.push(TopicSlots {
                    topic: intern_topic(&state.tp.topic),
                    slots: Vec::new(),
                    assigned: 0,
                });
                self.topics.len() - 1
            }
        };
        let topic = &mut self.topics[t];
        if topic.slots.len() <= p {
            topic.slots.resize_with(p + 1, || None);
        }
        if topic.slots[p].replace(Box::new(state)).is_none() {
            topic.assigned += 1;
        }
    }

    pub fn remove(&mut self, tp: &TopicPartition) -> Option<PartitionState> {
        let t = self.topic_index(&tp.topic)?;
        let topic = &mut self.topics[t];
        let state = topic
            .slots
            .get_mut(usize::try_from(tp.partition).ok()?)?
            .take()?;
        topic.assigned -= 1;
        if topic.assigned == 0 {
            self.topics.swap_remove(t);
        }
        Some(*state)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PartitionState> {
        self.topics
            .iter()
            .flat_map(|t| t.slots.iter().filter_map(|s| s.as_deref()))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut PartitionState> {
        self.topics
            .iter_mut()
            .flat_map(|t| t.slots.iter_mut().filter_map(|s| s.as_deref_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn state(topic: &Arc<str>, partition: i32, epoch: u64) -> PartitionState {
        let tp = TopicPartition {
            topic: topic.clone(),
            partition,
        };
        PartitionState::new(tp, epoch, None, Default::default())
    }

    #[test]
    fn finds_by_name_and_number_and_forgets_removed_ones() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let mut p = Partitions::default();
        p.insert(state(&a, 3, 1));
        p.insert(state(&b, 0, 2));
        p.insert(state(&a, 0, 3));
        assert_eq!(p.get("a", 3).map(|s| s.epoch), Some(1));
        assert_eq!(p.get("a", 0).map(|s| s.epoch), Some(3));
        assert_eq!(p.get(&b, 0).map(|s| s.epoch), Some(2));
        assert!(p.get("a", 1).is_none() && p.get("a", 9).is_none() && p.get("a", -1).is_none());
        assert!(p.get("c", 0).is_none());
        assert_eq!(p.iter().count(), 3);
        p.insert(state(&a, 3, 4));
        assert_eq!(p.iter().count(), 3, "replaced, not added");
        assert_eq!(p.current_mut("a", 3, 4).map(|s| s.epoch), Some(4));
        assert!(p.current_mut("a", 3, 1).is_none(), "stale epoch");
        let tp = |t: &Arc<str>, partition| TopicPartition {
            topic: t.clone(),
            partition,
        };
        assert_eq!(p.remove(&tp(&b, 0)).map(|s| s.epoch), Some(2));
        assert!(p.remove(&tp(&b, 0)).is_none());
        assert!(p.get("b", 0).is_none());
        assert_eq!(p.remove(&tp(&a, 3)).map(|s| s.epoch), Some(4));
        assert_eq!(p.iter_mut().count(), 1);
        p.insert(state(&b, 1, 5));
        assert_eq!(p.get("b", 1).map(|s| s.epoch), Some(5));
    }
}
