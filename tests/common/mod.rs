//! Shared helpers for tests: a Kafka (the embedded mock cluster or the real broker), producing,
//! reading back what the broker holds, and running a pool in the background.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burrow::{Config, Error, Pool, Stats};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;

/// librdkafka's in-process mock cluster.
pub struct MockKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl MockKafka {
    pub fn new() -> Self {
        Self {
            cluster: MockCluster::new(1).expect("mock cluster"),
        }
    }

    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// The mock cluster itself: injected request errors, round-trip times.
    pub fn cluster(&self) -> &MockCluster<'static, DefaultProducerContext> {
        &self.cluster
    }

    pub fn topic(&self, name: &str, partitions: i32) {
        self.cluster
            .create_topic(name, partitions, 1)
            .expect("create topic");
    }
}

/// A unique name per test run.
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Produces `n` messages: message i goes to partition `i % partitions` with key `key(i)` and
/// value `i` as text. Waits for every acknowledgement.
pub fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    n: usize,
    key: impl Fn(usize) -> Option<String>,
) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    for i in 0..n {
        let value = i.to_string();
        let k = key(i);
        let mut record = BaseRecord::to(topic)
            .partition((i as i32) % partitions)
            .payload(&value);
        if let Some(k) = k.as_deref() {
            record = record.key(k);
        }
        let mut record = Some(record);
        while let Some(r) = record.take() {
            if let Err((_, r)) = producer.send(r) {
                producer.poll(Duration::from_millis(10));
                record = Some(r);
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// The committed offset and metadata the broker holds for each partition (None: nothing committed).
pub fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<(Option<i64>, String)> {
    try_committed(bootstrap, group, topic, partitions).expect("committed offsets")
}

/// Like [`committed`], but returns the error (e.g. `NOT_COORDINATOR` while a restarted broker
/// loads the group metadata) instead of panicking.
pub fn try_committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> rdkafka::error::KafkaResult<Vec<(Option<i64>, String)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10))?;
    Ok((0..partitions)
        .map(|p| {
            let e = got.find_partition(topic, p).expect("partition in answer");
            let off = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            (off, e.metadata().to_string())
        })
        .collect())
}

/// Commits `offset` with `metadata` for one partition as another client would.
pub fn commit_as_other_client(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    metadata: &str,
) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    let mut e = tpl.add_partition(topic, partition);
    e.set_offset(Offset::Offset(offset)).unwrap();
    e.set_metadata(metadata);
    consumer
        .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
        .expect("commit");
}

/// End offsets (high watermarks) of each partition.
pub fn end_offsets(bootstrap: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("consumer");
    (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .collect()
}

/// A pool configuration for tests: fast commits, earliest offsets.
pub fn config(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> Config {
    let mut c = Config::new();
    c.set("bootstrap.servers", bootstrap).unwrap();
    c.set("group.id", group).unwrap();
    c.set("auto.offset.reset", "earliest").unwrap();
    c.set("burrow.commit.interval.ms", "100").unwrap();
    c.set("burrow.retry.backoff.ms", "10").unwrap();
    c.set("burrow.shutdown.timeout.ms", "5000").unwrap();
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    c
}

/// Every (partition, offset) a processor saw, in the order attempts finished, with attempt counts.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<(i32, i64)>>>);

impl Seen {
    pub fn record(&self, partition: i32, offset: i64) {
        self.0.lock().unwrap().push((partition, offset));
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn counts(&self) -> HashMap<(i32, i64), usize> {
        let mut m = HashMap::new();
        for k in self.0.lock().unwrap().iter() {
            *m.entry(*k).or_insert(0) += 1;
        }
        m
    }
}

/// A pool running on a background thread.
pub struct Running {
    pub pool: Arc<Pool>,
    handle: Option<JoinHandle<Result<(), Error>>>,
}

impl Running {
    pub fn start(
        pool: Pool,
        run: impl FnOnce(&Pool) -> Result<(), Error> + Send + 'static,
    ) -> Self {
        let pool = Arc::new(pool);
        let p = pool.clone();
        let handle = std::thread::spawn(move || run(&p));
        Self {
            pool,
            handle: Some(handle),
        }
    }

    pub fn stats(&self) -> Stats {
        self.pool.stats()
    }

    /// Stops the pool and returns what `run` returned.
    pub fn stop(mut self) -> Result<(), Error> {
        self.pool.stop();
        self.handle
            .take()
            .unwrap()
            .join()
            .expect("run thread panicked")
    }

    /// Waits for `run` to return by itself (e.g. a halt).
    pub fn join(mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let handle = self.handle.take().unwrap();
        while !handle.is_finished() {
            assert!(
                Instant::now() < deadline,
                "pool did not finish in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        handle.join().expect("run thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.pool.stop();
            let _ = h.join();
        }
    }
}

/// Waits until `cond` holds, panicking with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the broker holds `expected` as the committed offsets of every partition.
pub fn wait_committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    expected: &[i64],
    timeout: Duration,
) {
    let partitions = expected.len() as i32;
    let deadline = Instant::now() + timeout;
    loop {
        // Transient errors (a broker that just restarted) are retried until the deadline.
        let last: Result<Vec<i64>, String> = try_committed(bootstrap, group, topic, partitions)
            .map(|held| held.into_iter().map(|(o, _)| o.unwrap_or(-1)).collect())
            .map_err(|e| e.to_string());
        if last.as_deref() == Ok(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "committed offsets {last:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Installs a log subscriber once, filtered by `BURROW_LOG` (e.g. `BURROW_LOG=burrow=debug`).
pub fn init_logs() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BURROW_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

// ---------------------------------------------------------------------------------------------
// Real-broker helpers (tests/real_broker*.rs): topics through the admin API, reading topics back,
// and `burrow-consume` child processes with their record files.

/// The real broker's bootstrap address from `BURROW_KAFKA_BOOTSTRAP`.
pub fn real_bootstrap() -> String {
    match std::env::var("BURROW_KAFKA_BOOTSTRAP") {
        Ok(b) if !b.trim().is_empty() => b.trim().to_string(),
        _ => panic!(
            "BURROW_KAFKA_BOOTSTRAP is not set: these tests need a real Kafka broker. \
             Run scripts/test-real-broker, or `scripts/kafka up` and \
             `BURROW_KAFKA_BOOTSTRAP=$(scripts/kafka bootstrap) cargo test --test real_broker -- --include-ignored`"
        ),
    }
}

/// A name unique across test runs against a long-lived broker (pid + time + counter).
pub fn unique_real(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0);
    unique(&format!("{prefix}-{nanos}"))
}

/// Runs a future to completion on this thread (the admin client's futures need no runtime).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(50)),
        }
    }
}

/// Creates a topic (replication 1) with topic-level configs through the admin API and waits
/// until its metadata shows every partition.
pub fn create_topic(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let results = block_on(admin.create_topics([&topic], &opts)).expect("create_topics");
    for r in results {
        if let Err((t, code)) = r {
            panic!("could not create topic {t}: {code:?}");
        }
    }
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("consumer");
    wait_until(Duration::from_secs(30), "topic metadata", || {
        probe
            .fetch_metadata(Some(name), Duration::from_secs(5))
            .ok()
            .and_then(|md| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == name)
                    .map(|t| t.error().is_none() && t.partitions().len() == partitions as usize)
            })
            .unwrap_or(false)
    });
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: HashMap<String, String>,
}

/// Reads every record of a topic from the beginning to the end of each partition, as a plain
/// consumer with `isolation.level` (`read_committed` or `read_uncommitted`) sees it.
pub fn read_topic(bootstrap: &str, topic: &str, partitions: i32, isolation: &str) -> Vec<Record> {
    use rdkafka::error::KafkaError;
    use rdkafka::message::{Headers, Message as _};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique_real("reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .expect("reader");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut at_eof = vec![false; partitions as usize];
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while at_eof.iter().any(|e| !e) {
        assert!(Instant::now() < deadline, "reading {topic} timed out");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                at_eof[m.partition() as usize] = false;
                let headers = m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                (
                                    h.key.to_string(),
                                    String::from_utf8_lossy(h.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Record {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers,
                });
            }
            Some(Err(KafkaError::PartitionEOF(p))) => at_eof[p as usize] = true,
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    out
}

/// Parses a `burrow-consume --record` file: one `TOPIC PARTITION OFFSET` line per finished
/// message. A last line without its newline (cut by a kill) is ignored.
pub fn read_record_file(path: &std::path::Path) -> Vec<(i32, i64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 3, "bad record line {line:?} in {}", path.display());
            (
                f[1].parse().expect("partition"),
                f[2].parse().expect("offset"),
            )
        })
        .collect()
}

/// Lines in a record file so far (cheap progress probe).
pub fn record_lines(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Reads `"key":number` from the one-line JSON `burrow-consume` prints.
pub fn json_number(line: &str, key: &str) -> Option<i64> {
    let needle = format!("\"{key}\":");
    let start = line.find(&needle)? + needle.len();
    let digits: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// A `burrow-consume` child process. Killed (SIGKILL) on drop if still running.
pub struct ConsumerProcess {
    pub name: String,
    pub record: std::path::PathBuf,
    pub stop_file: std::path::PathBuf,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl ConsumerProcess {
    /// Starts `burrow-consume` (the binary cargo built for this test run) with its record,
    /// stop and output files in `dir`, named after `name`.
    pub fn spawn(
        dir: &std::path::Path,
        name: &str,
        bootstrap: &str,
        group: &str,
        topic: &str,
        args: &[&str],
    ) -> Self {
        let file = |ext: &str| dir.join(format!("{name}.{ext}"));
        let (record, stop_file, stdout, stderr) =
            (file("record"), file("stop"), file("stdout"), file("stderr"));
        let _ = std::fs::remove_file(&stop_file);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_burrow-consume"))
            .args(["--bootstrap", bootstrap, "--group", group, "--topic", topic])
            .arg("--record")
            .arg(&record)
            .arg("--stop-file")
            .arg(&stop_file)
            .args(["--max-runtime-s", "600"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn burrow-consume");
        Self {
            name: name.to_string(),
            record,
            stop_file,
            stdout,
            stderr,
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// Finished messages recorded so far.
    pub fn recorded(&self) -> usize {
        record_lines(&self.record)
    }

    /// Panics (with its stderr) if the process already exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            panic!(
                "{} exited early with {status}: {}",
                self.name,
                self.stderr_text()
            );
        }
    }

    pub fn stderr_path(&self) -> &std::path::Path {
        &self.stderr
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL (`Child::kill` sends SIGKILL on Unix) and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Asks for a graceful stop (stop file) and waits for a clean exit; returns the final
    /// stats line it printed.
    pub fn stop(&mut self, timeout: Duration) -> String {
        std::fs::write(&self.stop_file, b"stop").expect("stop file");
        self.wait(timeout)
    }

    /// Waits for the process to exit by itself, whatever its status; returns the status and its
    /// stats line. Kills it and panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().expect("process already reaped");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} did not exit within {timeout:?}; stderr: {}",
                    self.name,
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        (status, out.lines().last().unwrap_or_default().to_string())
    }

    /// Waits for the process to exit by itself with status 0; returns its stats line.
    pub fn wait(&mut self, timeout: Duration) -> String {
        let mut child = self.child.take().expect("process already reaped");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} did not exit within {timeout:?}; stderr: {}",
                    self.name,
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        assert!(
            status.success(),
            "{} exited with {status}; stdout: {out} stderr: {}",
            self.name,
            self.stderr_text()
        );
        out.lines().last().unwrap_or_default().to_string()
    }
}

impl Drop for ConsumerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A scratch directory for record files, removed on drop unless the test panicked (kept for
/// inspection; its path is printed).
pub struct ScratchDir(pub std::path::PathBuf);

impl ScratchDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(unique_real(&format!("burrow-{name}")));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept scratch dir {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// At-least-once check over processing records: every expected (partition, offset) appears.
/// Returns (total records, distinct, duplicates = total - distinct).
pub fn check_at_least_once(
    expected: &std::collections::BTreeSet<(i32, i64)>,
    records: &[(i32, i64)],
) -> (usize, usize, usize) {
    let distinct: std::collections::BTreeSet<(i32, i64)> = records.iter().copied().collect();
    let missing: Vec<_> = expected.difference(&distinct).take(20).collect();
    assert!(
        missing.is_empty(),
        "{} messages never processed, e.g. {missing:?}",
        expected.difference(&distinct).count()
    );
    let unexpected: Vec<_> = distinct.difference(expected).take(20).collect();
    assert!(
        unexpected.is_empty(),
        "processed offsets that were never produced: {unexpected:?}"
    );
    (
        records.len(),
        distinct.len(),
        records.len() - distinct.len(),
    )
}

/// Runs `pool` with a processor that waits `work(offset)` (simulated I/O), records the message
/// and reports it done. Returns the running pool and what it recorded.
pub fn run_recording(pool: Pool, work: fn(i64) -> Duration) -> (Running, Seen) {
    let seen = Seen::default();
    let s = seen.clone();
    let running = Running::start(pool, move |p| {
        p.run(move |m| {
            let pause = work(m.offset());
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            s.record(m.partition(), m.offset());
            burrow::Outcome::Done
        })
    });
    (running, seen)
}

/// No simulated work.
pub fn instant(_: i64) -> Duration {
    Duration::ZERO
}

// ---------------------------------------------------------------------------------------------
// Consumer group protocols: the real-broker tests that run under both.

/// The consumer group protocol a real-broker test runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupProtocol {
    /// `group.protocol=classic` (librdkafka's default): client-side assignment, the client's
    /// session timeout and heartbeat interval.
    Classic,
    /// `group.protocol=consumer` (KIP-848): the broker assigns and hands partitions over
    /// incrementally; session timeout and heartbeat interval are the broker's
    /// (`group.consumer.*` in `scripts/kafka`: 6 s and 0.5 s, like `Classic` below).
    Consumer,
}

impl GroupProtocol {
    pub fn name(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Consumer => "consumer",
        }
    }

    /// The librdkafka keys a member of a real-broker test sets under this protocol.
    pub fn settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Classic => &[
                ("session.timeout.ms", "6000"),
                ("heartbeat.interval.ms", "500"),
            ],
            Self::Consumer => &[("group.protocol", "consumer")],
        }
    }

    /// The same keys as `burrow-consume` arguments (`--set KEY=VALUE` ...).
    pub fn cli_args(self) -> Vec<String> {
        self.settings()
            .iter()
            .flat_map(|(k, v)| ["--set".to_string(), format!("{k}={v}")])
            .collect()
    }
}

/// The last stats line a `burrow-consume --stats-file` wrote (empty before the first one).
pub fn read_stats_file(path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The partitions listed in a `burrow-consume` stats line, sorted.
pub fn json_partitions(line: &str) -> Vec<i32> {
    let Some(start) = line.find("\"partitions\":[") else {
        return Vec::new();
    };
    let mut out: Vec<i32> = line[start..]
        .match_indices("\"partition\":")
        .filter_map(|(i, _)| json_number(&line[start + i..], "partition"))
        .map(|p| p as i32)
        .collect();
    out.sort_unstable();
    out
}
