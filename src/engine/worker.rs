//! Worker threads: take jobs, run the user's processor, report outcomes.
//!
//! Idle workers cost nothing: they sleep on the [`JobQueue`]'s condition variable, and the
//! coordinator wakes exactly as many of them as it queued jobs (never more than sleep), so a job
//! costs one wake-up at most and a busy worker that finds the next job queued takes it without
//! any. Nobody spins: a channel receiver spins and yields before it sleeps, and with hundreds of
//! idle workers that cost more CPU than the work itself at partial load.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use crossbeam_queue::ArrayQueue;

use crate::engine::job::{Job, Report};
use crate::error::Error;
use crate::observe::stats::BusyWorkers;
use crate::outcome::Delivery;

/// The processor as the workers hold it: it receives a [`Delivery`] and completes it now or later.
pub(crate) type Processor = Arc<dyn Fn(Delivery) + Send + Sync>;

/// The bounded queue of jobs between the coordinator and the workers.
///
/// The coordinator fills it in batches ([`JobQueue::fill`]) and then wakes one sleeping worker per
/// queued job; a worker takes the next job without a lock (a busy worker that finds a job queued
/// never blocks), or sleeps on the condition variable when there is none. The coordinator can take
/// back every job not started yet ([`JobQueue::take_all`]) and close the queue: workers then finish
/// what is queued and exit.
///
/// While the queue is at least half full the workers have work for a while, and the coordinator
/// need not wake for every report: it waits on the [`JobQueue::doorbell`] instead, which the
/// worker whose take brings the queue below half rings. Under load the coordinator then wakes once
/// per half a queue of reports, not once per report.
pub(crate) struct JobQueue<T = Job> {
    jobs: ArrayQueue<T>,
    /// Jobs queued: counted up before a push and down after a take, so it is never below what the
    /// queue holds (only the coordinator pushes, so `len < capacity` leaves room for a push).
    len: AtomicUsize,
    closed: AtomicBool,
    /// Workers asleep on `wake`, or about to be (counted under `lock`).
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    capacity: usize,
    /// Below this many queued jobs the queue is low ([`JobQueue::is_low`]).
    low_water: usize,
    /// Rung (never blocking) when a take brings the queue below `low_water`.
    bell: Sender<()>,
    bell_rx: Receiver<()>,
    /// Wake-ups the queueing side has sent (tests).
    #[cfg(test)]
    wakes_sent: AtomicUsize,
}

impl<T> JobQueue<T> {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (bell, bell_rx) = crossbeam_channel::bounded(1);
        Self {
            jobs: ArrayQueue::new(capacity),
            len: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            capacity,
            low_water: capacity.div_ceil(2),
            bell,
            bell_rx,
            #[cfg(test)]
            wakes_sent: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues jobs from `next` while there is room (and the queue is open); returns how many.
    /// Wakes one sleeping worker per queued job. Called by one thread (the coordinator) only.
    pub fn fill(&self, mut next: impl FnMut() -> Option<T>) -> usize {
        if self.closed.load(Ordering::SeqCst) {
            return 0;
        }
        let mut queued = 0;
        while self.len.load(Ordering::SeqCst) < self.capacity {
            let Some(job) = next() else { break };
            self.len.fetch_add(1, Ordering::SeqCst);
            if self.jobs.push(job).is_err() {
                unreachable!("the job queue had room: only the coordinator pushes");
            }
            queued += 1;
        }
        if queued == 0 {
            return 0;
        }
        // Pairs with the fence in `next`: either this sees the worker counted as a sleeper, or
        // the worker's take after counting itself sees these jobs.
        fence(Ordering::SeqCst);
        let wake = queued.min(self.sleepers.load(Ordering::SeqCst));
        if wake > 0 {
            // A counted sleeper holds the lock until it waits: once this thread has held it, every
            // sleeper counted above is waiting (or has found a job), so no signal is lost. The
            // signals go out after the lock is released: a woken worker takes the lock back on
            // waking and would otherwise block on it while the rest are signalled.
            drop(self.lock());
            for _ in 0..wake {
                self.wake.notify_one();
            }
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

    /// Whether fewer than half the queue's capacity is queued: workers may soon run out.
    pub fn is_low(&self) -> bool {
        self.len() < self.low_water
    }

    /// Receives a ring each time a worker's take brings the queue from half full to below (at
    /// most one ring waits). Drain it before looking at [`JobQueue::is_low`]: a ring sent after
    /// that look stays waiting, so a wait on the doorbell cannot miss the crossing.
    pub fn doorbell(&self) -> &Receiver<()> {
        &self.bell_rx
    }

    /// Takes back every job no worker has started, in queue order.
    pub fn take_all(&self) -> Vec<T> {
        let mut back = Vec::with_capacity(self.len());
        while let Some(job) = self.jobs.pop() {
            self.len.fetch_sub(1, Ordering::SeqCst);
            back.push(job);
        }
        back
    }

    /// No more jobs: workers finish what is queued and exit.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _l = self.lock();
        self.wake.notify_all();
    }

    /// Takes the next queued job, if any, ringing the doorbell when this take makes the queue low.
    fn take(&self) -> Option<T> {
        let job = self.jobs.pop()?;
        // Only takes lower the count, one job at a time, so every descent below the low mark
        // passes through exactly one take that finds it at the mark.
        if self.len.fetch_sub(1, Ordering::SeqCst) == self.low_water {
            let _ = self.bell.try_send(());
        }
        Some(job)
    }

    /// The next job for a worker (sleeping while there is none), or `None` once the queue is
    /// closed and empty.
    pub fn next(&self) -> Option<T> {
        if let Some(job) = self.take() {
            return Some(job);
        }
        let mut guard = self.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let job = loop {
            if let Some(job) = self.take() {
                break Some(job);
            }
            if self.closed.load(Ordering::SeqCst) {
                break None;
            }
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        job
    }
}

impl<T> JobQueue<T> {
    /// Takes up to `max` queued jobs, each passed to `out`, for a caller that runs them itself (a
    /// pool run without worker threads). While none is queued it sleeps like a worker, up to
    /// `timeout`. Returns how many it took (0: none within `timeout`), or `None` once the queue
    /// is closed and empty.
    pub fn take_batch(
        &self,
        max: usize,
        timeout: Duration,
        mut out: impl FnMut(T),
    ) -> Option<usize> {
        let taken = self.take_into(&mut out, max);
        if taken > 0 || max == 0 {
            return Some(taken);
        }
        let deadline = Instant::now() + timeout;
        let mut guard = self.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let result = loop {
            let taken = self.take_into(&mut out, max);
            if taken > 0 {
                break Some(taken);
            }
            if self.closed.load(Ordering::SeqCst) {
                break None;
            }
            let now = Instant::now();
            if now >= deadline {
                break Some(0);
            }
            guard = self
                .wake
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        result
    }

    fn take_into(&self, out: &mut impl FnMut(T), max: usize) -> usize {
        let mut taken = 0;
        while taken < max {
            let Some(job) = self.take() else { break };
            out(job);
            taken += 1;
        }
        taken
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
        (m.topic_static(), m.partition(), m.offset())
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
        q.sleepers.load(Ordering::SeqCst)
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

    /// A batch take returns what is queued (at most `max`), waits while nothing is (waking when
    /// jobs are queued, giving up at its timeout with 0), and reports the end once the queue is
    /// closed and empty.
    #[test]
    fn take_batch_takes_up_to_max_waits_and_ends() {
        let q = Arc::new(JobQueue::<u32>::new(16));
        let mut next = 0u32;
        q.fill(|| (next < 10).then(|| (next, next += 1).0));
        let mut got = Vec::new();
        assert_eq!(q.take_batch(4, Duration::ZERO, |j| got.push(j)), Some(4));
        assert_eq!(q.take_batch(100, Duration::ZERO, |j| got.push(j)), Some(6));
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert!(q.is_low());

        let started = Instant::now();
        assert_eq!(
            q.take_batch(4, Duration::from_millis(30), |j| got.push(j)),
            Some(0)
        );
        assert!(started.elapsed() >= Duration::from_millis(30));

        let taker = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let n = q.take_batch(8, Duration::from_secs(30), |j| got.push(j));
                (n, got)
            })
        };
        settle(&q, 1);
        q.fill(|| (next < 13).then(|| (next, next += 1).0));
        let (n, got) = taker.join().unwrap();
        assert!(
            n.is_some_and(|n| n >= 1) && got.len() == n.unwrap(),
            "woken by the fill: {n:?}"
        );
        let mut rest = Vec::new();
        q.take_batch(8, Duration::ZERO, |j| rest.push(j));
        assert_eq!(got.len() + rest.len(), 3);

        let taker = {
            let q = q.clone();
            std::thread::spawn(move || q.take_batch(8, Duration::from_secs(30), |_| {}))
        };
        settle(&q, 1);
        q.close();
        assert_eq!(taker.join().unwrap(), None, "closed and empty: the end");
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

    /// The doorbell rings once per descent below half the capacity, on the take that crosses
    /// it, and not while the queue stays above or below.
    #[test]
    fn the_doorbell_rings_when_a_take_brings_the_queue_below_half() {
        let q = JobQueue::<u32>::new(8);
        let rang = |q: &JobQueue<u32>| q.doorbell().try_recv().is_ok();
        let mut it = 0..;
        assert_eq!(q.fill(|| it.next()), 8);
        for _ in 0..4 {
            q.next().unwrap();
            assert!(!rang(&q), "still half full");
            assert!(!q.is_low());
        }
        q.next().unwrap();
        assert!(q.is_low());
        assert!(rang(&q), "the take that crossed below half rings");
        q.next().unwrap();
        assert!(!rang(&q), "one ring per crossing");
        assert_eq!(q.fill(|| it.next()), 6);
        assert!(!q.is_low());
        for _ in 0..4 {
            q.next().unwrap();
        }
        assert!(!rang(&q));
        q.next().unwrap();
        assert!(rang(&q), "a second descent rings again");
        assert_eq!(q.take_all().len(), 3);
        assert!(!rang(&q), "taking back is the coordinator's own doing");
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
