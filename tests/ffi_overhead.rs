//! Benchmark (not a test: `#[ignore]`d, no timed assertion): per-message overhead of the C
//! callback path (`burrow_pool_run` with an `extern "C"` callback: message handle, accessor-ready
//! view, outcome mapping, the call gate) against the Rust closure path (`Pool::run`), with a
//! no-op processor, in the same process, on the same 200,000 records of the mock cluster.
//!
//! Run: `make c-bench` (or `cargo test --release --test ffi_overhead -- --ignored --nocapture`).
//! Environment: `BENCH_MESSAGES` (default 200000), `BENCH_ROUNDS` (default 5), `BENCH_WORKERS`
//! (default 10, Burrow's default), `BENCH_CONFIG` (extra `key=value,...` pool settings).

use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burrow::ffi::burrow_result;
use burrow::ffi::config::{burrow_config_free, burrow_config_new, burrow_config_set};
use burrow::ffi::message::{burrow_message, burrow_outcome, BURROW_OUTCOME_DONE};
use burrow::ffi::mock::*;
use burrow::ffi::pool::*;
use burrow::{Config, Outcome, Pool};

const TOPIC: &str = "bench";
const PARTITIONS: i32 = 4;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system, all threads) this process has used, from /proc/self/stat
/// (clock ticks of 10 ms; runs last seconds, so the resolution is well under 1 %).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of the file (utime, stime) are the 12th and 13th after the name.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// When the first and the last message were processed.
#[derive(Default)]
struct Clock {
    count: AtomicUsize,
    first: Mutex<Option<Instant>>,
    last: Mutex<Option<Instant>>,
}

impl Clock {
    /// Counts one message; true when it was the `n`-th.
    fn tick(&self, n: usize) -> bool {
        let c = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if c == 1 {
            *self.first.lock().unwrap() = Some(Instant::now());
        }
        if c == n {
            *self.last.lock().unwrap() = Some(Instant::now());
            return true;
        }
        false
    }

    /// Messages per second between the first and the last message.
    fn rate(&self, n: usize) -> f64 {
        let (a, b) = (
            self.first.lock().unwrap().unwrap(),
            self.last.lock().unwrap().unwrap(),
        );
        (n - 1) as f64 / (b - a).as_secs_f64()
    }
}

fn settings(bootstrap: &str, group: &str, workers: usize) -> Vec<(String, String)> {
    [
        ("bootstrap.servers", bootstrap.to_string()),
        ("group.id", group.to_string()),
        ("auto.offset.reset", "earliest".into()),
        ("burrow.workers", workers.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(extra_settings())
    .collect()
}

/// `BENCH_CONFIG="key=value,key=value"`: extra pool settings. The default lifts the
/// per-partition in-flight cap so that the run is not shaped by backpressure pause/resume cycles
/// (each costs a fetch round trip and makes wall-clock rates swing widely); the work per
/// message, which is what this compares, is the same either way.
fn extra_settings() -> Vec<(String, String)> {
    let spec = std::env::var("BENCH_CONFIG")
        .unwrap_or_else(|_| "burrow.max.inflight.per.partition=100000".into());
    spec.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn rust_round(bootstrap: &str, group: &str, n: usize, workers: usize) -> (f64, f64) {
    let cpu = process_cpu();
    let mut config = Config::new();
    for (k, v) in settings(bootstrap, group, workers) {
        config.set(&k, &v).unwrap();
    }
    let pool = Arc::new(Pool::new(&config).unwrap());
    pool.subscribe(&[TOPIC]).unwrap();
    let clock = Arc::new(Clock::default());
    let (c, stop) = (clock.clone(), pool.stop_handle());
    pool.run(move |_m| {
        if c.tick(n) {
            stop.stop();
        }
        Outcome::Done
    })
    .unwrap();
    (clock.rate(n), cpu_per_message(cpu, n))
}

/// CPU microseconds per message since `before`.
fn cpu_per_message(before: Duration, n: usize) -> f64 {
    (process_cpu() - before).as_secs_f64() * 1e6 / n as f64
}

/// What the C callback gets as userdata.
struct CState {
    clock: Clock,
    n: usize,
    pool: *mut burrow_pool,
}

unsafe extern "C" fn noop(userdata: *mut c_void, _msg: *const burrow_message) -> burrow_outcome {
    // SAFETY: userdata is the CState that outlives the run.
    let s = unsafe { &*(userdata as *const CState) };
    if s.clock.tick(s.n) {
        // SAFETY: the pool is live while it runs.
        unsafe { burrow_pool_stop(s.pool) };
    }
    BURROW_OUTCOME_DONE
}

fn c_round(bootstrap: &str, group: &str, n: usize, workers: usize) -> (f64, f64) {
    let cpu = process_cpu();
    // SAFETY: plain use of the C API with valid pointers, as a C program would.
    unsafe {
        let config = burrow_config_new();
        for (k, v) in settings(bootstrap, group, workers) {
            let (k, v) = (CString::new(k).unwrap(), CString::new(v).unwrap());
            let r = burrow_config_set(config, k.as_ptr(), v.as_ptr(), ptr::null_mut(), 0);
            assert_eq!(r, burrow_result::Ok);
        }
        let mut pool = ptr::null_mut();
        assert_eq!(
            burrow_pool_new(config, ptr::null_mut(), 0, &mut pool),
            burrow_result::Ok
        );
        burrow_config_free(config);
        let topic = CString::new(TOPIC).unwrap();
        let topics = [topic.as_ptr()];
        assert_eq!(
            burrow_pool_subscribe(pool, topics.as_ptr(), 1, ptr::null_mut(), 0),
            burrow_result::Ok
        );
        let state = CState {
            clock: Clock::default(),
            n,
            pool,
        };
        let r = burrow_pool_run(
            pool,
            Some(noop),
            &state as *const CState as *mut c_void,
            ptr::null_mut(),
            0,
        );
        assert_eq!(r, burrow_result::Ok);
        let cpu = cpu_per_message(cpu, n);
        assert_eq!(burrow_pool_free(pool), burrow_result::Ok);
        (state.clock.rate(n), cpu)
    }
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture (make c-bench)"]
fn c_callback_path_vs_rust_closure_path() {
    let n = env_or("BENCH_MESSAGES", 200_000);
    let rounds = env_or("BENCH_ROUNDS", 5);
    let workers = env_or("BENCH_WORKERS", 10);
    // SAFETY: plain use of the C API test-support functions with valid pointers.
    let (cluster, bootstrap) = unsafe {
        let mut cluster = ptr::null_mut();
        assert_eq!(burrow_mock_cluster_new(1, &mut cluster), burrow_result::Ok);
        let bootstrap = CStr::from_ptr(burrow_mock_cluster_bootstrap(cluster))
            .to_str()
            .unwrap()
            .to_string();
        let topic = CString::new(TOPIC).unwrap();
        assert_eq!(
            burrow_mock_cluster_create_topic(cluster, topic.as_ptr(), PARTITIONS),
            burrow_result::Ok
        );
        let started = Instant::now();
        for i in 0..n {
            let v = i.to_string();
            let r = burrow_mock_cluster_produce(
                cluster,
                topic.as_ptr(),
                (i as i32) % PARTITIONS,
                ptr::null(),
                0,
                v.as_ptr(),
                v.len(),
                ptr::null(),
                0,
            );
            assert_eq!(r, burrow_result::Ok);
        }
        assert_eq!(
            burrow_mock_cluster_flush(cluster, 120_000),
            burrow_result::Ok
        );
        eprintln!("produced {n} records in {:?}", started.elapsed());
        (cluster, bootstrap)
    };

    let (mut rust, mut c) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate the order so neither path always runs on a warmer process.
        let order: [bool; 2] = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_rust in order {
            let group = format!("bench-{}-{round}", if is_rust { "rust" } else { "c" });
            let (rate, cpu) = if is_rust {
                rust_round(&bootstrap, &group, n, workers)
            } else {
                c_round(&bootstrap, &group, n, workers)
            };
            eprintln!(
                "round {round}: {:<14} {rate:>10.0} msg/s  {cpu:>6.2} CPU-us/msg",
                if is_rust {
                    "Rust closure"
                } else {
                    "C callback"
                }
            );
            if is_rust {
                rust.push((rate, cpu));
            } else {
                c.push((rate, cpu));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let median = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        let mut xs: Vec<f64> = v.iter().map(pick).collect();
        xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        xs[xs.len() / 2]
    };
    let (r, cc) = (median(&rust, |x| x.0), median(&c, |x| x.0));
    let (rcpu, ccpu) = (median(&rust, |x| x.1), median(&c, |x| x.1));
    eprintln!(
        "\n{n} messages, {PARTITIONS} partitions, {workers} workers, no-op processor, median of {rounds} rounds:\n  \
         Rust closure path : {r:>10.0} msg/s  {rcpu:>6.2} CPU-us/msg\n  \
         C callback path   : {cc:>10.0} msg/s  {ccpu:>6.2} CPU-us/msg\n  \
         C path vs Rust    : {:+.1} % throughput, {:+.1} % CPU per message",
        (cc / r - 1.0) * 100.0,
        (ccpu / rcpu - 1.0) * 100.0
    );
    // SAFETY: every pool using the cluster is freed.
    unsafe { burrow_mock_cluster_free(cluster) };
}
