//! Counters shared between the coordinator and the public API, and the snapshot users read.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::observe::metrics::Metrics;

/// A point-in-time view of the pool.
///
/// This struct is the one definition of the pool's counters: the C view (`burrow_stats` in
/// `include/burrow.h`) and the Python ctypes view (`bindings/python/burrow_ctypes.py`) list the
/// same fields in the same order (`partitions` appears there as `partitions_assigned`), and
/// `tests/header.rs` fails when they drift apart. New counters are appended at the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Messages the processor finished successfully.
    pub messages_processed: u64,
    /// Messages that failed permanently (retries exhausted or non-retriable), whatever the policy.
    pub messages_failed: u64,
    /// Retries scheduled.
    pub messages_retried: u64,
    /// Permanently failed messages skipped by `burrow.on.failure=skip`.
    pub messages_skipped: u64,
    /// Permanently failed messages written to the dead-letter topic.
    pub messages_dead_lettered: u64,
    /// Messages not processed again because commit metadata recorded them as finished.
    pub messages_skipped_from_metadata: u64,
    /// Successful partition offset commits.
    pub offsets_committed: u64,
    /// Commit requests that failed (retried at the next trigger).
    pub commit_failures: u64,
    /// Commits whose metadata did not fit `burrow.commit.metadata.max.bytes` (only the lowest
    /// finished offsets that fit were recorded; the rest may be processed again after a restart).
    pub commit_metadata_overflows: u64,
    /// Commit metadata read back from the broker that was not ours or was malformed (ignored).
    pub commit_metadata_invalid: u64,
    /// Reports that arrived for a partition no longer assigned (discarded, never committed).
    pub late_results_discarded: u64,
    /// Rebalance events handled (assignments and revocations).
    pub rebalances: u64,
    /// Worker threads.
    pub workers: usize,
    /// Workers inside the processor right now.
    pub workers_busy: usize,
    /// Messages received and waiting: for a worker, behind their key, or for a retry.
    pub jobs_queued: usize,
    /// Messages received and not yet finished, over all partitions.
    pub messages_inflight: usize,
    /// Per assigned partition.
    pub partitions: Vec<PartitionStats>,
    /// Times a partition was paused for backpressure.
    pub partition_pauses: u64,
    /// Offset commits that got no answer within `burrow.commit.timeout.ms` (given up).
    pub commit_timeouts: u64,
    /// Commits whose metadata the broker refused as too large (`offset.metadata.max.bytes`
    /// below `burrow.commit.metadata.max.bytes`): committed again with the offset alone, and the
    /// metadata budget lowered.
    pub commit_metadata_refused: u64,
    /// Final commits of a stopping pool that failed (the run then returns an error).
    pub final_commit_failures: u64,
    /// Dead-letter produces that failed (each is retried with backoff, then the pool halts).
    pub dead_letter_failures: u64,
    /// Stops whose running work was not finished at `burrow.shutdown.timeout.ms`.
    pub shutdown_timeouts: u64,
    /// Revocations whose running work was not finished at `burrow.shutdown.timeout.ms`.
    pub revoke_timeouts: u64,
    /// Halts by the failure policy (0 or 1: a halted pool stops).
    pub halts: u64,
}

/// A point-in-time view of one assigned partition.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionStats {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Last offset this pool committed (or found committed at assignment).
    pub committed_offset: Option<i64>,
    /// End of the partition as last reported by the broker (last stable offset for read_committed).
    pub high_watermark: Option<i64>,
    /// `high_watermark - committed_offset`.
    pub lag: Option<i64>,
    /// Received and not finished.
    pub inflight: usize,
    /// Offset of the oldest unfinished message: the one holding the commit point back.
    pub oldest_unfinished_offset: Option<i64>,
    /// How long that message has been the oldest unfinished one (the stuck-partition signal).
    pub oldest_unfinished_age: Option<Duration>,
    /// Whether the partition is paused for backpressure.
    pub paused: bool,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub processed: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub skipped: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub skipped_from_metadata: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    pub metadata_overflows: AtomicU64,
    pub metadata_invalid: AtomicU64,
    pub late_discarded: AtomicU64,
    pub rebalances: AtomicU64,
    pub pauses: AtomicU64,
    pub commit_timeouts: AtomicU64,
    pub metadata_refused: AtomicU64,
    pub final_commit_failures: AtomicU64,
    pub dead_letter_failures: AtomicU64,
    pub stop_timeouts: AtomicU64,
    pub revoke_timeouts: AtomicU64,
    pub halts: AtomicU64,
    pub workers: AtomicUsize,
    pub busy: Arc<BusyWorkers>,
    pub queued: AtomicUsize,
    pub inflight: AtomicUsize,
    pub partitions: Mutex<Vec<PartitionStats>>,
    /// Prometheus metrics, when `burrow.metrics=true`.
    pub metrics: Option<Metrics>,
}

/// Which workers are inside the processor: one flag per worker, each on its own cache line, so
/// a worker's update never contends with another's (a shared counter bounced between cores on
/// every message). Read by the stats only.
#[derive(Default)]
pub(crate) struct BusyWorkers {
    flags: Box<[Padded]>,
}

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicBool);

impl BusyWorkers {
    /// Flags for `n` workers.
    pub fn new(n: usize) -> Self {
        Self {
            flags: (0..n).map(|_| Padded::default()).collect(),
        }
    }

    /// Marks worker number `worker` as inside the processor (or not).
    pub fn set(&self, worker: usize, busy: bool) {
        if let Some(f) = self.flags.get(worker) {
            f.0.store(busy, Ordering::Relaxed);
        }
    }

    /// Workers inside the processor now.
    pub fn count(&self) -> usize {
        self.flags
            .iter()
            .filter(|f| f.0.load(Ordering::Relaxed))
            .count()
    }
}

impl Counters {
    pub fn new(metrics: bool, workers: usize) -> Self {
        Self {
            metrics: metrics.then(Metrics::new),
            busy: Arc::new(BusyWorkers::new(workers)),
            ..Self::default()
        }
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            messages_processed: get(&self.processed),
            messages_failed: get(&self.failed),
            messages_retried: get(&self.retried),
            messages_skipped: get(&self.skipped),
            messages_dead_lettered: get(&self.dead_lettered),
            messages_skipped_from_metadata: get(&self.skipped_from_metadata),
            offsets_committed: get(&self.commits),
            commit_failures: get(&self.commit_failures),
            commit_metadata_overflows: get(&self.metadata_overflows),
            commit_metadata_invalid: get(&self.metadata_invalid),
            late_results_discarded: get(&self.late_discarded),
            rebalances: get(&self.rebalances),
            partition_pauses: get(&self.pauses),
            commit_timeouts: get(&self.commit_timeouts),
            commit_metadata_refused: get(&self.metadata_refused),
            final_commit_failures: get(&self.final_commit_failures),
            dead_letter_failures: get(&self.dead_letter_failures),
            shutdown_timeouts: get(&self.stop_timeouts),
            revoke_timeouts: get(&self.revoke_timeouts),
            halts: get(&self.halts),
            workers: self.workers.load(Ordering::Relaxed),
            workers_busy: self.busy.count(),
            jobs_queued: self.queued.load(Ordering::Relaxed),
            messages_inflight: self.inflight.load(Ordering::Relaxed),
            partitions: self
                .partitions
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default(),
        }
    }
}
