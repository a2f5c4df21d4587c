//! `burrow-bench`: Burrow against a bare librdkafka poll loop, side by side, on a real broker (by
//! default the local one of `scripts/kafka`), any cluster, or librdkafka's mock cluster.
//!
//! One invocation produces the records (or reads an existing topic), then runs each contender —
//! the bare loop, Burrow's Rust closure path, its C callback path, and the Go binding through
//! `benches/go-driver` — each in its own process with its own fresh consumer group, repeats that,
//! and reports msg/s (whole run and steady state), CPU per message, peak RSS, commit lag and
//! end-to-end latency percentiles (record timestamp → completion). It writes a CSV, a Markdown
//! summary and PNG plots, and exits non-zero if any run did not commit to the end or missed its
//! deadline. See docs/PERFORMANCE.md.
//!
//! Build: `cargo build --release --features bench --bin burrow-bench`.

mod consume;
mod floor;
mod kafka;
mod plot;
mod report;
mod stall;
mod tally;

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::report::Row;
use crate::stall::{StallWatch, Stalls};

/// Burrow's benchmark: Burrow (Rust, C, Go) against a bare librdkafka poll loop, side by side.
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// (internal) run one consumer and print its result line; the benchmark spawns this.
    #[command(hide = true)]
    Consume(ConsumeArgs),
}

#[derive(Args, Clone)]
struct BenchArgs {
    /// Kafka bootstrap servers [default: $BURROW_KAFKA_BOOTSTRAP, else the local broker of
    /// scripts/kafka at 127.0.0.1:$BURROW_KAFKA_PORT (39092)].
    #[arg(long)]
    bootstrap: Option<String>,
    /// Use librdkafka's embedded mock cluster instead of a broker.
    #[arg(long, conflicts_with = "bootstrap")]
    mock: bool,
    /// Read this existing topic (from the beginning) instead of producing a new one.
    #[arg(long, conflicts_with = "rate")]
    topic: Option<String>,
    /// Records to produce (throughput runs).
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Record value size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Partitions of the produced topic.
    #[arg(long, default_value_t = 8)]
    partitions: i32,
    /// Worker counts (burrow.workers, or goroutines for Go); several values (comma-separated)
    /// run each Burrow path once per value.
    #[arg(long, value_delimiter = ',', default_value = "16")]
    workers: Vec<usize>,
    /// Simulated I/O per message, in milliseconds (a sleep; the bare loop does no work).
    #[arg(long, default_value_t = 0)]
    work_ms: u64,
    /// burrow.ordering: unordered, key or partition.
    #[arg(long, default_value = "unordered")]
    ordering: String,
    /// Complete messages later from another thread (deferred completion) instead of returning.
    #[arg(long)]
    deferred: bool,
    /// Latency run: produce open-loop at this many records/s while the consumer runs (a fresh
    /// topic per run), for --duration seconds.
    #[arg(long)]
    rate: Option<u64>,
    /// Length of a latency run's produce phase, in seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Contenders, in run order: bare, rust, c, go; and for comparison with the Java field,
    /// java (a bare KafkaConsumer poll loop) and pc (Confluent's Parallel Consumer), both from
    /// benches/java-driver (built with Maven; `--config` does not reach them).
    #[arg(long, value_delimiter = ',', default_value = "bare,rust,c")]
    paths: Vec<String>,
    /// Rounds of all contenders (figures are medians over rounds).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Extra key=value for every contender (librdkafka keys reach the bare loop too).
    #[arg(long = "config")]
    config: Vec<String>,
    /// Deadline of each run, in seconds [default: from the record count, work and rate].
    #[arg(long)]
    timeout: Option<u64>,
    /// The Go driver binary (benches/go-driver); built with `go build` when the go path runs
    /// and this is not given.
    #[arg(long)]
    go_driver: Option<PathBuf>,
    /// Output directory for results.csv, summary.md, latency samples and plots.
    #[arg(long, default_value = "target/burrow-bench")]
    out: PathBuf,
    /// A label for this invocation, in the CSV.
    #[arg(long, default_value = "")]
    label: String,
    /// Skip the PNG plots.
    #[arg(long)]
    no_plots: bool,
    /// Record each consumer process with `perf`: `cpu` (on-CPU samples) or `offcpu` (where
    /// threads block: every context switch, with its stack). Writes perf-<path>-<kind>.data and,
    /// when inferno is installed (`cargo install inferno`), a flame graph .svg next to it.
    /// The figures of a profiled run are perturbed.
    #[arg(long, value_parser = ["cpu", "offcpu"])]
    profile: Option<String>,
}

/// The consumer process's arguments (also understood by the Go driver).
#[derive(Args, Clone)]
pub struct ConsumeArgs {
    #[arg(long)]
    path: String,
    #[arg(long)]
    bootstrap: String,
    #[arg(long)]
    topic: String,
    #[arg(long)]
    group: String,
    #[arg(long)]
    expect: u64,
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    #[arg(long, default_value_t = 16)]
    workers: usize,
    #[arg(long, default_value_t = 0)]
    work_ms: u64,
    #[arg(long, default_value = "unordered")]
    ordering: String,
    #[arg(long)]
    deferred: bool,
    #[arg(long = "config")]
    config: Vec<String>,
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
    #[arg(long)]
    samples: Option<String>,
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.cmd {
        Some(Cmd::Consume(args)) => match consume::consume(&args) {
            Ok(true) => 0,
            Ok(false) => {
                eprintln!("consumer: deadline passed before every message was processed");
                3
            }
            Err(e) => {
                eprintln!("consumer: {e}");
                2
            }
        },
        None => match bench(cli.bench) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(e) => {
                eprintln!("burrow-bench: {e}");
                2
            }
        },
    };
    std::process::exit(code);
}

/// Where the records live for the whole invocation.
struct Cluster {
    bootstrap: String,
    mock: *mut burrow::ffi::mock::burrow_mock_cluster,
}

impl Cluster {
    fn open(args: &BenchArgs) -> Result<Self, String> {
        if args.mock {
            let mut mock = std::ptr::null_mut();
            // SAFETY: out-param is a local.
            let r = unsafe { burrow::ffi::mock::burrow_mock_cluster_new(1, &mut mock) };
            if r != burrow::ffi::burrow_result::Ok {
                return Err("could not start the mock cluster".into());
            }
            // SAFETY: live cluster; the string lives as long as it.
            let bootstrap = unsafe {
                std::ffi::CStr::from_ptr(burrow::ffi::mock::burrow_mock_cluster_bootstrap(mock))
            }
            .to_string_lossy()
            .into_owned();
            return Ok(Self { bootstrap, mock });
        }
        let bootstrap = args.bootstrap.clone().unwrap_or_else(|| {
            std::env::var("BURROW_KAFKA_BOOTSTRAP").unwrap_or_else(|_| {
                let port = std::env::var("BURROW_KAFKA_PORT").unwrap_or_else(|_| "39092".into());
                format!("127.0.0.1:{port}")
            })
        });
        Ok(Self {
            bootstrap,
            mock: std::ptr::null_mut(),
        })
    }

    /// Creates a topic. On a broker, `append_time` makes its records carry the broker's append
    /// time (the mock cluster keeps the producer's creation time).
    fn create_topic(&self, name: &str, partitions: i32, append_time: bool) -> Result<(), String> {
        if self.mock.is_null() {
            return kafka::create_topic(&self.bootstrap, name, partitions, append_time);
        }
        let topic = CString::new(name).map_err(|e| e.to_string())?;
        // SAFETY: live cluster, NUL-terminated name.
        let r = unsafe {
            burrow::ffi::mock::burrow_mock_cluster_create_topic(
                self.mock,
                topic.as_ptr(),
                partitions,
            )
        };
        if r != burrow::ffi::burrow_result::Ok {
            return Err(format!("mock cluster: could not create {name}"));
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SAFETY: NULL or the live cluster; every consumer process has exited.
        unsafe { burrow::ffi::mock::burrow_mock_cluster_free(self.mock) };
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn bar(len: u64, msg: String) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:<28} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb
}

fn produce_all(cluster: &Cluster, topic: &str, args: &BenchArgs) -> Result<(), String> {
    let mut p = kafka::Producer::new(&cluster.bootstrap, topic, args.partitions, args.size, 20)?;
    let pb = bar(args.messages, format!("producing to {topic}"));
    for i in 0..args.messages {
        p.send()?;
        if i % 10_000 == 0 {
            pb.set_position(i);
        }
    }
    p.flush()?;
    pb.finish_and_clear();
    Ok(())
}

/// The whole benchmark. Returns false when a run failed (missed its deadline, did not commit
/// to the end, or its process failed).
fn bench(args: BenchArgs) -> Result<bool, String> {
    for p in &args.paths {
        if !PATHS.contains(&p.as_str()) {
            return Err(format!(
                "--paths: unknown contender {p:?} ({})",
                PATHS.join(", ")
            ));
        }
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let drivers = Drivers {
        go: if args.paths.iter().any(|p| p == "go") {
            Some(match &args.go_driver {
                Some(p) => p.clone(),
                None => build_go_driver(&args.out)?,
            })
        } else {
            None
        },
        java: if args.paths.iter().any(|p| is_java(p)) {
            Some(build_java_driver()?)
        } else {
            None
        },
    };
    let cluster = Cluster::open(&args)?;
    eprintln!(
        "burrow-bench: cluster {}",
        if args.mock {
            "mock".to_string()
        } else {
            cluster.bootstrap.clone()
        }
    );

    // Throughput runs share one topic; latency runs get a fresh topic each.
    let (shared_topic, expect) = match (&args.topic, args.rate) {
        (_, Some(rate)) => (None, rate * args.duration),
        (Some(t), None) => {
            let (_, n) = kafka::topic_size(&cluster.bootstrap, t)?;
            (Some(t.clone()), n)
        }
        (None, None) => {
            let t = unique("burrow-bench");
            cluster.create_topic(&t, args.partitions, false)?;
            let started = Instant::now();
            produce_all(&cluster, &t, &args)?;
            eprintln!(
                "burrow-bench: produced {} records of {} B to {t} ({} partitions) in {:.1?}",
                args.messages,
                args.size,
                args.partitions,
                started.elapsed()
            );
            // The mock cluster keeps a bounded log per partition and drops the oldest records
            // beyond it: a run would then wait for records that no longer exist.
            let (_, held) = kafka::topic_size(&cluster.bootstrap, &t)?;
            if held != args.messages {
                return Err(format!(
                    "the cluster holds {held} of the {} records produced to {t}{}",
                    args.messages,
                    if args.mock {
                        " (the mock cluster keeps at most 100,000 records or 5 MiB per partition, \
                         whichever comes first: \
                         use more --partitions or fewer --messages)"
                    } else {
                        ""
                    }
                ));
            }
            (Some(t), args.messages)
        }
    };

    let floors = measure_floors(&args, drivers.go.as_deref())?;

    let mut rows: Vec<Row> = Vec::new();
    let mut ok = true;
    for rep in 0..args.repeat {
        for path in &args.paths {
            // The bare loops have no workers: they run once per round.
            let worker_counts: Vec<usize> = if is_bare_loop(path) {
                vec![args.workers[0]]
            } else {
                args.workers.clone()
            };
            for &workers in &worker_counts {
                let run = Run {
                    path: path.clone(),
                    workers,
                    rep,
                    expect,
                };
                let result = match &shared_topic {
                    Some(t) => run.throughput(&args, &cluster, t, &drivers),
                    None => run.latency(&args, &cluster, &drivers),
                };
                match result {
                    Ok(row) => {
                        if row.lag != 0 || row.done < row.expect {
                            ok = false;
                        }
                        eprintln!("{}", row.one_line());
                        rows.push(row);
                    }
                    Err(e) => {
                        ok = false;
                        eprintln!(
                            "burrow-bench: {path} ({workers} workers, round {}) FAILED: {e}",
                            rep + 1
                        );
                    }
                }
            }
        }
    }
    report::write(&args, &rows, &floors)?;
    if !args.no_plots {
        if let Err(e) = plot::draw(&args, &rows) {
            eprintln!("burrow-bench: plots skipped: {e}");
        }
    }
    if !ok {
        eprintln!("burrow-bench: FAILED: a run missed its deadline or did not commit to the end");
    }
    Ok(ok)
}

/// The sleep floor of every worker count an I/O-bound throughput run uses (none for no-op or
/// latency runs), measured before the first contender while the broker is idle.
fn measure_floors(
    args: &BenchArgs,
    go_driver: Option<&std::path::Path>,
) -> Result<floor::Floors, String> {
    let mut floors = floor::Floors::default();
    if args.work_ms == 0 || args.rate.is_some() {
        return Ok(floors);
    }
    let work = Duration::from_millis(args.work_ms);
    for &workers in &args.workers {
        if args.paths.iter().any(|p| p == "rust" || p == "c") {
            let per_s = floor::threads(workers, work, floor::SPAN)?;
            eprintln!("burrow-bench: floor of {workers} threads sleeping {work:?}: {per_s:.0}/s");
            floors.0.push(("threads", workers, per_s));
        }
        if let Some(driver) = go_driver {
            let per_s = floor::goroutines(driver, workers, args.work_ms, floor::SPAN)?;
            eprintln!(
                "burrow-bench: floor of {workers} goroutines sleeping {work:?}: {per_s:.0}/s"
            );
            floors.0.push(("goroutines", workers, per_s));
        }
    }
    Ok(floors)
}

/// Every contender `--paths` accepts.
const PATHS: [&str; 6] = ["bare", "rust", "c", "go", "java", "pc"];

/// Whether a contender is a bare client loop (librdkafka's or Java's): no workers, no work, the
/// baseline the others are measured against.
fn is_bare_loop(path: &str) -> bool {
    path == "bare" || path == "java"
}

/// Whether a contender runs in the JVM (benches/java-driver).
fn is_java(path: &str) -> bool {
    path == "java" || path == "pc"
}

/// The contenders that run outside this binary: the Go driver's path and the Java driver's
/// class path.
struct Drivers {
    go: Option<PathBuf>,
    java: Option<String>,
}

/// `mvn package` of benches/java-driver (Confluent's Parallel Consumer and the Kafka Java
/// client, from Maven Central); returns the class path to run it with.
fn build_java_driver() -> Result<String, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/java-driver");
    let status = Command::new("mvn")
        .args(["-q", "-B", "package"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("mvn (needed by the java and pc paths): {e}"))?;
    if !status.success() {
        return Err("mvn package of benches/java-driver failed".into());
    }
    let target = dir.join("target");
    Ok(format!(
        "{}:{}/*",
        target.join("classes").display(),
        target.join("dependency").display()
    ))
}

/// `go build` of benches/go-driver against the library staged by `make stage` (`-tags dynamic`:
/// without it the binding links its vendored archive, which is not this tree's code).
fn build_go_driver(out: &std::path::Path) -> Result<PathBuf, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let stage = root.join("bindings/c/build/stage-release");
    if !stage.join("lib/pkgconfig").is_dir() {
        return Err(format!(
            "the go path needs the staged library: run `make stage PROFILE=release` first (no {})",
            stage.display()
        ));
    }
    let bin = std::fs::canonicalize(out)
        .map_err(|e| e.to_string())?
        .join("burrow-go-driver");
    // Go's build cache does not notice a change to the staged burrow.h (outside the package's
    // directory): its hash in CGO_CFLAGS rebuilds the package when it changed.
    let header = std::fs::read(stage.join("include/burrow.h")).map_err(|e| e.to_string())?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&header, &mut hasher);
    let header_id = std::hash::Hasher::finish(&hasher);
    let status = Command::new("go")
        .args(["build", "-tags", "dynamic", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(root.join("benches/go-driver"))
        .env("PKG_CONFIG_PATH", stage.join("lib/pkgconfig"))
        .env(
            "CGO_CFLAGS",
            format!("-O2 -g -DBURROW_HEADER_ID=0x{header_id:x}"),
        )
        .env(
            "CGO_LDFLAGS",
            format!("-Wl,-rpath,{}", stage.join("lib").display()),
        )
        .status()
        .map_err(|e| format!("go build: {e}"))?;
    if !status.success() {
        return Err("go build of benches/go-driver failed".into());
    }
    Ok(bin)
}

/// One contender run.
struct Run {
    path: String,
    workers: usize,
    rep: usize,
    expect: u64,
}

impl Run {
    fn deadline_s(&self, args: &BenchArgs) -> u64 {
        args.timeout.unwrap_or_else(|| {
            let io = self.expect * args.work_ms / 1000 / self.workers.max(1) as u64;
            let rate = args.rate.map_or(0, |_| args.duration);
            60 + self.expect / 20_000 + 2 * io + rate
        })
    }

    fn command(
        &self,
        args: &BenchArgs,
        bootstrap: &str,
        topic: &str,
        group: &str,
        warmup: u64,
        drivers: &Drivers,
    ) -> Result<Command, String> {
        // The program, and its arguments before the common ones.
        let (program, first): (PathBuf, Vec<String>) = match self.path.as_str() {
            "go" => (drivers.go.clone().ok_or("no Go driver")?, vec![]),
            "java" | "pc" => {
                let cp = drivers.java.as_deref().ok_or("no Java driver")?;
                // A fixed heap: no resizing during the run.
                let jvm = ["-Xms1g", "-Xmx1g", "-cp", cp, "dev.burrow.bench.Driver"];
                ("java".into(), jvm.map(String::from).to_vec())
            }
            _ => (
                std::env::current_exe().map_err(|e| e.to_string())?,
                vec!["consume".into()],
            ),
        };
        let mut cmd = match &args.profile {
            Some(kind) => {
                let mut c = Command::new("perf");
                c.arg("record")
                    .arg("-o")
                    .arg(self.perf_data(args, kind))
                    .arg("--call-graph")
                    .arg("dwarf,16384");
                if kind == "cpu" {
                    c.args(["-F", "499", "-e", "cpu-clock"]);
                } else {
                    c.args(["-e", "sched:sched_switch"]);
                }
                c.arg("--").arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(&first);
        let samples = args.out.join(format!(
            "latency-{}-{}w-r{}.txt",
            self.path, self.workers, self.rep
        ));
        cmd.args([
            "--path",
            &self.path,
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--group",
            group,
        ])
        .args(["--expect", &(self.expect + warmup).to_string()])
        .args(["--warmup", &warmup.to_string()])
        .args(["--workers", &self.workers.to_string()])
        .args(["--work-ms", &args.work_ms.to_string()])
        .args(["--ordering", &args.ordering])
        .args(["--timeout-s", &self.deadline_s(args).to_string()])
        .arg("--samples")
        .arg(samples);
        if args.deferred {
            cmd.arg("--deferred");
        }
        if !is_java(&self.path) {
            for kv in &args.config {
                cmd.args(["--config", kv]);
            }
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        Ok(cmd)
    }

    fn perf_data(&self, args: &BenchArgs, kind: &str) -> PathBuf {
        args.out.join(format!(
            "perf-{}-{}w-r{}-{kind}.data",
            self.path, self.workers, self.rep
        ))
    }

    /// Turns a perf recording into a flame graph with inferno, when it is installed.
    fn flame_graph(&self, args: &BenchArgs) {
        let Some(kind) = &args.profile else { return };
        let data = self.perf_data(args, kind);
        let svg = data.with_extension("svg");
        let title = format!(
            "{} {} ({} workers)",
            self.path,
            if kind == "cpu" {
                "on-CPU"
            } else {
                "off-CPU: context switches"
            },
            self.workers
        );
        let script = format!(
            "perf script -i '{}' 2>/dev/null | inferno-collapse-perf --all | inferno-flamegraph --title '{title}' > '{}'",
            data.display(),
            svg.display()
        );
        match Command::new("sh").arg("-c").arg(&script).status() {
            Ok(s) if s.success() => eprintln!("burrow-bench: flame graph {}", svg.display()),
            _ => eprintln!("burrow-bench: could not draw a flame graph (needs inferno: cargo install inferno); run: {script}"),
        }
    }

    fn label(&self) -> String {
        format!("{} {}w #{}", self.path, self.workers, self.rep + 1)
    }

    fn throughput(
        &self,
        args: &BenchArgs,
        cluster: &Cluster,
        topic: &str,
        drivers: &Drivers,
    ) -> Result<Row, String> {
        let group = unique(&format!("bench-{}", self.path));
        let cmd = self.command(args, &cluster.bootstrap, topic, &group, 0, drivers)?;
        let (wall, line, stalls) = self.watch(cmd, args, || Ok(()))?;
        self.flame_graph(args);
        let lag = kafka::commit_lag(&cluster.bootstrap, topic, &group)?;
        Row::parse(args, self.workers, self.rep, wall, lag, stalls, &line)
    }

    fn latency(
        &self,
        args: &BenchArgs,
        cluster: &Cluster,
        drivers: &Drivers,
    ) -> Result<Row, String> {
        let rate = args.rate.expect("latency run");
        let topic = unique("burrow-bench-lat");
        // Latency is measured from the broker's append (LogAppendTime), not from the producer's
        // send: on a machine shared with the broker and the consumer under test, the open-loop
        // producer's own queueing would otherwise dominate every contender's figures alike.
        cluster.create_topic(&topic, args.partitions, true)?;
        // One record per partition before the consumer starts: once it has processed them it is
        // assigned every partition and fetching, and says `ready`.
        let mut warm =
            kafka::Producer::new(&cluster.bootstrap, &topic, args.partitions, args.size, 0)?;
        warm.send_one_per_partition()?;
        warm.flush()?;
        let group = unique(&format!("bench-{}", self.path));
        let cmd = self.command(
            args,
            &cluster.bootstrap,
            &topic,
            &group,
            args.partitions as u64,
            drivers,
        )?;
        let bootstrap = cluster.bootstrap.clone();
        let (partitions, size, total) = (args.partitions, args.size, self.expect);
        let mut producer_thread = None;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_producer = stop.clone();
        let (wall, line, stalls) = self.watch(cmd, args, || {
            let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
            let stop = stop_producer.clone();
            producer_thread = Some(std::thread::spawn(move || -> Result<f64, String> {
                // linger.ms=1: records sent one by one (linger 0) queue behind each other's
                // produce requests at a few thousand per second and the producer, not the
                // consumer, sets the latency. One millisecond of batching bounds what it adds.
                let mut p = kafka::Producer::new(&bootstrap, &topic, partitions, size, 1)?;
                let started = Instant::now();
                let mut sent = 0u64;
                while sent < total && !stop.load(Ordering::Relaxed) {
                    let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
                    while sent < due.min(total) {
                        p.send()?;
                        sent += 1;
                    }
                    p.poll();
                    std::thread::sleep(Duration::from_micros(500));
                }
                p.flush()?;
                Ok(sent as f64 / started.elapsed().as_secs_f64())
            }));
            Ok(())
        })?;
        stop.store(true, Ordering::Relaxed);
        self.flame_graph(args);
        if let Some(t) = producer_thread {
            let achieved = t.join().map_err(|_| "producer panicked")??;
            eprintln!("burrow-bench: produced at {achieved:.0} records/s (asked {rate})");
        }
        let lag = kafka::commit_lag(&cluster.bootstrap, &topic, &group)?;
        Row::parse(args, self.workers, self.rep, wall, lag, stalls, &line)
    }

    /// Runs the consumer process to its end with a deadline; `on_ready` runs when it says
    /// `ready`. Returns the wall time of the whole process, its `result` line and the machine's
    /// stalls while it ran (see `stall.rs`).
    fn watch(
        &self,
        mut cmd: Command,
        args: &BenchArgs,
        mut on_ready: impl FnMut() -> Result<(), String>,
    ) -> Result<(f64, String, Stalls), String> {
        let deadline_s = self.deadline_s(args) + 30;
        let stall_watch = StallWatch::start();
        let started = Instant::now();
        let mut child: Child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.path))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        let pb = bar(self.expect, self.label());
        let deadline = started + Duration::from_secs(deadline_s);
        let mut result = None;
        let outcome = loop {
            match rx.recv_deadline(deadline) {
                Ok(line) => {
                    if line == "ready" {
                        if let Err(e) = on_ready() {
                            break Err(e);
                        }
                    } else if let Some(n) = line.strip_prefix("progress ") {
                        pb.set_position(n.trim().parse().unwrap_or(0));
                    } else if line.starts_with("result ") {
                        result = Some(line);
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break Ok(()),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    break Err(format!("no end after {deadline_s} s: killed"))
                }
            }
        };
        pb.finish_and_clear();
        if let Err(e) = outcome {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        // stdout closed: the process is exiting; bound the wait anyway.
        let exit_deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(s) => break s,
                None if Instant::now() >= exit_deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(
                        "the consumer process did not exit in 30 s after closing its output".into(),
                    );
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let wall = started.elapsed().as_secs_f64();
        let stalls = stall_watch.stop();
        let line = result.ok_or_else(|| format!("no result line ({status})"))?;
        if !status.success() {
            return Err(format!("consumer exited with {status}: {line}"));
        }
        Ok((wall, line, stalls))
    }
}
