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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest the poll thread holds off before it polls anyway.
pub(crate) const MAX_HOLD: Duration = Duration::from_millis(100);

/// The count of messages waiting for a worker or in transit, shared by the coordinator and the
/// poll thread.
pub(crate) struct FetchGate {
    waiting: AtomicUsize,
    in_transit: AtomicUsize,
    limit: usize,
}

impl FetchGate {
    pub fn new(limit: usize) -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            in_transit: AtomicUsize::new(0),
            limit: limit.max(1),
        }
    }

    /// Called by the coordinator after each dispatch round: messages ready for a worker.
    pub fn set_waiting(&self, n: usize) {
        self.waiting.store(n, Ordering::Relaxed);
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
        let used = self.waiting.load(Ordering::Relaxed) + self.in_transit.load(Ordering::Relaxed);
        self.limit.saturating_sub(used)
    }

    /// Whether the poll thread may fetch more now.
    pub fn has_room(&self) -> bool {
        self.room() > 0
    }

    /// Waits until there is room, `stop` is set, or [`MAX_HOLD`] has passed.
    pub fn wait_for_room(&self, stop: &AtomicBool) {
        let deadline = Instant::now() + MAX_HOLD;
        while !self.has_room() && !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
