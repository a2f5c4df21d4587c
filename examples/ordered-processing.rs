//! ordered-processing: messages with the same key never overtake each other.
//!
//! With `burrow.ordering=key`, messages of one key (within a partition) are processed one at a
//! time, in offset order, while different keys run in parallel on all workers. The example
//! processes 1,200 account events (30 accounts, 2 partitions) with 16 workers and uneven work
//! times, and checks two things while it runs: per key, each message starts only after the
//! previous one finished and offsets only grow; and different keys did run at the same time.
//!
//! The trade-offs, from most to least parallel:
//! - `unordered` (the default): any free worker takes the next message; fastest, no order.
//! - `key`: parallelism is bounded by the number of distinct keys with work waiting; a slow or
//!   retrying message holds back the later messages of its key only (a retry keeps its place).
//!   Messages without a key are each their own key.
//! - `partition`: one message at a time per partition, in order — the original Go library's
//!   `EnableOrderedProcessing`; parallelism is bounded by the number of partitions.
//!
//! Run: `cargo run --example ordered-processing`

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burrow::{Config, Outcome, Pool};
use common::{wait_committed, BoxError, MockKafka};

const MESSAGES: usize = 1_200;

/// Per (partition, key): the last offset started, and whether a message is being processed now.
type KeyState = HashMap<(i32, Vec<u8>), (i64, bool)>;

/// What the processor observed.
#[derive(Default)]
struct Observed {
    keys: Mutex<KeyState>,
    violations: AtomicUsize,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

fn main() -> Result<(), BoxError> {
    let kafka = MockKafka::start("account-events", 2, MESSAGES, 30)?;
    let mut config = Config::new();
    config
        .set("bootstrap.servers", &kafka.bootstrap)?
        .set("group.id", "ordered-example")?
        .set("auto.offset.reset", "earliest")?
        .set("burrow.workers", "16")?
        .set("burrow.commit.interval.ms", "200")?
        .set("burrow.ordering", "key")?;
    let pool = Arc::new(Pool::new(&config)?);
    pool.subscribe(&["account-events"])?;

    let seen = Arc::new(Observed::default());
    let runner = {
        let (pool, seen) = (pool.clone(), seen.clone());
        std::thread::spawn(move || {
            pool.run(move |msg| {
                let id = (msg.partition(), msg.key().unwrap_or_default().to_vec());
                {
                    let mut keys = seen.keys.lock().unwrap();
                    let entry = keys.entry(id.clone()).or_insert((-1, false));
                    if entry.1 || entry.0 >= msg.offset() {
                        seen.violations.fetch_add(1, Ordering::Relaxed); // overlap or overtake
                    }
                    *entry = (msg.offset(), true);
                }
                let now = seen.running.fetch_add(1, Ordering::SeqCst) + 1;
                seen.max_running.fetch_max(now, Ordering::SeqCst);
                // Apply the event to the account: 1-6 ms, uneven so that keys could overtake.
                std::thread::sleep(Duration::from_millis(1 + (msg.offset() as u64 * 13) % 6));
                seen.running.fetch_sub(1, Ordering::SeqCst);
                seen.keys.lock().unwrap().get_mut(&id).unwrap().1 = false;
                Outcome::Done
            })
        })
    };
    wait_committed(&pool, MESSAGES, Duration::from_secs(60))?;
    pool.stop();
    runner.join().expect("the run thread panicked")?;

    let violations = seen.violations.load(Ordering::SeqCst);
    let max_running = seen.max_running.load(Ordering::SeqCst);
    println!(
        "processed {} messages of {} (partition, key) pairs; per-key order violations: {violations}; \
         most messages processed at the same time: {max_running}",
        pool.stats().messages_processed,
        seen.keys.lock().unwrap().len(),
    );
    if violations > 0 {
        return Err("a message overtook an earlier one of its key".into());
    }
    if max_running < 2 {
        return Err("different keys should run in parallel".into());
    }
    kafka.check_committed_to_end("ordered-example")
}
