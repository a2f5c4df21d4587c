//! The sleep floor: what `--workers` threads (or goroutines) that do nothing but sleep
//! `--work-ms` in a loop complete per second on this machine, with no Kafka at all.
//!
//! The ideal of an I/O-bound run (workers / work time) assumes a sleep lasts exactly its
//! duration; it does not. A thread's `nanosleep` wakes some tens of microseconds late, and the Go
//! runtime's timers wake a sleeping goroutine later still (on the machine of docs/PERFORMANCE.md
//! 1,000 goroutines sleeping 10 ms averaged 10.7 ms per sleep). The floor is measured with the
//! same sleep each contender uses — `std::thread::sleep` for the Rust and C paths (the C callback
//! of the C path sleeps the same way), `time.Sleep` in the Go driver — so a run's share of it shows
//! what Burrow itself costs.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long each floor measurement runs.
pub const SPAN: Duration = Duration::from_secs(3);

/// Sleeps per second of `workers` threads each sleeping `work` in a loop for `span`.
///
/// The threads start out of phase (thread i first sleeps i / workers of `work`), as a pool's
/// workers are: jobs reach them one after another, not all in the same instant. Each thread
/// counts its sleeps over its own time, and the floor is the sum of their rates.
pub fn threads(workers: usize, work: Duration, span: Duration) -> Result<f64, String> {
    // The threads start together once all exist (starting a thousand threads takes a while):
    // they wait for this write lock to go, which it does on every return.
    let gate = Arc::new(RwLock::new(()));
    let hold = gate.write().map_err(|_| "floor: poisoned lock")?;
    let mut handles = Vec::with_capacity(workers);
    for i in 0..workers {
        let gate = gate.clone();
        let phase = work.mul_f64(i as f64 / workers as f64);
        let h = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                drop(gate.read());
                std::thread::sleep(phase);
                let start = Instant::now();
                let mut sleeps = 0u64;
                while start.elapsed() < span {
                    std::thread::sleep(work);
                    sleeps += 1;
                }
                sleeps as f64 / start.elapsed().as_secs_f64()
            })
            .map_err(|e| format!("floor: could not start a thread: {e}"))?;
        handles.push(h);
    }
    drop(hold);
    let mut total = 0.0;
    for h in handles {
        total += h.join().map_err(|_| "floor: a sleeping thread panicked")?;
    }
    Ok(total)
}

/// The same with goroutines, measured by the Go driver (`-floor-s`).
pub fn goroutines(
    driver: &Path,
    workers: usize,
    work_ms: u64,
    span: Duration,
) -> Result<f64, String> {
    let out = Command::new(driver)
        .arg("-workers")
        .arg(workers.to_string())
        .arg("-work-ms")
        .arg(work_ms.to_string())
        .arg("-floor-s")
        .arg(span.as_secs_f64().to_string())
        .output()
        .map_err(|e| format!("{}: {e}", driver.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("floor per_s="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            format!(
                "the Go driver's floor run printed no figure ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}

/// The floor of each (kind, workers) a run needs: kind "threads" (Rust and C) or "goroutines".
#[derive(Clone, Debug, Default)]
pub struct Floors(pub Vec<(&'static str, usize, f64)>);

impl Floors {
    /// The kind of floor a contender is measured against.
    pub fn kind(path: &str) -> &'static str {
        if path == "go" {
            "goroutines"
        } else {
            "threads"
        }
    }

    pub fn get(&self, path: &str, workers: usize) -> Option<f64> {
        let kind = Self::kind(path);
        self.0
            .iter()
            .find(|(k, w, _)| *k == kind && *w == workers)
            .map(|(_, _, f)| *f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sleep never lasts less than asked: no thread completes more sleeps per second than fit.
    #[test]
    fn the_floor_never_exceeds_the_ideal() {
        let (workers, work) = (4, Duration::from_millis(10));
        let per_s = threads(workers, work, Duration::from_millis(300)).unwrap();
        let ideal = workers as f64 / work.as_secs_f64();
        assert!(per_s > 0.0 && per_s <= ideal, "{per_s} > {ideal}");
    }

    #[test]
    fn go_and_threads_are_told_apart() {
        let f = Floors(vec![("threads", 10, 990.0), ("goroutines", 10, 930.0)]);
        assert_eq!(f.get("rust", 10), Some(990.0));
        assert_eq!(f.get("c", 10), Some(990.0));
        assert_eq!(f.get("go", 10), Some(930.0));
        assert_eq!(f.get("go", 20), None);
    }
}
