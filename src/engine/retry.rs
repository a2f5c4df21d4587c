//! Retries: the exponential backoff and the timer queue of jobs waiting to be retried.
//!
//! A waiting retry occupies no worker: the job sits in the coordinator's [`RetryQueue`] until its
//! time comes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::engine::job::Job;

/// Delay before retry number `retry` (0 for the first retry): `base × 2^retry`, capped at `max`,
/// then shortened by up to `jitter` (a fraction in 0..=1) times `random` (a value in 0..1).
///
/// ```
/// use std::time::Duration;
/// let (base, max) = (Duration::from_millis(100), Duration::from_secs(60));
/// assert_eq!(burrow::backoff(base, max, 0, 0.0, 0.5), Duration::from_millis(100));
/// assert_eq!(burrow::backoff(base, max, 3, 0.0, 0.5), Duration::from_millis(800));
/// assert_eq!(burrow::backoff(base, max, 20, 0.0, 0.5), max); // capped
/// ```
pub fn backoff(base: Duration, max: Duration, retry: u32, jitter: f64, random: f64) -> Duration {
    let factor = 2u32.checked_pow(retry.min(31)).unwrap_or(u32::MAX);
    let full = base.checked_mul(factor).unwrap_or(max).min(max);
    let cut = (jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0)).min(1.0);
    full.mul_f64(1.0 - cut)
}

struct Waiting {
    due: Instant,
    order: u64,
    job: Job,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// Jobs waiting for their retry time, earliest first (ties in insertion order).
#[derive(Default)]
pub(crate) struct RetryQueue {
    heap: BinaryHeap<Reverse<Waiting>>,
    next_order: u64,
}

impl RetryQueue {
    pub fn push(&mut self, due: Instant, job: Job) {
        self.next_order += 1;
        self.heap.push(Reverse(Waiting {
            due,
            order: self.next_order,
            job,
        }));
    }

    /// The earliest job whose time has come.
    pub fn pop_due(&mut self, now: Instant) -> Option<Job> {
        if self.heap.peek()?.0.due <= now {
            self.heap.pop().map(|w| w.0.job)
        } else {
            None
        }
    }

    pub fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|w| w.0.due)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops the jobs for which `keep` is false (a revoked partition's retries).
    pub fn retain(&mut self, mut keep: impl FnMut(&Job) -> bool) {
        self.heap.retain(|w| keep(&w.0.job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_and_caps() {
        let b = |r| backoff(100 * MS, 60_000 * MS, r, 0.0, 0.5);
        assert_eq!(b(0), 100 * MS);
        assert_eq!(b(1), 200 * MS);
        assert_eq!(b(2), 400 * MS);
        assert_eq!(b(9), 51_200 * MS);
        assert_eq!(b(10), 60_000 * MS);
        assert_eq!(b(1000), 60_000 * MS);
    }

    #[test]
    fn backoff_jitter_shortens_within_bounds() {
        assert_eq!(backoff(100 * MS, 60_000 * MS, 0, 0.5, 1.0), 50 * MS);
        assert_eq!(backoff(100 * MS, 60_000 * MS, 0, 0.5, 0.0), 100 * MS);
        assert_eq!(backoff(100 * MS, 60_000 * MS, 0, 7.0, 2.0), Duration::ZERO);
    }

    fn job(offset: i64) -> Job {
        Job::new(Message::new("t", 0, offset, None, None), 1, 0)
    }

    #[test]
    fn queue_pops_in_due_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut q = RetryQueue::default();
        q.push(t0 + 30 * MS, job(3));
        q.push(t0 + 10 * MS, job(1));
        q.push(t0 + 10 * MS, job(2));
        assert_eq!(q.next_due(), Some(t0 + 10 * MS));
        assert!(q.pop_due(t0).is_none());
        assert_eq!(q.pop_due(t0 + 20 * MS).unwrap().msg.offset(), 1);
        assert_eq!(q.pop_due(t0 + 20 * MS).unwrap().msg.offset(), 2);
        assert!(q.pop_due(t0 + 20 * MS).is_none());
        q.retain(|j| j.msg.offset() != 3);
        assert_eq!(q.len(), 0);
    }
}
