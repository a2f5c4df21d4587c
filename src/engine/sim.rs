//! Deterministic simulation of the coordinator core.
//!
//! One seed drives a whole random schedule through the real [`Core`]: messages with holes and
//! keys on up to three partitions, workers that finish out of order, succeed, fail and retry, a
//! committer that answers late, refuses (retriable or not), refuses metadata as too large or never
//! answers, a dead-letter producer that fails, revocations and reassignments mid-commit, lost
//! partitions, and a stop at any point. Time is simulated. After every step the invariants are
//! checked:
//! * the broker's committed offset never passes a message that is not finished (done, skipped,
//!   or dead-letter acknowledged) and never moves backwards;
//! * a key (or, in `partition` mode, a partition) never has a message start while an earlier
//!   one is unfinished, and its messages start in offset order;
//! * the core never asks to be woken in the past (no busy spin);
//! * `halt` halts exactly at the first permanent failure, `skip` / `dead-letter` exactly at
//!   `burrow.max.consecutive.errors` in a row;
//! * a stop (requested or by halt) ends within `burrow.shutdown.timeout.ms` plus
//!   `burrow.commit.timeout.ms`; a stop that ends as "stopped" has committed every partition
//!   up to its finished prefix; a failed final commit is reported as such.
//!
//! `cargo test --release --lib sim` runs a few thousand schedules. `BURROW_SIM_SCHEDULES=100000`
//! runs more; `BURROW_SIM_SEED=<seed>` replays one schedule (a failure prints its seed).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, FailurePolicy, PoolSettings, ProcessingOrder};
use crate::engine::core::{Assigned, Core, Effect, End, HaltKind};
use crate::engine::job::Job;
use crate::message::{Message, TopicPartition};
use crate::observe::stats::Counters;
use crate::offsets::commit::{CommitAnswer, CommitError, CommitRequest, PartAnswer};
use crate::outcome::Outcome;

const TOPIC: &str = "t";
const MS: Duration = Duration::from_millis(1);

/// Offsets of one partition's log (with holes) and the keys of its messages.
struct Log {
    offsets: Vec<i64>,
    keys: HashMap<i64, Option<Vec<u8>>>,
}

/// Sim-side knowledge of a message's fate (across assignments).
#[derive(Default)]
struct Fate {
    /// Offsets that may be committed past: done, skipped by policy, or dead-lettered.
    finished: BTreeSet<i64>,
}

struct Running {
    job: Job,
}

struct Sim {
    rng: fastrand::Rng,
    seed: u64,
    s: PoolSettings,
    core: Core,
    t0: Instant,
    now: Instant,
    partitions: Vec<TopicPartition>,
    logs: Vec<Log>,
    /// Next index into the log to deliver, per partition (while assigned here).
    cursor: Vec<usize>,
    assigned: Vec<bool>,
    paused: Vec<bool>,
    /// The broker's committed offset and metadata per partition.
    committed: Vec<Option<(i64, String)>>,
    fates: Vec<Fate>,
    /// Jobs taken from the core and queued for a worker.
    queue: VecDeque<Job>,
    queue_cap: usize,
    workers: usize,
    running: Vec<Running>,
    commits: VecDeque<CommitRequest>,
    /// Per partition, bumped when it is lost: the broker refuses commits of an older generation.
    generation: Vec<u64>,
    /// The generations a commit request was made in.
    request_generations: HashMap<u64, Vec<u64>>,
    dead_letters: Vec<Job>,
    revoke_pending: Option<Vec<usize>>,
    /// Per (epoch, partition, key): the offset that last started and whether it finished.
    key_current: HashMap<(u64, i32, Vec<u8>), i64>,
    consecutive: u32,
    first_permanent: Option<(i32, i64)>,
    stop_at: Option<Instant>,
    stop_requested: bool,
    // Behaviour knobs for this schedule.
    p_done: f64,
    p_fail: f64,
    p_commit_fail: f64,
    p_commit_lost: f64,
    p_dl_fail: f64,
    metadata_limit: usize,
    log: Vec<String>,
}

fn settings(rng: &mut fastrand::Rng) -> PoolSettings {
    let mut c = Config::new();
    let policy = ["halt", "skip", "dead-letter"][rng.usize(0..3)];
    let order = ["unordered", "key", "partition"][rng.usize(0..3)];
    let pairs = [
        ("burrow.on.failure", policy.to_string()),
        ("burrow.dead.letter.topic", "dlq".to_string()),
        ("burrow.ordering", order.to_string()),
        ("burrow.max.retries", rng.u32(0..3).to_string()),
        ("burrow.retry.backoff.ms", rng.u32(0..50).to_string()),
        ("burrow.retry.jitter", "0.5".to_string()),
        ("burrow.max.consecutive.errors", rng.u32(1..5).to_string()),
        (
            "burrow.max.inflight.per.partition",
            rng.u32(2..20).to_string(),
        ),
        ("burrow.commit.interval.ms", rng.u32(10..500).to_string()),
        ("burrow.commit.batch.size", rng.u32(1..30).to_string()),
        ("burrow.shutdown.timeout.ms", rng.u32(0..400).to_string()),
        ("burrow.commit.timeout.ms", rng.u32(50..400).to_string()),
        (
            "burrow.commit.metadata.max.bytes",
            rng.u32(0..200).to_string(),
        ),
    ];
    for (k, v) in pairs {
        c.set(k, &v).expect("valid simulation setting");
    }
    c.pool_settings().expect("valid simulation settings")
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let s = settings(&mut rng);
        let n = rng.usize(1..=3);
        let t0 = Instant::now();
        let counters = Arc::new(Counters::new(false, 0));
        let core = Core::new(s.clone(), counters, rng.u64(..), t0);
        let mut logs = Vec::new();
        let mut committed = Vec::new();
        for _ in 0..n {
            let start = if rng.bool() { 0 } else { rng.i64(1..1000) };
            let mut offsets = Vec::new();
            let mut keys = HashMap::new();
            let mut o = start;
            for _ in 0..rng.usize(5..60) {
                o += if rng.u8(0..10) == 0 { rng.i64(2..5) } else { 1 };
                offsets.push(o);
                let key = match rng.u8(0..5) {
                    0 => None,
                    k => Some(vec![k]),
                };
                keys.insert(o, key);
            }
            committed.push((start > 0 && rng.bool()).then(|| (start, String::new())));
            logs.push(Log { offsets, keys });
        }
        let partitions = (0..n as i32)
            .map(|p| TopicPartition {
                topic: Arc::from(TOPIC),
                partition: p,
            })
            .collect();
        Sim {
            seed,
            s,
            core,
            t0,
            now: t0,
            partitions,
            cursor: vec![0; n],
            assigned: vec![false; n],
            paused: vec![false; n],
            committed,
            fates: (0..n).map(|_| Fate::default()).collect(),
            logs,
            queue: VecDeque::new(),
            queue_cap: rng.usize(1..8),
            workers: rng.usize(1..6),
            running: Vec::new(),
            commits: VecDeque::new(),
            generation: vec![0; n],
            request_generations: HashMap::new(),
            dead_letters: Vec::new(),
            revoke_pending: None,
            key_current: HashMap::new(),
            consecutive: 0,
            first_permanent: None,
            stop_at: None,
            stop_requested: false,
            p_done: 0.6 + rng.f64() * 0.4,
            p_fail: rng.f64() * 0.3,
            p_commit_fail: rng.f64() * 0.3,
            p_commit_lost: rng.f64() * 0.05,
            p_dl_fail: rng.f64() * 0.5,
            metadata_limit: rng.usize(0..300),
            log: Vec::new(),
            rng,
        }
    }

    fn fail(&self, what: &str) -> ! {
        let tail: Vec<&String> = self.log.iter().rev().take(30).collect();
        panic!(
            "simulation invariant broken (replay with BURROW_SIM_SEED={}): {what}\nlast steps, newest first:\n{tail:#?}\nsettings: {:?}",
            self.seed, self.s
        );
    }

    fn note(&mut self, what: String) {
        let t = self.now.duration_since(self.t0).as_millis();
        self.log.push(format!("t={t}ms {what}"));
    }

    fn assign(&mut self, idx: Vec<usize>) {
        let list = idx
            .iter()
            .map(|&i| {
                self.assigned[i] = true;
                self.paused[i] = false;
                let (committed, metadata) = match &self.committed[i] {
                    Some((o, m)) => (Some(*o), m.clone()),
                    None => (None, String::new()),
                };
                // Fetching resumes at the committed offset.
                let from = committed.unwrap_or(i64::MIN);
                self.cursor[i] = self.logs[i].offsets.partition_point(|&o| o < from);
                Assigned {
                    tp: self.partitions[i].clone(),
                    committed,
                    metadata,
                }
            })
            .collect();
        self.note(format!("assign {idx:?}"));
        self.core.on_assigned(list);
    }

    /// Dispatches jobs into the bounded queue and carries out effects, like the coordinator.
    fn carry_out(&mut self) {
        loop {
            while self.queue.len() < self.queue_cap {
                match self.core.next_job() {
                    Some(job) => self.queue.push_back(job),
                    None => break,
                }
            }
            let Some(effect) = self.core.poll_effect() else {
                break;
            };
            match effect {
                Effect::Commit(req) => {
                    self.note(format!("commit request {} {:?}", req.id, req.kind));
                    self.request_generations
                        .insert(req.id, self.generation.clone());
                    self.commits.push_back(req);
                }
                Effect::Pause(tp) => self.paused[tp.partition as usize] = true,
                Effect::Resume(tp) => self.paused[tp.partition as usize] = false,
                Effect::DeadLetter(job) => self.dead_letters.push(job),
                Effect::RevokeDone => {
                    let Some(idx) = self.revoke_pending.take() else {
                        self.fail("RevokeDone without a revocation");
                    };
                    self.note(format!("revoke done {idx:?}"));
                    for i in idx {
                        self.assigned[i] = false;
                        // The rebalance completes: a new generation, which fences late commits.
                        self.generation[i] += 1;
                    }
                }
                Effect::TakeBackQueued => {
                    let back: Vec<Job> = self.queue.drain(..).collect();
                    for job in back.into_iter().rev() {
                        self.core.on_unstarted(job);
                    }
                }
            }
        }
    }

    fn gate_key(&self, job: &Job) -> Option<Vec<u8>> {
        match self.s.ordering {
            ProcessingOrder::Unordered => None,
            ProcessingOrder::Key => job.msg.key().map(<[u8]>::to_vec),
            ProcessingOrder::Partition => Some(Vec::new()),
        }
    }

    fn is_finished(&self, p: i32, offset: i64) -> bool {
        self.fates[p as usize].finished.contains(&offset)
    }

    /// A worker takes the next queued job.
    fn start_job(&mut self) {
        if self.running.len() >= self.workers {
            return;
        }
        let Some(job) = self.queue.pop_front() else {
            return;
        };
        let p = job.msg.partition();
        if let Some(key) = self.gate_key(&job) {
            let k = (job.epoch, p, key);
            if let Some(&cur) = self.key_current.get(&k) {
                let o = job.msg.offset();
                if o < cur {
                    self.fail(&format!("key started out of order: {o} after {cur}"));
                }
                if o != cur && !self.is_finished(p, cur) {
                    self.fail(&format!(
                        "partition {p}: offset {o} started while {cur} of its key is unfinished"
                    ));
                }
            }
            self.key_current.insert(k, job.msg.offset());
        }
        self.note(format!(
            "start {p}@{} attempt {}",
            job.msg.offset(),
            job.attempt
        ));
        self.running.push(Running { job });
    }

    /// Whether the job's partition state is the job's assignment (the core will take its report).
    fn current(&self, job: &Job) -> bool {
        self.core
            .partitions()
            .get(job.msg.topic(), job.msg.partition())
            .is_some_and(|s| s.epoch == job.epoch)
    }

    fn revoking(&self, job: &Job) -> bool {
        self.core
            .partitions()
            .get(job.msg.topic(), job.msg.partition())
            .is_some_and(|s| s.revoking)
    }

    fn complete_job(&mut self) {
        if self.running.is_empty() {
            return;
        }
        let i = self.rng.usize(0..self.running.len());
        let Running { job } = self.running.swap_remove(i);
        let p = job.msg.partition();
        let o = job.msg.offset();
        let r = self.rng.f64();
        let outcome = if r < self.p_done {
            Outcome::Done
        } else if r < self.p_done + (1.0 - self.p_done) * self.p_fail {
            Outcome::fail("boom")
        } else {
            Outcome::retry("flaky")
        };
        let current = self.current(&job);
        let running = !self.core.stopping();
        let revoking = self.revoking(&job);
        let permanent = match &outcome {
            Outcome::Done => false,
            Outcome::Fail(_) => true,
            Outcome::Retry(_) => job.attempt >= self.s.max_retries && running && !revoking,
        };
        self.note(format!("complete {p}@{o} {outcome:?} current={current}"));
        let was_stopping = self.core.stopping();
        if outcome == Outcome::Done && current {
            self.fates[p as usize].finished.insert(o);
            self.consecutive = 0;
        }
        let counts = permanent && current && !(revoking && matches!(outcome, Outcome::Retry(_)));
        let policy = self.s.on_failure;
        let mut halts = false;
        if counts {
            self.consecutive += 1;
            self.first_permanent.get_or_insert((p, o));
            halts = policy == FailurePolicy::Halt
                || self.consecutive >= self.s.max_consecutive_errors.max(1);
            if !halts && policy == FailurePolicy::Skip {
                self.fates[p as usize].finished.insert(o);
            }
        }
        self.core.on_processed(self.now, job, outcome);
        if halts && !self.core.stopping() {
            self.fail(&format!(
                "{p}@{o}: permanent failure #{} under {policy:?} did not halt",
                self.consecutive
            ));
        }
        if !halts && !was_stopping && self.core.stopping() && !self.stop_requested {
            self.fail(&format!("{p}@{o}: the pool halted without cause"));
        }
    }

    fn answer_commit(&mut self) {
        let Some(req) = self.commits.pop_front() else {
            return;
        };
        if self.rng.f64() < self.p_commit_lost {
            self.note(format!("commit {} lost", req.id));
            return; // never answered: the core must give up by itself
        }
        let generations = self
            .request_generations
            .remove(&req.id)
            .unwrap_or_else(|| self.generation.clone());
        let mut parts = Vec::new();
        for part in &req.parts {
            let i = part.tp.partition as usize;
            let r = self.rng.f64();
            let mut refused = false;
            let result = if generations[i] != self.generation[i] {
                Err(CommitError {
                    message: "illegal generation".into(),
                    retriable: false,
                })
            } else if r < self.p_commit_fail {
                Err(CommitError {
                    message: "refused".into(),
                    retriable: self.rng.bool(),
                })
            } else {
                refused = part.metadata.len() > self.metadata_limit;
                let metadata = if refused {
                    String::new()
                } else {
                    part.metadata.clone()
                };
                if let Some((old, _)) = &self.committed[i] {
                    if part.offset < *old {
                        self.fail(&format!(
                            "partition {i}: committed offset moves back from {old} to {}",
                            part.offset
                        ));
                    }
                }
                // Nothing below the offset may be unfinished.
                for &o in &self.logs[i].offsets {
                    if o >= part.offset {
                        break;
                    }
                    let below_start = self.committed[i].as_ref().is_none_or(|(c, _)| o >= *c);
                    if below_start && !self.is_finished(i as i32, o) && self.was_delivered(i, o) {
                        self.fail(&format!(
                            "partition {i}: commit of {} passes unfinished offset {o}",
                            part.offset
                        ));
                    }
                }
                self.committed[i] = Some((part.offset, metadata));
                Ok(())
            };
            parts.push(PartAnswer {
                tp: part.tp.clone(),
                offset: part.offset,
                result,
                metadata_refused: refused,
            });
        }
        self.note(format!("commit {} answered", req.id));
        self.core
            .on_commit_answer(self.now, CommitAnswer { id: req.id, parts });
    }

    /// Whether offset `o` of partition `i` lies in the part of the log this run ever delivered.
    fn was_delivered(&self, i: usize, o: i64) -> bool {
        let first = self.logs[i].offsets.first().copied().unwrap_or(0);
        o >= first
    }

    fn dead_letter_ack(&mut self) {
        if self.dead_letters.is_empty() {
            return;
        }
        let i = self.rng.usize(0..self.dead_letters.len());
        let job = self.dead_letters.swap_remove(i);
        let (p, o) = (job.msg.partition(), job.msg.offset());
        let ok = self.rng.f64() >= self.p_dl_fail;
        if ok && self.current(&job) {
            self.fates[p as usize].finished.insert(o);
        }
        self.note(format!("dead-letter {p}@{o} ok={ok}"));
        let result = if ok { Ok(()) } else { Err("dlq down".into()) };
        self.core.on_dead_lettered(self.now, job, result);
    }

    fn deliver(&mut self) {
        if self.core.stopping() {
            return;
        }
        let room = self
            .queue_cap
            .saturating_sub(self.core.ready_len() + self.queue.len());
        let n = self.rng.usize(1..=room.max(1));
        for _ in 0..n {
            let open: Vec<usize> = (0..self.partitions.len())
                .filter(|&i| {
                    self.assigned[i]
                        && !self.paused[i]
                        && self.cursor[i] < self.logs[i].offsets.len()
                        && self.revoke_pending.as_ref().is_none_or(|r| !r.contains(&i))
                })
                .collect();
            if open.is_empty() {
                return;
            }
            let i = open[self.rng.usize(0..open.len())];
            let o = self.logs[i].offsets[self.cursor[i]];
            self.cursor[i] += 1;
            let key = self.logs[i].keys[&o].clone();
            self.core
                .on_message(Message::new(TOPIC, i as i32, o, key, None));
        }
    }

    fn positions(&mut self) {
        let list = (0..self.partitions.len())
            .filter(|&i| self.assigned[i] && self.cursor[i] == self.logs[i].offsets.len())
            .map(|i| {
                let end = self.logs[i].offsets.last().map_or(0, |&o| o + 1 + 2);
                (self.partitions[i].clone(), end)
            })
            .collect();
        self.core.on_positions(list);
    }

    fn advance_time(&mut self) {
        let step = MS * self.rng.u32(0..100);
        let target = match self.core.next_wake() {
            Some(w) if w <= self.now + step => w,
            _ => self.now + step,
        };
        self.now = self.now.max(target);
        self.core.on_time(self.now);
        if let Some(w) = self.core.next_wake() {
            if w <= self.now {
                self.fail("next wake-up is not in the future after on_time (busy spin)");
            }
        }
    }

    fn step(&mut self) {
        match self.rng.u8(0..100) {
            0..=19 => self.deliver(),
            20..=39 => self.complete_job(),
            40..=54 => self.start_job(),
            55..=64 => self.answer_commit(),
            65..=69 => self.dead_letter_ack(),
            70..=89 => self.advance_time(),
            90..=91 if self.revoke_pending.is_none() => {
                let owned: Vec<usize> = (0..self.partitions.len())
                    .filter(|&i| self.assigned[i])
                    .collect();
                if !owned.is_empty() {
                    let pick: Vec<usize> = owned.into_iter().filter(|_| self.rng.bool()).collect();
                    if !pick.is_empty() {
                        self.note(format!("revoke {pick:?}"));
                        self.revoke_pending = Some(pick.clone());
                        let tps = pick.iter().map(|&i| self.partitions[i].clone()).collect();
                        self.core.on_revoked(self.now, tps);
                    }
                }
            }
            92..=93 => {
                let free: Vec<usize> = (0..self.partitions.len())
                    .filter(|&i| {
                        !self.assigned[i]
                            && self.revoke_pending.as_ref().is_none_or(|r| !r.contains(&i))
                    })
                    .collect();
                if !free.is_empty() {
                    self.assign(free);
                }
            }
            94 if self.revoke_pending.is_none() => {
                let owned: Vec<usize> = (0..self.partitions.len())
                    .filter(|&i| self.assigned[i])
                    .collect();
                if let Some(&i) = owned.first() {
                    self.note(format!("lost {i}"));
                    self.assigned[i] = false;
                    self.generation[i] += 1;
                    self.core.on_lost(vec![self.partitions[i].clone()]);
                }
            }
            95 => self.positions(),
            96 if !self.stop_requested => {
                self.note("stop".into());
                self.stop_requested = true;
                self.core.on_stop(self.now);
            }
            _ => self.advance_time(),
        }
        self.carry_out();
        if self.stop_at.is_none() && self.core.stopping() {
            self.stop_at = Some(self.now);
        }
        if let Some(at) = self.stop_at {
            let bound = at + self.s.shutdown_timeout + self.s.commit_timeout;
            if self.core.end().is_none() && self.now > bound {
                self.fail(&format!(
                    "stop began at {:?} and had not ended {:?} later",
                    at.duration_since(self.t0),
                    self.now.duration_since(at)
                ));
            }
        }
    }

    fn check_end(&self) {
        let end = self.core.end().expect("ended");
        match (&end, self.s.on_failure, self.first_permanent) {
            (End::Halted(h), FailurePolicy::Halt, Some((p, o)))
                if h.kind != HaltKind::Failed || (h.partition, h.offset) != (p, o) =>
            {
                self.fail(&format!(
                    "halted on {h:?}, first permanent failure was {p}@{o}"
                ));
            }
            (End::Halted(h), FailurePolicy::Halt, None) => {
                self.fail(&format!("halted without a permanent failure: {h:?}"))
            }
            _ => {}
        }
        if end == End::Stopped {
            // Every partition still here committed its finished prefix.
            for (i, tp) in self.partitions.iter().enumerate() {
                let Some(state) = self.core.partitions().get(&tp.topic, tp.partition) else {
                    continue;
                };
                let point = state.tracker.commit_point();
                let broker = self.committed[i].as_ref().map(|(o, _)| *o);
                if point.is_some() && point > broker && state.tracker.committable_offset().is_some()
                {
                    self.fail(&format!(
                        "stopped cleanly but partition {i} committed {broker:?}, finished prefix ends at {point:?}"
                    ));
                }
            }
        }
    }

    fn run(mut self, max_steps: usize) {
        let all: Vec<usize> = (0..self.partitions.len()).collect();
        self.assign(all);
        for _ in 0..max_steps {
            if self.core.end().is_some() {
                break;
            }
            self.step();
        }
        if self.core.end().is_none() {
            self.note("stop (end of schedule)".into());
            self.stop_requested = true;
            self.core.on_stop(self.now);
            self.carry_out();
            let mut guard = 0;
            while self.core.end().is_none() {
                guard += 1;
                if guard > 100_000 {
                    self.fail("no end after 100,000 steps of draining");
                }
                // Only what happens while stopping: completions, answers, time.
                match self.rng.u8(0..5) {
                    0 => self.complete_job(),
                    1 => self.start_job(),
                    2 => self.answer_commit(),
                    3 => self.dead_letter_ack(),
                    _ => self.advance_time(),
                }
                self.carry_out();
                if let Some(at) = self.stop_at {
                    let bound = at + self.s.shutdown_timeout + self.s.commit_timeout;
                    if self.core.end().is_none() && self.now > bound {
                        self.fail("the stop overran its bound");
                    }
                } else if self.core.stopping() {
                    self.stop_at = Some(self.now);
                }
            }
        }
        self.check_end();
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn random_schedules_keep_every_invariant() {
    if let Some(seed) = env_u64("BURROW_SIM_SEED") {
        Sim::new(seed).run(3000);
        return;
    }
    let n = env_u64("BURROW_SIM_SCHEDULES").unwrap_or(3000);
    let base = env_u64("BURROW_SIM_BASE").unwrap_or(0x5eed);
    for i in 0..n {
        Sim::new(base.wrapping_add(i)).run(3000);
    }
}

/// The simulation's own check: a core that commits past an unfinished message is caught.
#[test]
fn the_simulation_catches_a_commit_past_an_unfinished_message() {
    let result = std::panic::catch_unwind(|| {
        let mut sim = Sim::new(7);
        sim.assign(vec![0]);
        let tp = sim.partitions[0].clone();
        let first = sim.logs[0].offsets[0];
        sim.commits.push_back(CommitRequest {
            id: 999,
            kind: crate::offsets::commit::CommitKind::Periodic,
            parts: vec![crate::offsets::commit::CommitPart {
                tp,
                offset: first + 2,
                metadata: String::new(),
            }],
        });
        sim.p_commit_fail = 0.0;
        sim.p_commit_lost = 0.0;
        sim.answer_commit();
    });
    let err = result.expect_err("a bad commit must be caught");
    let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("passes unfinished offset"), "{text}");
    assert!(text.contains("BURROW_SIM_SEED=7"), "{text}");
}
