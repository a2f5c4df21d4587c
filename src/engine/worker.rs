//! Worker threads: take jobs, run the user's processor, report outcomes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::engine::job::{Job, Report};
use crate::error::Error;
use crate::outcome::Delivery;

/// The processor as the workers hold it: it receives a [`Delivery`] and completes it now or later.
pub(crate) type Processor = Arc<dyn Fn(Delivery) + Send + Sync>;

/// A fixed set of worker threads fed by one bounded job channel.
pub(crate) struct WorkerPool {
    handles: Vec<JoinHandle<()>>,
    exited: Receiver<()>,
}

impl WorkerPool {
    /// Starts `n` workers. They run until the job channel is closed and empty.
    pub fn start(
        n: usize,
        jobs: Receiver<Job>,
        reports: Sender<Report>,
        processor: Processor,
        busy: Arc<AtomicUsize>,
    ) -> Result<Self, Error> {
        let (exit_tx, exited) = crossbeam_channel::bounded(n);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (jobs, reports, processor, busy, exit_tx) = (
                jobs.clone(),
                reports.clone(),
                processor.clone(),
                busy.clone(),
                exit_tx.clone(),
            );
            let handle = std::thread::Builder::new()
                .name(format!("burrow-worker-{i}"))
                .spawn(move || {
                    for job in jobs.iter() {
                        busy.fetch_add(1, Ordering::Relaxed);
                        run_one(&processor, Delivery::new(job, reports.clone()));
                        busy.fetch_sub(1, Ordering::Relaxed);
                    }
                    let _ = exit_tx.send(());
                })
                .map_err(|e| Error::Thread(e.to_string()))?;
            handles.push(handle);
        }
        Ok(Self { handles, exited })
    }

    /// Waits until every worker has exited or `deadline` passes; workers still inside the user's
    /// processor then are left to finish on their own (their late reports are discarded).
    pub fn join(self, deadline: Instant) {
        let mut remaining = self.handles.len();
        while remaining > 0 {
            match self.exited.recv_deadline(deadline) {
                Ok(()) => remaining -= 1,
                Err(_) => break,
            }
        }
        if remaining > 0 {
            tracing::warn!(
                remaining,
                "workers still busy at the shutdown deadline; leaving them detached"
            );
            return;
        }
        for h in self.handles {
            let _ = h.join();
        }
    }
}

/// Runs the processor on one delivery. A panic is caught: the delivery, dropped while unwinding,
/// reports the message as failed.
fn run_one(processor: &Processor, delivery: Delivery) {
    let (topic, partition, offset) = {
        let m = delivery.message();
        (m.topic_arc().clone(), m.partition(), m.offset())
    };
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| processor(delivery))) {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_string());
        tracing::error!(%topic, partition, offset, panic = %what, "processor panicked; the message counts as failed");
    }
}
