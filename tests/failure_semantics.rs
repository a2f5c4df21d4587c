//! Failure, stop and commit semantics on the embedded mock cluster: the pool never stalls
//! silently, never hangs on stop, never reports success when its final commit failed, and keeps
//! its memory within the documented bound. Each test asserts on what the cluster holds.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burrow::{Error, HaltKind, Outcome, Pool};
use common::*;
use rdkafka::types::RDKafkaApiKey;
use rdkafka::types::RDKafkaRespErr;

const LONG: Duration = Duration::from_secs(60);

#[test]
fn halt_stops_the_pool_at_the_first_permanent_failure_with_its_offset() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("halt1"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 200, |_| None);
    // Defaults: burrow.on.failure=halt.
    let pool = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| {
        p.run(|m| {
            if m.offset() == 5 {
                Outcome::fail("poison")
            } else {
                Outcome::Done
            }
        })
    });
    let err = running
        .join(LONG)
        .expect_err("the pool must halt by itself");
    let text = err.to_string();
    assert!(text.contains("[0]@5") && text.contains("poison"), "{text}");
    match err {
        Error::Halted(why) => {
            assert_eq!(why.kind, HaltKind::Failed);
            assert_eq!(
                (why.topic.as_str(), why.partition, why.offset),
                (topic.as_str(), 0, 5)
            );
        }
        other => panic!("expected a halt, got {other:?}"),
    }
    let (off, _) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(
        off,
        Some(5),
        "the commit stops exactly at the failed message"
    );
}

/// `Pool::on_stopping` runs once when a halt begins, while a deferred message is still open, and
/// before `run` returns: a binding can cancel what it still runs (the Go package's ctx).
#[test]
fn on_stopping_runs_once_when_a_halt_begins_and_before_run_returns() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("stopping"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 50, |_| None);
    let pool = Pool::new(&config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.shutdown.timeout.ms", "20000")],
    ))
    .unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Message 3 is held open until the stopping function runs; without it the stop would wait
    // the whole shutdown timeout.
    let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
    {
        let calls = calls.clone();
        pool.on_stopping(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            let _ = release_tx.try_send(());
        })
        .unwrap();
    }
    let started = Instant::now();
    let running = Running::start(pool, move |p| {
        p.run_deferred(move |delivery| match delivery.message().offset() {
            3 => {
                let release = release_rx.clone();
                std::thread::spawn(move || {
                    let _ = release.recv_timeout(Duration::from_secs(60));
                    delivery.complete(Outcome::Done);
                });
            }
            5 => delivery.complete(Outcome::fail("poison")),
            _ => delivery.complete(Outcome::Done),
        })
    });
    let err = running.join(LONG).expect_err("the pool must halt");
    assert!(matches!(err, Error::Halted(_)), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the open message was released by the stopping function, not by the shutdown timeout"
    );
    let (off, _) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(
        off,
        Some(5),
        "the commit stops exactly at the failed message"
    );
}

#[test]
fn halt_never_starts_a_later_message_of_the_failed_key() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("haltkey"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 40, |i| {
        Some(if i % 2 == 0 { "a" } else { "b" }.to_string())
    });
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.workers", "4"),
            ("burrow.ordering", "key"),
            ("burrow.max.retries", "0"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let started: Arc<Mutex<Vec<i64>>> = Arc::default();
    let s = started.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            s.lock().unwrap().push(m.offset());
            std::thread::sleep(Duration::from_millis(5));
            if m.offset() == 10 {
                Outcome::fail("poison")
            } else {
                Outcome::Done
            }
        })
    });
    let _ = running.join(LONG);
    let started = started.lock().unwrap().clone();
    let later_same_key: Vec<i64> = started
        .iter()
        .copied()
        .filter(|&o| o > 10 && o % 2 == 0)
        .collect();
    assert!(
        later_same_key.is_empty(),
        "messages of key \"a\" started after its offset 10 failed: {later_same_key:?}"
    );
    let (off, _) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert!(off.is_some_and(|o| o <= 10), "committed {off:?}");
}

/// Stop while a periodic commit is slow (2.5 s broker round trip), results are waiting and work
/// outlives the shutdown timeout: `run` returns within the shutdown timeout plus commit round
/// trips, never hangs.
#[test]
fn stop_returns_while_a_commit_is_slow_and_results_wait() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("slowstop"), unique("g"));
    kafka.topic(&topic, 2);
    produce(&kafka.bootstrap(), &topic, 2, 400, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.workers", "8"),
            ("burrow.result.queue.size", "1"),
            ("burrow.shutdown.timeout.ms", "300"),
            ("burrow.commit.interval.ms", "50"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let slow = Arc::new(AtomicBool::new(false));
    let sl = slow.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |_| {
            if sl.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1000));
            }
            Outcome::Done
        })
    });
    wait_until(LONG, "some progress", || {
        running.stats().messages_processed >= 50
    });
    kafka
        .cluster()
        .broker_round_trip_time(1, Duration::from_millis(3000))
        .unwrap();
    // Work that outlives the shutdown timeout: its results arrive after the drain, while a
    // periodic commit waits for the slow broker.
    slow.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    running.pool.stop();
    let result = running.join(Duration::from_secs(30));
    let took = t.elapsed();
    eprintln!("stop returned after {took:?}: {result:?}");
    assert!(
        took < Duration::from_secs(30),
        "stop took {took:?} (bound: shutdown 0.3 s + commit timeout 10 s)"
    );
}

/// Reads the CPU ticks (user + system) of this process's thread named `name`.
fn thread_ticks(name: &str) -> Option<u64> {
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = entry.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        return Some(utime + stime);
    }
    None
}

/// While a periodic commit waits for a slow broker, the coordinator sleeps: it does not spin.
#[test]
fn coordinator_does_not_spin_while_a_commit_is_slow() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("spin"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 101, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[("burrow.commit.interval.ms", "20")],
    );
    let pool = Arc::new(Pool::new(&cfg).unwrap());
    pool.subscribe(&[&topic]).unwrap();
    let p = pool.clone();
    let runner = std::thread::Builder::new()
        .name("spin-coord".into())
        .spawn(move || {
            p.run(|m| {
                if m.offset() == 100 {
                    std::thread::sleep(Duration::from_secs(1));
                }
                Outcome::Done
            })
        })
        .unwrap();
    wait_until(LONG, "100 messages processed", || {
        pool.stats().messages_processed >= 100
    });
    // The broker turns slow while the last message is processed: the commit that follows it
    // waits 3 s for its answer.
    kafka
        .cluster()
        .broker_round_trip_time(1, Duration::from_millis(3000))
        .unwrap();
    wait_until(LONG, "the last message processed", || {
        pool.stats().messages_processed >= 101
    });
    std::thread::sleep(Duration::from_millis(200));
    let before = thread_ticks("spin-coord").expect("coordinator thread");
    std::thread::sleep(Duration::from_secs(2));
    let after = thread_ticks("spin-coord").expect("coordinator thread");
    kafka
        .cluster()
        .broker_round_trip_time(1, Duration::ZERO)
        .unwrap();
    pool.stop();
    let _ = runner.join();
    let ticks = after - before;
    eprintln!("coordinator CPU while a commit was slow: {ticks} ticks in 2 s");
    assert!(
        ticks < 40,
        "the coordinator used {ticks} CPU ticks (1/100 s) in 2 s of waiting"
    );
}

/// A final commit the broker refuses makes `run` fail (and is counted), instead of reporting
/// success.
#[test]
fn a_failed_final_commit_is_an_error_not_success() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("finalfail"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 50, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.commit.interval.ms", "600000"),
            ("burrow.commit.batch.size", "1000000"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| p.run(|_| Outcome::Done));
    wait_until(LONG, "everything processed", || {
        running.stats().messages_processed >= 50
    });
    let refused = vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED; 50];
    kafka
        .cluster()
        .request_errors(RDKafkaApiKey::OffsetCommit, &refused);
    let stats = running.pool.clone();
    let result = running.stop();
    let err = result.expect_err("the final commit was refused: run must not return Ok");
    assert!(matches!(err, Error::CommitFailed(_)), "{err:?}");
    assert!(err.to_string().contains("commit"), "{err}");
    assert_eq!(stats.stats().final_commit_failures, 1);
    let (off, _) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(off, None, "nothing was committed");
}

/// A dead-letter topic that keeps refusing copies halts the pool after `burrow.max.retries`
/// retries, with an error that names the dead-letter problem.
#[test]
fn dead_letter_failures_are_bounded_and_halt() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("dlqfail"), unique("g"));
    kafka.topic(&topic, 1);
    kafka.topic("dlq-refusing", 1);
    produce(&kafka.bootstrap(), &topic, 1, 20, |_| None);
    let refused = vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 10_000];
    kafka
        .cluster()
        .request_errors(RDKafkaApiKey::Produce, &refused);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.on.failure", "dead-letter"),
            ("burrow.dead.letter.topic", "dlq-refusing"),
            ("burrow.max.retries", "2"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| {
        p.run(|m| {
            if m.offset() == 7 {
                Outcome::fail("poison")
            } else {
                Outcome::Done
            }
        })
    });
    let stats = running.pool.clone();
    let err = running.join(LONG).expect_err("must halt");
    assert!(err.to_string().contains("dead-letter"), "{err}");
    match &err {
        Error::Halted(why) => {
            assert_eq!(why.kind, HaltKind::DeadLetterFailed);
            assert_eq!(why.offset, 7);
        }
        other => panic!("expected a halt, got {other:?}"),
    }
    assert_eq!(
        stats.stats().dead_letter_failures,
        3,
        "first try + 2 retries"
    );
    kafka.cluster().clear_request_errors(RDKafkaApiKey::Produce);
    let (off, _) = committed(&kafka.bootstrap(), &group, &topic, 1).remove(0);
    assert_eq!(off, Some(7));
}

/// With slow workers, what the pool holds stays within the documented bound: per partition at
/// most `burrow.max.inflight.per.partition + burrow.job.queue.size` unfinished messages.
#[test]
fn backpressure_bounds_messages_in_flight_and_queued() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("bound"), unique("g"));
    let parts = 8;
    kafka.topic(&topic, parts);
    produce(&kafka.bootstrap(), &topic, parts, 4000, |_| None);
    let (cap, queue) = (20usize, 10usize);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.workers", "4"),
            ("burrow.max.inflight.per.partition", "20"),
            ("burrow.job.queue.size", "10"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| {
        p.run(|_| {
            std::thread::sleep(Duration::from_millis(2));
            Outcome::Done
        })
    });
    let mut max_part = 0;
    let mut max_total = 0;
    let mut max_queued = 0;
    let mut by_part: HashMap<i32, usize> = HashMap::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(6) {
        let s = running.stats();
        max_total = max_total.max(s.messages_inflight);
        max_queued = max_queued.max(s.jobs_queued);
        for p in &s.partitions {
            max_part = max_part.max(p.inflight);
            let e = by_part.entry(p.partition).or_default();
            *e = (*e).max(p.inflight);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let processed = running.stats().messages_processed;
    running.stop().unwrap();
    eprintln!(
        "max in flight: {max_part} per partition, {max_total} in all; max queued {max_queued}; {processed} processed"
    );
    assert!(processed > 100, "the pool made progress ({processed})");
    assert!(
        max_part <= cap + queue,
        "a partition held {max_part} unfinished messages (bound {})",
        cap + queue
    );
    let bound = parts as usize * cap + queue;
    assert!(max_total <= bound, "{max_total} in flight (bound {bound})");
    assert!(max_queued <= bound, "{max_queued} queued (bound {bound})");
}
