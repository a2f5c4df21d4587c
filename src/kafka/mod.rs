//! The Kafka side: the consumer with its poll thread and rebalance callbacks, the committer
//! thread, and the dead-letter producer.

pub(crate) mod committer;
pub(crate) mod consumer;
pub(crate) mod dead_letter;

use std::sync::Arc;

use crossbeam_channel::Sender;
use rdkafka::consumer::Consumer;
use rdkafka::topic_partition_list::TopicPartitionList;

use crate::engine::coordinator::KafkaSide;
use crate::engine::job::Job;
use crate::message::TopicPartition;
use crate::offsets::commit::CommitRequest;

use consumer::KafkaConsumer;
use dead_letter::DeadLetter;

/// The Kafka side of one running pool: the consumer (pause / resume, end offsets), the committer
/// thread's request queue and the dead-letter producer.
pub(crate) struct Rim {
    pub consumer: Arc<KafkaConsumer>,
    pub commits: Sender<CommitRequest>,
    pub dead_letter: Option<DeadLetter>,
}

impl KafkaSide for Rim {
    fn pause(&self, tp: &TopicPartition, pause: bool) {
        let mut tpl = TopicPartitionList::with_capacity(1);
        tpl.add_partition(&tp.topic, tp.partition);
        let result = if pause {
            self.consumer.pause(&tpl)
        } else {
            self.consumer.resume(&tpl)
        };
        match result {
            Ok(()) => tracing::debug!(topic = %tp.topic, partition = tp.partition, paused = pause,
                "backpressure"),
            Err(e) => tracing::warn!(error = %e, pause, "could not pause/resume partition"),
        }
    }

    fn commit(&self, request: CommitRequest) -> bool {
        self.commits.send(request).is_ok()
    }

    fn dead_letter(&self, job: Job) -> Result<(), Box<(String, Job)>> {
        match &self.dead_letter {
            Some(dl) => {
                let error = job.last_error.clone().unwrap_or_default();
                dl.send(job, &error)
            }
            // Unreachable by configuration validation; never lose the message.
            None => Err(Box::new((
                "no dead-letter producer is configured".to_string(),
                job,
            ))),
        }
    }

    fn end_offset(&self, tp: &TopicPartition) -> Option<i64> {
        self.consumer
            .context()
            .high_watermark(&tp.topic, tp.partition)
    }
}
