//! The coordinator: the one thread that owns every piece of mutable state.
//!
//! It receives [`Event`]s from the poll thread (messages, assignments, revocations) and
//! [`Report`]s from workers, deferred completions and the dead-letter producer, and in between:
//! records messages in their partition's tracker, hands ready jobs to workers without ever
//! blocking (a full job queue just leaves them in the ready queue), schedules retries, applies the
//! failure policy, pauses and resumes partitions, and commits. No lock guards the trackers: only
//! this thread touches them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{never, select, Receiver, Sender, TrySendError};
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;

use crate::backpressure::FetchGate;
use crate::commit::{CommitManager, Committer};
use crate::config::{FailurePolicy, PoolSettings};
use crate::consumer::{Assigned, Event, KafkaConsumer, TopicPartition};
use crate::dead_letter::DeadLetter;
use crate::error::Error;
use crate::job::{Job, Report};
use crate::offset_metadata;
use crate::outcome::Outcome;
use crate::partition::{PartitionState, Partitions};
use crate::retry::{backoff, RetryQueue};
use crate::stats::Counters;

/// Housekeeping period: stats snapshots, pause checks, deadline checks.
const TICK: Duration = Duration::from_millis(100);

/// A stop request from the public API.
pub(crate) enum Control {
    Stop,
}

struct PendingRevoke {
    partitions: Vec<TopicPartition>,
    done: Sender<()>,
    deadline: Instant,
}

/// Why a message is considered finished.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finish {
    Processed,
    Skipped,
    DeadLettered,
}

pub(crate) struct Channels {
    pub events: Receiver<Event>,
    pub reports: Receiver<Report>,
    pub jobs: Sender<Job>,
    /// The workers' end of the job queue, to take back jobs no worker has started.
    pub queued: Receiver<Job>,
    pub control: Receiver<Control>,
    /// Tells the poll thread to stop.
    pub poll_stop: Arc<AtomicBool>,
    /// Tells the poll thread how many messages wait for a worker.
    pub gate: Arc<FetchGate>,
}

pub(crate) struct Coordinator {
    settings: PoolSettings,
    consumer: Arc<KafkaConsumer>,
    events: Receiver<Event>,
    reports: Receiver<Report>,
    jobs: Option<Sender<Job>>,
    queued: Receiver<Job>,
    control: Receiver<Control>,
    poll_stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    dead_letter: Option<DeadLetter>,
    committer: Option<Committer>,
    gate: Arc<FetchGate>,
    partitions: Partitions,
    ready: VecDeque<Job>,
    retries: RetryQueue,
    commits: CommitManager,
    next_epoch: u64,
    consecutive_failures: u32,
    halt: Option<String>,
    fatal: Option<KafkaError>,
    stop_deadline: Option<Instant>,
    revoke: Option<PendingRevoke>,
    next_tick: Instant,
}

impl Coordinator {
    pub fn new(
        settings: PoolSettings,
        consumer: Arc<KafkaConsumer>,
        channels: Channels,
        counters: Arc<Counters>,
        dead_letter: Option<DeadLetter>,
        committer: Committer,
    ) -> Self {
        let commits = CommitManager::new(
            settings.commit_interval,
            settings.commit_batch_size,
            settings.commit_metadata,
            settings.commit_metadata_max_bytes,
        );
        Self {
            settings,
            consumer,
            events: channels.events,
            reports: channels.reports,
            jobs: Some(channels.jobs),
            queued: channels.queued,
            control: channels.control,
            poll_stop: channels.poll_stop,
            counters,
            dead_letter,
            committer: Some(committer),
            gate: channels.gate,
            partitions: Partitions::default(),
            ready: VecDeque::new(),
            retries: RetryQueue::default(),
            commits,
            next_epoch: 1,
            consecutive_failures: 0,
            halt: None,
            fatal: None,
            stop_deadline: None,
            revoke: None,
            next_tick: Instant::now(),
        }
    }

    /// Runs until stopped, halted or fatally failed; then drains (bounded), commits and returns.
    pub fn run(mut self) -> Result<(), Error> {
        loop {
            self.wait_and_handle();
            let now = Instant::now();
            self.release_due_retries(now);
            self.dispatch();
            if self.commits.due(now) {
                self.commit_all(now);
            }
            self.finish_revoke_if_drained(now);
            if now >= self.next_tick {
                self.next_tick = now + TICK;
                self.publish_stats(now);
            }
            if (self.halt.is_some() || self.fatal.is_some()) && self.stop_deadline.is_none() {
                self.begin_stop(now);
            }
            if let Some(deadline) = self.stop_deadline {
                if self.outstanding() == 0 || now >= deadline {
                    break;
                }
            }
        }
        self.shut_down()
    }

    /// Blocks until an event, a report, a stop request or the next timer; then drains what else
    /// is already waiting (bounded, so timers still run under load).
    fn wait_and_handle(&mut self) {
        let now = Instant::now();
        let mut wake = self.next_tick.min(self.commits.next_due());
        if let Some(due) = self.retries.next_due() {
            wake = wake.min(due);
        }
        if let Some(r) = &self.revoke {
            wake = wake.min(r.deadline);
        }
        if let Some(d) = self.stop_deadline {
            wake = wake.min(d);
        }
        let timeout = wake.saturating_duration_since(now);
        let events = self.events.clone();
        let reports = self.reports.clone();
        let control = self.control.clone();
        select! {
            recv(reports) -> r => if let Ok(r) = r { self.on_report(r) },
            recv(events) -> e => match e {
                Ok(e) => self.on_event(e),
                Err(_) => self.events = never(),
            },
            recv(control) -> c => match c {
                Ok(Control::Stop) => self.begin_stop(Instant::now()),
                Err(_) => self.control = never(),
            },
            default(timeout) => {}
        }
        for _ in 0..4096 {
            match self.reports.try_recv() {
                Ok(r) => self.on_report(r),
                Err(_) => break,
            }
        }
        for _ in 0..64 {
            match self.events.try_recv() {
                Ok(e) => self.on_event(e),
                Err(_) => break,
            }
        }
        if self.control.try_recv().is_ok() {
            self.begin_stop(Instant::now());
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Messages(batch) => {
                for msg in batch {
                    self.on_message(msg);
                }
            }
            Event::Assigned(list) => self.on_assigned(list),
            Event::Revoked { partitions, done } => self.on_revoked(partitions, done),
            Event::Lost(partitions) => {
                self.count_rebalance("lost");
                for tp in &partitions {
                    self.drop_partition(tp);
                }
            }
            // While stopping, messages are dropped unrecorded: a position must not skip them.
            Event::Positions(_) if self.stop_deadline.is_some() => {}
            Event::Positions(list) => {
                for (tp, position) in list {
                    if let Some(state) = self.partitions.get_mut(&tp.topic, tp.partition) {
                        if !state.revoking && state.tracker.skip_to_position(position) {
                            tracing::debug!(topic = %tp.topic, partition = tp.partition, position,
                                "finished partition advanced to the consumer position");
                        }
                    }
                }
            }
            Event::Fatal(e) => {
                tracing::error!(error = %e, "fatal consumer error; stopping");
                self.fatal = Some(e);
            }
        }
    }

    fn on_message(&mut self, msg: crate::message::Message) {
        if self.stop_deadline.is_some() {
            return; // not recorded: it stays uncommitted and is read again by the next owner
        }
        let order = self.settings.ordering;
        let cap = self.settings.max_inflight_per_partition;
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
        let job = Job::new(msg, state.epoch, seq);
        if let Some(job) = state.gate.admit(order, job) {
            self.ready.push_back(job);
        }
        if !state.paused && state.over_high_watermark(cap) {
            set_paused(&self.consumer, state, true);
            Counters::bump(&self.counters.pauses);
            if let Some(m) = &self.counters.metrics {
                m.pauses.inc();
            }
        }
    }

    fn on_assigned(&mut self, list: Vec<Assigned>) {
        self.count_rebalance("assign");
        for a in list {
            let skip = match (a.committed, a.metadata.is_empty()) {
                (Some(committed), false) => match offset_metadata::decode(committed, &a.metadata) {
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
            self.partitions.insert(state);
        }
    }

    fn on_revoked(&mut self, partitions: Vec<TopicPartition>, done: Sender<()>) {
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
        // Take back the queued jobs no worker started: those of revoked partitions are dropped
        // (they are read again by the next owner), the others go back to the front of the line.
        let mut keep = Vec::new();
        while let Ok(job) = self.queued.try_recv() {
            match self.partitions.for_job(&job) {
                Some(state) if state.revoking => state.outstanding -= 1,
                Some(state) => {
                    state.outstanding -= 1;
                    keep.push(job);
                }
                None => {}
            }
        }
        for job in keep.into_iter().rev() {
            self.ready.push_front(job);
        }
        let deadline = Instant::now() + self.settings.shutdown_timeout;
        self.revoke = Some(PendingRevoke {
            partitions,
            done,
            deadline,
        });
        self.finish_revoke_if_drained(Instant::now());
    }

    /// Completes a pending revocation once its partitions have nothing outstanding (or the
    /// deadline passed): commits them, drops their state and releases the poll thread.
    fn finish_revoke_if_drained(&mut self, now: Instant) {
        let Some(revoke) = &self.revoke else { return };
        let outstanding: usize = revoke
            .partitions
            .iter()
            .filter_map(|tp| self.partitions.get(&tp.topic, tp.partition))
            .map(|s| s.outstanding)
            .sum();
        if outstanding > 0 && now < revoke.deadline {
            return;
        }
        let revoke = self.revoke.take().expect("checked above");
        if outstanding > 0 {
            tracing::warn!(
                outstanding,
                "revocation deadline reached; their results will be discarded"
            );
        }
        let mut states: Vec<PartitionState> = revoke
            .partitions
            .iter()
            .filter_map(|tp| self.partitions.remove(tp))
            .collect();
        let _ = self
            .commits
            .commit_sync(&self.consumer, states.iter_mut(), &self.counters, now);
        for s in &states {
            self.forget_series(s);
            tracing::info!(topic = %s.tp.topic, partition = s.tp.partition,
                committed = ?s.tracker.last_committed(), "partition handed over");
        }
        let _ = revoke.done.send(());
        self.publish_stats(now);
    }

    fn drop_partition(&mut self, tp: &TopicPartition) {
        if let Some(state) = self.partitions.remove(tp) {
            self.forget_series(&state);
        }
        let parts = &self.partitions;
        self.retries
            .retain(|j| parts.get(j.msg.topic(), j.msg.partition()).is_some());
    }

    /// Removes the Prometheus series of a partition that left this member.
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

    fn count_late_result(&self) {
        Counters::bump(&self.counters.late_discarded);
        if let Some(m) = &self.counters.metrics {
            m.late_discarded.inc();
        }
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::Processed {
                job,
                outcome,
                elapsed,
            } => {
                if let Some(m) = &self.counters.metrics {
                    m.duration.observe(elapsed.as_secs_f64());
                }
                self.on_processed(job, outcome)
            }
            Report::DeadLettered { job, result } => self.on_dead_lettered(job, result),
            Report::Committed { result } => {
                self.commits
                    .on_committed(result, &mut self.partitions, &self.counters);
            }
        }
    }

    fn on_processed(&mut self, mut job: Job, outcome: Outcome) {
        let Some(state) = self.partitions.for_job(&job) else {
            self.count_late_result();
            return;
        };
        state.outstanding -= 1;
        let (error, retriable) = match outcome {
            Outcome::Done => return self.finish(job, Finish::Processed),
            Outcome::Retry(e) => (e, true),
            Outcome::Fail(e) => (e, false),
        };
        let m = &job.msg;
        if retriable
            && job.attempt < self.settings.max_retries
            && self.stop_deadline.is_none()
            && !state.revoking
        {
            let s = &self.settings;
            let delay = backoff(
                s.retry_backoff,
                s.retry_backoff_max,
                job.attempt,
                s.retry_jitter,
                fastrand::f64(),
            );
            tracing::debug!(topic = m.topic(), partition = m.partition(), offset = m.offset(),
                attempt = job.attempt + 1, error = %error, ?delay, "retrying");
            job.attempt += 1;
            job.last_error = Some(error);
            Counters::bump(&self.counters.retried);
            if let Some(pm) = &state.metrics {
                pm.errors_retriable.inc();
                pm.retries.inc();
            }
            self.retries.push(Instant::now() + delay, job);
            return;
        }
        if retriable && (self.stop_deadline.is_some() || state.revoking) {
            // Not a permanent failure: it stays unfinished and is read again by the next owner.
            state.tracker.mark_failed(job.seq);
            return;
        }
        Counters::bump(&self.counters.failed);
        if let Some(pm) = &state.metrics {
            if retriable {
                pm.errors_retriable.inc();
            } else {
                pm.errors_permanent.inc();
            }
            pm.failed.inc();
        }
        tracing::error!(topic = m.topic(), partition = m.partition(), offset = m.offset(),
            attempts = job.attempt + 1, error = %error, policy = ?self.settings.on_failure,
            "message failed permanently");
        match self.settings.on_failure {
            FailurePolicy::Skip => self.finish(job, Finish::Skipped),
            FailurePolicy::DeadLetter => {
                job.last_error = Some(error);
                self.send_dead_letter(job);
            }
            FailurePolicy::Halt => {
                state.tracker.mark_failed(job.seq);
                let next = state.gate.release(self.settings.ordering, &job.msg);
                self.ready.extend(next);
                self.consecutive_failures += 1;
                if self.consecutive_failures >= self.settings.max_consecutive_errors
                    && self.halt.is_none()
                {
                    self.halt = Some(format!(
                        "{} consecutive messages failed permanently; last: {}[{}]@{}: {}",
                        self.consecutive_failures,
                        m.topic(),
                        m.partition(),
                        m.offset(),
                        error
                    ));
                }
            }
        }
    }

    fn send_dead_letter(&mut self, job: Job) {
        let Some(dl) = &self.dead_letter else {
            // Unreachable by configuration validation; never lose the message.
            tracing::error!(
                "dead-letter policy without a producer; leaving the message unfinished"
            );
            return;
        };
        let error = job.last_error.clone().unwrap_or_default();
        let (topic, partition, epoch) =
            (job.msg.topic_arc().clone(), job.msg.partition(), job.epoch);
        match dl.send(job, &error) {
            Ok(()) => {
                if let Some(state) = self.partitions.current_mut(&topic, partition, epoch) {
                    state.outstanding += 1;
                }
            }
            Err(refused) => {
                let (why, job) = *refused;
                tracing::warn!(error = %why, "dead-letter produce refused locally; retrying after backoff");
                self.schedule_dead_letter_retry(job);
            }
        }
    }

    fn schedule_dead_letter_retry(&mut self, mut job: Job) {
        let s = &self.settings;
        let delay = backoff(
            s.retry_backoff,
            s.retry_backoff_max,
            job.attempt.min(16),
            s.retry_jitter,
            fastrand::f64(),
        );
        job.attempt = job.attempt.saturating_add(1);
        job.dead_letter = true;
        self.retries.push(Instant::now() + delay, job);
    }

    fn on_dead_lettered(&mut self, job: Job, result: Result<(), String>) {
        let Some(state) = self.partitions.for_job(&job) else {
            self.count_late_result();
            return;
        };
        state.outstanding -= 1;
        let revoking = state.revoking;
        match result {
            Ok(()) => self.finish(job, Finish::DeadLettered),
            Err(e) => {
                tracing::warn!(topic = job.msg.topic(), partition = job.msg.partition(),
                    offset = job.msg.offset(), error = %e, "dead-letter delivery failed; retrying");
                if self.stop_deadline.is_none() && !revoking {
                    self.schedule_dead_letter_retry(job);
                }
            }
        }
    }

    /// Marks a job finished: its offset may now be committed, and the next message of its key runs.
    fn finish(&mut self, job: Job, how: Finish) {
        let Some(state) = self.partitions.for_job(&job) else {
            return;
        };
        state.tracker.mark_processed(job.seq);
        if let Some(next) = state.gate.release(self.settings.ordering, &job.msg) {
            if !state.revoking && self.stop_deadline.is_none() {
                self.ready.push_back(next);
            }
        }
        let cap = self.settings.max_inflight_per_partition;
        if state.paused && state.under_low_watermark(cap) && !state.revoking {
            set_paused(&self.consumer, state, false);
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
        if self.commits.note_finished() {
            self.commit_all(Instant::now());
        }
    }

    fn release_due_retries(&mut self, now: Instant) {
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
    }

    /// Hands ready jobs to workers until the job queue is full. Never blocks.
    fn dispatch(&mut self) {
        let Some(jobs) = &self.jobs else { return };
        while let Some(job) = self.ready.pop_front() {
            let Some(state) = self.partitions.for_job(&job) else {
                continue; // revoked meanwhile
            };
            if state.revoking {
                continue;
            }
            match jobs.try_send(job) {
                Ok(()) => state.outstanding += 1,
                Err(TrySendError::Full(job)) => {
                    self.ready.push_front(job);
                    break;
                }
                Err(TrySendError::Disconnected(_)) => break,
            }
        }
        self.gate.set_waiting(self.ready.len() + jobs.len());
    }

    fn commit_all(&mut self, now: Instant) {
        for state in self.partitions.iter_mut() {
            state.note_progress(now);
        }
        if let Some(committer) = &self.committer {
            self.commits.commit_async(committer, &self.partitions, now);
        }
    }

    fn outstanding(&self) -> usize {
        self.partitions.iter().map(|s| s.outstanding).sum()
    }

    fn begin_stop(&mut self, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        tracing::info!(
            outstanding = self.outstanding(),
            "stopping: draining in-flight work"
        );
        self.stop_deadline = Some(now + self.settings.shutdown_timeout);
        self.poll_stop.store(true, Ordering::SeqCst);
        self.ready.clear();
        self.retries.retain(|_| false);
        while let Ok(job) = self.queued.try_recv() {
            if let Some(state) = self.partitions.for_job(&job) {
                state.outstanding -= 1;
            }
        }
        for state in self.partitions.iter_mut() {
            state.gate = Default::default();
        }
    }

    fn publish_stats(&mut self, now: Instant) {
        let ctx = self.consumer.context().clone();
        let mut inflight = 0;
        let mut waiting = 0;
        let mut parts = Vec::new();
        for state in self.partitions.iter_mut() {
            state.note_progress(now);
            inflight += state.tracker.inflight_count();
            waiting += state.gate.waiting();
            let end = ctx.high_watermark(&state.tp.topic, state.tp.partition);
            let snapshot = state.snapshot(now, end);
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
        parts.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        let c = &self.counters;
        c.inflight.store(inflight, Ordering::Relaxed);
        if let Some(m) = &c.metrics {
            let workers = self.settings.workers.max(1) as f64;
            m.worker_utilization
                .set(c.busy.load(Ordering::Relaxed) as f64 / workers);
        }
        c.queued.store(
            waiting + self.ready.len() + self.retries.len(),
            Ordering::Relaxed,
        );
        if let Ok(mut p) = c.partitions.lock() {
            *p = parts;
        }
    }

    /// After the loop: final commit, workers stopped, poll thread released. The consumer itself
    /// is closed by the pool once this returns.
    fn shut_down(mut self) -> Result<(), Error> {
        let now = Instant::now();
        self.poll_stop.store(true, Ordering::SeqCst);
        if let Some(committer) = self.committer.take() {
            committer.stop();
        }
        for state in self.partitions.iter_mut() {
            state.note_progress(now);
        }
        let _ = self.commits.commit_sync(
            &self.consumer,
            self.partitions.iter_mut(),
            &self.counters,
            now,
        );
        if let Some(revoke) = self.revoke.take() {
            let _ = revoke.done.send(());
        }
        self.jobs = None; // workers exit once the queue is empty
        self.publish_stats(now);
        if let Some(e) = self.fatal {
            return Err(Error::Kafka(e));
        }
        if let Some(why) = self.halt {
            return Err(Error::Halted(why));
        }
        Ok(())
    }
}

fn set_paused(consumer: &KafkaConsumer, state: &mut PartitionState, pause: bool) {
    let mut tpl = TopicPartitionList::with_capacity(1);
    tpl.add_partition(&state.tp.topic, state.tp.partition);
    let result = if pause {
        consumer.pause(&tpl)
    } else {
        consumer.resume(&tpl)
    };
    match result {
        Ok(()) => {
            state.paused = pause;
            tracing::debug!(topic = %state.tp.topic, partition = state.tp.partition, paused = pause,
                inflight = state.tracker.inflight_count(), "backpressure");
        }
        Err(e) => tracing::warn!(error = %e, pause, "could not pause/resume partition"),
    }
}
