//! The broker side of a run: topics, producing (all at once or open-loop at a rate), and reading
//! back what each consumer group committed.

use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;

/// Runs an admin future to completion on this thread (rdkafka's futures need no runtime).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(50)),
        }
    }
}

fn probe(bootstrap: &str) -> Result<BaseConsumer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| format!("client for {bootstrap}: {e}"))
}

/// Creates a topic through the admin API and waits (bounded) until its metadata shows every partition.
/// Creates a topic; with `append_time`, its records carry the broker's append time
/// (`message.timestamp.type=LogAppendTime`) instead of the producer's creation time.
pub fn create_topic(
    bootstrap: &str,
    name: &str,
    partitions: i32,
    append_time: bool,
) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| e.to_string())?;
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    if append_time {
        topic = topic.set("message.timestamp.type", "LogAppendTime");
    }
    let opts = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(20)))
        .request_timeout(Some(Duration::from_secs(30)));
    for r in block_on(admin.create_topics([&topic], &opts)).map_err(|e| e.to_string())? {
        if let Err((t, code)) = r {
            return Err(format!("could not create topic {t}: {code:?}"));
        }
    }
    let probe = probe(bootstrap)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = probe
            .fetch_metadata(Some(name), Duration::from_secs(5))
            .ok()
            .and_then(|md| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == name)
                    .map(|t| t.error().is_none() && t.partitions().len() == partitions as usize)
            })
            .unwrap_or(false);
        if ok {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "topic {name} did not show {partitions} partitions in 30 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Partition count and total record count (end − start over all partitions) of a topic.
pub fn topic_size(bootstrap: &str, topic: &str) -> Result<(i32, u64), String> {
    let probe = probe(bootstrap)?;
    let md = probe
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .ok_or_else(|| format!("topic {topic} not found"))?;
    let mut total = 0u64;
    for p in t.partitions() {
        let (lo, hi) = probe
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        total += (hi - lo).max(0) as u64;
    }
    Ok((t.partitions().len() as i32, total))
}

/// A producer tuned for throughput (`linger_ms` > 0) or for latency runs (`linger_ms` = 0).
pub struct Producer {
    inner: BaseProducer,
    topic: String,
    partitions: i32,
    payload: Vec<u8>,
    sent: u64,
}

impl Producer {
    pub fn new(
        bootstrap: &str,
        topic: &str,
        partitions: i32,
        size: usize,
        linger_ms: u32,
    ) -> Result<Self, String> {
        let inner: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("linger.ms", linger_ms.to_string())
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "1000000")
            .set("acks", "1")
            .create()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            inner,
            topic: topic.into(),
            partitions,
            payload: vec![b'x'; size],
            sent: 0,
        })
    }

    /// Sends one record (key `i % 1000`, partitions round robin); waits while the local queue is full.
    pub fn send(&mut self) -> Result<(), String> {
        let i = self.sent;
        let key = (i % 1000).to_string();
        let mut record = Some(
            BaseRecord::to(&self.topic)
                .partition((i % self.partitions as u64) as i32)
                .key(&key)
                .payload(&self.payload),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(r) = record.take() {
            if let Err((e, r)) = self.inner.send(r) {
                if Instant::now() >= deadline {
                    return Err(format!("produce: {e}"));
                }
                self.inner.poll(Duration::from_millis(1));
                record = Some(r);
            }
        }
        self.sent += 1;
        if self.sent % 1024 == 0 {
            self.inner.poll(Duration::ZERO);
        }
        Ok(())
    }

    /// Sends one record to every partition.
    pub fn send_one_per_partition(&mut self) -> Result<(), String> {
        for _ in 0..self.partitions {
            self.send()?;
        }
        Ok(())
    }

    pub fn poll(&self) {
        self.inner.poll(Duration::ZERO);
    }

    pub fn flush(&self) -> Result<(), String> {
        self.inner
            .flush(Duration::from_secs(120))
            .map_err(|e| format!("flush: {e}"))
    }
}

/// How many records the group's committed offsets leave unconsumed, summed over the topic's
/// partitions (0 = committed to the end). A partition without a commit counts whole.
pub fn commit_lag(bootstrap: &str, topic: &str, group: &str) -> Result<i64, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    let (partitions, _) = topic_size(bootstrap, topic)?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .map_err(|e| format!("committed offsets of {group}: {e}"))?;
    let mut lag = 0;
    for p in 0..partitions {
        let (lo, hi) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        let at = match committed.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => lo,
        };
        lag += (hi - at).max(0);
    }
    Ok(lag)
}
