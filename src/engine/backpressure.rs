//! Fetch backpressure: the poll thread holds off while enough messages already wait for a worker.
//!
//! Two mechanisms bound memory when processing is slower than Kafka delivers:
//! * this gate (cheap, pool-wide): while `burrow.job.queue.size` messages are ready and waiting
//!   for a free worker *or still on their way from the poll thread to the coordinator*, the poll
//!   thread does not ask librdkafka for more, and it never forwards more than the room left — it
//!   still calls `poll` at least every [`MAX_HOLD`], so rebalance callbacks are served and
//!   `max.poll.interval.ms` is never at risk; librdkafka's own prefetch queue is bounded by
//!   `queued.max.messages.kbytes`;
//! * partition pausing (per partition, see `partition.rs`): a partition whose unfinished messages
//!   reach `burrow.max.inflight.per.partition` — typically because they wait behind a retrying key
//!   — is paused in librdkafka, so one stuck partition neither grows without bound nor blocks the
//!   others (messages behind a key do not count as waiting for a worker).
//!
//! Together they bound what a pool holds: at most `burrow.job.queue.size` messages in transit or
//! waiting for a worker (plus one per [`MAX_HOLD`] while workers are all stuck), and per partition
//! at most `burrow.max.inflight.per.partition + burrow.job.queue.size` unfinished messages (a
//! partition's messages already in transit when it is paused still arrive).
//!
//! Pausing makes librdkafka drop what it prefetched for the partition and fetch it again on resume,
//! so it is kept for the stuck case; the gate handles the steady state without that cost.
//!
//! The held poll thread sleeps on a condition variable: the coordinator wakes it as soon as the
//! waiting count drops below the limit, so a held fetch resumes at once and holding costs no CPU
//! (it re-checks the stop flag every [`STOP_CHECK`]).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Longest the poll thread holds off before it polls anyway.
pub(crate) const MAX_HOLD: Duration = Duration::from_millis(100);

/// How often a held poll thread looks at its stop flag (nobody signals the gate on stop).
pub(crate) const STOP_CHECK: Duration = Duration::from_millis(20);

/// The count of messages waiting for a worker or in transit, shared by the coordinator and the
/// poll thread.
pub(crate) struct FetchGate {
    waiting: AtomicUsize,
    in_transit: AtomicUsize,
    limit: usize,
    /// Set while the poll thread sleeps in [`FetchGate::wait_for_room`].
    held: AtomicBool,
    lock: Mutex<()>,
    room: Condvar,
    /// Times the held poll thread woke up (a signal, a stop check or the hold's end).
    wakeups: AtomicU64,
}

impl FetchGate {
    pub fn new(limit: usize) -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            in_transit: AtomicUsize::new(0),
            limit: limit.max(1),
            held: AtomicBool::new(false),
            lock: Mutex::new(()),
            room: Condvar::new(),
            wakeups: AtomicU64::new(0),
        }
    }

    /// Called by the coordinator after each dispatch round (messages ready for a worker); wakes
    /// a held poll thread when there is room again.
    pub fn set_waiting(&self, n: usize) {
        // SeqCst pairs with `wait_for_room`: either the poll thread sees the new count, or this
        // sees `held` and signals under the lock (so the signal cannot fall between its check
        // and its wait).
        self.waiting.store(n, Ordering::SeqCst);
        if self.room() > 0 && self.held.load(Ordering::SeqCst) {
            let _l = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.room.notify_all();
        }
    }

    /// Called by the poll thread for each message it takes from librdkafka.
    pub fn polled(&self) {
        self.in_transit.fetch_add(1, Ordering::Relaxed);
    }

    /// Called by the coordinator when a batch of `n` polled messages reached it.
    pub fn arrived(&self, n: usize) {
        let _ = self
            .in_transit
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_sub(n))
            });
    }

    /// How many more messages the poll thread may take now.
    pub fn room(&self) -> usize {
        let used = self.waiting.load(Ordering::SeqCst) + self.in_transit.load(Ordering::SeqCst);
        self.limit.saturating_sub(used)
    }

    /// Whether the poll thread may fetch more now.
    pub fn has_room(&self) -> bool {
        self.room() > 0
    }

    /// Waits until there is room, `stop` is set, or [`MAX_HOLD`] has passed.
    pub fn wait_for_room(&self, stop: &AtomicBool) {
        if self.has_room() || stop.load(Ordering::Relaxed) {
            return;
        }
        let deadline = Instant::now() + MAX_HOLD;
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.held.store(true, Ordering::SeqCst);
        loop {
            if self.has_room() || stop.load(Ordering::Relaxed) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            guard = self
                .room
                .wait_timeout(guard, (deadline - now).min(STOP_CHECK))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            self.wakeups.fetch_add(1, Ordering::Relaxed);
        }
        self.held.store(false, Ordering::SeqCst);
    }

    /// Wake-ups of the held poll thread so far.
    #[cfg(test)]
    fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn holds_at_most_max_hold_and_opens_below_the_limit() {
        let gate = FetchGate::new(10);
        let stop = AtomicBool::new(false);
        gate.set_waiting(9);
        assert!(gate.has_room());
        gate.set_waiting(10);
        assert!(!gate.has_room());
        let t = Instant::now();
        gate.wait_for_room(&stop);
        assert!(t.elapsed() >= MAX_HOLD, "held while full");
        stop.store(true, Ordering::Relaxed);
        let t = Instant::now();
        gate.wait_for_room(&stop);
        assert!(t.elapsed() < MAX_HOLD, "stop releases at once");
    }

    /// A held poll thread sleeps: over a whole hold it wakes only for the stop checks, not in
    /// millisecond steps (which cost a core's worth of wake-ups while a busy pool holds off).
    #[test]
    fn a_full_hold_sleeps_instead_of_polling_the_count() {
        let gate = FetchGate::new(10);
        gate.set_waiting(10);
        gate.wait_for_room(&AtomicBool::new(false));
        let bound = MAX_HOLD.as_millis() / STOP_CHECK.as_millis() + 2;
        assert!(
            gate.wakeups() <= bound as u64,
            "{} wake-ups in one hold (at most {bound} expected)",
            gate.wakeups()
        );
    }

    /// Room made by the coordinator releases the held poll thread (it does not wait out the hold).
    #[test]
    fn room_wakes_the_held_poll_thread() {
        let gate = Arc::new(FetchGate::new(10));
        gate.set_waiting(10);
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                gate.wait_for_room(&AtomicBool::new(false));
                t.elapsed()
            })
        };
        while !gate.held.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        gate.set_waiting(3);
        let held = waiter.join().unwrap();
        assert!(gate.has_room());
        assert!(
            gate.wakeups() <= 1,
            "released by the signal, not by a timeout: {} wake-ups, held {held:?}",
            gate.wakeups()
        );
    }

    #[test]
    fn messages_in_transit_take_room_until_they_arrive() {
        let gate = FetchGate::new(4);
        gate.set_waiting(1);
        for _ in 0..3 {
            gate.polled();
        }
        assert_eq!(gate.room(), 0, "1 waiting + 3 in transit fill the gate");
        gate.arrived(3);
        assert_eq!(gate.room(), 3);
        gate.arrived(10);
        assert_eq!(gate.room(), 3, "never below zero in transit");
    }
}
