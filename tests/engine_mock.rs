//! The engine end to end on librdkafka's embedded mock cluster (no JVM). Every test asserts on what
//! the broker holds (committed offsets and metadata, topic contents), not only on what the pool says.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burrow::{Error, Outcome, Pool};
use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message as _};
use rdkafka::ClientConfig;

const LONG: Duration = Duration::from_secs(60);

fn per_partition_end(n: usize, partitions: i32) -> Vec<i64> {
    (0..partitions)
        .map(|p| (n as i64 + partitions as i64 - 1 - p as i64) / partitions as i64)
        .collect()
}

#[test]
fn end_to_end_processes_everything_and_commits_the_end() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("e2e"), unique("g"));
    kafka.topic(&topic, 4);
    produce(&kafka.bootstrap(), &topic, 4, 1000, |i| {
        Some(format!("k{}", i % 13))
    });
    let pool = Pool::new(&config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.workers", "32")],
    ))
    .unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let (running, seen) = run_recording(pool, instant);
    let expected = per_partition_end(1000, 4);
    assert_eq!(end_offsets(&kafka.bootstrap(), &topic, 4), expected);
    wait_committed(&kafka.bootstrap(), &group, &topic, &expected, LONG);
    let stats = running.stats();
    running.stop().unwrap();
    let counts = seen.counts();
    assert_eq!(counts.len(), 1000, "every message processed");
    assert!(
        counts.values().all(|&c| c == 1),
        "no message processed twice without a failure"
    );
    assert_eq!(stats.messages_processed, 1000);
    assert!(stats.offsets_committed > 0);
}

#[test]
fn commit_stops_at_a_retrying_message_until_it_succeeds() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("gap"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 50, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.workers", "8"), ("burrow.max.retries", "1000000")],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicUsize::new(0));
    let (r, a) = (release.clone(), attempts.clone());
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            if m.offset() == 10 && !r.load(Ordering::SeqCst) {
                a.fetch_add(1, Ordering::SeqCst);
                return Outcome::retry("downstream unavailable");
            }
            Outcome::Done
        })
    });
    // Everything but offset 10 finishes; the broker must hold exactly 10 (not more) meanwhile.
    wait_until(LONG, "49 messages processed", || {
        running.stats().messages_processed == 49
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[10], LONG);
    wait_until(LONG, "more retries", || {
        attempts.load(Ordering::SeqCst) >= 5
    });
    let (off, metadata) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(off, Some(10), "commit never passes the unfinished message");
    let done = burrow::offset_metadata::decode(10, &metadata).expect("our metadata");
    assert_eq!(
        done.iter().collect::<Vec<_>>(),
        (11..50).collect::<Vec<_>>(),
        "finished offsets above the gap"
    );
    release.store(true, Ordering::SeqCst);
    wait_committed(&kafka.bootstrap(), &group, &topic, &[50], LONG);
    let stats = running.stats();
    assert!(stats.messages_retried >= 5);
    assert_eq!(stats.messages_failed, 0);
    running.stop().unwrap();
}

#[test]
fn skip_policy_finishes_a_permanently_failed_message() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("skip"), unique("g"));
    kafka.topic(&topic, 2);
    produce(&kafka.bootstrap(), &topic, 2, 100, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.on.failure", "skip"), ("burrow.max.retries", "2")],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| {
        p.run(|m| match (m.partition(), m.offset()) {
            (0, 5) => Outcome::retry("always failing"),
            (1, 7) => Outcome::fail("poison message"),
            _ => Outcome::Done,
        })
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[50, 50], LONG);
    let stats = running.stats();
    running.stop().unwrap();
    assert_eq!(stats.messages_skipped, 2);
    assert_eq!(stats.messages_failed, 2);
    assert_eq!(
        stats.messages_retried, 2,
        "only the retriable one was retried, twice"
    );
    assert_eq!(stats.messages_processed, 98);
}

#[test]
fn dead_letter_policy_copies_the_message_with_origin_headers() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group, dlq) = (unique("dl"), unique("g"), unique("dlq"));
    kafka.topic(&topic, 1);
    kafka.topic(&dlq, 1);
    produce(&kafka.bootstrap(), &topic, 1, 30, |i| {
        Some(format!("key{i}"))
    });
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.on.failure", "dead-letter"),
            ("burrow.dead.letter.topic", &dlq),
            ("burrow.max.retries", "1"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| {
        p.run(|m| {
            if m.offset() == 12 {
                Outcome::retry("bad payload")
            } else {
                Outcome::Done
            }
        })
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[30], LONG);
    let stats = running.stats();
    running.stop().unwrap();
    assert_eq!(stats.messages_dead_lettered, 1);

    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&[&dlq]).unwrap();
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + LONG;
    while got.is_empty() && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = reader.poll(Duration::from_millis(200)) {
            let headers: HashMap<String, String> = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            got.push((
                m.key().map(<[u8]>::to_vec),
                m.payload().map(<[u8]>::to_vec),
                headers,
            ));
        }
    }
    assert_eq!(got.len(), 1, "one dead-lettered copy");
    let (key, value, headers) = &got[0];
    assert_eq!(key.as_deref(), Some(&b"key12"[..]));
    assert_eq!(value.as_deref(), Some(&b"12"[..]));
    assert_eq!(headers["burrow.origin.topic"], topic);
    assert_eq!(headers["burrow.origin.partition"], "0");
    assert_eq!(headers["burrow.origin.offset"], "12");
    assert_eq!(headers["burrow.error"], "bad payload");
    assert_eq!(headers["burrow.attempts"], "2");
}

#[test]
fn skip_policy_halts_after_consecutive_failures_and_commits_what_is_safe() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("halt"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 40, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.workers", "1"),
            ("burrow.ordering", "partition"),
            ("burrow.on.failure", "skip"),
            ("burrow.max.consecutive.errors", "3"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| {
        p.run(|m| {
            if m.offset() >= 20 {
                Outcome::fail("boom")
            } else {
                Outcome::Done
            }
        })
    });
    let result = running.join(LONG);
    match result {
        Err(Error::Halted(why)) => {
            assert!(why.to_string().contains("3 consecutive"), "{why}");
            assert_eq!((why.partition, why.offset), (0, 22), "{why}");
        }
        other => panic!("expected a halt, got {other:?}"),
    }
    let (off, _) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(
        off,
        Some(22),
        "two failures skipped; the third in a row halts and is not committed"
    );
}

#[test]
fn key_ordering_never_runs_a_key_twice_at_once_and_keeps_offset_order() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("keys"), unique("g"));
    kafka.topic(&topic, 2);
    produce(&kafka.bootstrap(), &topic, 2, 600, |i| {
        Some(format!("k{}", i % 7))
    });
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.workers", "16"), ("burrow.ordering", "key")],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    type PartitionKey = (i32, Vec<u8>);
    let active: Arc<Mutex<HashSet<PartitionKey>>> = Arc::default();
    let order: Arc<Mutex<HashMap<PartitionKey, Vec<i64>>>> = Arc::default();
    let violations = Arc::new(AtomicUsize::new(0));
    let max_parallel = Arc::new(AtomicUsize::new(0));
    let (a, o, v, mp) = (
        active.clone(),
        order.clone(),
        violations.clone(),
        max_parallel.clone(),
    );
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            let k = (m.partition(), m.key().unwrap().to_vec());
            {
                let mut act = a.lock().unwrap();
                if !act.insert(k.clone()) {
                    v.fetch_add(1, Ordering::SeqCst);
                }
                mp.fetch_max(act.len(), Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_micros(300 + (m.offset() as u64 * 37) % 700));
            o.lock()
                .unwrap()
                .entry(k.clone())
                .or_default()
                .push(m.offset());
            a.lock().unwrap().remove(&k);
            Outcome::Done
        })
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[300, 300], LONG);
    running.stop().unwrap();
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "a key ran twice at once"
    );
    let order = order.lock().unwrap();
    assert_eq!(order.values().map(Vec::len).sum::<usize>(), 600);
    for (k, offsets) in order.iter() {
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "key {k:?} out of order: {offsets:?}"
        );
    }
    assert!(
        max_parallel.load(Ordering::SeqCst) > 1,
        "different keys ran in parallel"
    );
}

#[test]
fn partition_ordering_runs_one_message_per_partition_in_order() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("porder"), unique("g"));
    kafka.topic(&topic, 3);
    produce(&kafka.bootstrap(), &topic, 3, 300, |i| {
        Some(format!("k{i}"))
    });
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.workers", "8"), ("burrow.ordering", "partition")],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let busy: Arc<Vec<AtomicBool>> = Arc::new((0..3).map(|_| AtomicBool::new(false)).collect());
    let order: Arc<Mutex<Vec<Vec<i64>>>> = Arc::new(Mutex::new(vec![Vec::new(); 3]));
    let violations = Arc::new(AtomicUsize::new(0));
    let (b, o, v) = (busy.clone(), order.clone(), violations.clone());
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            let i = m.partition() as usize;
            if b[i].swap(true, Ordering::SeqCst) {
                v.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_micros(200));
            o.lock().unwrap()[i].push(m.offset());
            b[i].store(false, Ordering::SeqCst);
            Outcome::Done
        })
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[100, 100, 100], LONG);
    running.stop().unwrap();
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    for offsets in order.lock().unwrap().iter() {
        assert_eq!(offsets, &(0..100).collect::<Vec<i64>>());
    }
}

/// A session timeout as short as brokers allow, for a member the next one replaces.
const MOCK_SHORT_SESSION: &[(&str, &str)] = &[("session.timeout.ms", "6000")];

#[test]
fn restart_resumes_from_the_committed_offset() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("restart"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 100, |_| None);
    // The mock cluster lets a new member in only once the previous member's session has expired
    // (it does not act on the leave as a broker does): a short session keeps the test short.
    let first = Pool::new(&config(&kafka.bootstrap(), &group, MOCK_SHORT_SESSION)).unwrap();
    first.subscribe(&[&topic]).unwrap();
    let running = Running::start(first, |p| p.run(|_| Outcome::Done));
    wait_committed(&kafka.bootstrap(), &group, &topic, &[100], LONG);
    running.stop().unwrap();

    produce(&kafka.bootstrap(), &topic, 1, 50, |_| None);
    let second = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    second.subscribe(&[&topic]).unwrap();
    let (running, seen) = run_recording(second, instant);
    wait_committed(&kafka.bootstrap(), &group, &topic, &[150], LONG);
    running.stop().unwrap();
    let mut offsets: Vec<i64> = seen.counts().keys().map(|k| k.1).collect();
    offsets.sort();
    assert_eq!(
        offsets,
        (100..150).collect::<Vec<_>>(),
        "resumed at N=100, nothing earlier replayed"
    );
}

#[test]
fn restart_skips_offsets_that_commit_metadata_records_as_finished() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("meta"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 60, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.max.retries", "1000000"),
            ("burrow.shutdown.timeout.ms", "500"),
            MOCK_SHORT_SESSION[0],
        ],
    );
    let first = Pool::new(&cfg).unwrap();
    first.subscribe(&[&topic]).unwrap();
    let running = Running::start(first, |p| {
        p.run(|m| {
            if m.offset() == 5 {
                Outcome::retry("stuck")
            } else {
                Outcome::Done
            }
        })
    });
    wait_until(LONG, "59 processed", || {
        running.stats().messages_processed == 59
    });
    running.stop().unwrap();
    let (off, metadata) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(off, Some(5));
    assert!(
        metadata.starts_with(burrow::offset_metadata::PREFIX),
        "metadata {metadata:?}"
    );

    let second = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    second.subscribe(&[&topic]).unwrap();
    let (running, seen) = run_recording(second, instant);
    wait_committed(&kafka.bootstrap(), &group, &topic, &[60], LONG);
    let stats = running.stats();
    running.stop().unwrap();
    assert_eq!(
        seen.counts().keys().map(|k| k.1).collect::<Vec<_>>(),
        vec![5],
        "only the unfinished one again"
    );
    assert_eq!(stats.messages_skipped_from_metadata, 54);
}

#[test]
fn foreign_commit_metadata_is_ignored_with_a_count() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("foreign"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 20, |_| None);
    commit_as_other_client(
        &kafka.bootstrap(),
        &group,
        &topic,
        0,
        8,
        "{\"written-by\":\"another tool\"}",
    );
    let pool = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let (running, seen) = run_recording(pool, instant);
    wait_committed(&kafka.bootstrap(), &group, &topic, &[20], LONG);
    let stats = running.stats();
    running.stop().unwrap();
    assert_eq!(seen.len(), 12, "offsets 8..20 processed");
    assert_eq!(stats.commit_metadata_invalid, 1);
}

#[test]
fn graceful_stop_commits_everything_finished() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("stop"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 2000, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.workers", "20"),
            ("burrow.commit.interval.ms", "600000"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let (running, seen) = run_recording(pool, |o| Duration::from_millis(2 + (o as u64 % 5)));
    wait_until(LONG, "some progress", || seen.len() >= 300);
    running.stop().unwrap();
    let done: HashSet<i64> = seen.counts().keys().map(|k| k.1).collect();
    let prefix = (0..).find(|o| !done.contains(o)).unwrap();
    assert!(prefix < 2000, "stopped mid-stream");
    let (off, _) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(
        off,
        Some(prefix),
        "the final commit covers exactly the finished prefix"
    );
}

#[test]
fn panics_and_dropped_deliveries_are_failures_that_get_retried() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("panic"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 20, |_| None);
    let pool = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let tries: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let t = tries.clone();
    let running = Running::start(pool, move |p| {
        p.run_deferred(move |d| {
            let offset = d.message().offset();
            let n = {
                let mut t = t.lock().unwrap();
                let n = t.entry(offset).or_insert(0);
                *n += 1;
                *n
            };
            match (offset, n) {
                (3, 1) => panic!("processor bug"),
                (4, 1) => drop(d),
                (5, _) => {
                    // Completed later from another thread.
                    std::thread::spawn(move || d.complete(Outcome::Done));
                }
                _ => d.complete(Outcome::Done),
            }
        })
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[20], LONG);
    let stats = running.stats();
    running.stop().unwrap();
    assert_eq!(stats.messages_retried, 2);
    assert_eq!(tries.lock().unwrap()[&3], 2);
    assert_eq!(tries.lock().unwrap()[&4], 2);
}

#[test]
fn backpressure_pauses_a_partition_instead_of_blocking() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("bp"), unique("g"));
    kafka.topic(&topic, 2);
    produce(&kafka.bootstrap(), &topic, 2, 40000, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.workers", "4"),
            ("burrow.max.inflight.per.partition", "20"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let (running, seen) = run_recording(pool, |_| Duration::from_micros(200));
    let mut max_inflight = 0;
    wait_until(LONG, "all processed", || {
        let st = running.stats();
        for p in &st.partitions {
            max_inflight = max_inflight.max(p.inflight);
        }
        seen.len() >= 40000
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[20000, 20000], LONG);
    let pauses = running.stats().partition_pauses;
    running.stop().unwrap();
    assert!(pauses > 0, "a partition was paused at the cap");
    assert!(
        // The cap plus what was already on its way when the pause took effect (librdkafka applies
        // a pause asynchronously, and serves what it had prefetched until then) — well below the
        // 20,000 each partition holds.
        max_inflight < 10_000,
        "in-flight stayed near the cap (saw {max_inflight})"
    );
    assert_eq!(
        seen.counts().len(),
        40000,
        "nothing lost across pause/resume"
    );
}

#[test]
fn two_pools_in_one_group_one_leaving_loses_nothing() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("rebal"), unique("g"));
    kafka.topic(&topic, 4);
    produce(&kafka.bootstrap(), &topic, 4, 4000, |_| None);
    let seen = Seen::default();
    let start = |seen: &Seen| {
        let cfg = config(
            &kafka.bootstrap(),
            &group,
            &[
                ("burrow.workers", "8"),
                ("burrow.commit.interval.ms", "200"),
                ("heartbeat.interval.ms", "200"),
                ("session.timeout.ms", "6000"),
            ],
        );
        let pool = Pool::new(&cfg).unwrap();
        pool.subscribe(&[&topic]).unwrap();
        let s = seen.clone();
        Running::start(pool, move |p| {
            p.run(move |m| {
                std::thread::sleep(Duration::from_micros(500));
                s.record(m.partition(), m.offset());
                Outcome::Done
            })
        })
    };
    let a = start(&seen);
    let b = start(&seen);
    wait_until(LONG, "both pools have partitions", || {
        !a.stats().partitions.is_empty() && !b.stats().partitions.is_empty()
    });
    wait_until(LONG, "progress", || seen.len() >= 800);
    let b_partitions = b.stats().partitions.len();
    b.stop().unwrap();
    wait_committed(
        &kafka.bootstrap(),
        &group,
        &topic,
        &[1000, 1000, 1000, 1000],
        LONG,
    );
    let stats_a = a.stats();
    a.stop().unwrap();
    let counts = seen.counts();
    assert_eq!(counts.len(), 4000, "every message processed at least once");
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "rebalance: pool B had {b_partitions} partitions; duplicates after hand-over: {duplicates}"
    );
    assert!(stats_a.rebalances >= 2);
    // The mock cluster refuses commits while a rebalance is in progress (a real broker accepts
    // them from the current generation, and the real-broker suite bounds duplicates), so here
    // only "nothing lost" is asserted; duplicates are reported.
    assert!(duplicates < 4000);
}

#[test]
fn run_external_hands_messages_to_takers_in_batches_and_commits_the_end() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("ext"), unique("g"));
    kafka.topic(&topic, 4);
    produce(&kafka.bootstrap(), &topic, 4, 2000, |i| {
        Some(format!("k{}", i % 7))
    });
    let pool = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| p.run_external());
    let seen = Seen::default();
    let biggest = Arc::new(AtomicUsize::new(0));
    let takers: Vec<_> = (0..2)
        .map(|_| {
            let (pool, seen, biggest) = (running.pool.clone(), seen.clone(), biggest.clone());
            std::thread::spawn(move || {
                let mut batch = Vec::new();
                loop {
                    match pool.take(&mut batch, 64, Duration::from_millis(100)) {
                        Ok(n) => {
                            assert_eq!(n, batch.len());
                            assert!(n <= 64);
                            biggest.fetch_max(n, Ordering::Relaxed);
                            for d in batch.drain(..) {
                                seen.record(d.message().partition(), d.message().offset());
                                d.complete(Outcome::Done);
                            }
                        }
                        Err(e) => return e,
                    }
                }
            })
        })
        .collect();
    let expected = per_partition_end(2000, 4);
    wait_committed(&kafka.bootstrap(), &group, &topic, &expected, LONG);
    running.stop().unwrap();
    for t in takers {
        assert!(
            matches!(t.join().unwrap(), Error::Closed),
            "a take after the run fails with Closed"
        );
    }
    let counts = seen.counts();
    assert_eq!(counts.len(), 2000, "every message taken");
    assert!(counts.values().all(|&c| c == 1), "none taken twice");
    assert!(
        biggest.load(Ordering::Relaxed) > 1,
        "takes returned batches"
    );
}

#[test]
fn take_refuses_a_run_with_worker_threads() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("ext-threads"), unique("g"));
    kafka.topic(&topic, 1);
    let pool = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let mut batch = Vec::new();
    assert_eq!(
        pool.take(&mut batch, 8, Duration::from_millis(10)).unwrap(),
        0,
        "before the run: nothing within the timeout"
    );
    let running = Running::start(pool, |p| p.run(|_| Outcome::Done));
    wait_until(LONG, "the take sees the run", || {
        !matches!(
            running.pool.take(&mut batch, 8, Duration::from_millis(10)),
            Ok(0)
        )
    });
    assert!(matches!(
        running.pool.take(&mut batch, 8, Duration::from_millis(10)),
        Err(Error::Thread(_))
    ));
    assert!(batch.is_empty());
}

/// `jobs_queued` counts the jobs waiting in the workers' queue, not only those the pool has not
/// queued for them yet.
#[test]
fn jobs_queued_counts_the_workers_queue() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("queued"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 500, |_| None);
    let pool = Pool::new(&config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.workers", "1"), ("burrow.job.queue.size", "50")],
    ))
    .unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |_| {
            while !r.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            Outcome::Done
        })
    });
    // Every message received and unfinished is either in the busy worker or queued.
    wait_until(LONG, "the worker's queue counted as queued", || {
        let s = running.stats();
        s.workers_busy == 1 && s.messages_inflight > 50 && s.jobs_queued + 1 == s.messages_inflight
    });
    release.store(true, Ordering::SeqCst);
    wait_committed(&kafka.bootstrap(), &group, &topic, &[500], LONG);
    running.stop().unwrap();
}
