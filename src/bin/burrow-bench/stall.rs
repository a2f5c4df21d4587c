//! How long the machine itself kept a ready thread waiting during a run.
//!
//! A thread of the parent process sleeps 1 ms in a loop while a consumer runs and keeps the
//! longest overshoot: the time it was ready to run and did not. On a machine of a few cores shared
//! with the broker, a run's tail latency can be set by such stalls (the host or the rest of the
//! machine holding every core for tens or hundreds of milliseconds) rather than by the contender;
//! the figure is reported next to each run's percentiles so the two can be told apart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The sleep the watcher asks for each time.
const STEP: Duration = Duration::from_millis(1);

/// A running watcher; [`StallWatch::stop`] returns what it saw.
pub struct StallWatch {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Stalls>,
}

/// What a watcher saw.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stalls {
    /// The longest time a 1 ms sleep overran, in milliseconds.
    pub longest_ms: f64,
    /// How many sleeps overran by 10 ms or more.
    pub over_10ms: u64,
}

impl Stalls {
    /// Adds one sleep that lasted `slept` when `asked` was asked for.
    fn add(&mut self, asked: Duration, slept: Duration) {
        let over = slept.saturating_sub(asked);
        let ms = over.as_secs_f64() * 1e3;
        if ms > self.longest_ms {
            self.longest_ms = ms;
        }
        if ms >= 10.0 {
            self.over_10ms += 1;
        }
    }
}

impl StallWatch {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("stall-watch".into())
            .spawn(move || {
                let mut stalls = Stalls::default();
                while !flag.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    std::thread::sleep(STEP);
                    stalls.add(STEP, t.elapsed());
                }
                stalls
            })
            .expect("spawn the stall watcher");
        Self { stop, thread }
    }

    pub fn stop(self) -> Stalls {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overruns_are_measured_from_the_sleep_asked_for() {
        let mut s = Stalls::default();
        let ms = Duration::from_millis;
        s.add(ms(1), ms(1));
        s.add(ms(1), Duration::from_micros(900));
        assert_eq!(s, Stalls::default());
        s.add(ms(1), ms(12));
        s.add(ms(1), ms(5));
        s.add(ms(1), ms(31));
        assert_eq!(s.longest_ms, 30.0);
        assert_eq!(s.over_10ms, 2);
    }
}
