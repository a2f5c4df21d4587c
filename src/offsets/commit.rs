//! Commit planning: what one partition commits, and the request / answer exchanged with the
//! committer.
//!
//! Each partition commits its tracker's commit point — one past the longest finished prefix —
//! with metadata listing the finished offsets above it (see [`metadata`](super::metadata)). The
//! coordinator core decides *when* to commit and keeps one request in flight at a time; the
//! committer (`src/kafka/committer.rs`) performs it and answers per partition. Pure: no I/O.

use crate::message::TopicPartition;
use crate::offsets::metadata;
use crate::offsets::tracker::PartitionTracker;

/// One partition's part of a commit, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub offset: i64,
    pub metadata: String,
    /// The metadata did not fit: only the lowest finished offsets that fit were kept.
    pub overflow: bool,
}

/// What to commit for the partition `tracker` follows, or `None` when the broker already has it.
///
/// `last_metadata` is the metadata of the last successful commit; `max_bytes` the metadata
/// budget (0 turns metadata off).
pub(crate) fn plan(
    tracker: &PartitionTracker,
    last_metadata: &str,
    max_bytes: usize,
) -> Option<Planned> {
    // A partition never committed before commits its first unfinished offset, so the work
    // finished above it is recorded in metadata too.
    let offset = tracker
        .commit_point()
        .or_else(|| tracker.oldest_unfinished())?;
    let (metadata, overflow) = if max_bytes == 0 {
        (String::new(), false)
    } else {
        let mut done = tracker.done_above_commit_point().peekable();
        if done.peek().is_none() {
            (String::new(), false)
        } else {
            let encoded = metadata::encode(offset, done);
            if encoded.len() > max_bytes {
                // Keep the lowest finished offsets that fit; the rest are replayed.
                let done = tracker.done_above_commit_point();
                (metadata::encode_limited(offset, done, max_bytes), true)
            } else {
                (encoded, false)
            }
        }
    };
    let moved = tracker.committable_offset().is_some();
    if !moved && metadata == last_metadata {
        return None;
    }
    Some(Planned {
        offset,
        metadata,
        overflow,
    })
}

/// Why a commit is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitKind {
    /// Interval or batch-size trigger while running.
    Periodic,
    /// Partitions being revoked, before they are handed over.
    Revoke,
    /// The last commit of a stopping pool.
    Final,
}

/// One partition of a commit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitPart {
    pub tp: TopicPartition,
    pub offset: i64,
    pub metadata: String,
}

/// A commit handed to the committer. Answers carry the same `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitRequest {
    pub id: u64,
    pub kind: CommitKind,
    pub parts: Vec<CommitPart>,
}

/// How one partition's commit went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartAnswer {
    pub tp: TopicPartition,
    /// The offset committed (or refused).
    pub offset: i64,
    pub result: Result<(), CommitError>,
    /// The broker refused the metadata as too large; the offset was committed without it.
    pub metadata_refused: bool,
}

/// A refused commit of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitError {
    pub message: String,
    /// Worth trying again (a rebalance in progress, a coordinator moving, a timeout).
    pub retriable: bool,
}

/// The committer's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitAnswer {
    pub id: u64,
    pub parts: Vec<PartAnswer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_the_commit_point_with_metadata_and_nothing_when_unchanged() {
        let mut t = PartitionTracker::new(Some(10));
        let a = t.record_inflight(10).unwrap();
        let b = t.record_inflight(11).unwrap();
        assert_eq!(plan(&t, "", 4096), None, "nothing finished, nothing to say");
        t.mark_processed(b);
        let p = plan(&t, "", 4096).unwrap();
        assert_eq!(p.offset, 10);
        assert!(!p.metadata.is_empty(), "11 is recorded as finished");
        assert_eq!(plan(&t, &p.metadata, 4096), None, "broker has it already");
        assert_eq!(plan(&t, "", 0).map(|p| p.metadata), None, "metadata off");
        t.mark_processed(a);
        assert_eq!(plan(&t, &p.metadata, 4096).unwrap().offset, 12);
    }

    #[test]
    fn never_committed_partition_commits_its_first_unfinished_offset() {
        let mut t = PartitionTracker::new(None);
        let _a = t.record_inflight(5).unwrap();
        let b = t.record_inflight(6).unwrap();
        t.mark_processed(b);
        let p = plan(&t, "", 4096).unwrap();
        assert_eq!(p.offset, 5);
    }
}
