//! Talking to the cluster directly (not through Burrow): creating the topic, producing the ids
//! and reading back what the broker holds — end offsets and the group's committed offsets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Message as _};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

/// Runs a future to completion on this thread (the admin client's futures need no runtime).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
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

fn consumer(bootstrap: &str, group: Option<&str>) -> Result<BaseConsumer, String> {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", bootstrap);
    if let Some(g) = group {
        cc.set("group.id", g);
    }
    cc.create()
        .map_err(|e| format!("creating a client for {bootstrap}: {e}"))
}

/// Creates `topic` with `partitions` partitions (replication 1) and waits until its metadata
/// shows every partition.
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| format!("admin client: {e}"))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for r in
        block_on(admin.create_topics([&new], &opts)).map_err(|e| format!("create topic: {e}"))?
    {
        r.map_err(|(t, code)| format!("could not create topic {t}: {code:?}"))?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = consumer(bootstrap, None)?;
    loop {
        if partition_count(&probe, topic) == Some(partitions) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "topic {topic} did not show {partitions} partitions within 30 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn partition_count(c: &BaseConsumer, topic: &str) -> Option<i32> {
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(5)).ok()?;
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    t.error().is_none().then_some(t.partitions().len() as i32)
}

/// The number of partitions of an existing topic.
pub fn partitions_of(bootstrap: &str, topic: &str) -> Result<i32, String> {
    let c = consumer(bootstrap, None)?;
    partition_count(&c, topic)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("topic {topic} not found on {bootstrap}"))
}

/// End offset (high watermark) of every partition.
pub fn end_offsets(bootstrap: &str, topic: &str, partitions: i32) -> Result<Vec<i64>, String> {
    let c = consumer(bootstrap, None)?;
    (0..partitions)
        .map(|p| {
            c.fetch_watermarks(topic, p, Duration::from_secs(10))
                .map(|(_, high)| high)
                .map_err(|e| format!("watermarks of {topic}/{p}: {e}"))
        })
        .collect()
}

/// The group's committed offset of every partition (None: nothing committed).
pub fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Result<Vec<Option<i64>>, String> {
    let c = consumer(bootstrap, Some(group))?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .map_err(|e| format!("committed offsets of {group}: {e}"))?;
    Ok((0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => Some(o),
            _ => None,
        })
        .collect())
}

/// Where each produced id landed, from the producer's delivery reports.
#[derive(Default)]
struct Deliveries {
    /// `(id, partition, offset)` of every acknowledged message.
    acked: Mutex<Vec<(u64, i32, i64)>>,
    /// Ids whose delivery failed: produced again.
    failed: Mutex<Vec<u64>>,
}

struct Tracking(Arc<Deliveries>);

impl ClientContext for Tracking {}

impl ProducerContext for Tracking {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, id: usize) {
        match result {
            Ok(m) => self
                .0
                .acked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((id as u64, m.partition(), m.offset())),
            Err(_) => self
                .0
                .failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(id as u64),
        }
    }
}

/// What the producer thread reports when it is done.
pub struct Produced {
    /// `(id, partition, offset)` of every id, once each (the first acknowledgement).
    pub ids: Vec<(u64, i32, i64)>,
    /// Deliveries that failed and were produced again.
    pub resent: u64,
}

/// Produces ids `0..n` (value `id-<n>`, key `k<n % 64>`) spread evenly over `over`, with an
/// idempotent producer, producing again any id whose delivery fails, until every id is
/// acknowledged or `deadline` passes.
pub fn produce(
    bootstrap: &str,
    topic: &str,
    n: u64,
    over: Duration,
    deadline: Duration,
    stop: &AtomicBool,
) -> Result<Produced, String> {
    let deliveries = Arc::new(Deliveries::default());
    let producer: BaseProducer<Tracking> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .create_with_context(Tracking(deliveries.clone()))
        .map_err(|e| format!("producer: {e}"))?;
    let started = Instant::now();
    let send = |id: u64| {
        let value = format!("id-{id}");
        let key = format!("k{}", id % 64);
        let mut record = Some(
            BaseRecord::with_opaque_to(topic, id as usize)
                .payload(&value)
                .key(&key),
        );
        while let Some(r) = record.take() {
            if let Err((_, r)) = producer.send(r) {
                producer.poll(Duration::from_millis(10));
                record = Some(r);
            }
        }
    };
    let mut resent = 0;
    for id in 0..n {
        if stop.load(Ordering::SeqCst) {
            return Err("stopped".into());
        }
        // Pace: id i is due at i/n of the production time.
        let due = over.mul_f64(id as f64 / n as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            producer.poll(wait.min(Duration::from_millis(50)));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        send(id);
        producer.poll(Duration::ZERO);
    }
    loop {
        let _ = producer.flush(Duration::from_secs(1));
        let failed: Vec<u64> =
            std::mem::take(&mut *deliveries.failed.lock().unwrap_or_else(|e| e.into_inner()));
        if !failed.is_empty() {
            resent += failed.len() as u64;
            for id in failed {
                send(id);
            }
            continue;
        }
        let acked = deliveries
            .acked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len() as u64;
        if acked >= n && producer.in_flight_count() == 0 {
            break;
        }
        if started.elapsed() > deadline {
            return Err(format!(
                "only {acked} of {n} messages acknowledged within {deadline:?}"
            ));
        }
    }
    let mut ids = std::mem::take(&mut *deliveries.acked.lock().unwrap_or_else(|e| e.into_inner()));
    ids.sort_unstable();
    ids.dedup_by_key(|(id, _, _)| *id);
    Ok(Produced { ids, resent })
}
