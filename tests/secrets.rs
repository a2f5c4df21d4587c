//! No secret configuration value ever reaches a log line or an error message: a pool runs with
//! `sasl.password` set and librdkafka's debug logging on, every log record (Burrow's and
//! librdkafka's, both through `tracing`) is captured, and the password must appear nowhere.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burrow::{Config, Outcome, Pool};
use common::*;

const SECRET: &str = "hunter2-s3cr3t-value";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn secrets_never_appear_in_logs_or_errors() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let kafka = MockKafka::new();
    let topic = unique("secrets");
    kafka.topic(&topic, 1);
    let mut cfg = config(
        &kafka.bootstrap(),
        &unique("g"),
        &[("debug", "conf,security,broker")],
    );
    cfg.set("sasl.username", "burrow").unwrap();
    cfg.set("sasl.password", SECRET).unwrap();
    cfg.set("ssl.key.password", SECRET).unwrap();
    // SASL against a plaintext mock listener fails: the errors are logged, the pool keeps trying.
    cfg.set("security.protocol", "sasl_plaintext").unwrap();
    cfg.set("sasl.mechanism", "PLAIN").unwrap();

    let mut errors = vec![format!("{cfg:?}")];
    let mut bad = Config::new();
    errors.push(
        bad.set("sasl.password.typo", SECRET)
            .map(|_| ())
            .unwrap_err()
            .to_string(),
    );
    errors.push(
        bad.set("burrow.sasl.password", SECRET)
            .map(|_| ())
            .unwrap_err()
            .to_string(),
    );

    let pool = Pool::new(&cfg).unwrap();
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| p.run(|_| Outcome::Done));
    std::thread::sleep(Duration::from_secs(3));
    running.stop().unwrap();

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.len() > 1000,
        "logging was captured ({} bytes)",
        logs.len()
    );
    assert!(
        logs.contains("sasl.password") || logs.contains("SASL"),
        "the SASL setup was logged"
    );
    assert!(!logs.contains(SECRET), "a secret leaked into the logs");
    for e in errors {
        assert!(!e.contains(SECRET), "a secret leaked into an error: {e}");
    }
}
