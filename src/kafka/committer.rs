//! The committer thread: performs the commits the coordinator core plans, one at a time and in
//! the order they were requested, and answers per partition.
//!
//! It owns no decision: the core decides what and when, keeps one request in flight, bounds the
//! wait for the answer (`burrow.commit.timeout.ms`) and matches answers to requests by id. The
//! answers go back on their own unbounded channel, so the committer never blocks on a busy
//! coordinator (and a stopping coordinator never waits for the committer to exit).
//!
//! Requests are served in order on one thread, so a commit can never overtake an earlier one and
//! move a partition's committed offset backwards on the broker.

use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;

use crate::error::Error;
use crate::kafka::consumer::KafkaConsumer;
use crate::offsets::commit::{CommitAnswer, CommitError, CommitPart, CommitRequest, PartAnswer};

/// The handle the coordinator keeps: send requests, receive answers.
pub(crate) struct Committer {
    pub requests: Sender<CommitRequest>,
    pub answers: Receiver<CommitAnswer>,
}

impl Committer {
    /// Starts the thread. It ends when `requests` is dropped (after the request it is serving).
    pub fn start(consumer: Arc<KafkaConsumer>) -> Result<Self, Error> {
        let (requests, incoming) = unbounded::<CommitRequest>();
        let (answer_tx, answers) = unbounded::<CommitAnswer>();
        std::thread::Builder::new()
            .name("burrow-commit".into())
            .spawn(move || {
                for request in incoming {
                    let parts = commit_parts(&consumer, &request.parts);
                    if answer_tx
                        .send(CommitAnswer {
                            id: request.id,
                            parts,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            })
            .map_err(|e| Error::Thread(e.to_string()))?;
        Ok(Self { requests, answers })
    }
}

/// Commits `parts` and tells how each partition fared.
///
/// One request for all partitions; when it is refused and covers several partitions, each is
/// committed on its own so one partition's error (a revoked partition, metadata the broker finds
/// too large) does not hold back the others. A partition whose metadata is refused as too large
/// is committed again with the offset alone.
fn commit_parts(consumer: &KafkaConsumer, parts: &[CommitPart]) -> Vec<PartAnswer> {
    match commit(consumer, parts, true) {
        Ok(()) => parts.iter().map(|p| answer(p, Ok(()), false)).collect(),
        Err(e) if parts.len() == 1 => vec![commit_alone(consumer, &parts[0], e)],
        Err(_) => parts
            .iter()
            .map(|p| match commit(consumer, std::slice::from_ref(p), true) {
                Ok(()) => answer(p, Ok(()), false),
                Err(e) => commit_alone(consumer, p, e),
            })
            .collect(),
    }
}

/// The answer for one partition whose commit failed with `e`.
fn commit_alone(consumer: &KafkaConsumer, part: &CommitPart, e: KafkaError) -> PartAnswer {
    if e.rdkafka_error_code() == Some(RDKafkaErrorCode::OffsetMetadataTooLarge)
        && !part.metadata.is_empty()
    {
        let result = commit(consumer, std::slice::from_ref(part), false).map_err(classify);
        return answer(part, result, true);
    }
    answer(part, Err(classify(e)), false)
}

fn answer(part: &CommitPart, result: Result<(), CommitError>, refused: bool) -> PartAnswer {
    PartAnswer {
        tp: part.tp.clone(),
        offset: part.offset,
        result,
        metadata_refused: refused,
    }
}

fn commit(
    consumer: &KafkaConsumer,
    parts: &[CommitPart],
    with_metadata: bool,
) -> Result<(), KafkaError> {
    let mut tpl = TopicPartitionList::with_capacity(parts.len());
    for p in parts {
        let mut elem = tpl.add_partition(&p.tp.topic, p.tp.partition);
        elem.set_offset(Offset::Offset(p.offset))?;
        if with_metadata {
            elem.set_metadata(p.metadata.as_str());
        }
    }
    consumer.commit(&tpl, CommitMode::Sync)
}

/// Whether a commit error is worth another try.
pub(crate) fn classify(e: KafkaError) -> CommitError {
    use RDKafkaErrorCode as C;
    let retriable = matches!(
        e.rdkafka_error_code(),
        Some(
            C::RebalanceInProgress
                | C::IllegalGeneration
                | C::StaleMemberEpoch
                | C::CoordinatorLoadInProgress
                | C::CoordinatorNotAvailable
                | C::NotCoordinator
                | C::RequestTimedOut
                | C::OperationTimedOut
                | C::BrokerTransportFailure
                | C::AllBrokersDown
                | C::NetworkException
        )
    );
    CommitError {
        message: e.to_string(),
        retriable,
    }
}
