//! Shared by the Rust examples (not an example itself): an in-process Kafka cluster with one
//! topic full of keyed messages, a wait for the pool to commit everything, and the committed
//! offsets as the cluster holds them. The C examples share `examples/c/example_common.h` the same
//! way, the Go examples `bindings/go/examples/internal/demo`.
#![allow(dead_code)] // each example uses part of it

use std::time::{Duration, Instant};

use burrow::Pool;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;

/// Boxed error, enough for examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// librdkafka's embedded mock cluster (no broker, no JVM) holding one topic.
pub struct MockKafka {
    _cluster: MockCluster<'static, DefaultProducerContext>,
    /// `bootstrap.servers` for clients of this cluster.
    pub bootstrap: String,
    /// The topic.
    pub topic: String,
    /// Its partitions.
    pub partitions: i32,
}

impl MockKafka {
    /// Starts a one-broker cluster, creates `topic` and produces `messages` messages whose keys
    /// cycle through `keys` distinct values ("key-0", "key-1", ...) and whose payload is
    /// "message #i".
    pub fn start(
        topic: &str,
        partitions: i32,
        messages: usize,
        keys: usize,
    ) -> Result<Self, BoxError> {
        let cluster = MockCluster::new(1)?;
        cluster.create_topic(topic, partitions, 1)?;
        let bootstrap = cluster.bootstrap_servers();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()?;
        for i in 0..messages {
            let (key, value) = (format!("key-{}", i % keys.max(1)), format!("message #{i}"));
            let mut record = Some(BaseRecord::to(topic).key(&key).payload(&value));
            while let Some(r) = record.take() {
                if let Err((_, r)) = producer.send(r) {
                    producer.poll(Duration::from_millis(5)); // queue full: let it drain
                    record = Some(r);
                }
            }
        }
        producer.flush(Duration::from_secs(30))?;
        Ok(Self {
            _cluster: cluster,
            bootstrap,
            topic: topic.to_string(),
            partitions,
        })
    }

    /// The committed offset of `group` and the end offset of every partition, as the cluster
    /// holds them: `(partition, committed, end)`.
    pub fn committed(&self, group: &str) -> Result<Vec<(i32, Option<i64>, i64)>, BoxError> {
        let reader: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", group)
            .create()?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..self.partitions {
            tpl.add_partition(&self.topic, p);
        }
        let mut out = Vec::new();
        for e in reader
            .committed_offsets(tpl, Duration::from_secs(10))?
            .elements()
        {
            let (_, end) =
                reader.fetch_watermarks(&self.topic, e.partition(), Duration::from_secs(10))?;
            let committed = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            out.push((e.partition(), committed, end));
        }
        Ok(out)
    }

    /// Prints the committed offsets of `group` and fails unless every partition is committed
    /// to its end.
    pub fn check_committed_to_end(&self, group: &str) -> Result<(), BoxError> {
        println!("committed offsets on the cluster (group {group}):");
        let mut behind = 0;
        for (partition, committed, end) in self.committed(group)? {
            let shown = committed.map_or("none".to_string(), |c| c.to_string());
            println!(
                "  {}[{partition}]: committed {shown} / end {end}",
                self.topic
            );
            if committed != Some(end) {
                behind += 1;
            }
        }
        if behind > 0 {
            return Err(format!("{behind} partition(s) not committed to the end").into());
        }
        Ok(())
    }
}

/// Waits until the pool has committed `total` messages' worth of offsets (the sum over its
/// partitions; every example's topic starts at offset 0), or fails after `timeout`.
pub fn wait_committed(pool: &Pool, total: usize, timeout: Duration) -> Result<(), BoxError> {
    let started = Instant::now();
    loop {
        let s = pool.stats();
        let committed: i64 = s.partitions.iter().filter_map(|p| p.committed_offset).sum();
        if committed >= total as i64 {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!("only {committed} of {total} committed after {timeout:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
