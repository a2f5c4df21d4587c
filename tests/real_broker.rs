//! Burrow against a real Apache Kafka broker (KRaft, started by `scripts/kafka up`).
//!
//! Every test asserts on what the broker holds — committed offsets and metadata read back with a
//! separate client, topic contents (dead-letter topic, transactional and compacted topics) — and
//! on durable processing records, never only on what the pool reports about itself.
//!
//! Run with `scripts/test-real-broker`, or against a running broker:
//! `BURROW_KAFKA_BOOTSTRAP=$(scripts/kafka bootstrap) cargo test --release --test real_broker -- --include-ignored`.
//! The broker-restart test lives in `tests/real_broker_restart.rs` (it stops the shared broker).

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burrow::{Error, Outcome, Pool};
use common::*;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

const LONG: Duration = Duration::from_secs(120);

/// Every (partition, offset) of a topic whose partitions hold `ends[p]` records from offset 0.
fn all_offsets(ends: &[i64]) -> BTreeSet<(i32, i64)> {
    ends.iter()
        .enumerate()
        .flat_map(|(p, &end)| (0..end).map(move |o| (p as i32, o)))
        .collect()
}

fn config_real(group: &str, extra: &[(&str, &str)]) -> burrow::Config {
    config_protocol(GroupProtocol::Classic, group, extra)
}

fn config_protocol(protocol: GroupProtocol, group: &str, extra: &[(&str, &str)]) -> burrow::Config {
    let mut c = config(&real_bootstrap(), group, &[]);
    for (k, v) in protocol.settings() {
        c.set(k, v).unwrap();
    }
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    c
}

/// Samples the broker's committed offsets + metadata and checks them against what the test knows
/// is finished: nothing below the committed offset, and nothing the metadata lists as finished,
/// may be unfinished. `done` must only grow, and is read *after* the broker, so a violation is real.
fn check_commit_never_passes_unfinished(
    group: &str,
    topic: &str,
    partitions: i32,
    done: &Mutex<HashSet<(i32, i64)>>,
) -> Vec<Option<i64>> {
    let held = committed(&real_bootstrap(), group, topic, partitions);
    let done = done.lock().unwrap();
    for (p, (off, metadata)) in held.iter().enumerate() {
        let p = p as i32;
        let Some(off) = *off else { continue };
        if let Some(o) = (0..off).find(|o| !done.contains(&(p, *o))) {
            panic!("partition {p}: committed {off} passes unfinished offset {o}");
        }
        if !metadata.is_empty() {
            let above = burrow::offset_metadata::decode(off, metadata).expect("Burrow's metadata");
            for o in above.iter() {
                assert!(
                    done.contains(&(p, o)),
                    "partition {p}: metadata marks unfinished offset {o} as finished"
                );
            }
        }
    }
    held.into_iter().map(|(o, _)| o).collect()
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn end_to_end_10k_messages_4_partitions_50_workers() {
    end_to_end(GroupProtocol::Classic);
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn end_to_end_10k_messages_4_partitions_50_workers_consumer_protocol() {
    end_to_end(GroupProtocol::Consumer);
}

fn end_to_end(protocol: GroupProtocol) {
    init_logs();
    let bootstrap = real_bootstrap();
    let (topic, group) = (unique_real("e2e"), unique_real("g"));
    create_topic(&bootstrap, &topic, 4, &[]);
    produce(&bootstrap, &topic, 4, 10_000, |i| {
        Some(format!("k{}", i % 97))
    });
    let ends = end_offsets(&bootstrap, &topic, 4);
    assert_eq!(ends, vec![2500; 4], "the broker holds what was produced");

    let pool = Pool::new(&config_protocol(
        protocol,
        &group,
        &[("burrow.workers", "50")],
    ))
    .unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let seen: Arc<Mutex<Vec<(i32, i64, String)>>> = Arc::default();
    let (busy, max_busy) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (s, b, mb) = (seen.clone(), busy.clone(), max_busy.clone());
    let started = Instant::now();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            mb.fetch_max(b.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2)); // simulated I/O
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            s.lock().unwrap().push((m.partition(), m.offset(), value));
            b.fetch_sub(1, Ordering::SeqCst);
            Outcome::Done
        })
    });
    wait_committed(&bootstrap, &group, &topic, &ends, LONG);
    let took = started.elapsed();
    running.stop().unwrap();

    let seen = seen.lock().unwrap();
    let records: Vec<(i32, i64)> = seen.iter().map(|(p, o, _)| (*p, *o)).collect();
    let (total, _, duplicates) = check_at_least_once(&all_offsets(&ends), &records);
    assert_eq!(duplicates, 0, "no failure, no rebalance: exactly once");
    let values: BTreeSet<usize> = seen.iter().map(|(_, _, v)| v.parse().unwrap()).collect();
    assert_eq!(
        values,
        (0..10_000).collect(),
        "every produced value processed"
    );
    for (p, o, v) in seen.iter() {
        let i: i64 = v.parse().unwrap();
        assert_eq!((i % 4, i / 4), (*p as i64, *o), "value {v} read at {p}@{o}");
    }
    let max_busy = max_busy.load(Ordering::SeqCst);
    assert!(
        max_busy > 4,
        "more messages in flight than partitions (max {max_busy} at once)"
    );
    eprintln!(
        "e2e ({}): {total} messages, 50 workers, up to {max_busy} at once, all committed in {took:?}",
        protocol.name()
    );
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn retried_messages_hold_the_commit_until_they_succeed() {
    init_logs();
    let bootstrap = real_bootstrap();
    let (topic, group) = (unique_real("retry"), unique_real("g"));
    create_topic(&bootstrap, &topic, 2, &[]);
    produce(&bootstrap, &topic, 2, 400, |_| None);
    let cfg = config_real(
        &group,
        &[
            ("burrow.workers", "16"),
            ("burrow.max.retries", "1000000"),
            ("burrow.retry.backoff.ms", "10"),
            ("burrow.retry.backoff.max.ms", "50"),
            ("burrow.commit.interval.ms", "50"),
            ("burrow.commit.batch.size", "20"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    // Offsets ≡ 7 (mod 25) fail twice then succeed; 0@100 fails until released.
    let flaky = |o: i64| o % 25 == 7;
    let held = (0, 100);
    let release = Arc::new(AtomicBool::new(false));
    let attempts: Arc<Mutex<HashMap<(i32, i64), u32>>> = Arc::default();
    let done: Arc<Mutex<HashSet<(i32, i64)>>> = Arc::default();
    let (r, a, d) = (release.clone(), attempts.clone(), done.clone());
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            let key = (m.partition(), m.offset());
            let n = {
                let mut a = a.lock().unwrap();
                let n = a.entry(key).or_insert(0);
                *n += 1;
                *n
            };
            std::thread::sleep(Duration::from_millis(1));
            if key == held && !r.load(Ordering::SeqCst) {
                return Outcome::retry("downstream unavailable");
            }
            if flaky(m.offset()) && n <= 2 {
                return Outcome::retry("transient");
            }
            d.lock().unwrap().insert(key);
            Outcome::Done
        })
    });
    // While 0@100 keeps failing, the broker must hold exactly 100 for partition 0 (never more)
    // and reach the end of partition 1; every sample is checked against the finished set.
    let mut samples = 0;
    let deadline = Instant::now() + LONG;
    loop {
        let got = check_commit_never_passes_unfinished(&group, &topic, 2, &done);
        samples += 1;
        if got == [Some(100), Some(200)] {
            break;
        }
        assert!(Instant::now() < deadline, "committed {got:?}");
        std::thread::sleep(Duration::from_millis(30));
    }
    let held_attempts_then = attempts.lock().unwrap()[&held];
    for _ in 0..10 {
        let got = check_commit_never_passes_unfinished(&group, &topic, 2, &done);
        assert_eq!(
            got,
            [Some(100), Some(200)],
            "nothing passes the retrying 0@100"
        );
        samples += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    // Everything above the gap finishes (flaky ones after two retries): the metadata committed
    // with offset 100 must come to list exactly 101..200.
    wait_until(LONG, "metadata listing 101..200 as finished", || {
        check_commit_never_passes_unfinished(&group, &topic, 2, &done);
        let (off, metadata) = committed(&bootstrap, &group, &topic, 2).remove(0);
        assert_eq!(off, Some(100), "nothing passes the retrying 0@100");
        let above = burrow::offset_metadata::decode(100, &metadata).expect("Burrow's metadata");
        samples += 1;
        above.iter().collect::<Vec<_>>() == (101..200).collect::<Vec<_>>()
    });
    assert!(
        attempts.lock().unwrap()[&held] > held_attempts_then,
        "0@100 kept being retried while the commit waited"
    );
    release.store(true, Ordering::SeqCst);
    wait_committed(&bootstrap, &group, &topic, &[200, 200], LONG);
    check_commit_never_passes_unfinished(&group, &topic, 2, &done);
    running.stop().unwrap();

    let attempts = attempts.lock().unwrap();
    assert_eq!(attempts.len(), 400, "every message attempted");
    for (&(p, o), &n) in attempts.iter() {
        if (p, o) == held {
            assert!(n >= 5, "0@100 retried until released ({n} attempts)");
        } else if flaky(o) {
            assert_eq!(n, 3, "{p}@{o}: two failures then success");
        } else {
            assert_eq!(n, 1, "{p}@{o}: processed once");
        }
    }
    eprintln!(
        "retry: {samples} broker samples, committed never passed an unfinished message; 0@100 took {} attempts",
        attempts[&held]
    );
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn halt_policy_stops_commits_at_the_first_failure_and_a_restart_resumes_there() {
    halt_then_restart(GroupProtocol::Classic);
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn halt_policy_stops_commits_at_the_first_failure_and_a_restart_resumes_there_consumer_protocol() {
    halt_then_restart(GroupProtocol::Consumer);
}

fn halt_then_restart(protocol: GroupProtocol) {
    init_logs();
    let bootstrap = real_bootstrap();
    let (topic, group) = (unique_real("halt"), unique_real("g"));
    create_topic(&bootstrap, &topic, 1, &[]);
    produce(&bootstrap, &topic, 1, 100, |_| None);
    let cfg = config_protocol(
        protocol,
        &group,
        &[
            ("burrow.workers", "4"),
            ("burrow.on.failure", "halt"),
            ("burrow.max.retries", "1"),
            ("burrow.max.consecutive.errors", "3"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let done: Arc<Mutex<HashSet<(i32, i64)>>> = Arc::default();
    let d = done.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            if m.offset() >= 60 {
                return Outcome::retry("poison");
            }
            d.lock().unwrap().insert((m.partition(), m.offset()));
            Outcome::Done
        })
    });
    match running.join(LONG) {
        // `halt` stops at the first message whose retries are exhausted.
        Err(Error::Halted(why)) => assert!(
            why.kind == burrow::HaltKind::Failed && why.offset >= 60 && why.partition == 0,
            "{why}"
        ),
        other => panic!("expected a halt, got {other:?}"),
    }
    let first_unfinished = (0..)
        .find(|o| !done.lock().unwrap().contains(&(0, *o)))
        .unwrap();
    assert!(first_unfinished <= 60);
    let got = check_commit_never_passes_unfinished(&group, &topic, 1, &done);
    assert_eq!(
        got,
        [Some(first_unfinished)],
        "the broker holds exactly the finished prefix"
    );

    // A new pool in the group resumes at the failed message: nothing is lost by the halt.
    let pool = Pool::new(&config_protocol(protocol, &group, &[])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let seen = Seen::default();
    let s = seen.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            s.record(m.partition(), m.offset());
            Outcome::Done
        })
    });
    wait_committed(&bootstrap, &group, &topic, &[100], LONG);
    running.stop().unwrap();
    let again: BTreeSet<i64> = seen.counts().keys().map(|k| k.1).collect();
    assert_eq!(again.first(), Some(&first_unfinished), "resumed at the gap");
    for o in 60..100 {
        assert!(again.contains(&o), "{o} processed after the restart");
    }
    eprintln!(
        "halt ({}): committed {first_unfinished} at the halt; the restart processed {} messages",
        protocol.name(),
        again.len()
    );
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn skip_policy_commits_past_permanent_failures() {
    init_logs();
    let bootstrap = real_bootstrap();
    let (topic, group) = (unique_real("skip"), unique_real("g"));
    create_topic(&bootstrap, &topic, 2, &[]);
    produce(&bootstrap, &topic, 2, 400, |_| None);
    let cfg = config_real(
        &group,
        &[
            ("burrow.workers", "8"),
            ("burrow.on.failure", "skip"),
            ("burrow.max.retries", "2"),
            // Every 20th message fails for good, and their retries come due together: a high
            // limit, so the burst is skipped rather than taken for an outage.
            ("burrow.max.consecutive.errors", "1000"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let attempts: Arc<Mutex<HashMap<(i32, i64), u32>>> = Arc::default();
    let a = attempts.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            *a.lock()
                .unwrap()
                .entry((m.partition(), m.offset()))
                .or_insert(0) += 1;
            match m.offset() % 20 {
                3 => Outcome::fail("poison message"),
                11 => Outcome::retry("always failing"),
                _ => Outcome::Done,
            }
        })
    });
    wait_committed(&bootstrap, &group, &topic, &[200, 200], LONG);
    let stats = running.stats();
    running.stop().unwrap();
    let attempts = attempts.lock().unwrap();
    assert_eq!(attempts.len(), 400);
    for (&(p, o), &n) in attempts.iter() {
        let expected = match o % 20 {
            3 => 1,
            11 => 3,
            _ => 1,
        };
        assert_eq!(n, expected, "{p}@{o} attempts");
    }
    assert_eq!(stats.messages_skipped, 40);
    eprintln!("skip: 40 permanent failures skipped, committed [200, 200]");
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn dead_letter_policy_writes_failures_to_the_dead_letter_topic() {
    init_logs();
    let bootstrap = real_bootstrap();
    let (topic, group, dlq) = (unique_real("dl"), unique_real("g"), unique_real("dlq"));
    create_topic(&bootstrap, &topic, 2, &[]);
    create_topic(&bootstrap, &dlq, 1, &[]);
    produce(&bootstrap, &topic, 2, 400, |i| Some(format!("key{i}")));
    let cfg = config_real(
        &group,
        &[
            ("burrow.workers", "8"),
            ("burrow.on.failure", "dead-letter"),
            ("burrow.dead.letter.topic", &dlq),
            ("burrow.max.retries", "1"),
            ("burrow.max.consecutive.errors", "1000"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, move |p| {
        p.run(move |m| match m.offset() % 20 {
            5 => Outcome::fail("poison message"),
            15 => Outcome::retry("still failing"),
            _ => Outcome::Done,
        })
    });
    wait_committed(&bootstrap, &group, &topic, &[200, 200], LONG);
    running.stop().unwrap();

    let copies = read_topic(&bootstrap, &dlq, 1, "read_committed");
    let mut expected: BTreeSet<(i32, i64)> = BTreeSet::new();
    for p in 0..2 {
        for o in (0..200).filter(|o| o % 20 == 5 || o % 20 == 15) {
            expected.insert((p, o));
        }
    }
    let mut got = BTreeSet::new();
    for r in &copies {
        let h = &r.headers;
        assert_eq!(h["burrow.origin.topic"], topic);
        let (p, o): (i32, i64) = (
            h["burrow.origin.partition"].parse().unwrap(),
            h["burrow.origin.offset"].parse().unwrap(),
        );
        let i = o * 2 + p as i64; // produce() sends message i to partition i % 2
        assert_eq!(r.key.as_deref(), Some(format!("key{i}").as_bytes()));
        assert_eq!(r.value.as_deref(), Some(i.to_string().as_bytes()));
        let (error, attempts) = if o % 20 == 5 {
            ("poison message", "1")
        } else {
            ("still failing", "2")
        };
        assert_eq!(h["burrow.error"], error, "{p}@{o}");
        assert_eq!(h["burrow.attempts"], attempts, "{p}@{o}");
        assert!(got.insert((p, o)), "{p}@{o} dead-lettered twice");
    }
    assert_eq!(
        got, expected,
        "exactly the failed messages are on the dead-letter topic"
    );
    eprintln!(
        "dead-letter: {} copies read back from {dlq}, committed [200, 200]",
        copies.len()
    );
}

/// Like `wait_committed`, but returns what the broker holds instead of panicking when the
/// committed offsets stop short of `expected` (so the caller can collect diagnostics first).
fn wait_committed_or_stall(
    group: &str,
    topic: &str,
    expected: &[i64],
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let got: Vec<i64> = committed(&real_bootstrap(), group, topic, expected.len() as i32)
            .into_iter()
            .map(|(o, _)| o.unwrap_or(-1))
            .collect();
        if got == expected {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "committed offsets {got:?}, end offsets {expected:?} after {timeout:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How a group hands partitions over when a member joins or leaves.
#[derive(Debug, Clone, Copy)]
enum Rebalancing {
    /// Classic protocol, `range`: every member gives up every partition, then all are reassigned.
    Eager,
    /// Classic protocol, `cooperative-sticky`: only the partitions that move are revoked.
    CooperativeSticky,
    /// `group.protocol=consumer`: the broker assigns; only the partitions that move are revoked.
    ConsumerProtocol,
}

impl Rebalancing {
    /// `burrow-consume` arguments selecting it.
    fn cli_args(self) -> Vec<String> {
        let classic = |strategy: &str| {
            let mut args = GroupProtocol::Classic.cli_args();
            args.extend([
                "--set".into(),
                format!("partition.assignment.strategy={strategy}"),
            ]);
            args
        };
        match self {
            Self::Eager => classic("range"),
            Self::CooperativeSticky => classic("cooperative-sticky"),
            Self::ConsumerProtocol => GroupProtocol::Consumer.cli_args(),
        }
    }
}

/// A second consumer process joins mid-stream and later leaves (gracefully); both are
/// `burrow-consume` processes recording every finished message.
fn rebalance_case(rebalancing: Rebalancing) {
    init_logs();
    let bootstrap = real_bootstrap();
    let scratch = ScratchDir::new("rebalance");
    let (topic, group) = (unique_real("rebal"), unique_real("g"));
    const N: usize = 12_000;
    create_topic(&bootstrap, &topic, 4, &[]);
    produce(&bootstrap, &topic, 4, N, |i| Some(format!("k{i}")));
    let ends = end_offsets(&bootstrap, &topic, 4);
    let protocol_args = rebalancing.cli_args();
    let mut args = vec![
        "--work-ms",
        "8",
        "--work-jitter-ms",
        "4",
        "--set",
        "burrow.workers=8",
        "--set",
        "burrow.commit.interval.ms=500",
        "--set",
        "burrow.shutdown.timeout.ms=10000",
        "--log",
        "info",
    ];
    args.extend(protocol_args.iter().map(String::as_str));
    let spawn =
        |name: &str| ConsumerProcess::spawn(&scratch.0, name, &bootstrap, &group, &topic, &args);
    let mut a = spawn("a");
    wait_until(LONG, "A processing", || {
        a.assert_running();
        a.recorded() >= 1000
    });
    let mut b = spawn("b");
    let b_started = b.recorded();
    wait_until(LONG, "B processing its share", || {
        b.assert_running();
        b.recorded() >= b_started + 1500
    });
    let done_when_b_left = a.recorded() + b.recorded();
    let b_stats = b.stop(LONG);
    assert!(
        done_when_b_left < N,
        "B left mid-stream ({done_when_b_left} of {N} done)"
    );
    if let Err(stalled) = wait_committed_or_stall(&group, &topic, &ends, Duration::from_secs(60)) {
        let a_stats = a.stop(LONG);
        panic!(
            "after B left, A did not commit the end: {stalled}\n  A: {a_stats}\n  B: {b_stats}\n  A's log: {}",
            a.stderr_path().display()
        );
    }
    let a_stats = a.stop(LONG);

    let mut records = read_record_file(&a.record);
    let from_a = records.len();
    records.extend(read_record_file(&b.record));
    let (total, distinct, duplicates) = check_at_least_once(&all_offsets(&ends), &records);
    eprintln!(
        "rebalance ({rebalancing:?}): {distinct} messages, {total} processed (A {from_a}, B {}), \
         duplicates {duplicates}\n  A: {a_stats}\n  B: {b_stats}",
        total - from_a
    );
    assert!(
        json_number(&a_stats, "rebalances").unwrap() >= 3,
        "A saw B join and leave: {a_stats}"
    );
    // Revoked partitions are drained and committed — the offset, plus the finished offsets above
    // it in the metadata — before they move, and the drain waits for every in-flight message
    // (work takes ≤ 12 ms, the drain bound is 10 s). So the new owner starts where the old one
    // stopped and skips what it finished. The one exception: when the old owner stops or is
    // revoked, jobs still queued are dropped, while a worker may already have taken one above
    // them; that message finishes, but a partition with nothing committed yet has no base offset
    // to attach it to, so the next owner processes it again. At most one per worker per
    // hand-over, and there are two hand-overs (B joins: A gives up partitions; B leaves).
    let bound = 2 * 8;
    assert!(
        duplicates <= bound,
        "{duplicates} duplicates: a hand-over replayed more than the messages in flight ({bound})"
    );
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn rebalance_eager_second_process_joins_and_leaves() {
    rebalance_case(Rebalancing::Eager);
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn rebalance_cooperative_sticky_second_process_joins_and_leaves() {
    rebalance_case(Rebalancing::CooperativeSticky);
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn rebalance_consumer_protocol_second_process_joins_and_leaves() {
    rebalance_case(Rebalancing::ConsumerProtocol);
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn crash_sigkill_mid_stream_then_restart_loses_nothing() {
    crash_then_restart(GroupProtocol::Classic);
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn crash_sigkill_mid_stream_then_restart_loses_nothing_consumer_protocol() {
    crash_then_restart(GroupProtocol::Consumer);
}

fn crash_then_restart(protocol: GroupProtocol) {
    init_logs();
    let bootstrap = real_bootstrap();
    let scratch = ScratchDir::new("crash");
    let (topic, group) = (unique_real("crash"), unique_real("g"));
    const N: usize = 10_000;
    const WORKERS: usize = 20;
    const BATCH: usize = 500;
    const RESULT_QUEUE: usize = 100;
    create_topic(&bootstrap, &topic, 4, &[]);
    produce(&bootstrap, &topic, 4, N, |i| Some(format!("k{i}")));
    let ends = end_offsets(&bootstrap, &topic, 4);
    let workers = format!("burrow.workers={WORKERS}");
    let batch = format!("burrow.commit.batch.size={BATCH}");
    let results = format!("burrow.result.queue.size={RESULT_QUEUE}");
    let protocol_args = protocol.cli_args();
    let mut args = vec![
        "--work-ms",
        "8",
        "--work-jitter-ms",
        "8",
        "--set",
        &workers,
        "--set",
        &batch,
        "--set",
        &results,
        "--set",
        "burrow.commit.interval.ms=2000",
    ];
    args.extend(protocol_args.iter().map(String::as_str));
    let mut first = ConsumerProcess::spawn(&scratch.0, "first", &bootstrap, &group, &topic, &args);
    // Kill between two batch commits (they fire every BATCH finished messages), so finished
    // but uncommitted work is lost with the process.
    wait_until(LONG, "3250 messages finished", || {
        first.assert_running();
        first.recorded() >= 3000 + BATCH / 2
    });
    first.kill(); // SIGKILL: no drain, no final commit
    let first_records = read_record_file(&first.record);
    assert!(first_records.len() < N, "killed mid-stream");

    // What the broker holds from the killed process: the base offsets and, in the metadata, the
    // finished offsets above them. Nobody commits for the group until the restart.
    let held = committed(&bootstrap, &group, &topic, 4);
    let finished: HashSet<(i32, i64)> = first_records.iter().copied().collect();
    let mut covered: HashSet<(i32, i64)> = HashSet::new();
    let mut from_metadata = 0;
    for (p, (off, metadata)) in held.iter().enumerate() {
        let p = p as i32;
        let off = off.unwrap_or(0);
        covered.extend((0..off).map(|o| (p, o)));
        if !metadata.is_empty() {
            let above = burrow::offset_metadata::decode(off, metadata).expect("Burrow's metadata");
            from_metadata += above.len();
            covered.extend(above.iter().map(|o| (p, o)));
        }
    }
    let not_finished: Vec<_> = covered.difference(&finished).take(10).collect();
    assert!(
        not_finished.is_empty(),
        "the broker holds as done messages the killed process never finished: {not_finished:?}"
    );
    assert!(!covered.is_empty(), "the killed process had committed");

    let mut second =
        ConsumerProcess::spawn(&scratch.0, "second", &bootstrap, &group, &topic, &args);
    wait_committed(&bootstrap, &group, &topic, &ends, LONG);
    let second_stats = second.stop(LONG);
    let second_records = read_record_file(&second.record);
    let replayed_covered: Vec<_> = second_records
        .iter()
        .filter(|k| covered.contains(k))
        .take(10)
        .collect();
    assert!(
        replayed_covered.is_empty(),
        "the restart reprocessed messages the broker held as done: {replayed_covered:?}"
    );
    assert_eq!(
        json_number(&second_stats, "messages_skipped_from_metadata"),
        Some(from_metadata as i64),
        "the restart skipped exactly what the metadata listed: {second_stats}"
    );

    let mut records = first_records.clone();
    records.extend(second_records.iter().copied());
    let (total, distinct, duplicates) = check_at_least_once(&all_offsets(&ends), &records);
    // A duplicate is a message the killed process finished (and recorded) that its last
    // successful commit did not cover. The batch trigger commits — offsets and the finished
    // offsets above them — as soon as `burrow.commit.batch.size` messages finished since the last
    // commit, so fewer than BATCH finished messages were handled and not yet committed; on top of
    // those, finished messages not yet handled by the coordinator wait in the result queue
    // (≤ RESULT_QUEUE) or in a worker blocked on that full queue (≤ WORKERS).
    let bound = BATCH + RESULT_QUEUE + WORKERS;
    eprintln!(
        "crash ({}): {distinct} messages, {total} processed ({} before SIGKILL, {} after), \
         duplicates {duplicates} (bound {bound}); {} finished offsets skipped via commit metadata\n  second: {second_stats}",
        protocol.name(),
        first_records.len(),
        second_records.len(),
        from_metadata
    );
    assert_eq!(
        duplicates,
        finished.difference(&covered).count() + (first_records.len() - finished.len()),
        "duplicates are exactly the finished-but-uncommitted messages"
    );
    assert!(
        duplicates <= bound,
        "{duplicates} duplicates exceed the in-flight bound {bound}"
    );
}

/// Produces with a transactional producer: per partition, a committed transaction, an aborted
/// one, and another committed one, so each partition ends with a commit marker.
fn produce_transactional(bootstrap: &str, topic: &str, partitions: i32) -> BTreeSet<String> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", unique_real("txn"))
        .create()
        .expect("transactional producer");
    let t = Duration::from_secs(30);
    producer.init_transactions(t).expect("init_transactions");
    let mut committed_values = BTreeSet::new();
    let mut i = 0;
    for (count, commit) in [(100, true), (40, false), (60, true)] {
        producer.begin_transaction().expect("begin");
        for _ in 0..count {
            let value = format!("{}-{i}", if commit { "c" } else { "aborted" });
            let record = BaseRecord::to(topic)
                .partition(i % partitions)
                .key(value.as_str())
                .payload(value.as_str());
            producer.send(record).map_err(|(e, _)| e).expect("send");
            producer.poll(Duration::ZERO);
            if commit {
                committed_values.insert(value);
            }
            i += 1;
        }
        if commit {
            producer.commit_transaction(t).expect("commit");
        } else {
            producer.flush(t).expect("flush");
            producer.abort_transaction(t).expect("abort");
        }
    }
    committed_values
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn transactional_topic_commits_reach_the_end_past_control_records() {
    init_logs();
    let bootstrap = real_bootstrap();
    let (topic, group) = (unique_real("txn"), unique_real("g"));
    create_topic(&bootstrap, &topic, 2, &[]);
    let values = produce_transactional(&bootstrap, &topic, 2);
    let ends = end_offsets(&bootstrap, &topic, 2);
    // Per partition: 50 committed, marker, 20 aborted, marker, 30 committed, marker.
    assert_eq!(ends, vec![103, 103]);
    let visible = read_topic(&bootstrap, &topic, 2, "read_committed");
    assert_eq!(visible.len(), 160);

    let pool = Pool::new(&config_real(&group, &[("burrow.workers", "8")])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            s.lock()
                .unwrap()
                .push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            Outcome::Done
        })
    });
    wait_until(LONG, "every committed message processed", || {
        seen.lock().unwrap().len() >= values.len()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = Vec::new();
    while Instant::now() < deadline {
        last = committed(&bootstrap, &group, &topic, 2);
        if last
            .iter()
            .map(|(o, _)| o.unwrap_or(-1))
            .collect::<Vec<_>>()
            == ends
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    running.stop().unwrap();
    let seen = seen.lock().unwrap();
    let got: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), got.len(), "no duplicates");
    assert_eq!(
        got, values,
        "exactly the committed transactions' messages (no aborted ones)"
    );
    let offsets: Vec<i64> = last.iter().map(|(o, _)| o.unwrap_or(-1)).collect();
    assert_eq!(
        offsets,
        ends,
        "committed offsets reach the end offsets although the last records are commit markers \
         (last data record at {}; committed {offsets:?})",
        ends[0] - 2
    );
    eprintln!(
        "transactional: {} messages, committed {offsets:?} = end",
        got.len()
    );
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn compacted_topic_with_holes_commits_reach_the_end() {
    init_logs();
    let bootstrap = real_bootstrap();
    let (topic, group) = (unique_real("compact"), unique_real("g"));
    create_topic(
        &bootstrap,
        &topic,
        2,
        &[
            ("cleanup.policy", "compact"),
            ("segment.ms", "100"),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("min.compaction.lag.ms", "0"),
            ("delete.retention.ms", "100"),
        ],
    );
    // 20 keys per partition rewritten many times, in batches that roll segments.
    let deadline = Instant::now() + LONG;
    let mut rounds = 0;
    let (ends, before) = loop {
        produce(&bootstrap, &topic, 2, 400, |i| Some(format!("k{}", i % 40)));
        rounds += 1;
        std::thread::sleep(Duration::from_millis(300));
        let ends = end_offsets(&bootstrap, &topic, 2);
        let records = read_topic(&bootstrap, &topic, 2, "read_committed");
        let total: i64 = ends.iter().sum();
        if (records.len() as i64) < total / 2 {
            break (ends, records);
        }
        assert!(
            Instant::now() < deadline,
            "the log cleaner never compacted {topic}"
        );
        std::thread::sleep(Duration::from_millis(1500));
    };
    let before: BTreeSet<(i32, i64)> = before.iter().map(|r| (r.partition, r.offset)).collect();
    assert!(
        before.len() < all_offsets(&ends).len(),
        "holes in the offsets"
    );

    let pool = Pool::new(&config_real(&group, &[("burrow.workers", "8")])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let seen = Seen::default();
    let s = seen.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            s.record(m.partition(), m.offset());
            Outcome::Done
        })
    });
    wait_committed(&bootstrap, &group, &topic, &ends, LONG);
    running.stop().unwrap();
    let processed: BTreeSet<(i32, i64)> = seen.counts().keys().copied().collect();
    // Compaction may go on while the pool reads: what survives after it is a subset of what it
    // processed, which is a subset of what was there before.
    let after: BTreeSet<(i32, i64)> = read_topic(&bootstrap, &topic, 2, "read_committed")
        .iter()
        .map(|r| (r.partition, r.offset))
        .collect();
    assert!(
        after.is_subset(&processed),
        "every surviving record processed"
    );
    assert!(processed.is_subset(&before), "nothing invented");
    assert_eq!(seen.len(), processed.len(), "no duplicates");
    eprintln!(
        "compacted: {rounds} produce rounds, end offsets {ends:?}, {} records with holes processed, \
         committed = end",
        processed.len()
    );
}

/// How a static member comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restart {
    /// SIGKILL, then a new process at once: no drain, no final commit, no leave.
    Kill,
    /// Graceful stop (drain, final commit, close), then a new process at once.
    Graceful,
}

/// Two static members (`group.instance.id`) share a topic; one restarts (a new process with the
/// same instance id) well within the session timeout. It gets its partitions back without a
/// rebalance: the other member sees no revocation and no assignment (its rebalance count and its
/// partitions stay the same), nobody else processes the restarted member's partitions, and the
/// restarted member replays exactly what its last commit did not cover.
fn static_member_restart(protocol: GroupProtocol, restart: Restart) {
    init_logs();
    let bootstrap = real_bootstrap();
    let scratch = ScratchDir::new("static");
    let (topic, group) = (unique_real("static"), unique_real("g"));
    const N: usize = 16_000;
    const WORKERS: usize = 8;
    const BATCH: usize = 500;
    const RESULT_QUEUE: usize = 100;
    create_topic(&bootstrap, &topic, 4, &[]);
    produce(&bootstrap, &topic, 4, N, |i| Some(format!("k{i}")));
    let ends = end_offsets(&bootstrap, &topic, 4);
    let settings = [
        format!("burrow.workers={WORKERS}"),
        format!("burrow.commit.batch.size={BATCH}"),
        format!("burrow.result.queue.size={RESULT_QUEUE}"),
        "burrow.commit.interval.ms=2000".to_string(),
        "burrow.shutdown.timeout.ms=10000".to_string(),
    ];
    let spawn = |name: &str, instance: &str| {
        let stats = scratch.0.join(format!("{name}.stats"));
        let mut args: Vec<String> = ["--work-ms", "8", "--work-jitter-ms", "4", "--log", "info"]
            .map(String::from)
            .to_vec();
        for s in &settings {
            args.extend(["--set".to_string(), s.clone()]);
        }
        args.extend(protocol.cli_args());
        args.extend([
            "--set".to_string(),
            format!("group.instance.id={group}-{instance}"),
            "--stats-file".to_string(),
            stats.display().to_string(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let process = ConsumerProcess::spawn(&scratch.0, name, &bootstrap, &group, &topic, &args);
        (process, stats)
    };
    let (mut a, a_stats) = spawn("a", "a");
    let (mut b, b_stats) = spawn("b", "b");
    wait_until(
        LONG,
        "both members holding two partitions and processing",
        || {
            a.assert_running();
            b.assert_running();
            json_partitions(&read_stats_file(&a_stats)).len() == 2
                && json_partitions(&read_stats_file(&b_stats)).len() == 2
                && a.recorded() >= 500
                && b.recorded() >= 500
        },
    );
    let a_before = read_stats_file(&a_stats);
    let a_partitions = json_partitions(&a_before);
    let b_partitions = json_partitions(&read_stats_file(&b_stats));

    let restarted_at = Instant::now();
    match restart {
        Restart::Kill => b.kill(),
        Restart::Graceful => {
            b.stop(LONG);
        }
    }
    // What the broker holds for B's partitions when it is gone: nobody commits them until the
    // new process runs.
    let held = committed(&bootstrap, &group, &topic, 4);
    let (mut b2, b2_stats) = spawn("b2", "b");
    wait_until(LONG, "the restarted member processing", || {
        b2.assert_running();
        // The stats file is rewritten every 100 ms: wait for one written after the assignment.
        b2.recorded() >= 100 && !json_partitions(&read_stats_file(&b2_stats)).is_empty()
    });
    let back_after = restarted_at.elapsed();
    assert_eq!(
        json_partitions(&read_stats_file(&b2_stats)),
        b_partitions,
        "the restarted member got its partitions back"
    );
    wait_committed(&bootstrap, &group, &topic, &ends, LONG);
    let a_after = read_stats_file(&a_stats);
    a.assert_running();
    let a_final = a.stop(LONG);
    let b2_final = b2.stop(LONG);
    assert_eq!(
        json_number(&a_after, "rebalances"),
        json_number(&a_before, "rebalances"),
        "the other member saw no revocation or assignment while B restarted:\n  before: {a_before}\n  after: {a_after}"
    );
    assert_eq!(json_partitions(&a_after), a_partitions);

    let a_records = read_record_file(&a.record);
    let b_records = read_record_file(&b.record);
    let b2_records = read_record_file(&b2.record);
    // Before B's restart both members may have held every partition for a moment (whoever
    // joined first), so only B's partitions of the snapshot are B's to replay.
    let mut covered: HashSet<(i32, i64)> = HashSet::new();
    for &p in &b_partitions {
        let (off, metadata) = &held[p as usize];
        let off = off.unwrap_or(0);
        covered.extend((0..off).map(|o| (p, o)));
        if !metadata.is_empty() {
            let above = burrow::offset_metadata::decode(off, metadata).expect("Burrow's metadata");
            covered.extend(above.iter().map(|o| (p, o)));
        }
    }
    let b_finished: HashSet<(i32, i64)> = b_records
        .iter()
        .copied()
        .filter(|(p, _)| b_partitions.contains(p))
        .collect();
    let uncovered: HashSet<(i32, i64)> = b_finished.difference(&covered).copied().collect();
    let replayed: HashSet<(i32, i64)> = b2_records
        .iter()
        .copied()
        .filter(|r| b_finished.contains(r))
        .collect();

    let mut records = a_records.clone();
    records.extend(b_records.iter().copied());
    records.extend(b2_records.iter().copied());
    let (total, distinct, duplicates) = check_at_least_once(&all_offsets(&ends), &records);
    eprintln!(
        "static member restart ({}, {restart:?}): {distinct} messages, {total} processed \
         (duplicates {duplicates} in all); the restarted member replayed {} messages, B had \
         finished {} that its last commit did not cover; back in {back_after:?}\n  A: {a_final}\n  B2: {b2_final}",
        protocol.name(),
        replayed.len(),
        uncovered.len()
    );
    let b2_distinct: HashSet<(i32, i64)> = b2_records.iter().copied().collect();
    assert_eq!(
        b2_distinct.len(),
        b2_records.len(),
        "B2 processed nothing twice"
    );
    assert_eq!(
        replayed, uncovered,
        "the restart replays exactly what the last commit did not cover"
    );
    if restart == Restart::Graceful {
        assert_eq!(
            duplicates, 0,
            "a graceful stop commits everything it finished"
        );
    }
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn static_member_killed_and_restarted_gets_its_partitions_back_without_a_rebalance() {
    static_member_restart(GroupProtocol::Classic, Restart::Kill);
}

#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn static_member_restarted_gets_its_partitions_back_without_a_rebalance_consumer_protocol() {
    static_member_restart(GroupProtocol::Consumer, Restart::Graceful);
}

/// Under `group.protocol=consumer` the broker keeps a static member that vanished without leaving
/// (SIGKILL) until its session times out, and refuses a new process with the same instance id
/// meanwhile (`UNRELEASED_INSTANCE_ID`, fatal in librdkafka). Burrow must report that as an error
/// and exit — never wait forever — and a process started after the session timeout must resume
/// from the killed one's commit.
#[test]
#[ignore = "needs a real Kafka broker: run scripts/test-real-broker (or scripts/kafka up + BURROW_KAFKA_BOOTSTRAP)"]
fn static_member_killed_is_refused_until_its_session_expires_consumer_protocol() {
    init_logs();
    let bootstrap = real_bootstrap();
    let scratch = ScratchDir::new("static-kill");
    let (topic, group) = (unique_real("static-kill"), unique_real("g"));
    create_topic(&bootstrap, &topic, 2, &[]);
    produce(&bootstrap, &topic, 2, 4000, |i| Some(format!("k{i}")));
    let ends = end_offsets(&bootstrap, &topic, 2);
    let instance = format!("group.instance.id={group}-b");
    let mut args = vec![
        "--work-ms",
        "2",
        "--set",
        "burrow.workers=8",
        "--set",
        "burrow.commit.interval.ms=200",
        "--set",
        &instance,
    ];
    let protocol_args = GroupProtocol::Consumer.cli_args();
    args.extend(protocol_args.iter().map(String::as_str));
    let spawn =
        |name: &str| ConsumerProcess::spawn(&scratch.0, name, &bootstrap, &group, &topic, &args);

    let mut first = spawn("first");
    wait_until(LONG, "the first process working", || {
        first.assert_running();
        first.recorded() >= 500
    });
    first.kill();
    let killed_at = Instant::now();

    let mut early = spawn("early");
    let (status, stats) = early.wait_exit(LONG);
    let refused_after = killed_at.elapsed();
    assert_eq!(
        status.code(),
        Some(1),
        "a fatal error exits with 1: {stats}"
    );
    assert!(
        stats.contains("instance ID is still used"),
        "the error the caller sees names the cause: {stats}"
    );
    assert_eq!(early.recorded(), 0, "the refused process processed nothing");

    // scripts/kafka sets group.consumer.session.timeout.ms=6000.
    std::thread::sleep(Duration::from_secs(8).saturating_sub(killed_at.elapsed()));
    let mut later = spawn("later");
    wait_committed(&bootstrap, &group, &topic, &ends, LONG);
    let later_stats = later.stop(LONG);
    let mut records = read_record_file(&first.record);
    let from_first = records.len();
    records.extend(read_record_file(&later.record));
    let (total, distinct, duplicates) = check_at_least_once(&all_offsets(&ends), &records);
    eprintln!(
        "static member killed ({}): replacement refused after {refused_after:?}; after the session \
         timeout {distinct} messages, {total} processed ({from_first} before SIGKILL), duplicates \
         {duplicates}\n  later: {later_stats}",
        GroupProtocol::Consumer.name()
    );
}
