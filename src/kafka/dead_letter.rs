//! The dead-letter producer: copies a permanently failed message to `burrow.dead.letter.topic`.
//!
//! The copy keeps the key, value and headers and adds `burrow.origin.topic`,
//! `burrow.origin.partition`, `burrow.origin.offset`, `burrow.error` and `burrow.attempts`.
//! Production is asynchronous (idempotent, `acks=all`); the broker's acknowledgement comes back to
//! the coordinator as a report, and only then is the original message treated as finished.

use crossbeam_channel::Sender;
use rdkafka::client::ClientContext;
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, ProducerContext, ThreadedProducer};

use crate::config::Config;
use crate::engine::job::{Job, Report};
use crate::error::Error;

struct DeadLetterContext {
    reports: Sender<Report>,
}

impl ClientContext for DeadLetterContext {}

impl ProducerContext for DeadLetterContext {
    type DeliveryOpaque = Box<Job>;

    fn delivery(&self, result: &DeliveryResult<'_>, job: Box<Job>) {
        let result = result.as_ref().map(|_| ()).map_err(|(e, _)| e.to_string());
        let _ = self
            .reports
            .send(Report::DeadLettered { job: *job, result });
    }
}

/// Producer of dead-letter copies.
pub(crate) struct DeadLetter {
    producer: ThreadedProducer<DeadLetterContext>,
    topic: String,
}

impl DeadLetter {
    pub fn new(config: &Config, topic: &str, reports: Sender<Report>) -> Result<Self, Error> {
        let producer = config
            .producer_config()
            .create_with_context(DeadLetterContext { reports })?;
        Ok(Self {
            producer,
            topic: topic.to_string(),
        })
    }

    /// Starts producing the copy. On a local refusal (queue full, ...) the job comes back.
    pub fn send(&self, job: Job, error: &str) -> Result<(), Box<(String, Job)>> {
        let msg = &job.msg;
        let mut headers = OwnedHeaders::new_with_capacity(msg.headers().len() + 5);
        for h in msg.headers() {
            headers = headers.insert(Header {
                key: &h.key,
                value: h.value.as_deref(),
            });
        }
        let partition = msg.partition().to_string();
        let offset = msg.offset().to_string();
        let attempts = (job.attempt + 1).to_string();
        headers = headers
            .insert(Header {
                key: "burrow.origin.topic",
                value: Some(msg.topic()),
            })
            .insert(Header {
                key: "burrow.origin.partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "burrow.origin.offset",
                value: Some(&offset),
            })
            .insert(Header {
                key: "burrow.error",
                value: Some(error),
            })
            .insert(Header {
                key: "burrow.attempts",
                value: Some(&attempts),
            });
        let key = msg.key().map(<[u8]>::to_vec);
        let payload = msg.payload().map(<[u8]>::to_vec);
        let mut record = BaseRecord::with_opaque_to(&self.topic, Box::new(job)).headers(headers);
        if let Some(k) = key.as_deref() {
            record = record.key(k);
        }
        if let Some(p) = payload.as_deref() {
            record = record.payload(p);
        }
        self.producer
            .send(record)
            .map_err(|(e, record)| Box::new((e.to_string(), *record.delivery_opaque)))
    }
}
