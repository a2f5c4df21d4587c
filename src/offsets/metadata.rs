//! The commit-metadata codec: which offsets above a committed offset were already done.
//!
//! When Burrow commits offset `C` for a partition (the next offset to read), messages above `C`
//! may already be done: `C` itself is the gap (failed, or still running, or not received yet).
//! Burrow writes those done offsets into the commit's metadata string, so that after a restart or
//! a rebalance they are skipped instead of processed again. A [`DoneSet`] is what
//! [`decode`] gives back.
//!
//! # Format
//!
//! ```text
//! metadata = "bw1:" base64url-without-padding(payload)      ("" for an empty set)
//! payload  = varint(C) kind body
//! kind     = 0x00 (runs) | 0x01 (bitmap)
//! runs     = { varint(gap) varint(len - 1) }                  repeated to the end
//! bitmap   = { byte }                                         to the end
//! ```
//!
//! Every varint is an unsigned LEB128 (7 bits per byte, low group first, high bit = "more").
//!
//! * The payload starts with the base `C`, so [`decode`] rejects metadata whose base is not the
//!   committed offset it came with ([`MetadataError::BaseMismatch`], e.g. copied by another tool).
//! * **Runs**: the done offsets as maximal runs of consecutive offsets. The first run's gap is
//!   measured from `C + 1` (so a run starting at `C + 1` has gap 0); each later run's gap is
//!   the number of not-done offsets between it and the previous run, minus one (runs are maximal,
//!   so there is always at least one). Lengths are stored minus one. Every byte string of
//!   complete varint pairs therefore decodes to a valid, canonical set.
//! * **Bitmap**: bit `j` (least significant first) of byte `i` says whether offset
//!   `C + 1 + 8 * i + j` is done.
//!
//! [`encode`] writes whichever of the two is shorter (runs on a tie). Runs win for dense sets
//! (10,000 consecutive done offsets take a few bytes); the bitmap wins for scattered completions
//! (one bit per offset of the window instead of at least two bytes per run).
//!
//! # Example
//!
//! Committed offset 100, done offsets 102, 103, 104 and 150: the payload is `varint(100) = 0x64`,
//! kind `0x00` (runs), the run 102..=104 as gap `102 - 101 = 1` and length-1 `2`, and the run
//! 150..=150 as gap `150 - 105 - 1 = 44` and length-1 `0`. (The bitmap would take 2 + 7 bytes.)
//!
//! ```
//! use burrow::offset_metadata::{decode, encode, DoneSet};
//!
//! // payload [0x64, 0x00, 0x01, 0x02, 0x2c, 0x00]
//! let metadata = encode(100, [102, 103, 104, 150]);
//! assert_eq!(metadata, "bw1:ZAABAiwA");
//!
//! let done = decode(100, &metadata).unwrap();
//! assert_eq!(done, DoneSet::from_sorted([102, 103, 104, 150]));
//! assert!(done.contains(103) && !done.contains(105));
//! assert_eq!(done.iter().collect::<Vec<_>>(), vec![102, 103, 104, 150]);
//!
//! // Done offsets 101 and 103 take fewer bytes as a bitmap: [0x64, 0x01, 0b0000_0101].
//! assert_eq!(encode(100, [101, 103]), "bw1:ZAEF");
//!
//! // Metadata written for another committed offset, or by another client, is refused.
//! assert!(decode(101, &metadata).is_err());
//! assert!(decode(100, "{\"json\":1}").is_err());
//! assert_eq!(decode(100, ""), Ok(DoneSet::default()));
//! ```
//!
//! # Size
//!
//! Kafka brokers refuse commits whose metadata is longer than `offset.metadata.max.bytes`
//! (4096 by default). [`encode_limited`] keeps the encoding within a given length by leaving out
//! the highest done offsets: that is always safe, they are merely processed again.
//!
//! # Untrusted input
//!
//! [`decode`] never panics, and bounds its work and memory by the length of its input: metadata
//! longer than [`MAX_METADATA_LEN`] or describing offsets more than [`MAX_SPAN`] above `C` is
//! refused, as is anything whose offsets would overflow an `i64`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Magic and version prefix of Burrow's commit metadata.
pub const PREFIX: &str = "bw1:";

/// Longest metadata string [`decode`] accepts (1 MiB); longer input is refused unread.
pub const MAX_METADATA_LEN: usize = 1 << 20;

/// Largest distance above the committed offset `C` that a done offset may have: every offset in
/// a decoded set is in `C + 1 ..= C + MAX_SPAN`. [`encode`] leaves out offsets beyond it.
pub const MAX_SPAN: u64 = 1 << 32;

/// The broker's default `offset.metadata.max.bytes`: the longest metadata a commit may carry.
pub const KAFKA_DEFAULT_MAX_METADATA_LEN: usize = 4096;

/// Kind byte of a run-length body.
const KIND_RUNS: u8 = 0;
/// Kind byte of a bitmap body.
const KIND_BITMAP: u8 = 1;

/// The offsets above a committed offset that were already completed, decoded from commit metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DoneSet {
    /// Sorted, disjoint and non-adjacent runs `(start, len)`, `len >= 1`: the set is
    /// `start .. start + len` for each. Being canonical makes the derived equality set equality.
    runs: Vec<(i64, u64)>,
}

impl DoneSet {
    /// Whether the set has no offsets.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The number of offsets in the set.
    pub fn len(&self) -> u64 {
        self.runs
            .iter()
            .fold(0u64, |acc, &(_, len)| acc.saturating_add(len))
    }

    /// Whether `offset` is in the set. O(log runs).
    pub fn contains(&self, offset: i64) -> bool {
        let idx = self.runs.partition_point(|&(start, _)| start <= offset);
        match idx.checked_sub(1).map(|i| self.runs[i]) {
            Some((start, len)) => (i128::from(offset) - i128::from(start)) < i128::from(len),
            None => false,
        }
    }

    /// The offsets of the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.runs
            .iter()
            // The last offset of a run is an i64, so `start + k` never overflows.
            .flat_map(|&(start, len)| (0..len).map(move |k| start.wrapping_add(k as i64)))
    }

    /// The number of maximal runs of consecutive offsets (what the run-length encoding costs).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Builds a set from ascending, deduplicated offsets.
    ///
    /// An offset that is not strictly above the previous one is ignored (so an unsorted input
    /// gives a subset of its offsets, never a panic).
    pub fn from_sorted(offsets: impl IntoIterator<Item = i64>) -> Self {
        let mut runs: Vec<(i64, u64)> = Vec::new();
        for offset in offsets {
            match runs.last_mut() {
                Some((start, len)) => {
                    let end = i128::from(*start) + i128::from(*len);
                    let offset_wide = i128::from(offset);
                    if offset_wide < end {
                        continue; // not above the previous offset
                    } else if offset_wide == end {
                        *len += 1;
                    } else {
                        runs.push((offset, 1));
                    }
                }
                None => runs.push((offset, 1)),
            }
        }
        DoneSet { runs }
    }
}

/// Why commit metadata could not be decoded. The caller ignores such metadata (with a warning)
/// and processes everything from the committed offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The metadata does not start with [`PREFIX`]: another client wrote it.
    #[error("commit metadata is not Burrow's (no {PREFIX:?} prefix)")]
    Foreign,
    /// The metadata is Burrow's, but of a version this build does not know.
    #[error("unsupported Burrow commit metadata version {0:?} (expected {PREFIX:?})")]
    UnsupportedVersion(String),
    /// The metadata is longer than [`MAX_METADATA_LEN`].
    #[error("commit metadata is {len} bytes long, more than the {max} accepted")]
    TooLong {
        /// Length of the metadata.
        len: usize,
        /// [`MAX_METADATA_LEN`].
        max: usize,
    },
    /// The text after the prefix is not unpadded URL-safe base64.
    #[error("commit metadata payload is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The payload ends inside a varint.
    #[error("commit metadata payload is truncated inside a varint at byte {at}")]
    TruncatedVarint {
        /// Payload position of the varint's first byte.
        at: usize,
    },
    /// A varint does not fit in 64 bits.
    #[error("varint at byte {at} of the commit metadata payload overflows 64 bits")]
    VarintOverflow {
        /// Payload position of the varint's first byte.
        at: usize,
    },
    /// The base offset in the payload is not a valid (non-negative `i64`) offset.
    #[error("base offset {0} of the commit metadata is out of range")]
    BaseOutOfRange(u64),
    /// The payload was written for another committed offset than the one it came with.
    #[error(
        "commit metadata was written for offset {found}, but the committed offset is {expected}"
    )]
    BaseMismatch {
        /// The committed offset the metadata came with.
        expected: i64,
        /// The base offset recorded in the metadata.
        found: i64,
    },
    /// The payload ends after the base offset, without a kind byte.
    #[error("commit metadata payload has no kind byte")]
    MissingKind,
    /// The kind byte is neither runs (0) nor bitmap (1).
    #[error("unknown commit metadata payload kind {0}")]
    UnknownKind(u8),
    /// The payload ends after a run's gap, without its length.
    #[error("commit metadata payload ends after a run's gap at byte {at}, without its length")]
    TruncatedRun {
        /// Payload position of the run's gap.
        at: usize,
    },
    /// A done offset would not fit in an `i64`.
    #[error("commit metadata describes an offset beyond i64::MAX")]
    Overflow,
    /// A done offset is more than [`MAX_SPAN`] above the committed offset.
    #[error("commit metadata describes offset {offset}, more than {MAX_SPAN} above the committed offset {base}")]
    SpanTooLarge {
        /// The committed offset.
        base: i64,
        /// The first offset found beyond the span (may exceed `i64::MAX`).
        offset: i128,
    },
}

/// Encodes committed offset `commit_offset` plus the done offsets above it.
///
/// `done_above` must be ascending and above `commit_offset`; offsets that are not (not strictly
/// above `commit_offset` and the previous offset), and offsets more than [`MAX_SPAN`] above
/// `commit_offset`, are left out. Leaving a done offset out is always safe: it is processed again.
/// An empty set, or a negative `commit_offset` (no real committed offset), gives `""`.
///
/// The result is unbounded in length; use [`encode_limited`] for commits to a broker.
pub fn encode(commit_offset: i64, done_above: impl IntoIterator<Item = i64>) -> String {
    encode_limited(commit_offset, done_above, usize::MAX)
}

/// Like [`encode`], but the result is at most `max_len` bytes long: when the whole set does not
/// fit, the highest done offsets are left out (as many as needed, no more, for the shorter of
/// the two encodings). Pass [`KAFKA_DEFAULT_MAX_METADATA_LEN`] (or the broker's
/// `offset.metadata.max.bytes`) so the commit is not refused.
pub fn encode_limited(
    commit_offset: i64,
    done_above: impl IntoIterator<Item = i64>,
    max_len: usize,
) -> String {
    if commit_offset < 0 {
        return String::new();
    }
    let runs = collect_runs(commit_offset, done_above);
    if runs.is_empty() {
        return String::new();
    }
    // Unpadded base64 of n bytes is ceil(4n / 3) characters, so n may be at most 3 * chars / 4.
    let budget = max_len.saturating_sub(PREFIX.len());
    let budget = usize::try_from(budget as u128 * 3 / 4).unwrap_or(usize::MAX);

    let mut header = Vec::with_capacity(11);
    put_varint(&mut header, commit_offset as u64);
    if header.len() + 2 > budget {
        return String::new(); // not even one run fits
    }
    let first = commit_offset + 1;

    // Runs, cut after the last pair that fits.
    let mut run_payload = header.clone();
    run_payload.push(KIND_RUNS);
    let mut run_kept = 0u64;
    // i128: the end of a run ending at i64::MAX is one past it.
    let mut cursor = i128::from(first);
    for (i, &(start, len)) in runs.iter().enumerate() {
        let gap = (i128::from(start) - cursor) as u64 - u64::from(i > 0);
        let before = run_payload.len();
        put_varint(&mut run_payload, gap);
        put_varint(&mut run_payload, len - 1);
        if run_payload.len() > budget {
            run_payload.truncate(before);
            break;
        }
        run_kept += len;
        cursor = i128::from(start) + i128::from(len);
    }

    // The bitmap, only built when it is no longer than the runs (so never larger than the
    // budget or than the run encoding), cut to the budget.
    let (last_start, last_len) = runs[runs.len() - 1];
    let span = (last_start - first) as u64 + last_len; // <= MAX_SPAN
    let bitmap_full = header.len() as u64 + 1 + span.div_ceil(8);
    let run_full = run_kept == runs.iter().map(|&(_, len)| len).sum::<u64>();
    let try_bitmap = if run_full {
        bitmap_full < run_payload.len() as u64
    } else {
        true // the runs were cut: see whether the bitmap keeps more
    };
    let mut payload = run_payload;
    if try_bitmap {
        let bytes = (span.div_ceil(8)).min((budget - header.len() - 1) as u64) as usize;
        let mut bitmap = header;
        bitmap.push(KIND_BITMAP);
        let body_at = bitmap.len();
        bitmap.resize(body_at + bytes, 0);
        let limit = bytes as u64 * 8; // bits available
        let mut bitmap_kept = 0u64;
        for &(start, len) in &runs {
            let from = (start - first) as u64;
            if from >= limit {
                break;
            }
            let to = (from + len).min(limit);
            bitmap_kept += to - from;
            for bit in from..to {
                bitmap[body_at + (bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        // Drop trailing zero bytes (possible after a cut).
        while bitmap.len() > body_at && bitmap[bitmap.len() - 1] == 0 {
            bitmap.pop();
        }
        if bitmap_kept > run_kept || (bitmap_kept == run_kept && bitmap.len() < payload.len()) {
            payload = bitmap;
            run_kept = bitmap_kept;
        }
    }
    if run_kept == 0 {
        return String::new();
    }
    let mut out = String::with_capacity(PREFIX.len() + payload.len().div_ceil(3) * 4);
    out.push_str(PREFIX);
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    out
}

/// The valid offsets of `done_above` for base `commit_offset` (>= 0), as maximal runs.
fn collect_runs(commit_offset: i64, done_above: impl IntoIterator<Item = i64>) -> Vec<(i64, u64)> {
    let mut runs: Vec<(i64, u64)> = Vec::new();
    for offset in done_above {
        if offset <= commit_offset {
            continue;
        }
        // Both are non-negative here, so the difference cannot overflow.
        if (offset - commit_offset) as u64 > MAX_SPAN {
            break; // ascending input: everything after is beyond the span too
        }
        match runs.last_mut() {
            Some((start, len)) => {
                let end = i128::from(*start) + i128::from(*len);
                let offset_wide = i128::from(offset);
                if offset_wide < end {
                    continue; // not ascending
                } else if offset_wide == end {
                    *len += 1;
                } else {
                    runs.push((offset, 1));
                }
            }
            None => runs.push((offset, 1)),
        }
    }
    runs
}

/// Decodes metadata read back from the broker for a partition whose committed offset is
/// `commit_offset`.
///
/// An empty string gives an empty set. Metadata that is not Burrow's (no [`PREFIX`]) is an error
/// ([`MetadataError::Foreign`]) the caller should ignore with a warning, as is metadata written
/// for another committed offset. Never panics, whatever the input: another client may have
/// written it.
pub fn decode(commit_offset: i64, metadata: &str) -> Result<DoneSet, MetadataError> {
    if metadata.is_empty() {
        return Ok(DoneSet::default());
    }
    let Some(body) = metadata.strip_prefix(PREFIX) else {
        return Err(match other_version(metadata) {
            Some(version) => MetadataError::UnsupportedVersion(version.to_owned()),
            None => MetadataError::Foreign,
        });
    };
    if metadata.len() > MAX_METADATA_LEN {
        return Err(MetadataError::TooLong {
            len: metadata.len(),
            max: MAX_METADATA_LEN,
        });
    }
    let payload = URL_SAFE_NO_PAD.decode(body)?;
    let mut reader = Reader {
        buf: &payload,
        pos: 0,
    };
    let base = reader.varint()?;
    let base = i64::try_from(base).map_err(|_| MetadataError::BaseOutOfRange(base))?;
    if base != commit_offset {
        return Err(MetadataError::BaseMismatch {
            expected: commit_offset,
            found: base,
        });
    }
    let kind = reader.byte().ok_or(MetadataError::MissingKind)?;
    let rest = &payload[reader.pos..];
    match kind {
        KIND_RUNS => decode_runs(base, &mut reader),
        KIND_BITMAP => decode_bitmap(base, rest),
        other => Err(MetadataError::UnknownKind(other)),
    }
}

/// The version of a Burrow prefix other than ours (`"bw<digits>:"`), if `metadata` has one.
fn other_version(metadata: &str) -> Option<&str> {
    let rest = metadata.strip_prefix("bw")?;
    let colon = rest.find(':')?;
    let version = &rest[..colon];
    (!version.is_empty() && version.len() <= 8 && version.bytes().all(|b| b.is_ascii_digit()))
        .then_some(&metadata[..colon + 3])
}

/// Checks that a run ending (exclusively) at `end` is within range of `base`.
fn check_end(base: i64, end: i128) -> Result<(), MetadataError> {
    let last = end - 1;
    if last > i128::from(base) + i128::from(MAX_SPAN) {
        return Err(MetadataError::SpanTooLarge { base, offset: last });
    }
    if last > i128::from(i64::MAX) {
        return Err(MetadataError::Overflow);
    }
    Ok(())
}

fn decode_runs(base: i64, reader: &mut Reader<'_>) -> Result<DoneSet, MetadataError> {
    // Each run takes at least two bytes, which bounds the allocation by the input size.
    let mut runs = Vec::with_capacity(reader.remaining() / 2);
    // All arithmetic in i128: gaps and lengths are u64, and the span check keeps the cursor
    // within 2^32 of an i64, so nothing here can overflow.
    let mut cursor = i128::from(base) + 1;
    while reader.remaining() > 0 {
        let at = reader.pos;
        let gap = reader.varint()?;
        if reader.remaining() == 0 {
            return Err(MetadataError::TruncatedRun { at });
        }
        let len_minus_one = reader.varint()?;
        let start = cursor + i128::from(gap) + i128::from(!runs.is_empty());
        let len = u128::from(len_minus_one) + 1;
        let end = start + len as i128;
        check_end(base, end)?;
        // In range: start and end - 1 fit in an i64 and len <= MAX_SPAN.
        runs.push((start as i64, len as u64));
        cursor = end;
    }
    Ok(DoneSet { runs })
}

fn decode_bitmap(base: i64, bytes: &[u8]) -> Result<DoneSet, MetadataError> {
    let first = i128::from(base) + 1;
    let mut runs: Vec<(i64, u64)> = Vec::new();
    // Position (relative to `first`) and length of the run being built.
    let mut open: Option<(u64, u64)> = None;
    let close = |run: (u64, u64), runs: &mut Vec<(i64, u64)>| -> Result<(), MetadataError> {
        let start = first + i128::from(run.0);
        check_end(base, start + i128::from(run.1))?;
        runs.push((start as i64, run.1));
        Ok(())
    };
    for (i, &byte) in bytes.iter().enumerate() {
        for j in 0..8u64 {
            let pos = i as u64 * 8 + j;
            if byte & (1 << j) != 0 {
                match &mut open {
                    Some((_, len)) => *len += 1,
                    None => open = Some((pos, 1)),
                }
            } else if let Some(run) = open.take() {
                close(run, &mut runs)?;
            }
        }
    }
    if let Some(run) = open {
        close(run, &mut runs)?;
    }
    Ok(DoneSet { runs })
}

/// Appends `value` as an unsigned LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A cursor over a payload.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Reads an unsigned LEB128 varint of at most 64 bits.
    fn varint(&mut self) -> Result<u64, MetadataError> {
        let at = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte().ok_or(MetadataError::TruncatedVarint { at })?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte (shift 63) may only carry the single remaining bit.
            if shift == 63 && bits > 1 {
                return Err(MetadataError::VarintOverflow { at });
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MetadataError::VarintOverflow { at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload_of(metadata: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(metadata.strip_prefix(PREFIX).expect("our prefix"))
            .expect("base64")
    }

    fn metadata_of(payload: &[u8]) -> String {
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(payload))
    }

    fn roundtrip(c: i64, offsets: &[i64]) -> String {
        let m = encode(c, offsets.iter().copied());
        let set = decode(c, &m).unwrap_or_else(|e| panic!("{m:?}: {e}"));
        assert_eq!(set, DoneSet::from_sorted(offsets.iter().copied()));
        assert_eq!(set.iter().collect::<Vec<_>>(), offsets);
        assert_eq!(set.len(), offsets.len() as u64);
        m
    }

    #[test]
    fn example_from_the_docs() {
        let m = roundtrip(100, &[102, 103, 104, 150]);
        assert_eq!(payload_of(&m), vec![0x64, 0x00, 0x01, 0x02, 0x2c, 0x00]);
        assert_eq!(m, "bw1:ZAABAiwA");
        let m = roundtrip(100, &[101, 103]);
        assert_eq!(payload_of(&m), vec![0x64, 0x01, 0b0000_0101]);
        assert_eq!(m, "bw1:ZAEF");
    }

    #[test]
    fn empty_set() {
        assert_eq!(encode(5, []), "");
        assert_eq!(decode(5, ""), Ok(DoneSet::default()));
        let d = DoneSet::default();
        assert!(d.is_empty());
        assert_eq!(d.len(), 0);
        assert!(!d.contains(0));
        assert_eq!(d.iter().count(), 0);
        // A base with a kind and no runs is an empty set too.
        assert_eq!(decode(5, &metadata_of(&[5, 0])), Ok(DoneSet::default()));
        assert_eq!(decode(5, &metadata_of(&[5, 1])), Ok(DoneSet::default()));
    }

    #[test]
    fn single_offset() {
        let m = roundtrip(0, &[1]);
        assert_eq!(
            payload_of(&m),
            vec![0, KIND_BITMAP, 1],
            "bitmap wins by a byte"
        );
        let far = roundtrip(1 << 40, &[(1 << 40) + 12345]);
        assert_eq!(payload_of(&far)[6], KIND_RUNS);
        let set = decode(0, &m).unwrap();
        assert!(set.contains(1));
        assert!(!set.contains(0));
        assert!(!set.contains(2));
    }

    #[test]
    fn dense_run() {
        let c = 1_000_000;
        let offsets: Vec<i64> = (c + 1..=c + 10_000).collect();
        let m = roundtrip(c, &offsets);
        assert!(m.len() < 20, "{m} is {} bytes", m.len());
        let set = decode(c, &m).unwrap();
        assert_eq!(set.run_count(), 1);
        assert!(set.contains(c + 1) && set.contains(c + 10_000));
        assert!(!set.contains(c) && !set.contains(c + 10_001));
    }

    #[test]
    fn sparse_set() {
        let c = 77;
        let offsets: Vec<i64> = (0..200).map(|i| c + 3 + i * 1_000).collect();
        let m = roundtrip(c, &offsets);
        assert_eq!(payload_of(&m)[1], KIND_RUNS);
        // Alternating done / not done: the bitmap is shorter.
        let offsets: Vec<i64> = (0..1000).map(|i| c + 2 + 2 * i).collect();
        let m = roundtrip(c, &offsets);
        let p = payload_of(&m);
        assert_eq!(p[1], KIND_BITMAP);
        assert_eq!(p.len(), 2 + 250);
    }

    #[test]
    fn foreign_metadata() {
        assert_eq!(decode(0, "hello"), Err(MetadataError::Foreign));
        assert_eq!(decode(0, "{\"json\":1}"), Err(MetadataError::Foreign));
        assert_eq!(decode(0, "bw"), Err(MetadataError::Foreign));
        assert_eq!(decode(0, "bwx:AAA"), Err(MetadataError::Foreign));
        assert_eq!(decode(0, "BW1:AAA"), Err(MetadataError::Foreign));
    }

    #[test]
    fn wrong_prefix_version() {
        assert_eq!(
            decode(0, "bw2:AAAA"),
            Err(MetadataError::UnsupportedVersion("bw2:".into()))
        );
        assert_eq!(
            decode(0, "bw10:"),
            Err(MetadataError::UnsupportedVersion("bw10:".into()))
        );
    }

    #[test]
    fn bad_base64() {
        assert!(matches!(
            decode(0, "bw1:not base64!"),
            Err(MetadataError::Base64(_))
        ));
        // Padding is not part of the format.
        assert!(matches!(
            decode(0, "bw1:AAA="),
            Err(MetadataError::Base64(_))
        ));
        // A single trailing symbol is never valid base64.
        assert!(matches!(
            decode(0, "bw1:AAAAA"),
            Err(MetadataError::Base64(_))
        ));
    }

    #[test]
    fn truncated_payload() {
        let c = 300; // two-byte varint
        let m = encode(c, [301, 302, 400, 100_000]);
        let p = payload_of(&m);
        assert_eq!(
            decode(c, PREFIX),
            Err(MetadataError::TruncatedVarint { at: 0 })
        );
        assert_eq!(
            decode(c, &metadata_of(&p[..1])),
            Err(MetadataError::TruncatedVarint { at: 0 })
        );
        assert_eq!(
            decode(c, &metadata_of(&p[..2])),
            Err(MetadataError::MissingKind)
        );
        // Cut after a run's gap.
        assert_eq!(
            decode(c, &metadata_of(&p[..4])),
            Err(MetadataError::TruncatedRun { at: 3 })
        );
        // Cut inside the last varint (100,000 - 401 - 1 needs three bytes).
        assert_eq!(
            decode(c, &metadata_of(&p[..p.len() - 2])),
            Err(MetadataError::TruncatedVarint { at: p.len() - 4 })
        );
        // Cut between whole runs: a smaller set, which is safe.
        assert_eq!(
            decode(c, &metadata_of(&p[..5])),
            Ok(DoneSet::from_sorted([301, 302]))
        );
    }

    #[test]
    fn base_mismatch() {
        let m = encode(10, [12, 13]);
        assert_eq!(
            decode(11, &m),
            Err(MetadataError::BaseMismatch {
                expected: 11,
                found: 10
            })
        );
        assert_eq!(
            decode(-1001, &m),
            Err(MetadataError::BaseMismatch {
                expected: -1001,
                found: 10
            })
        );
        let mut p = vec![0xff; 9];
        p.push(0x01); // 2^64 - 1
        assert_eq!(
            decode(0, &metadata_of(&p)),
            Err(MetadataError::BaseOutOfRange(u64::MAX))
        );
    }

    #[test]
    fn unknown_kind() {
        assert_eq!(
            decode(3, &metadata_of(&[3, 7, 0, 0])),
            Err(MetadataError::UnknownKind(7))
        );
    }

    #[test]
    fn varint_overflow() {
        let mut p = vec![0];
        p.push(KIND_RUNS);
        p.extend([0xff; 10]);
        p.push(0);
        assert_eq!(
            decode(0, &metadata_of(&p)),
            Err(MetadataError::VarintOverflow { at: 2 })
        );
        // Ten bytes with the last one carrying more than one bit.
        let mut p = vec![0x80; 9];
        p.push(0x02);
        assert_eq!(
            decode(0, &metadata_of(&p)),
            Err(MetadataError::VarintOverflow { at: 0 })
        );
    }

    #[test]
    fn span_and_overflow_are_refused() {
        // A run starting 2^40 above the base.
        let mut p = vec![0, KIND_RUNS];
        put_varint(&mut p, 1 << 40);
        put_varint(&mut p, 0);
        assert!(matches!(
            decode(0, &metadata_of(&p)),
            Err(MetadataError::SpanTooLarge { base: 0, .. })
        ));
        // A huge run length.
        let mut p = vec![0, KIND_RUNS, 0];
        put_varint(&mut p, u64::MAX);
        assert!(matches!(
            decode(0, &metadata_of(&p)),
            Err(MetadataError::SpanTooLarge { .. })
        ));
        // Offsets past i64::MAX.
        let c = i64::MAX - 3;
        let mut p = Vec::new();
        put_varint(&mut p, c as u64);
        p.extend([KIND_RUNS, 0, 5]);
        assert_eq!(decode(c, &metadata_of(&p)), Err(MetadataError::Overflow));
        let mut p = Vec::new();
        put_varint(&mut p, c as u64);
        p.extend([KIND_BITMAP, 0b1000_0001]);
        assert_eq!(decode(c, &metadata_of(&p)), Err(MetadataError::Overflow));
        // Up to i64::MAX itself is fine.
        roundtrip(c, &[i64::MAX - 2, i64::MAX]);
        let mut p = Vec::new();
        put_varint(&mut p, c as u64);
        p.extend([KIND_BITMAP, 0b0000_0101]);
        assert_eq!(
            decode(c, &metadata_of(&p)),
            Ok(DoneSet::from_sorted([i64::MAX - 2, i64::MAX]))
        );
    }

    #[test]
    fn too_long() {
        let m = format!("{PREFIX}{}", "A".repeat(MAX_METADATA_LEN));
        assert!(matches!(decode(0, &m), Err(MetadataError::TooLong { .. })));
    }

    #[test]
    fn encode_leaves_out_invalid_offsets() {
        // Not above the base, not ascending, duplicated, beyond the span.
        let c = 10;
        let m = encode(
            c,
            [
                3,
                10,
                11,
                11,
                12,
                9,
                14,
                c + MAX_SPAN as i64,
                c + MAX_SPAN as i64 + 1,
            ],
        );
        assert_eq!(
            decode(c, &m),
            Ok(DoneSet::from_sorted([11, 12, 14, c + MAX_SPAN as i64]))
        );
        assert_eq!(encode(-1, [1, 2, 3]), "");
        assert_eq!(encode(5, [1, 2, 3]), "");
    }

    #[test]
    fn encode_limited_fits_and_keeps_a_prefix() {
        let c = 1000;
        // Sparse runs: 5,000 runs of two bytes and more each.
        let offsets: Vec<i64> = (0..5000).map(|i| c + 1 + i * 300).collect();
        for max in [0, 4, 5, 8, 9, 100, KAFKA_DEFAULT_MAX_METADATA_LEN] {
            let m = encode_limited(c, offsets.iter().copied(), max);
            assert!(m.len() <= max, "{} > {max}", m.len());
            let set = decode(c, &m).unwrap();
            let kept: Vec<i64> = set.iter().collect();
            assert_eq!(kept, offsets[..kept.len()], "a prefix of the set");
            if max == KAFKA_DEFAULT_MAX_METADATA_LEN {
                assert!(kept.len() > 1000, "{}", kept.len());
            }
        }
        // Scattered: the cut bitmap keeps more than the cut runs.
        let offsets: Vec<i64> = (0..100_000).map(|i| c + 2 + 2 * i).collect();
        let m = encode_limited(c, offsets.iter().copied(), KAFKA_DEFAULT_MAX_METADATA_LEN);
        assert!(m.len() <= KAFKA_DEFAULT_MAX_METADATA_LEN);
        let kept: Vec<i64> = decode(c, &m).unwrap().iter().collect();
        assert_eq!(kept, offsets[..kept.len()]);
        assert!(kept.len() > 10_000, "{}", kept.len());
        // Unlimited when everything fits.
        assert_eq!(
            encode_limited(c, offsets.iter().copied(), usize::MAX),
            encode(c, offsets.iter().copied())
        );
    }

    #[test]
    fn from_sorted_ignores_unsorted() {
        let set = DoneSet::from_sorted([5, 6, 6, 4, 8, i64::MAX]);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![5, 6, 8, i64::MAX]);
        assert_eq!(set.run_count(), 3);
        let set = DoneSet::from_sorted([i64::MIN, -1, 0, 1]);
        assert!(set.contains(i64::MIN) && set.contains(0) && !set.contains(-2));
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn error_messages_say_what_is_wrong() {
        assert_eq!(
            MetadataError::Foreign.to_string(),
            "commit metadata is not Burrow's (no \"bw1:\" prefix)"
        );
        assert_eq!(
            MetadataError::BaseMismatch {
                expected: 2,
                found: 1
            }
            .to_string(),
            "commit metadata was written for offset 1, but the committed offset is 2"
        );
    }
}
