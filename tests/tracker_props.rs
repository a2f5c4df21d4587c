//! Property tests of the partition tracker (against a naive model) and of the commit-metadata codec.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;

use burrow::offset_metadata::{self, decode, encode, encode_limited, DoneSet, PREFIX};
use burrow::tracker::{PartitionTracker, Seq, TrackerError};

// ---------------------------------------------------------------------------------------------
// Tracker vs model
// ---------------------------------------------------------------------------------------------

/// The obvious, slow implementation of the tracker's contract.
#[derive(Debug)]
struct Model {
    /// Every received offset and whether it is done.
    offsets: BTreeMap<i64, bool>,
    /// The committed offset known at creation (non-negative), the commit point until a prefix is done.
    initial: Option<i64>,
    last_committed: Option<i64>,
    /// Seq → offset of every seq the tracker issued.
    seqs: Vec<i64>,
}

impl Model {
    fn new(committed: Option<i64>) -> Self {
        let committed = committed.filter(|&c| c >= 0);
        Model {
            offsets: BTreeMap::new(),
            initial: committed,
            last_committed: committed,
            seqs: Vec::new(),
        }
    }

    fn last_received(&self) -> Option<i64> {
        self.offsets.keys().next_back().copied()
    }

    /// One past the last offset of the longest done prefix, else the initial committed offset.
    fn commit_point(&self) -> Option<i64> {
        let mut point = self.initial;
        for (&offset, &done) in &self.offsets {
            if !done {
                break;
            }
            point = Some(offset + 1);
        }
        point
    }

    fn committable(&self) -> Option<i64> {
        let point = self.commit_point()?;
        match self.last_committed {
            Some(c) if c >= point => None,
            _ => Some(point),
        }
    }

    /// The error `record_inflight(offset)` must give, if any.
    fn record_error(&self, offset: i64) -> Option<TrackerError> {
        if offset < 0 {
            return Some(TrackerError::Negative(offset));
        }
        if offset == i64::MAX {
            return Some(TrackerError::TooLarge(offset));
        }
        if let Some(last) = self.last_received() {
            if offset <= last {
                return Some(TrackerError::OutOfOrder { offset, last });
            }
        }
        let floor = [self.commit_point(), self.last_committed]
            .into_iter()
            .flatten()
            .max();
        match floor {
            Some(floor) if offset < floor => Some(TrackerError::OutOfOrder {
                offset,
                last: floor - 1,
            }),
            _ => None,
        }
    }

    fn unfinished(&self) -> impl Iterator<Item = i64> + '_ {
        self.offsets.iter().filter(|(_, &d)| !d).map(|(&o, _)| o)
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Record the next offset: one past the last (or the floor, when `snap`) plus `hole`.
    Record {
        hole: u64,
        snap: bool,
    },
    /// Record an offset that is wrong in some way.
    RecordBad(u8, u64),
    /// Mark a seq processed: an issued one (picked by `pick`) or, when `stray`, maybe not.
    Process {
        pick: usize,
        stray: bool,
    },
    Fail {
        pick: usize,
        stray: bool,
    },
    /// Commit: the committable offset, or something near the commit point.
    Commit {
        mode: u8,
        delta: i64,
    },
}

fn hole() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => Just(0u64),
        2 => 1u64..4,
        1 => 4u64..1_000,
        1 => Just(1u64 << 33),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (hole(), prop::bool::weighted(0.1)).prop_map(|(hole, snap)| Op::Record { hole, snap }),
        1 => (0u8..4, 0u64..5).prop_map(|(k, d)| Op::RecordBad(k, d)),
        8 => (any::<usize>(), prop::bool::weighted(0.1))
            .prop_map(|(pick, stray)| Op::Process { pick, stray }),
        2 => (any::<usize>(), prop::bool::weighted(0.1))
            .prop_map(|(pick, stray)| Op::Fail { pick, stray }),
        2 => (0u8..4, -5i64..6).prop_map(|(mode, delta)| Op::Commit { mode, delta }),
    ]
}

/// Picks the seq an op refers to: mostly issued seqs, biased towards recent ones; with `stray`,
/// also seqs that were never issued.
fn pick_seq(model: &Model, pick: usize, stray: bool) -> Option<Seq> {
    let issued = model.seqs.len();
    if stray {
        return Some(match pick % 3 {
            0 => issued as Seq,
            1 => Seq::MAX,
            _ => (issued + pick % 100) as Seq,
        });
    }
    if issued == 0 {
        return None;
    }
    // Half of the time one of the 64 most recent.
    let idx = if pick % 2 == 0 {
        issued - 1 - (pick / 2) % issued.min(64)
    } else {
        (pick / 2) % issued
    };
    Some(idx as Seq)
}

fn check(t: &PartitionTracker, m: &Model) -> Result<(), TestCaseError> {
    let point = m.commit_point();
    prop_assert_eq!(t.commit_point(), point);
    prop_assert_eq!(t.committable_offset(), m.committable());
    prop_assert_eq!(t.last_committed(), m.last_committed);
    prop_assert_eq!(t.last_received(), m.last_received());
    // The commit point never passes an unfinished received offset.
    if let Some(point) = point {
        for o in m.unfinished() {
            prop_assert!(point <= o, "commit point {} passes unfinished {}", point, o);
        }
    }
    prop_assert_eq!(t.inflight_count(), m.unfinished().count());
    let oldest = m.unfinished().next();
    prop_assert_eq!(t.oldest_unfinished(), oldest);
    prop_assert_eq!(
        t.oldest_unfinished_seq(),
        oldest.map(|o| m.seqs.iter().position(|&s| s == o).unwrap() as Seq)
    );
    let done_above: Vec<i64> = m
        .offsets
        .iter()
        .filter(|(&o, &d)| d && point.is_none_or(|p| o >= p))
        .map(|(&o, _)| o)
        .collect();
    prop_assert_eq!(t.done_above_commit_point().collect::<Vec<_>>(), done_above);
    // The window: from the oldest unfinished to the last received, and never more than what was
    // received at or above the commit point.
    let window = oldest.map_or(0, |o| m.offsets.range(o..).count());
    prop_assert_eq!(t.window_len(), window);
    let since_point = m.offsets.range(point.unwrap_or(i64::MIN)..).count();
    prop_assert!(t.window_len() <= since_point);
    prop_assert!(t.heap_bytes() <= (4 * t.window_len()).max(2048) * 8);
    Ok(())
}

fn run_ops(start: i64, committed_known: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let committed = committed_known.then_some(start);
    let mut t = PartitionTracker::new(committed);
    let mut m = Model::new(committed);
    check(&t, &m)?;
    for op in ops {
        match *op {
            Op::Record { hole, snap } => {
                let base = match m.last_received() {
                    Some(last) => last + 1,
                    None => start,
                };
                let base = if snap {
                    base.max(m.last_committed.unwrap_or(0))
                } else {
                    base
                };
                let offset = base + hole as i64;
                let expected = m.record_error(offset);
                match t.record_inflight(offset) {
                    Ok(seq) => {
                        prop_assert_eq!(expected, None, "accepted {}", offset);
                        prop_assert_eq!(seq, m.seqs.len() as Seq);
                        m.seqs.push(offset);
                        m.offsets.insert(offset, false);
                    }
                    Err(e) => prop_assert_eq!(Some(e), expected),
                }
            }
            Op::RecordBad(kind, d) => {
                let offset = match kind {
                    0 => m.last_received().unwrap_or(start) - d as i64,
                    1 => -1 - d as i64,
                    2 => m.commit_point().unwrap_or(start) - 1 - d as i64,
                    _ => i64::MAX,
                };
                let expected = m.record_error(offset);
                match t.record_inflight(offset) {
                    Ok(seq) => {
                        prop_assert_eq!(expected, None, "accepted {}", offset);
                        m.seqs.push(offset);
                        prop_assert_eq!(seq + 1, m.seqs.len() as Seq);
                        m.offsets.insert(offset, false);
                    }
                    Err(e) => prop_assert_eq!(Some(e), expected),
                }
            }
            Op::Process { pick, stray } => {
                let Some(seq) = pick_seq(&m, pick, stray) else {
                    continue;
                };
                let expected = match m.seqs.get(seq as usize) {
                    Some(&offset) => {
                        let done = m.offsets.get_mut(&offset).unwrap();
                        let newly = !*done;
                        *done = true;
                        newly
                    }
                    None => false,
                };
                prop_assert_eq!(t.mark_processed(seq), expected, "seq {}", seq);
            }
            Op::Fail { pick, stray } => {
                let Some(seq) = pick_seq(&m, pick, stray) else {
                    continue;
                };
                let expected = m
                    .seqs
                    .get(seq as usize)
                    .is_some_and(|offset| !m.offsets[offset]);
                prop_assert_eq!(t.mark_failed(seq), expected, "seq {}", seq);
            }
            Op::Commit { mode, delta } => {
                let value = match mode {
                    0 | 1 => m.committable(),
                    2 => m.commit_point().map(|p| p + delta),
                    _ => Some(delta),
                };
                if let Some(value) = value {
                    t.commit_offset(value);
                    if value >= 0 && m.last_committed.is_none_or(|c| value > c) {
                        m.last_committed = Some(value);
                    }
                }
            }
        }
        check(&t, &m)?;
    }

    // Finish everything: the commit point is one past the last offset received.
    for seq in 0..m.seqs.len() as Seq {
        t.mark_processed(seq);
    }
    for done in m.offsets.values_mut() {
        *done = true;
    }
    check(&t, &m)?;
    if let Some(last) = m.last_received() {
        prop_assert_eq!(t.commit_point(), Some(last + 1));
    }
    prop_assert_eq!(t.inflight_count(), 0);
    prop_assert_eq!(t.window_len(), 0);
    Ok(())
}

/// 512 cases; failures are reported with their minimal input (an integration test has no
/// `lib.rs` beside it for proptest's regression files).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn start_offset() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), 0i64..1_000, 0i64..(1 << 40)]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tracker_matches_model(
        start in start_offset(),
        committed_known in any::<bool>(),
        ops in prop::collection::vec(op(), 0..400),
    ) {
        run_ops(start, committed_known, &ops)?;
    }
}

/// Many records with random completion order: the memory stays bounded by the window.
#[test]
fn tracker_big_random_completion() {
    let mut t = PartitionTracker::new(Some(0));
    let mut pool: Vec<Seq> = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = 0i64;
    let mut max_done = -1i64;
    for i in 0..200_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i < 100_000 || pool.is_empty() {
            pool.push(t.record_inflight(next).unwrap());
            next += 1 + (x % 16 == 0) as i64 * 3;
        }
        if pool.len() > 1000 || i >= 100_000 {
            let k = (x >> 32) as usize % pool.len();
            let seq = pool.swap_remove(k);
            assert!(t.mark_processed(seq));
        }
        if let Some(p) = t.committable_offset() {
            assert!(p > max_done);
            max_done = p;
            t.commit_offset(p);
        }
        assert!(t.heap_bytes() <= (4 * t.window_len()).max(2048) * 8);
    }
    while let Some(seq) = pool.pop() {
        t.mark_processed(seq);
    }
    assert_eq!(t.commit_point(), Some(t.last_received().unwrap() + 1));
    assert_eq!(t.window_len(), 0);
    assert!(t.heap_bytes() <= 1024 * 8);
}

// ---------------------------------------------------------------------------------------------
// Commit metadata codec
// ---------------------------------------------------------------------------------------------

/// A committed offset: small, large, or near the top of the i64 range.
fn commit_offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        0i64..1_000,
        0i64..(1 << 40),
        (i64::MAX - (1 << 34))..i64::MAX,
    ]
}

/// Done offsets above `c`, as (gap, run length) pairs: dense (small gaps, long runs) or sparse.
fn done_offsets(c: i64) -> impl Strategy<Value = (i64, Vec<i64>)> {
    let runs = prop_oneof![
        prop::collection::vec((0u64..3, 1u64..50), 0..100),
        prop::collection::vec((0u64..100_000, 1u64..4), 0..200),
        prop::collection::vec((0u64..2, 1u64..2), 0..2000),
    ];
    runs.prop_map(move |runs| {
        let mut offsets = Vec::new();
        let mut next = c as i128 + 1;
        for (gap, len) in runs {
            let start = next + gap as i128;
            for o in start..start + len as i128 {
                if o <= i64::MAX as i128 && o - c as i128 <= offset_metadata::MAX_SPAN as i128 {
                    offsets.push(o as i64);
                }
            }
            next = start + len as i128 + 1;
        }
        (c, offsets)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn metadata_roundtrip((c, offsets) in commit_offset().prop_flat_map(done_offsets)) {
        let m = encode(c, offsets.iter().copied());
        let set = decode(c, &m).map_err(|e| TestCaseError::fail(format!("{m:?}: {e}")))?;
        prop_assert_eq!(&set, &DoneSet::from_sorted(offsets.iter().copied()));
        prop_assert_eq!(set.iter().collect::<Vec<_>>(), offsets.clone());
        prop_assert_eq!(set.len(), offsets.len() as u64);
        prop_assert_eq!(set.is_empty(), offsets.is_empty());
        // contains agrees with the list, around every offset.
        for &o in offsets.iter().take(300) {
            prop_assert!(set.contains(o));
            for probe in [o.wrapping_sub(1), o.wrapping_add(1)] {
                prop_assert_eq!(set.contains(probe), offsets.binary_search(&probe).is_ok());
            }
        }
        prop_assert!(!set.contains(c));
        // Encoded as either runs or bitmap, whichever is shorter: never much more than the
        // runs (two varints each) or the bitmap (a bit per offset of the span).
        let payload_len = (m.len().saturating_sub(PREFIX.len()) * 3) / 4;
        let runs = set.run_count();
        prop_assert!(payload_len <= 10 + 1 + 20 * runs, "{} bytes for {} runs", payload_len, runs);
    }

    #[test]
    fn metadata_limited_is_a_prefix(
        (c, offsets) in commit_offset().prop_flat_map(done_offsets),
        max_len in prop_oneof![0usize..64, 64usize..5000],
    ) {
        let m = encode_limited(c, offsets.iter().copied(), max_len);
        prop_assert!(m.len() <= max_len);
        let kept: Vec<i64> = decode(c, &m)
            .map_err(|e| TestCaseError::fail(format!("{m:?}: {e}")))?
            .iter()
            .collect();
        prop_assert_eq!(&kept[..], &offsets[..kept.len()]);
        if encode(c, offsets.iter().copied()).len() <= max_len {
            prop_assert_eq!(kept.len(), offsets.len(), "cut although everything fits");
        }
    }

    #[test]
    fn decode_arbitrary_string_never_panics(c in any::<i64>(), s in ".*") {
        let _ = decode(c, &s);
        let _ = decode(c, &format!("{PREFIX}{s}"));
    }

    #[test]
    fn decode_arbitrary_payload_never_panics(
        c in any::<i64>(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let _ = decode(c, &format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes)));
    }

    /// Arbitrary bytes after a matching base, so decoding goes past the base check.
    #[test]
    fn decode_arbitrary_body_never_panics(
        c in prop_oneof![0i64..300, (i64::MAX - 1000)..=i64::MAX, any::<i64>().prop_map(|c| c & i64::MAX)],
        kind in prop_oneof![Just(0u8), Just(1u8), any::<u8>()],
        body in prop::collection::vec(prop_oneof![any::<u8>(), Just(0xffu8), Just(0x80u8)], 0..300),
    ) {
        let mut payload = Vec::new();
        let mut v = c as u64;
        while v >= 0x80 {
            payload.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        payload.push(v as u8);
        payload.push(kind);
        payload.extend(&body);
        if let Ok(set) = decode(c, &format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&payload))) {
            // Whatever decodes is a valid set above the base, within the span.
            let offsets: Vec<i64> = set.iter().take(10_000).collect();
            prop_assert!(offsets.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(offsets.iter().all(|&o| o > c));
            prop_assert!(set.len() <= offset_metadata::MAX_SPAN);
        }
    }

    #[test]
    fn dense_runs_encode_small(c in commit_offset(), skip in 1i64..1000) {
        let c = c.min(i64::MAX - 20_000);
        let offsets = (c + skip..c + skip + 10_000).collect::<Vec<_>>();
        let m = encode(c, offsets.iter().copied());
        prop_assert!(m.len() < 32, "{} bytes: {}", m.len(), m);
        prop_assert_eq!(decode(c, &m).unwrap().len(), 10_000);
    }
}
