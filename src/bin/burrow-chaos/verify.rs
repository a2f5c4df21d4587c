//! The verdict: what the members recorded against what the producer and the broker say.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// Every `(partition, offset)` line of the record files, with how many times it was recorded.
pub fn read_records(files: &[PathBuf], topic: &str) -> Result<HashMap<(i32, i64), u32>, String> {
    let mut seen: HashMap<(i32, i64), u32> = HashMap::new();
    for f in files {
        let file = match std::fs::File::open(f) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // never finished one
            Err(e) => return Err(format!("{}: {e}", f.display())),
        };
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("{}: {e}", f.display()))?;
            if let Some(po) = parse_line(&line, topic) {
                *seen.entry(po).or_default() += 1;
            }
        }
    }
    Ok(seen)
}

/// Parses `"TOPIC PARTITION OFFSET"`. A torn last line (the writer was killed mid-write) does
/// not parse and is ignored: that message was not reported done.
fn parse_line(line: &str, topic: &str) -> Option<(i32, i64)> {
    let mut it = line.rsplitn(3, ' ');
    let offset = it.next()?.parse().ok()?;
    let partition = it.next()?.parse().ok()?;
    (it.next()? == topic).then_some((partition, offset))
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Produced ids never recorded as processed (with where they were written).
    pub lost_ids: Vec<(u64, i32, i64)>,
    /// Offsets below the end of a partition never processed (only for a topic this run created).
    pub lost_offsets: u64,
    /// Partitions whose committed offset is not the end: (partition, committed, end).
    pub short_commits: Vec<(i32, Option<i64>, i64)>,
    /// Messages processed more than once, counted once per extra processing.
    pub duplicates: u64,
    /// Distinct messages processed.
    pub processed: u64,
}

impl Verdict {
    pub fn lost(&self) -> bool {
        !self.lost_ids.is_empty() || self.lost_offsets > 0 || !self.short_commits.is_empty()
    }
}

pub fn judge(
    ids: &[(u64, i32, i64)],
    seen: &HashMap<(i32, i64), u32>,
    ends: &[i64],
    committed: &[Option<i64>],
    fresh_topic: bool,
) -> Verdict {
    let mut v = Verdict {
        processed: seen.len() as u64,
        duplicates: seen.values().map(|&n| u64::from(n.saturating_sub(1))).sum(),
        ..Verdict::default()
    };
    for &(id, p, o) in ids {
        if !seen.contains_key(&(p, o)) {
            v.lost_ids.push((id, p, o));
        }
    }
    if fresh_topic {
        for (p, &end) in ends.iter().enumerate() {
            v.lost_offsets += (0..end)
                .filter(|&o| !seen.contains_key(&(p as i32, o)))
                .count() as u64;
        }
    }
    for (p, (&end, &c)) in ends.iter().zip(committed).enumerate() {
        if c != Some(end) && !(end == 0 && c.is_none()) {
            v.short_commits.push((p as i32, c, end));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_torn_lines_are_ignored() {
        assert_eq!(parse_line("t 3 17", "t"), Some((3, 17)));
        assert_eq!(parse_line("my topic 0 5", "my topic"), Some((0, 5)));
        assert_eq!(parse_line("t 3 1", "u"), None);
        assert_eq!(parse_line("t 3", "t"), None);
        assert_eq!(parse_line("", "t"), None);
    }

    #[test]
    fn judge_finds_loss_short_commits_and_duplicates() {
        let ids = [(0, 0, 0), (1, 0, 1), (2, 1, 0)];
        let mut seen = HashMap::new();
        seen.insert((0, 0), 2);
        seen.insert((0, 1), 1);
        let v = judge(&ids, &seen, &[2, 1], &[Some(2), Some(0)], true);
        assert_eq!(v.lost_ids, [(2, 1, 0)]);
        assert_eq!(v.lost_offsets, 1);
        assert_eq!(v.short_commits, [(1, Some(0), 1)]);
        assert_eq!(v.duplicates, 1);
        assert!(v.lost());
        seen.insert((1, 0), 1);
        let v = judge(&ids, &seen, &[2, 1], &[Some(2), Some(1)], true);
        assert!(!v.lost(), "{v:?}");
        assert_eq!(v.processed, 3);
    }
}
