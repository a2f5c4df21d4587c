//! The message a processor sees: an owned copy of one Kafka record.

use std::sync::Arc;

use rdkafka::message::{BorrowedMessage, Headers, Message as _};

/// When the record was created or appended, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// The record carries no timestamp.
    NotAvailable,
    /// Set by the producer.
    CreateTime(i64),
    /// Set by the broker when it appended the record.
    LogAppendTime(i64),
}

impl Timestamp {
    /// The milliseconds, whichever kind.
    pub fn millis(&self) -> Option<i64> {
        match *self {
            Timestamp::NotAvailable => None,
            Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => Some(t),
        }
    }
}

/// One record header. The value may be null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub key: String,
    /// Header value; `None` for a null value.
    pub value: Option<Vec<u8>>,
}

/// A Kafka record handed to the processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    headers: Vec<Header>,
    timestamp: Timestamp,
}

impl Message {
    /// Builds a message by hand (tests, replays, other front ends).
    pub fn new(
        topic: impl Into<Arc<str>>,
        partition: i32,
        offset: i64,
        key: Option<Vec<u8>>,
        payload: Option<Vec<u8>>,
    ) -> Self {
        Self {
            topic: topic.into(),
            partition,
            offset,
            key,
            payload,
            headers: Vec::new(),
            timestamp: Timestamp::NotAvailable,
        }
    }

    /// Adds headers and a timestamp to a hand-built message.
    pub fn with_headers(mut self, headers: Vec<Header>, timestamp: Timestamp) -> Self {
        self.headers = headers;
        self.timestamp = timestamp;
        self
    }

    /// Copies a record polled from librdkafka; `topic` is the interned topic name.
    pub(crate) fn from_kafka(m: &BorrowedMessage<'_>, topic: Arc<str>) -> Self {
        let headers = match m.headers() {
            None => Vec::new(),
            Some(h) => h
                .iter()
                .map(|h| Header {
                    key: h.key.to_string(),
                    value: h.value.map(<[u8]>::to_vec),
                })
                .collect(),
        };
        let timestamp = match m.timestamp() {
            rdkafka::Timestamp::NotAvailable => Timestamp::NotAvailable,
            rdkafka::Timestamp::CreateTime(t) => Timestamp::CreateTime(t),
            rdkafka::Timestamp::LogAppendTime(t) => Timestamp::LogAppendTime(t),
        };
        Self {
            topic,
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().map(<[u8]>::to_vec),
            headers,
            timestamp,
        }
    }

    /// Topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub(crate) fn topic_arc(&self) -> &Arc<str> {
        &self.topic
    }

    /// Partition number.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Offset within the partition.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Key bytes, if the record has a key.
    pub fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    /// Value bytes, if the record is not a tombstone.
    pub fn payload(&self) -> Option<&[u8]> {
        self.payload.as_deref()
    }

    /// Headers, in record order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Timestamp.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
}

/// A (topic, partition) pair. Both are part of every key: two topics with the same partition
/// number never share state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}
