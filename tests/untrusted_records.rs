//! Records are untrusted input: any producer of the topic writes them. A record Burrow cannot
//! represent faithfully must still never take the consumer down.
//!
//! The Kafka protocol carries header names as bytes, and a librdkafka producer can write any
//! bytes there. rust-rdkafka 0.39 converts each name with `CStr::to_str().unwrap()` when headers
//! are read (`BorrowedHeaders::try_get`), which panics on a name that is not UTF-8. On Burrow's
//! poll thread that was a poison record that stopped its partition for good; Burrow now reads
//! each header under `catch_unwind` and leaves such a header out (`src/message.rs`).

mod common;

use std::time::Duration;

use burrow::Pool;
use common::*;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

/// Produces one record whose only header has the name `name` (raw bytes).
fn produce_with_raw_header_name(bootstrap: &str, topic: &str, name: &[u8], value: &str) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer");
    let headers = OwnedHeaders::new_with_capacity(1);
    // BorrowedHeaders is a zero-sized view whose address is librdkafka's rd_kafka_headers_t.
    let native = headers.as_borrowed() as *const _ as *mut rdkafka::bindings::rd_kafka_headers_t;
    // SAFETY: `native` is the live headers list owned by `headers`; name and value are valid for
    // the given lengths; librdkafka copies both.
    let err = unsafe {
        rdkafka::bindings::rd_kafka_header_add(
            native,
            name.as_ptr().cast(),
            name.len() as isize,
            b"v".as_ptr().cast(),
            1,
        )
    };
    assert_eq!(
        err,
        rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    );
    producer
        .send(
            BaseRecord::<(), str>::to(topic)
                .partition(0)
                .payload(value)
                .headers(headers),
        )
        .map_err(|(e, _)| e)
        .expect("send");
    producer.flush(Duration::from_secs(10)).expect("flush");
}

#[test]
fn a_header_name_that_is_not_utf8_does_not_stop_the_partition() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("badheader"), unique("g"));
    kafka.topic(&topic, 1);
    produce(&kafka.bootstrap(), &topic, 1, 2, |_| None);
    produce_with_raw_header_name(&kafka.bootstrap(), &topic, b"name-\xff\xfe", "poison");
    produce(&kafka.bootstrap(), &topic, 1, 2, |_| None);

    let pool = Pool::new(&config(&kafka.bootstrap(), &group, &[])).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let (running, seen) = run_recording(pool, instant);
    wait_committed(
        &kafka.bootstrap(),
        &group,
        &topic,
        &[5],
        Duration::from_secs(30),
    );
    running.stop().unwrap();
    assert!(
        seen.counts().contains_key(&(0, 2)),
        "the record itself was processed"
    );
}
