//! Worker threads: take jobs, run the user's processor, report outcomes.
//!
//! Idle workers cost nothing: at most one of them (the *leader*) waits on the job channel; the
//! others sleep in a [`Lobby`] until the leader takes a job and hands the waiting role on. A
//! channel receiver spins and yields for a while before it sleeps, and every waiting receiver is
//! a wake-up candidate the sender scans; with hundreds of idle workers on the channel at once,
//! that cost more CPU than the work itself at partial load (about twice the CPU per message with
//! 1,000 workers) and starved other threads for up to a second.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvError, Sender, TryRecvError};

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
        let lobby = Arc::new(Lobby::default());
        for i in 0..n {
            let (jobs, reports, processor, busy, exit_tx, lobby) = (
                jobs.clone(),
                reports.clone(),
                processor.clone(),
                busy.clone(),
                exit_tx.clone(),
                lobby.clone(),
            );
            let handle = std::thread::Builder::new()
                .name(format!("burrow-worker-{i}"))
                .spawn(move || {
                    while let Some(job) = lobby.next_job(&jobs) {
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

/// Where idle workers wait, so that only one of them at a time waits on the job channel.
///
/// Invariant: while workers sleep here, either a leader waits on the channel, or a worker that
/// just took a job wakes one sleeper (which takes the next job or becomes the leader). So a
/// burst of jobs wakes sleepers one after another, one per job, and an idle pool has exactly one
/// thread on the channel.
#[derive(Default)]
struct Lobby {
    state: Mutex<LobbyState>,
    wake: Condvar,
    /// Mirror of `LobbyState::sleeping` (written under the lock) for a lock-free check.
    sleepers: AtomicUsize,
}

#[derive(Default)]
struct LobbyState {
    /// A worker is waiting on the job channel.
    leader: bool,
    /// The job channel is closed and empty: every worker exits.
    closed: bool,
    /// Workers asleep in the lobby.
    sleeping: usize,
}

impl Lobby {
    /// The next job for a worker, or `None` once the job channel is closed and drained.
    fn next_job<T>(&self, jobs: &Receiver<T>) -> Option<T> {
        loop {
            // Busy pool: take the next job without any waiting.
            match jobs.try_recv() {
                Ok(job) => {
                    self.hand_on();
                    return Some(job);
                }
                Err(TryRecvError::Disconnected) => {
                    // Release every sleeper: the one woken to take over may be the only one
                    // awake, and it must not leave the others asleep on a closed channel.
                    let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.closed = true;
                    self.wake.notify_all();
                    return None;
                }
                Err(TryRecvError::Empty) => {}
            }
            {
                let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if st.closed {
                    return None;
                }
                if st.leader {
                    st.sleeping += 1;
                    self.sleepers.store(st.sleeping, Ordering::Relaxed);
                    while st.leader && !st.closed {
                        st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                    st.sleeping -= 1;
                    self.sleepers.store(st.sleeping, Ordering::Relaxed);
                    // Closed, or nobody on the channel: look at it again.
                    continue;
                }
                st.leader = true;
            }
            let got = jobs.recv();
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.leader = false;
            match got {
                Ok(job) => {
                    if st.sleeping > 0 {
                        self.wake.notify_one();
                    }
                    return Some(job);
                }
                Err(RecvError) => {
                    st.closed = true;
                    self.wake.notify_all();
                    return None;
                }
            }
        }
    }

    /// A job was taken without a leader's hand-over: if workers sleep and nobody waits on the
    /// channel, wake one, so the jobs behind this one (or the next to come) are not left waiting.
    fn hand_on(&self) {
        if self.sleepers.load(Ordering::Relaxed) == 0 {
            return;
        }
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !st.leader && st.sleeping > 0 {
            self.wake.notify_one();
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

    /// Idle workers sleep in the lobby: one leader waits on the channel, every job is taken by
    /// exactly one worker, and closing the channel releases them all.
    #[test]
    fn one_leader_waits_and_every_job_is_taken_once() {
        let (tx, rx) = crossbeam_channel::bounded::<u32>(16);
        let lobby = Arc::new(Lobby::default());
        let taken = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (rx, lobby, taken) = (rx.clone(), lobby.clone(), taken.clone());
                std::thread::spawn(move || {
                    while let Some(j) = lobby.next_job(&rx) {
                        taken.lock().unwrap().push(j);
                    }
                })
            })
            .collect();
        // All idle: one leader on the channel, seven asleep in the lobby.
        let deadline = Instant::now() + Duration::from_secs(10);
        while lobby.state.lock().unwrap().sleeping != 7 {
            assert!(
                Instant::now() < deadline,
                "workers did not settle in the lobby"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(lobby.state.lock().unwrap().leader);
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        drop(tx);
        for h in handles {
            h.join().unwrap();
        }
        let mut taken = taken.lock().unwrap().clone();
        taken.sort_unstable();
        assert_eq!(taken, (0..1000).collect::<Vec<_>>());
    }

    /// A burst of jobs reaches every idle worker: N jobs that each wait until all N are running
    /// finish only if N workers take them at once (sleepers are woken one per job).
    #[test]
    fn a_burst_wakes_as_many_sleepers_as_there_are_jobs() {
        const N: usize = 32;
        let (tx, rx) = crossbeam_channel::bounded::<()>(N);
        let lobby = Arc::new(Lobby::default());
        let running = Arc::new((Mutex::new(0usize), Condvar::new()));
        let all_met = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..N)
            .map(|_| {
                let (rx, lobby, running, all_met) =
                    (rx.clone(), lobby.clone(), running.clone(), all_met.clone());
                std::thread::spawn(move || {
                    while lobby.next_job(&rx).is_some() {
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
        let deadline = Instant::now() + Duration::from_secs(10);
        while lobby.state.lock().unwrap().sleeping != N - 1 {
            assert!(
                Instant::now() < deadline,
                "workers did not settle in the lobby"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        for _ in 0..N {
            tx.send(()).unwrap();
        }
        drop(tx);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            all_met.load(Ordering::Relaxed),
            N,
            "every job must have run at the same time as all the others"
        );
    }
}
