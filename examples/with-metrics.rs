//! with-metrics: Prometheus metrics, served over HTTP by the pool itself.
//!
//! `burrow.metrics.addr` makes the pool serve its metrics at `http://ADDR/metrics` (port 0: the
//! system picks a free port, `Pool::metrics_addr` says which). The example processes 3,000
//! messages and scrapes its own endpoint twice with a plain HTTP GET, as Prometheus would: once
//! while work is in flight and once after everything is committed, printing the series to watch
//! (throughput, in-flight messages, lag, the age of the oldest unfinished message — the sign of a
//! stuck partition — and worker utilisation). It checks that the scraped message counter agrees
//! with `Pool::stats`.
//!
//! The same text is available without HTTP from `Pool::metrics_text` (set `burrow.metrics=true`).
//! A Grafana dashboard for these series: `bindings/go/examples/with-metrics/grafana-dashboard.json`.
//!
//! Run: `cargo run --example with-metrics`

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use burrow::{Config, Outcome, Pool};
use common::{wait_committed, BoxError, MockKafka};

const MESSAGES: usize = 3_000;

/// `GET /metrics` over a plain TCP connection; returns the response body.
fn scrape(addr: SocketAddr) -> Result<String, BoxError> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("scrape failed: {}", head.lines().next().unwrap_or("")).into());
    }
    Ok(body.to_string())
}

/// Prints the samples of the series worth watching.
fn show(body: &str) {
    const WATCH: &[&str] = &[
        "burrow_messages_processed_total",
        "burrow_inflight_messages",
        "burrow_offset_lag",
        "burrow_oldest_unfinished_age_seconds",
        "burrow_worker_utilization",
        "burrow_processing_duration_seconds_count",
    ];
    for line in body.lines() {
        if WATCH.iter().any(|name| line.starts_with(name)) {
            println!("  {line}");
        }
    }
}

/// The sum of all samples of a counter.
fn sum(body: &str, name: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn main() -> Result<(), BoxError> {
    let kafka = MockKafka::start("clicks", 2, MESSAGES, 100)?;
    let mut config = Config::new();
    config
        .set("bootstrap.servers", &kafka.bootstrap)?
        .set("group.id", "metrics-example")?
        .set("auto.offset.reset", "earliest")?
        .set("burrow.workers", "40")?
        .set("burrow.commit.interval.ms", "200")?
        .set("burrow.metrics.addr", "127.0.0.1:0")?; // implies burrow.metrics=true
    let pool = Arc::new(Pool::new(&config)?);
    pool.subscribe(&["clicks"])?;
    let addr = pool.metrics_addr().ok_or("no metrics endpoint")?;
    println!("metrics at http://{addr}/metrics");

    let runner = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            pool.run(|_msg| {
                std::thread::sleep(Duration::from_millis(3));
                Outcome::Done
            })
        })
    };

    // First scrape: while messages are in flight.
    while pool.stats().messages_processed < (MESSAGES / 3) as u64 {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("scrape while processing:");
    show(&scrape(addr)?);

    // Second scrape: everything committed.
    wait_committed(&pool, MESSAGES, Duration::from_secs(60))?;
    let body = scrape(addr)?;
    println!("scrape after everything is committed:");
    show(&body);
    let scraped = sum(&body, "burrow_messages_processed_total");
    let counted = pool.stats().messages_processed;

    pool.stop();
    runner.join().expect("the run thread panicked")?;
    println!(
        "burrow_messages_processed_total = {scraped}, Pool::stats().messages_processed = {counted}"
    );
    if scraped as u64 != counted {
        return Err("the scraped counter disagrees with the stats".into());
    }
    kafka.check_committed_to_end("metrics-example")
}
