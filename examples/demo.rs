//! The main demo: Burrow on librdkafka's embedded mock cluster (no broker, no JVM).
//!
//! It creates a 4-partition topic, produces a few thousand messages, and processes them with 200
//! workers whose "work" is simulated I/O (a 20–80 ms sleep, with a few failures that succeed on
//! retry). Watch the progress bar, then the final stats and the committed offsets read back from
//! the cluster: every partition committed to its end.
//!
//! Run: `cargo run --release --example demo` (options: `--messages N`, `--workers N`).
//! Logs: `BURROW_LOG=burrow=info cargo run --release --example demo`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use burrow::{Config, Outcome, Pool};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;

const TOPIC: &str = "orders";
const PARTITIONS: i32 = 4;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BURROW_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let messages = arg("--messages", 5000);
    let workers = arg("--workers", 200);

    // 1. An in-process Kafka cluster with one topic.
    let cluster = MockCluster::new(1)?;
    cluster.create_topic(TOPIC, PARTITIONS, 1)?;
    let bootstrap = cluster.bootstrap_servers();
    println!("mock cluster at {bootstrap}; producing {messages} messages to '{TOPIC}' ({PARTITIONS} partitions)");

    // 2. Produce: keys spread over customers so ordering by key would have work to do.
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    for i in 0..messages {
        let (key, value) = (format!("customer-{}", i % 97), format!("order #{i}"));
        let mut record = Some(BaseRecord::to(TOPIC).key(&key).payload(&value));
        while let Some(r) = record.take() {
            if let Err((_, r)) = producer.send(r) {
                producer.poll(Duration::from_millis(5));
                record = Some(r);
            }
        }
    }
    producer.flush(Duration::from_secs(30))?;

    // 3. The pool: many workers for slow I/O, quick commits so the demo shows them moving.
    let mut config = Config::new();
    config
        .set("bootstrap.servers", &bootstrap)?
        .set("group.id", "burrow-demo")?
        .set("auto.offset.reset", "earliest")?
        .set("burrow.workers", &workers.to_string())?
        .set("burrow.commit.interval.ms", "500")?
        .set("burrow.retry.backoff.ms", "50")?;
    let pool = Arc::new(Pool::new(&config)?);
    pool.subscribe(&[TOPIC])?;

    let runner = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            // `run_deferred` hands the processor a Delivery: the message plus its attempt number
            // (and the option to complete it later, from another thread).
            pool.run_deferred(|delivery| {
                // Simulated I/O: 20–80 ms; one message in 50 times out on its first attempt.
                let n = delivery.message().offset() as u64;
                std::thread::sleep(Duration::from_millis(20 + (n * 7919) % 61));
                if n % 50 == 7 && delivery.attempt() == 1 {
                    return delivery.complete(Outcome::retry("simulated timeout"));
                }
                delivery.complete(Outcome::Done);
            })
        })
    };

    // 4. Progress until every message is processed and committed.
    let bar = ProgressBar::new(messages as u64).with_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} processed · {msg}",
    )?);
    let started = Instant::now();
    loop {
        let s = pool.stats();
        bar.set_position(s.messages_processed);
        let committed: i64 = s.partitions.iter().filter_map(|p| p.committed_offset).sum();
        bar.set_message(format!(
            "{} busy workers, {} in flight, {} retries, committed {committed}",
            s.workers_busy, s.messages_inflight, s.messages_retried
        ));
        if committed >= messages as i64 || started.elapsed() > Duration::from_secs(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish();
    let elapsed = started.elapsed();
    pool.stop();
    runner.join().expect("run thread")?;

    // 5. Final stats, and the committed offsets as the cluster holds them.
    let s = pool.stats();
    println!(
        "\nprocessed {} messages in {:.1?} ({:.0} msg/s) with {} workers; retried {}, failed {}",
        s.messages_processed,
        elapsed,
        s.messages_processed as f64 / elapsed.as_secs_f64(),
        s.workers,
        s.messages_retried,
        s.messages_failed
    );
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "burrow-demo")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(TOPIC, p);
    }
    println!("committed offsets on the cluster (group burrow-demo):");
    for e in reader
        .committed_offsets(tpl, Duration::from_secs(10))?
        .elements()
    {
        let (_, end) = reader.fetch_watermarks(TOPIC, e.partition(), Duration::from_secs(10))?;
        let committed = match e.offset() {
            Offset::Offset(o) => o.to_string(),
            other => format!("{other:?}"),
        };
        println!(
            "  {TOPIC}[{}]: committed {committed} / end {end}",
            e.partition()
        );
    }
    Ok(())
}
