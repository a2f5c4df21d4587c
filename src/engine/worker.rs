//! Worker threads: take jobs, run the user's processor, report outcomes.
//!
//! Idle workers cost nothing: they sleep on the [`JobQueue`]'s condition variable, and the
//! coordinator wakes exactly as many of them as it queued jobs (never more than sleep), so a job
//! costs one wake-up at most and a busy worker that finds the next job queued takes it without
//! any. Nobody spins: a channel receiver spins and yields before it sleeps, and with hundreds of
//! idle workers that cost more CPU than the work itself at partial load.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::engine::job::{Job, Report};
use crate::error::Error;
use crate::observe::stats::BusyWorkers;
use crate::outcome::Delivery;

/// The processor as the workers hold it: it receives a [`Delivery`] and completes it now or later.
pub(crate) type Processor = Arc<dyn Fn(Delivery) + Send + Sync>;

/// The bounded queue of jobs between the coordinator and the workers.
///
/// The coordinator fills it in batches ([`JobQueue::fill`]) under one lock and then wakes one
/// sleeping worker per queued job; a worker takes the next job under the same lock, or sleeps when
/// there is none. The coordinator can take back every job not started yet
/// ([`JobQueue::take_all`]) and close the queue: workers then finish what is queued and exit.
pub(crate) struct JobQueue<T = Job> {
    state: Mutex<QueueState<T>>,
    wake: Condvar,
    capacity: usize,
    /// Mirror of the queue length (written under the lock) for a lock-free look.
    len: AtomicUsize,
    /// Wake-ups the queueing side has sent (tests).
    #[cfg(test)]
    wakes_sent: AtomicUsize,
}

struct QueueState<T> {
    jobs: VecDeque<T>,
    closed: bool,
    /// Workers asleep on the condition variable.
    sleeping: usize,
}

impl<T> JobQueue<T> {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            state: Mutex::new(QueueState {
                jobs: VecDeque::with_capacity(capacity),
                closed: false,
                sleeping: 0,
            }),
            wake: Condvar::new(),
            capacity,
            len: AtomicUsize::new(0),
            #[cfg(test)]
            wakes_sent: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues jobs from `next` while there is room (and the queue is open); returns how many.
    /// Wakes one sleeping worker per queued job.
    pub fn fill(&self, mut next: impl FnMut() -> Option<T>) -> usize {
        let (queued, wake) = {
            let mut st = self.lock();
            if st.closed {
                return 0;
            }
            let mut queued = 0;
            while st.jobs.len() < self.capacity {
                let Some(job) = next() else { break };
                st.jobs.push_back(job);
                queued += 1;
            }
            self.len.store(st.jobs.len(), Ordering::Relaxed);
            (queued, queued.min(st.sleeping))
        };
        // Outside the lock, so a woken worker does not block on it at once. Each woken worker
        // takes a job or finds that another one already did.
        for _ in 0..wake {
            self.wake.notify_one();
        }
        #[cfg(test)]
        self.wakes_sent.fetch_add(wake, Ordering::Relaxed);
        queued
    }

    /// Whether the queue is full.
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// Jobs queued and not taken by a worker yet.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Takes back every job no worker has started, in queue order.
    pub fn take_all(&self) -> Vec<T> {
        let mut st = self.lock();
        self.len.store(0, Ordering::Relaxed);
        st.jobs.drain(..).collect()
    }

    /// No more jobs: workers finish what is queued and exit.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// The next job for a worker (sleeping while there is none), or `None` once the queue is
    /// closed and empty.
    pub fn next(&self) -> Option<T> {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.jobs.pop_front() {
                self.len.store(st.jobs.len(), Ordering::Relaxed);
                return Some(job);
            }
            if st.closed {
                return None;
            }
            st.sleeping += 1;
            st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            st.sleeping -= 1;
        }
    }
}

/// A fixed set of worker threads fed by one [`JobQueue`].
pub(crate) struct WorkerPool {
    handles: Vec<JoinHandle<()>>,
    exited: Receiver<()>,
}

impl WorkerPool {
    /// Starts `n` workers. They run until the job queue is closed and empty.
    pub fn start(
        n: usize,
        jobs: Arc<JobQueue>,
        reports: Sender<Report>,
        processor: Processor,
        busy: Arc<BusyWorkers>,
        timed: bool,
    ) -> Result<Self, Error> {
        let (exit_tx, exited) = crossbeam_channel::bounded(n);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (jobs, processor, busy, exit_tx) = (
                jobs.clone(),
                processor.clone(),
                busy.clone(),
                exit_tx.clone(),
            );
            // One sender per worker, shared by its deliveries: a delivery costs no clone of the
            // pool-wide sender (whose count every worker would update).
            let reports = Arc::new(reports.clone());
            let handle = std::thread::Builder::new()
                .name(format!("burrow-worker-{i}"))
                .spawn(move || {
                    while let Some(job) = jobs.next() {
                        busy.set(i, true);
                        run_one(&processor, Delivery::new(job, reports.clone(), timed));
                        busy.set(i, false);
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

/// The message of a caught panic.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_string())
}

/// Runs the processor on one delivery. A panic is caught: the delivery, dropped while unwinding,
/// reports the message as failed.
fn run_one(processor: &Processor, delivery: Delivery) {
    let (topic, partition, offset) = {
        let m = delivery.message();
        (m.topic_arc().clone(), m.partition(), m.offset())
    };
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| processor(delivery))) {
        let what = panic_text(&*panic);
        tracing::error!(%topic, partition, offset, panic = %what, "processor panicked; the message counts as failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sleeping<T>(q: &JobQueue<T>) -> usize {
        q.lock().sleeping
    }

    fn settle<T>(q: &JobQueue<T>, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while sleeping(q) != n {
            assert!(Instant::now() < deadline, "workers did not go to sleep");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Every job is taken by exactly one worker, the queue never holds more than its capacity,
    /// and closing it lets the workers finish what is queued and exit.
    #[test]
    fn every_job_is_taken_once_and_close_drains() {
        let q = Arc::new(JobQueue::<u32>::new(16));
        let taken = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (q, taken) = (q.clone(), taken.clone());
                std::thread::spawn(move || {
                    while let Some(j) = q.next() {
                        taken.lock().unwrap().push(j);
                    }
                })
            })
            .collect();
        settle(&q, 8);
        let mut next = 0u32;
        while next < 1000 {
            q.fill(|| (next < 1000).then(|| (next, next += 1).0));
            assert!(q.len() <= 16);
            std::thread::yield_now();
        }
        q.close();
        for h in handles {
            h.join().unwrap();
        }
        let mut taken = taken.lock().unwrap().clone();
        taken.sort_unstable();
        assert_eq!(taken, (0..1000).collect::<Vec<_>>());
    }

    /// A burst of jobs reaches every idle worker: N jobs that each wait until all N are running
    /// finish only if N workers take them at once (one sleeper is woken per job).
    #[test]
    fn a_burst_wakes_as_many_sleepers_as_there_are_jobs() {
        const N: usize = 32;
        let q = Arc::new(JobQueue::<()>::new(N));
        let running = Arc::new((Mutex::new(0usize), Condvar::new()));
        let all_met = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..N)
            .map(|_| {
                let (q, running, all_met) = (q.clone(), running.clone(), all_met.clone());
                std::thread::spawn(move || {
                    while q.next().is_some() {
                        let (count, cv) = &*running;
                        let mut n = count.lock().unwrap();
                        *n += 1;
                        cv.notify_all();
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while *n < N && Instant::now() < deadline {
                            n = cv.wait_timeout(n, Duration::from_millis(50)).unwrap().0;
                        }
                        if *n >= N {
                            all_met.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        settle(&q, N);
        let mut left = N;
        assert_eq!(q.fill(|| (left > 0).then(|| left -= 1)), N);
        q.close();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            all_met.load(Ordering::Relaxed),
            N,
            "every job must have run at the same time as all the others"
        );
    }

    /// A burst is handed to sleeping workers in parallel: queueing k jobs wakes k sleepers at
    /// once, from the queueing thread, and no more. (Handing the wake-up on from one woken worker
    /// to the next serialises a burst behind one scheduling delay per job: on a loaded machine
    /// a backlog then drained at a few hundred jobs per second while workers slept.)
    #[test]
    fn queueing_a_burst_wakes_one_sleeper_per_job_at_once() {
        const N: usize = 16;
        let q = Arc::new(JobQueue::<u32>::new(64));
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..N)
            .map(|_| {
                let (q, gate, started) = (q.clone(), gate.clone(), started.clone());
                std::thread::spawn(move || {
                    while q.next().is_some() {
                        started.fetch_add(1, Ordering::Relaxed);
                        drop(gate.lock().unwrap());
                    }
                })
            })
            .collect();
        settle(&q, N);
        let mut i = 0;
        assert_eq!(q.fill(|| (i < 4).then(|| (i, i += 1).0)), 4);
        assert_eq!(
            q.wakes_sent.load(Ordering::Relaxed),
            4,
            "one wake-up per job"
        );
        let mut i = 0;
        assert_eq!(q.fill(|| (i < 12).then(|| (i, i += 1).0)), 12);
        assert_eq!(q.wakes_sent.load(Ordering::Relaxed), 16);
        // Every job is taken by a different worker, all at once (each is held on `gate`).
        let deadline = Instant::now() + Duration::from_secs(10);
        while started.load(Ordering::Relaxed) < N {
            assert!(
                Instant::now() < deadline,
                "the burst did not reach every sleeper"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // More jobs than sleepers: no wake-up is wasted on a worker that is not asleep.
        let mut i = 0;
        assert_eq!(q.fill(|| (i < 20).then(|| (i, i += 1).0)), 20);
        assert_eq!(
            q.wakes_sent.load(Ordering::Relaxed),
            16,
            "nobody sleeps: no wake-up"
        );
        drop(held);
        q.close();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(q.len(), 0, "the busy workers took the rest");
    }

    /// Idle workers cost nothing: with every worker asleep and nothing queued, none of them
    /// wakes up (a worker that spun or polled would show as awake).
    #[test]
    fn idle_workers_stay_asleep() {
        let q = Arc::new(JobQueue::<()>::new(4));
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || while q.next().is_some() {})
            })
            .collect();
        settle(&q, 64);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(sleeping(&q), 64);
        q.close();
        for h in handles {
            h.join().unwrap();
        }
    }

    /// Jobs no worker started are given back in order; a full queue takes no more.
    #[test]
    fn take_all_gives_back_unstarted_jobs_in_order() {
        let q = JobQueue::<u32>::new(3);
        let mut it = 0..10;
        assert_eq!(q.fill(|| it.next()), 3);
        assert!(q.is_full());
        assert_eq!(q.fill(|| it.next()), 0);
        assert_eq!(q.take_all(), vec![0, 1, 2]);
        assert_eq!(q.len(), 0);
        q.close();
        assert_eq!(q.fill(|| Some(9)), 0, "a closed queue takes nothing");
        assert_eq!(q.next(), None);
    }
}
