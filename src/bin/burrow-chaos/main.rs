//! `burrow-chaos` — check Burrow's "nothing lost" promise on a cluster with one command.
//!
//! It produces messages with unique ids, runs a consumer group of `burrow-consume` processes
//! (each records every finished message durably before reporting it done), and during a chaos
//! phase SIGKILLs, SIGTERMs and gracefully stops members at random, starting a new member for
//! each one removed, and optionally restarts the broker. Then it drains and checks against the
//! broker: every produced id was processed, and every partition's committed offset is its end.
//! Duplicates are reported per crash against the bound the configuration implies.
//!
//! ```text
//! burrow-chaos --bootstrap 127.0.0.1:39092 --messages 200000 --events 20 --actions kill
//! ```
//!
//! See docs/CHAOS.md for the options, the short and long runs, and measured figures.

mod args;
mod cluster;
mod fleet;
mod verify;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use args::Args;
use fleet::Fleet;

/// Prints a timestamped progress line on stderr.
macro_rules! say {
    ($t0:expr, $($arg:tt)*) => {
        eprintln!("[{:>7.1}s] {}", $t0.elapsed().as_secs_f64(), format!($($arg)*))
    };
}

/// The chaos schedule: event times spread evenly over the phase, each jittered within its slot.
fn schedule(rng: &mut fastrand::Rng, duration: Duration, events: u32) -> Vec<Duration> {
    (0..events)
        .map(|i| {
            let slot = duration.as_secs_f64() / f64::from(events);
            let at = slot * (f64::from(i) + 0.2 + 0.6 * rng.f64());
            Duration::from_secs_f64(at)
        })
        .collect()
}

fn json_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' => "\\\"".chars().collect::<Vec<_>>(),
            '\\' => "\\\\".chars().collect(),
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

fn run(a: Args) -> Result<u8, String> {
    let t0 = Instant::now();
    let mut rng = fastrand::Rng::with_seed(a.seed);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (topic, partitions, fresh) = match &a.topic {
        Some(t) => (t.clone(), cluster::partitions_of(&a.bootstrap, t)?, false),
        None => {
            let t = format!("burrow-chaos-{stamp}-{}", std::process::id());
            cluster::create_topic(&a.bootstrap, &t, a.partitions)?;
            (t, a.partitions, true)
        }
    };
    let group = a.group.clone().unwrap_or_else(|| format!("{topic}-group"));
    let dir = a.workdir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("burrow-chaos-{stamp}-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bin = match &a.consumer_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("locating burrow-consume: {e}"))?
            .with_file_name("burrow-consume"),
    };
    if !bin.exists() {
        return Err(format!(
            "{} not found (build it with cargo build --release --bins, or pass --consumer-bin)",
            bin.display()
        ));
    }
    say!(
        t0,
        "seed {} | {} messages to {topic} ({partitions} partitions) on {} | group {group} of {} members | \
         {} events ({}) over {:?} | records in {}",
        a.seed,
        a.messages,
        a.bootstrap,
        a.members,
        a.events,
        a.actions.iter().map(|x| x.name()).collect::<Vec<_>>().join(","),
        a.duration,
        dir.display()
    );

    // Production runs alongside the chaos.
    let stop_producing = Arc::new(AtomicBool::new(false));
    let producer = {
        let (bootstrap, topic, n) = (a.bootstrap.clone(), topic.clone(), a.messages);
        let over = a.produce.unwrap_or(a.duration.mul_f64(0.6));
        let deadline = a.duration + a.drain_timeout;
        let stop = stop_producing.clone();
        std::thread::spawn(move || cluster::produce(&bootstrap, &topic, n, over, deadline, &stop))
    };

    let mut fleet = Fleet::new(bin, &dir, &a.bootstrap, &group, &topic, a.load.clone());
    for _ in 0..a.members {
        fleet.start()?;
    }

    // Chaos phase.
    let events = schedule(&mut rng, a.duration, a.events);
    let mut broker: Option<std::thread::JoinHandle<Result<(), String>>> = None;
    let mut next = 0;
    let chaos_start = Instant::now();
    let mut failures: Vec<String> = Vec::new();
    while chaos_start.elapsed() < a.duration {
        std::thread::sleep(Duration::from_millis(50));
        for (id, status) in fleet.reap() {
            say!(
                t0,
                "member-{id} exited by itself ({status}); starting a replacement"
            );
            failures.push(format!("member-{id} exited by itself ({status})"));
            fleet.start()?;
        }
        if let Some(at) = a.broker_restart_at {
            if broker.is_none() && chaos_start.elapsed() >= at {
                say!(t0, "restarting the broker: {}", a.broker_cmd);
                let cmd = a.broker_cmd.clone();
                broker = Some(std::thread::spawn(move || {
                    let started = Instant::now();
                    let out = std::process::Command::new("sh")
                        .arg("-c")
                        .arg(&cmd)
                        .stdout(std::process::Stdio::null())
                        .status()
                        .map_err(|e| format!("{cmd}: {e}"))?;
                    if out.success() {
                        eprintln!(
                            "broker restart done in {:.1} s",
                            started.elapsed().as_secs_f64()
                        );
                        Ok(())
                    } else {
                        Err(format!("{cmd}: {out}"))
                    }
                }));
            }
        }
        if next < events.len() && chaos_start.elapsed() >= events[next] {
            next += 1;
            let action = a.actions[rng.usize(..a.actions.len())];
            if fleet.len() == 0 {
                fleet.start()?;
            }
            let index = rng.usize(..fleet.len());
            let started = Instant::now();
            let id = fleet.hit(index, action)?;
            let new = fleet.start()?;
            say!(
                t0,
                "event {next}/{}: {} member-{id} ({:.1} s); started member-{new}",
                events.len(),
                action.name(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(b) = broker.take() {
        match b.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("broker restart failed: {e}")),
            Err(_) => failures.push("broker restart thread panicked".into()),
        }
    }
    say!(t0, "chaos phase over; waiting for the producer");
    let produced = match producer.join() {
        Ok(r) => r?,
        Err(_) => return Err("the producer thread panicked".into()),
    };
    say!(
        t0,
        "{} ids acknowledged ({} deliveries failed and were produced again); draining",
        produced.ids.len(),
        produced.resent
    );

    // Drain: a full group until the broker holds committed == end on every partition.
    let drain_start = Instant::now();
    let ends = cluster::end_offsets(&a.bootstrap, &topic, partitions)?;
    let mut drained = false;
    while drain_start.elapsed() < a.drain_timeout {
        for (id, status) in fleet.reap() {
            say!(
                t0,
                "member-{id} exited by itself ({status}) during the drain; starting a replacement"
            );
            failures.push(format!("member-{id} exited by itself ({status})"));
        }
        while fleet.len() < a.members {
            fleet.start()?;
        }
        if let Ok(c) = cluster::committed(&a.bootstrap, &group, &topic, partitions) {
            if ends
                .iter()
                .zip(&c)
                .all(|(&e, &c)| c == Some(e) || (e == 0 && c.is_none()))
            {
                drained = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let drain_time = drain_start.elapsed();
    say!(
        t0,
        "drain {} after {:.1} s; stopping the group",
        if drained { "complete" } else { "TIMED OUT" },
        drain_time.as_secs_f64()
    );
    fleet.stop_all();
    stop_producing.store(true, Ordering::SeqCst);

    // Verdict, from what the broker and the record files hold.
    let ends = cluster::end_offsets(&a.bootstrap, &topic, partitions)?;
    let committed = cluster::committed(&a.bootstrap, &group, &topic, partitions)?;
    let seen = verify::read_records(&fleet.record_files(), &topic)?;
    let v = verify::judge(&produced.ids, &seen, &ends, &committed, fresh);
    let t = &fleet.tally;
    let crashes = t.killed + t.terminated + t.stop_hung;
    let restarts = u64::from(a.broker_restart_at.is_some());
    let bound_per_crash = partitions as u64 * a.load.max_inflight + 2 * a.load.commit_batch_size;
    let allowed = bound_per_crash * (crashes + restarts);
    let per_crash = if crashes > 0 {
        v.duplicates as f64 / crashes as f64
    } else {
        v.duplicates as f64
    };

    println!("burrow-chaos result (seed {})", a.seed);
    println!(
        "  topic {topic}: {partitions} partitions, end offsets sum {}",
        ends.iter().sum::<i64>()
    );
    println!("  produced ids          {}", produced.ids.len());
    println!("  processed (distinct)  {}", v.processed);
    println!("  lost ids              {}", v.lost_ids.len());
    if fresh {
        println!("  unprocessed offsets   {}", v.lost_offsets);
    }
    println!(
        "  committed != end      {} partitions",
        v.short_commits.len()
    );
    println!(
        "  members               {} started, {} SIGKILLed, {} SIGTERMed, {} stopped ({} hung), {} exited by themselves",
        t.started, t.killed, t.terminated, t.stopped, t.stop_hung, t.failed_exits
    );
    println!(
        "  duplicates            {} total, {:.1} per crash; bound per crash {} ({} partitions x {} in flight + 2 x {} batch), allowed {}",
        v.duplicates, per_crash, bound_per_crash, partitions, a.load.max_inflight, a.load.commit_batch_size, allowed
    );
    println!(
        "  drain                 {:.1} s{}",
        drain_time.as_secs_f64(),
        if drained { "" } else { " (timed out)" }
    );
    println!(
        "  total time            {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    for (id, p, o) in v.lost_ids.iter().take(20) {
        println!("  LOST id {id} at partition {p} offset {o}");
    }
    for (p, c, e) in &v.short_commits {
        println!("  SHORT COMMIT partition {p}: committed {c:?}, end {e}");
    }
    for f in &failures {
        println!("  note: {f}");
    }
    let code = if v.lost() || !drained {
        1
    } else if v.duplicates > allowed {
        3
    } else {
        0
    };
    println!(
        "  verdict               {}",
        match code {
            0 => "PASS: nothing lost",
            3 => "DUPLICATES ABOVE BOUND (nothing lost)",
            _ => "FAIL: messages lost or not committed",
        }
    );
    if a.json {
        println!(
            "{{\"seed\":{},\"topic\":\"{}\",\"partitions\":{partitions},\"produced\":{},\"processed\":{},\
             \"lost_ids\":{},\"lost_offsets\":{},\"short_commits\":{},\"duplicates\":{},\"crashes\":{crashes},\
             \"killed\":{},\"terminated\":{},\"stopped\":{},\"stop_hung\":{},\"started\":{},\
             \"bound_per_crash\":{bound_per_crash},\"drain_s\":{:.1},\"total_s\":{:.1},\"exit\":{code}}}",
            a.seed,
            json_escape(&topic),
            produced.ids.len(),
            v.processed,
            v.lost_ids.len(),
            v.lost_offsets,
            v.short_commits.len(),
            v.duplicates,
            t.killed,
            t.terminated,
            t.stopped,
            t.stop_hung,
            t.started,
            drain_time.as_secs_f64(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(code)
}

fn main() -> ExitCode {
    let a = match args::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("burrow-chaos: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(a) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("burrow-chaos: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_spreads_events_over_the_phase() {
        let mut rng = fastrand::Rng::with_seed(7);
        let s = schedule(&mut rng, Duration::from_secs(100), 10);
        assert_eq!(s.len(), 10);
        for (i, at) in s.iter().enumerate() {
            let slot = (i as f64 * 10.0, (i + 1) as f64 * 10.0);
            assert!(
                at.as_secs_f64() > slot.0 && at.as_secs_f64() < slot.1,
                "{at:?}"
            );
        }
        assert!(schedule(&mut rng, Duration::from_secs(1), 0).is_empty());
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
    }
}
