//! Fuzzes the commit-metadata codec (`burrow::offset_metadata`): the decoder reads metadata that
//! any client of the consumer group may have written, so it must refuse garbage without panicking,
//! and whatever it accepts must be a valid set above the committed offset. The encoder must
//! round-trip and respect its size limit.
//!
//! Run: `cargo +nightly fuzz run offset_metadata` (from the repository root).
#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use burrow::offset_metadata::{decode, encode, encode_limited, DoneSet, MAX_SPAN, PREFIX};
use libfuzzer_sys::fuzz_target;

/// Sets larger than this are not re-encoded (a few payload bytes can describe 2^32 offsets).
const ROUNDTRIP_MAX: u64 = 4_096;

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any text as metadata.
    Text { commit: i64, metadata: String },
    /// Burrow's prefix and any payload: exercises base64 and the payload parser.
    Payload { commit: i64, payload: Vec<u8> },
    /// A payload whose base matches the committed offset: exercises the run and bitmap bodies.
    Body {
        commit: u32,
        kind: u8,
        body: Vec<u8>,
    },
    /// Encoding a set of offsets, within a size limit.
    Encode {
        commit: i64,
        offsets: Vec<u32>,
        far: Vec<i64>,
        max_len: u16,
    },
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// What the decoder gives back must be a set strictly above `commit`, within the span, and, when
/// it is small enough to re-encode, it must survive an encode/decode round trip unchanged.
fn check_decoded(commit: i64, metadata: &str) {
    let Ok(set) = decode(commit, metadata) else {
        return;
    };
    if set.is_empty() {
        return;
    }
    let len = set.len();
    let first = set.iter().next().expect("non-empty");
    assert!(first > commit, "{first} <= committed {commit}");
    if len > ROUNDTRIP_MAX {
        return;
    }
    let offsets: Vec<i64> = set.iter().collect();
    assert_eq!(offsets.len() as u64, len);
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "not ascending");
    let last = *offsets.last().expect("non-empty");
    assert!(
        (i128::from(last) - i128::from(commit)) <= i128::from(MAX_SPAN),
        "{last} beyond the span above {commit}"
    );
    for &o in offsets.iter().take(64) {
        assert!(set.contains(o));
        assert!(o == i64::MAX || set.contains(o + 1) == offsets.binary_search(&(o + 1)).is_ok());
    }
    assert!(!set.contains(commit));
    let again = encode(commit, offsets.iter().copied());
    assert_eq!(
        decode(commit, &again).as_ref(),
        Ok(&set),
        "round trip of {metadata:?}"
    );
}

fuzz_target!(|input: Input| match input {
    Input::Text { commit, metadata } => check_decoded(commit, &metadata),
    Input::Payload { commit, payload } => {
        let metadata = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&payload));
        check_decoded(commit, &metadata);
    }
    Input::Body { commit, kind, body } => {
        let mut payload = Vec::new();
        varint(&mut payload, u64::from(commit));
        payload.push(kind % 3);
        payload.extend_from_slice(&body);
        let metadata = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&payload));
        check_decoded(i64::from(commit), &metadata);
    }
    Input::Encode {
        commit,
        offsets,
        far,
        max_len,
    } => {
        // Mostly ascending offsets near the commit point, plus a few arbitrary ones.
        let mut all: Vec<i64> = offsets
            .iter()
            .scan(commit, |at, &d| {
                *at = at.saturating_add(i64::from(d % 4096));
                Some(*at)
            })
            .collect();
        all.extend(far.iter().copied());
        let max_len = usize::from(max_len);
        let m = encode_limited(commit, all.iter().copied(), max_len);
        assert!(m.len() <= max_len, "{} bytes > limit {max_len}", m.len());
        let set = decode(commit, &m).unwrap_or_else(|e| panic!("own encoding {m:?} refused: {e}"));
        // What the encoder keeps: ascending offsets above the commit point within the span.
        let valid = if commit < 0 {
            DoneSet::default()
        } else {
            let mut kept = Vec::new();
            for &o in &all {
                if o <= commit {
                    continue;
                }
                if (o - commit) as u64 > MAX_SPAN {
                    break;
                }
                if kept.last().is_some_and(|&l| o <= l) {
                    continue;
                }
                kept.push(o);
            }
            DoneSet::from_sorted(kept)
        };
        let got: Vec<i64> = set.iter().collect();
        let want: Vec<i64> = valid.iter().collect();
        assert!(
            want.starts_with(&got),
            "the limited encoding must keep a prefix of the set"
        );
        let full = encode(commit, all.iter().copied());
        assert_eq!(decode(commit, &full), Ok(valid));
    }
});
