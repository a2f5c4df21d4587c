//! Per-partition offset tracking: which received messages are done, and what may be committed.
//!
//! Kafka delivers the messages of one partition in increasing offset order, but the offsets are not
//! contiguous (compaction and transaction markers leave holes) and do not start at zero. Burrow
//! hands many messages of a partition to workers at once; they finish out of order, and some fail
//! and are retried later. A committed offset means "the next offset to read", so Burrow may only
//! commit one past the last offset of the longest *completed prefix* of the received messages:
//! a failed message is a gap that holds the commit point back until it is marked processed.
//!
//! [`PartitionTracker`] does that bookkeeping for one partition. It is owned by a single
//! coordinator thread (it is `Send`, and deliberately has no interior locking).
//!
//! # Representation
//!
//! The tracker keeps a ring ([`VecDeque`]) of one `u64` per message, from the oldest unfinished
//! message to the last one received: the offset, with the "done" flag packed into the top bit
//! (offsets are non-negative `i64`s, so the top bit is free). Every recorded message gets a
//! sequence number ([`Seq`]); the ring's front has sequence number `head_seq`, so marking a message
//! done is index arithmetic. When the front becomes done, finished entries are popped off the front
//! and the commit point becomes one past the last popped offset. Memory is therefore proportional
//! to the window of messages between the oldest unfinished one and the newest (8 bytes each), and
//! the ring's capacity is shrunk again after a burst.
//!
//! # Example
//!
//! ```
//! use burrow::tracker::PartitionTracker;
//!
//! let mut t = PartitionTracker::new(Some(100));
//! let a = t.record_inflight(100).unwrap();
//! let b = t.record_inflight(101).unwrap();
//! let c = t.record_inflight(105).unwrap(); // 102..=104 are a hole in the log
//!
//! t.mark_processed(b);
//! t.mark_processed(c);
//! assert_eq!(t.committable_offset(), None); // 100 is still running
//!
//! t.mark_failed(a); // still a gap
//! assert_eq!(t.committable_offset(), None);
//!
//! t.mark_processed(a); // retried successfully
//! assert_eq!(t.committable_offset(), Some(106));
//! t.commit_offset(106);
//! assert_eq!(t.committable_offset(), None);
//! ```

use std::collections::VecDeque;
use std::fmt;

/// Sequence number the tracker assigns to each recorded message; the job carries it so marking is O(1).
///
/// Sequence numbers of one tracker start at 0 and increase by one per recorded message.
pub type Seq = u64;

/// Why [`PartitionTracker::record_inflight`] refused an offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// The offset is not above the last recorded offset, or is below the committed offset
    /// (then `last` is the committed offset minus one: offsets must be above it).
    #[error("offset {offset} is not above the last recorded offset {last}")]
    OutOfOrder {
        /// The refused offset.
        offset: i64,
        /// The offset it had to be strictly above.
        last: i64,
    },
    /// The offset is negative; Kafka offsets of real messages never are.
    #[error("negative offset {0}")]
    Negative(i64),
    /// The offset is `i64::MAX`: one past it (the offset to commit after it) is not representable.
    #[error("offset {0} is too large: one past it does not fit in an i64")]
    TooLarge(i64),
}

/// Top bit of a ring entry: set when the message is done.
const DONE: u64 = 1 << 63;

/// The ring's capacity is only ever shrunk above this many entries (8 KiB).
const MIN_SHRINK_CAPACITY: usize = 1024;

/// Tracks the messages of one partition between the commit point and the last received message.
///
/// See the [module documentation](self) for the model and an example.
#[derive(Clone)]
pub struct PartitionTracker {
    /// One entry per message from the oldest unfinished one to the last received one: the offset,
    /// with [`DONE`] set once processed. The front is never done (finished fronts are popped).
    ring: VecDeque<u64>,
    /// Seq of `ring[0]` (or the next seq to issue when the ring is empty).
    head_seq: Seq,
    /// Entries in `ring` that are not done.
    inflight: usize,
    /// One past the completed prefix; the initial committed offset until something completes.
    commit_point: Option<i64>,
    /// The last offset recorded as committed to the broker.
    last_committed: Option<i64>,
    /// The last offset passed to a successful `record_inflight`.
    last_received: Option<i64>,
}

impl fmt::Debug for PartitionTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The ring can hold many thousands of entries; print a summary instead.
        f.debug_struct("PartitionTracker")
            .field("commit_point", &self.commit_point)
            .field("last_committed", &self.last_committed)
            .field("last_received", &self.last_received)
            .field("oldest_unfinished", &self.oldest_unfinished())
            .field("head_seq", &self.head_seq)
            .field("inflight", &self.inflight)
            .field("window_len", &self.ring.len())
            .finish()
    }
}

impl PartitionTracker {
    /// Creates a tracker for a partition.
    ///
    /// `committed`: the partition's committed offset on the broker (next offset to read), if known.
    /// A negative value (librdkafka's special offsets such as `-1001`, "invalid") counts as unknown.
    pub fn new(committed: Option<i64>) -> Self {
        let committed = committed.filter(|&c| c >= 0);
        PartitionTracker {
            ring: VecDeque::new(),
            head_seq: 0,
            inflight: 0,
            commit_point: committed,
            last_committed: committed,
            last_received: None,
        }
    }

    /// Records a received message and returns its sequence number.
    ///
    /// Offsets must be strictly increasing and >= the committed offset (if known); holes are
    /// allowed. A refused offset leaves the tracker unchanged.
    pub fn record_inflight(&mut self, offset: i64) -> Result<Seq, TrackerError> {
        if offset < 0 {
            return Err(TrackerError::Negative(offset));
        }
        if offset == i64::MAX {
            return Err(TrackerError::TooLarge(offset));
        }
        if let Some(last) = self.last_received {
            if offset <= last {
                return Err(TrackerError::OutOfOrder { offset, last });
            }
        }
        // Nothing below the commit point or the committed offset may be recorded again. Both are
        // non-negative, so subtracting one cannot overflow.
        let floor = match (self.commit_point, self.last_committed) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(floor) = floor {
            if offset < floor {
                return Err(TrackerError::OutOfOrder {
                    offset,
                    last: floor - 1,
                });
            }
        }
        let seq = self.head_seq + self.ring.len() as u64;
        // `offset` is in 0..i64::MAX, so it never has the top bit set.
        self.ring.push_back(offset as u64);
        self.inflight += 1;
        self.last_received = Some(offset);
        Ok(seq)
    }

    /// Marks a recorded message done.
    ///
    /// Returns true when it was newly marked; false for an unknown seq (already below the commit
    /// point, or never issued) or one already done. O(1); advancing the completed prefix is
    /// amortised O(1) (finished entries are popped off the front).
    pub fn mark_processed(&mut self, seq: Seq) -> bool {
        let Some(idx) = self.index_of(seq) else {
            return false;
        };
        let entry = &mut self.ring[idx];
        if *entry & DONE != 0 {
            return false;
        }
        *entry |= DONE;
        self.inflight -= 1;
        if idx == 0 {
            self.advance();
        }
        true
    }

    /// Notes a failure of a recorded message: it stays not done (the gap), so nothing at or above
    /// it is committed until it is later marked processed.
    ///
    /// Returns whether `seq` is known and unfinished.
    pub fn mark_failed(&mut self, seq: Seq) -> bool {
        self.index_of(seq)
            .is_some_and(|idx| self.ring[idx] & DONE == 0)
    }

    /// The offset to commit (one past the completed prefix) when it is ahead of
    /// [`last_committed`](Self::last_committed); `None` otherwise.
    pub fn committable_offset(&self) -> Option<i64> {
        let point = self.commit_point?;
        match self.last_committed {
            Some(committed) if committed >= point => None,
            _ => Some(point),
        }
    }

    /// The completed-prefix point regardless of what was committed: one past the last offset of
    /// the longest completed prefix of received messages, or the initial committed offset while
    /// that prefix is empty.
    ///
    /// `None` before anything completed when no committed offset is known.
    pub fn commit_point(&self) -> Option<i64> {
        self.commit_point
    }

    /// Last offset recorded as committed (initially the `committed` passed to [`new`](Self::new)).
    pub fn last_committed(&self) -> Option<i64> {
        self.last_committed
    }

    /// Records that `offset` was committed to the broker.
    ///
    /// Only ever forward: a lower (or negative) value is ignored. It does not move the commit
    /// point: a value above it (committed by someone else) only means that nothing is committable
    /// until the completed prefix passes it, and that offsets below it can no longer be recorded.
    pub fn commit_offset(&mut self, offset: i64) {
        if offset < 0 {
            return;
        }
        if self.last_committed.is_none_or(|c| offset > c) {
            self.last_committed = Some(offset);
        }
    }

    /// Moves the commit point up to `position` — the consumer's next fetch offset — when every
    /// received message is finished and `position` lies beyond them. The offsets skipped hold
    /// nothing this consumer will be handed (transaction markers, aborted or compacted-away
    /// records), so committing them loses nothing; without this, a partition whose last record is
    /// a transaction marker would never commit its end. The caller must know that no message below
    /// `position` is still on its way to [`record_inflight`](Self::record_inflight): afterwards
    /// such offsets are refused.
    ///
    /// Returns whether the commit point moved.
    pub fn skip_to_position(&mut self, position: i64) -> bool {
        if !self.ring.is_empty() || position <= 0 || position == i64::MAX {
            return false;
        }
        if self.last_received.is_some_and(|last| position <= last) {
            return false;
        }
        if self.commit_point.is_some_and(|point| point >= position) {
            return false;
        }
        self.commit_point = Some(position);
        true
    }

    /// Number of messages received and not yet done.
    pub fn inflight_count(&self) -> usize {
        self.inflight
    }

    /// Entries held: from the first unfinished message to the last received (the memory bound).
    pub fn window_len(&self) -> usize {
        self.ring.len()
    }

    /// Offsets above the commit point that are already done, ascending (for commit metadata).
    pub fn done_above_commit_point(&self) -> impl Iterator<Item = i64> + '_ {
        // The front is never done, so every done entry in the ring is above the commit point.
        self.ring
            .iter()
            .filter(|&&e| e & DONE != 0)
            .map(|&e| (e & !DONE) as i64)
    }

    /// Offset of the oldest unfinished message, if any.
    pub fn oldest_unfinished(&self) -> Option<i64> {
        // Invariant: the front of the ring is always unfinished.
        self.ring.front().map(|&e| (e & !DONE) as i64)
    }

    /// Seq of the oldest unfinished message, if any.
    pub fn oldest_unfinished_seq(&self) -> Option<Seq> {
        (!self.ring.is_empty()).then_some(self.head_seq)
    }

    /// Last recorded offset.
    pub fn last_received(&self) -> Option<i64> {
        self.last_received
    }

    /// Approximate heap bytes held (capacity of the ring), for the memory benchmark and metrics.
    pub fn heap_bytes(&self) -> usize {
        self.ring.capacity() * std::mem::size_of::<u64>()
    }

    /// Ring index of `seq`, if it is currently held.
    #[inline]
    fn index_of(&self, seq: Seq) -> Option<usize> {
        let rel = seq.checked_sub(self.head_seq)?;
        (rel < self.ring.len() as u64).then_some(rel as usize)
    }

    /// Pops finished entries off the front and moves the commit point past them.
    fn advance(&mut self) {
        let mut last_done = None;
        while let Some(&front) = self.ring.front() {
            if front & DONE == 0 {
                break;
            }
            self.ring.pop_front();
            self.head_seq += 1;
            last_done = Some((front & !DONE) as i64);
        }
        if let Some(last) = last_done {
            // `record_inflight` refuses i64::MAX, so this cannot overflow.
            self.commit_point = Some(last + 1);
            self.maybe_shrink();
        }
    }

    /// Gives memory back after a burst: shrinks the ring when it uses under a quarter of a large
    /// capacity. The new capacity is twice the length, so shrinking and regrowing are both
    /// separated by a number of operations proportional to the length (amortised O(1)).
    fn maybe_shrink(&mut self) {
        let cap = self.ring.capacity();
        if cap > MIN_SHRINK_CAPACITY && self.ring.len() < cap / 4 {
            self.ring
                .shrink_to((self.ring.len() * 2).max(MIN_SHRINK_CAPACITY));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records `offsets` in order and returns their seqs.
    fn record_all(t: &mut PartitionTracker, offsets: impl IntoIterator<Item = i64>) -> Vec<Seq> {
        offsets
            .into_iter()
            .map(|o| t.record_inflight(o).expect("in order"))
            .collect()
    }

    #[test]
    fn all_processed() {
        let mut t = PartitionTracker::new(Some(0));
        let seqs = record_all(&mut t, 0..10);
        assert_eq!(t.inflight_count(), 10);
        for &s in seqs.iter().rev() {
            assert!(t.mark_processed(s));
        }
        assert_eq!(t.committable_offset(), Some(10));
        assert_eq!(t.commit_point(), Some(10));
        assert_eq!(t.inflight_count(), 0);
        assert_eq!(t.window_len(), 0);
        assert_eq!(t.oldest_unfinished(), None);
        assert_eq!(t.oldest_unfinished_seq(), None);
        assert_eq!(t.done_above_commit_point().count(), 0);
    }

    #[test]
    fn with_gap() {
        let mut t = PartitionTracker::new(Some(0));
        let seqs = record_all(&mut t, 0..10);
        for (i, &s) in seqs.iter().enumerate() {
            if i != 5 {
                assert!(t.mark_processed(s));
            }
        }
        assert_eq!(t.committable_offset(), Some(5));
        assert_eq!(t.oldest_unfinished(), Some(5));
        assert_eq!(t.oldest_unfinished_seq(), Some(seqs[5]));
        assert_eq!(t.inflight_count(), 1);
        assert_eq!(t.window_len(), 5);
        assert_eq!(
            t.done_above_commit_point().collect::<Vec<_>>(),
            vec![6, 7, 8, 9]
        );
    }

    #[test]
    fn gap_at_beginning() {
        let mut t = PartitionTracker::new(Some(0));
        let seqs = record_all(&mut t, 0..10);
        for &s in &seqs[1..] {
            assert!(t.mark_processed(s));
        }
        assert_eq!(t.committable_offset(), None);
        assert_eq!(t.commit_point(), Some(0));
        assert_eq!(t.window_len(), 10);
        assert_eq!(t.done_above_commit_point().count(), 9);
        assert!(t.mark_processed(seqs[0]));
        assert_eq!(t.committable_offset(), Some(10));
        assert_eq!(t.window_len(), 0);
    }

    #[test]
    fn single_message() {
        let mut t = PartitionTracker::new(Some(42));
        let s = t.record_inflight(42).unwrap();
        assert_eq!(s, 0);
        assert_eq!(t.committable_offset(), None);
        assert_eq!(t.oldest_unfinished(), Some(42));
        assert!(t.mark_processed(s));
        assert_eq!(t.committable_offset(), Some(43));
        assert!(!t.mark_processed(s), "second mark is a no-op");
    }

    #[test]
    fn empty() {
        let t = PartitionTracker::new(None);
        assert_eq!(t.committable_offset(), None);
        assert_eq!(t.commit_point(), None);
        assert_eq!(t.last_committed(), None);
        assert_eq!(t.last_received(), None);
        assert_eq!(t.inflight_count(), 0);
        assert_eq!(t.window_len(), 0);
        assert_eq!(t.heap_bytes(), 0);
        assert_eq!(t.oldest_unfinished(), None);
        assert_eq!(t.oldest_unfinished_seq(), None);

        let t = PartitionTracker::new(Some(7));
        assert_eq!(t.committable_offset(), None, "nothing new to commit");
        assert_eq!(t.commit_point(), Some(7));
        assert_eq!(t.last_committed(), Some(7));
    }

    #[test]
    fn unknown_committed_offset() {
        let mut t = PartitionTracker::new(None);
        let a = t.record_inflight(500).unwrap();
        let b = t.record_inflight(501).unwrap();
        assert_eq!(t.commit_point(), None);
        t.mark_processed(b);
        assert_eq!(t.commit_point(), None, "nothing completed from the start");
        t.mark_processed(a);
        assert_eq!(t.committable_offset(), Some(502));
    }

    #[test]
    fn negative_committed_is_unknown() {
        let t = PartitionTracker::new(Some(-1001));
        assert_eq!(t.last_committed(), None);
        assert_eq!(t.commit_point(), None);
    }

    #[test]
    fn commit_cleanup() {
        let mut t = PartitionTracker::new(Some(0));
        let n = 100_000;
        let seqs = record_all(&mut t, 0..n);
        let peak = t.heap_bytes();
        assert!(peak >= n as usize * 8);
        assert_eq!(t.window_len(), n as usize);

        // Complete all but the last 10: the entries below the commit point are dropped...
        for &s in &seqs[..seqs.len() - 10] {
            t.mark_processed(s);
        }
        assert_eq!(t.committable_offset(), Some(n - 10));
        t.commit_offset(n - 10);
        assert_eq!(t.committable_offset(), None);
        assert_eq!(t.window_len(), 10);
        assert_eq!(t.oldest_unfinished_seq(), Some(seqs[seqs.len() - 10]));
        // ...and the memory goes back.
        assert!(
            t.heap_bytes() <= MIN_SHRINK_CAPACITY * 8,
            "heap {} after burst of {peak}",
            t.heap_bytes()
        );
        // Seqs below the window are unknown now.
        assert!(!t.mark_processed(seqs[0]));
        assert!(!t.mark_failed(seqs[0]));

        for &s in &seqs[seqs.len() - 10..] {
            t.mark_processed(s);
        }
        assert_eq!(t.committable_offset(), Some(n));
        assert_eq!(t.window_len(), 0);
    }

    #[test]
    fn memory_stays_proportional_to_window() {
        let mut t = PartitionTracker::new(Some(0));
        let mut next = 0i64;
        // Steady state with 1,000 in flight, completed in order.
        let mut window = std::collections::VecDeque::new();
        for _ in 0..1000 {
            window.push_back(t.record_inflight(next).unwrap());
            next += 1;
        }
        for _ in 0..50_000 {
            t.mark_processed(window.pop_front().unwrap());
            window.push_back(t.record_inflight(next).unwrap());
            next += 1;
        }
        assert_eq!(t.window_len(), 1000);
        assert!(t.heap_bytes() <= 2048 * 8, "heap {}", t.heap_bytes());
    }

    #[test]
    fn starts_at_committed_offset_n() {
        let n = 1_000_000_007;
        let mut t = PartitionTracker::new(Some(n));
        assert_eq!(
            t.record_inflight(n - 1),
            Err(TrackerError::OutOfOrder {
                offset: n - 1,
                last: n - 1
            }),
            "below the committed offset"
        );
        let seqs = record_all(&mut t, n..n + 3);
        assert_eq!(seqs, vec![0, 1, 2]);
        t.mark_processed(seqs[0]);
        assert_eq!(t.committable_offset(), Some(n + 1));
        t.mark_processed(seqs[2]);
        assert_eq!(t.committable_offset(), Some(n + 1));
        t.mark_processed(seqs[1]);
        assert_eq!(t.committable_offset(), Some(n + 3));
    }

    #[test]
    fn non_contiguous_offsets() {
        // Compaction and transaction markers leave holes; the first message may be above the
        // committed offset too.
        let mut t = PartitionTracker::new(Some(10));
        let seqs = record_all(&mut t, [13, 14, 20, 21, 35]);
        assert_eq!(t.window_len(), 5);
        t.mark_processed(seqs[1]);
        t.mark_processed(seqs[2]);
        assert_eq!(t.committable_offset(), None);
        assert_eq!(t.commit_point(), Some(10));
        assert_eq!(
            t.done_above_commit_point().collect::<Vec<_>>(),
            vec![14, 20]
        );
        t.mark_processed(seqs[0]);
        assert_eq!(t.committable_offset(), Some(21));
        assert_eq!(t.oldest_unfinished(), Some(21));
        t.mark_processed(seqs[4]);
        assert_eq!(t.committable_offset(), Some(21));
        t.mark_processed(seqs[3]);
        assert_eq!(t.committable_offset(), Some(36));
        assert_eq!(t.last_received(), Some(35));
    }

    #[test]
    fn out_of_order_offsets_rejected() {
        let mut t = PartitionTracker::new(None);
        t.record_inflight(5).unwrap();
        let before = format!("{t:?}");
        assert_eq!(
            t.record_inflight(5),
            Err(TrackerError::OutOfOrder { offset: 5, last: 5 })
        );
        assert_eq!(
            t.record_inflight(3),
            Err(TrackerError::OutOfOrder { offset: 3, last: 5 })
        );
        assert_eq!(t.record_inflight(-1), Err(TrackerError::Negative(-1)));
        assert_eq!(
            t.record_inflight(i64::MAX),
            Err(TrackerError::TooLarge(i64::MAX))
        );
        assert_eq!(format!("{t:?}"), before, "refusals change nothing");
        assert_eq!(t.record_inflight(6), Ok(1));
        assert_eq!(t.record_inflight(i64::MAX - 1), Ok(2));
        assert_eq!(
            TrackerError::OutOfOrder { offset: 3, last: 5 }.to_string(),
            "offset 3 is not above the last recorded offset 5"
        );
    }

    #[test]
    fn largest_offset() {
        let mut t = PartitionTracker::new(Some(i64::MAX - 1));
        let s = t.record_inflight(i64::MAX - 1).unwrap();
        t.mark_processed(s);
        assert_eq!(t.committable_offset(), Some(i64::MAX));
    }

    #[test]
    fn stale_seq_ignored() {
        let mut t = PartitionTracker::new(Some(0));
        let seqs = record_all(&mut t, 0..3);
        assert!(t.mark_processed(seqs[0]));
        assert!(!t.mark_processed(seqs[0]), "already below the commit point");
        assert!(!t.mark_failed(seqs[0]));
        assert!(t.mark_processed(seqs[2]));
        assert!(!t.mark_processed(seqs[2]), "already done, above a gap");
        assert!(!t.mark_failed(seqs[2]));
        assert!(!t.mark_processed(3), "never issued");
        assert!(!t.mark_processed(Seq::MAX));
        assert!(!t.mark_failed(3));
        assert_eq!(t.inflight_count(), 1);
        assert_eq!(t.committable_offset(), Some(1));
    }

    #[test]
    fn commit_offset_only_forward() {
        let mut t = PartitionTracker::new(Some(10));
        let seqs = record_all(&mut t, 10..20);
        for &s in &seqs[..5] {
            t.mark_processed(s);
        }
        assert_eq!(t.committable_offset(), Some(15));
        t.commit_offset(15);
        assert_eq!(t.last_committed(), Some(15));
        assert_eq!(t.committable_offset(), None);
        t.commit_offset(12);
        t.commit_offset(-1);
        assert_eq!(t.last_committed(), Some(15), "a lower value is ignored");
        assert_eq!(t.committable_offset(), None);

        // A commit ahead of the completed prefix (e.g. by another client) holds back commits
        // until the prefix passes it, and never moves the commit point by itself.
        t.commit_offset(18);
        assert_eq!(t.commit_point(), Some(15));
        for &s in &seqs[5..8] {
            t.mark_processed(s);
        }
        assert_eq!(t.commit_point(), Some(18));
        assert_eq!(t.committable_offset(), None);
        t.mark_processed(seqs[8]);
        assert_eq!(t.committable_offset(), Some(19));
    }

    #[test]
    fn commit_offset_ahead_refuses_lower_records() {
        let mut t = PartitionTracker::new(None);
        t.commit_offset(50);
        assert_eq!(t.last_committed(), Some(50));
        assert_eq!(t.commit_point(), None);
        assert_eq!(t.committable_offset(), None);
        assert_eq!(
            t.record_inflight(49),
            Err(TrackerError::OutOfOrder {
                offset: 49,
                last: 49
            })
        );
        let s = t.record_inflight(50).unwrap();
        t.mark_processed(s);
        assert_eq!(t.committable_offset(), Some(51));
    }

    #[test]
    fn failed_then_processed_closes_gap() {
        let mut t = PartitionTracker::new(Some(0));
        let seqs = record_all(&mut t, 0..5);
        assert!(t.mark_failed(seqs[2]));
        for &s in &[seqs[0], seqs[1], seqs[3], seqs[4]] {
            assert!(t.mark_processed(s));
        }
        assert_eq!(t.committable_offset(), Some(2), "the failure is a gap");
        assert!(
            t.mark_failed(seqs[2]),
            "failing again is still known and unfinished"
        );
        assert_eq!(t.inflight_count(), 1);
        assert_eq!(t.oldest_unfinished(), Some(2));
        assert!(t.mark_processed(seqs[2]), "retry succeeded / dead-lettered");
        assert_eq!(t.committable_offset(), Some(5));
        assert!(!t.mark_failed(seqs[2]), "done now");
    }

    #[test]
    fn tracker_is_send() {
        // The tracker is owned by one coordinator thread and may be moved between threads, but
        // needs no synchronisation of its own: it is single-owner by design.
        fn assert_send<T: Send>() {}
        assert_send::<PartitionTracker>();
        const _: () = {
            const fn static_assert_send<T: Send>() {}
            static_assert_send::<PartitionTracker>();
        };
    }

    #[test]
    fn debug_is_a_summary() {
        let mut t = PartitionTracker::new(Some(0));
        record_all(&mut t, 0..10_000);
        let s = format!("{t:?}");
        assert!(s.len() < 300, "{s}");
        assert!(s.contains("window_len: 10000"), "{s}");
    }

    #[test]
    fn skip_to_position_moves_only_an_idle_tracker_forward() {
        let mut t = PartitionTracker::new(Some(10));
        let a = t.record_inflight(10).unwrap();
        assert!(!t.skip_to_position(12), "a message is unfinished");
        t.mark_processed(a);
        assert_eq!(t.commit_point(), Some(11));
        assert!(!t.skip_to_position(11), "not beyond the commit point");
        assert!(
            t.skip_to_position(12),
            "the transaction marker at 11 is skipped"
        );
        assert_eq!(t.committable_offset(), Some(12));
        assert!(
            t.record_inflight(11).is_err(),
            "nothing below the new point may be recorded"
        );
        assert!(t.record_inflight(12).is_ok());
        assert!(!t.skip_to_position(20), "busy again");
    }
}
