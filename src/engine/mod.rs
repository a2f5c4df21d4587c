//! The engine: the coordinator (a pure decision core driven by an I/O loop), dispatch order,
//! retries, per-partition state, jobs, workers and fetch backpressure.

pub(crate) mod backpressure;
pub(crate) mod coordinator;
pub(crate) mod core;
pub(crate) mod dispatcher;
pub(crate) mod job;
pub(crate) mod partition;
pub(crate) mod retry;
#[cfg(test)]
mod sim;
pub(crate) mod worker;
