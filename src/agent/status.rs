//! What the agent writes on a Sync's `status`: kstatus conditions (`Ready`, `Reconciling`,
//! `Stalled`), the last attempted and applied digest and revision, the last error and a short
//! history, so that `kubectl get syncs`, `kubectl wait` and kstatus readers all understand it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many reconciliations the history keeps.
pub const HISTORY: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub last_transition_time: String,
    #[serde(default)]
    pub observed_generation: i64,
}

/// One reconciliation that did something (or failed); passes that found nothing to do are
/// not recorded, so the history says what changed and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub started_at: String,
    pub duration_ms: u64,
    /// `Applied`, `DriftCorrected`, `Failed`, `Interrupted`, ...
    pub outcome: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// An object whose live state differs from the last apply, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DriftEntry {
    pub object: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// When the agent first saw this object drifted; kept until the drift ends.
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    #[serde(default)]
    pub observed_generation: i64,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The ApplySet parent, `Kind/namespace/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<String>,
    #[serde(default)]
    pub suspended: bool,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Drifted objects (empty when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftEntry>,
    /// Notifications about this Sync that could not be delivered since the last one that was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications_failing: Option<crate::notify::Failing>,
    /// Each tenant's last apply (`ferry status --tenant` shows one); empty without tenants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<super::tenant_status::TenantStatus>,
}

impl SyncStatus {
    /// The status of a live Sync object; anything unreadable starts afresh.
    pub fn from_object(obj: &Value) -> SyncStatus {
        obj.get("status")
            .cloned()
            .and_then(|s| serde_json::from_value(s).ok())
            .unwrap_or_default()
    }

    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Sets a condition; its transition time moves only when its status does.
    pub fn set_condition(
        &mut self,
        type_: &str,
        status: &str,
        reason: &str,
        message: &str,
        generation: i64,
        now: &str,
    ) {
        let new = Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            last_transition_time: now.into(),
            observed_generation: generation,
        };
        match self.conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) => {
                let time = if c.status == status {
                    std::mem::take(&mut c.last_transition_time)
                } else {
                    now.to_string()
                };
                *c = Condition {
                    last_transition_time: time,
                    ..new
                };
            }
            None => self.conditions.push(new),
        }
    }

    pub fn remove_condition(&mut self, type_: &str) {
        self.conditions.retain(|c| c.type_ != type_);
    }

    /// Adds a history entry, newest first, keeping [`HISTORY`].
    pub fn record(&mut self, entry: HistoryEntry) {
        self.history.insert(0, entry);
        self.history.truncate(HISTORY);
    }

    /// Replaces the drift with `now_drifted`, keeping the start time of objects that were
    /// drifted already; returns the objects whose drift began and those whose drift ended.
    pub fn set_drift(
        &mut self,
        now_drifted: Vec<crate::apply::drift::Drifted>,
        now: &str,
    ) -> (Vec<String>, Vec<String>) {
        let old: std::collections::BTreeMap<String, String> = self
            .drift
            .iter()
            .map(|d| (d.object.clone(), d.since.clone()))
            .collect();
        let began: Vec<String> = now_drifted
            .iter()
            .filter(|d| !old.contains_key(&d.object))
            .map(|d| d.object.clone())
            .collect();
        let current: std::collections::BTreeSet<&str> =
            now_drifted.iter().map(|d| d.object.as_str()).collect();
        let ended: Vec<String> = old
            .keys()
            .filter(|o| !current.contains(o.as_str()))
            .cloned()
            .collect();
        self.drift = now_drifted
            .into_iter()
            .map(|d| DriftEntry {
                since: old
                    .get(&d.object)
                    .cloned()
                    .unwrap_or_else(|| now.to_string()),
                object: d.object,
                missing: d.missing,
                fields: d.fields,
            })
            .collect();
        (began, ended)
    }

    /// `Ready`'s status, `Unknown` when absent.
    pub fn ready(&self) -> &str {
        self.condition("Ready")
            .map(|c| c.status.as_str())
            .unwrap_or("Unknown")
    }

    /// The start of work: Reconciling True, Ready Unknown (kstatus: InProgress).
    pub fn progressing(&mut self, generation: i64, message: &str, now: &str) {
        self.set_condition(
            "Reconciling",
            "True",
            "Progressing",
            message,
            generation,
            now,
        );
        self.set_condition("Ready", "Unknown", "Progressing", message, generation, now);
        self.remove_condition("Stalled");
    }

    /// Success: Ready True, no Reconciling, no Stalled, no error.
    pub fn succeeded(&mut self, generation: i64, reason: &str, message: &str, now: &str) {
        self.remove_condition("Reconciling");
        self.remove_condition("Stalled");
        self.set_condition("Ready", "True", reason, message, generation, now);
        self.last_error = None;
        self.observed_generation = generation;
    }

    /// A failure that a retry may fix: Ready False, Reconciling True (it will try again).
    pub fn failed(&mut self, generation: i64, reason: &str, message: &str, now: &str) {
        self.remove_condition("Stalled");
        self.set_condition("Ready", "False", reason, message, generation, now);
        self.set_condition(
            "Reconciling",
            "True",
            "ProgressingWithRetry",
            "retrying with backoff",
            generation,
            now,
        );
        self.last_error = Some(message.to_string());
        self.observed_generation = generation;
    }

    /// A failure only a change of the Sync fixes (it is invalid): Stalled True, Ready False.
    pub fn stalled(&mut self, generation: i64, reason: &str, message: &str, now: &str) {
        self.remove_condition("Reconciling");
        self.set_condition("Stalled", "True", reason, message, generation, now);
        self.set_condition("Ready", "False", reason, message, generation, now);
        self.last_error = Some(message.to_string());
        self.observed_generation = generation;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_with_the_status() {
        let mut s = SyncStatus::default();
        s.succeeded(1, "Applied", "a", "t1");
        s.succeeded(1, "Applied", "b", "t2");
        let ready = s.condition("Ready").expect("ready");
        assert_eq!(ready.last_transition_time, "t1");
        assert_eq!(ready.message, "b");
        s.failed(1, "ApplyFailed", "boom", "t3");
        assert_eq!(
            s.condition("Ready").expect("ready").last_transition_time,
            "t3"
        );
        assert_eq!(s.ready(), "False");
        assert_eq!(s.condition("Reconciling").expect("r").status, "True");
        assert_eq!(s.last_error.as_deref(), Some("boom"));
        s.succeeded(2, "Applied", "ok", "t4");
        assert!(s.condition("Reconciling").is_none());
        assert_eq!(s.last_error, None);
        assert_eq!(s.observed_generation, 2);
    }

    #[test]
    fn history_keeps_five_newest_first() {
        let mut s = SyncStatus::default();
        for i in 0..7 {
            s.record(HistoryEntry {
                started_at: format!("t{i}"),
                outcome: "Applied".into(),
                ..HistoryEntry::default()
            });
        }
        let times: Vec<&str> = s.history.iter().map(|h| h.started_at.as_str()).collect();
        assert_eq!(times, ["t6", "t5", "t4", "t3", "t2"]);
    }

    #[test]
    fn drift_keeps_its_start_time_until_it_ends() {
        use crate::apply::drift::Drifted;
        let d = |o: &str, f: &str| Drifted {
            object: o.into(),
            missing: false,
            fields: vec![f.into()],
        };
        let mut s = SyncStatus::default();
        let (began, ended) = s.set_drift(vec![d("a", "/spec/x")], "t1");
        assert_eq!((began, ended), (vec!["a".to_string()], vec![]));
        let (began, _) = s.set_drift(vec![d("a", "/spec/y"), d("b", "/data/k")], "t2");
        assert_eq!(began, ["b"]);
        assert_eq!(s.drift[0].since, "t1", "still drifted: the start stays");
        assert_eq!(s.drift[0].fields, ["/spec/y"]);
        assert_eq!(s.drift[1].since, "t2");
        // Across a restart: read back from the object.
        let v = serde_json::json!({"status": serde_json::to_value(&s).expect("json")});
        let mut back = SyncStatus::from_object(&v);
        let (_, ended) = back.set_drift(vec![d("b", "/data/k")], "t3");
        assert_eq!(ended, ["a"]);
        assert_eq!(back.drift.len(), 1);
        assert_eq!(back.drift[0].since, "t2");
    }

    #[test]
    fn round_trips_through_json() {
        let mut s = SyncStatus::default();
        s.stalled(4, "InvalidSpec", "spec.url: bad", "t");
        let v = serde_json::json!({"status": serde_json::to_value(&s).expect("json")});
        assert_eq!(SyncStatus::from_object(&v), s);
        assert_eq!(v["status"]["conditions"][0]["type"], "Stalled");
    }
}
