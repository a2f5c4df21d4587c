//! Results: one row per run (CSV), medians per contender (Markdown table on stdout and in
//! summary.md), and the ratios against the bare loop.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::floor::Floors;
use crate::stall::Stalls;
use crate::{is_bare_loop, BenchArgs};

/// One contender run, as parsed from its `result` line plus what the parent measured.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub path: String,
    pub workers: usize,
    pub rep: usize,
    pub work_ms: u64,
    pub rate: u64,
    /// Wall time of the whole consumer process, start to exit (s).
    pub wall_s: f64,
    pub done: u64,
    pub expect: u64,
    /// Seconds since the process start at which 10 % / 90 % / all of the messages were done.
    pub t10: f64,
    pub t90: f64,
    pub tlast: f64,
    pub cpu_s: f64,
    pub maxrss_kb: i64,
    /// Records the group's committed offsets leave unconsumed after the run (0 = at the end).
    pub lag: i64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// What the parent's stall watcher saw while the consumer ran.
    pub stalls: Stalls,
}

impl Row {
    pub fn parse(
        args: &BenchArgs,
        workers: usize,
        rep: usize,
        wall_s: f64,
        lag: i64,
        stalls: Stalls,
        line: &str,
    ) -> Result<Self, String> {
        let fields: BTreeMap<&str, &str> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let f = |k: &str| -> Result<f64, String> {
            fields
                .get(k)
                .ok_or_else(|| format!("result line lacks {k}: {line}"))?
                .parse()
                .map_err(|_| format!("bad {k} in {line}"))
        };
        Ok(Self {
            path: fields.get("path").unwrap_or(&"?").to_string(),
            workers,
            rep,
            work_ms: args.work_ms,
            rate: args.rate.unwrap_or(0),
            wall_s,
            done: f("done")? as u64,
            expect: f("expect")? as u64,
            t10: f("t10")?,
            t90: f("t90")?,
            tlast: f("tlast")?,
            cpu_s: f("cpu_s")?,
            maxrss_kb: f("maxrss_kb")? as i64,
            lag,
            p50: f("p50_ms")?,
            p95: f("p95_ms")?,
            p99: f("p99_ms")?,
            p999: f("p999_ms")?,
            max: f("max_ms")?,
            stalls,
        })
    }

    /// Whole run: every message over the process's wall time.
    pub fn msgs_per_s(&self) -> f64 {
        self.done as f64 / self.wall_s
    }

    /// Steady state: the middle 80 % of the messages over the time they took.
    pub fn steady_per_s(&self) -> f64 {
        if self.t90 > self.t10 && self.t10 >= 0.0 {
            (self.expect as f64 * 0.8) / (self.t90 - self.t10)
        } else {
            f64::NAN
        }
    }

    pub fn cpu_us_per_msg(&self) -> f64 {
        self.cpu_s * 1e6 / self.done.max(1) as f64
    }

    pub fn one_line(&self) -> String {
        format!(
            "  {:<5} {:>5} workers  {:>9.0} msg/s  steady {:>9.0}  cpu {:>6.2} µs/msg  rss {:>4} MB  lag {}  p50 {:.1} p99 {:.1} max {:.1} ms  stall {:.0} ms",
            self.path,
            self.workers,
            self.msgs_per_s(),
            self.steady_per_s(),
            self.cpu_us_per_msg(),
            self.maxrss_kb / 1024,
            self.lag,
            self.p50,
            self.p99,
            self.max,
            self.stalls.longest_ms
        )
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Medians over rounds, per (path, workers), in run order.
pub struct Summary {
    pub path: String,
    pub workers: usize,
    pub msgs: f64,
    pub steady: f64,
    pub cpu_us: f64,
    pub rss_mb: f64,
    pub lag: i64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub cpu_s: f64,
    /// The longest machine stall of any round.
    pub stall_ms: f64,
}

pub fn summarize(rows: &[Row]) -> Vec<Summary> {
    let mut keys: Vec<(String, usize)> = Vec::new();
    for r in rows {
        let k = (r.path.clone(), r.workers);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(path, workers)| {
            let rs: Vec<&Row> = rows
                .iter()
                .filter(|r| r.path == path && r.workers == workers)
                .collect();
            let m = |f: &dyn Fn(&Row) -> f64| median(rs.iter().map(|r| f(r)).collect());
            Summary {
                msgs: m(&|r| r.msgs_per_s()),
                steady: m(&|r| r.steady_per_s()),
                cpu_us: m(&|r| r.cpu_us_per_msg()),
                rss_mb: m(&|r| r.maxrss_kb as f64 / 1024.0),
                lag: rs.iter().map(|r| r.lag).max().unwrap_or(0),
                p50: m(&|r| r.p50),
                p95: m(&|r| r.p95),
                p99: m(&|r| r.p99),
                p999: m(&|r| r.p999),
                max: m(&|r| r.max),
                cpu_s: m(&|r| r.cpu_s),
                stall_ms: rs.iter().map(|r| r.stalls.longest_ms).fold(0.0, f64::max),
                path,
                workers,
            }
        })
        .collect()
}

fn name(s: &Summary) -> String {
    match s.path.as_str() {
        "bare" => "bare librdkafka loop".into(),
        "rust" => format!("Burrow Rust, {} workers", s.workers),
        "c" => format!("Burrow C, {} workers", s.workers),
        "go" => format!("Burrow Go, {} goroutines", s.workers),
        "java" => "bare Java KafkaConsumer loop".into(),
        "pc" => format!("Confluent Parallel Consumer, {} threads", s.workers),
        p => p.into(),
    }
}

/// The Markdown summary: the table, then the ratios the goals are stated in.
pub fn markdown(args: &BenchArgs, rows: &[Row], floors: &Floors) -> String {
    let sums = summarize(rows);
    let mut out = String::new();
    let rounds = args.repeat;
    match args.rate {
        None => {
            let _ = writeln!(
                out,
                "{} records × {} B, {} partitions, work {} ms, ordering {}{}; medians of {rounds} round(s)\n",
                rows.first().map_or(0, |r| r.expect),
                args.size,
                args.partitions,
                args.work_ms,
                args.ordering,
                if args.deferred { ", deferred completion" } else { "" }
            );
            out.push_str("| | msg/s (whole run) | msg/s (steady) | CPU µs/msg | max RSS MB | commit lag |\n|---|---|---|---|---|---|\n");
            for s in &sums {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} | {:.0} | {:.2} | {:.0} | {} |",
                    name(s),
                    s.msgs,
                    s.steady,
                    s.cpu_us,
                    s.rss_mb,
                    s.lag
                );
            }
        }
        Some(rate) => {
            let _ = writeln!(
                out,
                "open-loop produce at {rate} records/s for {} s, {} B, {} partitions, work {} ms, ordering {}{}; \
                 end-to-end latency (record timestamp → completion), medians of {rounds} round(s)\n",
                args.duration,
                args.size,
                args.partitions,
                args.work_ms,
                args.ordering,
                if args.deferred { ", deferred completion" } else { "" }
            );
            out.push_str("| | p50 ms | p95 | p99 | p99.9 | max | consumer CPU s | commit lag | longest machine stall ms |\n|---|---|---|---|---|---|---|---|---|\n");
            for s in &sums {
                let _ = writeln!(
                    out,
                    "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.0} |",
                    name(s),
                    s.p50,
                    s.p95,
                    s.p99,
                    s.p999,
                    s.max,
                    s.cpu_s,
                    s.lag,
                    s.stall_ms
                );
            }
            out.push_str(
                "\nLongest machine stall: the longest any round's 1 ms sleep in the benchmark's own \
                 process overran while that contender ran (the time a ready thread waited for a \
                 core); a tail near it is the machine's, not the contender's.\n",
            );
        }
    }
    // Each contender against the bare loop of its own client: Parallel Consumer against the
    // Java loop, everything else against the librdkafka loop.
    let baseline = |s: &Summary| -> Option<&Summary> {
        let of = match s.path.as_str() {
            "bare" => return None,
            "pc" => "java",
            _ => "bare",
        };
        sums.iter().find(|b| b.path == of)
    };
    let mut lines = String::new();
    for s in sums.iter().filter(|s| s.path != "bare") {
        let Some(bare) = baseline(s) else {
            if args.work_ms > 0 && args.rate.is_none() {
                let _ = writeln!(lines, "- {}: {}", name(s), of_ideal(args, s, floors));
            }
            continue;
        };
        let loop_name = if bare.path == "java" {
            "the bare Java loop"
        } else {
            "the bare loop"
        };
        match args.rate {
            None => {
                let _ = write!(
                    lines,
                    "- {}: {:.0} % of {loop_name}'s steady msg/s, {:.1} × its CPU per message",
                    name(s),
                    100.0 * s.steady / bare.steady,
                    s.cpu_us / bare.cpu_us
                );
            }
            // The bare loops do no work.
            Some(_) if args.work_ms > 0 && !is_bare_loop(&s.path) => {
                // The work itself adds its time to every record: the bound is the bare
                // loop's tail twice over plus the work.
                let bound = 2.0 * bare.p99 + args.work_ms as f64;
                let _ = write!(
                    lines,
                    "- {}: p99 {:.1} ms against 2 × {loop_name}'s p99 + work = {bound:.1} ms ({:.2} ×)",
                    name(s),
                    s.p99,
                    s.p99 / bound
                );
            }
            Some(_) => {
                let _ = write!(
                    lines,
                    "- {}: p99 {:.1} ms = {loop_name}'s p99 × {:.1}",
                    name(s),
                    s.p99,
                    s.p99 / bare.p99
                );
            }
        }
        if args.work_ms > 0 && args.rate.is_none() && !is_bare_loop(&s.path) {
            lines.push_str("; ");
            lines.push_str(&of_ideal(args, s, floors));
        }
        lines.push('\n');
    }
    if !lines.is_empty() {
        out.push('\n');
        out.push_str(&lines);
    }
    out
}

/// An I/O-bound run's steady rate against the ideal (workers / work time) and, when measured,
/// against the sleep floor of as many threads or goroutines (see `floor.rs`).
fn of_ideal(args: &BenchArgs, s: &Summary, floors: &Floors) -> String {
    let ideal = s.workers as f64 * 1000.0 / args.work_ms as f64;
    let mut text = format!(
        "{:.1} % of the ideal {ideal:.0} msg/s (workers / work time)",
        100.0 * s.steady / ideal
    );
    if let Some(floor) = floors.get(&s.path, s.workers) {
        let _ = write!(
            text,
            ", {:.1} % of the floor {floor:.0} msg/s ({} {} sleeping {} ms in a loop, no Kafka)",
            100.0 * s.steady / floor,
            s.workers,
            Floors::kind(&s.path),
            args.work_ms
        );
    }
    text
}

/// Appends the measured sleep floors to floors.csv.
fn write_floors(args: &BenchArgs, floors: &Floors) -> Result<(), String> {
    if floors.0.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for (kind, workers, per_s) in &floors.0 {
        let _ = writeln!(
            text,
            "{},{kind},{workers},{},{per_s:.0}",
            args.label, args.work_ms
        );
    }
    append_csv(
        &args.out.join("floors.csv"),
        "label,kind,workers,work_ms,per_s",
        &text,
    )
}

/// Appends `rows` to the CSV file at `path`, writing `header` first when the file is new.
fn append_csv(path: &std::path::Path, header: &str, rows: &str) -> Result<(), String> {
    use std::io::Write as _;
    let text = if path.exists() {
        rows.to_string()
    } else {
        format!("{header}\n{rows}")
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes results.csv (appending rows) and summary.md, and prints the summary.
pub fn write(args: &BenchArgs, rows: &[Row], floors: &Floors) -> Result<(), String> {
    let csv = args.out.join("results.csv");
    let mut text = String::new();
    for r in rows {
        let _ = writeln!(
            text,
            "{},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.0},{:.0},{:.3},{:.3},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{}",
            args.label, r.path, r.workers, r.rep + 1, r.work_ms, args.ordering, args.deferred, r.rate,
            r.expect, r.done, r.wall_s, r.tlast, r.msgs_per_s(), r.steady_per_s(), r.cpu_s, r.cpu_us_per_msg(),
            r.maxrss_kb, r.lag, r.p50, r.p95, r.p99, r.p999, r.max, r.stalls.longest_ms, r.stalls.over_10ms
        );
    }
    append_csv(
        &csv,
        "label,path,workers,round,work_ms,ordering,deferred,rate,expect,done,wall_s,last_done_s,msgs_per_s,steady_msgs_per_s,cpu_s,cpu_us_per_msg,maxrss_kb,commit_lag,p50_ms,p95_ms,p99_ms,p999_ms,max_ms,stall_longest_ms,stalls_over_10ms",
        &text,
    )?;
    write_floors(args, floors)?;
    let md = markdown(args, rows, floors);
    std::fs::write(args.out.join("summary.md"), &md).map_err(|e| e.to_string())?;
    println!("{md}");
    eprintln!(
        "burrow-bench: rows appended to {}, summary in {}",
        csv.display(),
        args.out.join("summary.md").display()
    );
    Ok(())
}
