//! Test support: librdkafka's in-process mock Kafka cluster, a producer to fill it, and a way to
//! read committed offsets back. For tests, examples and demos without a broker; it lives in the
//! library because the mock cluster of one client is private to the process and librdkafka's own
//! symbols are not exported from libburrow.

use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::{burrow_result, check_null, guard, str_arg, write_out};

/// One header of a record produced with `burrow_mock_cluster_produce`: name as pointer + length,
/// value as pointer + length (`value = NULL` for a null header value).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct burrow_mock_header {
    /// Header name (UTF-8, need not be NUL-terminated).
    pub name: *const c_char,
    /// Length of `name` in bytes.
    pub name_len: usize,
    /// Header value, or NULL for a null value.
    pub value: *const u8,
    /// Length of `value` in bytes.
    pub value_len: usize,
}

/// Counts delivery failures of the mock producer.
#[derive(Default)]
struct Deliveries {
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// TESTING: an in-process mock Kafka cluster (librdkafka's), with a producer to fill it. No broker,
/// no JVM. Groups rebalance at once (no 3 s initial rebalance delay). Known limits: no admin API,
/// about 100,000 message sets per partition.
///
/// Free it (`burrow_mock_cluster_free`) only after every pool connected to it has been freed.
/// Thread safety: all functions may be called from any thread, also concurrently.
pub struct burrow_mock_cluster {
    producer: BaseProducer<Deliveries>,
    bootstrap: CString,
}

impl burrow_mock_cluster {
    fn new(brokers: i32) -> Result<Self, KafkaError> {
        let producer: BaseProducer<Deliveries> = ClientConfig::new()
            .set("test.mock.num.brokers", brokers.to_string())
            .set("linger.ms", "5")
            .create_with_context(Deliveries::default())?;
        let cluster = producer
            .client()
            .mock_cluster()
            .ok_or(KafkaError::MockCluster(RDKafkaErrorCode::Fail))?;
        let bootstrap = CString::new(cluster.bootstrap_servers()).unwrap_or_default();
        drop(cluster);
        // SAFETY: the mock cluster belongs to this live producer handle; the call only sets a
        // number in it.
        unsafe {
            let mc =
                rdkafka::bindings::rd_kafka_handle_mock_cluster(producer.client().native_ptr());
            if !mc.is_null() {
                rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(mc, 0);
            }
        }
        Ok(Self {
            producer,
            bootstrap,
        })
    }
}

/// TESTING: creates a mock cluster with `num_brokers` brokers (1 to 16) and writes it to `*cluster`.
///
/// # Safety
/// `cluster` must be writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_mock_cluster_new(
    num_brokers: i32,
    cluster: *mut *mut burrow_mock_cluster,
) -> burrow_result {
    guard(|| {
        check_null!(cluster);
        if !(1..=16).contains(&num_brokers) {
            return burrow_result::InvalidArgument;
        }
        match burrow_mock_cluster::new(num_brokers) {
            Ok(c) => {
                // SAFETY: non-NULL and writable (caller contract).
                unsafe { write_out(cluster, Box::into_raw(Box::new(c))) };
                burrow_result::Ok
            }
            Err(e) => {
                tracing::error!(error = %e, "mock cluster");
                burrow_result::Kafka
            }
        }
    })
}

/// TESTING: the cluster's `bootstrap.servers` value (NUL-terminated, valid until the cluster is
/// freed), or NULL when `cluster` is NULL.
///
/// # Safety
/// `cluster` must be NULL or a live mock cluster.
#[no_mangle]
pub unsafe extern "C" fn burrow_mock_cluster_bootstrap(
    cluster: *const burrow_mock_cluster,
) -> *const c_char {
    guard(|| {
        if cluster.is_null() {
            return std::ptr::null();
        }
        // SAFETY: non-NULL and live (caller contract).
        unsafe { (*cluster).bootstrap.as_ptr() }
    })
}

/// TESTING: creates a topic with `partitions` partitions (replication factor 1).
///
/// # Safety
/// `cluster` must be a live mock cluster; `topic` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn burrow_mock_cluster_create_topic(
    cluster: *mut burrow_mock_cluster,
    topic: *const c_char,
    partitions: i32,
) -> burrow_result {
    guard(|| {
        check_null!(cluster, topic);
        // SAFETY: NUL-terminated (caller contract).
        let topic = match unsafe { str_arg(topic) } {
            Ok(t) => t,
            Err(r) => return r,
        };
        if partitions < 1 {
            return burrow_result::InvalidArgument;
        }
        // SAFETY: non-NULL and live (caller contract).
        let c = unsafe { &*cluster };
        let Some(mock) = c.producer.client().mock_cluster() else {
            return burrow_result::Kafka;
        };
        match mock.create_topic(topic, partitions, 1) {
            Ok(()) => burrow_result::Ok,
            Err(_) => burrow_result::Kafka,
        }
    })
}

/// TESTING: queues one record for `topic`: partition `partition` (-1: chosen by the key's hash),
/// optional key and value (NULL for none), `headers_len` headers. Returns once queued; call
/// `burrow_mock_cluster_flush` to wait until the cluster has it. The record is timestamped now
/// (create time).
///
/// # Safety
/// `cluster` must be a live mock cluster; `topic` NUL-terminated; `key` / `value` NULL or
/// `key_len` / `value_len` readable bytes; `headers` NULL (with `headers_len` 0) or
/// `headers_len` valid headers.
#[no_mangle]
pub unsafe extern "C" fn burrow_mock_cluster_produce(
    cluster: *mut burrow_mock_cluster,
    topic: *const c_char,
    partition: i32,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    headers: *const burrow_mock_header,
    headers_len: usize,
) -> burrow_result {
    guard(|| {
        check_null!(cluster, topic);
        if headers.is_null() && headers_len > 0 {
            return burrow_result::NullArgument;
        }
        // SAFETY: NUL-terminated (caller contract).
        let topic = match unsafe { str_arg(topic) } {
            Ok(t) => t,
            Err(r) => return r,
        };
        // SAFETY: NULL or key_len / value_len readable bytes (caller contract).
        let (key, value) = unsafe { (bytes(key, key_len), bytes(value, value_len)) };
        let mut owned = OwnedHeaders::new_with_capacity(headers_len);
        if headers_len > 0 {
            // SAFETY: headers points to headers_len headers (caller contract).
            let hs = unsafe { std::slice::from_raw_parts(headers, headers_len) };
            for h in hs {
                // SAFETY: each name / value points to its length in bytes (caller contract).
                let (name, val) = unsafe {
                    (
                        bytes(h.name.cast(), h.name_len),
                        bytes(h.value, h.value_len),
                    )
                };
                let Some(Ok(name)) = name.map(std::str::from_utf8) else {
                    return burrow_result::InvalidArgument;
                };
                owned = owned.insert(Header {
                    key: name,
                    value: val,
                });
            }
        }
        // SAFETY: non-NULL and live (caller contract).
        let c = unsafe { &*cluster };
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).headers(owned);
        if partition >= 0 {
            record = record.partition(partition);
        }
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        let mut record = Some(record);
        while let Some(r) = record.take() {
            match c.producer.send(r) {
                Ok(()) => {}
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    c.producer.poll(Duration::from_millis(10));
                    record = Some(r);
                }
                Err((e, _)) => {
                    tracing::error!(error = %e, "mock produce");
                    return burrow_result::Kafka;
                }
            }
        }
        c.producer.poll(Duration::ZERO);
        burrow_result::Ok
    })
}

/// TESTING: waits (up to `timeout_ms`) until every queued record is acknowledged. Returns
/// `BURROW_RESULT_KAFKA` on timeout or when any record since the last flush failed.
///
/// # Safety
/// `cluster` must be a live mock cluster.
#[no_mangle]
pub unsafe extern "C" fn burrow_mock_cluster_flush(
    cluster: *mut burrow_mock_cluster,
    timeout_ms: i32,
) -> burrow_result {
    guard(|| {
        check_null!(cluster);
        // SAFETY: non-NULL and live (caller contract).
        let c = unsafe { &*cluster };
        let flushed = c
            .producer
            .flush(Duration::from_millis(timeout_ms.max(0) as u64));
        let failed = c.producer.context().failed.swap(0, Ordering::Relaxed);
        if flushed.is_err() || failed > 0 {
            return burrow_result::Kafka;
        }
        burrow_result::Ok
    })
}

/// TESTING: the offset that consumer group `group` has committed for `topic` / `partition`, as the
/// cluster holds it, written to `*offset` (-1 when nothing is committed). Waits up to
/// `timeout_ms` for the answer.
///
/// # Safety
/// `cluster` must be a live mock cluster; `group` and `topic` NUL-terminated; `offset` writable.
#[no_mangle]
pub unsafe extern "C" fn burrow_mock_cluster_committed(
    cluster: *const burrow_mock_cluster,
    group: *const c_char,
    topic: *const c_char,
    partition: i32,
    timeout_ms: i32,
    offset: *mut i64,
) -> burrow_result {
    guard(|| {
        check_null!(cluster, group, topic, offset);
        // SAFETY: NUL-terminated (caller contract).
        let (group, topic) = match unsafe { (str_arg(group), str_arg(topic)) } {
            (Ok(g), Ok(t)) => (g, t),
            (Err(r), _) | (_, Err(r)) => return r,
        };
        // SAFETY: non-NULL and live (caller contract).
        let c = unsafe { &*cluster };
        let consumer: BaseConsumer = match ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap.to_string_lossy())
            .set("group.id", group)
            .create()
        {
            Ok(consumer) => consumer,
            Err(_) => return burrow_result::Kafka,
        };
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        let got = match consumer
            .committed_offsets(tpl, Duration::from_millis(timeout_ms.max(0) as u64))
        {
            Ok(got) => got,
            Err(_) => return burrow_result::Kafka,
        };
        let value = match got.find_partition(topic, partition).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => -1,
        };
        // SAFETY: non-NULL and writable (caller contract).
        unsafe { write_out(offset, value) };
        burrow_result::Ok
    })
}

/// TESTING: destroys the mock cluster (and its producer). NULL does nothing. Free every pool
/// connected to it first. Must not be called twice.
///
/// # Safety
/// `cluster` must be NULL or a live mock cluster.
#[no_mangle]
pub unsafe extern "C" fn burrow_mock_cluster_free(cluster: *mut burrow_mock_cluster) {
    guard(|| {
        if !cluster.is_null() {
            // SAFETY: from Box::into_raw in burrow_mock_cluster_new, freed once (caller contract).
            drop(unsafe { Box::from_raw(cluster) });
        }
    })
}

/// Borrows `len` bytes, or `None` for NULL.
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes that outlive `'a`.
unsafe fn bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if p.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { std::slice::from_raw_parts(p, len) })
    }
}
