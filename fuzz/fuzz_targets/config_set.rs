//! Fuzzes configuration (`burrow::Config::set` and the cross-key checks of `pool_settings`):
//! any key and value, in any order, must be accepted or refused with an error that names the key,
//! never a panic; secret values must never appear in an error or in the `Debug` output; and
//! accepted `burrow.*` values must give settings within their documented ranges.
//!
//! Run: `cargo +nightly fuzz run config_set` (from the repository root).
#![no_main]

use arbitrary::Arbitrary;
use burrow::{is_secret_key, Config};

/// What `Config`'s `Debug` shows instead of a secret value.
const REDACTED: &str = "[redacted]";
/// Another secret value, put in place of each secret when checking `Debug`.
const OTHER_SECRET: &str = "other-secret-value";
use libfuzzer_sys::fuzz_target;

/// Keys worth hitting often: every `burrow.*` key, the keys Burrow forces, some secrets and
/// some ordinary librdkafka keys.
const KEYS: &[&str] = &[
    "burrow.workers",
    "burrow.job.queue.size",
    "burrow.result.queue.size",
    "burrow.commit.interval.ms",
    "burrow.commit.batch.size",
    "burrow.max.retries",
    "burrow.retry.backoff.ms",
    "burrow.retry.backoff.max.ms",
    "burrow.retry.jitter",
    "burrow.max.consecutive.errors",
    "burrow.on.failure",
    "burrow.dead.letter.topic",
    "burrow.ordering",
    "burrow.max.inflight.per.partition",
    "burrow.shutdown.timeout.ms",
    "burrow.commit.metadata",
    "burrow.commit.metadata.max.bytes",
    "burrow.metrics",
    "burrow.metrics.addr",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "sasl.password",
    "ssl.key.password",
    "ssl.keystore.password",
    "sasl.oauthbearer.client.secret",
    "ssl.key.pem",
    "bootstrap.servers",
    "group.id",
    "auto.offset.reset",
    "session.timeout.ms",
    "partition.assignment.strategy",
    "security.protocol",
    "debug",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "10",
    "4096",
    "1048577",
    "true",
    "false",
    "yes",
    "off",
    "0.5",
    "NaN",
    "inf",
    "1e3",
    " 7 ",
    "halt",
    "skip",
    "dead-letter",
    "key",
    "partition",
    "unordered",
    "earliest",
    "127.0.0.1:0",
    "",
];

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u8),
    Padded(u8),
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Known(u8),
    Any(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    sets: Vec<(Key, Value)>,
}

fn key_of(k: &Key) -> String {
    match k {
        Key::Known(i) => KEYS[usize::from(*i) % KEYS.len()].to_string(),
        Key::Padded(i) => format!(" {}\t", KEYS[usize::from(*i) % KEYS.len()]),
        Key::Any(s) => s.clone(),
    }
}

fn value_of(v: &Value) -> String {
    match v {
        Value::Known(i) => VALUES[usize::from(*i) % VALUES.len()].to_string(),
        Value::Any(s) => s.clone(),
    }
}

/// A value long and distinctive enough that finding it in a message means it leaked: not a part
/// of the redaction marker itself (a secret `redact` is found in `"[redacted]"`).
fn distinctive(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 6 && !v.contains("redacted") && !REDACTED.contains(v)
}

fuzz_target!(|input: Input| {
    let mut config = Config::new();
    // Every accepted set, in order, to replay on a twin configuration.
    let mut accepted: Vec<(String, String)> = Vec::new();
    for (k, v) in input.sets.iter().take(16) {
        let (key, value) = (key_of(k), value_of(v));
        let secret = is_secret_key(key.trim());
        match config.set(&key, &value) {
            Ok(_) => {
                assert_eq!(config.get(key.trim()), Some(value.as_str()));
                accepted.push((key.clone(), value.clone()));
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(key.trim()), "{msg:?} does not name {key:?}");
                assert_eq!(e.key(), key.trim());
                if secret && distinctive(&value) && !key.contains(value.trim()) {
                    // The same refusal with another value: if the text is there too, it comes
                    // from the key or the reason, not from the value.
                    let other = Config::new()
                        .set(&key, "\u{1}")
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    assert!(
                        !msg.contains(value.trim()) || other.contains(value.trim()),
                        "secret value of {key:?} leaked into {msg:?}"
                    );
                }
            }
        }
    }
    // `Debug` must not depend on secret values: the same sets with every secret value replaced
    // must print the same text. (Searching the text for the secret instead is not exact: a value
    // such as `.pem":` is found across a key and the map's punctuation, `"ssl.key.pem": "`.)
    let debug = format!("{config:?}");
    let mut twin = Config::new();
    let replayed = accepted.iter().all(|(key, value)| {
        let value = if is_secret_key(key.trim()) {
            OTHER_SECRET
        } else {
            value
        };
        twin.set(key, value).is_ok()
    });
    if replayed {
        assert_eq!(debug, format!("{twin:?}"), "a secret value shows in Debug");
    }
    if let Ok(s) = config.pool_settings() {
        assert!(s.workers >= 1 && s.workers <= 100_000);
        assert!(s.job_queue_size >= 1 && s.result_queue_size >= 1);
        assert!(s.commit_batch_size >= 1 && s.max_inflight_per_partition >= 1);
        assert!(!s.commit_interval.is_zero());
        assert!(s.retry_backoff <= s.retry_backoff_max);
        assert!((0.0..=1.0).contains(&s.retry_jitter), "{}", s.retry_jitter);
        assert!(s.max_consecutive_errors >= 1);
        assert!(s.commit_metadata_max_bytes <= 1 << 20);
        if let Some(t) = &s.dead_letter_topic {
            assert!(!t.trim().is_empty());
        }
    } else if let Err(e) = config.pool_settings() {
        let msg = e.to_string();
        assert!(msg.contains("burrow."), "{msg}");
    }
});
