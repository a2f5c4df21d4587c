//! The coordinator thread: the I/O loop around the [`Core`].
//!
//! It waits for whatever comes first — an [`Event`] from the poll thread, a [`Report`] from a
//! worker, a deferred completion or the dead-letter producer, a commit answer, a stop request, or
//! the core's next timer — feeds it to the core, hands ready jobs to the workers without ever
//! blocking (a full job queue leaves them with the core), and carries out the core's
//! [`Effect`]s through the [`KafkaSide`]. Every decision is the core's; this loop only moves
//! things between threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{never, select, Receiver, Sender};
use rdkafka::error::KafkaError;

use crate::engine::backpressure::FetchGate;
use crate::engine::core::{Assigned, Core, Effect, End};
use crate::engine::job::{Job, Report};
use crate::engine::worker::JobQueue;
use crate::error::Error;
use crate::message::{Message, TopicPartition};
use crate::offsets::commit::{CommitAnswer, CommitRequest};

/// Stats and metrics refresh period.
const TICK: Duration = Duration::from_millis(100);

/// What the poll thread tells the coordinator, in the order it happened.
#[derive(Debug)]
pub(crate) enum Event {
    Messages(Vec<Message>),
    Assigned(Vec<Assigned>),
    /// Partitions being taken away: drain, commit, drop, then signal `done`.
    Revoked {
        partitions: Vec<TopicPartition>,
        done: Sender<()>,
    },
    /// Partitions lost without an orderly revoke (session timeout): drop without committing.
    Lost(Vec<TopicPartition>),
    /// The consumer's fetch positions, sent after every message polled before them: a finished
    /// partition may commit up to its position (past transaction markers and similar records the
    /// consumer never hands out).
    Positions(Vec<(TopicPartition, i64)>),
    /// The consumer cannot go on.
    Fatal(KafkaError),
    /// The poll thread panicked (a bug): nothing more will be polled.
    PollPanicked(String),
}

/// A stop request from the public API.
pub(crate) enum Control {
    Stop,
}

/// The Kafka side as the coordinator uses it (implemented in `src/kafka/`).
pub(crate) trait KafkaSide {
    /// Pauses (`true`) or resumes fetching one partition.
    fn pause(&self, tp: &TopicPartition, pause: bool);
    /// Hands a commit to the committer. False when the committer is gone.
    fn commit(&self, request: CommitRequest) -> bool;
    /// Starts producing a dead-letter copy; a local refusal gives the job back with the reason.
    fn dead_letter(&self, job: Job) -> Result<(), Box<(String, Job)>>;
    /// A partition's end offset as last reported by the broker.
    fn end_offset(&self, tp: &TopicPartition) -> Option<i64>;
}

pub(crate) struct Channels {
    pub events: Receiver<Event>,
    pub reports: Receiver<Report>,
    pub commit_answers: Receiver<CommitAnswer>,
    /// The workers' job queue.
    pub jobs: Arc<JobQueue>,
    pub control: Receiver<Control>,
    /// Tells the poll thread how many messages wait for a worker.
    pub gate: Arc<FetchGate>,
}

pub(crate) struct Coordinator<K: KafkaSide> {
    core: Core,
    kafka: K,
    events: Receiver<Event>,
    reports: Receiver<Report>,
    answers: Receiver<CommitAnswer>,
    jobs: Arc<JobQueue>,
    control: Receiver<Control>,
    gate: Arc<FetchGate>,
    revoke_done: Option<Sender<()>>,
    fatal: Option<KafkaError>,
    poll_panic: Option<String>,
    next_tick: Instant,
    /// Called once, as soon as the core is stopping (stop request, halt, fatal error).
    on_stopping: Option<Box<dyn FnOnce() + Send>>,
}

impl<K: KafkaSide> Coordinator<K> {
    pub fn new(core: Core, kafka: K, channels: Channels) -> Self {
        Self {
            core,
            kafka,
            events: channels.events,
            reports: channels.reports,
            answers: channels.commit_answers,
            jobs: channels.jobs,
            control: channels.control,
            gate: channels.gate,
            revoke_done: None,
            fatal: None,
            poll_panic: None,
            next_tick: Instant::now(),
            on_stopping: None,
        }
    }

    /// Calls `f` once, on this thread, as soon as the core starts stopping for whatever reason.
    pub fn on_stopping(mut self, f: Box<dyn FnOnce() + Send>) -> Self {
        self.on_stopping = Some(f);
        self
    }

    /// Runs until the core has finished (stopped, halted or fatally failed, drained and
    /// committed), then releases the workers and returns how the run ended.
    pub fn run(mut self) -> Result<(), Error> {
        while self.core.end().is_none() {
            self.wait_and_handle();
            let now = Instant::now();
            self.core.on_time(now);
            self.carry_out();
            if self.core.stopping() {
                if let Some(f) = self.on_stopping.take() {
                    f();
                }
            }
            if now >= self.next_tick {
                self.next_tick = now + TICK;
                let kafka = &self.kafka;
                self.core
                    .publish_stats(now, self.jobs.len(), |tp| kafka.end_offset(tp));
            }
        }
        if let Some(done) = self.revoke_done.take() {
            let _ = done.send(());
        }
        self.jobs.close(); // workers exit once the queue is empty
        let kafka = &self.kafka;
        self.core
            .publish_stats(Instant::now(), self.jobs.len(), |tp| kafka.end_offset(tp));
        if let Some(e) = self.fatal {
            return Err(Error::Kafka(e));
        }
        if let Some(why) = self.poll_panic {
            return Err(Error::Thread(format!("the poll thread panicked: {why}")));
        }
        match self.core.end() {
            Some(End::Halted(reason)) => Err(Error::Halted(reason)),
            Some(End::CommitFailed(why)) => Err(Error::CommitFailed(why)),
            _ => Ok(()),
        }
    }

    /// Blocks until something arrives or the core's next timer, then takes what else is already
    /// waiting (bounded, so timers still run under load).
    fn wait_and_handle(&mut self) {
        let now = Instant::now();
        let wake = self
            .core
            .next_wake()
            .map_or(self.next_tick, |w| w.min(self.next_tick));
        let timeout = wake.saturating_duration_since(now);
        // While the workers have half a queue of jobs, reports can wait for the doorbell (the
        // queue running low), a timer or another event, and are then taken in one batch; while
        // stopping or revoking, every report counts at once.
        let bell = self.jobs.doorbell().clone();
        while bell.try_recv().is_ok() {}
        let prompt = self.core.wants_reports_now() || self.jobs.is_low();
        let (events, reports, answers, control) = (
            self.events.clone(),
            if prompt {
                self.reports.clone()
            } else {
                never()
            },
            self.answers.clone(),
            self.control.clone(),
        );
        select! {
            recv(reports) -> r => if let Ok(r) = r { self.on_report(r) },
            recv(bell) -> _ => {},
            recv(answers) -> a => match a {
                Ok(a) => self.core.on_commit_answer(Instant::now(), a),
                Err(_) => {
                    self.answers = never();
                    self.core.on_committer_gone();
                }
            },
            recv(events) -> e => match e {
                Ok(e) => self.on_event(e),
                Err(_) => self.events = never(),
            },
            recv(control) -> c => match c {
                Ok(Control::Stop) => self.core.on_stop(Instant::now()),
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
        while let Ok(a) = self.answers.try_recv() {
            self.core.on_commit_answer(Instant::now(), a);
        }
        if self.control.try_recv().is_ok() {
            self.core.on_stop(Instant::now());
        }
    }

    fn on_event(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Messages(batch) => {
                self.gate.arrived(batch.len());
                for msg in batch {
                    self.core.on_message(msg);
                }
            }
            Event::Assigned(list) => self.core.on_assigned(list),
            Event::Revoked { partitions, done } => {
                if let Some(previous) = self.revoke_done.replace(done) {
                    let _ = previous.send(());
                }
                self.core.on_revoked(now, partitions);
            }
            Event::Lost(partitions) => self.core.on_lost(partitions),
            Event::Positions(list) => self.core.on_positions(list),
            Event::Fatal(e) => {
                tracing::error!(error = %e, "fatal consumer error; stopping");
                self.fatal.get_or_insert(e);
                self.core.on_fatal(now);
            }
            Event::PollPanicked(why) => {
                tracing::error!(panic = %why, "the poll thread panicked; stopping");
                self.poll_panic.get_or_insert(why);
                self.core.on_fatal(now);
            }
        }
    }

    fn on_report(&mut self, report: Report) {
        let now = Instant::now();
        match report {
            Report::Processed {
                job,
                outcome,
                elapsed,
            } => {
                if let Some(elapsed) = elapsed {
                    self.core.observe_duration(elapsed);
                }
                self.core.on_processed(now, job, outcome)
            }
            Report::DeadLettered { job, result } => self.core.on_dead_lettered(now, job, result),
        }
    }

    /// Hands ready jobs to the workers (never blocking) and carries out the core's effects,
    /// until neither has anything left.
    fn carry_out(&mut self) {
        loop {
            self.dispatch();
            let Some(effect) = self.core.poll_effect() else {
                break;
            };
            let now = Instant::now();
            match effect {
                Effect::Commit(request) => {
                    if !self.kafka.commit(request) {
                        self.core.on_committer_gone();
                    }
                }
                Effect::Pause(tp) => self.kafka.pause(&tp, true),
                Effect::Resume(tp) => self.kafka.pause(&tp, false),
                Effect::DeadLetter(job) => {
                    if let Err(refused) = self.kafka.dead_letter(job) {
                        let (why, job) = *refused;
                        self.core.on_dead_lettered(now, job, Err(why));
                    }
                }
                Effect::RevokeDone => {
                    if let Some(done) = self.revoke_done.take() {
                        let _ = done.send(());
                    }
                }
                Effect::TakeBackQueued => {
                    let back = self.jobs.take_all();
                    // Given back in reverse, each to the front: the original order is kept.
                    for job in back.into_iter().rev() {
                        self.core.on_unstarted(job);
                    }
                }
            }
        }
        self.gate
            .set_waiting(self.core.ready_len() + self.jobs.len());
    }

    fn dispatch(&mut self) {
        if self.core.ready_len() == 0 || self.jobs.is_full() {
            return;
        }
        let core = &mut self.core;
        self.jobs.fill(|| core.next_job());
    }
}
