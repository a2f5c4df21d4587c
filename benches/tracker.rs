//! Benchmarks of the partition tracker's hot path and of the commit-metadata codec.
//!
//! Run with `cargo bench --bench tracker` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! quick run).

use std::hint::black_box;

use burrow::offset_metadata::{decode, encode};
use burrow::tracker::{PartitionTracker, Seq};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Messages kept in flight.
const IN_FLIGHT: usize = 1_000;
/// Length of the pre-generated random streams (a power of two, cycled through).
const STREAM: usize = 1 << 16;

/// A tiny xorshift64 generator: deterministic, and no extra dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Pre-generated randomness for the mark+advance loop: which pool slot completes next, and the
/// offset step (1, or occasionally a hole).
struct Streams {
    slots: Vec<u32>,
    steps: Vec<i64>,
}

fn streams() -> Streams {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let slots = (0..STREAM)
        .map(|_| (rng.next() % IN_FLIGHT as u64) as u32)
        .collect();
    let steps = (0..STREAM)
        .map(|_| if rng.next() % 32 == 0 { 4 } else { 1 })
        .collect();
    Streams { slots, steps }
}

/// A tracker with `IN_FLIGHT` messages in flight and the pool of their seqs.
fn loaded_tracker() -> (PartitionTracker, Vec<Seq>, i64) {
    let mut tracker = PartitionTracker::new(Some(1 << 40));
    let mut next = 1i64 << 40;
    let pool = (0..IN_FLIGHT)
        .map(|_| {
            let seq = tracker.record_inflight(next).unwrap();
            next += 1;
            seq
        })
        .collect();
    (tracker, pool, next)
}

fn bench_mark_advance(c: &mut Criterion) {
    {
        let (tracker, _, _) = loaded_tracker();
        eprintln!(
            "tracker memory: {} heap bytes for a window of {} ({} in flight): {:.2} bytes per in-flight offset",
            tracker.heap_bytes(),
            tracker.window_len(),
            tracker.inflight_count(),
            tracker.heap_bytes() as f64 / tracker.window_len() as f64
        );
    }

    let s = streams();
    let (mut tracker, mut pool, mut next) = loaded_tracker();
    let mut i = 0usize;
    let mut group = c.benchmark_group("tracker");
    group.throughput(Throughput::Elements(1));
    // One op: record a new offset and mark a random in-flight one done (advancing the prefix
    // when it was the oldest), keeping IN_FLIGHT in flight.
    group.bench_function("mark+advance", |b| {
        b.iter(|| {
            let k = i & (STREAM - 1);
            i = i.wrapping_add(1);
            let seq = tracker.record_inflight(next).unwrap();
            next += s.steps[k];
            let slot = &mut pool[s.slots[k] as usize];
            let done = std::mem::replace(slot, seq);
            black_box(tracker.mark_processed(done));
        })
    });
    group.finish();
    eprintln!(
        "steady state after the run: window {} for {} in flight, {} heap bytes ({:.2} per in-flight offset)",
        tracker.window_len(),
        tracker.inflight_count(),
        tracker.heap_bytes(),
        tracker.heap_bytes() as f64 / tracker.inflight_count() as f64
    );
}

fn bench_metadata(c: &mut Criterion) {
    // 1,000 sparse done offsets above the commit point: gaps of 1..64.
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let commit = 123_456_789_i64;
    let mut offset = commit;
    let done: Vec<i64> = (0..1_000)
        .map(|_| {
            offset += 1 + (rng.next() % 64) as i64;
            offset
        })
        .collect();
    let metadata = encode(commit, done.iter().copied());
    eprintln!(
        "metadata for 1,000 sparse done offsets: {} bytes",
        metadata.len()
    );

    let mut group = c.benchmark_group("offset_metadata");
    group.throughput(Throughput::Elements(done.len() as u64));
    group.bench_function("encode 1000 sparse", |b| {
        b.iter(|| encode(black_box(commit), black_box(&done).iter().copied()))
    });
    group.bench_function("decode 1000 sparse", |b| {
        b.iter(|| decode(black_box(commit), black_box(&metadata)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_mark_advance, bench_metadata);
criterion_main!(benches);
