//! The public pool: create it from a [`Config`], subscribe, run a processor, stop it from anywhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use rdkafka::consumer::Consumer;

use crate::config::{Config, FailurePolicy, PoolSettings};
use crate::engine::backpressure::FetchGate;
use crate::engine::coordinator::{Channels, Control, Coordinator, Event};
use crate::engine::core::Core;
use crate::engine::job::Report;
use crate::engine::worker::{panic_text, JobQueue, Processor, WorkerPool};
use crate::error::Error;
use crate::kafka::committer::Committer;
use crate::kafka::consumer::{poll_loop, BurrowContext, KafkaConsumer};
use crate::kafka::dead_letter::DeadLetter;
use crate::kafka::Rim;
use crate::message::Message;
use crate::observe::server::MetricsServer;
use crate::observe::stats::{Counters, Stats};
use crate::outcome::{Delivery, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Running,
    Finished,
}

/// A parallel consumer. It runs once: [`Pool::run`] blocks until the pool is stopped or halts.
///
/// `Pool` is `Send + Sync`: share it (e.g. in an `Arc`) to call [`Pool::stats`] or [`Pool::stop`]
/// from other threads while `run` blocks.
pub struct Pool {
    config: Config,
    settings: PoolSettings,
    consumer: Mutex<Option<Arc<KafkaConsumer>>>,
    events: Mutex<Option<Receiver<Event>>>,
    control: Receiver<Control>,
    stop: StopHandle,
    counters: Arc<Counters>,
    phase: Mutex<Phase>,
    /// Set by [`Pool::on_stopping`]; taken by the run.
    on_stopping: Mutex<Option<StoppingFn>>,
    metrics_server: Option<MetricsServer>,
    /// Where [`Pool::take`] takes jobs, during a run without worker threads.
    outlet: Mutex<Outlet>,
    /// Signalled when `outlet` changes.
    outlet_changed: Condvar,
}

/// The job queue of a run without worker threads, as [`Pool::take`] sees it.
enum Outlet {
    /// No run has begun (or it has not queued anything yet).
    Waiting,
    /// A run without worker threads: its queue and what a delivery reports through.
    Open {
        jobs: Arc<JobQueue>,
        reports: Arc<Sender<Report>>,
        timed: bool,
    },
    /// The run uses worker threads: nothing to take.
    Threads,
    /// The run is over.
    Over,
}

/// Who runs the jobs of a run.
enum Runner {
    /// `burrow.workers` threads call the processor.
    Threads(Processor),
    /// No worker threads: the caller takes deliveries with [`Pool::take`].
    External,
}

type StoppingFn = Box<dyn FnOnce() + Send>;

/// The run's stopping function, called at most once from whichever thread gets there first.
type StoppingOnce = Arc<Mutex<Option<StoppingFn>>>;

fn fire_stopping(once: &StoppingOnce) {
    let f = once.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(f) = f {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            tracing::error!(panic = %panic_text(&*panic), "the on_stopping function panicked");
        }
    }
}

/// Stops a pool from any thread, including from inside a processor. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StopHandle {
    requested: Arc<AtomicBool>,
    tx: Sender<Control>,
}

impl StopHandle {
    /// Asks the pool to stop: it stops polling, waits (up to `burrow.shutdown.timeout.ms`) for the
    /// messages being processed, commits what is safe and leaves the group. Returns at once;
    /// calling it again does nothing more.
    pub fn stop(&self) {
        if !self.requested.swap(true, Ordering::SeqCst) {
            let _ = self.tx.send(Control::Stop);
        }
    }

    /// Whether a stop was requested.
    pub fn is_stopped(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

impl Pool {
    /// Creates the pool and its consumer. Fails on invalid configuration (naming the key) or when
    /// librdkafka refuses to create the client.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let settings = config.pool_settings()?;
        let client_config = config.consumer_config()?;
        let (events_tx, events_rx) = bounded(8);
        let context = BurrowContext::new(events_tx, settings.shutdown_timeout);
        let consumer: KafkaConsumer = client_config.create_with_context(context)?;
        let (tx, control) = unbounded();
        let counters = Arc::new(Counters::new(
            settings.metrics || settings.metrics_addr.is_some(),
            settings.workers,
        ));
        let metrics_server = match &settings.metrics_addr {
            Some(addr) => Some(MetricsServer::start(addr, counters.clone())?),
            None => None,
        };
        counters.workers.store(settings.workers, Ordering::Relaxed);
        Ok(Self {
            config: config.clone(),
            settings,
            consumer: Mutex::new(Some(Arc::new(consumer))),
            events: Mutex::new(Some(events_rx)),
            control,
            stop: StopHandle {
                requested: Arc::new(AtomicBool::new(false)),
                tx,
            },
            counters,
            phase: Mutex::new(Phase::Idle),
            on_stopping: Mutex::new(None),
            metrics_server,
            outlet: Mutex::new(Outlet::Waiting),
            outlet_changed: Condvar::new(),
        })
    }

    /// Subscribes to topics through the pool, so its rebalance handling is in place: revoked
    /// partitions are drained and committed before they move, assigned ones resume from the
    /// committed offset and skip what commit metadata records as finished.
    pub fn subscribe(&self, topics: &[&str]) -> Result<(), Error> {
        self.consumer()?.subscribe(topics)?;
        Ok(())
    }

    /// Registers `f`, called once when the run begins to stop, whatever the reason: a stop
    /// request, a halt by the failure policy, a fatal consumer error. From then on no message is
    /// started; running ones have `burrow.shutdown.timeout.ms` to finish. A binding whose
    /// processors finish messages elsewhere (Go goroutines, an async runtime) uses it to stop
    /// handing them work and to bound what still runs.
    ///
    /// `f` runs on the coordinator thread (or on the thread calling `run`, for a run stopped
    /// before it polled), always before `run` returns, and should return quickly: the pool makes
    /// no progress meanwhile. A panic in `f` is logged. A later call replaces the function; once
    /// the run has started, this returns [`Error::AlreadyRun`].
    pub fn on_stopping<F>(&self, f: F) -> Result<(), Error>
    where
        F: FnOnce() + Send + 'static,
    {
        let phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if *phase != Phase::Idle {
            return Err(Error::AlreadyRun);
        }
        *self.on_stopping.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(f));
        Ok(())
    }

    /// Runs `processor` on every message until stopped. The processor runs on `burrow.workers`
    /// threads at once; its [`Outcome`] decides whether the message is done, retried or failed.
    /// A panic counts as a retriable failure.
    pub fn run<F>(&self, processor: F) -> Result<(), Error>
    where
        F: Fn(&Message) -> Outcome + Send + Sync + 'static,
    {
        self.run_deferred(move |delivery: Delivery| {
            let outcome = processor(delivery.message());
            delivery.complete(outcome);
        })
    }

    /// Like [`Pool::run`], but the processor receives a [`Delivery`] it may complete later from
    /// any thread (an async runtime, a callback, a Go goroutine). A delivery dropped without
    /// completing counts as a retriable failure.
    pub fn run_deferred<F>(&self, processor: F) -> Result<(), Error>
    where
        F: Fn(Delivery) + Send + Sync + 'static,
    {
        self.run_with(Runner::Threads(Arc::new(processor)))
    }

    /// Runs the pool without worker threads: the messages are taken, as deliveries, by
    /// [`Pool::take`] calls from other threads (a runtime with its own tasks or goroutines pulls
    /// them in batches instead of receiving each one on a worker thread). Everything else is as
    /// for [`Pool::run_deferred`]: completions may come from any thread, a delivery dropped
    /// without completing counts as a retriable failure, and a stop gives the deliveries taken
    /// `burrow.shutdown.timeout.ms` to complete. `burrow.workers` sets no threads here; it still
    /// sizes the default job queue. The busy-worker figures (`workers_busy`, the worker
    /// utilization metric) stay at 0: the pool does not see the caller's work.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), burrow::Error> {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use burrow::{Config, Outcome, Pool};
    ///
    /// let mut config = Config::new();
    /// config.set("bootstrap.servers", "localhost:9092")?;
    /// config.set("group.id", "orders")?;
    /// let pool = Arc::new(Pool::new(&config)?);
    /// pool.subscribe(&["orders"])?;
    /// let taker = {
    ///     let pool = pool.clone();
    ///     std::thread::spawn(move || {
    ///         let mut batch = Vec::new();
    ///         // Ok(0): nothing within the timeout; Err(Closed): the run is over.
    ///         while pool.take(&mut batch, 64, Duration::from_millis(500)).is_ok() {
    ///             for delivery in batch.drain(..) {
    ///                 delivery.complete(Outcome::Done);
    ///             }
    ///         }
    ///     })
    /// };
    /// pool.run_external()?;
    /// taker.join().unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_external(&self) -> Result<(), Error> {
        self.run_with(Runner::External)
    }

    /// Takes up to `max` messages of a [`Pool::run_external`] run into `out`, waiting up to
    /// `timeout` while there is none (or while the run has not begun). Returns how many it took:
    /// 0 when none came within `timeout`. Complete each delivery, from any thread.
    ///
    /// Callable from any number of threads. Fails with [`Error::Closed`] once the run is over
    /// (every message not taken by then stays uncommitted and is delivered again later), and
    /// with [`Error::Thread`] when the pool runs with worker threads instead.
    pub fn take(
        &self,
        out: &mut Vec<Delivery>,
        max: usize,
        timeout: Duration,
    ) -> Result<usize, Error> {
        self.take_each(max, timeout, |delivery| out.push(delivery))
    }

    /// [`Pool::take`], passing each delivery to `out`.
    pub(crate) fn take_each(
        &self,
        max: usize,
        timeout: Duration,
        mut out: impl FnMut(Delivery),
    ) -> Result<usize, Error> {
        let deadline = Instant::now() + timeout;
        let (jobs, reports, timed) =
            {
                let mut outlet = self.outlet.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    match &*outlet {
                        Outlet::Open {
                            jobs,
                            reports,
                            timed,
                        } => break (jobs.clone(), reports.clone(), *timed),
                        Outlet::Over => return Err(Error::Closed),
                        Outlet::Threads => return Err(Error::Thread(
                            "Pool::take: the pool runs with worker threads (run_external takes)"
                                .into(),
                        )),
                        Outlet::Waiting => {}
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(0);
                    }
                    outlet = self
                        .outlet_changed
                        .wait_timeout(outlet, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            };
        let wait = deadline.saturating_duration_since(Instant::now());
        jobs.take_batch(max, wait, |job| {
            out(Delivery::new(job, reports.clone(), timed))
        })
        .ok_or(Error::Closed)
    }

    /// Sets what [`Pool::take`] sees and wakes the takers waiting for it.
    fn set_outlet(&self, next: Outlet) {
        *self.outlet.lock().unwrap_or_else(|e| e.into_inner()) = next;
        self.outlet_changed.notify_all();
    }

    fn run_with(&self, runner: Runner) -> Result<(), Error> {
        {
            let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
            if *phase != Phase::Idle {
                return Err(Error::AlreadyRun);
            }
            *phase = Phase::Running;
        }
        let stopping = Arc::new(Mutex::new(
            self.on_stopping
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        ));
        let result = self.run_inner(runner, stopping.clone());
        self.set_outlet(Outlet::Over);
        fire_stopping(&stopping);
        self.close();
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = Phase::Finished;
        result
    }

    fn run_inner(&self, runner: Runner, stopping: StoppingOnce) -> Result<(), Error> {
        let consumer = self.consumer()?;
        let events = self
            .events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or(Error::AlreadyRun)?;
        if self.stop.is_stopped() {
            return Ok(());
        }
        let s = &self.settings;
        let jobs = Arc::new(JobQueue::new(s.job_queue_size));
        // Unbounded: completing a message never blocks the completing thread. What it holds is
        // bounded by the messages in flight (each job reports once).
        let (reports_tx, reports_rx) = unbounded();
        let dead_letter = match (&s.on_failure, &s.dead_letter_topic) {
            (FailurePolicy::DeadLetter, Some(topic)) => {
                Some(DeadLetter::new(&self.config, topic, reports_tx.clone())?)
            }
            _ => None,
        };
        let committer = Committer::start(consumer.clone())?;
        let timed = self.counters.metrics.is_some();
        let workers = match runner {
            Runner::Threads(processor) => {
                self.set_outlet(Outlet::Threads);
                Some(WorkerPool::start(
                    s.workers,
                    jobs.clone(),
                    reports_tx,
                    processor,
                    self.counters.busy.clone(),
                    timed,
                )?)
            }
            Runner::External => {
                self.set_outlet(Outlet::Open {
                    jobs: jobs.clone(),
                    reports: Arc::new(reports_tx),
                    timed,
                });
                None
            }
        };
        let poll_stop = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(FetchGate::new(s.job_queue_size));
        let poller = {
            let (consumer, stop, gate) = (consumer.clone(), poll_stop.clone(), gate.clone());
            let events_tx = consumer.context().events();
            std::thread::Builder::new()
                .name("burrow-poll".into())
                .spawn(move || {
                    let report = events_tx.clone();
                    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        poll_loop(consumer, events_tx, stop, gate)
                    }));
                    // A panic here is a bug; the run must end with an error, not go on unfed.
                    if let Err(panic) = polled {
                        let _ = report.send(Event::PollPanicked(panic_text(&*panic)));
                    }
                })
                .map_err(|e| Error::Thread(e.to_string()))?
        };
        let channels = Channels {
            events,
            reports: reports_rx,
            commit_answers: committer.answers,
            jobs,
            control: self.control.clone(),
            gate,
        };
        let rim = Rim {
            consumer,
            commits: committer.requests,
            dead_letter,
        };
        let core = Core::new(
            s.clone(),
            self.counters.clone(),
            fastrand::u64(..),
            Instant::now(),
        );
        let result = Coordinator::new(core, rim, channels)
            .on_stopping(Box::new(move || fire_stopping(&stopping)))
            .run();
        // The poll thread ran until now, serving rebalance callbacks while the pool drained
        // and made its final commit.
        poll_stop.store(true, Ordering::SeqCst);
        let _ = poller.join();
        if let Some(workers) = workers {
            workers.join(Instant::now() + Duration::from_millis(500));
        }
        result
    }

    /// The consumer, while the pool has not finished.
    fn consumer(&self) -> Result<Arc<KafkaConsumer>, Error> {
        let guard = self.consumer.lock().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or(Error::Closed)
    }

    /// Closes the consumer (leaving the group) once the run is over.
    fn close(&self) {
        let consumer = self
            .consumer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(consumer) = consumer {
            consumer.context().set_closing();
            let strong = Arc::strong_count(&consumer);
            drop(consumer);
            tracing::info!(strong, "consumer closed; left the group");
        }
    }

    /// A handle that stops this pool from any thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stops the pool (see [`StopHandle::stop`]).
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// Counters and per-partition state. Partition figures are refreshed about every 100 ms.
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// The pool's Prometheus metrics in the text exposition format (version 0.0.4). Empty unless
    /// `burrow.metrics=true`. Per-partition series exist for the partitions assigned right now.
    pub fn metrics_text(&self) -> String {
        self.counters
            .metrics
            .as_ref()
            .map(|m| m.text())
            .unwrap_or_default()
    }

    /// The address the metrics endpoint listens on, when `burrow.metrics.addr` is set (with port
    /// 0 the system picks one).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_server
            .as_ref()
            .and_then(MetricsServer::local_addr)
    }

    /// The typed pool settings in force.
    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool shows its settings (never its librdkafka properties), has no metrics endpoint
    /// unless configured, and a stop through its handle before the run makes the run return at
    /// once without joining the group; a second run is refused.
    #[test]
    fn a_pool_stopped_before_its_run_returns_at_once() {
        let mut c = Config::new();
        for (k, v) in [
            ("bootstrap.servers", "127.0.0.1:1"),
            ("group.id", "g"),
            ("sasl.password", "hunter2-secret"),
            ("burrow.workers", "3"),
        ] {
            c.set(k, v).unwrap();
        }
        let pool = Pool::new(&c).unwrap();
        assert_eq!(pool.settings().workers, 3);
        let shown = format!("{pool:?}");
        assert!(shown.contains("workers: 3"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(pool.metrics_addr().is_none());
        let handle = pool.stop_handle();
        handle.stop();
        assert!(handle.is_stopped());
        let started = Instant::now();
        pool.run(|_| Outcome::Done).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(
            pool.run(|_| Outcome::Done),
            Err(Error::AlreadyRun)
        ));
    }
}
