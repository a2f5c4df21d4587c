//! `burrow-consume` — run a Burrow pool from the command line.
//!
//! A small consumer process for trying Burrow against a cluster and for the real-broker tests
//! (which start, stop and SIGKILL it). Each message "costs" `--work-ms` of simulated I/O (a sleep);
//! every finished message can be appended to a record file *before* it is reported done, so any
//! offset the pool may commit is already on disk when the process dies.
//!
//! ```text
//! burrow-consume --bootstrap 127.0.0.1:9092 --group billing --topic invoices \
//!     --set burrow.workers=50 --work-ms 20 --record /tmp/done.txt --stop-file /tmp/stop
//! ```
//!
//! Stops when the stop file appears, after `--expect` messages, or when idle (`--exit-when-idle-ms`);
//! then drains, commits and prints the final stats as one JSON line on stdout. SIGTERM/SIGINT keep
//! their default action (immediate exit): Burrow's at-least-once guarantee covers that too, at the
//! price of reprocessing what was finished but not committed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burrow::{Config, Delivery, Outcome, Pool, Stats};

const USAGE: &str = "\
usage: burrow-consume --bootstrap HOST:PORT --group GROUP --topic TOPIC [options]

  --bootstrap HOST:PORT     bootstrap servers (default: $BURROW_KAFKA_BOOTSTRAP)
  --group GROUP             consumer group id
  --topic TOPIC             topic to subscribe to (repeatable)
  --set KEY=VALUE           any burrow.* or librdkafka key (repeatable), e.g.
                            --set burrow.workers=50 --set auto.offset.reset=earliest
  --work-ms N               simulated I/O per message: sleep N ms (default 0)
  --work-jitter-ms N        plus a random 0..=N ms (default 0)
  --fail-every N            the first attempt of every message whose offset is a
                            multiple of N fails (retriable); N=0 disables (default)
  --fail-rate F             each attempt fails (retriable) with probability F, 0..1
                            (default 0)
  --defer                   deferred completion: the processor hands each message to
                            a completer thread, which sleeps the simulated I/O and
                            completes it (workers are free at once)
  --record FILE             append \"TOPIC PARTITION OFFSET\" for every finished message,
                            one write per line (O_APPEND), before reporting it done
  --stop-file PATH          stop gracefully once PATH exists
  --expect N                stop gracefully after N messages processed by this process
  --exit-when-idle-ms N     stop gracefully when nothing was finished for N ms and
                            nothing is in flight (after at least one message)
  --max-runtime-s N         stop gracefully after N seconds (safety net)
  --stats-file PATH         while running, rewrite PATH every 100 ms with the stats JSON
                            line (\"result\":\"running\"), atomically (write + rename)
  --log LEVEL               library log level on stderr: error, warn (default), info,
                            debug, trace
  -h, --help                this text

Defaults added unless set: auto.offset.reset=earliest. Exit status: 0 after a clean stop,
1 when the pool fails or halts, 2 on a usage or configuration error.";

#[derive(Debug)]
struct Args {
    bootstrap: Option<String>,
    group: Option<String>,
    topics: Vec<String>,
    settings: Vec<(String, String)>,
    work: Duration,
    work_jitter_ms: u64,
    fail_every: i64,
    fail_rate: f64,
    defer: bool,
    record: Option<PathBuf>,
    stop_file: Option<PathBuf>,
    expect: Option<u64>,
    idle: Option<Duration>,
    max_runtime: Option<Duration>,
    stats_file: Option<PathBuf>,
    log: tracing::Level,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            bootstrap: None,
            group: None,
            topics: Vec::new(),
            settings: Vec::new(),
            work: Duration::ZERO,
            work_jitter_ms: 0,
            fail_every: 0,
            fail_rate: 0.0,
            defer: false,
            record: None,
            stop_file: None,
            expect: None,
            idle: None,
            max_runtime: None,
            stats_file: None,
            log: tracing::Level::WARN,
        }
    }
}

fn number(flag: &str, value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{flag}: expected a non-negative integer, got {value:?}"))
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    while let Some(flag) = argv.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        // Both "--flag value" and "--flag=value".
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--bootstrap" => args.bootstrap = Some(value()?),
            "--group" => args.group = Some(value()?),
            "--topic" => args.topics.push(value()?),
            "--set" => {
                let kv = value()?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("--set: expected KEY=VALUE, got {kv:?}"))?;
                args.settings.push((k.trim().to_string(), v.to_string()));
            }
            "--work-ms" => args.work = Duration::from_millis(number(&flag, &value()?)?),
            "--work-jitter-ms" => args.work_jitter_ms = number(&flag, &value()?)?,
            "--fail-every" => args.fail_every = number(&flag, &value()?)? as i64,
            "--fail-rate" => {
                let v = value()?;
                args.fail_rate = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|f: &f64| (0.0..=1.0).contains(f))
                    .ok_or_else(|| {
                        format!("--fail-rate: expected a number from 0 to 1, got {v:?}")
                    })?
            }
            "--defer" => args.defer = true,
            "--record" => args.record = Some(PathBuf::from(value()?)),
            "--stop-file" => args.stop_file = Some(PathBuf::from(value()?)),
            "--expect" => args.expect = Some(number(&flag, &value()?)?),
            "--exit-when-idle-ms" => {
                args.idle = Some(Duration::from_millis(number(&flag, &value()?)?))
            }
            "--log" => {
                let v = value()?;
                args.log = v.parse().map_err(|_| {
                    format!("--log: expected error, warn, info, debug or trace, got {v:?}")
                })?
            }
            "--stats-file" => args.stats_file = Some(PathBuf::from(value()?)),
            "--max-runtime-s" => {
                args.max_runtime = Some(Duration::from_secs(number(&flag, &value()?)?))
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.bootstrap.is_none() {
        args.bootstrap = std::env::var("BURROW_KAFKA_BOOTSTRAP")
            .ok()
            .filter(|s| !s.is_empty());
    }
    if args.bootstrap.is_none() {
        return Err("--bootstrap is required (or set BURROW_KAFKA_BOOTSTRAP)".into());
    }
    if args.group.is_none() {
        return Err("--group is required".into());
    }
    if args.topics.is_empty() {
        return Err("at least one --topic is required".into());
    }
    Ok(Some(args))
}

fn build_config(args: &Args) -> Result<Config, String> {
    let mut config = Config::new();
    let mut set = |k: &str, v: &str| config.set(k, v).map(|_| ()).map_err(|e| e.to_string());
    set("bootstrap.servers", args.bootstrap.as_deref().unwrap_or(""))?;
    set("group.id", args.group.as_deref().unwrap_or(""))?;
    if !args.settings.iter().any(|(k, _)| k == "auto.offset.reset") {
        set("auto.offset.reset", "earliest")?;
    }
    for (k, v) in &args.settings {
        set(k, v)?;
    }
    config.pool_settings().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Appends one line per finished message. `&File` writes are unbuffered: each line is a single
/// `write(2)` on an `O_APPEND` descriptor, so lines of concurrent workers never interleave and a
/// line is in the kernel (safe from SIGKILL) before the message is reported done.
struct Recorder {
    file: Option<File>,
}

impl Recorder {
    fn open(path: Option<&PathBuf>) -> Result<Self, String> {
        let file = match path {
            Some(p) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| format!("--record {}: {e}", p.display()))?,
            ),
            None => None,
        };
        Ok(Self { file })
    }

    fn record(&self, topic: &str, partition: i32, offset: i64) -> std::io::Result<()> {
        match &self.file {
            Some(f) => {
                let mut f: &File = f;
                f.write_all(format!("{topic} {partition} {offset}\n").as_bytes())
            }
            None => Ok(()),
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// The stats line; `result` is `None` while the pool runs.
fn stats_json(s: &Stats, elapsed: Duration, result: Option<&Result<(), String>>) -> String {
    let partitions: Vec<String> = s
        .partitions
        .iter()
        .map(|p| {
            format!(
                "{{\"topic\":{},\"partition\":{},\"committed_offset\":{},\"high_watermark\":{},\"lag\":{},\"paused\":{}}}",
                json_string(&p.topic),
                p.partition,
                opt(p.committed_offset),
                opt(p.high_watermark),
                opt(p.lag),
                p.paused
            )
        })
        .collect();
    let result = match result {
        None => "\"running\"".to_string(),
        Some(Ok(())) => "\"ok\"".to_string(),
        Some(Err(e)) => json_string(e),
    };
    format!(
        "{{\"result\":{result},\"elapsed_ms\":{},\"messages_processed\":{},\"messages_failed\":{},\
         \"messages_retried\":{},\"messages_skipped\":{},\"messages_dead_lettered\":{},\
         \"messages_skipped_from_metadata\":{},\"offsets_committed\":{},\"commit_failures\":{},\
         \"commit_metadata_overflows\":{},\"commit_metadata_invalid\":{},\
         \"late_results_discarded\":{},\"rebalances\":{},\"workers\":{},\"partitions\":[{}]}}",
        elapsed.as_millis(),
        s.messages_processed,
        s.messages_failed,
        s.messages_retried,
        s.messages_skipped,
        s.messages_dead_lettered,
        s.messages_skipped_from_metadata,
        s.offsets_committed,
        s.commit_failures,
        s.commit_metadata_overflows,
        s.commit_metadata_invalid,
        s.late_results_discarded,
        s.rebalances,
        s.workers,
        partitions.join(",")
    )
}

/// Everything finished by any path (processed, skipped, dead-lettered, skipped from metadata).
fn finished(s: &Stats) -> u64 {
    s.messages_processed
        + s.messages_skipped
        + s.messages_dead_lettered
        + s.messages_skipped_from_metadata
}

/// Replaces `path` with the current stats line (write to a temporary file, then rename, so a
/// reader never sees half a line).
fn write_stats_file(path: &std::path::Path, line: &str) {
    let tmp = path.with_extension("tmp");
    let written =
        std::fs::write(&tmp, format!("{line}\n")).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        eprintln!("burrow-consume: --stats-file {}: {e}", path.display());
    }
}

/// Watches the stop conditions and stops the pool when one holds; keeps the stats file fresh.
fn watch(pool: Arc<Pool>, args: &Args, processed: Arc<AtomicU64>, done: Arc<AtomicBool>) {
    let started = Instant::now();
    let mut last_finished = 0;
    let mut last_change = Instant::now();
    let mut next_stats = Instant::now();
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(path) = &args.stats_file {
            if Instant::now() >= next_stats {
                next_stats = Instant::now() + Duration::from_millis(100);
                write_stats_file(path, &stats_json(&pool.stats(), started.elapsed(), None));
            }
        }
        let why = if args.stop_file.as_ref().is_some_and(|p| p.exists()) {
            Some("stop file present")
        } else if args
            .expect
            .is_some_and(|n| processed.load(Ordering::SeqCst) >= n)
        {
            Some("expected count reached")
        } else if args.max_runtime.is_some_and(|m| started.elapsed() >= m) {
            Some("maximum runtime reached")
        } else if let Some(idle) = args.idle {
            let s = pool.stats();
            let f = finished(&s);
            if f != last_finished {
                last_finished = f;
                last_change = Instant::now();
            }
            let quiet = s.messages_inflight == 0 && s.jobs_queued == 0 && s.workers_busy == 0;
            (f > 0 && quiet && last_change.elapsed() >= idle).then_some("idle")
        } else {
            None
        };
        if let Some(why) = why {
            eprintln!("burrow-consume: stopping ({why})");
            pool.stop();
            return;
        }
    }
}

/// A minimal `tracing` subscriber: events at or above `level` go to stderr as one line each
/// (the library logs through `tracing`; this binary adds no logging dependency for it).
struct StderrLog {
    level: tracing::Level,
    started: Instant,
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

impl tracing::Subscriber for StderrLog {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= self.level
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let m = event.metadata();
        eprintln!(
            "{:>9.3}s {} {}: {}",
            self.started.elapsed().as_secs_f64(),
            m.level(),
            m.target(),
            fields.0
        );
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The simulated work on one message, and how it is finished.
struct Work {
    base: Duration,
    jitter_ms: u64,
    fail_every: i64,
    fail_rate: f64,
    recorder: Arc<Recorder>,
    counter: Arc<AtomicU64>,
}

impl Work {
    /// How long the simulated I/O of one attempt takes.
    fn duration(&self) -> Duration {
        let jitter = if self.jitter_ms > 0 {
            fastrand::u64(0..=self.jitter_ms)
        } else {
            0
        };
        self.base + Duration::from_millis(jitter)
    }

    /// Decides the outcome of an attempt whose I/O is over, recording a success durably before
    /// reporting it.
    fn finish(&self, delivery: Delivery) {
        let m = delivery.message();
        let (partition, offset) = (m.partition(), m.offset());
        if self.fail_every > 0 && offset % self.fail_every == 0 && delivery.attempt() == 1 {
            delivery.complete(Outcome::retry("simulated failure (--fail-every)"));
            return;
        }
        if self.fail_rate > 0.0 && fastrand::f64() < self.fail_rate {
            delivery.complete(Outcome::retry("simulated failure (--fail-rate)"));
            return;
        }
        let outcome = match self.recorder.record(m.topic(), partition, offset) {
            Ok(()) => {
                self.counter.fetch_add(1, Ordering::SeqCst);
                Outcome::Done
            }
            // Not recorded, so not done: retried, never committed unrecorded.
            Err(e) => Outcome::retry(format!("could not record: {e}")),
        };
        delivery.complete(outcome);
    }
}

/// Deferred completion (`--defer`): the processor returns at once and a single completer thread
/// finishes each message when its simulated I/O is due, like an event loop would.
struct Completer {
    tx: std::sync::mpsc::Sender<(Instant, Delivery)>,
    work: Arc<Work>,
}

/// A delivery waiting in the completer, ordered by due time (then arrival).
struct Due(Instant, u64, Delivery);

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.0, other.1).cmp(&(self.0, self.1)) // min-heap on (due, arrival)
    }
}

impl Completer {
    fn start(work: Work) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Delivery)>();
        let work = Arc::new(work);
        let w = work.clone();
        std::thread::spawn(move || {
            let mut heap = std::collections::BinaryHeap::new();
            let mut seq = 0u64;
            let mut open = true;
            while open || !heap.is_empty() {
                let wait = heap
                    .peek()
                    .map(|Due(due, _, _)| due.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_millis(100));
                if open {
                    match rx.recv_timeout(wait) {
                        Ok((due, d)) => {
                            seq += 1;
                            heap.push(Due(due, seq, d));
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => open = false,
                    }
                } else {
                    std::thread::sleep(wait);
                }
                let now = Instant::now();
                while heap.peek().is_some_and(|Due(due, _, _)| *due <= now) {
                    let Due(_, _, d) = heap.pop().expect("peeked");
                    w.finish(d);
                }
            }
        });
        Self { tx, work }
    }

    /// Takes over a delivery; it is finished when its simulated I/O is due.
    fn hand_over(&self, delivery: Delivery) {
        let due = Instant::now() + self.work.duration();
        if let Err(std::sync::mpsc::SendError((_, d))) = self.tx.send((due, delivery)) {
            d.complete(Outcome::retry("completer thread is gone"));
        }
    }
}

fn run(args: Args) -> Result<(), (u8, String)> {
    let log = StderrLog {
        level: args.log,
        started: Instant::now(),
    };
    let _ = tracing::subscriber::set_global_default(log);
    let config = build_config(&args).map_err(|e| (2, e))?;
    let recorder = Arc::new(Recorder::open(args.record.as_ref()).map_err(|e| (2, e))?);
    let pool = Arc::new(Pool::new(&config).map_err(|e| (2, e.to_string()))?);
    let topics: Vec<&str> = args.topics.iter().map(String::as_str).collect();
    pool.subscribe(&topics).map_err(|e| (1, e.to_string()))?;

    let processed = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (pool, processed, done) = (pool.clone(), processed.clone(), done.clone());
        let args = Args {
            stop_file: args.stop_file.clone(),
            expect: args.expect,
            idle: args.idle,
            max_runtime: args.max_runtime,
            stats_file: args.stats_file.clone(),
            ..Args::default()
        };
        std::thread::spawn(move || watch(pool, &args, processed, done))
    };

    let work = Work {
        base: args.work,
        jitter_ms: args.work_jitter_ms,
        fail_every: args.fail_every,
        fail_rate: args.fail_rate,
        recorder,
        counter: processed.clone(),
    };
    let started = Instant::now();
    let result = if args.defer {
        let completer = Completer::start(work);
        pool.run_deferred(move |delivery: Delivery| completer.hand_over(delivery))
    } else {
        pool.run_deferred(move |delivery: Delivery| {
            let sleep = work.duration();
            if !sleep.is_zero() {
                std::thread::sleep(sleep);
            }
            work.finish(delivery);
        })
    };
    done.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    let result = result.map_err(|e| e.to_string());
    let line = stats_json(&pool.stats(), started.elapsed(), Some(&result));
    if let Some(path) = &args.stats_file {
        write_stats_file(path, &line);
    }
    println!("{line}");
    result.map_err(|e| (1, e))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("burrow-consume: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            eprintln!("burrow-consume: {e}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_repeated_and_inline_flags() {
        let a = parse(&[
            "--bootstrap",
            "b:1",
            "--group=g",
            "--topic",
            "t1",
            "--topic",
            "t2",
            "--set",
            "burrow.workers=5",
            "--set=linger.ms=3",
            "--work-ms",
            "7",
            "--expect",
            "10",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.bootstrap.as_deref(), Some("b:1"));
        assert_eq!(a.group.as_deref(), Some("g"));
        assert_eq!(a.topics, ["t1", "t2"]);
        assert_eq!(
            a.settings,
            [
                ("burrow.workers".to_string(), "5".to_string()),
                ("linger.ms".to_string(), "3".to_string())
            ]
        );
        assert_eq!(a.work, Duration::from_millis(7));
        assert_eq!(a.expect, Some(10));
    }

    #[test]
    fn rejects_bad_usage() {
        assert!(parse(&["--bootstrap", "b", "--group", "g"]).is_err());
        assert!(parse(&["--bootstrap", "b", "--topic", "t"]).is_err());
        assert!(parse(&[
            "--bootstrap",
            "b",
            "--group",
            "g",
            "--topic",
            "t",
            "--bogus"
        ])
        .is_err());
        assert!(parse(&[
            "--bootstrap",
            "b",
            "--group",
            "g",
            "--topic",
            "t",
            "--set",
            "x"
        ])
        .is_err());
        assert!(parse(&["--work-ms", "soon"]).is_err());
        assert!(parse(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn config_errors_name_the_key() {
        let a = parse(&[
            "--bootstrap",
            "b:1",
            "--group",
            "g",
            "--topic",
            "t",
            "--set",
            "burrow.workers=lots",
        ])
        .unwrap()
        .unwrap();
        assert!(build_config(&a).unwrap_err().contains("burrow.workers"));
    }

    #[test]
    fn stats_line_is_json_shaped() {
        let line = stats_json(
            &Stats::default(),
            Duration::from_millis(5),
            Some(&Err("a \"b\"".into())),
        );
        assert!(line.starts_with("{\"result\":\"a \\\"b\\\"\""), "{line}");
        assert!(line.ends_with("\"partitions\":[]}"), "{line}");
        let running = stats_json(&Stats::default(), Duration::ZERO, None);
        assert!(running.starts_with("{\"result\":\"running\""), "{running}");
    }
}
