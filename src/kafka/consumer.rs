//! The Kafka side: the librdkafka consumer, its rebalance callbacks and the poll thread.
//!
//! One thread ("burrow-poll") calls `poll` in a loop and forwards what it gets to the coordinator
//! as [`Event`]s: batches of messages, assignments (with the committed offsets and commit metadata
//! read from the broker), revocations and fatal errors. librdkafka runs rebalance callbacks on that
//! thread; a revocation blocks it until the coordinator has drained and committed the revoked
//! partitions (bounded), so their offsets are on the broker before another member takes them.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender};
use rdkafka::bindings::rd_kafka_topic_name;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::engine::backpressure::FetchGate;
use crate::engine::coordinator::Event;
use crate::engine::core::Assigned;
use crate::message::{intern_topic, Message, TopicPartition};

/// The consumer's librdkafka context.
pub(crate) struct BurrowContext {
    events: Sender<Event>,
    /// Set once the pool closes the consumer itself: rebalances are then plain unassigns.
    closing: AtomicBool,
    revoke_wait: Duration,
    watermarks: Mutex<HashMap<(String, i32), i64>>,
    /// Messages polled but not yet forwarded. Only the poll thread touches it (the lock is never
    /// contended); it lives here so a rebalance callback can forward it before its own event and
    /// the coordinator never sees a message after the revocation of its partition.
    pending: Mutex<Vec<Message>>,
}

pub(crate) type KafkaConsumer = BaseConsumer<BurrowContext>;

impl BurrowContext {
    pub fn new(events: Sender<Event>, revoke_wait: Duration) -> Self {
        Self {
            events,
            closing: AtomicBool::new(false),
            revoke_wait,
            watermarks: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::with_capacity(BATCH)),
        }
    }

    /// Queues a polled message; returns how many are pending.
    fn push(&self, m: Message) -> usize {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.push(m);
        pending.len()
    }

    /// Forwards pending messages. Returns false when the coordinator is gone.
    fn flush(&self) -> bool {
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.is_empty() {
                return true;
            }
            std::mem::replace(&mut *pending, Vec::with_capacity(BATCH))
        };
        self.events.send(Event::Messages(batch)).is_ok()
    }

    /// A sender for the poll thread's events.
    pub fn events(&self) -> Sender<Event> {
        self.events.clone()
    }

    pub fn set_closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// The partition's end offset as last reported in librdkafka's statistics.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        let marks = self.watermarks.lock().ok()?;
        marks.get(&(topic.to_string(), partition)).copied()
    }

    fn partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
        tpl.elements()
            .iter()
            .map(|e| TopicPartition {
                topic: Arc::from(e.topic()),
                partition: e.partition(),
            })
            .collect()
    }
}

impl ClientContext for BurrowContext {
    fn stats(&self, statistics: Statistics) {
        let Ok(mut marks) = self.watermarks.lock() else {
            return;
        };
        for (name, topic) in statistics.topics {
            for (id, p) in topic.partitions {
                // The last stable offset is the end a read_committed consumer sees; for
                // non-transactional topics it equals the high watermark.
                let end = if p.ls_offset >= 0 {
                    p.ls_offset
                } else {
                    p.hi_offset
                };
                if id >= 0 && end >= 0 {
                    marks.insert((name.clone(), id), end);
                }
            }
        }
    }
}

impl ConsumerContext for BurrowContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        if self.closing.load(Ordering::SeqCst) {
            return;
        }
        self.flush();
        let partitions = Self::partitions(tpl);
        if consumer.assignment_lost() {
            tracing::warn!(
                count = partitions.len(),
                "partitions lost; dropping their state without commit"
            );
            let _ = self.events.send(Event::Lost(partitions));
            return;
        }
        tracing::info!(
            count = partitions.len(),
            "partitions revoked; draining and committing"
        );
        let (done, wait) = bounded(1);
        if self
            .events
            .send(Event::Revoked { partitions, done })
            .is_ok()
        {
            // The coordinator bounds its own drain by the shutdown timeout; this bound only
            // guards against a coordinator that is gone.
            if wait
                .recv_timeout(self.revoke_wait + Duration::from_secs(10))
                .is_err()
            {
                tracing::warn!("revocation not acknowledged in time; handing partitions over");
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) if !self.closing.load(Ordering::SeqCst) => {
                self.flush();
                // librdkafka keeps a partition's paused flag across a revoke and a new
                // assignment; Burrow's new state starts unpaused, so make librdkafka agree.
                if let Err(e) = consumer.resume(tpl) {
                    tracing::warn!(error = %e, "could not resume newly assigned partitions");
                }
                let assigned = read_committed(consumer, tpl);
                tracing::info!(count = assigned.len(), "partitions assigned");
                let _ = self.events.send(Event::Assigned(assigned));
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
            _ => {}
        }
    }
}

/// Reads the committed offset and metadata of newly assigned partitions.
fn read_committed(consumer: &KafkaConsumer, tpl: &TopicPartitionList) -> Vec<Assigned> {
    let plain = BurrowContext::partitions(tpl);
    let fetched = consumer.committed_offsets(tpl.clone(), Duration::from_secs(10));
    let fetched = match fetched {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = %e, "could not read committed offsets; starting from librdkafka's position");
            return plain
                .into_iter()
                .map(|tp| Assigned {
                    tp,
                    committed: None,
                    metadata: String::new(),
                })
                .collect();
        }
    };
    plain
        .into_iter()
        .map(|tp| {
            let elem = fetched.find_partition(&tp.topic, tp.partition);
            let committed = elem.as_ref().and_then(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(o),
                _ => None,
            });
            let metadata = elem.map(|e| e.metadata().to_string()).unwrap_or_default();
            Assigned {
                tp,
                committed,
                metadata,
            }
        })
        .collect()
}

/// How often the poll thread reports fetch positions.
const POSITIONS_EVERY: Duration = Duration::from_secs(1);

/// The consumer's current fetch positions of its assigned partitions (local, no network).
fn positions(consumer: &KafkaConsumer) -> Option<Vec<(TopicPartition, i64)>> {
    let tpl = consumer.position().ok()?;
    let list: Vec<_> = tpl
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) if o > 0 => Some((
                TopicPartition {
                    topic: Arc::from(e.topic()),
                    partition: e.partition(),
                },
                o,
            )),
            _ => None,
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

/// Largest batch of messages forwarded in one event.
const BATCH: usize = 512;

/// The poll loop. Runs until `stop` is set or the coordinator stops listening.
pub(crate) fn poll_loop(
    consumer: Arc<KafkaConsumer>,
    events: Sender<Event>,
    stop: Arc<AtomicBool>,
    gate: Arc<FetchGate>,
) {
    let ctx = consumer.context().clone();
    let mut last_topic: Option<&'static str> = None;
    let mut pending = 0;
    let mut next_positions = Instant::now() + POSITIONS_EVERY;
    while !stop.load(Ordering::Relaxed) {
        if pending == 0 {
            gate.wait_for_room(&stop);
        }
        let timeout = if pending == 0 {
            Duration::from_millis(100)
        } else {
            Duration::ZERO
        };
        match consumer.poll(timeout) {
            Some(Ok(m)) => {
                // Consecutive messages are mostly of one topic: compare the name's bytes
                // before interning (a lock and a hash); equal bytes are the checked UTF-8 of
                // the last name.
                // SAFETY: a polled message's topic handle is live while the message is, and
                // librdkafka's topic name is a NUL-terminated string owned by that handle.
                let name = unsafe { CStr::from_ptr(rd_kafka_topic_name(m.topic_ptr())) };
                let topic = match last_topic {
                    Some(t) if t.as_bytes() == name.to_bytes() => t,
                    _ => *last_topic.insert(intern_topic(m.topic())),
                };
                gate.polled();
                pending = ctx.push(Message::from_kafka(&m, topic));
                // Forward at once when the gate is full: messages in transit count against it.
                if pending < BATCH && gate.has_room() {
                    continue;
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(e)) => {
                if matches!(e, KafkaError::MessageConsumptionFatal(_)) {
                    ctx.flush();
                    let _ = events.send(Event::Fatal(e));
                    break;
                }
                tracing::warn!(error = %e, "consumer error (librdkafka retries by itself)");
            }
            None => {}
        }
        if !ctx.flush() {
            break;
        }
        pending = 0;
        if Instant::now() >= next_positions {
            next_positions = Instant::now() + POSITIONS_EVERY;
            if let Some(positions) = positions(&consumer) {
                if events.send(Event::Positions(positions)).is_err() {
                    break;
                }
            }
        }
    }
    ctx.flush();
}
