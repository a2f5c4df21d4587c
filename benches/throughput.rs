//! End-to-end throughput on the embedded mock cluster: Burrow with a no-op processor against a
//! bare rdkafka `BaseConsumer` poll loop over the same messages, in the same run.
//!
//! `cargo bench --bench throughput` (options after `--`: `--messages N`, `--workers N`,
//! `--partitions N`, `--timeout SECONDS`). Prints a small report; it asserts nothing about speed.
//! Every wait has a deadline (by default 60 s plus 1 s per 10,000 messages): a run that does not
//! finish in time stops with an error saying how far it got. For the real broker, latency and
//! the C and Go paths, see `burrow-bench` (docs/PERFORMANCE.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use burrow::{Config, Outcome, Pool};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn produce(bootstrap: &str, topic: &str, partitions: i32, n: usize) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .create()
        .unwrap();
    let payload = vec![b'x'; 100];
    for i in 0..n {
        let key = (i % 1000).to_string();
        let mut record = Some(
            BaseRecord::to(topic)
                .partition((i % partitions as usize) as i32)
                .key(&key)
                .payload(&payload),
        );
        while let Some(r) = record.take() {
            if let Err((_, r)) = producer.send(r) {
                producer.poll(Duration::from_millis(1));
                record = Some(r);
            }
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    // Deliveries can fail without an error here (the mock cluster keeps about 100,000 message
    // sets per partition): count what the cluster holds, so no run waits for records that are
    // not there.
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let held: i64 = (0..partitions)
        .map(|p| {
            let (lo, hi) = probe
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks");
            hi - lo
        })
        .sum();
    assert_eq!(
        held as usize, n,
        "the cluster holds {held} of the {n} records produced (try fewer --messages or more --partitions)"
    );
}

/// The deadline of one run.
fn deadline(n: usize) -> Instant {
    let secs = arg("--timeout", 60 + n / 10_000);
    Instant::now() + Duration::from_secs(secs as u64)
}

/// Messages/s of a bare poll loop, timed from the first message to the last.
fn bare(bootstrap: &str, topic: &str, n: usize) -> f64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("bare-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let (mut count, mut bytes, mut first) = (0usize, 0usize, None);
    let until = deadline(n);
    while count < n {
        assert!(
            Instant::now() < until,
            "bare loop: {count} of {n} messages before the deadline"
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            first.get_or_insert_with(Instant::now);
            bytes += rdkafka::Message::payload(&m).map_or(0, <[u8]>::len);
            count += 1;
        }
    }
    std::hint::black_box(bytes);
    n as f64 / first.unwrap().elapsed().as_secs_f64()
}

/// Messages/s through a Burrow pool with a no-op processor, first message to last.
fn burrow_run(bootstrap: &str, topic: &str, n: usize, workers: usize, metrics: bool) -> f64 {
    let mut config = Config::new();
    config
        .set("bootstrap.servers", bootstrap)
        .unwrap()
        .set(
            "group.id",
            &format!("burrow-{}-{metrics}", std::process::id()),
        )
        .unwrap()
        .set("auto.offset.reset", "earliest")
        .unwrap()
        .set("burrow.workers", &workers.to_string())
        .unwrap()
        .set("burrow.metrics", if metrics { "true" } else { "false" })
        .unwrap();
    // Extra keys for experiments: BENCH_CONFIG="key=value,key=value".
    for kv in std::env::var("BENCH_CONFIG")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        let (k, v) = kv.split_once('=').expect("key=value");
        config.set(k, v).unwrap();
    }
    let pool = Arc::new(Pool::new(&config).unwrap());
    pool.subscribe(&[topic]).unwrap();
    let first: Arc<OnceLock<Instant>> = Arc::default();
    let last: Arc<OnceLock<Instant>> = Arc::default();
    let done = Arc::new(AtomicU64::new(0));
    let runner = {
        let (pool, first, last, done) = (pool.clone(), first.clone(), last.clone(), done.clone());
        std::thread::spawn(move || {
            pool.run(move |m| {
                first.get_or_init(Instant::now);
                std::hint::black_box(m.payload());
                if done.fetch_add(1, Ordering::Relaxed) + 1 == n as u64 {
                    let _ = last.set(Instant::now());
                }
                Outcome::Done
            })
        })
    };
    let until = deadline(n);
    while last.get().is_none() {
        if Instant::now() >= until || runner.is_finished() {
            pool.stop();
            let ended = runner.join().unwrap();
            panic!(
                "burrow: {} of {n} messages before the deadline (run ended with {ended:?})",
                done.load(Ordering::Relaxed)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    pool.stop();
    runner.join().unwrap().unwrap();
    n as f64
        / last
            .get()
            .unwrap()
            .duration_since(*first.get().unwrap())
            .as_secs_f64()
}

fn main() {
    let n = arg("--messages", 500_000);
    let workers = arg("--workers", 4);
    let partitions = arg("--partitions", 4) as i32;
    let cluster = MockCluster::new(1).unwrap();
    let topic = "bench";
    cluster.create_topic(topic, partitions, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let t = Instant::now();
    produce(&bootstrap, topic, partitions, n);
    eprintln!(
        "produced {n} messages of 100 bytes to {partitions} partitions in {:.1?}",
        t.elapsed()
    );

    let bare1 = bare(&bootstrap, topic, n);
    let off = burrow_run(&bootstrap, topic, n, workers, false);
    let on = burrow_run(&bootstrap, topic, n, workers, true);
    let bare2 = bare(&bootstrap, topic, n);
    let bare = (bare1 + bare2) / 2.0;
    println!("end-to-end throughput, mock cluster, {n} messages, {partitions} partitions, no-op processor");
    println!("  bare BaseConsumer poll loop  {bare:>12.0} msg/s  (runs: {bare1:.0}, {bare2:.0})");
    println!(
        "  burrow, {workers} workers, metrics off {off:>10.0} msg/s  ({:.0} % of bare)",
        100.0 * off / bare
    );
    println!(
        "  burrow, {workers} workers, metrics on  {on:>10.0} msg/s  ({:.1} % vs metrics off)",
        100.0 * (on - off) / off
    );
}
