//! The consumer group under test: `burrow-consume` processes, started, killed, terminated and
//! stopped on demand. Each member appends every message it finished to its own record file
//! before reporting it done, so the records outlive a SIGKILL.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::args::{Action, Load};

/// How long a graceful stop may take before the member is killed (and the stop counted as hung).
const STOP_BOUND: Duration = Duration::from_secs(60);

struct Member {
    id: usize,
    child: Child,
    stop_file: PathBuf,
}

/// Counts of what happened to members.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub started: u64,
    pub killed: u64,
    pub terminated: u64,
    pub stopped: u64,
    /// Graceful stops that did not finish within the bound (then killed).
    pub stop_hung: u64,
    /// Members that exited on their own with a failure status.
    pub failed_exits: u64,
}

pub struct Fleet {
    bin: PathBuf,
    dir: PathBuf,
    bootstrap: String,
    group: String,
    topic: String,
    load: Load,
    members: Vec<Member>,
    next_id: usize,
    pub tally: Tally,
}

impl Fleet {
    pub fn new(
        bin: PathBuf,
        dir: &Path,
        bootstrap: &str,
        group: &str,
        topic: &str,
        load: Load,
    ) -> Self {
        Self {
            bin,
            dir: dir.to_path_buf(),
            bootstrap: bootstrap.into(),
            group: group.into(),
            topic: topic.into(),
            load,
            members: Vec::new(),
            next_id: 0,
            tally: Tally::default(),
        }
    }

    /// Record files of every member started so far.
    pub fn record_files(&self) -> Vec<PathBuf> {
        (0..self.next_id)
            .map(|i| self.dir.join(format!("member-{i}.rec")))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Starts one more member.
    pub fn start(&mut self) -> Result<usize, String> {
        let id = self.next_id;
        self.next_id += 1;
        let file = |ext: &str| self.dir.join(format!("member-{id}.{ext}"));
        let stop_file = file("stop");
        let l = &self.load;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--bootstrap")
            .arg(&self.bootstrap)
            .arg("--group")
            .arg(&self.group)
            .arg("--topic")
            .arg(&self.topic)
            .arg("--record")
            .arg(file("rec"))
            .arg("--stop-file")
            .arg(&stop_file)
            .arg("--work-ms")
            .arg(l.work_ms.to_string())
            .arg("--work-jitter-ms")
            .arg(l.work_jitter_ms.to_string())
            .arg("--fail-rate")
            .arg(l.fail_rate.to_string());
        if l.defer {
            cmd.arg("--defer");
        }
        let mut set = |k: &str, v: String| {
            cmd.arg("--set").arg(format!("{k}={v}"));
        };
        set("burrow.workers", l.workers.to_string());
        set("burrow.ordering", l.ordering.clone());
        set(
            "burrow.max.inflight.per.partition",
            l.max_inflight.to_string(),
        );
        set(
            "burrow.commit.interval.ms",
            l.commit_interval_ms.to_string(),
        );
        set("burrow.commit.batch.size", l.commit_batch_size.to_string());
        set("burrow.retry.backoff.ms", "20".into());
        set("burrow.max.retries", "1000".into());
        set("burrow.shutdown.timeout.ms", "20000".into());
        set("partition.assignment.strategy", l.assignment.clone());
        set("session.timeout.ms", "6000".into());
        set("heartbeat.interval.ms", "500".into());
        for (k, v) in &l.settings {
            set(k, v.clone());
        }
        let out =
            File::create(file("out")).map_err(|e| format!("{}: {e}", file("out").display()))?;
        let err =
            File::create(file("log")).map_err(|e| format!("{}: {e}", file("log").display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.bin.display()))?;
        self.members.push(Member {
            id,
            child,
            stop_file,
        });
        self.tally.started += 1;
        Ok(id)
    }

    /// Notices members that exited on their own (counted as failed exits when the status says
    /// so) and forgets them.
    pub fn reap(&mut self) -> Vec<(usize, String)> {
        let mut gone = Vec::new();
        let mut failed = 0;
        self.members.retain_mut(|m| match m.child.try_wait() {
            Ok(Some(status)) => {
                gone.push((m.id, status.to_string()));
                if !status.success() {
                    failed += 1;
                }
                false
            }
            _ => true,
        });
        self.tally.failed_exits += failed;
        gone
    }

    /// Applies `action` to member number `index` (of the running ones); returns its id.
    pub fn hit(&mut self, index: usize, action: Action) -> Result<usize, String> {
        let mut m = self.members.remove(index % self.members.len());
        match action {
            Action::Kill => {
                let _ = m.child.kill(); // SIGKILL
                let _ = m.child.wait();
                self.tally.killed += 1;
            }
            Action::Term => {
                let status = Command::new("kill")
                    .arg("-TERM")
                    .arg(m.child.id().to_string())
                    .status()
                    .map_err(|e| format!("kill -TERM: {e}"))?;
                if !status.success() {
                    let _ = m.child.kill();
                }
                wait_bounded(&mut m.child, STOP_BOUND);
                self.tally.terminated += 1;
            }
            Action::Stop => {
                File::create(&m.stop_file)
                    .map_err(|e| format!("{}: {e}", m.stop_file.display()))?;
                if !wait_bounded(&mut m.child, STOP_BOUND) {
                    self.tally.stop_hung += 1;
                }
                self.tally.stopped += 1;
            }
        }
        Ok(m.id)
    }

    /// Stops every member gracefully (all at once), killing those that exceed the bound.
    pub fn stop_all(&mut self) {
        for m in &self.members {
            let _ = File::create(&m.stop_file);
        }
        for mut m in std::mem::take(&mut self.members) {
            if !wait_bounded(&mut m.child, STOP_BOUND) {
                self.tally.stop_hung += 1;
            }
            self.tally.stopped += 1;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for m in &mut self.members {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
    }
}

/// Waits for the child to exit; kills it after `bound`. True if it exited by itself.
fn wait_bounded(child: &mut Child, bound: Duration) -> bool {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}
