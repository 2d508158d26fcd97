//! The agent's Prometheus metrics (prometheus-client, OpenMetrics text on `/metrics`), named
//! as Prometheus asks: a `ferry_agent_` prefix, base units (`_seconds`), `_total` on counters.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;

fn sync_labels(sync: &str) -> Labels {
    vec![("sync".to_string(), sync.to_string())]
}

pub struct Metrics {
    registry: Registry,
    duration: Family<Labels, Histogram, fn() -> Histogram>,
    check: Family<Labels, Histogram, fn() -> Histogram>,
    reconciliations: Family<Labels, Counter>,
    last_success: Family<Labels, Gauge<f64, AtomicU64>>,
    applied: Family<Labels, Counter>,
    pruned: Family<Labels, Counter>,
    drifted: Family<Labels, Gauge>,
    ready: Family<Labels, Gauge>,
    suspended: Family<Labels, Gauge>,
    notifications: Family<Labels, Counter>,
    /// The notifier's counters as last copied into `notifications`.
    notified: std::sync::Mutex<crate::notify::Counters>,
}

fn duration_histogram() -> Histogram {
    // 0.1 s .. ~410 s
    Histogram::new(exponential_buckets(0.1, 2.0, 13))
}

fn check_histogram() -> Histogram {
    // 1 ms .. ~4 s: a no-change pass is a manifest HEAD and a drift check.
    Histogram::new(exponential_buckets(0.001, 2.0, 13))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// What one reconciliation did, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result {
    /// Applied a new digest, a changed spec, or on request.
    Applied,
    /// Drift found and applied again.
    Corrected,
    /// Nothing changed: no pull, no apply.
    Unchanged,
    Failed,
}

impl Result {
    fn label(self) -> &'static str {
        match self {
            Result::Applied => "applied",
            Result::Corrected => "corrected",
            Result::Unchanged => "unchanged",
            Result::Failed => "failed",
        }
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ferry_agent");
        let duration = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let check = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            check_histogram as fn() -> Histogram,
        );
        let reconciliations = Family::<Labels, Counter>::default();
        let last_success = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let applied = Family::<Labels, Counter>::default();
        let pruned = Family::<Labels, Counter>::default();
        let drifted = Family::<Labels, Gauge>::default();
        let ready = Family::<Labels, Gauge>::default();
        let suspended = Family::<Labels, Gauge>::default();
        let notifications = Family::<Labels, Counter>::default();
        registry.register_with_unit(
            "reconcile_duration",
            "Time one reconciliation of a sync took, from resolving the tag to the end of the apply",
            prometheus_client::registry::Unit::Seconds,
            duration.clone(),
        );
        registry.register_with_unit(
            "check_duration",
            "Time one no-change pass of a sync took: resolving the tag and checking drift, nothing applied",
            prometheus_client::registry::Unit::Seconds,
            check.clone(),
        );
        registry.register(
            "reconciliations",
            "Reconciliations by sync and result (applied, corrected, unchanged, failed)",
            reconciliations.clone(),
        );
        registry.register_with_unit(
            "last_success_timestamp",
            "Unix time of the sync's last successful reconciliation",
            prometheus_client::registry::Unit::Seconds,
            last_success.clone(),
        );
        registry.register(
            "objects_applied",
            "Objects created or changed by the sync's applies",
            applied.clone(),
        );
        registry.register(
            "objects_pruned",
            "Objects deleted by the sync's prunes",
            pruned.clone(),
        );
        registry.register(
            "drifted_objects",
            "Objects whose live state differs from the sync's last apply",
            drifted.clone(),
        );
        registry.register(
            "ready",
            "1 when the sync's Ready condition is True, else 0",
            ready.clone(),
        );
        registry.register(
            "suspended",
            "1 when the sync is suspended, else 0",
            suspended.clone(),
        );
        registry.register(
            "notifications",
            "Notifications by result (delivered, failed, dropped from a full queue, suppressed as repeats, skipped as not applicable)",
            notifications.clone(),
        );
        Metrics {
            notifications,
            notified: std::sync::Mutex::new(crate::notify::Counters::default()),
            registry,
            duration,
            check,
            reconciliations,
            last_success,
            applied,
            pruned,
            drifted,
            ready,
            suspended,
        }
    }

    pub fn reconciled(&self, sync: &str, result: Result, seconds: f64) {
        let l = sync_labels(sync);
        let mut with_result = l.clone();
        with_result.push(("result".into(), result.label().into()));
        self.reconciliations.get_or_create(&with_result).inc();
        if result == Result::Unchanged {
            self.check.get_or_create(&l).observe(seconds);
        } else {
            self.duration.get_or_create(&l).observe(seconds);
        }
        if result != Result::Failed {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default();
            self.last_success.get_or_create(&l).set(now);
        }
    }

    pub fn objects(&self, sync: &str, applied: u64, pruned: u64) {
        let l = sync_labels(sync);
        self.applied.get_or_create(&l).inc_by(applied);
        self.pruned.get_or_create(&l).inc_by(pruned);
    }

    pub fn drift(&self, sync: &str, objects: i64) {
        self.drifted.get_or_create(&sync_labels(sync)).set(objects);
    }

    pub fn state(&self, sync: &str, ready: bool, suspended: bool) {
        let l = sync_labels(sync);
        self.ready.get_or_create(&l).set(i64::from(ready));
        self.suspended.get_or_create(&l).set(i64::from(suspended));
    }

    /// Forgets a sync that was deleted, so its series end.
    pub fn remove(&self, sync: &str) {
        let l = sync_labels(sync);
        self.duration.remove(&l);
        self.check.remove(&l);
        self.last_success.remove(&l);
        self.applied.remove(&l);
        self.pruned.remove(&l);
        self.drifted.remove(&l);
        self.ready.remove(&l);
        self.suspended.remove(&l);
        for r in [
            Result::Applied,
            Result::Corrected,
            Result::Unchanged,
            Result::Failed,
        ] {
            let mut with_result = l.clone();
            with_result.push(("result".into(), r.label().into()));
            self.reconciliations.remove(&with_result);
        }
    }

    /// Copies the notifier's counters (monotonic) into `ferry_agent_notifications_total`.
    pub fn notifications(&self, now: crate::notify::Counters) {
        let mut last = self.notified.lock().unwrap_or_else(|p| p.into_inner());
        for (result, was, is) in [
            ("delivered", last.delivered, now.delivered),
            ("failed", last.failed, now.failed),
            ("dropped", last.dropped, now.dropped),
            ("suppressed", last.suppressed, now.suppressed),
            ("skipped", last.skipped, now.skipped),
        ] {
            let c = self
                .notifications
                .get_or_create(&vec![("result".to_string(), result.to_string())]);
            c.inc_by(is.saturating_sub(was));
        }
        *last = now;
    }

    /// The OpenMetrics text exposition.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let m = Metrics::new();
        m.reconciled("ferry-system/prod", Result::Applied, 1.5);
        m.reconciled("ferry-system/prod", Result::Unchanged, 0.0);
        m.objects("ferry-system/prod", 3, 1);
        m.state("ferry-system/prod", true, false);
        let t = m.text();
        for want in [
            "ferry_agent_reconcile_duration_seconds_count{sync=\"ferry-system/prod\"} 1",
            "ferry_agent_check_duration_seconds_count{sync=\"ferry-system/prod\"} 1",
            "ferry_agent_reconciliations_total{sync=\"ferry-system/prod\",result=\"applied\"} 1",
            "ferry_agent_reconciliations_total{sync=\"ferry-system/prod\",result=\"unchanged\"} 1",
            "ferry_agent_objects_applied_total{sync=\"ferry-system/prod\"} 3",
            "ferry_agent_objects_pruned_total{sync=\"ferry-system/prod\"} 1",
            "ferry_agent_ready{sync=\"ferry-system/prod\"} 1",
            "# TYPE ferry_agent_last_success_timestamp_seconds gauge",
        ] {
            assert!(t.contains(want), "{want} not in:\n{t}");
        }
        m.notifications(crate::notify::Counters {
            delivered: 3,
            failed: 1,
            ..Default::default()
        });
        m.notifications(crate::notify::Counters {
            delivered: 5,
            failed: 1,
            ..Default::default()
        });
        let t = m.text();
        assert!(
            t.contains("ferry_agent_notifications_total{result=\"delivered\"} 5"),
            "{t}"
        );
        assert!(
            t.contains("ferry_agent_notifications_total{result=\"failed\"} 1"),
            "{t}"
        );
        m.remove("ferry-system/prod");
        assert!(!m.text().contains("ferry-system/prod"));
    }
}
