//! Error types of the public API.

use std::fmt;

/// An invalid configuration key or value. The message names the key, the value (redacted for
/// secrets) and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    key: String,
    value: String,
    reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: &str, value: &str, reason: &str) -> Self {
        Self {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The offending key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is allowed, or why the value was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "invalid configuration {}: {}", self.key, self.reason)
        } else {
            write!(
                f,
                "invalid value \"{}\" for {}: {}",
                self.value, self.key, self.reason
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// Errors returned by the pool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// librdkafka reported an error (creating the client, subscribing, or a fatal consumer error).
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The pool stopped itself because of its failure policy: under `burrow.on.failure=halt` the
    /// first message that failed permanently; under `skip` / `dead-letter`,
    /// `burrow.max.consecutive.errors` permanent failures in a row or a dead-letter topic that
    /// keeps refusing copies. The reason names topic, partition, offset and cause; the
    /// partition's committed offset is that message's offset.
    #[error("pool halted: {0}")]
    Halted(crate::engine::core::HaltReason),
    /// The run ended (stopped or after a fatal error) but its final offset commit failed: work
    /// finished since the last successful commit will be processed again.
    #[error("final offset commit failed: {0}")]
    CommitFailed(String),
    /// `run` was called while the pool is running or after it has finished.
    #[error("the pool has already been run; a pool runs once")]
    AlreadyRun,
    /// The pool has finished and its consumer is closed.
    #[error("the pool is closed")]
    Closed,
    /// A thread could not be started.
    #[error("could not start a thread: {0}")]
    Thread(String),
    /// The metrics HTTP server could not start (e.g. the address is in use).
    #[error("metrics server on {addr}: {reason}")]
    Metrics {
        /// The configured `burrow.metrics.addr`.
        addr: String,
        /// Why it failed.
        reason: String,
    },
}
