//! simple: the smallest complete Burrow consumer.
//!
//! It starts librdkafka's embedded mock cluster, produces 2,000 messages to a 3-partition topic,
//! and processes them with 50 workers, each message taking 5 ms of simulated I/O — far more
//! messages in flight than there are partitions. When everything is committed it stops the pool
//! and prints the committed offsets read back from the cluster: every partition at its end.
//!
//! Run: `cargo run --example simple`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use burrow::{Config, Outcome, Pool};
use common::{wait_committed, BoxError, MockKafka};

const MESSAGES: usize = 2_000;

fn main() -> Result<(), BoxError> {
    // Step 1: a Kafka cluster to read from. With a real broker, skip this and use its address.
    let kafka = MockKafka::start("orders", 3, MESSAGES, 100)?;

    // Step 2: configuration. Keys starting with `burrow.` configure the pool; every other key goes
    // to librdkafka unchanged. Each `set` is validated at once and names the key when refused.
    let mut config = Config::new();
    config
        .set("bootstrap.servers", &kafka.bootstrap)?
        .set("group.id", "simple-example")?
        .set("auto.offset.reset", "earliest")?
        .set("burrow.workers", "50")?
        .set("burrow.commit.interval.ms", "200")?;

    // Step 3: the pool, subscribed through itself so that rebalances are handled.
    let pool = Arc::new(Pool::new(&config)?);
    pool.subscribe(&["orders"])?;

    // Step 4: run the processor. `run` blocks until the pool is stopped (or halts), so it gets a
    // thread of its own here; a service would call it from main and stop it from a signal handler
    // through `pool.stop_handle()`.
    let runner = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            pool.run(|msg| {
                let _order = msg.payload(); // e.g. call a payment service with it
                std::thread::sleep(Duration::from_millis(5));
                Outcome::Done
            })
        })
    };

    // Step 5: stop once every message is committed (a consumer service would run until told to
    // stop). Stopping drains running work, commits what is safe and leaves the group.
    let started = Instant::now();
    wait_committed(&pool, MESSAGES, Duration::from_secs(60))?;
    pool.stop();
    runner.join().expect("the run thread panicked")?;

    let s = pool.stats();
    println!(
        "processed {} messages in {:.1?} with {} workers ({} offset commits)",
        s.messages_processed,
        started.elapsed(),
        s.workers,
        s.offsets_committed
    );
    kafka.check_committed_to_end("simple-example")
}
