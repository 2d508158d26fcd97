//! What one apply did, for people (the CLI prints it) and machines (`--output json`).

use super::health::Health;
use super::ssa::Outcome;
use super::stage::Stage;
use serde::Serialize;

/// The result for one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    /// `Kind.group/namespace/name`.
    pub object: String,
    pub stage: Stage,
    #[serde(flatten)]
    pub result: ObjectStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum ObjectStatus {
    Applied {
        outcome: Outcome,
    },
    Failed {
        error: String,
    },
    /// Not sent (dry run only): what it needs is created by this very apply.
    Skipped {
        reason: String,
    },
}

/// One line per stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageReport {
    pub stage: Option<Stage>,
    pub objects: usize,
    pub created: usize,
    pub configured: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
    pub millis: u128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum PruneStatus {
    /// Pruning ran (possibly deleting nothing).
    Done,
    /// `--dry-run`: `pruned` lists what would be deleted.
    DryRun,
    /// Some apply failed: nothing pruned.
    #[default]
    Skipped,
    /// The budget refused it: nothing pruned.
    Refused,
    /// `--prune=false`.
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kept {
    pub object: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub status: PruneStatus,
    pub reason: Option<String>,
    /// Deleted (or, in a dry run, to be deleted), in deletion order.
    pub pruned: Vec<String>,
    pub kept: Vec<Kept>,
    /// Deletions or listings that failed; their objects stay members.
    pub failed: Vec<Kept>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthResult {
    pub object: String,
    #[serde(flatten)]
    pub health: Health,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub created: usize,
    pub configured: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub failed: usize,
    pub skipped: usize,
    pub unhealthy: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub environment: String,
    pub digest: String,
    pub revision: Option<String>,
    pub applyset: String,
    /// `Secret/<namespace>/<name>`.
    pub parent: String,
    pub dry_run: bool,
    pub stages: Vec<StageReport>,
    pub objects: Vec<ObjectResult>,
    pub prune: PruneReport,
    /// Present with `--wait`.
    pub health: Option<Vec<HealthResult>>,
    pub summary: Summary,
    /// Stopped between stages by [`super::ApplyOptions::cancel`]: later stages were not sent
    /// and nothing was pruned.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Each tenant's own apply (as its ServiceAccount, into its own inventory), after the
    /// platform's, which this report is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<TenantReport>,
}

/// One tenant's apply: its report, or why it could not run (the API server's message).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantReport {
    pub tenant: String,
    /// The user it applied as: `system:serviceaccount:NS:NAME`.
    pub user: String,
    /// Present when the apply ran (its objects may still have failed one by one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<ApplyReport>>,
    /// Present when it could not run at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TenantReport {
    pub fn success(&self) -> bool {
        self.error.is_none() && self.report.as_ref().is_some_and(|r| r.success())
    }
}

impl ApplyReport {
    /// Everything applied, pruning not refused or failed, (with `--wait`) everything healthy,
    /// and every tenant's apply a success too.
    pub fn success(&self) -> bool {
        self.platform_success() && self.tenants.iter().all(TenantReport::success)
    }

    /// [`Self::success`] for the platform's own objects, whatever the tenants did.
    pub fn platform_success(&self) -> bool {
        self.summary.failed == 0
            && !self.interrupted
            && self.summary.unhealthy == 0
            && self.prune.failed.is_empty()
            && self.prune.status != PruneStatus::Refused
    }

    pub(crate) fn count(&mut self) {
        let mut s = Summary::default();
        for o in &self.objects {
            match &o.result {
                ObjectStatus::Applied { outcome } => match outcome {
                    Outcome::Created => s.created += 1,
                    Outcome::Configured => s.configured += 1,
                    Outcome::Unchanged => s.unchanged += 1,
                },
                ObjectStatus::Failed { .. } => s.failed += 1,
                ObjectStatus::Skipped { .. } => s.skipped += 1,
            }
        }
        s.pruned = if self.prune.status == PruneStatus::Done {
            self.prune.pruned.len()
        } else {
            0
        };
        s.unhealthy = self
            .health
            .as_ref()
            .map_or(0, |h| h.iter().filter(|h| !h.health.is_current()).count());
        self.summary = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn health_results_serialise_flat() {
        let bad = HealthResult {
            object: "Widget.live.ferry.dev/ns/w1".into(),
            health: Health::InProgress("condition Ready is False: waiting".into()),
        };
        assert_eq!(
            serde_json::to_value(&bad).expect("json"),
            json!({"object": "Widget.live.ferry.dev/ns/w1", "status": "inProgress", "reason": "condition Ready is False: waiting"})
        );
        let good = HealthResult {
            object: "Namespace/ns".into(),
            health: Health::Current,
        };
        assert_eq!(
            serde_json::to_value(&good).expect("json"),
            json!({"object": "Namespace/ns", "status": "current"})
        );
    }

    #[test]
    fn object_results_serialise_flat() {
        let r = ObjectResult {
            object: "ConfigMap/a/b".into(),
            stage: Stage::Resources,
            result: ObjectStatus::Applied {
                outcome: Outcome::Unchanged,
            },
        };
        assert_eq!(
            serde_json::to_value(&r).expect("json"),
            json!({"object": "ConfigMap/a/b", "stage": "resources", "result": "applied", "outcome": "unchanged"})
        );
    }
}
