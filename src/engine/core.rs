//! The coordinator core: every decision of the pool, as a pure state machine.
//!
//! The core takes events — messages, worker reports, dead-letter acknowledgements, commit
//! answers, assignments, revocations, lost partitions, a stop request, the passing of time — and
//! answers with [`Effect`]s for the I/O rim to carry out (commit requests, pause / resume,
//! dead-letter copies, the end of a revocation). Jobs for workers are pulled with
//! [`Core::next_job`]. It never touches a socket, a thread or a clock: `now` is always passed in,
//! and randomness (retry jitter) comes from a seeded generator. That is what lets
//! `src/engine/sim.rs` drive it through thousands of random schedules and check its invariants
//! after every step.
//!
//! Life of a pool: `Running` → (stop request, halt, or fatal error) `Draining` (nothing new is
//! dispatched, running work gets `burrow.shutdown.timeout.ms`) → `Committing` (the final commit,
//! retried while retriable, bounded by `burrow.commit.timeout.ms`) → finished with an [`End`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{FailurePolicy, PoolSettings, ProcessingOrder};
use crate::engine::job::{Job, SpareJobs};
use crate::engine::partition::{PartitionState, Partitions};
use crate::engine::retry::{backoff, RetryQueue};
use crate::message::{Message, TopicPartition};
use crate::observe::metrics::PartitionMetrics;
use crate::observe::stats::{Counters, PartitionStats};
use crate::offsets::commit::{self, CommitAnswer, CommitKind, CommitPart, CommitRequest, Planned};
use crate::offsets::metadata;
use crate::outcome::Outcome;

/// A partition just assigned, with what the broker holds for it.
#[derive(Debug, Clone)]
pub(crate) struct Assigned {
    pub tp: TopicPartition,
    /// The committed offset (next offset to read), if any.
    pub committed: Option<i64>,
    /// The metadata committed with it.
    pub metadata: String,
}

/// What the core asks the I/O rim to do.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Hand this request to the committer; its answer comes back through [`Core::on_commit_answer`].
    Commit(CommitRequest),
    /// Pause fetching a partition (backpressure, or a stopping pool).
    Pause(TopicPartition),
    /// Resume fetching a partition.
    Resume(TopicPartition),
    /// Produce a dead-letter copy of this job's message; the acknowledgement (or a local refusal)
    /// comes back through [`Core::on_dead_lettered`].
    DeadLetter(Job),
    /// The pending revocation is complete: release the rebalance callback.
    RevokeDone,
    /// Give back, through [`Core::on_unstarted`], every job still queued for the workers.
    TakeBackQueued,
}

/// Why a pool halted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaltReason {
    /// What happened.
    pub kind: HaltKind,
    /// Topic of the message that halted the pool.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset: the partition's committed offset stops here.
    pub offset: i64,
    /// The last error of the message (processing error or dead-letter produce error).
    pub cause: String,
}

/// The kinds of halt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HaltKind {
    /// `burrow.on.failure=halt`: a message failed permanently.
    Failed,
    /// `skip` / `dead-letter`: `burrow.max.consecutive.errors` messages failed permanently in a row.
    ConsecutiveFailures(u32),
    /// `dead-letter`: the copy could not be produced after `burrow.max.retries` retries.
    DeadLetterFailed,
}

impl fmt::Display for HaltReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = format!("{}[{}]@{}", self.topic, self.partition, self.offset);
        match self.kind {
            HaltKind::Failed => write!(f, "message {at} failed permanently: {}", self.cause),
            HaltKind::ConsecutiveFailures(n) => write!(
                f,
                "{n} consecutive messages failed permanently; the last, {at}: {}",
                self.cause
            ),
            HaltKind::DeadLetterFailed => write!(
                f,
                "message {at} could not be written to the dead-letter topic: {}",
                self.cause
            ),
        }
    }
}

/// How a finished run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Stopped on request (or after a fatal consumer error); the final commit succeeded.
    Stopped,
    /// The failure policy stopped the pool.
    Halted(HaltReason),
    /// The final commit failed for these partitions: their finished work will be processed again.
    CommitFailed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Stopping: running work may finish until `deadline`.
    Draining {
        deadline: Instant,
    },
    /// The final commit: until `deadline`, retried at `retry_at` while retriable.
    Committing {
        deadline: Instant,
        retry_at: Option<Instant>,
    },
    Finished,
}

/// Why a message is considered finished.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finish {
    Processed,
    Skipped,
    DeadLettered,
}

struct PendingRevoke {
    partitions: Vec<TopicPartition>,
    deadline: Instant,
    /// The revocation commit has been sent (or there was nothing to commit).
    committing: bool,
}

struct InFlight {
    id: u64,
    kind: CommitKind,
    since: Instant,
    parts: Vec<(TopicPartition, u64, Planned)>,
}

/// Longest pause between two tries of a retriable final or revocation commit.
const COMMIT_RETRY: Duration = Duration::from_millis(200);

/// The decisions of one pool. See the [module documentation](self).
pub(crate) struct Core {
    s: PoolSettings,
    counters: Arc<Counters>,
    rng: fastrand::Rng,
    partitions: Partitions,
    ready: VecDeque<Job>,
    /// Boxes of finished jobs, for the next messages.
    spare: SpareJobs,
    retries: RetryQueue,
    effects: VecDeque<Effect>,
    next_epoch: u64,
    consecutive_failures: u32,
    phase: Phase,
    halt: Option<HaltReason>,
    commit_failed: Option<String>,
    revoke: Option<PendingRevoke>,
    // Commit timing and the request in flight.
    finished_since: usize,
    next_commit: Instant,
    in_flight: Option<InFlight>,
    next_request: u64,
    /// Metadata budget; lowered when the broker refuses metadata as too large.
    metadata_max_bytes: usize,
}

impl Core {
    pub fn new(settings: PoolSettings, counters: Arc<Counters>, seed: u64, now: Instant) -> Self {
        let metadata_max_bytes = if settings.commit_metadata {
            settings.commit_metadata_max_bytes
        } else {
            0
        };
        Self {
            next_commit: now + settings.commit_interval,
            s: settings,
            counters,
            rng: fastrand::Rng::with_seed(seed),
            partitions: Partitions::default(),
            ready: VecDeque::new(),
            spare: SpareJobs::default(),
            retries: RetryQueue::default(),
            effects: VecDeque::new(),
            next_epoch: 1,
            consecutive_failures: 0,
            phase: Phase::Running,
            halt: None,
            commit_failed: None,
            revoke: None,
            finished_since: 0,
            in_flight: None,
            next_request: 1,
            metadata_max_bytes,
        }
    }

    // ----- what the rim reads -------------------------------------------------------------

    /// The next effect to carry out.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The next job for a worker, if one is ready. The job counts as outstanding until its report
    /// comes back (or it is given back with [`Core::on_unstarted`]).
    pub fn next_job(&mut self) -> Option<Job> {
        while let Some(job) = self.ready.pop_front() {
            let Some(state) = self.partitions.for_job(&job) else {
                continue; // revoked or lost meanwhile
            };
            if state.revoking || self.phase != Phase::Running {
                continue;
            }
            state.outstanding += 1;
            return Some(job);
        }
        None
    }

    /// Jobs ready for a worker and not yet taken.
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// When the core next needs [`Core::on_time`] called, at the latest.
    pub fn next_wake(&self) -> Option<Instant> {
        let mut wake: Option<Instant> = None;
        let mut at = |t: Instant| wake = Some(wake.map_or(t, |w: Instant| w.min(t)));
        // A commit in flight is waited for (up to its timeout); other commit timers only count
        // when a commit could be sent.
        let idle = self.in_flight.is_none();
        match self.phase {
            Phase::Finished => return None,
            Phase::Running => {
                if idle && self.revoke.is_none() {
                    at(self.next_commit);
                }
            }
            Phase::Draining { deadline } => at(deadline),
            Phase::Committing { deadline, retry_at } => {
                at(deadline);
                if let Some(r) = retry_at.filter(|_| idle && self.revoke.is_none()) {
                    at(r);
                }
            }
        }
        if let Some(f) = &self.in_flight {
            at(f.since + self.s.commit_timeout);
        }
        if let Some(due) = self.retries.next_due() {
            at(due);
        }
        if let Some(r) = &self.revoke {
            if !r.committing && idle {
                at(r.deadline);
            }
        }
        wake
    }

    /// How the run ended, once it has.
    pub fn end(&self) -> Option<End> {
        if self.phase != Phase::Finished {
            return None;
        }
        Some(if let Some(h) = &self.halt {
            End::Halted(h.clone())
        } else if let Some(e) = &self.commit_failed {
            End::CommitFailed(e.clone())
        } else {
            End::Stopped
        })
    }

    /// Whether the pool is stopping (or stopped): messages are no longer taken.
    pub fn stopping(&self) -> bool {
        self.phase != Phase::Running
    }

    /// Whether every report should be handled as soon as it arrives (stopping or revoking: the
    /// drain waits for them). Otherwise reports may wait while the workers have queued work.
    pub fn wants_reports_now(&self) -> bool {
        self.phase != Phase::Running || self.revoke.is_some()
    }

    /// Jobs handed out (to workers, deferred completions, the dead-letter producer) and not back.
    pub fn outstanding(&self) -> usize {
        self.partitions.iter().map(|s| s.outstanding).sum()
    }

    // ----- events ---------------------------------------------------------------------------

    /// A message polled from Kafka.
    pub fn on_message(&mut self, msg: Message) {
        if self.phase != Phase::Running {
            return; // not recorded: it stays uncommitted and is read again by the next owner
        }
        let order = self.s.ordering;
        let cap = self.s.max_inflight_per_partition;
        let Some(state) = self.partitions.get_mut(msg.topic(), msg.partition()) else {
            tracing::debug!(
                topic = msg.topic(),
                partition = msg.partition(),
                offset = msg.offset(),
                "message for a partition not assigned here; ignored"
            );
            return;
        };
        if state.revoking {
            return;
        }
        let seq = match state.tracker.record_inflight(msg.offset()) {
            Ok(seq) => seq,
            Err(e) => {
                tracing::debug!(topic = msg.topic(), partition = msg.partition(), error = %e,
                    "message already seen; ignored");
                return;
            }
        };
        if state.skip.contains(msg.offset()) {
            state.tracker.mark_processed(seq);
            Counters::bump(&self.counters.skipped_from_metadata);
            if let Some(m) = &self.counters.metrics {
                m.skipped_from_metadata.inc();
            }
            return;
        }
        let job = self.spare.make(msg, state.epoch, seq);
        if let Some(job) = state.gate.admit(order, job) {
            self.ready.push_back(job);
        }
        if !state.paused && state.over_high_watermark(cap) {
            state.paused = true;
            self.effects.push_back(Effect::Pause(state.tp.clone()));
            Counters::bump(&self.counters.pauses);
            if let Some(m) = &self.counters.metrics {
                m.pauses.inc();
            }
        }
    }

    /// The consumer's fetch positions: a partition with nothing unfinished may commit up to its
    /// position (past transaction markers and other records the consumer never hands out).
    pub fn on_positions(&mut self, list: Vec<(TopicPartition, i64)>) {
        if self.phase != Phase::Running {
            return; // messages below the position may have been dropped unrecorded
        }
        for (tp, position) in list {
            if let Some(state) = self.partitions.get_mut(&tp.topic, tp.partition) {
                if !state.revoking && state.tracker.skip_to_position(position) {
                    tracing::debug!(topic = %tp.topic, partition = tp.partition, position,
                        "finished partition advanced to the consumer position");
                }
            }
        }
    }

    /// Partitions assigned to this member.
    pub fn on_assigned(&mut self, list: Vec<Assigned>) {
        self.count_rebalance("assign");
        for a in list {
            let skip = match (a.committed, a.metadata.is_empty()) {
                (Some(committed), false) => match metadata::decode(committed, &a.metadata) {
                    Ok(set) => set,
                    Err(e) => {
                        Counters::bump(&self.counters.metadata_invalid);
                        if let Some(m) = &self.counters.metrics {
                            m.metadata_invalid.inc();
                        }
                        tracing::warn!(topic = %a.tp.topic, partition = a.tp.partition, error = %e,
                            "ignoring commit metadata that is not Burrow's or is malformed");
                        Default::default()
                    }
                },
                _ => Default::default(),
            };
            tracing::info!(topic = %a.tp.topic, partition = a.tp.partition, committed = ?a.committed,
                finished_above = skip.len(), "partition assigned");
            let epoch = self.next_epoch;
            self.next_epoch += 1;
            let mut state = PartitionState::new(a.tp, epoch, a.committed, skip);
            state.metrics = self
                .counters
                .metrics
                .as_ref()
                .map(|m| m.partition(&state.tp.topic, state.tp.partition));
            if self.phase != Phase::Running {
                state.paused = true;
                self.effects.push_back(Effect::Pause(state.tp.clone()));
            }
            self.partitions.insert(state);
        }
    }

    /// Partitions being taken away: stop dispatching them, let their running work finish
    /// (bounded by `burrow.shutdown.timeout.ms`), commit them, then [`Effect::RevokeDone`].
    pub fn on_revoked(&mut self, now: Instant, partitions: Vec<TopicPartition>) {
        self.count_rebalance("revoke");
        for tp in &partitions {
            if let Some(state) = self.partitions.get_mut(&tp.topic, tp.partition) {
                state.revoking = true;
                state.gate = Default::default();
            }
        }
        let parts = &self.partitions;
        self.retries.retain(|j| {
            parts
                .get(j.msg.topic(), j.msg.partition())
                .is_some_and(|s| !s.revoking)
        });
        self.ready.retain(|j| {
            parts
                .get(j.msg.topic(), j.msg.partition())
                .is_some_and(|s| !s.revoking)
        });
        // Jobs no worker started come back; those of revoked partitions are dropped.
        self.effects.push_back(Effect::TakeBackQueued);
        self.revoke = Some(PendingRevoke {
            partitions,
            deadline: now + self.s.shutdown_timeout,
            committing: false,
        });
        self.advance(now);
    }

    /// Partitions lost without an orderly revocation (session timeout): dropped, not committed.
    pub fn on_lost(&mut self, partitions: Vec<TopicPartition>) {
        self.count_rebalance("lost");
        for tp in &partitions {
            if let Some(state) = self.partitions.remove(tp) {
                self.forget_series(&state);
            }
        }
        let parts = &self.partitions;
        self.retries
            .retain(|j| parts.get(j.msg.topic(), j.msg.partition()).is_some());
    }

    /// A job given back unstarted (taken out of the workers' queue).
    pub fn on_unstarted(&mut self, job: Job) {
        let running = self.phase == Phase::Running;
        if let Some(state) = self.partitions.for_job(&job) {
            state.outstanding -= 1;
            if running && !state.revoking {
                self.ready.push_front(job);
            }
        }
    }

    /// A stop request (API, signal, Go context).
    pub fn on_stop(&mut self, now: Instant) {
        self.begin_stop(now);
    }

    /// The consumer cannot go on.
    pub fn on_fatal(&mut self, now: Instant) {
        self.begin_stop(now);
    }

    /// A worker (or a deferred completion) finished a job.
    pub fn on_processed(&mut self, now: Instant, mut job: Job, outcome: Outcome) {
        let Some(going) = self.take_report(&job) else {
            return;
        };
        let (error, retriable) = match outcome {
            Outcome::Done => {
                self.finish(now, job, Finish::Processed);
                return self.advance(now);
            }
            Outcome::Retry(e) => (e, true),
            Outcome::Fail(e) => (e, false),
        };
        let m = &job.msg;
        if retriable && going {
            // Not a permanent failure: it stays unfinished and is read again by the next owner.
            tracing::debug!(topic = m.topic(), partition = m.partition(), offset = m.offset(),
                error = %error, "retriable failure while stopping; left unfinished");
            return self.advance(now);
        }
        if retriable && job.attempt < self.s.max_retries {
            let delay = self.backoff(job.attempt);
            tracing::debug!(topic = m.topic(), partition = m.partition(), offset = m.offset(),
                attempt = job.attempt + 1, error = %error, ?delay, "retrying");
            job.attempt += 1;
            job.last_error = Some(error);
            Counters::bump(&self.counters.retried);
            if let Some(pm) = self.metrics_of(&job) {
                pm.errors_retriable.inc();
                pm.retries.inc();
            }
            self.retries.push(now + delay, job);
            return;
        }
        Counters::bump(&self.counters.failed);
        if let Some(pm) = self.metrics_of(&job) {
            if retriable {
                pm.errors_retriable.inc();
            } else {
                pm.errors_permanent.inc();
            }
            pm.failed.inc();
        }
        tracing::error!(topic = m.topic(), partition = m.partition(), offset = m.offset(),
            attempts = job.attempt + 1, error = %error, policy = ?self.s.on_failure,
            "message failed permanently");
        self.consecutive_failures += 1;
        let limit = self.s.max_consecutive_errors.max(1);
        let kind = match self.s.on_failure {
            FailurePolicy::Halt => Some(HaltKind::Failed),
            _ if self.consecutive_failures >= limit => {
                Some(HaltKind::ConsecutiveFailures(self.consecutive_failures))
            }
            _ => None,
        };
        if let Some(kind) = kind {
            // The message stays unfinished (and its key busy): the commit stops at it.
            self.halt_on(now, kind, &job.msg, error);
            return self.advance(now);
        }
        match self.s.on_failure {
            FailurePolicy::DeadLetter => {
                job.last_error = Some(error);
                self.send_dead_letter(job);
            }
            _ => self.finish(now, job, Finish::Skipped),
        }
        self.advance(now);
    }

    /// The dead-letter producer acknowledged (or refused) a copy.
    pub fn on_dead_lettered(&mut self, now: Instant, mut job: Job, result: Result<(), String>) {
        let Some(going) = self.take_report(&job) else {
            return;
        };
        match result {
            Ok(()) => self.finish(now, job, Finish::DeadLettered),
            Err(e) => {
                Counters::bump(&self.counters.dead_letter_failures);
                tracing::warn!(topic = job.msg.topic(), partition = job.msg.partition(),
                    offset = job.msg.offset(), error = %e, "dead-letter produce failed");
                if going {
                    // left unfinished: read again by the next owner
                } else if job.dead_letter_attempts >= self.s.max_retries {
                    self.halt_on(now, HaltKind::DeadLetterFailed, &job.msg, e);
                } else {
                    let delay = self.backoff(job.dead_letter_attempts);
                    job.dead_letter_attempts += 1;
                    job.dead_letter = true;
                    self.retries.push(now + delay, job);
                }
            }
        }
        self.advance(now);
    }

    /// The committer's answer to a commit request.
    pub fn on_commit_answer(&mut self, now: Instant, answer: CommitAnswer) {
        let Some(f) = self.in_flight.take_if(|f| f.id == answer.id) else {
            tracing::debug!(
                id = answer.id,
                "commit answer for a request given up on; ignored"
            );
            return;
        };
        let mut failed: Vec<String> = Vec::new();
        let mut retriable = true;
        for pa in answer.parts {
            let planned = f
                .parts
                .iter()
                .find(|(tp, _, p)| *tp == pa.tp && p.offset == pa.offset);
            let Some((_, epoch, plan)) = planned else {
                continue;
            };
            if pa.metadata_refused {
                Counters::bump(&self.counters.metadata_refused);
                let refused = plan.metadata.len();
                self.metadata_max_bytes = self.metadata_max_bytes.min(refused / 2);
                tracing::warn!(topic = %pa.tp.topic, partition = pa.tp.partition, bytes = refused,
                    budget = self.metadata_max_bytes,
                    "the broker refused the commit metadata as too large; committed the offset alone");
            }
            match pa.result {
                Ok(()) => {
                    if let Some(state) =
                        self.partitions
                            .current_mut(&pa.tp.topic, pa.tp.partition, *epoch)
                    {
                        let mut plan = plan.clone();
                        if pa.metadata_refused {
                            plan.metadata.clear();
                        }
                        applied(state, plan, &self.counters);
                    }
                }
                Err(e) => {
                    Counters::bump(&self.counters.commit_failures);
                    if let Some(m) = &self.counters.metrics {
                        m.commit_failures.inc();
                    }
                    tracing::warn!(topic = %pa.tp.topic, partition = pa.tp.partition,
                        offset = pa.offset, error = %e.message, kind = ?f.kind, "commit failed");
                    retriable &= e.retriable;
                    failed.push(format!(
                        "{}[{}]@{}: {}",
                        pa.tp.topic, pa.tp.partition, pa.offset, e.message
                    ));
                }
            }
        }
        match f.kind {
            CommitKind::Periodic => {}
            CommitKind::Revoke => {
                let past = self.revoke.as_ref().is_some_and(|r| now >= r.deadline);
                if !failed.is_empty() && retriable && !past {
                    // try again (the revoke deadline bounds it)
                    if let Some(r) = &mut self.revoke {
                        r.committing = false;
                    }
                } else {
                    if !failed.is_empty() {
                        tracing::warn!(failed = %failed.join("; "),
                            "revocation commit failed; the next owner processes that work again");
                    }
                    self.complete_revoke();
                }
            }
            CommitKind::Final => {
                if failed.is_empty() {
                    self.phase = Phase::Finished;
                } else if let Phase::Committing { deadline, .. } = self.phase {
                    let next = now + COMMIT_RETRY;
                    if retriable && next < deadline {
                        self.phase = Phase::Committing {
                            deadline,
                            retry_at: Some(next),
                        };
                    } else {
                        self.fail_final_commit(failed.join("; "));
                    }
                }
            }
        }
        self.advance(now);
    }

    /// The committer thread is gone: no commit can be made any more.
    pub fn on_committer_gone(&mut self) {
        if self.phase == Phase::Finished {
            return;
        }
        tracing::error!("the committer thread ended; stopping");
        self.in_flight = None;
        self.commit_failed
            .get_or_insert_with(|| "the committer thread ended".to_string());
        Counters::bump(&self.counters.final_commit_failures);
        self.phase = Phase::Finished;
        if self.revoke.take().is_some() {
            self.effects.push_back(Effect::RevokeDone);
        }
    }

    /// Time has passed: due retries, commit triggers, deadlines.
    pub fn on_time(&mut self, now: Instant) {
        while let Some(mut job) = self.retries.pop_due(now) {
            if job.dead_letter {
                job.dead_letter = false;
                if self.partitions.for_job(&job).is_some() {
                    self.send_dead_letter(job);
                }
            } else {
                self.ready.push_back(job);
            }
        }
        if let Some(f) = &self.in_flight {
            if now >= f.since + self.s.commit_timeout {
                let f = self.in_flight.take().expect("checked");
                Counters::bump(&self.counters.commit_timeouts);
                tracing::warn!(id = f.id, kind = ?f.kind, timeout = ?self.s.commit_timeout,
                    "no answer to an offset commit in time; giving up on it");
                match f.kind {
                    CommitKind::Periodic => {}
                    CommitKind::Revoke => self.complete_revoke(),
                    CommitKind::Final => self.fail_final_commit(format!(
                        "no answer from the broker within {:?}",
                        self.s.commit_timeout
                    )),
                }
            }
        }
        self.advance(now);
    }

    // ----- stats ------------------------------------------------------------------------------

    /// Records how long a processor took.
    pub fn observe_duration(&self, elapsed: Duration) {
        if let Some(m) = &self.counters.metrics {
            m.duration.observe(elapsed.as_secs_f64());
        }
    }

    /// Publishes counters and per-partition figures; `in_queue` is how many jobs wait in the
    /// workers' queue, `end_of` gives a partition's end offset.
    pub fn publish_stats(
        &mut self,
        now: Instant,
        in_queue: usize,
        end_of: impl Fn(&TopicPartition) -> Option<i64>,
    ) {
        let mut inflight = 0;
        let mut waiting = 0;
        let mut parts = Vec::new();
        for state in self.partitions.iter_mut() {
            state.note_progress(now);
            inflight += state.tracker.inflight_count();
            waiting += state.gate.waiting();
            let snapshot = state.snapshot(now, end_of(&state.tp));
            if let Some(pm) = &state.metrics {
                pm.inflight.set(snapshot.inflight as i64);
                pm.paused.set(i64::from(snapshot.paused));
                let age = snapshot
                    .oldest_unfinished_age
                    .map_or(0.0, |d| d.as_secs_f64());
                pm.oldest_age.set(age);
                if let (Some(lag), Some(m)) = (snapshot.lag, &self.counters.metrics) {
                    m.set_lag(pm, lag);
                }
            }
            parts.push(snapshot);
        }
        parts
            .sort_by(|a: &PartitionStats, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        let c = &self.counters;
        c.inflight.store(inflight, Ordering::Relaxed);
        if let Some(m) = &c.metrics {
            let workers = self.s.workers.max(1) as f64;
            m.worker_utilization.set(c.busy.count() as f64 / workers);
        }
        c.queued.store(
            in_queue + waiting + self.ready.len() + self.retries.len(),
            Ordering::Relaxed,
        );
        if let Ok(mut p) = c.partitions.lock() {
            *p = parts;
        }
    }

    // ----- internals --------------------------------------------------------------------------

    /// Moves every pending decision forward: commits, revocation, the stop.
    fn advance(&mut self, now: Instant) {
        self.advance_revoke(now);
        match self.phase {
            Phase::Running => {
                let due = self.finished_since >= self.s.commit_batch_size.max(1)
                    || now >= self.next_commit;
                if due && self.in_flight.is_none() && self.revoke.is_none() {
                    self.finished_since = 0;
                    self.next_commit = now + self.s.commit_interval;
                    self.send_commit(now, CommitKind::Periodic, |s| !s.revoking);
                }
            }
            Phase::Draining { deadline } => {
                if self.outstanding() == 0 || now >= deadline {
                    let left = self.outstanding();
                    if left > 0 {
                        Counters::bump(&self.counters.stop_timeouts);
                        tracing::warn!(
                            left,
                            "messages still running at the shutdown deadline; left unfinished"
                        );
                    }
                    self.phase = Phase::Committing {
                        deadline: now + self.s.commit_timeout,
                        retry_at: Some(now),
                    };
                }
            }
            Phase::Committing { .. } | Phase::Finished => {}
        }
        if let Phase::Committing { deadline, retry_at } = self.phase {
            if now >= deadline {
                // The stop's bound: whatever is still in flight is given up.
                self.in_flight = None;
                self.fail_final_commit(format!(
                    "not committed within burrow.commit.timeout.ms ({:?})",
                    self.s.commit_timeout
                ));
            } else if self.revoke.is_none()
                && self.in_flight.is_none()
                && retry_at.is_some_and(|r| now >= r)
            {
                self.phase = Phase::Committing {
                    deadline,
                    retry_at: None,
                };
                if !self.send_commit(now, CommitKind::Final, |_| true) {
                    self.phase = Phase::Finished;
                }
            }
        }
    }

    fn advance_revoke(&mut self, now: Instant) {
        let Some(r) = &self.revoke else { return };
        if r.committing || self.in_flight.is_some() {
            return;
        }
        let drained = r.partitions.iter().all(|tp| {
            self.partitions
                .get(&tp.topic, tp.partition)
                .is_none_or(|s| s.outstanding == 0)
        });
        if !drained && now < r.deadline {
            return;
        }
        if !drained {
            Counters::bump(&self.counters.revoke_timeouts);
            tracing::warn!(
                "revoked partitions still had running work at the deadline; handing them over"
            );
        }
        let tps = r.partitions.clone();
        let sent = self.send_commit(now, CommitKind::Revoke, |s| {
            s.revoking && tps.contains(&s.tp)
        });
        if sent {
            if let Some(r) = &mut self.revoke {
                r.committing = true;
            }
        } else {
            self.complete_revoke();
        }
    }

    fn complete_revoke(&mut self) {
        let Some(r) = self.revoke.take() else { return };
        for tp in &r.partitions {
            if let Some(s) = self.partitions.remove(tp) {
                self.forget_series(&s);
                tracing::info!(topic = %s.tp.topic, partition = s.tp.partition,
                    committed = ?s.tracker.last_committed(), "partition handed over");
            }
        }
        self.effects.push_back(Effect::RevokeDone);
    }

    /// Plans a commit of the partitions `which` selects and sends it. Returns false when there
    /// was nothing to commit.
    fn send_commit(
        &mut self,
        now: Instant,
        kind: CommitKind,
        which: impl Fn(&PartitionState) -> bool,
    ) -> bool {
        let budget = self.metadata_max_bytes;
        let mut planned = Vec::new();
        for s in self.partitions.iter_mut() {
            if !which(s) {
                continue;
            }
            s.note_progress(now);
            if let Some(p) = commit::plan(&s.tracker, &s.last_metadata, budget) {
                planned.push((s.tp.clone(), s.epoch, p));
            }
        }
        if planned.is_empty() {
            return false;
        }
        let id = self.next_request;
        self.next_request += 1;
        let parts = planned
            .iter()
            .map(|(tp, _, p)| CommitPart {
                tp: tp.clone(),
                offset: p.offset,
                metadata: p.metadata.clone(),
            })
            .collect();
        self.effects
            .push_back(Effect::Commit(CommitRequest { id, kind, parts }));
        self.in_flight = Some(InFlight {
            id,
            kind,
            since: now,
            parts: planned,
        });
        true
    }

    fn fail_final_commit(&mut self, why: String) {
        Counters::bump(&self.counters.final_commit_failures);
        tracing::error!(error = %why, "the final offset commit failed");
        self.commit_failed = Some(why);
        self.phase = Phase::Finished;
    }

    fn halt_on(&mut self, now: Instant, kind: HaltKind, msg: &Message, cause: String) {
        if self.halt.is_none() {
            let reason = HaltReason {
                kind,
                topic: msg.topic().to_string(),
                partition: msg.partition(),
                offset: msg.offset(),
                cause,
            };
            tracing::error!(reason = %reason, "halting the pool");
            Counters::bump(&self.counters.halts);
            self.halt = Some(reason);
        }
        self.begin_stop(now);
    }

    fn begin_stop(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        tracing::info!(
            outstanding = self.outstanding(),
            "stopping: draining in-flight work"
        );
        self.phase = Phase::Draining {
            deadline: now + self.s.shutdown_timeout,
        };
        self.ready.clear();
        self.retries.retain(|_| false);
        self.effects.push_back(Effect::TakeBackQueued);
        for state in self.partitions.iter_mut() {
            state.gate = Default::default();
            if !state.paused {
                state.paused = true;
                self.effects.push_back(Effect::Pause(state.tp.clone()));
            }
        }
        self.advance(now);
    }

    fn send_dead_letter(&mut self, job: Job) {
        if let Some(state) = self.partitions.for_job(&job) {
            state.outstanding += 1;
            self.effects.push_back(Effect::DeadLetter(job));
        }
    }

    /// Marks a job finished: its offset may now be committed, and the next message of its key runs.
    fn finish(&mut self, _now: Instant, job: Job, how: Finish) {
        let order: ProcessingOrder = self.s.ordering;
        let running = self.phase == Phase::Running;
        let Some(state) = self.partitions.for_job(&job) else {
            return;
        };
        state.tracker.mark_processed(job.seq);
        if let Some(next) = state.gate.release(order, &job.msg) {
            if !state.revoking && running {
                self.ready.push_back(next);
            }
        }
        let cap = self.s.max_inflight_per_partition;
        if running && state.paused && state.under_low_watermark(cap) && !state.revoking {
            state.paused = false;
            self.effects.push_back(Effect::Resume(state.tp.clone()));
        }
        let (counter, series) = match how {
            Finish::Processed => {
                self.consecutive_failures = 0;
                (
                    &self.counters.processed,
                    state.metrics.as_ref().map(|m| &m.succeeded),
                )
            }
            Finish::Skipped => (
                &self.counters.skipped,
                state.metrics.as_ref().map(|m| &m.skipped),
            ),
            Finish::DeadLettered => (
                &self.counters.dead_lettered,
                state.metrics.as_ref().map(|m| &m.dead_lettered),
            ),
        };
        Counters::bump(counter);
        if let Some(series) = series {
            series.inc();
        }
        self.finished_since += 1;
        self.spare.recycle(job);
    }

    fn forget_series(&self, state: &PartitionState) {
        if let (Some(m), Some(pm)) = (&self.counters.metrics, &state.metrics) {
            m.remove_partition(pm);
        }
    }

    fn count_rebalance(&self, kind: &str) {
        Counters::bump(&self.counters.rebalances);
        if let Some(m) = &self.counters.metrics {
            m.rebalance(kind);
        }
    }

    /// Takes a report of `job` in: `None` when it is late (its assignment is gone, or the stop's
    /// drain is over), else whether its partition is going away (revoked or stopping).
    fn take_report(&mut self, job: &Job) -> Option<bool> {
        let running = self.phase == Phase::Running;
        let state = match self.past_drain() {
            true => None,
            false => self.partitions.for_job(job),
        };
        let Some(state) = state else {
            self.count_late_result();
            return None;
        };
        state.outstanding -= 1;
        Some(state.revoking || !running)
    }

    /// The Prometheus series of a job's partition, when metrics are on.
    fn metrics_of(&self, job: &Job) -> Option<&PartitionMetrics> {
        self.partitions
            .get(job.msg.topic(), job.msg.partition())
            .filter(|s| s.epoch == job.epoch)
            .and_then(|s| s.metrics.as_ref())
    }

    /// The delay before retry number `attempt` (processing or dead-letter produce).
    fn backoff(&mut self, attempt: u32) -> Duration {
        let s = &self.s;
        backoff(
            s.retry_backoff,
            s.retry_backoff_max,
            attempt,
            s.retry_jitter,
            self.rng.f64(),
        )
    }

    /// Whether the stop's drain is over: results arriving now are not committed (the final commit
    /// is planned), so they are not counted as finished either.
    fn past_drain(&self) -> bool {
        matches!(self.phase, Phase::Committing { .. } | Phase::Finished)
    }

    fn count_late_result(&self) {
        Counters::bump(&self.counters.late_discarded);
        if let Some(m) = &self.counters.metrics {
            m.late_discarded.inc();
        }
    }

    // ----- for the simulation's invariant checks ----------------------------------------------

    #[cfg(test)]
    pub fn partitions(&self) -> &Partitions {
        &self.partitions
    }
}

/// Records a partition's successful commit.
fn applied(state: &mut PartitionState, plan: Planned, counters: &Counters) {
    state.tracker.commit_offset(plan.offset);
    state.last_metadata = plan.metadata;
    Counters::bump(&counters.commits);
    if let Some(m) = &state.metrics {
        m.committed.inc();
        m.metadata_bytes.set(state.last_metadata.len() as i64);
    }
    if plan.overflow {
        Counters::bump(&counters.metadata_overflows);
        if let Some(m) = &counters.metrics {
            m.metadata_overflows.inc();
        }
        tracing::warn!(topic = %state.tp.topic, partition = state.tp.partition,
            "commit metadata too large; kept only the finished offsets that fit");
    }
    tracing::debug!(topic = %state.tp.topic, partition = state.tp.partition, offset = plan.offset, "committed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::offsets::commit::{CommitError, PartAnswer};

    const MS: Duration = Duration::from_millis(1);

    fn core(pairs: &[(&str, &str)]) -> (Core, Instant) {
        let mut c = Config::new();
        c.set("burrow.commit.interval.ms", "100").unwrap();
        c.set("burrow.commit.timeout.ms", "1000").unwrap();
        c.set("burrow.shutdown.timeout.ms", "500").unwrap();
        for (k, v) in pairs {
            c.set(k, v).unwrap();
        }
        let t0 = Instant::now();
        let core = Core::new(
            c.pool_settings().unwrap(),
            Arc::new(Counters::new(false, 0)),
            1,
            t0,
        );
        (core, t0)
    }

    fn tp(p: i32) -> TopicPartition {
        TopicPartition {
            topic: Arc::from("t"),
            partition: p,
        }
    }

    fn assign(core: &mut Core, parts: &[i32]) {
        core.on_assigned(
            parts
                .iter()
                .map(|&p| Assigned {
                    tp: tp(p),
                    committed: Some(0),
                    metadata: String::new(),
                })
                .collect(),
        );
    }

    fn msg(p: i32, offset: i64, key: Option<&str>) -> Message {
        Message::new("t", p, offset, key.map(|k| k.as_bytes().to_vec()), None)
    }

    fn commits(core: &mut Core) -> Vec<CommitRequest> {
        let mut out = Vec::new();
        while let Some(e) = core.poll_effect() {
            if let Effect::Commit(r) = e {
                out.push(r);
            }
        }
        out
    }

    fn ok(req: &CommitRequest) -> CommitAnswer {
        CommitAnswer {
            id: req.id,
            parts: req
                .parts
                .iter()
                .map(|p| PartAnswer {
                    tp: p.tp.clone(),
                    offset: p.offset,
                    result: Ok(()),
                    metadata_refused: false,
                })
                .collect(),
        }
    }

    fn committed(core: &Core, p: i32) -> Option<i64> {
        core.partitions()
            .get("t", p)
            .and_then(|s| s.tracker.last_committed())
    }

    /// Processes offsets `0..n` of partition `p` successfully.
    fn process(core: &mut Core, now: Instant, p: i32, n: i64) {
        for o in 0..n {
            core.on_message(msg(p, o, None));
        }
        while let Some(job) = core.next_job() {
            core.on_processed(now, job, Outcome::Done);
        }
    }

    #[test]
    fn halt_stops_at_the_first_permanent_failure_and_keeps_its_key_busy() {
        let (mut c, t0) = core(&[("burrow.ordering", "key"), ("burrow.max.retries", "0")]);
        assign(&mut c, &[0]);
        c.on_message(msg(0, 0, Some("a")));
        c.on_message(msg(0, 1, Some("a")));
        c.on_message(msg(0, 2, Some("b")));
        let first = c.next_job().unwrap();
        let other = c.next_job().unwrap();
        assert_eq!((first.msg.offset(), other.msg.offset()), (0, 2));
        c.on_processed(t0, first, Outcome::fail("boom"));
        assert!(c.stopping(), "halted at once");
        assert!(c.next_job().is_none(), "offset 1 of key a never starts");
        c.on_processed(t0, other, Outcome::Done);
        let reqs = commits(&mut c);
        let last = reqs.last().expect("final commit");
        assert_eq!(last.kind, CommitKind::Final);
        assert_eq!(
            last.parts[0].offset, 0,
            "the commit stops at the failed message"
        );
        c.on_commit_answer(t0, ok(last));
        match c.end() {
            Some(End::Halted(h)) => {
                assert_eq!((h.kind, h.partition, h.offset), (HaltKind::Failed, 0, 0));
                assert!(h.to_string().contains("t[0]@0") && h.cause == "boom");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_wake_up_in_the_past_while_a_commit_is_in_flight() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0]);
        process(&mut c, t0, 0, 3);
        c.on_time(t0 + 150 * MS);
        assert_eq!(commits(&mut c).len(), 1, "periodic commit sent");
        let later = t0 + 600 * MS; // past the next interval, commit still unanswered
        c.on_time(later);
        assert!(commits(&mut c).is_empty(), "one commit at a time");
        assert!(c.next_wake().unwrap() > later, "would spin");
    }

    #[test]
    fn a_late_answer_is_never_applied_to_another_request() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0]);
        process(&mut c, t0, 0, 3);
        c.on_time(t0 + 150 * MS);
        let first = commits(&mut c).remove(0);
        // No answer within the commit timeout: given up, and the next commit goes out.
        c.on_time(t0 + 1200 * MS);
        let second = commits(&mut c).remove(0);
        assert_ne!(first.id, second.id);
        let mut wrong = ok(&first);
        wrong.parts[0].offset = 3;
        c.on_commit_answer(t0 + 1300 * MS, wrong);
        assert_eq!(committed(&c, 0), Some(0), "the late answer changed nothing");
        c.on_commit_answer(t0 + 1300 * MS, ok(&second));
        assert_eq!(committed(&c, 0), Some(3));
    }

    #[test]
    fn one_partition_failing_does_not_fail_the_others() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0, 1]);
        process(&mut c, t0, 0, 2);
        process(&mut c, t0, 1, 4);
        c.on_time(t0 + 150 * MS);
        let req = commits(&mut c).remove(0);
        let mut answer = ok(&req);
        for pa in &mut answer.parts {
            if pa.tp.partition == 1 {
                pa.result = Err(CommitError {
                    message: "not leader".into(),
                    retriable: true,
                });
            }
        }
        c.on_commit_answer(t0 + 160 * MS, answer);
        assert_eq!(committed(&c, 0), Some(2));
        assert_eq!(committed(&c, 1), Some(0));
    }

    #[test]
    fn refused_metadata_lowers_the_budget_and_commits_the_offset() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0]);
        // 0 stays unfinished, 1..40 every other one finished: metadata to record.
        for o in 0..40 {
            c.on_message(msg(0, o * 2, None));
        }
        let jobs: Vec<Job> = std::iter::from_fn(|| c.next_job()).collect();
        for j in jobs.into_iter().skip(1) {
            c.on_processed(t0, j, Outcome::Done);
        }
        c.on_time(t0 + 150 * MS);
        let req = commits(&mut c).remove(0);
        assert!(!req.parts[0].metadata.is_empty());
        let mut answer = ok(&req);
        answer.parts[0].metadata_refused = true;
        c.on_commit_answer(t0 + 160 * MS, answer);
        assert_eq!(c.counters.metadata_refused.load(Ordering::Relaxed), 1);
        assert!(c.metadata_max_bytes < req.parts[0].metadata.len());
    }

    #[test]
    fn revocation_waits_for_the_commit_in_flight_then_commits_before_handing_over() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0]);
        process(&mut c, t0, 0, 2);
        c.on_time(t0 + 150 * MS);
        let periodic = commits(&mut c).remove(0);
        process_more(&mut c, t0, 2, 5);
        c.on_revoked(t0 + 160 * MS, vec![tp(0)]);
        assert!(
            commits(&mut c).is_empty(),
            "no second commit while one is in flight: it could land after the first"
        );
        c.on_commit_answer(t0 + 170 * MS, ok(&periodic));
        let mut revoke_done = false;
        let mut reqs = Vec::new();
        while let Some(e) = c.poll_effect() {
            match e {
                Effect::Commit(r) => reqs.push(r),
                Effect::RevokeDone => revoke_done = true,
                _ => {}
            }
        }
        assert!(!revoke_done, "handed over only after its commit");
        assert_eq!(reqs[0].kind, CommitKind::Revoke);
        assert_eq!(reqs[0].parts[0].offset, 5);
        c.on_commit_answer(t0 + 180 * MS, ok(&reqs[0]));
        assert!(std::iter::from_fn(|| c.poll_effect()).any(|e| matches!(e, Effect::RevokeDone)));
    }

    fn process_more(core: &mut Core, now: Instant, from: i64, to: i64) {
        for o in from..to {
            core.on_message(msg(0, o, None));
        }
        while let Some(job) = core.next_job() {
            core.on_processed(now, job, Outcome::Done);
        }
    }

    #[test]
    fn a_failed_final_commit_ends_the_run_as_failed_and_a_retriable_one_is_retried() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0]);
        process(&mut c, t0, 0, 3);
        c.on_stop(t0);
        let req = commits(&mut c).remove(0);
        assert_eq!(req.kind, CommitKind::Final);
        let mut answer = ok(&req);
        answer.parts[0].result = Err(CommitError {
            message: "rebalance in progress".into(),
            retriable: true,
        });
        c.on_commit_answer(t0 + 10 * MS, answer.clone());
        assert!(c.end().is_none(), "retriable: tried again");
        c.on_time(t0 + 300 * MS);
        let again = commits(&mut c).remove(0);
        answer.id = again.id;
        answer.parts[0].result = Err(CommitError {
            message: "not authorized".into(),
            retriable: false,
        });
        c.on_commit_answer(t0 + 310 * MS, answer);
        assert!(matches!(c.end(), Some(End::CommitFailed(e)) if e.contains("not authorized")));
        assert_eq!(c.counters.final_commit_failures.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_dead_committer_fails_the_run_loudly() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0]);
        process(&mut c, t0, 0, 3);
        c.on_committer_gone();
        assert!(matches!(c.end(), Some(End::CommitFailed(_))));
    }

    #[test]
    fn the_stop_is_bounded_by_shutdown_plus_commit_timeout() {
        let (mut c, t0) = core(&[]);
        assign(&mut c, &[0]);
        c.on_message(msg(0, 0, None));
        let _stuck = c.next_job().unwrap(); // never reported
        c.on_stop(t0);
        c.on_time(t0 + 500 * MS); // shutdown timeout: give up on the running message
        let req = commits(&mut c);
        assert!(req.is_empty(), "nothing finished, nothing to commit");
        assert_eq!(c.end(), Some(End::Stopped));
    }
}
