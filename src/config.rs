//! Configuration: one flat set of string keys, like librdkafka's.
//!
//! Keys starting with `burrow.` configure the pool and are validated here, each against a table of
//! allowed values. Every other key is handed to librdkafka unchanged and validated by librdkafka
//! itself when it is set, so a typo fails at [`Config::set`] rather than at start-up.
//!
//! Secrets (`sasl.password`, `ssl.key.password`, ...) are never echoed: error messages and the
//! `Debug` output name the key but replace the value with `[redacted]`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::error::ConfigError;

/// What happens to a message whose retries are exhausted, or that failed with a non-retriable error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Stop the pool at the first message that fails permanently: nothing more is dispatched,
    /// running work drains (bounded by `burrow.shutdown.timeout.ms`), the safe prefix is
    /// committed (the failed message's partition commits exactly up to it) and `run` returns
    /// [`Error::Halted`](crate::Error::Halted) naming topic, partition, offset and cause.
    Halt,
    /// Log and count the failure, then treat the message as finished. After
    /// `burrow.max.consecutive.errors` permanent failures in a row the pool halts instead.
    Skip,
    /// Produce the message to `burrow.dead.letter.topic`, wait for the broker's acknowledgement,
    /// then treat it as finished. After `burrow.max.consecutive.errors` permanent failures in a
    /// row, or when a copy still fails after `burrow.max.retries` produce retries, the pool halts.
    DeadLetter,
}

/// In which order messages are handed to workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingOrder {
    /// Any free worker takes the next message.
    Unordered,
    /// Messages with the same key (within a partition) run one at a time, in offset order.
    /// Messages without a key are unordered.
    Key,
    /// One message at a time per partition, in offset order.
    Partition,
}

/// The typed view of every `burrow.*` key, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSettings {
    /// `burrow.workers`: worker threads running the processor.
    pub workers: usize,
    /// `burrow.job.queue.size`: messages that may wait for a free worker; while that many wait,
    /// the pool holds off fetching more. Unset: 1000, or 4 × `burrow.workers` when that is
    /// larger (many slow workers finish a queue of 1000 in a few milliseconds, and a queue that
    /// runs dry leaves them idle while the next messages are fetched).
    pub job_queue_size: usize,
    /// `burrow.result.queue.size`: finished jobs waiting for the coordinator.
    pub result_queue_size: usize,
    /// `burrow.commit.interval.ms`: commit at least this often while there is progress.
    pub commit_interval: Duration,
    /// `burrow.commit.batch.size`: commit as soon as this many messages finished since the last commit.
    pub commit_batch_size: usize,
    /// `burrow.max.retries`: retries after the first attempt before the failure policy applies.
    pub max_retries: u32,
    /// `burrow.retry.backoff.ms`: base of the exponential backoff.
    pub retry_backoff: Duration,
    /// `burrow.retry.backoff.max.ms`: cap of the exponential backoff.
    pub retry_backoff_max: Duration,
    /// `burrow.retry.jitter`: fraction (0..=1) of each backoff that is randomised away.
    pub retry_jitter: f64,
    /// `burrow.max.consecutive.errors`: permanent failures in a row that halt the pool (policy `halt`).
    pub max_consecutive_errors: u32,
    /// `burrow.on.failure`.
    pub on_failure: FailurePolicy,
    /// `burrow.dead.letter.topic`.
    pub dead_letter_topic: Option<String>,
    /// `burrow.ordering`.
    pub ordering: ProcessingOrder,
    /// `burrow.max.inflight.per.partition`: received-but-unfinished messages per partition before
    /// the partition is paused (resumed at half) — the bound for a partition whose messages wait
    /// behind a retrying key or message.
    pub max_inflight_per_partition: usize,
    /// `burrow.shutdown.timeout.ms`: how long stop and revoke wait for in-flight work.
    pub shutdown_timeout: Duration,
    /// `burrow.commit.timeout.ms`: how long one offset commit may go unanswered before it is
    /// given up (counted; a final commit that gives up makes `run` fail).
    pub commit_timeout: Duration,
    /// `burrow.commit.metadata`: record finished offsets above the commit point in commit metadata.
    pub commit_metadata: bool,
    /// `burrow.commit.metadata.max.bytes`: metadata is cut to this size (the highest finished
    /// offsets are left out and may be processed again after a restart).
    pub commit_metadata_max_bytes: usize,
    /// `burrow.metrics`: keep Prometheus metrics.
    pub metrics: bool,
    /// `burrow.metrics.addr`: serve metrics over HTTP on this address (`GET /metrics`); implies
    /// `burrow.metrics=true`.
    pub metrics_addr: Option<String>,
}

enum Kind {
    Int { min: i64, max: i64 },
    Bool,
    Fraction,
    Choice(&'static [&'static str]),
    Text,
    Topic,
}

struct KeySpec {
    key: &'static str,
    default: Option<&'static str>,
    kind: Kind,
}

const KEYS: &[KeySpec] = &[
    KeySpec {
        key: "burrow.workers",
        default: Some("10"),
        kind: Kind::Int {
            min: 1,
            max: 100_000,
        },
    },
    KeySpec {
        key: "burrow.job.queue.size",
        // Unset: 1000, or 4 × burrow.workers when larger (see `PoolSettings::job_queue_size`).
        default: None,
        kind: Kind::Int {
            min: 1,
            max: 10_000_000,
        },
    },
    KeySpec {
        key: "burrow.result.queue.size",
        default: Some("1000"),
        kind: Kind::Int {
            min: 1,
            max: 10_000_000,
        },
    },
    KeySpec {
        key: "burrow.commit.interval.ms",
        default: Some("5000"),
        kind: Kind::Int {
            min: 1,
            max: 86_400_000,
        },
    },
    KeySpec {
        key: "burrow.commit.batch.size",
        default: Some("1000"),
        kind: Kind::Int {
            min: 1,
            max: 100_000_000,
        },
    },
    KeySpec {
        key: "burrow.max.retries",
        default: Some("3"),
        kind: Kind::Int {
            min: 0,
            max: 1_000_000,
        },
    },
    KeySpec {
        key: "burrow.retry.backoff.ms",
        default: Some("100"),
        kind: Kind::Int {
            min: 0,
            max: 86_400_000,
        },
    },
    KeySpec {
        key: "burrow.retry.backoff.max.ms",
        default: Some("60000"),
        kind: Kind::Int {
            min: 0,
            max: 86_400_000,
        },
    },
    KeySpec {
        key: "burrow.retry.jitter",
        default: Some("0"),
        kind: Kind::Fraction,
    },
    KeySpec {
        key: "burrow.max.consecutive.errors",
        default: Some("10"),
        kind: Kind::Int {
            min: 1,
            max: 1_000_000_000,
        },
    },
    KeySpec {
        key: "burrow.on.failure",
        default: Some("halt"),
        kind: Kind::Choice(&["halt", "skip", "dead-letter"]),
    },
    KeySpec {
        key: "burrow.dead.letter.topic",
        default: None,
        kind: Kind::Topic,
    },
    KeySpec {
        key: "burrow.ordering",
        default: Some("unordered"),
        kind: Kind::Choice(&["unordered", "key", "partition"]),
    },
    KeySpec {
        key: "burrow.max.inflight.per.partition",
        default: Some("10000"),
        kind: Kind::Int {
            min: 1,
            max: 10_000_000,
        },
    },
    KeySpec {
        key: "burrow.shutdown.timeout.ms",
        default: Some("30000"),
        kind: Kind::Int {
            min: 0,
            max: 86_400_000,
        },
    },
    KeySpec {
        key: "burrow.commit.timeout.ms",
        default: Some("10000"),
        kind: Kind::Int {
            min: 1,
            max: 86_400_000,
        },
    },
    KeySpec {
        key: "burrow.commit.metadata",
        default: Some("true"),
        kind: Kind::Bool,
    },
    KeySpec {
        key: "burrow.commit.metadata.max.bytes",
        default: Some("4096"),
        kind: Kind::Int {
            min: 0,
            max: 1_048_576,
        },
    },
    KeySpec {
        key: "burrow.metrics",
        default: Some("false"),
        kind: Kind::Bool,
    },
    KeySpec {
        key: "burrow.metrics.addr",
        default: None,
        kind: Kind::Text,
    },
];

/// librdkafka keys that Burrow owns: it sets them itself and refuses values that would break the
/// commit guarantees.
const FORCED_FALSE: &[&str] = &["enable.auto.commit", "enable.auto.offset.store"];

/// Classic-protocol keys that librdkafka refuses (at consumer creation) under
/// `group.protocol=consumer`, where the broker owns them; with what to do instead.
const CLASSIC_ONLY: &[(&str, &str)] = &[
    (
        "partition.assignment.strategy",
        "the broker assigns partitions under group.protocol=consumer; choose its assignor with group.remote.assignor (uniform or range)",
    ),
    (
        "session.timeout.ms",
        "the broker sets it under group.protocol=consumer (broker setting group.consumer.session.timeout.ms, or the group config consumer.session.timeout.ms)",
    ),
    (
        "heartbeat.interval.ms",
        "the broker sets it under group.protocol=consumer (broker setting group.consumer.heartbeat.interval.ms, or the group config consumer.heartbeat.interval.ms)",
    ),
    (
        "group.protocol.type",
        "it only applies to group.protocol=classic",
    ),
];

/// librdkafka keys whose librdkafka default does not suit Burrow's consumer, with the value
/// Burrow uses instead. A value the user sets explicitly always wins.
///
/// * `fetch.queue.backoff.ms` = 10 (librdkafka: 1000). When librdkafka's prefetch queue for a
///   partition is above `queued.min.messages` / `queued.max.messages.kbytes`, librdkafka postpones
///   that partition's next fetch by this long. A pipelined consumer drains that queue in bursts
///   (it holds off polling while its own job queue is full), so with the librdkafka default the
///   queue empties long before the postponed fetch is sent and the whole pipeline idles for up to a
///   second at a time: a no-op run over 1,000,000 records on a local broker went 4× faster with 10.
/// * `statistics.interval.ms` = 1000 (librdkafka: 0, off). The statistics feed the high
///   watermarks behind the lag figures of `Pool::stats` and the metrics.
pub const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("fetch.queue.backoff.ms", "10"),
    ("statistics.interval.ms", "1000"),
];

/// Pool and librdkafka configuration.
///
/// librdkafka keys not set here keep librdkafka's defaults, except those in
/// [`CONSUMER_DEFAULTS`] (`fetch.queue.backoff.ms` = 10, `statistics.interval.ms` = 1000), which
/// suit a pipelined consumer better; setting such a key explicitly overrides Burrow's default.
/// [`Config::consumer_properties`] shows the properties the consumer is created with.
///
/// ```
/// let mut config = burrow::Config::new();
/// config.set("bootstrap.servers", "127.0.0.1:9092").unwrap();
/// config.set("group.id", "billing").unwrap();
/// config.set("burrow.workers", "100").unwrap();
/// assert!(config.set("burrow.workers", "lots").is_err());
/// ```
#[derive(Clone, Default)]
pub struct Config {
    values: BTreeMap<String, String>,
}

/// Whether a key holds a secret whose value must never be logged or echoed.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.contains("ssl.key.pem")
        || key.contains("sasl.oauthbearer.config")
        || key.contains("token")
        || key.ends_with(".key")
}

fn shown(key: &str, value: &str) -> String {
    if is_secret_key(key) {
        "[redacted]".to_string()
    } else {
        value.to_string()
    }
}

impl Config {
    /// An empty configuration: every `burrow.*` key at its default, nothing set for librdkafka.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one key, validating it at once. `burrow.*` keys are checked against their allowed
    /// values; other keys are checked by librdkafka.
    ///
    /// A refused value leaves the configuration unchanged; the error names the key and says
    /// what is allowed, and never repeats a secret value:
    ///
    /// ```
    /// let mut config = burrow::Config::new();
    /// let err = config.set("burrow.on.failure", "ignore").unwrap_err();
    /// assert_eq!(err.key(), "burrow.on.failure");
    /// assert!(err.to_string().contains("halt"));
    ///
    /// config.set("sasl.password", "hunter2").unwrap();
    /// assert!(!format!("{config:?}").contains("hunter2"));
    /// ```
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self, ConfigError> {
        let key = key.trim();
        if key.is_empty() {
            return Err(ConfigError::new(key, "", "the key is empty"));
        }
        if key.starts_with("burrow.") {
            check_burrow_key(key, value)?;
        } else {
            check_kafka_key(key, value)?;
            self.check_group_protocol_with(key, value)?;
        }
        self.values.insert(key.to_string(), value.to_string());
        Ok(self)
    }

    /// Refuses a classic-only key together with `group.protocol=consumer`, whichever of the two
    /// is set second, naming the classic-only key.
    fn check_group_protocol_with(&self, key: &str, value: &str) -> Result<(), ConfigError> {
        let mut values = self.values.clone();
        values.insert(key.to_string(), value.to_string());
        check_group_protocol(&values)
    }

    /// The value set for `key`, or the default of a `burrow.*` key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .or_else(|| spec(key).and_then(|s| s.default))
    }

    /// Every key that was set, in key order (secrets included: handle with care).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The typed pool settings, after cross-key checks.
    pub fn pool_settings(&self) -> Result<PoolSettings, ConfigError> {
        let int = |key: &str| -> i64 {
            self.get(key)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        let ms = |key: &str| Duration::from_millis(int(key) as u64);
        let text = |key: &str| {
            self.get(key)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let on_failure = match self.get("burrow.on.failure").unwrap_or("halt").trim() {
            "skip" => FailurePolicy::Skip,
            "dead-letter" => FailurePolicy::DeadLetter,
            _ => FailurePolicy::Halt,
        };
        let ordering = match self.get("burrow.ordering").unwrap_or("unordered").trim() {
            "key" => ProcessingOrder::Key,
            "partition" => ProcessingOrder::Partition,
            _ => ProcessingOrder::Unordered,
        };
        let settings = PoolSettings {
            workers: int("burrow.workers") as usize,
            job_queue_size: match self.values.get("burrow.job.queue.size") {
                Some(_) => int("burrow.job.queue.size") as usize,
                None => default_job_queue_size(int("burrow.workers") as usize),
            },
            result_queue_size: int("burrow.result.queue.size") as usize,
            commit_interval: ms("burrow.commit.interval.ms"),
            commit_batch_size: int("burrow.commit.batch.size") as usize,
            max_retries: int("burrow.max.retries") as u32,
            retry_backoff: ms("burrow.retry.backoff.ms"),
            retry_backoff_max: ms("burrow.retry.backoff.max.ms"),
            retry_jitter: self
                .get("burrow.retry.jitter")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0),
            max_consecutive_errors: int("burrow.max.consecutive.errors") as u32,
            on_failure,
            dead_letter_topic: text("burrow.dead.letter.topic"),
            ordering,
            max_inflight_per_partition: int("burrow.max.inflight.per.partition") as usize,
            shutdown_timeout: ms("burrow.shutdown.timeout.ms"),
            commit_timeout: ms("burrow.commit.timeout.ms"),
            commit_metadata: parse_bool(self.get("burrow.commit.metadata").unwrap_or("true"))
                .unwrap_or(true),
            commit_metadata_max_bytes: int("burrow.commit.metadata.max.bytes") as usize,
            metrics: parse_bool(self.get("burrow.metrics").unwrap_or("false")).unwrap_or(false),
            metrics_addr: text("burrow.metrics.addr"),
        };
        if settings.on_failure == FailurePolicy::DeadLetter && settings.dead_letter_topic.is_none()
        {
            return Err(ConfigError::new(
                "burrow.dead.letter.topic",
                "",
                "a topic name is required when burrow.on.failure=dead-letter",
            ));
        }
        if settings.retry_backoff_max < settings.retry_backoff {
            return Err(ConfigError::new(
                "burrow.retry.backoff.max.ms",
                &settings.retry_backoff_max.as_millis().to_string(),
                "must be at least burrow.retry.backoff.ms",
            ));
        }
        Ok(settings)
    }

    /// The librdkafka configuration for the pool's consumer: every non-`burrow.` key, plus the
    /// settings Burrow needs (manual commits, no automatic offset store).
    pub(crate) fn consumer_config(&self) -> Result<ClientConfig, ConfigError> {
        if self.get("group.id").map(str::trim).unwrap_or("").is_empty() {
            return Err(ConfigError::new(
                "group.id",
                "",
                "a consumer group id is required",
            ));
        }
        check_group_protocol(&self.values)?;
        let mut cc = ClientConfig::new();
        for (k, v) in self.iter().filter(|(k, _)| !k.starts_with("burrow.")) {
            cc.set(k, v);
        }
        for key in FORCED_FALSE {
            cc.set(*key, "false");
        }
        for (key, value) in CONSUMER_DEFAULTS {
            if self.get(key).is_none() {
                cc.set(*key, *value);
            }
        }
        Ok(cc)
    }

    /// The librdkafka properties the pool's consumer is created with: every non-`burrow.` key that
    /// was set, Burrow's [`CONSUMER_DEFAULTS`] for keys that were not, and the keys Burrow owns
    /// (`enable.auto.commit`, `enable.auto.offset.store` = false). Secrets included: handle with
    /// care. Useful to compare with, or to build, another client with the same settings.
    pub fn consumer_properties(&self) -> Result<BTreeMap<String, String>, ConfigError> {
        Ok(self
            .consumer_config()?
            .config_map()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// The librdkafka configuration for the dead-letter producer: connection and security keys
    /// of the consumer, without consumer-only keys, with idempotence and full acknowledgement.
    pub(crate) fn producer_config(&self) -> ClientConfig {
        const CONSUMER_ONLY: &[&str] = &[
            "group.id",
            "group.instance.id",
            "group.protocol",
            "group.remote.assignor",
            "partition.assignment.strategy",
            "session.timeout.ms",
            "heartbeat.interval.ms",
            "max.poll.interval.ms",
            "auto.offset.reset",
            "auto.commit.interval.ms",
            "enable.auto.commit",
            "enable.auto.offset.store",
            "enable.partition.eof",
            "isolation.level",
            "fetch.min.bytes",
            "fetch.max.bytes",
            "fetch.wait.max.ms",
            "fetch.error.backoff.ms",
            "max.partition.fetch.bytes",
            "fetch.message.max.bytes",
            "queued.min.messages",
            "queued.max.messages.kbytes",
            "check.crcs",
            "statistics.interval.ms",
        ];
        let mut cc = ClientConfig::new();
        for (k, v) in self
            .iter()
            .filter(|(k, _)| !k.starts_with("burrow.") && !CONSUMER_ONLY.contains(k))
        {
            cc.set(k, v);
        }
        cc.set("enable.idempotence", "true");
        cc.set("acks", "all");
        cc
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.iter().map(|(k, v)| (k, shown(k, v))))
            .finish()
    }
}

fn spec(key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|s| s.key == key)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn check_burrow_key(key: &str, value: &str) -> Result<(), ConfigError> {
    let Some(spec) = spec(key) else {
        let known: Vec<&str> = KEYS.iter().map(|s| s.key).collect();
        return Err(ConfigError::new(
            key,
            &shown(key, value),
            &format!("unknown burrow key; known keys: {}", known.join(", ")),
        ));
    };
    let v = value.trim();
    let ok = match &spec.kind {
        Kind::Int { min, max } => v.parse::<i64>().is_ok_and(|n| n >= *min && n <= *max),
        Kind::Bool => parse_bool(v).is_some(),
        Kind::Fraction => v.parse::<f64>().is_ok_and(|f| (0.0..=1.0).contains(&f)),
        Kind::Choice(choices) => choices.contains(&v),
        Kind::Text => true,
        Kind::Topic => is_topic_name(v),
    };
    if ok {
        return Ok(());
    }
    let allowed = match &spec.kind {
        Kind::Int { min, max } => format!("expected an integer from {min} to {max}"),
        Kind::Bool => "expected true or false".to_string(),
        Kind::Fraction => "expected a number from 0 to 1".to_string(),
        Kind::Choice(choices) => format!("expected one of: {}", choices.join(", ")),
        Kind::Topic => "expected a Kafka topic name: 1 to 249 characters from a-z, A-Z, 0-9, \
            '.', '_' and '-', and not \".\" or \"..\""
            .to_string(),
        Kind::Text => unreachable!("text keys accept any value"),
    };
    Err(ConfigError::new(key, &shown(key, value), &allowed))
}

/// Kafka's rules for topic names.
fn is_topic_name(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Under `group.protocol=consumer` (KIP-848) librdkafka refuses the classic group keys when the
/// consumer is created, with a message that does not say which setting to use instead; this
/// check names the key and the replacement as soon as both are set.
fn check_group_protocol(values: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let consumer_protocol = values
        .get("group.protocol")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("consumer"));
    if !consumer_protocol {
        return Ok(());
    }
    for (key, instead) in CLASSIC_ONLY {
        if let Some(value) = values.get(*key) {
            return Err(ConfigError::new(
                key,
                &shown(key, value),
                &format!("not supported with group.protocol=consumer: {instead}"),
            ));
        }
    }
    Ok(())
}

/// `burrow.job.queue.size` when unset: 1000, or 4 jobs per worker when that is more.
fn default_job_queue_size(workers: usize) -> usize {
    1000.max(workers.saturating_mul(4))
}

fn check_kafka_key(key: &str, value: &str) -> Result<(), ConfigError> {
    if FORCED_FALSE.contains(&key) && parse_bool(value) != Some(false) {
        return Err(ConfigError::new(
            key,
            &shown(key, value),
            "must be false: Burrow stores and commits offsets itself, only up to the first unfinished message",
        ));
    }
    librdkafka_accepts(key, value).map_err(|e| {
        let reason = if is_secret_key(key) {
            "rejected by librdkafka".to_string()
        } else {
            format!("rejected by librdkafka: {e}")
        };
        ConfigError::new(key, &shown(key, value), &reason)
    })
}

/// A librdkafka configuration object that only serves to try keys on.
struct Probe(*mut rdkafka::bindings::rd_kafka_conf_t);

// SAFETY: the object is only used under the mutex that holds it, and never freed.
unsafe impl Send for Probe {}

/// Whether librdkafka accepts `value` for `key` (its own per-key check, as in `rd_kafka_new`'s
/// configuration). Every key is tried on one configuration object kept for the process: a fresh
/// one per key (librdkafka fills in every default) made `Config::set` cost a few hundred
/// microseconds per key.
fn librdkafka_accepts(key: &str, value: &str) -> Result<(), String> {
    use rdkafka::bindings as rd;
    use std::ffi::{c_char, CStr, CString};
    use std::sync::{Mutex, OnceLock};

    static PROBE: OnceLock<Mutex<Probe>> = OnceLock::new();
    let key_c = CString::new(key).map_err(|_| "the key contains a NUL byte".to_string())?;
    let value_c = CString::new(value).map_err(|_| "the value contains a NUL byte".to_string())?;
    // SAFETY: rd_kafka_conf_new has no preconditions; it never returns NULL (it aborts on OOM).
    let probe = PROBE.get_or_init(|| Mutex::new(Probe(unsafe { rd::rd_kafka_conf_new() })));
    let probe = probe.lock().unwrap_or_else(|e| e.into_inner());
    let mut errstr = [0 as c_char; 512];
    // SAFETY: a live configuration object used under its mutex, NUL-terminated strings, and an
    // error buffer of the size given.
    let rc = unsafe {
        rd::rd_kafka_conf_set(
            probe.0,
            key_c.as_ptr(),
            value_c.as_ptr(),
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if rc == rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK {
        return Ok(());
    }
    // SAFETY: librdkafka NUL-terminates what it writes within the buffer (zeroed beforehand).
    let why = unsafe { CStr::from_ptr(errstr.as_ptr()) };
    Err(why.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_topic_must_be_a_kafka_topic_name() {
        let mut c = Config::new();
        for bad in ["bad!name", "", ".", "..", "a b", &"x".repeat(250)] {
            let e = c.set("burrow.dead.letter.topic", bad).unwrap_err();
            assert_eq!(e.key(), "burrow.dead.letter.topic");
            assert!(e.reason().contains("topic name"), "{e}");
        }
        for good in ["orders.dlq", "orders_DLQ-1", &"x".repeat(249)] {
            c.set("burrow.dead.letter.topic", good).unwrap();
        }
    }

    /// librdkafka's verdict on a key does not depend on what was set before (every key is tried
    /// on one shared configuration object), and its reason reaches the error.
    #[test]
    fn librdkafka_keys_are_checked_one_by_one() {
        let mut c = Config::new();
        for _ in 0..2 {
            let e = c.set("session.timeout.ms", "abc").unwrap_err();
            assert_eq!(e.key(), "session.timeout.ms");
            assert!(e.reason().contains("rejected by librdkafka"), "{e}");
            c.set("session.timeout.ms", "6000").unwrap();
            assert!(c.set("session.timeout.ms", "-5").is_err());
            c.set("session.timeout.ms", "7000").unwrap();
        }
        let e = c.set("no.such.property", "1").unwrap_err();
        assert!(e.reason().contains("No such configuration property"), "{e}");
        assert!(c.set("client.id", "a\0b").is_err(), "a NUL byte is refused");
        let e = c.set("sasl.password", "a\0secret").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn commit_timeout_defaults_to_ten_seconds() {
        let s = Config::new().pool_settings().unwrap();
        assert_eq!(s.commit_timeout, Duration::from_secs(10));
        let e = Config::new()
            .set("burrow.commit.timeout.ms", "0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("burrow.commit.timeout.ms"), "{e}");
    }

    #[test]
    fn default_config_matches_the_original_defaults() {
        let s = Config::new().pool_settings().unwrap();
        assert_eq!(s.workers, 10);
        assert_eq!(s.job_queue_size, 1000);
        let mut many = Config::new();
        many.set("burrow.workers", "1000").unwrap();
        assert_eq!(many.pool_settings().unwrap().job_queue_size, 4000);
        many.set("burrow.job.queue.size", "10").unwrap();
        assert_eq!(
            many.pool_settings().unwrap().job_queue_size,
            10,
            "a value set wins"
        );
        assert_eq!(s.result_queue_size, 1000);
        assert_eq!(s.commit_interval, Duration::from_secs(5));
        assert_eq!(s.commit_batch_size, 1000);
        assert_eq!(s.max_retries, 3);
        assert_eq!(s.retry_backoff, Duration::from_millis(100));
        assert_eq!(s.retry_backoff_max, Duration::from_secs(60));
        assert_eq!(s.max_consecutive_errors, 10);
        assert_eq!(s.on_failure, FailurePolicy::Halt);
        assert_eq!(s.ordering, ProcessingOrder::Unordered);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
        assert!(!s.metrics);
        assert_eq!(s.metrics_addr, None);
    }

    #[test]
    fn invalid_values_name_key_value_and_allowed() {
        let cases = [
            ("burrow.workers", "0", "from 1 to"),
            ("burrow.workers", "ten", "integer"),
            ("burrow.commit.interval.ms", "-5", "integer"),
            ("burrow.on.failure", "explode", "halt, skip, dead-letter"),
            ("burrow.ordering", "random", "unordered, key, partition"),
            ("burrow.metrics", "maybe", "true or false"),
            ("burrow.retry.jitter", "2", "from 0 to 1"),
        ];
        for (key, value, allowed) in cases {
            let err = Config::new().set(key, value).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
            assert!(err.contains(value), "{err}");
            assert!(err.contains(allowed), "{err}");
        }
    }

    #[test]
    fn unknown_burrow_key_lists_known_keys() {
        let err = Config::new()
            .set("burrow.wrokers", "5")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("burrow.wrokers") && err.contains("burrow.workers"),
            "{err}"
        );
    }

    #[test]
    fn unknown_kafka_key_is_rejected_by_librdkafka() {
        let err = Config::new()
            .set("bootstrap.servesr", "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bootstrap.servesr"), "{err}");
    }

    #[test]
    fn auto_commit_true_is_rejected_with_reason() {
        let err = Config::new()
            .set("enable.auto.commit", "true")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("enable.auto.commit") && err.contains("must be false"),
            "{err}"
        );
        Config::new().set("enable.auto.commit", "false").unwrap();
    }

    #[test]
    fn dead_letter_policy_requires_topic() {
        let mut c = Config::new();
        c.set("burrow.on.failure", "dead-letter").unwrap();
        let err = c.pool_settings().unwrap_err().to_string();
        assert!(err.contains("burrow.dead.letter.topic"), "{err}");
        c.set("burrow.dead.letter.topic", "dlq").unwrap();
        assert_eq!(
            c.pool_settings().unwrap().on_failure,
            FailurePolicy::DeadLetter
        );
    }

    #[test]
    fn secrets_are_never_echoed() {
        let mut c = Config::new();
        c.set("sasl.password", "hunter2-secret").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        let err = Config::new().set("ssl.key.password", "").map(|_| ()).err();
        if let Some(err) = err {
            assert!(!err.to_string().contains("hunter2"));
        }
        let err = Config::new()
            .set("burrow.workers.password", "hunter2")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    /// A secret whose value happens to be part of the redaction marker shows as the marker,
    /// exactly like any other secret (the `config_set` fuzz target once took this for a leak:
    /// `fuzz/corpus/config_set/regression-secret-in-redaction-marker`).
    #[test]
    fn a_secret_shows_as_the_marker_whatever_its_value() {
        for value in ["redact", "[redacted]", "acted]", "hunter2"] {
            let mut c = Config::new();
            c.set("sasl.password", value).unwrap();
            c.set("ssl.keystore.password", value).unwrap();
            assert_eq!(
                format!("{c:?}"),
                r#"{"sasl.password": "[redacted]", "ssl.keystore.password": "[redacted]"}"#,
                "value {value:?}"
            );
        }
    }

    #[test]
    fn classic_only_keys_are_refused_under_the_consumer_protocol_in_either_order() {
        for (key, value, hint) in [
            (
                "partition.assignment.strategy",
                "cooperative-sticky",
                "group.remote.assignor",
            ),
            (
                "session.timeout.ms",
                "6000",
                "group.consumer.session.timeout.ms",
            ),
            (
                "heartbeat.interval.ms",
                "500",
                "group.consumer.heartbeat.interval.ms",
            ),
            ("group.protocol.type", "consumer", "group.protocol=classic"),
        ] {
            // The classic key first, then the protocol: the error names the classic key.
            let mut c = Config::new();
            c.set(key, value).unwrap();
            let err = c.set("group.protocol", "consumer").unwrap_err();
            assert_eq!(err.key(), key);
            let text = err.to_string();
            assert!(
                text.contains(key) && text.contains("group.protocol=consumer"),
                "{text}"
            );
            assert!(text.contains(hint), "{text}");
            assert_eq!(
                c.get("group.protocol"),
                None,
                "the refused value is not kept"
            );

            // The protocol first, then the classic key.
            let mut c = Config::new();
            c.set("group.protocol", "consumer").unwrap();
            let err = c.set(key, value).unwrap_err();
            assert_eq!(err.key(), key);
            assert_eq!(c.get(key), None, "the refused value is not kept");

            // Under the classic protocol (explicit or default) the key is accepted.
            let mut c = Config::new();
            c.set("group.protocol", "classic").unwrap();
            c.set(key, value).unwrap();
            Config::new().set(key, value).unwrap();
        }
    }

    #[test]
    fn consumer_protocol_config_creates_a_consumer() {
        let mut c = Config::new();
        c.set("group.id", "g").unwrap();
        c.set("group.protocol", "consumer").unwrap();
        c.set("group.remote.assignor", "uniform").unwrap();
        c.set("group.instance.id", "member-1").unwrap();
        let cc = c.consumer_config().unwrap();
        let consumer: rdkafka::consumer::BaseConsumer =
            cc.create().expect("librdkafka accepts the configuration");
        drop(consumer);
    }

    #[test]
    fn consumer_config_requires_group_and_forces_manual_commit() {
        let mut c = Config::new();
        assert!(c
            .consumer_config()
            .unwrap_err()
            .to_string()
            .contains("group.id"));
        c.set("group.id", "g").unwrap();
        let cc = c.consumer_config().unwrap();
        assert_eq!(cc.get("enable.auto.commit"), Some("false"));
        assert_eq!(cc.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(cc.get("burrow.workers"), None);
    }

    #[test]
    fn pipelined_consumer_defaults_apply_unless_set() {
        let mut c = Config::new();
        c.set("group.id", "g").unwrap();
        let props = c.consumer_properties().unwrap();
        assert_eq!(
            props.get("fetch.queue.backoff.ms").map(String::as_str),
            Some("10")
        );
        assert_eq!(
            props.get("statistics.interval.ms").map(String::as_str),
            Some("1000")
        );
        assert_eq!(
            props.get("enable.auto.commit").map(String::as_str),
            Some("false")
        );
        c.set("fetch.queue.backoff.ms", "500").unwrap();
        c.set("statistics.interval.ms", "0").unwrap();
        let props = c.consumer_properties().unwrap();
        assert_eq!(
            props.get("fetch.queue.backoff.ms").map(String::as_str),
            Some("500"),
            "the user's value wins"
        );
        assert_eq!(
            props.get("statistics.interval.ms").map(String::as_str),
            Some("0")
        );
    }
}
