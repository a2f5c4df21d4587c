//! Metrics: scraped over HTTP from a running pool on the mock cluster, parsed by the official
//! Prometheus Python client's parser (tests/support/parse_prometheus.py), compared with stats()
//! and with what the broker holds.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use burrow::{Outcome, Pool};
use common::*;

const LONG: Duration = Duration::from_secs(60);

/// `GET path` over plain HTTP/1.0; returns (status line, body).
fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to metrics endpoint");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("http response");
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

/// Samples keyed by (name, "k=v,k=v").
fn parse(text: &str) -> HashMap<(String, String), f64> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/parse_prometheus.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser rejected the exposition (is prometheus_client installed? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            let (name, labels, value) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            (
                (name.to_string(), labels.to_string()),
                value.parse::<f64>().unwrap(),
            )
        })
        .collect()
}

fn sum(samples: &HashMap<(String, String), f64>, name: &str, label: &str) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| n == name && l.contains(label))
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn scraped_metrics_parse_and_agree_with_stats_and_the_broker() {
    init_logs();
    let kafka = MockKafka::new();
    let (topic, group) = (unique("metrics"), unique("g"));
    kafka.topic(&topic, 2);
    produce(&kafka.bootstrap(), &topic, 2, 200, |_| None);
    let cfg = config(
        &kafka.bootstrap(),
        &group,
        &[
            ("burrow.metrics.addr", "127.0.0.1:0"),
            ("burrow.on.failure", "skip"),
            ("burrow.max.retries", "1"),
        ],
    );
    let pool = Pool::new(&cfg).unwrap();
    let addr = pool.metrics_addr().expect("metrics endpoint bound");
    pool.subscribe(&[&topic]).unwrap();
    let running = Running::start(pool, |p| {
        p.run(|m| match (m.partition(), m.offset()) {
            (0, 3) => Outcome::fail("poison"),
            (1, 4) => Outcome::retry("flaky forever"),
            _ => Outcome::Done,
        })
    });
    wait_committed(&kafka.bootstrap(), &group, &topic, &[100, 100], LONG);
    // Lag comes from librdkafka's statistics (every second): wait until both partitions show it.
    let mut samples = HashMap::new();
    wait_until(LONG, "lag series for both partitions", || {
        let (status, body) = http_get(addr, "/metrics");
        assert!(status.contains("200"), "{status}");
        samples = parse(&body);
        samples
            .keys()
            .filter(|(n, _)| n == "burrow_offset_lag")
            .count()
            == 2
            && sum(&samples, "burrow_offset_lag", "") == 0.0
    });
    let stats = running.stats();
    assert_eq!(
        sum(
            &samples,
            "burrow_messages_processed_total",
            "status=success"
        ),
        stats.messages_processed as f64
    );
    assert_eq!(stats.messages_processed, 198);
    assert_eq!(
        sum(&samples, "burrow_messages_processed_total", "status=failed"),
        2.0
    );
    assert_eq!(
        sum(&samples, "burrow_messages_skipped_total", ""),
        stats.messages_skipped as f64
    );
    assert_eq!(
        sum(&samples, "burrow_retries_total", ""),
        stats.messages_retried as f64
    );
    assert_eq!(sum(&samples, "burrow_errors_total", "retriable=false"), 1.0);
    assert_eq!(sum(&samples, "burrow_errors_total", "retriable=true"), 2.0);
    assert_eq!(
        sum(&samples, "burrow_offsets_committed_total", ""),
        stats.offsets_committed as f64
    );
    assert_eq!(sum(&samples, "burrow_inflight_messages", ""), 0.0);
    assert_eq!(
        sum(&samples, "burrow_processing_duration_seconds_count", ""),
        201.0,
        "every attempt timed"
    );
    assert_eq!(sum(&samples, "burrow_rebalances_total", "kind=assign"), 1.0);
    for p in &stats.partitions {
        let label = format!("partition={},topic={}", p.partition, p.topic);
        assert_eq!(
            sum(&samples, "burrow_offset_lag", &label),
            p.lag.unwrap() as f64
        );
    }
    assert!(samples.contains_key(&("burrow_worker_utilization".to_string(), String::new())));
    assert!(samples
        .keys()
        .any(|(n, _)| n == "burrow_oldest_unfinished_age_seconds"));
    let (status, _) = http_get(addr, "/nope");
    assert!(status.contains("404"), "{status}");
    let text = running.pool.metrics_text();
    running.stop().unwrap();
    assert!(text.contains("burrow_messages_processed_total"));
}

#[test]
fn metrics_are_off_by_default_and_a_busy_address_is_a_clear_error() {
    let kafka = MockKafka::new();
    let pool = Pool::new(&config(&kafka.bootstrap(), &unique("g"), &[])).unwrap();
    assert_eq!(pool.metrics_text(), "");
    assert!(pool.metrics_addr().is_none());
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let err = Pool::new(&config(
        &kafka.bootstrap(),
        &unique("g"),
        &[("burrow.metrics.addr", &addr)],
    ))
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&addr) && msg.contains("metrics"), "{msg}");
}
