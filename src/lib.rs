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
//! Follow a message through the folders in this order: `src/kafka/consumer.rs` (poll thread,
//! rebalance callbacks) → `src/engine/` (`coordinator.rs` moves events into `core.rs`, which makes
//! every decision; `dispatcher.rs` orders; `worker.rs` runs your processor) → `src/offsets/`
//! (`tracker.rs`, the per-partition finished prefix; `commit.rs`, what to commit, with
//! `metadata.rs`) → `src/kafka/committer.rs`. `src/observe/` holds stats and metrics, `src/ffi/`
//! the C API.
#![deny(missing_docs)]

mod buffers;
mod config;
mod engine;
mod error;
pub mod ffi;
mod kafka;
mod message;
mod observe;
mod offsets;
mod outcome;
mod pool;

pub use config::{
    is_secret_key, Config, FailurePolicy, PoolSettings, ProcessingOrder, CONSUMER_DEFAULTS,
};
pub use engine::core::{HaltKind, HaltReason};
pub use engine::retry::backoff;
pub use error::{ConfigError, Error};
pub use message::{Header, Message, Timestamp};
pub use observe::stats::{PartitionStats, Stats};
pub use offsets::metadata as offset_metadata;
pub use offsets::tracker;
pub use outcome::{Delivery, Outcome};
pub use pool::{Pool, StopHandle};
