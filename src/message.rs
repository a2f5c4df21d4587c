//! The message a processor sees: an owned copy of one Kafka record.
//!
//! The key and the value are copied into one allocation (key bytes, then value bytes): the poll
//! thread copies every record, so one allocation per record instead of two matters.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rdkafka::message::{BorrowedMessage, Headers, Message as _};

use crate::buffers;

/// The one copy of a topic name that every message of that topic points to, kept for the life of
/// the process (like librdkafka's own topic handles). A message then names its topic without a
/// reference count: a shared count, updated by the poll thread, the workers and the coordinator
/// for every record, costs more CPU than the rest of the hand-over's bookkeeping. The set grows
/// by one entry per distinct topic name the process ever sees.
pub(crate) fn intern_topic(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(&known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

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
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Interned ([`intern_topic`]).
    topic: &'static str,
    partition: i32,
    offset: i64,
    /// The key's bytes followed by the value's. A heap buffer that does not move with the
    /// `Message` (the C API hands out pointers into it).
    data: Vec<u8>,
    /// Length of the key at the start of `data`; `None` when the record has no key.
    key_len: Option<usize>,
    /// Whether the record has a value (false for a tombstone).
    has_payload: bool,
    headers: Vec<Header>,
    timestamp: Timestamp,
}

/// Key and value in one buffer: a spare one when one fits (without wasting more than half of
/// it), otherwise a new one of the exact size.
fn pack(key: Option<&[u8]>, payload: Option<&[u8]>) -> Vec<u8> {
    let (k, v) = (key.unwrap_or_default(), payload.unwrap_or_default());
    let n = k.len() + v.len();
    let mut data = match buffers::take() {
        Some(mut b) if b.capacity() >= n && b.capacity() / 2 <= n => {
            b.clear();
            b
        }
        _ => Vec::with_capacity(n),
    };
    data.extend_from_slice(k);
    data.extend_from_slice(v);
    data
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("key", &self.key())
            .field("payload", &self.payload())
            .field("headers", &self.headers)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

impl Message {
    /// Builds a message by hand (tests, replays, other front ends).
    pub fn new(
        topic: impl AsRef<str>,
        partition: i32,
        offset: i64,
        key: Option<Vec<u8>>,
        payload: Option<Vec<u8>>,
    ) -> Self {
        Self {
            topic: intern_topic(topic.as_ref()),
            partition,
            offset,
            data: pack(key.as_deref(), payload.as_deref()),
            key_len: key.as_ref().map(Vec::len),
            has_payload: payload.is_some(),
            headers: Vec::new(),
            timestamp: Timestamp::NotAvailable,
        }
    }

    /// Gives the buffer of a message that is done with back for the next records (no one can
    /// still point into it: the message is consumed).
    pub(crate) fn recycle(self) {
        buffers::give(self.data);
    }

    /// An empty message that holds no memory: what a recycled job holds until its next message.
    pub(crate) fn placeholder() -> Self {
        Self {
            topic: "",
            partition: -1,
            offset: -1,
            data: Vec::new(),
            key_len: None,
            has_payload: false,
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
    pub(crate) fn from_kafka(m: &BorrowedMessage<'_>, topic: &'static str) -> Self {
        let headers = match m.headers() {
            None => Vec::new(),
            Some(h) => read_headers(h, m),
        };
        let timestamp = match m.timestamp() {
            rdkafka::Timestamp::NotAvailable => Timestamp::NotAvailable,
            rdkafka::Timestamp::CreateTime(t) => Timestamp::CreateTime(t),
            rdkafka::Timestamp::LogAppendTime(t) => Timestamp::LogAppendTime(t),
        };
        let (key, payload) = (m.key(), m.payload());
        Self {
            topic,
            partition: m.partition(),
            offset: m.offset(),
            data: pack(key, payload),
            key_len: key.map(<[u8]>::len),
            has_payload: payload.is_some(),
            headers,
            timestamp,
        }
    }

    /// Topic name.
    pub fn topic(&self) -> &str {
        self.topic
    }

    /// The topic name, which lives as long as the process ([`intern_topic`]).
    pub(crate) fn topic_static(&self) -> &'static str {
        self.topic
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
        self.key_len.map(|n| &self.data[..n])
    }

    /// Value bytes, if the record is not a tombstone.
    pub fn payload(&self) -> Option<&[u8]> {
        self.has_payload
            .then(|| &self.data[self.key_len.unwrap_or(0)..])
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

/// Copies a record's headers. Header names are untrusted bytes: rdkafka's header accessor
/// panics on a name that is not UTF-8, so each header is read under `catch_unwind`, and one that
/// cannot be read is left out (with a warning) instead of taking the poll thread down.
fn read_headers(h: &rdkafka::message::BorrowedHeaders, m: &BorrowedMessage<'_>) -> Vec<Header> {
    let mut out = Vec::with_capacity(h.count());
    for idx in 0..h.count() {
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            h.try_get(idx).map(|h| Header {
                key: h.key.to_string(),
                value: h.value.map(<[u8]>::to_vec),
            })
        }));
        match read {
            Ok(Some(header)) => out.push(header),
            Ok(None) => {}
            Err(_) => tracing::warn!(
                topic = m.topic(),
                partition = m.partition(),
                offset = m.offset(),
                index = idx,
                "a record header whose name is not UTF-8 was left out"
            ),
        }
    }
    out
}

/// A (topic, partition) pair. Both are part of every key: two topics with the same partition
/// number never share state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_in_a_reused_buffer_holds_only_its_own_bytes() {
        for _ in 0..64 {
            Message::new("t", 0, 1, Some(b"kkkkkkkk".to_vec()), Some(vec![7; 100])).recycle();
        }
        let m = Message::new("t", 0, 2, Some(b"key".to_vec()), Some(vec![1; 60]));
        assert_eq!(m.key(), Some(&b"key"[..]));
        assert_eq!(m.payload(), Some(&[1u8; 60][..]));
        let empty = Message::new("t", 0, 3, None, Some(Vec::new()));
        assert_eq!((empty.key(), empty.payload()), (None, Some(&[][..])));
    }

    #[test]
    fn messages_of_one_topic_share_one_interned_name() {
        let name = String::from("interned-topic");
        let a = Message::new(name.as_str(), 0, 1, None, None);
        let b = Message::new(Arc::<str>::from("interned-topic"), 1, 2, None, None);
        assert_eq!(a.topic(), "interned-topic");
        assert!(std::ptr::eq(a.topic_static(), b.topic_static()));
        assert!(std::ptr::eq(a.topic_static(), intern_topic(&name)));
        assert!(!std::ptr::eq(
            a.topic_static(),
            intern_topic("interned-topic-2")
        ));
    }

    #[test]
    fn key_and_value_share_one_buffer_and_keep_absent_apart_from_empty() {
        let m = Message::new("t", 0, 1, Some(b"key".to_vec()), Some(b"value".to_vec()));
        assert_eq!(m.key(), Some(&b"key"[..]));
        assert_eq!(m.payload(), Some(&b"value"[..]));
        let none = Message::new("t", 0, 2, None, None);
        assert_eq!((none.key(), none.payload()), (None, None));
        let empty = Message::new("t", 0, 3, Some(Vec::new()), Some(Vec::new()));
        assert_eq!(empty.key(), Some(&b""[..]));
        assert_eq!(empty.payload(), Some(&b""[..]));
        let tombstone = Message::new("t", 0, 4, Some(b"k".to_vec()), None);
        assert_eq!(
            (tombstone.key(), tombstone.payload()),
            (Some(&b"k"[..]), None)
        );
        let keyless = Message::new("t", 0, 5, None, Some(b"v".to_vec()));
        assert_eq!((keyless.key(), keyless.payload()), (None, Some(&b"v"[..])));
    }

    #[test]
    fn timestamps_give_their_milliseconds_whatever_the_kind() {
        assert_eq!(Timestamp::NotAvailable.millis(), None);
        assert_eq!(Timestamp::CreateTime(17).millis(), Some(17));
        assert_eq!(Timestamp::LogAppendTime(-1).millis(), Some(-1));
    }

    /// `Debug` shows where the record is from and its key and value split apart (not the shared
    /// buffer).
    #[test]
    fn debug_shows_the_record_not_its_buffer() {
        let m = Message::new("orders", 3, 42, Some(b"k1".to_vec()), Some(b"v1".to_vec()));
        let d = format!("{m:?}");
        for part in [
            "orders",
            "partition: 3",
            "offset: 42",
            "key: Some([107, 49])",
        ] {
            assert!(d.contains(part), "{part:?} missing from {d}");
        }
        assert!(!d.contains("data"), "{d}");
    }
}
