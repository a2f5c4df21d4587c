//! Observability: counters and stats snapshots, Prometheus metrics, the metrics endpoint.

pub(crate) mod metrics;
pub(crate) mod server;
pub(crate) mod stats;
