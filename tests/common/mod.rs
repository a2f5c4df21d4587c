//! Shared helpers for tests: a Kafka (the embedded mock cluster or the real broker), producing,
//! reading back what the broker holds, and running a pool in the background.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burrow::{Config, Error, Pool, Stats};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;

/// librdkafka's in-process mock cluster.
pub struct MockKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl MockKafka {
    pub fn new() -> Self {
        Self {
            cluster: MockCluster::new(1).expect("mock cluster"),
        }
    }

    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    pub fn topic(&self, name: &str, partitions: i32) {
        self.cluster
            .create_topic(name, partitions, 1)
            .expect("create topic");
    }
}

/// A unique name per test run.
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Produces `n` messages: message i goes to partition `i % partitions` with key `key(i)` and
/// value `i` as text. Waits for every acknowledgement.
pub fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    n: usize,
    key: impl Fn(usize) -> Option<String>,
) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    for i in 0..n {
        let value = i.to_string();
        let k = key(i);
        let mut record = BaseRecord::to(topic)
            .partition((i as i32) % partitions)
            .payload(&value);
        if let Some(k) = k.as_deref() {
            record = record.key(k);
        }
        let mut record = Some(record);
        while let Some(r) = record.take() {
            if let Err((_, r)) = producer.send(r) {
                producer.poll(Duration::from_millis(10));
                record = Some(r);
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// The committed offset and metadata the broker holds for each partition (None: nothing committed).
pub fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<(Option<i64>, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    (0..partitions)
        .map(|p| {
            let e = got.find_partition(topic, p).expect("partition in answer");
            let off = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            (off, e.metadata().to_string())
        })
        .collect()
}

/// Commits `offset` with `metadata` for one partition as another client would.
pub fn commit_as_other_client(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    metadata: &str,
) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    let mut e = tpl.add_partition(topic, partition);
    e.set_offset(Offset::Offset(offset)).unwrap();
    e.set_metadata(metadata);
    consumer
        .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
        .expect("commit");
}

/// End offsets (high watermarks) of each partition.
pub fn end_offsets(bootstrap: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("consumer");
    (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .collect()
}

/// A pool configuration for tests: fast commits, earliest offsets.
pub fn config(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> Config {
    let mut c = Config::new();
    c.set("bootstrap.servers", bootstrap).unwrap();
    c.set("group.id", group).unwrap();
    c.set("auto.offset.reset", "earliest").unwrap();
    c.set("burrow.commit.interval.ms", "100").unwrap();
    c.set("burrow.retry.backoff.ms", "10").unwrap();
    c.set("burrow.shutdown.timeout.ms", "5000").unwrap();
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    c
}

/// Every (partition, offset) a processor saw, in the order attempts finished, with attempt counts.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<(i32, i64)>>>);

impl Seen {
    pub fn record(&self, partition: i32, offset: i64) {
        self.0.lock().unwrap().push((partition, offset));
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn counts(&self) -> HashMap<(i32, i64), usize> {
        let mut m = HashMap::new();
        for k in self.0.lock().unwrap().iter() {
            *m.entry(*k).or_insert(0) += 1;
        }
        m
    }
}

/// A pool running on a background thread.
pub struct Running {
    pub pool: Arc<Pool>,
    handle: Option<JoinHandle<Result<(), Error>>>,
}

impl Running {
    pub fn start(
        pool: Pool,
        run: impl FnOnce(&Pool) -> Result<(), Error> + Send + 'static,
    ) -> Self {
        let pool = Arc::new(pool);
        let p = pool.clone();
        let handle = std::thread::spawn(move || run(&p));
        Self {
            pool,
            handle: Some(handle),
        }
    }

    pub fn stats(&self) -> Stats {
        self.pool.stats()
    }

    /// Stops the pool and returns what `run` returned.
    pub fn stop(mut self) -> Result<(), Error> {
        self.pool.stop();
        self.handle
            .take()
            .unwrap()
            .join()
            .expect("run thread panicked")
    }

    /// Waits for `run` to return by itself (e.g. a halt).
    pub fn join(mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let handle = self.handle.take().unwrap();
        while !handle.is_finished() {
            assert!(
                Instant::now() < deadline,
                "pool did not finish in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        handle.join().expect("run thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.pool.stop();
            let _ = h.join();
        }
    }
}

/// Waits until `cond` holds, panicking with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the broker holds `expected` as the committed offsets of every partition.
pub fn wait_committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    expected: &[i64],
    timeout: Duration,
) {
    let partitions = expected.len() as i32;
    let deadline = Instant::now() + timeout;
    loop {
        let last: Vec<i64> = committed(bootstrap, group, topic, partitions)
            .into_iter()
            .map(|(o, _)| o.unwrap_or(-1))
            .collect();
        if last == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "committed offsets {last:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Installs a log subscriber once, filtered by `BURROW_LOG` (e.g. `BURROW_LOG=burrow=debug`).
pub fn init_logs() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BURROW_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
