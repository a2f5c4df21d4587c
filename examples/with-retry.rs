//! with-retry: retriable and permanent failures, and what the failure policy does with them.
//!
//! Each message stands for an order sent to a payment service:
//! - some time out on their first two attempts ([`Outcome::Retry`]): Burrow retries them after
//!   a backoff (`burrow.retry.backoff.ms × 2^attempt`, capped) without holding a worker while
//!   they wait, and the third attempt succeeds. Until then, the partition's commits stop right
//!   below the retried message;
//! - some are invalid ([`Outcome::Fail`]): retrying cannot help, so the failure policy applies at
//!   once.
//!
//! Part 1 uses `burrow.on.failure=skip` (count the invalid orders, treat them as finished) and
//! ends with every partition committed to its end. Part 2 uses the default policy, `halt`: the
//! first permanent failure stops the pool, `run` returns [`Error::Halted`] naming the message,
//! and that partition's committed offset on the cluster is exactly the failed message's offset,
//! so it is read again by the next consumer of the group.
//!
//! Run: `cargo run --example with-retry`

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use burrow::{Config, Error, Outcome, Pool};
use common::{wait_committed, BoxError, MockKafka};

const MESSAGES: usize = 600;
const TOPIC: &str = "payments";

fn config(kafka: &MockKafka, group: &str) -> Result<Config, BoxError> {
    let mut config = Config::new();
    config
        .set("bootstrap.servers", &kafka.bootstrap)?
        .set("group.id", group)?
        .set("auto.offset.reset", "earliest")?
        .set("burrow.workers", "20")?
        .set("burrow.commit.interval.ms", "200")?
        .set("burrow.max.retries", "3")? // attempts = 1 + retries
        .set("burrow.retry.backoff.ms", "20")?; // 20 ms, 40 ms, 80 ms ... (cap: .max.ms)
    Ok(config)
}

fn main() -> Result<(), BoxError> {
    let kafka = MockKafka::start(TOPIC, 2, MESSAGES, 50)?;
    skip_policy(&kafka)?;
    halt_policy(&kafka)
}

/// Part 1: transient failures retried to success, invalid orders skipped, everything committed.
fn skip_policy(kafka: &MockKafka) -> Result<(), BoxError> {
    println!("== part 1: burrow.on.failure=skip");
    let mut config = config(kafka, "with-retry-skip")?;
    config.set("burrow.on.failure", "skip")?;
    let pool = Arc::new(Pool::new(&config)?);
    pool.subscribe(&[TOPIC])?;

    let shown = Arc::new(AtomicUsize::new(0));
    let runner = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            pool.run_deferred(move |delivery| {
                let msg = delivery.message();
                let (partition, offset) = (msg.partition(), msg.offset());
                let attempt = delivery.attempt(); // 1 = first delivery, 2 = first retry, ...
                std::thread::sleep(Duration::from_millis(2)); // the call to the service
                let outcome = if offset % 50 == 49 {
                    Outcome::fail("invalid order: negative amount")
                } else if offset % 7 == 3 && attempt <= 2 {
                    Outcome::retry("payment service timed out")
                } else {
                    if attempt > 1 && shown.fetch_add(1, Ordering::Relaxed) < 3 {
                        println!("  {TOPIC}[{partition}]@{offset} succeeded on attempt {attempt}");
                    }
                    Outcome::Done
                };
                delivery.complete(outcome);
            })
        })
    };
    wait_committed(&pool, MESSAGES, Duration::from_secs(60))?;
    pool.stop();
    runner.join().expect("the run thread panicked")?;

    let s = pool.stats();
    println!(
        "processed {}, retries {}, failed permanently {} (skipped {})",
        s.messages_processed, s.messages_retried, s.messages_failed, s.messages_skipped
    );
    if s.messages_retried == 0 || s.messages_skipped == 0 {
        return Err("expected retried and skipped messages".into());
    }
    kafka.check_committed_to_end("with-retry-skip")
}

/// Part 2: the default policy halts at the first permanent failure; the commit stops there.
fn halt_policy(kafka: &MockKafka) -> Result<(), BoxError> {
    println!("\n== part 2: burrow.on.failure=halt (the default)");
    const BAD_PARTITION: i32 = 0;
    const BAD_OFFSET: i64 = 50;
    let pool = Arc::new(Pool::new(&config(kafka, "with-retry-halt")?)?);
    pool.subscribe(&[TOPIC])?;

    // A bound for the example: should the pool not halt, stop it after a minute.
    let watchdog = pool.stop_handle();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        watchdog.stop();
    });

    let result = pool.run(|msg| {
        if msg.partition() == BAD_PARTITION && msg.offset() == BAD_OFFSET {
            Outcome::fail("invalid order: unknown currency")
        } else {
            Outcome::Done
        }
    });
    let reason = match result {
        Err(Error::Halted(reason)) => reason,
        other => return Err(format!("expected the pool to halt, got {other:?}").into()),
    };
    println!("run returned: {reason}");

    let committed = kafka
        .committed("with-retry-halt")?
        .into_iter()
        .find(|(p, _, _)| *p == reason.partition)
        .and_then(|(_, committed, _)| committed);
    println!(
        "committed offset of {}[{}] on the cluster: {committed:?} (the failed message: {})",
        reason.topic, reason.partition, reason.offset
    );
    if committed != Some(reason.offset) {
        return Err("the commit should stop exactly at the failed message".into());
    }
    Ok(())
}
