//! Command-line options of `burrow-chaos`.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: burrow-chaos [options]

Produces messages with unique ids to a topic, runs a group of burrow-consume processes on it,
and for a while kills (SIGKILL), terminates (SIGTERM) and gracefully stops members at random,
starting a new member for each one removed. Then it drains and checks, against what the
broker holds, that nothing was lost: every produced id was processed, and the committed offset
of every partition is its end. Duplicates are reported per crash against the in-flight bound.

Cluster
  --bootstrap HOST:PORT   cluster to test (default $BURROW_KAFKA_BOOTSTRAP, else the local
                          broker of scripts/kafka at 127.0.0.1:39092)
  --topic NAME            use this existing topic (default: create a new one)
  --partitions N          partitions of the created topic (default 6)
  --group NAME            consumer group (default: <topic>-group)
  --set KEY=VALUE         extra burrow.* / librdkafka key for every member (repeatable)

Load
  --messages N            messages to produce, ids 0..N (default 20000)
  --produce-s S           spread production over S seconds (default: 60% of --duration-s)
  --members N             consumer processes in the group (default 3)
  --workers N             burrow.workers of each member (default 50)
  --work-ms N             simulated I/O per message (default 2)
  --work-jitter-ms N      plus a random 0..=N ms (default 3)
  --fail-rate F           probability that an attempt fails and is retried (default 0.01)
  --ordering MODE         burrow.ordering: unordered, key, partition (default unordered)
  --defer                 members complete messages from a completer thread (deferred)
  --assignment NAME       partition.assignment.strategy: range, roundrobin,
                          cooperative-sticky (default range)
  --max-inflight N        burrow.max.inflight.per.partition (default 500)
  --commit-interval-ms N  burrow.commit.interval.ms (default 500)
  --commit-batch-size N   burrow.commit.batch.size (default 200)

Chaos
  --duration-s S          length of the chaos phase (default 30)
  --events N              chaos events during it, evenly spread with jitter (default 10)
  --actions LIST          comma-separated: kill (SIGKILL), term (SIGTERM), stop (graceful)
                          (default kill,term,stop)
  --broker-restart-at-s S run --broker-cmd S seconds into the chaos phase
  --broker-cmd CMD        command that restarts the broker, run with sh -c
                          (default \"scripts/kafka restart\")
  --seed N                random seed (default: from the clock); printed for replay

Run
  --drain-timeout-s S     how long the drain may take before the run fails (default 180)
  --workdir DIR           record files and member logs (default: a new directory in /tmp)
  --consumer-bin PATH     the member binary (default: burrow-consume next to this one)
  --json                  also print the result as one JSON line
  -h, --help              this text

Exit status: 0 when nothing was lost and duplicates stayed within the bound; 1 on any loss
(an id never processed, a committed offset short of the end) or a failed drain; 2 on a usage
error; 3 when nothing was lost but duplicates exceeded the bound.";

/// What the member processes do to a message.
#[derive(Debug, Clone)]
pub struct Load {
    pub workers: u32,
    pub work_ms: u64,
    pub work_jitter_ms: u64,
    pub fail_rate: f64,
    pub ordering: String,
    pub defer: bool,
    pub assignment: String,
    pub max_inflight: u64,
    pub commit_interval_ms: u64,
    pub commit_batch_size: u64,
    pub settings: Vec<(String, String)>,
}

/// A chaos action applied to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Kill,
    Term,
    Stop,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Term => "term",
            Action::Stop => "stop",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Args {
    pub bootstrap: String,
    pub topic: Option<String>,
    pub partitions: i32,
    pub group: Option<String>,
    pub messages: u64,
    pub produce: Option<Duration>,
    pub members: usize,
    pub load: Load,
    pub duration: Duration,
    pub events: u32,
    pub actions: Vec<Action>,
    pub broker_restart_at: Option<Duration>,
    pub broker_cmd: String,
    pub seed: u64,
    pub drain_timeout: Duration,
    pub workdir: Option<PathBuf>,
    pub consumer_bin: Option<PathBuf>,
    pub json: bool,
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{flag}: expected a non-negative number, got {v:?}"))
}

pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut a = Args {
        bootstrap: std::env::var("BURROW_KAFKA_BOOTSTRAP")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "127.0.0.1:39092".to_string()),
        topic: None,
        partitions: 6,
        group: None,
        messages: 20_000,
        produce: None,
        members: 3,
        load: Load {
            workers: 50,
            work_ms: 2,
            work_jitter_ms: 3,
            fail_rate: 0.01,
            ordering: "unordered".into(),
            defer: false,
            assignment: "range".into(),
            max_inflight: 500,
            commit_interval_ms: 500,
            commit_batch_size: 200,
            settings: Vec::new(),
        },
        duration: Duration::from_secs(30),
        events: 10,
        actions: vec![Action::Kill, Action::Term, Action::Stop],
        broker_restart_at: None,
        broker_cmd: "scripts/kafka restart".into(),
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        drain_timeout: Duration::from_secs(180),
        workdir: None,
        consumer_bin: None,
        json: false,
    };
    while let Some(flag) = argv.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let secs =
            |v: String| -> Result<Duration, String> { Ok(Duration::from_secs(num(&flag, &v)?)) };
        match flag.as_str() {
            "--bootstrap" => a.bootstrap = value()?,
            "--topic" => a.topic = Some(value()?),
            "--partitions" => a.partitions = num(&flag, &value()?)?,
            "--group" => a.group = Some(value()?),
            "--set" => {
                let kv = value()?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("--set: expected KEY=VALUE, got {kv:?}"))?;
                a.load.settings.push((k.trim().to_string(), v.to_string()));
            }
            "--messages" => a.messages = num(&flag, &value()?)?,
            "--produce-s" => a.produce = Some(secs(value()?)?),
            "--members" => a.members = num(&flag, &value()?)?,
            "--workers" => a.load.workers = num(&flag, &value()?)?,
            "--work-ms" => a.load.work_ms = num(&flag, &value()?)?,
            "--work-jitter-ms" => a.load.work_jitter_ms = num(&flag, &value()?)?,
            "--fail-rate" => {
                let f: f64 = num(&flag, &value()?)?;
                if !(0.0..1.0).contains(&f) {
                    return Err(format!("--fail-rate: expected 0 <= F < 1, got {f}"));
                }
                a.load.fail_rate = f;
            }
            "--ordering" => {
                let v = value()?;
                if !["unordered", "key", "partition"].contains(&v.as_str()) {
                    return Err(format!(
                        "--ordering: expected unordered, key or partition, got {v:?}"
                    ));
                }
                a.load.ordering = v;
            }
            "--defer" => a.load.defer = true,
            "--assignment" => {
                let v = value()?;
                if !["range", "roundrobin", "cooperative-sticky"].contains(&v.as_str()) {
                    return Err(format!(
                        "--assignment: expected range, roundrobin or cooperative-sticky, got {v:?}"
                    ));
                }
                a.load.assignment = v;
            }
            "--max-inflight" => a.load.max_inflight = num(&flag, &value()?)?,
            "--commit-interval-ms" => a.load.commit_interval_ms = num(&flag, &value()?)?,
            "--commit-batch-size" => a.load.commit_batch_size = num(&flag, &value()?)?,
            "--duration-s" => a.duration = secs(value()?)?,
            "--events" => a.events = num(&flag, &value()?)?,
            "--actions" => {
                let v = value()?;
                a.actions = v
                    .split(',')
                    .map(|s| match s.trim() {
                        "kill" => Ok(Action::Kill),
                        "term" => Ok(Action::Term),
                        "stop" => Ok(Action::Stop),
                        other => Err(format!(
                            "--actions: unknown action {other:?} (kill, term, stop)"
                        )),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--broker-restart-at-s" => a.broker_restart_at = Some(secs(value()?)?),
            "--broker-cmd" => a.broker_cmd = value()?,
            "--seed" => a.seed = num(&flag, &value()?)?,
            "--drain-timeout-s" => a.drain_timeout = secs(value()?)?,
            "--workdir" => a.workdir = Some(PathBuf::from(value()?)),
            "--consumer-bin" => a.consumer_bin = Some(PathBuf::from(value()?)),
            "--json" => a.json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.partitions < 1 {
        return Err("--partitions must be at least 1".into());
    }
    if a.members < 1 {
        return Err("--members must be at least 1".into());
    }
    if a.messages == 0 {
        return Err("--messages must be at least 1".into());
    }
    if a.load.max_inflight == 0
        || a.load.workers == 0
        || a.load.commit_interval_ms == 0
        || a.load.commit_batch_size == 0
    {
        return Err(
            "--workers, --max-inflight, --commit-interval-ms and --commit-batch-size must be at least 1"
                .into(),
        );
    }
    if a.events > 0 && a.actions.is_empty() {
        return Err("--actions is empty".into());
    }
    Ok(Some(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Option<Args>, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_overrides() {
        let a = p(&[
            "--bootstrap=b:1",
            "--messages",
            "500",
            "--actions",
            "kill,stop",
            "--ordering",
            "key",
            "--defer",
            "--assignment",
            "cooperative-sticky",
            "--set",
            "burrow.max.retries=9",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.bootstrap, "b:1");
        assert_eq!(a.messages, 500);
        assert_eq!(a.actions, [Action::Kill, Action::Stop]);
        assert_eq!(a.load.ordering, "key");
        assert!(a.load.defer);
        assert_eq!(a.load.assignment, "cooperative-sticky");
        assert_eq!(a.load.settings, [("burrow.max.retries".into(), "9".into())]);
        assert_eq!(a.members, 3);
    }

    #[test]
    fn refuses_bad_options() {
        for bad in [
            &["--ordering", "random"][..],
            &["--actions", "kill,explode"],
            &["--fail-rate", "1.5"],
            &["--members", "0"],
            &["--messages", "lots"],
            &["--assignment", "sticky"],
            &["--bogus"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert!(p(&["-h"]).unwrap().is_none());
    }
}
