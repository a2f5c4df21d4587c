//! Dispatch order: which received messages may go to a worker now.
//!
//! In `unordered` mode every message is ready at once. In `key` mode a message waits while an
//! earlier message with the same key (in the same partition) is unfinished, including while that
//! one waits for a retry; in `partition` mode the whole partition is one key. Messages without a
//! key are unordered in `key` mode.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use crate::config::ProcessingOrder;
use crate::engine::job::Job;
use crate::message::Message;

/// The ordering key of a message under `order`, or `None` when it may run in parallel with anything.
pub(crate) fn gate_key(order: ProcessingOrder, msg: &Message) -> Option<&[u8]> {
    match order {
        ProcessingOrder::Unordered => None,
        ProcessingOrder::Key => msg.key(),
        ProcessingOrder::Partition => Some(&[]),
    }
}

/// Per-partition ordering gate: for each key with an unfinished message, the messages waiting behind it.
#[derive(Default)]
pub(crate) struct KeyGate {
    busy: HashMap<Vec<u8>, VecDeque<Job>>,
    waiting: usize,
}

impl KeyGate {
    /// Admits a newly received job: returns it if it may run now, or keeps it behind its key.
    pub fn admit(&mut self, order: ProcessingOrder, job: Job) -> Option<Job> {
        let Some(key) = gate_key(order, &job.msg) else {
            return Some(job);
        };
        match self.busy.entry(key.to_vec()) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push_back(job);
                self.waiting += 1;
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(VecDeque::new());
                Some(job)
            }
        }
    }

    /// The running message of `msg`'s key has finished: returns the next one of that key, if any.
    pub fn release(&mut self, order: ProcessingOrder, msg: &Message) -> Option<Job> {
        let key = gate_key(order, msg)?;
        let queue = self.busy.get_mut(key)?;
        match queue.pop_front() {
            Some(next) => {
                self.waiting -= 1;
                Some(next)
            }
            None => {
                self.busy.remove(key);
                None
            }
        }
    }

    /// Messages held back behind their key.
    pub fn waiting(&self) -> usize {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(offset: i64, key: Option<&str>) -> Job {
        let msg = Message::new("t", 0, offset, key.map(|k| k.as_bytes().to_vec()), None);
        Job::new(msg, 1, offset as u64)
    }

    #[test]
    fn unordered_admits_everything() {
        let mut g = KeyGate::default();
        assert!(g
            .admit(ProcessingOrder::Unordered, job(0, Some("a")))
            .is_some());
        assert!(g
            .admit(ProcessingOrder::Unordered, job(1, Some("a")))
            .is_some());
        assert_eq!(g.waiting(), 0);
    }

    #[test]
    fn key_mode_serialises_same_key_in_order() {
        let k = ProcessingOrder::Key;
        let mut g = KeyGate::default();
        let first = g.admit(k, job(0, Some("a"))).unwrap();
        assert!(g.admit(k, job(1, Some("a"))).is_none());
        assert!(g.admit(k, job(2, Some("b"))).is_some());
        assert!(g.admit(k, job(3, Some("a"))).is_none());
        assert!(
            g.admit(k, job(4, None)).is_some(),
            "null keys are unordered"
        );
        assert!(g.admit(k, job(5, None)).is_some());
        assert_eq!(g.waiting(), 2);
        let second = g.release(k, &first.msg).unwrap();
        assert_eq!(second.msg.offset(), 1);
        let third = g.release(k, &second.msg).unwrap();
        assert_eq!(third.msg.offset(), 3);
        assert!(g.release(k, &third.msg).is_none());
        assert!(g.admit(k, job(6, Some("a"))).is_some(), "key free again");
    }

    #[test]
    fn partition_mode_is_one_at_a_time() {
        let p = ProcessingOrder::Partition;
        let mut g = KeyGate::default();
        let a = g.admit(p, job(0, Some("x"))).unwrap();
        assert!(g.admit(p, job(1, Some("y"))).is_none());
        assert!(g.admit(p, job(2, None)).is_none());
        assert_eq!(g.release(p, &a.msg).unwrap().msg.offset(), 1);
    }
}
