//! Prometheus metrics (off unless `burrow.metrics=true`).
//!
//! Each pool has its own registry. Per-partition series are resolved once when the partition is
//! assigned (so the per-message cost is an atomic add, not a label lookup) and removed when it is
//! revoked. Labels are bounded: topic and partition, never keys.

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// All metric families of one pool.
pub(crate) struct Metrics {
    registry: Registry,
    processed: IntCounterVec,
    errors: IntCounterVec,
    retries: IntCounterVec,
    skipped: IntCounterVec,
    dead_lettered: IntCounterVec,
    committed: IntCounterVec,
    lag: IntGaugeVec,
    inflight: IntGaugeVec,
    paused: IntGaugeVec,
    oldest_age: GaugeVec,
    metadata_bytes: IntGaugeVec,
    pub duration: Histogram,
    pub worker_utilization: Gauge,
    pub metadata_overflows: IntCounter,
    pub metadata_invalid: IntCounter,
    pub skipped_from_metadata: IntCounter,
    pub commit_failures: IntCounter,
    pub late_discarded: IntCounter,
    pub pauses: IntCounter,
    rebalances: IntCounterVec,
}

/// The series of one partition, resolved once.
pub(crate) struct PartitionMetrics {
    labels: [String; 2],
    pub succeeded: IntCounter,
    pub failed: IntCounter,
    pub errors_retriable: IntCounter,
    pub errors_permanent: IntCounter,
    pub retries: IntCounter,
    pub skipped: IntCounter,
    pub dead_lettered: IntCounter,
    pub committed: IntCounter,
    pub inflight: IntGauge,
    pub paused: IntGauge,
    pub oldest_age: Gauge,
    pub metadata_bytes: IntGauge,
}

const TP: &[&str] = &["topic", "partition"];

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let v = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(v.clone()))
        .expect("metric registered once");
    v
}

fn gauge_vec(registry: &Registry, name: &str, help: &str) -> IntGaugeVec {
    let v = IntGaugeVec::new(Opts::new(name, help), TP).expect("valid metric definition");
    registry
        .register(Box::new(v.clone()))
        .expect("metric registered once");
    v
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric definition");
    registry
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let oldest_age = GaugeVec::new(
            Opts::new(
                "burrow_oldest_unfinished_age_seconds",
                "How long the oldest unfinished message of the partition has been holding its commit point back",
            ),
            TP,
        )
        .expect("valid metric definition");
        r.register(Box::new(oldest_age.clone()))
            .expect("metric registered once");
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "burrow_processing_duration_seconds",
                "Time the processor took per attempt",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ]),
        )
        .expect("valid metric definition");
        r.register(Box::new(duration.clone()))
            .expect("metric registered once");
        let worker_utilization = Gauge::new(
            "burrow_worker_utilization",
            "Fraction of worker threads inside the processor",
        )
        .expect("valid metric definition");
        r.register(Box::new(worker_utilization.clone()))
            .expect("metric registered once");
        Self {
            processed: counter_vec(
                &r,
                "burrow_messages_processed_total",
                "Messages by final outcome: status=success (processed) or failed (permanently, before the failure policy)",
                &["topic", "partition", "status"],
            ),
            errors: counter_vec(
                &r,
                "burrow_errors_total",
                "Failed processing attempts, by whether they are retried",
                &["topic", "partition", "retriable"],
            ),
            retries: counter_vec(&r, "burrow_retries_total", "Retries scheduled", TP),
            skipped: counter_vec(&r, "burrow_messages_skipped_total", "Failed messages skipped by policy", TP),
            dead_lettered: counter_vec(
                &r,
                "burrow_messages_dead_lettered_total",
                "Failed messages written to the dead-letter topic",
                TP,
            ),
            committed: counter_vec(&r, "burrow_offsets_committed_total", "Successful offset commits", TP),
            lag: gauge_vec(&r, "burrow_offset_lag", "End offset of the partition minus its committed offset"),
            inflight: gauge_vec(&r, "burrow_inflight_messages", "Messages received and not yet finished"),
            paused: gauge_vec(&r, "burrow_partition_paused", "1 while the partition is paused for backpressure"),
            oldest_age,
            metadata_bytes: gauge_vec(
                &r,
                "burrow_commit_metadata_bytes",
                "Size of the commit metadata sent with the last commit",
            ),
            duration,
            worker_utilization,
            metadata_overflows: counter(
                &r,
                "burrow_commit_metadata_overflows_total",
                "Commits whose metadata was cut to burrow.commit.metadata.max.bytes",
            ),
            metadata_invalid: counter(
                &r,
                "burrow_commit_metadata_invalid_total",
                "Commit metadata read on assignment that was not Burrow's or malformed (ignored)",
            ),
            skipped_from_metadata: counter(
                &r,
                "burrow_messages_skipped_from_metadata_total",
                "Messages not processed again because commit metadata recorded them as finished",
            ),
            commit_failures: counter(&r, "burrow_commit_failures_total", "Commit requests that failed"),
            late_discarded: counter(
                &r,
                "burrow_late_results_discarded_total",
                "Results that arrived after their partition was revoked (discarded)",
            ),
            pauses: counter(
                &r,
                "burrow_partition_pauses_total",
                "Times a partition was paused because its unfinished messages reached the cap",
            ),
            rebalances: counter_vec(
                &r,
                "burrow_rebalances_total",
                "Rebalance events handled, by kind (assign, revoke, lost)",
                &["kind"],
            ),
            registry: r,
        }
    }

    /// Resolves the series of a newly assigned partition.
    pub fn partition(&self, topic: &str, partition: i32) -> PartitionMetrics {
        let p = partition.to_string();
        let tp = [topic, p.as_str()];
        let with =
            |v: &IntCounterVec, extra: &str| v.with_label_values(&[topic, p.as_str(), extra]);
        PartitionMetrics {
            succeeded: with(&self.processed, "success"),
            failed: with(&self.processed, "failed"),
            errors_retriable: with(&self.errors, "true"),
            errors_permanent: with(&self.errors, "false"),
            retries: self.retries.with_label_values(&tp),
            skipped: self.skipped.with_label_values(&tp),
            dead_lettered: self.dead_lettered.with_label_values(&tp),
            committed: self.committed.with_label_values(&tp),
            inflight: self.inflight.with_label_values(&tp),
            paused: self.paused.with_label_values(&tp),
            oldest_age: self.oldest_age.with_label_values(&tp),
            metadata_bytes: self.metadata_bytes.with_label_values(&tp),
            labels: [topic.to_string(), p],
        }
    }

    /// Removes the series of a partition that left this member.
    pub fn remove_partition(&self, m: &PartitionMetrics) {
        let [topic, p] = &m.labels;
        let tp = [topic.as_str(), p.as_str()];
        for status in ["success", "failed"] {
            let _ = self
                .processed
                .remove_label_values(&[topic.as_str(), p.as_str(), status]);
        }
        for retriable in ["true", "false"] {
            let _ = self
                .errors
                .remove_label_values(&[topic.as_str(), p.as_str(), retriable]);
        }
        for v in [
            &self.retries,
            &self.skipped,
            &self.dead_lettered,
            &self.committed,
        ] {
            let _ = v.remove_label_values(&tp);
        }
        for v in [
            &self.lag,
            &self.inflight,
            &self.paused,
            &self.metadata_bytes,
        ] {
            let _ = v.remove_label_values(&tp);
        }
        let _ = self.oldest_age.remove_label_values(&tp);
    }

    /// Sets a partition's lag. The series appears only once the lag is known (the end offset comes
    /// with librdkafka's statistics), so an unknown lag is never shown as 0.
    pub fn set_lag(&self, m: &PartitionMetrics, lag: i64) {
        let [topic, p] = &m.labels;
        self.lag
            .with_label_values(&[topic.as_str(), p.as_str()])
            .set(lag);
    }

    pub fn rebalance(&self, kind: &str) {
        self.rebalances.with_label_values(&[kind]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn text(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Series of every family that carries a partition label.
    fn series_of(text: &str, partition: &str) -> Vec<String> {
        let label = format!("partition=\"{partition}\"");
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains(&label))
            .map(String::from)
            .collect()
    }

    /// A partition that leaves this member takes all its series with it (a scrape must not show
    /// a revoked partition's lag or in-flight count forever); the others stay.
    #[test]
    fn a_revoked_partition_takes_its_series_with_it() {
        let m = Metrics::new();
        let (a, b) = (m.partition("orders", 0), m.partition("orders", 1));
        for p in [&a, &b] {
            p.succeeded.inc();
            p.failed.inc();
            p.errors_retriable.inc();
            p.errors_permanent.inc();
            p.retries.inc();
            p.skipped.inc();
            p.dead_lettered.inc();
            p.committed.inc();
            p.inflight.set(3);
            p.paused.set(1);
            p.oldest_age.set(0.5);
            p.metadata_bytes.set(10);
            m.set_lag(p, 7);
        }
        let before = m.text();
        let families = series_of(&before, "0").len();
        assert_eq!(
            families, 13,
            "every per-partition series is shown:\n{before}"
        );
        m.remove_partition(&a);
        let after = m.text();
        assert!(series_of(&after, "0").is_empty(), "{after}");
        assert_eq!(series_of(&after, "1").len(), families, "{after}");
    }
}
