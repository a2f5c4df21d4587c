//! # Burrow — a parallel Kafka consumer with gap-safe commits
//!
//! Burrow processes many messages of a partition at once — hundreds or thousands in flight — and
//! commits offsets only up to the first unfinished message, so nothing is lost when work finishes
//! out of order, fails, is retried, or the process dies (at-least-once delivery).
//!
//! ```no_run
//! use burrow::{Config, Outcome, Pool};
//!
//! let mut config = Config::new();
//! config.set("bootstrap.servers", "127.0.0.1:9092")?;
//! config.set("group.id", "billing")?;
//! config.set("burrow.workers", "100")?;
//! let pool = Pool::new(&config)?;
//! pool.subscribe(&["invoices"])?;
//! pool.run(|msg| {
//!     // slow, I/O-bound work here
//!     let _ = msg.payload();
//!     Outcome::Done
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Follow a message through the modules in this order: [`consumer`](crate) (poll thread, rebalance
//! callbacks) → `coordinator` (owns all state) → `dispatcher` (ordering) → `worker` (runs your
//! processor) → `tracker` (per-partition completed prefix) → `commit` (what and when to commit,
//! with `offset_metadata`).
#![warn(missing_docs)]

mod backpressure;
mod commit;
mod config;
mod consumer;
mod coordinator;
mod dead_letter;
mod dispatcher;
mod error;
pub mod ffi;
mod job;
mod message;
mod metrics;
mod metrics_server;
pub mod offset_metadata;
mod outcome;
mod partition;
mod pool;
mod retry;
mod stats;
pub mod tracker;
mod worker;

pub use config::{
    is_secret_key, Config, FailurePolicy, PoolSettings, ProcessingOrder, CONSUMER_DEFAULTS,
};
pub use error::{ConfigError, Error};
pub use message::{Header, Message, Timestamp};
pub use outcome::{Delivery, Outcome};
pub use pool::{Pool, StopHandle};
pub use retry::backoff;
pub use stats::{PartitionStats, Stats};
