//! deferred: finishing messages later, from an async runtime.
//!
//! `Pool::run_deferred` hands the processor a [`burrow::Delivery`] instead of a message: the
//! processor may return at once and complete the delivery later, from any thread. Here each
//! delivery moves into a task on a tokio runtime that "calls a remote service" (an async sleep
//! of 20–60 ms) and then completes it. A worker thread is busy only for the moment it takes to
//! spawn the task, so 4 workers keep hundreds of messages in flight; the example prints the most
//! messages seen in flight at once.
//!
//! Rules of a delivery: complete it exactly once (`complete` consumes it); a delivery dropped
//! without completing — a cancelled task, a panic — counts as a retriable failure, so a lost
//! task never stalls its partition. Here one message in 100 has its task dropped on its first
//! attempt to show exactly that: it is retried and the topic is still committed to its end.
//!
//! Run: `cargo run --example deferred`

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use burrow::{Config, Outcome, Pool};
use common::{wait_committed, BoxError, MockKafka};

const MESSAGES: usize = 4_000;
const WORKERS: &str = "4";

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()?;
    let kafka = MockKafka::start("requests", 4, MESSAGES, 500)?;

    let mut config = Config::new();
    config
        .set("bootstrap.servers", &kafka.bootstrap)?
        .set("group.id", "deferred-example")?
        .set("auto.offset.reset", "earliest")?
        .set("burrow.workers", WORKERS)?
        .set("burrow.commit.interval.ms", "200")?
        .set("burrow.retry.backoff.ms", "20")?;
    let pool = Arc::new(Pool::new(&config)?);
    pool.subscribe(&["requests"])?;

    let in_flight = Arc::new(AtomicUsize::new(0));
    let most_in_flight = Arc::new(AtomicUsize::new(0));
    let runner = {
        let pool = pool.clone();
        let handle = runtime.handle().clone();
        let (in_flight, most_in_flight) = (in_flight.clone(), most_in_flight.clone());
        std::thread::spawn(move || {
            pool.run_deferred(move |delivery| {
                let now = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                most_in_flight.fetch_max(now, Ordering::Relaxed);
                let in_flight = in_flight.clone();
                // Returns at once; the task owns the delivery from here on.
                handle.spawn(async move {
                    let offset = delivery.message().offset() as u64;
                    tokio::time::sleep(Duration::from_millis(20 + offset * 7 % 41)).await;
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                    if offset % 100 == 42 && delivery.attempt() == 1 {
                        drop(delivery); // a lost task: counts as a retriable failure
                        return;
                    }
                    delivery.complete(Outcome::Done);
                });
            })
        })
    };
    wait_committed(&pool, MESSAGES, Duration::from_secs(60))?;
    pool.stop();
    runner.join().expect("the run thread panicked")?;

    let s = pool.stats();
    let most = most_in_flight.load(Ordering::Relaxed);
    println!(
        "processed {} messages with {WORKERS} workers; at most {most} in flight at once; \
         {} retried after their delivery was dropped",
        s.messages_processed, s.messages_retried
    );
    if most <= WORKERS.parse::<usize>()? || s.messages_retried == 0 {
        return Err("expected more messages in flight than workers, and retries".into());
    }
    kafka.check_committed_to_end("deferred-example")
}
