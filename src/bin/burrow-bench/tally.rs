//! What a consumer process measures about itself: completions, end-to-end latency of each
//! message, when 10 % / 90 % / 100 % of the messages were done, its CPU time and peak memory.
//!
//! The consumer prints `progress N` lines while it runs and one `result key=value ...` line at
//! the end (the format the Go driver in `benches/go-driver` prints too); [`crate::run`] parses them.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Completion counter and latency samples, shared by every thread that finishes messages.
pub struct Tally {
    expect: u64,
    /// Warm-up messages (produced before the consumer started): not in the latency figures.
    warmup: u64,
    done: AtomicU64,
    /// End-to-end latency in microseconds, by completion index.
    samples: Vec<AtomicU32>,
    started: Instant,
    t10: OnceLock<Instant>,
    t90: OnceLock<Instant>,
    last: OnceLock<Instant>,
    finished: Mutex<bool>,
    wake: Condvar,
}

/// Microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

impl Tally {
    pub fn new(expect: u64, warmup: u64) -> Self {
        Self {
            expect,
            warmup,
            done: AtomicU64::new(0),
            samples: (0..expect).map(|_| AtomicU32::new(0)).collect(),
            started: Instant::now(),
            t10: OnceLock::new(),
            t90: OnceLock::new(),
            last: OnceLock::new(),
            finished: Mutex::new(false),
            wake: Condvar::new(),
        }
    }

    /// Records one finished message with the record's timestamp (ms since the epoch, if any).
    pub fn complete(&self, record_ms: Option<i64>) {
        let latency = record_ms.map_or(0, |t| (now_micros() - t * 1000).clamp(0, u32::MAX as i64));
        let i = self.done.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = self.samples.get(i as usize) {
            slot.store(latency as u32, Ordering::Relaxed);
        }
        let n = i + 1;
        if n == (self.expect / 10).max(1) {
            let _ = self.t10.set(Instant::now());
        }
        if n == (self.expect * 9 / 10).max(1) {
            let _ = self.t90.set(Instant::now());
        }
        if n == self.expect {
            let _ = self.last.set(Instant::now());
            *self.finished.lock().unwrap_or_else(|e| e.into_inner()) = true;
            self.wake.notify_all();
        }
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Waits until every expected message is done or `deadline` passes, printing `progress`
    /// lines (and `ready` once the warm-up messages are done). Returns whether all were done.
    pub fn wait(&self, deadline: Instant) -> bool {
        let mut ready_sent = self.warmup == 0;
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if !ready_sent && self.done() >= self.warmup {
                println!("ready");
                ready_sent = true;
            }
            println!("progress {}", self.done());
            if *finished {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let step = if ready_sent { 250 } else { 10 };
            let wait = (deadline - now).min(Duration::from_millis(step));
            finished = self
                .wake
                .wait_timeout(finished, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The latency samples after the warm-up (µs), sorted.
    pub fn sorted_latencies(&self) -> Vec<u32> {
        let done = self.done().min(self.expect) as usize;
        let mut lat: Vec<u32> = self.samples[..done]
            .iter()
            .skip(self.warmup as usize)
            .map(|a| a.load(Ordering::Relaxed))
            .collect();
        lat.sort_unstable();
        lat
    }

    /// The `result` line: counts, phase times (s since start), the run's CPU and peak RSS
    /// (`usage`, from [`rusage`]) and the percentiles (ms) of `lat`, sorted.
    pub fn result_line(&self, path: &str, usage: (f64, i64), lat: &[u32]) -> String {
        let secs = |t: &OnceLock<Instant>| {
            t.get()
                .map_or(-1.0, |t| t.duration_since(self.started).as_secs_f64())
        };
        let pct = |p: f64| -> f64 {
            if lat.is_empty() {
                return -1.0;
            }
            let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
            lat[i] as f64 / 1000.0
        };
        let (cpu, rss_kb) = usage;
        format!(
            "result path={path} done={} expect={} t10={:.4} t90={:.4} tlast={:.4} cpu_s={cpu:.3} maxrss_kb={rss_kb} \
             p50_ms={:.3} p95_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3}",
            self.done(),
            self.expect,
            secs(&self.t10),
            secs(&self.t90),
            secs(&self.last),
            pct(0.50),
            pct(0.95),
            pct(0.99),
            pct(0.999),
            pct(1.0),
        )
    }
}

/// Writes sorted latency samples (µs, one per line) for CDF plots.
pub fn write_samples(path: &str, lat: &[u32]) -> std::io::Result<()> {
    let mut text = String::with_capacity(lat.len() * 6);
    for v in lat {
        text.push_str(&v.to_string());
        text.push('\n');
    }
    std::fs::write(path, text)
}

/// CPU seconds (user + system) of this process so far, and its peak resident set in KiB.
///
/// The peak is `VmHWM` of this process's own address space: `getrusage`'s `ru_maxrss` would also
/// count the parent's memory copied by `fork` before `exec`.
pub fn rusage() -> (f64, i64) {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage struct.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (-1.0, -1);
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(ru.ru_maxrss);
    (tv(ru.ru_utime) + tv(ru.ru_stime), hwm)
}
